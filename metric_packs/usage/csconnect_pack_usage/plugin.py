"""Entry point `usage` (group `csconnect`): registers the usage metric pack."""
from __future__ import annotations

from typing import Any, Callable

from csconnect import hookimpl

from .pack import UsagePack


@hookimpl
def register_metric_packs(register: Callable[[type], Any]) -> None:
    register(UsagePack)
