"""One source row -> one canonical row, by an entry's columns, values, value_map and refs."""
from __future__ import annotations

import copy
import re
from typing import Any, Mapping

from csconnect import RejectError
from csconnect.model import TABLES

from .entries import MONEY_COLUMNS, REF_COLUMNS, FileEntry
from .values import clean, lookup, parse_date, parse_json, parse_money, parse_number, parse_timestamp

_COLUMNS = {name: {c.name: c for c in table.columns} for name, table in TABLES.items()}
_ENUM_WORD = re.compile(r"[\s\-]+")
# How spreadsheets name billing intervals.
INTERVALS = {"daily": "day", "weekly": "week", "monthly": "month", "yearly": "year", "annual": "year",
             "annually": "year"}
_DOMAIN = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:[^@/]*@)?(?:www\.)?([^/:?#\s]+)")


def domain(value: str) -> str:
    """'https://www.Acme.com/about' or 'jo@acme.com' -> 'acme.com'."""
    m = _DOMAIN.match(value.strip().lower())
    found = m.group(1).rstrip(".") if m else ""
    return found if "." in found else value


def _mapped(value: Any, mapping: Mapping[str, Any]) -> Any:
    """A value_map translation: exact text first, then ignoring case."""
    key = value if isinstance(value, str) else str(value)
    if key in mapping:
        return mapping[key]
    folded = key.casefold()
    for source, target in mapping.items():
        if source.casefold() == folded:
            return target
    return value


def build_row(entry: FileEntry, fields: Mapping[str, Any], source_id: str, connection: str) -> dict[str, Any]:
    """The canonical row for one record; RejectError names the column (and its source column) that failed."""
    columns = _COLUMNS[entry.table]
    row: dict[str, Any] = {"source_id": entry.id_prefix + source_id}
    for col, const in entry.values.items():
        row[col] = copy.deepcopy(const) if isinstance(const, (dict, list)) else const
    for col, src in entry.columns.items():
        if isinstance(src, dict):
            found = {key: clean(lookup(fields, name)) for key, name in src.items()}
            found = {k: v for k, v in found.items() if v is not None}
            base = row.get(col) if isinstance(row.get(col), dict) else {}
            row[col] = {**base, **found} or None
        else:
            row[col] = clean(lookup(fields, src))
    if entry.table == "source_accounts" and "source_account_id" not in row:
        row["source_account_id"] = row["source_id"]
    for col, mapping in entry.value_map.items():
        if row.get(col) is not None:
            row[col] = _mapped(row[col], mapping)
    currency = row.get("currency")
    currency = currency.strip().upper() if isinstance(currency, str) else currency
    for col in list(row):
        if col == "source_id" or row[col] is None:
            continue
        try:
            row[col] = _convert(entry, columns[col], row[col], currency)
        except (ValueError, TypeError, OverflowError) as exc:
            source = entry.source_of(col)
            raise RejectError(f"{col}{f' ({source!r})' if source else ''}: {exc}") from None
    for col in REF_COLUMNS:
        if row.get(col) is not None:
            row[col] = f"{entry.refs.get(col, connection)}:{row[col]}"
    return row


def _convert(entry: FileEntry, column: Any, value: Any, currency: Any) -> Any:
    kind = column.type
    if column.name in MONEY_COLUMNS and kind == "integer":
        return parse_money(value, currency, entry.money, entry.decimal)
    if kind == "timestamp":
        return parse_timestamp(value, entry.date_formats, entry.timezone)
    if kind == "date":
        return parse_date(value, entry.date_formats, entry.timezone)
    if kind in ("integer", "real"):
        return parse_number(value, entry.decimal)
    if kind == "json":
        return parse_json(value, column.name)
    if kind == "text" and isinstance(value, (dict, list)):
        raise ValueError(f"expected text, got {type(value).__name__}")
    if column.name == "domain" and isinstance(value, str):
        return domain(value)
    if column.enum and isinstance(value, str):
        word = _ENUM_WORD.sub("_", value.strip().lower())
        if column.name == "interval":
            word = INTERVALS.get(word, word)
        return word if word in column.enum else value
    return value
