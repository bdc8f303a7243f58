"""The entry point csconnect loads: registers the `files` connector."""
from __future__ import annotations

from typing import Callable

from csconnect import hookimpl

from .connector import FilesConnector


@hookimpl
def register_connectors(register: Callable[[type], None]) -> None:
    register(FilesConnector)
