"""Entry point `health` (group `csconnect`): registers the health metric pack."""
from __future__ import annotations

from typing import Any, Callable

from csconnect import hookimpl

from .pack import HealthPack


@hookimpl
def register_metric_packs(register: Callable[[Any], None]) -> None:
    register(HealthPack)
