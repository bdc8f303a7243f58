"""The canonical customer-success model, v1: defined once, here.

Every connector normalizes into these tables and every metric pack reads them.
`csconnect schema` prints this module; migrations create the tables from it.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date, datetime, timezone
from typing import Any, Iterable

from .errors import RejectError

MODEL_VERSION = 1

# Column types: text, integer (money in minor units, counts), real, bool (0/1),
# timestamp (ISO 8601 UTC text 2026-03-01T12:00:00Z), date (YYYY-MM-DD), json (text).
SQL_TYPES = {"text": "TEXT", "integer": "INTEGER", "real": "REAL", "bool": "INTEGER",
             "timestamp": "TEXT", "date": "TEXT", "json": "TEXT"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "text"
    required: bool = False
    enum: tuple[str, ...] | None = None
    doc: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    grain: str
    columns: tuple[Column, ...]
    doc: str = ""
    common: bool = True          # carries the common source columns
    indexes: tuple[tuple[str, ...], ...] = field(default=())

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(name: str, type: str = "text", *, required: bool = False, enum: str | None = None, doc: str = "") -> Column:
    return Column(name, type, required, tuple(enum.split()) if enum else None, doc)


COMMON = (
    _c("id", required=True, doc='"<connection>:<source id>"'),
    _c("source", required=True, doc="the connection name"),
    _c("source_id", required=True, doc="the record's id in its source"),
    _c("source_account_id", doc="the account reference as the source knows it"),
    _c("account_id", doc="the resolved account (set by `csconnect link`)"),
    _c("source_stream", doc="the stream that wrote the row"),
    _c("synced_at", "timestamp", required=True),
)

_TABLES = [
    Table("source_accounts", "an account as one source knows it", (
        _c("name"), _c("domain", doc="web domain, lower-case, no www."),
        _c("external_ids", "json", doc='{"<connection or connector name>": "<its account id>"}, e.g. a CRM id '
                                       'kept in billing metadata'),
        _c("created_at", "timestamp"),
        _c("attributes", "json", doc="segment, lifecycle_stage, industry, country, owner, seats, plan … "
                                     "(identity builds `accounts` from these keys)"),
    )),
    Table("accounts", "the resolved customer (golden record)", (
        _c("account_id", required=True), _c("name"), _c("domain"), _c("segment"),
        _c("lifecycle_stage"), _c("industry"), _c("country"), _c("owner"),
        _c("seats", "integer"), _c("created_at", "timestamp"), _c("sources", "json"),
        _c("updated_at", "timestamp"),
    ), common=False),
    Table("account_links", "source account -> resolved account", (
        _c("source", required=True), _c("source_account_id", required=True),
        _c("account_id", required=True),
        _c("rule", required=True, enum="override external_id domain name self"),
        _c("confidence", "real"), _c("detail"),
    ), common=False),
    Table("contacts", "a person at a customer", (
        _c("email"), _c("name"), _c("title"), _c("created_at", "timestamp"),
    )),
    Table("subscriptions", "a billing subscription (current state)", (
        _c("status", required=True, enum="trialing active past_due paused canceled ended"),
        _c("source_status"), _c("plan_id"), _c("plan_name"), _c("product"),
        _c("interval", enum="day week month year"), _c("interval_count", "integer"),
        _c("quantity", "integer"), _c("currency"),
        _c("amount", "integer", doc="the whole subscription's charge per billing interval: Σ unit price × "
                                   "quantity over its items, before discounts and tax"),
        _c("mrr", "integer", doc="monthly recurring revenue as the source states it (after discounts), if it does"),
        _c("started_at", "timestamp"), _c("trial_start", "timestamp"), _c("trial_end", "timestamp"),
        _c("current_period_start", "timestamp"), _c("current_period_end", "timestamp"),
        _c("cancel_at_period_end", "bool"), _c("canceled_at", "timestamp"), _c("ended_at", "timestamp"),
    )),
    Table("invoices", "an invoice", (
        _c("subscription_id"), _c("status", required=True, enum="draft open paid void uncollectible"),
        _c("source_status"), _c("currency", required=True), _c("subtotal", "integer"),
        _c("discount", "integer"), _c("tax", "integer"), _c("total", "integer"),
        _c("amount_paid", "integer"), _c("created_at", "timestamp"), _c("paid_at", "timestamp"),
    )),
    Table("invoice_lines", "one billed line with its service period (or a pending invoice item)", (
        _c("invoice_id", doc="NULL while pending"), _c("subscription_id"),
        _c("kind", required=True, enum="subscription one_off proration"), _c("plan_id"), _c("product"),
        _c("quantity", "integer"), _c("amount", "integer", required=True, doc="after discounts, before tax"),
        _c("currency", required=True), _c("period_start", "timestamp"), _c("period_end", "timestamp"),
        _c("interval", enum="day week month year"), _c("interval_count", "integer"),
    ), indexes=(("subscription_id",), ("invoice_id",))),
    Table("deals", "a CRM opportunity", (
        _c("kind", enum="new_business renewal expansion other"), _c("source_type"), _c("stage"),
        _c("amount", "integer"), _c("currency"), _c("is_closed", "bool"), _c("is_won", "bool"),
        _c("created_at", "timestamp"), _c("close_date", "date"), _c("owner"),
    )),
    Table("tickets", "a support conversation", (
        _c("requester_id"), _c("channel", enum="email chat phone web social api other"), _c("source_type"),
        _c("status", required=True, enum="new open pending solved closed"), _c("source_status"),
        _c("priority"), _c("type"), _c("subject"), _c("created_at", "timestamp", required=True),
        _c("first_reply_at", "timestamp"), _c("solved_at", "timestamp"), _c("agent_replies", "integer"),
        _c("reopens", "integer"), _c("assignee"), _c("group_name"), _c("tags", "json"),
        _c("escalated", "bool"),
    )),
    Table("survey_responses", "one NPS / CSAT / CES answer", (
        _c("kind", required=True, enum="nps csat ces other"), _c("source_type"), _c("score", "real"),
        _c("scale_min", "real"), _c("scale_max", "real"),
        _c("polarity", enum="higher_better lower_better"), _c("comment"), _c("contact_id"),
        _c("ticket_id"), _c("channel"), _c("responded_at", "timestamp", required=True),
    )),
    Table("usage_daily", "one user's product activity on one day", (
        _c("user_id", required=True), _c("day", "date", required=True), _c("events", "integer"),
        _c("sessions", "integer"), _c("active_seconds", "integer"), _c("features", "json"),
    ), indexes=(("day",),)),
    Table("activities", "a human touchpoint", (
        _c("kind", required=True, enum="meeting call email qbr note other"), _c("source_type"),
        _c("occurred_at", "timestamp", required=True), _c("duration_seconds", "integer"),
        _c("owner"), _c("subject"), _c("contact_id"),
    )),
    Table("costs", "money spent in a period", (
        _c("period_start", "date", required=True), _c("period_end", "date", required=True),
        _c("category", enum="retention acquisition other"), _c("source_type"),
        _c("amount", "integer", required=True), _c("currency", required=True),
    )),
]

for _i, _t in enumerate(_TABLES):
    if _t.common:
        _TABLES[_i] = Table(_t.name, _t.grain, COMMON + _t.columns, _t.doc, True,
                            (("account_id",), ("source", "source_account_id")) + _t.indexes)

TABLES: dict[str, Table] = {t.name: t for t in _TABLES}
# Tables connectors write; `accounts` and `account_links` belong to identity resolution.
CONNECTOR_TABLES = tuple(t.name for t in _TABLES if t.common)

# Where the original value of an enum column is kept when it maps to `other`.
ORIGINAL_OF = {"status": "source_status", "kind": "source_type", "channel": "source_type",
               "category": "source_type"}

_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_EPOCH_MAX = 253_402_300_800          # 10000-01-01T00:00:00Z
_DAYS: dict[int, str] = {}            # days since 1970 -> "YYYY-MM-DD", a small cache


def _epoch_text(seconds: int) -> str:
    """Whole unix seconds in [0, _EPOCH_MAX) as utc_timestamp gives them, by arithmetic (the sync's hot path)."""
    days, rest = divmod(seconds, 86400)
    day = _DAYS.get(days)
    if day is None:
        if len(_DAYS) >= 4096:
            _DAYS.clear()
        day = _DAYS[days] = date.fromordinal(_EPOCH_ORDINAL + days).isoformat()
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{day}T{hours:02d}:{minutes:02d}:{secs:02d}Z"


def utc_timestamp(value: Any) -> str | None:
    """Any timestamp a source sends -> ISO 8601 UTC text (seconds); None stays None.

    Takes unix seconds (int/float), epoch milliseconds (>= 1e11), datetimes
    (naive = UTC) and ISO 8601 / RFC 3339 strings (`Z`, `+00:00`, `+0000`, fractions).
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, (int, float)):
        if value.__class__ is int:       # the common case (Stripe's `created`): no datetime objects
            whole = value // 1000 if value >= 100_000_000_000 else value
            if 0 <= whole < _EPOCH_MAX:
                return _epoch_text(whole)
        seconds = value / 1000 if abs(value) >= 1e11 else value
        dt = datetime.fromtimestamp(seconds, tz=timezone.utc)
    elif isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    elif isinstance(value, str):
        if _TS.match(value):
            return value
        text = value.strip()
        if text.isdigit():
            return utc_timestamp(int(text))
        if text.endswith("Z") or text.endswith("z"):
            text = text[:-1] + "+00:00"
        if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit() and ":" not in text[-5:]:
            text = text[:-2] + ":" + text[-2:]          # +0000 -> +00:00 (Salesforce)
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO 8601 timestamp: {value!r}") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
    else:
        raise ValueError(f"not a timestamp: {value!r}")
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _date(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return utc_timestamp(value)[:10]  # type: ignore[index]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and _DATE.match(value):
        date.fromisoformat(value)
        return value
    return utc_timestamp(value)[:10]  # type: ignore[index]


def _integer(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not an integer: {value!r}")
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise ValueError(f"{value!r} is too large for a 64-bit integer")
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"not an integer: {value!r}")
        return _integer(round(value))
    if isinstance(value, str):
        text = value.strip()
        try:
            return _integer(int(text))
        except ValueError:
            if len(text) > 100:
                raise ValueError(f"not an integer: {text[:40]!r}… ({len(text)} characters)") from None
            return _integer(float(text))
    raise ValueError(f"not an integer: {value!r}")


_INT_MIN, _INT_MAX = -(2 ** 63), 2 ** 63 - 1     # what SQLite's INTEGER holds


def _real(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    result = float(value)
    if result != result:
        raise ValueError(f"not a number: {value!r}")
    return result


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def _bool(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return int(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return int(value.strip().lower() in _TRUE)
    raise ValueError(f"not a boolean: {value!r}")


_ENCODE_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False).encode


def _json(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        json.loads(value)
        return value
    return _ENCODE_JSON(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise ValueError(f"expected text, got {type(value).__name__}")
    return str(value)


_COERCE = {"text": _text, "integer": _integer, "real": _real, "bool": _bool,
           "timestamp": utc_timestamp, "date": _date, "json": _json}


class _Plan:
    """A table's columns prepared for fast validation (the sync's hot path)."""

    def __init__(self, table: Table):
        self.table = table.name
        self.names = frozenset(table.column_names)
        index = {c.name: i for i, c in enumerate(table.columns)}
        self.width = len(table.columns)
        self.columns = []
        for i, c in enumerate(table.columns):
            keeper = ORIGINAL_OF.get(c.name)
            keeper_at = index.get(keeper) if c.enum and "other" in c.enum and keeper else None
            self.columns.append((i, c.name, _COERCE[c.type], c.type == "text", frozenset(c.enum or ()) or None,
                                 c.enum, c.required, keeper_at, c.name == "currency"))


_PLANS: dict[str, _Plan] = {}


def validate_values(table: str, row: dict[str, Any]) -> list[Any]:
    """Coerce one canonical row to its column types, as a list in column order.

    Raises RejectError naming the table, the column and what is wrong. An enum value
    the model does not know becomes `other` (the original kept in `source_status` /
    `source_type`) where the enum has `other`; elsewhere it is a reject.
    """
    plan = _PLANS.get(table)
    if plan is None:
        if table not in TABLES:
            raise RejectError(f"unknown canonical table {table!r}")
        plan = _PLANS[table] = _Plan(TABLES[table])
    if not plan.names.issuperset(row):
        unknown = sorted(set(row) - plan.names)
        raise RejectError(f"{table}: unknown column(s) {', '.join(unknown)}")
    out: list[Any] = [None] * plan.width
    kept: list[tuple[int, Any]] = []
    get = row.get
    for i, name, coerce, is_text, allowed, enum, required, keeper_at, is_currency in plan.columns:
        value = get(name)
        if value is None:
            if required:
                raise RejectError(f"{table}.{name} is required")
            continue
        if not (is_text and value.__class__ is str):
            try:
                value = coerce(value)
            except (ValueError, TypeError, OverflowError) as exc:
                raise RejectError(f"{table}.{name}: {exc}") from None
            if value is None:
                if required:
                    raise RejectError(f"{table}.{name} is required")
                continue
        if allowed is not None:
            value = value.lower() if isinstance(value, str) else value
            if value not in allowed:
                if keeper_at is None:
                    raise RejectError(f"{table}.{name}: unknown value {row[name]!r} "
                                      f"(expected one of: {', '.join(enum)})")
                kept.append((keeper_at, row[name]))
                value = "other"
        elif is_currency:
            value = value.upper()
            if not _CURRENCY.match(value):
                raise RejectError(f"{table}.currency: not an ISO 4217 code: {row['currency']!r}")
        out[i] = value
    for at, original in kept:
        if out[at] is None:
            out[at] = original
    return out


def coerce_value(table: str, column: str, value: Any) -> Any:
    """One value as column `table.column` stores it (for comparisons such as Replace); RejectError if it cannot be."""
    try:
        kind = TABLES[table].column(column).type
    except KeyError:
        raise RejectError(f"{table} has no column {column!r}") from None
    try:
        return _COERCE[kind](value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise RejectError(f"{table}.{column}: {exc}") from None


def validate_row(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """validate_values as a dict of column -> value."""
    return dict(zip(TABLES[table].column_names, validate_values(table, row))) if table in TABLES \
        else dict(validate_values(table, row))


def create_table_sql(table: Table) -> list[str]:
    key = "PRIMARY KEY (source, source_account_id)" if table.name == "account_links" else None
    cols = []
    for c in table.columns:
        decl = f"[{c.name}] {SQL_TYPES[c.type]}"
        if c.name == ("account_id" if table.name == "accounts" else "id") and key is None:
            decl += " PRIMARY KEY"
        elif c.required:
            decl += " NOT NULL"
        cols.append(decl)
    if key:
        cols.append(key)
    stmts = [f"CREATE TABLE IF NOT EXISTS [{table.name}] (\n  " + ",\n  ".join(cols) + "\n)"]
    for idx in table.indexes:
        stmts.append(f"CREATE INDEX IF NOT EXISTS [idx_{table.name}_{'_'.join(idx)}] "
                     f"ON [{table.name}] ({', '.join(f'[{c}]' for c in idx)})")
    return stmts


def describe(tables: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The model as data (for `csconnect schema --format json` and the docs)."""
    names = list(tables) if tables else list(TABLES)
    return [{"table": t.name, "grain": t.grain, "columns": [
        {"name": c.name, "type": c.type, "required": c.required,
         "enum": list(c.enum) if c.enum else None, "doc": c.doc} for c in t.columns]}
        for t in (TABLES[n] for n in names)]


def markdown() -> str:
    """docs/schema.md, generated from this module (a test keeps the file in step)."""
    lines = ["# The canonical model (v%d)" % MODEL_VERSION, "",
             "Generated from `csconnect/model.py` (`csconnect schema` prints the same). Every table but",
             "`accounts` and `account_links` has the common columns `id` (`<connection>:<source id>`),",
             "`source`, `source_id`, `source_account_id`, `account_id`, `source_stream` and `synced_at`.",
             "Timestamps are ISO 8601 UTC text, dates `YYYY-MM-DD`, money integer minor units with an",
             "ISO 4217 `currency`.", ""]
    common = {c.name for c in COMMON}
    for t in TABLES.values():
        lines += [f"## `{t.name}`", "", f"{t.grain[0].upper()}{t.grain[1:]}.", "",
                  "| column | type | required | values | note |", "|---|---|---|---|---|"]
        for c in t.columns:
            if t.common and c.name in common:
                continue
            lines.append(f"| `{c.name}` | {c.type} | {'yes' if c.required else ''} | "
                         f"{' '.join(c.enum) if c.enum else ''} | {c.doc.replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)
