"""Entry point `support` in the `csconnect` group: registers the support metric pack."""
from __future__ import annotations

from typing import Any, Callable

from csconnect import hookimpl

from .pack import SupportPack


@hookimpl
def register_metric_packs(register: Callable[[Any], None]) -> None:
    """Register the support pack."""
    register(SupportPack)
