"""The whole public plugin contract: four hooks."""
from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("csconnect")
hookimpl = pluggy.HookimplMarker("csconnect")


@hookspec
def register_connectors(register: Callable[[type], None]) -> None:
    """Call register(ConnectorClass) for each source connector the plugin provides."""


@hookspec
def register_metric_packs(register: Callable[[type], None]) -> None:
    """Call register(MetricPackClass) for each metric pack the plugin provides."""


@hookspec
def register_alert_sinks(register: Callable[[type], None]) -> None:
    """Call register(AlertSinkClass) for each alert sink (where new alerts are sent) the plugin provides."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add click commands or groups to the csconnect command line."""
