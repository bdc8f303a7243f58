"""csconnect: customer-success metrics from your own data, on your own machine.

The public plugin API is what this module exports; everything else is internal.
"""
from __future__ import annotations

from .connector import CATEGORIES, Connector, Option, Page, Row, Stream
from .errors import (AuthError, ConfigError, ConnectorError, CsconnectError, HttpError, MalformedResponse,
                     MetricsError, PluginError, RejectError)
from .hookspecs import hookimpl
from .model import utc_timestamp
from .packs import Metric, MetricPack

__version__ = "0.1.0"

__all__ = [
    "CATEGORIES", "AuthError", "ConfigError", "Connector", "ConnectorError", "CsconnectError", "HttpError",
    "MalformedResponse", "Metric", "MetricPack", "MetricsError", "Option", "Page", "PluginError",
    "RejectError", "Row", "Stream", "hookimpl", "utc_timestamp", "__version__",
]
