"""The module the `csconnect` entry point names: it registers the metric pack."""
from __future__ import annotations

from typing import Callable

from csconnect import hookimpl

from .pack import ExamplePack


@hookimpl
def register_metric_packs(register: Callable[[type], None]) -> None:
    register(ExamplePack)
