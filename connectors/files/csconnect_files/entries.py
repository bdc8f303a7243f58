"""The `[[connections.NAME.files]]` entries: parsed and checked once, when the connection is built.

Every mistake is a one-line ConfigError naming the connection, the entry and the key:
`connections.surveys.files[nps].columns.scroe: survey_responses has no column 'scroe' (did you mean 'score'?)`.
"""
from __future__ import annotations

import codecs
import difflib
import re
from dataclasses import dataclass, field
from datetime import timezone, tzinfo
from pathlib import PurePath
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from csconnect import ConfigError
from csconnect.model import CONNECTOR_TABLES, TABLES

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Columns the connector fills itself.
RESERVED = {"id": "it is '<connection>:<source_id>'", "source": "it is the connection name",
            "source_id": "the record id comes from the entry's `id` key", "source_stream": "it is the entry name",
            "synced_at": "it is the sync time", "account_id": "`csconnect link` resolves it; map source_account_id"}
# Columns that point at another record: stored as '<connection>:<value>' (this connection unless `refs` says).
REF_COLUMNS = ("contact_id", "ticket_id", "subscription_id", "invoice_id", "requester_id")
MONEY_COLUMNS = ("amount", "mrr", "subtotal", "discount", "tax", "total", "amount_paid")
FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
CSV_ONLY = ("delimiter", "encoding", "header_row", "skip_rows")

KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,), "path": (str,), "table": (str,), "format": (str,), "id": (str, list), "id_prefix": (str,),
    "columns": (dict,), "values": (dict,), "value_map": (dict,), "refs": (dict,),
    "delimiter": (str,), "encoding": (str,), "header_row": (int,), "skip_rows": (int,),
    "date_format": (str, list), "timezone": (str,), "money": (str,), "decimal": (str,),
}
_WORDS = {str: "text", list: "a list", dict: "a table", int: "a whole number"}


@dataclass
class FileEntry:
    """One configured file (or glob) and how its rows map onto one canonical table."""

    name: str
    path: str
    table: str
    format: str = "csv"
    id: tuple[str, ...] = ()
    id_prefix: str = ""
    columns: dict[str, Any] = field(default_factory=dict)     # canonical column -> source column (or table)
    values: dict[str, Any] = field(default_factory=dict)      # canonical column -> constant
    value_map: dict[str, dict[str, Any]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    header_row: int = 1
    skip_rows: int = 0
    date_formats: tuple[str, ...] = ()
    timezone: tzinfo = timezone.utc
    money: str = "major"
    decimal: str = "."

    @property
    def source_columns(self) -> list[str]:
        """Every source column the entry reads (id columns first), for header checks."""
        out = list(self.id)
        for src in self.columns.values():
            out.extend(src.values() if isinstance(src, dict) else [src])
        return list(dict.fromkeys(out))

    def source_of(self, column: str) -> str | None:
        src = self.columns.get(column)
        return src if isinstance(src, str) else None


class _Where:
    def __init__(self, connection: str, index: int, name: Any):
        ok = isinstance(name, str) and name
        self.prefix = f"connections.{connection}.files[{name}]" if ok else \
            f"connections.{connection}.files (entry {index + 1})"

    def __call__(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.prefix}{'.' + key if key else ''}: {message}")


def _suggest(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_entries(connection: str, raw: Any) -> list[FileEntry]:
    """Check every entry of a connection's `files` list; raise ConfigError on the first mistake."""
    if not raw:
        raise ConfigError(f"connections.{connection}: no files configured; add a [[connections.{connection}.files]] "
                          "table with name, path, table and columns (see the csconnect-files README)")
    entries, names = [], set()
    for i, item in enumerate(raw):
        where = _Where(connection, i, item.get("name") if isinstance(item, dict) else None)
        if not isinstance(item, dict):
            raise where("", f"must be a table (write [[connections.{connection}.files]]), got {item!r}")
        entry = _entry(item, where)
        if entry.name in names:
            raise where("name", f"two entries are named {entry.name!r}; each entry is a stream and needs its own name")
        names.add(entry.name)
        entries.append(entry)
    return entries


def _entry(item: Mapping[str, Any], where: _Where) -> FileEntry:
    for key, value in item.items():
        if key not in KEYS:
            raise where(key, f"unknown key{_suggest(key, KEYS)} (keys: {', '.join(KEYS)})")
        kinds = KEYS[key]
        if not isinstance(value, kinds) or isinstance(value, bool):
            words = " or ".join(_WORDS[k] for k in kinds)
            raise where(key, f"must be {words}, got {value!r}")
    for key in ("name", "path", "table"):
        if not item.get(key):
            raise where(key, "is required (every entry needs name, path and table)")
    name, table = item["name"], item["table"]
    if not NAME_RE.match(name):
        raise where("name", f"{name!r} must be lower-case letters, digits and _ (it becomes the stream name)")
    if table not in CONNECTOR_TABLES:
        raise where("table", f"unknown table {table!r}"
                             + (_suggest(table, CONNECTOR_TABLES) or f" (tables: {', '.join(CONNECTOR_TABLES)})"))
    e = FileEntry(name=name, path=item["path"], table=table)
    e.format = _format(item, where)
    if e.format != "csv":
        for key in CSV_ONLY:
            if key in item:
                raise where(key, f"applies to csv files only (this entry reads {e.format})")
    if "id" in item:
        ids = [item["id"]] if isinstance(item["id"], str) else item["id"]
        if not ids or not all(isinstance(c, str) and c for c in ids):
            raise where("id", f"must name the source column(s) that identify a row, got {item['id']!r}")
        e.id = tuple(ids)
    e.id_prefix = item.get("id_prefix", "")
    spec = TABLES[table]
    e.columns = {col: _source(spec, col, src, where) for col, src in item.get("columns", {}).items()}
    for col, value in item.get("values", {}).items():
        _column(spec, "values", col, where)
        if col in e.columns and not (isinstance(value, dict) and isinstance(e.columns[col], dict)):
            raise where(f"values.{col}", f"{col} is also in columns; give it one source")
        _constant(spec, col, value, where)
        e.values[col] = value
    for column in spec.columns:
        if column.required and column.name not in RESERVED and column.name not in e.columns | e.values:
            raise where("columns", f"{table} needs {column.name}: map it in columns or set it in values")
    e.value_map = _value_map(spec, e, item.get("value_map", {}), where)
    for col, target in item.get("refs", {}).items():
        if col not in REF_COLUMNS or col not in spec.column_names:
            refs = [c for c in REF_COLUMNS if c in spec.column_names]
            raise where(f"refs.{col}", f"not a reference column of {table} ({', '.join(refs) or 'it has none'})")
        if not isinstance(target, str) or not NAME_RE.match(target):
            raise where(f"refs.{col}", f"must be a connection name, got {target!r}")
        e.refs[col] = target
    _csv_options(e, item, where)
    _time_options(e, item, where)
    for key, choices in (("money", ("major", "minor")), ("decimal", (".", ","))):
        value = item.get(key, getattr(e, key))
        if value not in choices:
            raise where(key, f"must be {' or '.join(repr(c) for c in choices)}, got {value!r}")
        setattr(e, key, value)
    return e


def _format(item: Mapping[str, Any], where: _Where) -> str:
    if "format" in item:
        if item["format"] not in ("csv", "jsonl"):
            raise where("format", f"must be 'csv' or 'jsonl', got {item['format']!r}")
        return item["format"]
    suffix = PurePath(item["path"]).suffix.lower()
    if suffix not in FORMATS:
        hint = " (a .json file holding one array is not supported: write one object per line)" \
            if suffix == ".json" else ""
        raise where("format", f"cannot tell the format of {item['path']!r}; add format = \"csv\" or "
                              f"format = \"jsonl\"{hint}")
    return FORMATS[suffix]


def _column(spec: Any, key: str, col: str, where: _Where) -> Any:
    if col in RESERVED:
        raise where(f"{key}.{col}", f"the connector sets {col}: {RESERVED[col]}")
    if col not in spec.column_names:
        mine = [c for c in spec.column_names if c not in RESERVED]
        raise where(f"{key}.{col}", f"{spec.name} has no column {col!r}"
                                    + (_suggest(col, mine) or f" (columns: {', '.join(mine)})"))
    return spec.column(col)


def _source(spec: Any, col: str, src: Any, where: _Where) -> Any:
    column = _column(spec, "columns", col, where)
    if isinstance(src, dict) and column.type == "json":
        for key, name in src.items():
            if not isinstance(name, str) or not name:
                raise where(f"columns.{col}.{key}", f"must name a source column, got {name!r}")
        return dict(src)
    if not isinstance(src, str) or not src:
        extra = " (or, for this JSON column, a table of key = \"Column\")" if column.type == "json" else ""
        raise where(f"columns.{col}", f"must name a source column{extra}, got {src!r}")
    return src


def _constant(spec: Any, col: str, value: Any, where: _Where) -> None:
    column = spec.column(col)
    if isinstance(value, (dict, list)) and column.type != "json":
        raise where(f"values.{col}", f"{col} is {column.type}, not JSON; give one value")
    if column.enum and isinstance(value, str) and value.lower() not in column.enum:
        raise where(f"values.{col}", f"{value!r} is not one of {', '.join(column.enum)}")


def _value_map(spec: Any, e: FileEntry, raw: Mapping[str, Any], where: _Where) -> dict[str, dict[str, Any]]:
    out = {}
    for col, mapping in raw.items():
        column = _column(spec, "value_map", col, where)
        if col not in e.columns:
            raise where(f"value_map.{col}", f"{col} is not mapped in columns; value_map rewrites mapped values")
        if not isinstance(mapping, dict):
            raise where(f"value_map.{col}", f"must be a table of \"source value\" = canonical value, got {mapping!r}")
        for source, target in mapping.items():
            if column.enum and isinstance(target, str) and target not in column.enum:
                raise where(f"value_map.{col}.{source}", f"{target!r} is not one of {', '.join(column.enum)}")
        out[col] = {str(k): v for k, v in mapping.items()}
    return out


def _csv_options(e: FileEntry, item: Mapping[str, Any], where: _Where) -> None:
    if PurePath(e.path).suffix.lower() == ".tsv":
        e.delimiter = "\t"
    e.delimiter = item.get("delimiter", e.delimiter)
    if len(e.delimiter) != 1 or e.delimiter in "\r\n\"":
        raise where("delimiter", f"must be one character such as ',' ';' or '\\t', got {e.delimiter!r}")
    e.encoding = item.get("encoding", e.encoding)
    try:
        codecs.lookup(e.encoding)
    except LookupError:
        raise where("encoding", f"unknown encoding {e.encoding!r} (e.g. utf-8-sig, latin-1, cp1252)") from None
    try:
        ascii_safe = b"\n,;\t\"a1".decode(e.encoding) == "\n,;\t\"a1"
    except UnicodeError:
        ascii_safe = False
    if not ascii_safe:
        raise where("encoding", f"{e.encoding!r} is not supported; save the file as UTF-8 (or another encoding "
                                "that writes plain ASCII as ASCII, such as latin-1 or cp1252)")
    for key, least in (("header_row", 1), ("skip_rows", 0)):
        value = item.get(key, getattr(e, key))
        if value < least:
            raise where(key, f"must be {least} or more, got {value!r}")
        setattr(e, key, value)


def _time_options(e: FileEntry, item: Mapping[str, Any], where: _Where) -> None:
    formats = item.get("date_format", [])
    formats = [formats] if isinstance(formats, str) else formats
    for fmt in formats:
        if not isinstance(fmt, str) or "%" not in fmt:
            raise where("date_format", f"must be a strptime format such as '%m/%d/%Y %H:%M', got {fmt!r}")
    e.date_formats = tuple(formats)
    name = item.get("timezone", "UTC")
    if name.upper() != "UTC":
        try:
            e.timezone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise where("timezone", f"unknown time zone {name!r} (an IANA name such as 'Europe/Berlin')") from None
