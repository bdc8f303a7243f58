"""csconnect health metric pack: a 0-100 score per account from the other packs' outputs."""
from __future__ import annotations

from .combine import combine
from .pack import HealthPack

__all__ = ["HealthPack", "combine"]
