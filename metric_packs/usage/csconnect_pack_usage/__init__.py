"""csconnect-pack-usage: DAU/WAU/MAU, stickiness, seat utilisation, adoption, usage rate, activation, trend."""
from __future__ import annotations

from .pack import UsagePack

__version__ = "0.1.0"
__all__ = ["UsagePack", "__version__"]
