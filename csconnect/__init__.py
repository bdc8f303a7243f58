"""csconnect: customer-success metrics from your own data, on your own machine.

The public plugin API is what this module exports; everything else is internal.
"""
from __future__ import annotations

from .connector import CATEGORIES, Connector, Delete, Option, Page, Replace, Row, Stream
from .errors import (AuthError, ConfigError, ConnectorError, CsconnectError, HttpError, MalformedResponse,
                     MetricsError, PluginError, RejectError)
from .hookspecs import hookimpl
from .identity import FREE_MAIL as FREE_MAIL_DOMAINS, normalize_domain
from .model import utc_timestamp
from .metrics import NONE_SEGMENT, MetricContext, Period
from .packs import Metric, MetricPack
from .project import Project

__version__ = "0.1.0"

__all__ = [
    "CATEGORIES", "AuthError", "ConfigError", "Connector", "ConnectorError", "CsconnectError", "Delete", "HttpError",
    "MalformedResponse", "Metric", "MetricContext", "MetricPack", "MetricsError", "NONE_SEGMENT", "Period", "Option", "Page", "PluginError",
    "Project", "RejectError", "Replace", "Row", "Stream", "hookimpl", "utc_timestamp", "__version__",
    "FREE_MAIL_DOMAINS", "normalize_domain",
]
