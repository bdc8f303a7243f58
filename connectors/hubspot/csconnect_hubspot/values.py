"""HubSpot property values: every one is a string (or null); these turn them into Python values.

Numbers come as "1234.5", booleans as "true"/"false", datetimes as ISO 8601 with milliseconds
("2026-03-01T12:00:00.123Z") or as epoch-millisecond strings ("1772366400123"), dates as
"2026-03-01". An empty string means "no value", like null.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from csconnect import utc_timestamp

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


def text(value: Any) -> str | None:
    """A property as trimmed text; "" and null are None."""
    if value is None:
        return None
    out = str(value).strip()
    return out or None


def prop(record: Mapping[str, Any], name: str) -> str | None:
    """One property of a HubSpot object (`record["properties"][name]`) as text."""
    props = record.get("properties") if isinstance(record, Mapping) else None
    return text(props.get(name)) if isinstance(props, Mapping) else None


def first(record: Mapping[str, Any], *names: str) -> str | None:
    """The first of several properties that has a value."""
    for name in names:
        value = prop(record, name)
        if value is not None:
            return value
    return None


def number(value: Any) -> Decimal | None:
    """ "1234.5" -> Decimal("1234.5"); None/"" -> None; anything else raises ValueError."""
    raw = text(value)
    if raw is None:
        return None
    try:
        out = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not out.is_finite():
        raise ValueError(f"not a number: {value!r}")
    return out


def number_or_none(value: Any) -> Decimal | None:
    """Like number(), but a value that is not a number is None (for optional, informative fields)."""
    try:
        return number(value)
    except ValueError:
        return None


def boolean(value: Any) -> bool | None:
    """ "true"/"false" (any case) -> bool; None/"" -> None; anything else raises ValueError."""
    raw = text(value)
    if raw is None:
        return None
    low = raw.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def millis(value: Any) -> int | None:
    """A HubSpot datetime (ISO 8601, or epoch milliseconds as text) -> epoch milliseconds."""
    raw = text(value)
    if raw is None:
        return None
    if raw.lstrip("-").isdigit():
        n = int(raw)
        return n if abs(n) >= 10**11 else n * 1000     # epoch seconds, just in case
    iso = raw[:-1] + "+00:00" if raw[-1:] in "Zz" else raw
    try:
        dt = datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(f"not a HubSpot datetime: {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(round(dt.timestamp() * 1000))


def timestamp(value: Any) -> str | None:
    """A HubSpot datetime or date -> ISO 8601 UTC text (seconds); None/"" -> None."""
    raw = text(value)
    if raw is None:
        return None
    return utc_timestamp(millis(raw)) if raw.lstrip("-").isdigit() else utc_timestamp(raw)


def ms_to_iso(ms: int | None) -> str | None:
    return None if ms is None else utc_timestamp(ms / 1000)


def domain(value: Any) -> str | None:
    """ "https://www.Northwind.example/about" -> "northwind.example"."""
    raw = text(value)
    if raw is None:
        return None
    host = _SCHEME.sub("", raw.lower()).split("/", 1)[0].split("?", 1)[0].split("@")[-1]
    host = host.split(":", 1)[0].strip(". ")
    if host.startswith("www."):
        host = host[4:]
    return host if "." in host and " " not in host else None
