"""csconnect-mixpanel: Mixpanel product usage (raw event export) into csconnect's usage_daily."""
from __future__ import annotations

from .connector import MixpanelConnector

__version__ = "0.1.0"
__all__ = ["MixpanelConnector", "__version__"]
