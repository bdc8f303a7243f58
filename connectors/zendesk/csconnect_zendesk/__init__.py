"""csconnect-zendesk: Zendesk Support data into csconnect's canonical model."""
from __future__ import annotations

from .connector import ZendeskConnector

__version__ = "0.1.0"
__all__ = ["ZendeskConnector", "__version__"]
