"""The csconnect plugin entry point (`[project.entry-points.csconnect] mixpanel`)."""
from __future__ import annotations

from typing import Any, Callable

from csconnect import hookimpl


@hookimpl
def register_connectors(register: Callable[[type], Any]) -> None:
    """Register the Mixpanel connector."""
    from .connector import MixpanelConnector

    register(MixpanelConnector)
