"""csconnect revenue metric pack: MRR and everything built on it."""
from __future__ import annotations

from .pack import RevenuePack

__all__ = ["RevenuePack"]
