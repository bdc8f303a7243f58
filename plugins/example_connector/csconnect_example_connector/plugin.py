"""The module the `csconnect` entry point names: it registers the connector."""
from __future__ import annotations

from typing import Callable

from csconnect import hookimpl

from .connector import ExampleConnector


@hookimpl
def register_connectors(register: Callable[[type], None]) -> None:
    register(ExampleConnector)
