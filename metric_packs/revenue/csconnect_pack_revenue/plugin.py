"""Entry point `revenue` (group `csconnect`): registers the revenue metric pack."""
from __future__ import annotations

from typing import Any, Callable

from csconnect import hookimpl

from .pack import RevenuePack


@hookimpl
def register_metric_packs(register: Callable[[Any], None]) -> None:
    register(RevenuePack)
