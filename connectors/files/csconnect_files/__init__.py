"""csconnect-files: load CSV and JSON-lines files into csconnect's canonical model."""
from __future__ import annotations

from .connector import FileStream, FilesConnector

__version__ = "0.1.0"
__all__ = ["FileStream", "FilesConnector", "__version__"]
