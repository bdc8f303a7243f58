"""csconnect-hubspot: HubSpot CRM and Service Hub data into csconnect's canonical model."""
from __future__ import annotations

from .connector import HubSpotConnector

__version__ = "0.1.0"
__all__ = ["HubSpotConnector", "__version__"]
