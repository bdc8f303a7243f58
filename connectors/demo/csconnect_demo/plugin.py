"""Entry point `demo`: the simulated-company connector and the `csconnect demo` command."""
from __future__ import annotations

from typing import Any

from csconnect import hookimpl

from .connector import DemoConnector


@hookimpl
def register_connectors(register: Any) -> None:
    register(DemoConnector)


@hookimpl
def register_commands(cli: Any) -> None:
    from .command import demo
    cli.add_command(demo)
