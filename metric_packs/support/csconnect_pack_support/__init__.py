"""csconnect metric pack `support`: ticket and survey KPIs from `tickets` and `survey_responses`."""
from __future__ import annotations

from .pack import SupportPack

__all__ = ["SupportPack"]
__version__ = "0.1.0"
