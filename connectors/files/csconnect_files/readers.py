"""Reading CSV and JSON-lines files record by record, with the byte offset after each one.

A reader yields `(record, offset, line)`: the record, the byte offset just past
it and the number of physical lines read so far, so a page's state can say
exactly where to start again. Nothing holds more than one record in memory.

A record is `{"id", "file", "line", "fields"}`; a line that cannot be read
(a CSV row with the wrong number of fields, invalid JSON, undecodable bytes)
is `{"id": None, "file", "line", "error", "text"}` and becomes a reject.
"""
from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Sequence

from .entries import FileEntry
from .values import clean, lookup

Position = tuple[int, int]          # (byte offset, physical lines before it)
Item = tuple[dict[str, Any], int, int]
MAX_TEXT = 2000                     # characters of a bad line kept in its reject


class FileProblem(Exception):
    """The file as a whole cannot be read as configured (missing column, unreadable)."""


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    size: int
    lines: int                       # physical lines (a last line without a newline counts)
    eol: bool                        # ends with a newline (so appended rows start a new line)
    prefix: str | None = None        # sha256 of the first `prefix_size` bytes, when asked for

    def state(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size, "lines": self.lines, "eol": self.eol}


def fingerprint(path: Path, prefix_size: int | None = None, chunk: int = 1 << 20) -> Fingerprint:
    """Hash a file in one streaming pass, also hashing its first `prefix_size` bytes (append detection)."""
    digest, size, newlines, last, prefix = hashlib.sha256(), 0, 0, b"", None
    with open(path, "rb") as f:
        while block := f.read(chunk):
            if prefix_size is not None and prefix is None and size + len(block) >= prefix_size:
                cut = prefix_size - size
                digest.update(block[:cut])
                prefix = digest.hexdigest()
                digest.update(block[cut:])
            else:
                digest.update(block)
            size += len(block)
            newlines += block.count(b"\n")
            last = block[-1:]
    eol = last in (b"", b"\n")
    return Fingerprint(digest.hexdigest(), size, newlines + (0 if eol else 1), eol, prefix)


class _Lines:
    """Decoded lines of a binary file for csv.reader, counting bytes and lines as they are pulled."""

    def __init__(self, f: BinaryIO, encoding: str, start: Position = (0, 0)):
        self.f, self.encoding = f, encoding
        self.offset, self.line = start
        self.bad: str | None = None
        self.text: list[str] = []

    def start(self) -> None:
        """A new record begins: forget the previous one's text and decoding trouble."""
        self.bad, self.text = None, []

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        raw = self.f.readline()
        if not raw:
            raise StopIteration
        self.offset += len(raw)
        self.line += 1
        try:
            text = raw.decode(self.encoding)
        except UnicodeDecodeError as exc:
            text = raw.decode(self.encoding, "replace")
            self.bad = self.bad or f"not valid {self.encoding} text ({exc.reason} at column {exc.start + 1})"
        if sum(map(len, self.text)) < MAX_TEXT:
            self.text.append(text)
        return text


def _bad(rel: str, line: int, error: str, text: str) -> dict[str, Any]:
    return {"id": None, "file": rel, "line": line, "error": error, "text": text[:MAX_TEXT]}


def _record(entry: FileEntry, rel: str, line: int, fields: dict[str, Any]) -> dict[str, Any]:
    if entry.id:
        parts = [clean(lookup(fields, c)) for c in entry.id]
        rid = None if any(p is None for p in parts) else ":".join(str(p) for p in parts)
    else:
        rid = f"{rel}:{line}"
    return {"id": rid, "file": rel, "line": line, "fields": fields}


# -- CSV ---------------------------------------------------------------------------
def _clean_header(row: Sequence[str]) -> list[str]:
    names, seen = [], {}
    for i, cell in enumerate(row):
        name = cell.strip().lstrip("\ufeff").strip() or f"column {i + 1}"
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


def missing_columns(header: Sequence[str], wanted: Sequence[str]) -> list[str]:
    """The wanted source columns the header lacks (matching ignores case and surrounding spaces)."""
    folded = {h.strip().casefold() for h in header}
    return [w for w in wanted if w not in header and w.strip().casefold() not in folded]


def _read_header(reader: Any, entry: FileEntry) -> list[str] | None:
    skip = entry.header_row - 1
    for row in reader:
        if skip:
            skip -= 1
            continue
        if any(cell.strip() for cell in row):
            return _clean_header(row)
    return None


def csv_header(path: Path, entry: FileEntry) -> list[str] | None:
    """The column names of a CSV file (None: the file has no rows at all)."""
    with open(path, "rb") as f:
        return _read_header(csv.reader(_Lines(f, entry.encoding), delimiter=entry.delimiter), entry)


def read_csv(path: Path, rel: str, entry: FileEntry, start: Position = (0, 0)) -> Iterator[Item]:
    """The records of a CSV file from `start` (the header is always read from the top)."""
    with open(path, "rb") as f:
        lines = _Lines(f, entry.encoding)
        reader = csv.reader(lines, delimiter=entry.delimiter)
        header = _read_header(reader, entry)
        if header is None:
            return
        missing = missing_columns(header, entry.source_columns)
        if missing:
            raise FileProblem(f"no column {', '.join(repr(m) for m in missing)} in the header "
                              f"(it has: {', '.join(header)})")
        skipped = 0
        while skipped < entry.skip_rows:
            row = next(reader, None)
            if row is None:
                return
            skipped += bool(row)
        if start[0] > lines.offset:
            f.seek(start[0])
            lines.offset, lines.line = start
            reader = csv.reader(lines, delimiter=entry.delimiter)
        yield from _csv_records(reader, lines, header, rel, entry)


def _csv_records(reader: Any, lines: _Lines, header: list[str], rel: str, entry: FileEntry) -> Iterator[Item]:
    width = len(header)
    while True:
        lines.start()
        first = lines.line + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if lines.line < first:          # nothing consumed: the reader cannot go on
                raise FileProblem(f"line {first}: {exc}") from None
            yield _bad(rel, first, f"malformed CSV: {exc}", "".join(lines.text)), lines.offset, lines.line
            continue
        if not any(cell.strip() for cell in row):
            continue
        if lines.bad:
            yield _bad(rel, first, lines.bad, "".join(lines.text)), lines.offset, lines.line
            continue
        if len(row) != width:
            if len(row) > width and not any(cell.strip() for cell in row[width:]):
                row = row[:width]           # trailing empty cells (spreadsheet exports)
            else:
                yield (_bad(rel, first, f"malformed CSV line: {len(row)} fields, the header has {width}",
                            "".join(lines.text)), lines.offset, lines.line)
                continue
        yield _record(entry, rel, first, dict(zip(header, row, strict=True))), lines.offset, lines.line


# -- JSON lines ----------------------------------------------------------------------
def read_jsonl(path: Path, rel: str, entry: FileEntry, start: Position = (0, 0)) -> Iterator[Item]:
    """The records of a JSON-lines file (one object per line, UTF-8) from `start`."""
    offset, line = start
    with open(path, "rb") as f:
        f.seek(offset)
        for raw in iter(f.readline, b""):
            offset += len(raw)
            line += 1
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                yield (_bad(rel, line, f"not valid UTF-8 ({exc.reason} at column {exc.start + 1})",
                            raw.decode("utf-8", "replace")), offset, line)
                continue
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                yield _bad(rel, line, f"invalid JSON: {exc.msg} (column {exc.colno})", text), offset, line
                continue
            if not isinstance(obj, dict):
                yield _bad(rel, line, f"not a JSON object: {type(obj).__name__}", text), offset, line
                continue
            yield _record(entry, rel, line, obj), offset, line


def first_jsonl_problem(path: Path) -> str | None:
    """Why the first non-blank line of a JSON-lines file is not an object (None: it is, or the file is empty)."""
    with open(path, "rb") as f:
        for n, raw in enumerate(iter(f.readline, b""), 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8-sig"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                return f"line {n} is not valid JSON ({exc})"
            return None if isinstance(obj, dict) else f"line {n} is not a JSON object"
    return None


READERS = {"csv": read_csv, "jsonl": read_jsonl}
