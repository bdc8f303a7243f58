"""The sync engine: streams fetched concurrently, one writer, one transaction per page.

Producers (one thread per running stream, bounded) fetch and normalize pages and
hand them over a bounded queue; the calling thread is the only database writer.
A page's raw rows, canonical rows, rejects and the stream's new state commit
together, so a crash at any moment resumes from the last committed page.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

from .config import Config
from .connector import Connector, Delete, Page, Replace, Stream
from .errors import CsconnectError, RejectError, UsageError
from .model import CONNECTOR_TABLES, TABLES, coerce_value, validate_values
from .redact import redact
from .store import Reject, Store, dumps_payload, now_iso

log = logging.getLogger("csconnect.sync")
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
DEFAULT_CONCURRENCY = 4
MAX_PAGES_PER_COMMIT = 16


@dataclass
class StreamResult:
    connection: str
    stream: str
    status: str = "running"      # running | ok | failed | interrupted
    pages: int = 0
    records: int = 0
    rows: int = 0
    rejects: int = 0
    seconds: float = 0.0
    pruned: int = 0
    error: str | None = None
    run_id: int | None = None


@dataclass
class SyncReport:
    sync_id: str
    results: list[StreamResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.status == "ok" for r in self.results)


class Progress(Protocol):
    def stream_started(self, result: StreamResult) -> None: ...
    def page_written(self, result: StreamResult) -> None: ...
    def stream_finished(self, result: StreamResult) -> None: ...


@dataclass
class Batch:
    """What the writer needs from one page: ready-to-bind tuples."""

    raw_rows: list[tuple[Any, ...]] = field(default_factory=list)
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    good_ids: list[str] = field(default_factory=list)
    deletes: list[tuple[str, str]] = field(default_factory=list)
    replaces: list[tuple[str, str, Any, str]] = field(default_factory=list)
    records: int = 0
    state: dict[str, Any] | None = None


class Normalizer:
    """Turns records (and page rows) of one stream into validated canonical tuples."""

    def __init__(self, stream: Stream):
        self.stream = stream
        self.connection = stream.connection
        self.columns = {t: TABLES[t].column_names for t in CONNECTOR_TABLES}
        self.synced_at_index = {t: cols.index("synced_at") for t, cols in self.columns.items()}

    def batch(self, records: Iterable[dict[str, Any]], page_rows: Iterable[tuple[str, dict]] = (),
              state: dict[str, Any] | None = None) -> Batch:
        stream, b = self.stream, Batch(state=state)
        synced_at = now_iso(precise=True)
        for record in records:
            b.records += 1
            try:
                rid = stream.record_id(record)
                cursor = stream.cursor_value(record) if stream.store_raw else None
            except Exception as exc:   # a record without a usable id (or cursor) rejects that record only
                b.rejects.append(self._reject(None, None, _reason(exc), record))
                continue
            if stream.store_raw:
                b.raw_rows.append((rid, _encode(record),
                                   None if cursor is None else str(cursor), synced_at))
            table = None
            try:
                made, deletes, replaces = [], [], []
                for item in stream.normalize(record) or ():
                    if isinstance(item, Delete):
                        deletes.append((self._table(item.table), f"{self.connection}:{item.source_id}"))
                    elif isinstance(item, Replace):
                        if item.column not in TABLES[self._table(item.table)].column_names:
                            raise RejectError(f"{item.table} has no column {item.column!r} to replace by")
                        value = coerce_value(item.table, item.column, item.value)   # bindable, as stored
                        replaces.append((item.table, item.column, value, synced_at))
                    else:
                        table, row = item
                        made.append((table, self.row(table, row, synced_at)))
            except Exception as exc:  # any failure to map one record rejects that record only
                b.rejects.append(self._reject(rid, table, _reason(exc), record))
                continue
            b.good_ids.append(rid)
            b.deletes += deletes
            b.replaces += replaces
            for table, values in made:
                b.rows.setdefault(table, []).append(values)
        for table, row in page_rows:
            try:
                b.rows.setdefault(table, []).append(self.row(table, row, synced_at))
            except Exception as exc:
                rid = row.get("source_id") if isinstance(row, dict) else None
                b.rejects.append(self._reject(None if rid is None else str(rid), table, _reason(exc), row))
        return b

    def _table(self, table: str) -> str:
        if table not in self.columns:
            raise RejectError(f"{table!r} is not a canonical table a connector may write")
        return table

    def row(self, table: str, row: dict[str, Any], synced_at: str) -> tuple[Any, ...]:
        self._table(table)
        source_id = row.get("source_id")
        if source_id is None or source_id == "":
            raise RejectError(f"{table}: source_id is required")
        row = dict(row, id=f"{self.connection}:{source_id}", source=self.connection,
                   source_stream=self.stream.name, synced_at=synced_at[:19] + "Z")
        values = validate_values(table, row)
        values[self.synced_at_index[table]] = synced_at
        return tuple(values)

    def _reject(self, rid: str | None, table: str | None, reason: str, payload: Any) -> Reject:
        try:
            where = self.stream.reject_context(payload)
        except Exception:
            where = None
        return Reject(self.connection, self.stream.name, rid, table, f"{where}: {reason}" if where else reason,
                      dumps_payload(payload))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, CsconnectError):
        return str(exc)
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return f"the record does not have the shape the connector expects (normalize failed: {text[:300]})"


@dataclass
class _Task:
    connector: Connector
    stream: Stream
    result: StreamResult
    state: dict[str, Any] | None
    raw_table: str | None
    normalizer: Normalizer
    clear_rejects: bool
    started: float = 0.0


_DONE, _PAGE, _ERROR = "done", "page", "error"


def plan(config: Config, registry: Any, connections: Iterable[str] | None = None,
         streams: Iterable[str] | None = None, sleep: Callable[[float], None] = time.sleep
         ) -> list[tuple[Connector, list[Stream]]]:
    """The connectors and streams a sync will run, after checking the names asked for."""
    names = list(connections or config.connections)
    if not names:
        raise UsageError(f"{config.label}: no connections configured; add a [connections.NAME] table "
                         "(see `csconnect init`)")
    wanted = set(streams or ())
    out, seen = [], set()
    for name in names:
        if name not in config.connections:
            known = ", ".join(config.connections) or "none"
            raise UsageError(f"no connection named {name!r} in {config.label} (connections: {known})")
        cc = config.connections[name]
        cls = registry.connector(cc.connector)
        connector = cls(name, cc.settings, sleep=sleep, root=config.root)
        available = connector.get_streams()
        chosen = [s for s in available if not wanted or s.name in wanted]
        seen.update(s.name for s in available)
        out.append((connector, chosen))
    missing = wanted - seen
    if missing:
        raise UsageError(f"no stream named {', '.join(sorted(missing))} in "
                         f"{', '.join(names)} (streams: {', '.join(sorted(seen))})")
    return out


def run_sync(store: Store, config: Config, registry: Any, *, connections: Iterable[str] | None = None,
             streams: Iterable[str] | None = None, full_refresh: bool = False,
             concurrency: int | None = None, progress: Progress | None = None,
             sleep: Callable[[float], None] = time.sleep) -> SyncReport:
    """Sync the given connections (all by default); returns one result per stream."""
    work = plan(config, registry, connections, streams, sleep)
    store.mark_interrupted()
    report = SyncReport(uuid.uuid4().hex[:12])
    tasks = []
    for connector, chosen in work:
        for stream in chosen:
            result = StreamResult(connector.connection, stream.name)
            raw_table = store.ensure_raw_table(connector.connection, stream.name) if stream.store_raw else None
            state = None if full_refresh else store.get_state(connector.connection, stream.name)
            result.run_id = store.start_run(report.sync_id, connector.connection, stream.name, full_refresh)
            tasks.append(_Task(connector, stream, result, state, raw_table, Normalizer(stream),
                               store.has_rejects(connector.connection, stream.name)))
            report.results.append(result)
    try:
        _execute(store, tasks, concurrency or int(config.sync.get("concurrency", DEFAULT_CONCURRENCY)),
                 progress, full_refresh)
    finally:
        for connector, _ in work:
            connector.close()
    return report


def _execute(store: Store, tasks: list[_Task], concurrency: int, progress: Progress | None,
             full_refresh: bool) -> None:
    q: queue.Queue[tuple[str, _Task, Any]] = queue.Queue(maxsize=max(2, concurrency * 2))
    stop = threading.Event()

    def put(item: tuple[str, _Task, Any]) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce(task: _Task) -> None:
        task.started = time.monotonic()
        if progress:
            progress.stream_started(task.result)
        try:
            for page in task.stream.pages(task.state):
                if not isinstance(page, Page):
                    raise CsconnectError(f"{task.result.connection}.{task.result.stream}: pages() yielded "
                                         f"{type(page).__name__}, not csconnect.Page")
                if not put((_PAGE, task, task.normalizer.batch(page.records, page.rows, page.state))):
                    return
            put((_DONE, task, None))
        except BaseException as exc:  # reported by the writer; other streams go on
            put((_ERROR, task, exc))

    pending = len(tasks)
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="csconnect-sync") as pool:
        for task in tasks:
            pool.submit(produce, task)
        try:
            waiting: list[tuple[str, _Task, Any]] = []
            while pending:
                kind, task, payload = waiting.pop(0) if waiting else q.get()
                r = task.result
                if kind == _PAGE:
                    # Pages already waiting commit together: fewer commits, each page still whole.
                    pages = [(task, payload)]
                    while len(pages) < MAX_PAGES_PER_COMMIT and not waiting:
                        try:
                            item = q.get_nowait()
                        except queue.Empty:
                            break
                        if item[0] == _PAGE:
                            pages.append((item[1], item[2]))
                        else:
                            waiting.append(item)
                    with store.transaction():
                        for t, batch in pages:
                            _write(store, t, batch)
                    if progress:
                        for t, _ in pages:
                            progress.page_written(t.result)
                    continue
                pending -= 1
                r.seconds = round(time.monotonic() - task.started, 3)
                if kind == _DONE:
                    _complete(store, task, full_refresh)
                else:
                    r.status, r.error = "failed", redact(_describe(payload, r))
                    log.error("%s", r.error)
                    store.finish_run(r.run_id, "failed", r.error)  # type: ignore[arg-type]
                if progress:
                    progress.stream_finished(r)
        except BaseException:
            stop.set()
            for task in tasks:
                if task.result.status == "running":
                    task.result.status = "interrupted"
                    store.finish_run(task.result.run_id, "interrupted",  # type: ignore[arg-type]
                                     "stopped before the stream finished")
            raise


def _write(store: Store, task: _Task, batch: Batch) -> None:
    r = task.result
    store.write_page(run_id=r.run_id, connection=r.connection, stream=r.stream, raw_table=task.raw_table,
                     raw_rows=batch.raw_rows, rows=batch.rows, rejects=batch.rejects, state=batch.state,
                     records=batch.records, clear_reject_ids=batch.good_ids if task.clear_rejects else (),
                     deletes=batch.deletes, replaces=batch.replaces)
    r.pages += 1
    r.records += batch.records
    r.rows += sum(len(v) for v in batch.rows.values())
    r.rejects += len(batch.rejects)


def _complete(store: Store, task: _Task, full_refresh: bool) -> None:
    r = task.result
    if full_refresh:
        r.pruned = store.prune_stream(r.connection, r.stream, task.raw_table, store.run_started_at(r.run_id))
    if not task.stream.incremental:
        store.reset_state(r.connection, r.stream)   # a full-table stream starts over next time
    r.status = "ok"
    store.finish_run(r.run_id, "ok")  # type: ignore[arg-type]


def _describe(exc: BaseException, r: StreamResult) -> str:
    if isinstance(exc, CsconnectError):
        text = str(exc)
        return text if text.startswith(r.connection) else f"{r.connection}.{r.stream}: {text}"
    return " ".join(f"{r.connection}.{r.stream}: {type(exc).__name__}: {exc}".split())   # one line


def renormalize(store: Store, config: Config, registry: Any, connections: Iterable[str] | None = None,
                chunk: int = 2000) -> list[StreamResult]:
    """Rebuild canonical rows from raw tables (no network); one transaction per stream."""
    results = []
    for connector, streams in plan(config, registry, connections):
        for stream in streams:
            if not stream.store_raw:
                continue
            r = StreamResult(connector.connection, stream.name)
            raw_table = store.ensure_raw_table(connector.connection, stream.name)
            started = time.monotonic()
            normalizer = Normalizer(stream)
            with store.transaction() as conn:
                for table in CONNECTOR_TABLES:
                    conn.execute(f"DELETE FROM [{table}] WHERE source=? AND source_stream=?",
                                 (connector.connection, stream.name))
                conn.execute("DELETE FROM _csconnect_rejects WHERE connection=? AND stream=? "
                             "AND record_id IS NOT NULL", (connector.connection, stream.name))
                cursor = conn.execute(f"SELECT data FROM [{raw_table}] ORDER BY rowid")
                while True:
                    chunk_rows = cursor.fetchmany(chunk)
                    if not chunk_rows:
                        break
                    batch = normalizer.batch([json.loads(d) for (d,) in chunk_rows])
                    store.write_page(run_id=None, connection=r.connection, stream=r.stream, raw_table=None,
                                     raw_rows=(), rows=batch.rows, rejects=batch.rejects, state=None,
                                     records=batch.records, deletes=batch.deletes, replaces=batch.replaces)
                    r.records += batch.records
                    r.rows += sum(len(v) for v in batch.rows.values())
                    r.rejects += len(batch.rejects)
            r.status, r.seconds = "ok", round(time.monotonic() - started, 3)
            results.append(r)
        connector.close()
    return results
