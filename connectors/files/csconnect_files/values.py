"""Spreadsheet text -> canonical values: money, numbers, timestamps, dates, JSON lists.

Every parser takes what a CSV cell (a string) or a JSON-lines value (any JSON
type) holds and raises ValueError with a short reason the reject will carry.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Mapping, Sequence

from csconnect import utc_timestamp
from csconnect.money import exponent as currency_exponent
_SPACES = re.compile(r"[\s\u00a0\u202f']")
_AMOUNT = re.compile(r"^(?P<s1>[-+]?)(?P<pre>[^\d.,+\-]*)(?P<s2>[-+]?)(?P<num>[\d.,]+)(?P<post>[^\d.,]*)$")
_GROUPED = {".": re.compile(r"^(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$"),
            ",": re.compile(r"^(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$")}


def clean(value: Any) -> Any:
    """Strip text; empty text is NULL."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _decimal(value: Any, decimal_sep: str) -> Decimal:
    """A number written any way a spreadsheet writes money: "$1,234.50", "(12.00)", "12,50 €"."""
    if isinstance(value, bool):
        raise ValueError(f"not an amount: {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if not isinstance(value, str):
        raise ValueError(f"not an amount: {value!r}")
    text = _SPACES.sub("", value)
    negative = text.startswith("(") and text.endswith(")")
    if negative:
        text = text[1:-1]
    if text.endswith("-"):
        negative, text = True, text[:-1]
    m = _AMOUNT.match(text)
    if not m or not _GROUPED[decimal_sep].match(m["num"]) or (m["s1"] and m["s2"]):
        raise ValueError(f"not an amount: {value!r}" + (" (the decimal separator is ',')" if decimal_sep == ","
                                                         else ""))
    thousands = "," if decimal_sep == "." else "."
    number = Decimal(m["num"].replace(thousands, "").replace(decimal_sep, "."))
    if negative or "-" in (m["s1"], m["s2"]):
        number = -number
    return number


def parse_money(value: Any, currency: str | None, units: str, decimal_sep: str = ".") -> int | None:
    """An amount in major units ("12.50" USD -> 1250; "1,200" JPY -> 1200) or minor units -> minor units."""
    value = clean(value)
    if value is None:
        return None
    number = _decimal(value, decimal_sep)
    if units == "minor":
        if number != number.to_integral_value():
            raise ValueError(f"{value!r} is not a whole number of minor units (money = \"minor\")")
        return int(number)
    if not currency:
        raise ValueError("needs a currency to convert major units (map `currency` or set it in `values`)")
    scaled = number.scaleb(currency_exponent(currency))
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_number(value: Any, decimal_sep: str = ".") -> int | float | None:
    """A count or a score: "9", "8.5", "8,5" (decimal = ","); JSON numbers as they are."""
    value = clean(value)
    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise ValueError(f"not a number: {value!r}")
    text = value.replace(".", "").replace(",", ".") if decimal_sep == "," else value
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"not a number: {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"not a number: {value!r}")
    return number


def _strptime(text: str, formats: Sequence[str]) -> datetime:
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    shown = " or ".join(repr(f) for f in formats)
    raise ValueError(f"{text!r} does not match date_format {shown}")


def _iso(text: str) -> datetime:
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit() and ":" not in text[-5:]:
        text = text[:-2] + ":" + text[-2:]
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 timestamp: {text!r} (set date_format to read other layouts)") from None


def parse_timestamp(value: Any, formats: Sequence[str], tz: tzinfo) -> str | None:
    """-> ISO 8601 UTC text. Text without an offset is in `tz`; numbers are unix seconds (or ms)."""
    value = clean(value)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return utc_timestamp(value)
    if isinstance(value, date):                  # a TOML date or date-time in `values`
        dt = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    elif not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    elif formats:
        dt = _strptime(value, formats)
    elif value.isdigit():
        return utc_timestamp(int(value))
    else:
        dt = _iso(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date(value: Any, formats: Sequence[str], tz: tzinfo) -> str | None:
    """-> YYYY-MM-DD: the calendar date as written (a timestamp with an offset: its UTC date)."""
    value = clean(value)
    if value is None:
        return None
    if isinstance(value, str):
        if formats:
            dt = _strptime(value, formats)
        elif value.isdigit():
            return utc_timestamp(int(value))[:10]  # type: ignore[index]
        else:
            dt = _iso(value)
        if dt.tzinfo is not None:
            dt = dt.astimezone(timezone.utc)
        return dt.date().isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return utc_timestamp(value)[:10]  # type: ignore[index]
    if isinstance(value, datetime):
        return (value.astimezone(timezone.utc) if value.tzinfo else value).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise ValueError(f"not a date: {value!r}")


LIST_COLUMNS = ("tags", "features")


def parse_json(value: Any, column: str) -> Any:
    """A JSON column from one cell: JSON text, or for tags/features a comma-separated list."""
    value = clean(value)
    if value is None or not isinstance(value, str):
        return value
    if value[0] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg}") from None
    if column in LIST_COLUMNS:
        return [part.strip() for part in value.split(",") if part.strip()]
    raise ValueError(f"expected a JSON object, got {value!r} (map single keys instead: "
                     f"{column} = {{ key = \"Column\" }})")


def lookup(fields: Mapping[str, Any], name: str) -> Any:
    """A source value by column name: exact, then `a.b` into nested objects, then ignoring case and spaces."""
    if name in fields:
        return fields[name]
    if "." in name:
        node: Any = fields
        for part in name.split("."):
            if not isinstance(node, Mapping) or part not in node:
                break
            node = node[part]
        else:
            return node
    folded = name.strip().casefold()
    for key, value in fields.items():
        if isinstance(key, str) and key.strip().casefold() == folded:
            return value
    return None
