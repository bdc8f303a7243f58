"""The `files` connector: one stream per configured file entry, read page by page.

Stream state (one per entry):

    {"files":   {"<path>": {"sha256", "size", "lines", "eol"}, …},   # read to the end
     "current": {"path", "sha256", "size", "offset", "line"} | None}  # being read

A file whose sha256 and size match `files` is skipped. A file that grew and
whose first `size` bytes still hash to the recorded sha256 (rows were
appended after a final newline) is read from the recorded end only. Any other
change re-reads the file from the top; upserts make that safe. `current` lets
a run that stopped mid-file start again at the byte after the last committed page.
"""
from __future__ import annotations

import glob
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from csconnect import ConfigError, Connector, ConnectorError, Option, Page, RejectError, Row, Stream
from csconnect.model import CONNECTOR_TABLES

from .entries import FileEntry, parse_entries
from .mapping import build_row
from .readers import READERS, Fingerprint, FileProblem, csv_header, fingerprint, first_jsonl_problem, \
    missing_columns

_MAGIC = set("*?[")


class FileStream(Stream):
    """The rows of one file entry (a file or a glob) -> one canonical table."""

    name = "file"                  # each instance takes its entry's name
    primary_key = "id"
    cursor_field = "line"
    incremental = True
    tables = CONNECTOR_TABLES      # each instance: its entry's table

    def __init__(self, connector: "FilesConnector", entry: FileEntry):
        super().__init__(connector)
        self.entry = entry
        self.name = entry.name             # type: ignore[misc]
        self.tables = (entry.table,)       # type: ignore[misc]
        self.base_dir: Path = connector.base_dir

    # -- files -------------------------------------------------------------------
    @property
    def shown_path(self) -> str:
        """The path as the configuration writes it, and the folder a relative one is taken from."""
        p = Path(self.entry.path).expanduser()
        if p.is_absolute():
            return str(p)
        base = Path(self.connector.settings.get("base_dir") or ".")
        shown = str(base / p)
        return shown if base.expanduser().is_absolute() else f"{shown} (in {self.connector.root})"

    def resolve(self) -> list[tuple[str, Path]]:
        """(name in state, path) of every file the entry matches, sorted; a one-line error when none."""
        pattern = Path(self.entry.path).expanduser()
        full = pattern if pattern.is_absolute() else self.base_dir / pattern
        if _MAGIC & set(self.entry.path):
            found = [Path(p) for p in glob.glob(str(full), recursive=True)]
            found = sorted(p for p in found if p.is_file())
            if not found:
                raise self.error(f"no file matches {self.shown_path}")
        elif full.is_file():
            found = [full]
        else:
            raise self.error(f"no such file: {self.shown_path}" if not full.exists() else
                             f"{self.shown_path} is not a file")
        return [(self._rel(p), p) for p in found]

    def _rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.base_dir).as_posix()
        except ValueError:
            return path.as_posix()

    def error(self, message: str) -> ConnectorError:
        return ConnectorError(f"{self.connection}.{self.name}: {message}")

    # -- pages -------------------------------------------------------------------
    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        state = state or {}
        done: dict[str, dict[str, Any]] = dict(state.get("files") or {})
        current = state.get("current")
        files = self.resolve()
        names = {rel for rel, _ in files}
        stale = [rel for rel in done if rel not in names]
        for rel in stale:                  # gone from the folder: forget it (its rows stay)
            del done[rel]
        wrote, problems = False, []
        for rel, path in files:
            prev = done.get(rel)
            try:
                fp = fingerprint(path, prev.get("size") if prev and prev.get("eol") else None)
            except OSError as exc:
                problems.append(f"cannot read {rel}: {exc.strerror or exc}")
                continue
            if prev and prev.get("sha256") == fp.sha256 and prev.get("size") == fp.size:
                continue
            if current and current.get("path") == rel and current.get("sha256") == fp.sha256:
                start = (int(current["offset"]), int(current["line"]))      # resume after a stop
            elif prev and fp.prefix and fp.prefix == prev.get("sha256") and fp.size > prev.get("size", 0):
                start = (int(prev["size"]), int(prev.get("lines", 0)))       # rows were appended
            else:
                start = (0, 0)
            done.pop(rel, None)
            try:
                for page in self._read(rel, path, fp, start, done):
                    wrote = True
                    yield page
            except (FileProblem, OSError) as exc:      # the other files still load; this one next time
                problems.append(f"{rel}: {exc}" if isinstance(exc, FileProblem) else
                                f"cannot read {rel}: {exc.strerror or exc}")
                continue
            done[rel] = fp.state()
        if not wrote and (stale or current):
            yield Page([], state={"files": dict(done), "current": None})
        if problems:
            raise self.error("; ".join(problems))

    def _read(self, rel: str, path: Path, fp: Fingerprint, start: tuple[int, int],
              done: dict[str, dict[str, Any]]) -> Iterator[Page]:
        size = self.connector.page_size
        items = READERS[self.entry.format](path, rel, self.entry, start)
        batch: list[dict[str, Any]] = []
        pending = next(items, None)
        while pending is not None:
            record, offset, line = pending
            batch.append(record)
            pending = next(items, None)
            if len(batch) >= size and pending is not None:
                at = {"path": rel, "sha256": fp.sha256, "size": fp.size, "offset": offset, "line": line}
                yield Page(batch, state={"files": dict(done), "current": at})
                batch = []
        yield Page(batch, state={"files": {**done, rel: fp.state()}, "current": None})

    # -- records -----------------------------------------------------------------
    def record_id(self, record: dict[str, Any]) -> str:
        if record.get("error"):
            raise RejectError(str(record["error"]))
        rid = record.get("id")
        if rid is None or rid == "":
            cols = " + ".join(repr(c) for c in self.entry.id)
            raise RejectError(f"no id: {cols} {'is' if len(self.entry.id) == 1 else 'are'} empty")
        return str(rid)

    def reject_context(self, record: Any) -> str | None:
        if isinstance(record, Mapping) and "file" in record and "line" in record:
            return f"{record['file']} line {record['line']}"
        return None

    def normalize(self, record: dict[str, Any]) -> Iterable[Row]:
        if record.get("error"):
            raise RejectError(str(record["error"]))
        yield self.entry.table, build_row(self.entry, record.get("fields") or {}, str(record["id"]),
                                          self.connection)


class FilesConnector(Connector):
    """CSV and JSON-lines files: survey exports, cost sheets, account lists, spreadsheets."""

    name = "files"
    title = "CSV and JSON-lines files"
    category = "files"
    options = (
        Option("files", list, (), "the file entries, one table per file or glob: name, path, table, columns, "
                                  "values … (see the csconnect-files README)"),
        Option("base_dir", str, ".", "folder the paths are relative to; a relative base_dir is taken from "
                                     "the project folder (where csconnect.toml is)"),
        Option("page_size", int, 1000, "rows per page; a page commits whole with the stream state"),
    )
    streams = (FileStream,)        # a template: get_streams() makes one per configured entry

    def __init__(self, connection: str, settings: Mapping[str, Any], **kw: Any):
        super().__init__(connection, settings, **kw)
        size = self.settings.get("page_size")
        self.page_size = 1000 if size is None else int(size)
        if self.page_size < 1:
            raise ConfigError(f"connections.{connection}.page_size: must be 1 or more, got {self.page_size}")
        base = Path(self.settings.get("base_dir") or ".").expanduser()
        self.base_dir = base if base.is_absolute() else self.root / base
        self.entries = parse_entries(connection, self.settings.get("files"))

    def get_streams(self) -> list[Stream]:
        return [FileStream(self, e) for e in self.entries]

    def check(self) -> str | None:
        """Every entry matches readable files whose header has the mapped columns."""
        seen: set[Path] = set()
        streams = self.get_streams()
        for stream in streams:
            assert isinstance(stream, FileStream)
            for rel, path in stream.resolve():
                seen.add(path.resolve())
                try:
                    problem = _file_problem(stream.entry, path)
                except OSError as exc:
                    problem = f"cannot read it: {exc.strerror or exc}"
                except UnicodeDecodeError as exc:
                    problem = f"not valid {stream.entry.encoding} text ({exc.reason})"
                if problem:
                    raise stream.error(f"{rel}: {problem}")
        n, m = len(seen), len(streams)
        return f"{n} file{'s' * (n != 1)}, {m} stream{'s' * (m != 1)}"


def _file_problem(entry: FileEntry, path: Path) -> str | None:
    if entry.format == "jsonl":
        return first_jsonl_problem(path)
    header = csv_header(path, entry)
    if header is None:
        return None
    missing = missing_columns(header, entry.source_columns)
    if missing:
        return f"no column {', '.join(repr(m) for m in missing)} in the header (it has: {', '.join(header)})"
    return None
