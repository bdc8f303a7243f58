"""csconnect-posthog: PostHog product usage into csconnect's canonical model."""
from __future__ import annotations

from .connector import PostHogConnector

__version__ = "0.1.0"
__all__ = ["PostHogConnector", "__version__"]
