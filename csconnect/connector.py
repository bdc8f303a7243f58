"""The connector API: what a source plugin declares and implements.

A Connector class declares its name, category, options and streams. A
connection (one `[connections.X]` table in csconnect.toml) is an instance of it.
A Stream yields Pages — records plus the stream's state after that page — and
maps each record to canonical rows with `normalize`.
"""
from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Iterator, Mapping

from .errors import ConnectorError, RejectError

CATEGORIES = ("billing", "crm", "helpdesk", "product_analytics", "survey", "engagement", "files")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<required>"})()


@dataclass(frozen=True)
class Option:
    """One typed configuration option of a connector (or a metric pack parameter)."""

    name: str
    type: type = str
    default: Any = _MISSING
    help: str = ""
    secret: bool = False
    env: str | None = None          # environment variable a secret may come from
    choices: tuple[Any, ...] | None = None
    min: float | None = None        # bounds for numbers
    max: float | None = None

    @property
    def required(self) -> bool:
        return self.default is _MISSING


Row = tuple[str, dict[str, Any]]   # (canonical table, row)


@dataclass(frozen=True)
class Delete:
    """Yield from normalize(): the source deleted this record; remove its canonical row."""

    table: str
    source_id: Any


@dataclass(frozen=True)
class Replace:
    """Yield from normalize() before a parent's child rows: drop the rows this connection holds
    in `table` whose `column` equals `value` (e.g. an invoice's lines), so lines removed at the
    source disappear. The record's own rows are written after, in the same transaction."""

    table: str
    column: str
    value: Any


@dataclass
class Page:
    """One page of a stream: its records and the stream state after it.

    `rows` carries canonical rows built from the whole page (aggregates such as
    `usage_daily` from a day of events) in addition to what `normalize` makes
    of each record.
    """

    records: list[dict[str, Any]]
    state: dict[str, Any] | None = None
    rows: list[Row] = field(default_factory=list)


class Stream:
    """One kind of record a connector reads (customers, invoices, tickets …)."""

    name: ClassVar[str]
    primary_key: ClassVar[str] = "id"
    cursor_field: ClassVar[str | None] = None   # record field the incremental state follows
    incremental: ClassVar[bool] = False
    tables: ClassVar[tuple[str, ...]] = ()      # canonical tables it writes
    store_raw: ClassVar[bool] = True            # False: only page rows are kept (events)

    def __init__(self, connector: "Connector"):
        self.connector = connector

    @property
    def connection(self) -> str:
        return self.connector.connection

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        """Yield pages from `state` (None = from the beginning)."""
        raise NotImplementedError(f"{type(self).__name__}.pages")

    def normalize(self, record: dict[str, Any]) -> Iterable[Row]:
        """Map one raw record to canonical rows. Raise RejectError (or anything) to reject it."""
        return ()

    def record_id(self, record: dict[str, Any]) -> str:
        try:
            value = record[self.primary_key]
        except (KeyError, TypeError):
            raise RejectError(f"record has no {self.primary_key!r}") from None
        if value is None or value == "":
            raise RejectError(f"record has an empty {self.primary_key!r}")
        return str(value)

    def reject_context(self, record: Any) -> str | None:
        """Where a rejected record came from, put before the reason (e.g. "orders.csv line 17")."""
        return None

    def cursor_value(self, record: dict[str, Any]) -> Any:
        return record.get(self.cursor_field) if self.cursor_field else None

    def ref(self, source_id: Any) -> str | None:
        """The canonical id of another record of this connection (for *_id columns)."""
        return self.connector.ref(source_id)


class Connector:
    """A source: a billing system, a CRM, a helpdesk, a product-analytics tool …"""

    name: ClassVar[str]
    title: ClassVar[str] = ""
    category: ClassVar[str]
    options: ClassVar[tuple[Option, ...]] = ()
    streams: ClassVar[tuple[type[Stream], ...]] = ()
    # HTTP connectors: set default_base_url; they get base_url, rate_limit, timeout,
    # max_attempts and allow_insecure options and a shared `self.http` client.
    default_base_url: ClassVar[str | None] = None
    default_rate_limit: ClassVar[float] = 10.0   # requests per second
    auth_hint: ClassVar[str] = "check the credentials"

    def __init__(self, connection: str, settings: Mapping[str, Any], *,
                 sleep: Callable[[float], None] = time.sleep, root: str | os.PathLike[str] | None = None):
        self.connection = connection
        self.settings = dict(settings)
        self.root = Path(root) if root is not None else Path.cwd()   # the project folder (csconnect.toml's)
        self._sleep = sleep
        self._http = None
        self._http_lock = threading.Lock()

    # -- options -----------------------------------------------------------
    @classmethod
    def all_options(cls) -> tuple[Option, ...]:
        if cls.default_base_url is None:
            return tuple(cls.options)
        own = {o.name for o in cls.options}
        extra = tuple(o for o in HTTP_OPTIONS if o.name not in own)
        base = Option("base_url", str, cls.default_base_url,
                      "API base URL (EU data centres, proxies, self-hosted, local test servers)")
        return tuple(cls.options) + ((base,) if "base_url" not in own else ()) + extra

    @classmethod
    def category_for(cls, settings: Mapping[str, Any]) -> str:
        """The category one connection plays (identity precedence); override when settings decide it."""
        return cls.category

    def secret_values(self) -> list[str]:
        return [str(self.settings[o.name]) for o in self.all_options()
                if o.secret and self.settings.get(o.name)]

    # -- HTTP --------------------------------------------------------------
    def headers(self) -> dict[str, str]:
        """Headers sent with every request (auth, pinned API version)."""
        return {}

    def auth(self) -> Any:
        """An httpx auth object or (user, password) tuple, if the API uses one."""
        return None

    def classify(self, response: Any) -> Any:
        """Vendor-specific retry decision for a response (None = default rules)."""
        return None

    def error_message(self, response: Any) -> str | None:
        """The vendor's error text from an error response (None = best effort)."""
        return None

    @property
    def http(self):
        """The connection's HTTP client, shared by its streams (one rate limit)."""
        with self._http_lock:
            if self._http is None:
                self._http = self._make_http()
            return self._http

    def _make_http(self):
        from .http import HttpClient, RateLimiter
        if self.default_base_url is None:
            raise ConnectorError(f"{self.connection}: connector {self.name!r} is not an HTTP connector")
        s = self.settings
        rate = s.get("rate_limit")
        rate = float(self.default_rate_limit if rate is None else rate)
        # The limiter waits for real only when the connector does: tests that inject a sleep
        # record backoff waits, not rate-limit pacing.
        pace = time.sleep if self._sleep is time.sleep else (lambda seconds: None)
        return HttpClient(
            name=self.connection, base_url=s["base_url"], headers=self.headers(), auth=self.auth(),
            secrets=self.secret_values(), timeout=float(s.get("timeout", 30.0)),
            max_attempts=int(s.get("max_attempts", 6)),
            rate_limiter=RateLimiter(rate, burst=max(1, int(rate)), sleep=pace) if rate > 0 else None,
            classify=self.classify, error_message=self.error_message, auth_hint=self.auth_hint,
            allow_insecure=bool(s.get("allow_insecure", False)), sleep=self._sleep)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    # -- contract ----------------------------------------------------------
    def check(self) -> str | None:
        """One cheap authenticated request; raise AuthError/ConnectorError with one line."""
        raise NotImplementedError(f"{type(self).__name__}.check")

    def ref(self, source_id: Any) -> str | None:
        if source_id is None or source_id == "":
            return None
        return f"{self.connection}:{source_id}"

    def get_streams(self) -> list[Stream]:
        """This connection's streams; override when they depend on the settings (files)."""
        return [s(self) for s in self.streams]


HTTP_OPTIONS = (
    Option("rate_limit", float, None, "requests per second shared by all streams (unset = the connector's "
                                      "default, 0 = no limit)", min=0),
    Option("timeout", float, 30.0, "seconds before one request times out", min=1),
    Option("max_attempts", int, 6, "attempts per request before the sync of that stream fails", min=1, max=20),
    Option("allow_insecure", bool, False, "allow an http:// base_url that is not on this machine"),
)


def validate_connector_class(cls: Any) -> None:
    """Raise ValueError naming what a registered connector class lacks."""
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise ValueError(f"{cls!r} is not a csconnect.Connector subclass")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError(f"{cls.__name__}.name must be a lower-case identifier, got {name!r}")
    if getattr(cls, "category", None) not in CATEGORIES:
        raise ValueError(f"connector {name!r}: category must be one of {', '.join(CATEGORIES)}")
    seen = set()
    for s in cls.streams:
        if not (isinstance(s, type) and issubclass(s, Stream)):
            raise ValueError(f"connector {name!r}: {s!r} is not a csconnect.Stream subclass")
        sname = getattr(s, "name", None)
        if not isinstance(sname, str) or not NAME_RE.match(sname):
            raise ValueError(f"connector {name!r}: stream name must be a lower-case identifier, got {sname!r}")
        if sname in seen:
            raise ValueError(f"connector {name!r}: two streams named {sname!r}")
        if not s.primary_key:
            raise ValueError(f"connector {name!r}: stream {sname!r} declares no primary key")
        if s.incremental and not s.cursor_field:
            raise ValueError(f"connector {name!r}: incremental stream {sname!r} declares no cursor_field")
        seen.add(sname)
    for o in cls.options:
        if not NAME_RE.match(o.name):
            raise ValueError(f"connector {name!r}: option name {o.name!r} is not a lower-case identifier")
