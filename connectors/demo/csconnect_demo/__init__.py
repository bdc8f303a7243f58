"""csconnect-demo: a deterministic simulated B2B SaaS company to sync with no credentials."""
from __future__ import annotations

from .connector import DemoConnector
from .world import World, get_world

__version__ = "0.1.0"
__all__ = ["DemoConnector", "World", "get_world", "__version__"]
