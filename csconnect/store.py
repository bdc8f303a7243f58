"""The SQLite store: one file, four layers (raw, canonical, metrics, system).

sqlite-utils does schema work; the hot path (a page of upserts) is prepared
`executemany` statements inside one transaction per page.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import sqlite_utils

from .connector import NAME_RE
from .errors import StoreError
from .migrations import MIGRATIONS
from .model import TABLES
from .redact import redact

MAX_REJECT_PAYLOAD = 1_000_000


def now_iso(precise: bool = False) -> str:
    """UTC now as ISO 8601 text; `precise` keeps microseconds (system columns)."""
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if precise else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.now(timezone.utc).strftime(fmt)


def raw_table_name(connection: str, stream: str) -> str:
    for part in (connection, stream):
        if not NAME_RE.match(part):
            raise StoreError(f"{part!r} is not a valid connection or stream name")
    return f"raw_{connection}__{stream}"


def quote(identifier: str) -> str:
    """Quote an identifier that has been checked against the model or NAME_RE."""
    if not identifier.replace("_", "a").isalnum():
        raise StoreError(f"refusing an unsafe SQL identifier {identifier!r}")
    return f"[{identifier}]"


@dataclass
class Reject:
    connection: str
    stream: str
    record_id: str | None
    table_name: str | None
    reason: str
    payload: str | None

    @property
    def key(self) -> str:
        ident = self.record_id if self.record_id is not None else \
            "#" + hashlib.sha1((self.payload or "").encode("utf-8", "replace")).hexdigest()
        return f"{self.connection}/{self.stream}/{ident}"


def dumps_payload(record: Any) -> str:
    try:
        text = json.dumps(record, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(record)
    if len(text) > MAX_REJECT_PAYLOAD:
        text = text[:MAX_REJECT_PAYLOAD] + f"… [truncated, {len(text)} characters in all]"
    return text


class Store:
    """One csconnect database. Use one Store per writer thread."""

    def __init__(self, path: str | os.PathLike[str], *, migrate: bool = True):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                        timeout=30)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA cache_size=-16000")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{self.path}: cannot open the database: {exc}") from None
        self.db = sqlite_utils.Database(self.conn)
        self._sql: dict[tuple[str, ...], str] = {}
        self._lock = threading.RLock()
        if migrate:
            self.migrate()

    # -- schema --------------------------------------------------------------
    def migrate(self) -> list[int]:
        self.conn.execute("""CREATE TABLE IF NOT EXISTS _csconnect_migrations (
            id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)""")
        done = {r[0] for r in self.conn.execute("SELECT id FROM _csconnect_migrations")}
        applied = []
        for number, name, apply in MIGRATIONS:
            if number in done:
                continue
            with self.transaction():
                apply(self.conn)
                self.conn.execute("INSERT INTO _csconnect_migrations VALUES (?, ?, ?)",
                                  (number, name, now_iso()))
            applied.append(number)
        return applied

    def ensure_raw_table(self, connection: str, stream: str) -> str:
        name = raw_table_name(connection, stream)
        self.conn.execute(f"""CREATE TABLE IF NOT EXISTS {quote(name)} (
            id TEXT PRIMARY KEY, data TEXT NOT NULL, cursor TEXT, synced_at TEXT NOT NULL)""")
        return name

    def close(self) -> None:
        self.conn.close()

    # -- transactions ----------------------------------------------------------
    def transaction(self) -> "_Tx":
        return _Tx(self)

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, params)
        cols = [d[0] for d in cur.description or ()]
        return [dict(zip(cols, row)) for row in cur]

    def iter_query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        yield from self.conn.execute(sql, params)

    def count(self, table: str, where: str = "", params: Sequence[Any] = ()) -> int:
        if not self.db[table].exists():
            return 0
        sql = f"SELECT count(*) FROM {quote(table)}" + (f" WHERE {where}" if where else "")
        return self.conn.execute(sql, params).fetchone()[0]

    # -- the hot path ------------------------------------------------------------
    def upsert_sql(self, table: str) -> str:
        """INSERT … ON CONFLICT(id) DO UPDATE for a canonical table; keeps the linked account_id."""
        key = ("canonical", table)
        if key not in self._sql:
            spec = TABLES[table]
            cols = spec.column_names
            updates = ", ".join(f"[{c}]=excluded.[{c}]" for c in cols if c not in ("id", "account_id"))
            self._sql[key] = (f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in cols)}) "
                              f"VALUES ({', '.join('?' * len(cols))}) ON CONFLICT(id) DO UPDATE SET {updates}")
        return self._sql[key]

    def write_page(self, *, run_id: int | None, connection: str, stream: str, raw_table: str | None,
                   raw_rows: Sequence[tuple[Any, ...]], rows: dict[str, list[tuple[Any, ...]]],
                   rejects: Sequence[Reject], state: dict[str, Any] | None, records: int,
                   clear_reject_ids: Sequence[str] = (), deletes: Sequence[tuple[str, str]] = (),
                   replaces: Sequence[tuple[str, str, Any, str]] = ()) -> None:
        """Write one page — raw rows, canonical rows, rejects, state, run counters — atomically.

        After the upserts, `replaces` (table, column, value, synced_at) drop this connection's
        rows matching column = value that this page did not rewrite (so rows it did rewrite
        keep their linked account_id), and `deletes` (table, id) remove rows. Tables and
        columns are checked against the model by the caller.
        """
        with self.transaction():
            c = self.conn
            if raw_table and raw_rows:
                c.executemany(
                    f"INSERT INTO {quote(raw_table)} (id, data, cursor, synced_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET data=excluded.data, cursor=excluded.cursor, "
                    "synced_at=excluded.synced_at", raw_rows)
            n_rows = 0
            for table, tuples in rows.items():
                if tuples:
                    c.executemany(self.upsert_sql(table), tuples)
                    n_rows += len(tuples)
            for table, column, value, synced_at in replaces:
                c.execute(f"DELETE FROM {quote(table)} WHERE source = ? AND {quote(column)} = ? AND synced_at != ?",
                          (connection, value, synced_at))
            for table, row_id in deletes:
                c.execute(f"DELETE FROM {quote(table)} WHERE id = ?", (row_id,))
            if clear_reject_ids:
                c.executemany("DELETE FROM _csconnect_rejects WHERE connection=? AND stream=? AND record_id=?",
                              [(connection, stream, rid) for rid in clear_reject_ids])
            if rejects:
                self._insert_rejects(rejects, run_id)
            if state is not None:
                self._set_state(connection, stream, state)
            if run_id is not None:
                c.execute("UPDATE _csconnect_runs SET pages=pages+1, records=records+?, rows=rows+?, "
                          "rejects=rejects+? WHERE id=?", (records, n_rows, len(rejects), run_id))

    def _insert_rejects(self, rejects: Iterable[Reject], run_id: int | None) -> None:
        ts = now_iso()
        self.conn.executemany(
            "INSERT INTO _csconnect_rejects (key, connection, stream, record_id, table_name, reason, payload, "
            "first_seen, last_seen, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
            "table_name=excluded.table_name, reason=excluded.reason, payload=excluded.payload, "
            "last_seen=excluded.last_seen, run_id=excluded.run_id",
            [(r.key, r.connection, r.stream, r.record_id, r.table_name, redact(r.reason), r.payload, ts, ts, run_id)
             for r in rejects])

    def has_rejects(self, connection: str, stream: str) -> bool:
        return self.conn.execute("SELECT 1 FROM _csconnect_rejects WHERE connection=? AND stream=? LIMIT 1",
                                 (connection, stream)).fetchone() is not None

    # -- state -------------------------------------------------------------------
    def get_state(self, connection: str, stream: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT state FROM _csconnect_state WHERE connection=? AND stream=?",
                                (connection, stream)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def _set_state(self, connection: str, stream: str, state: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO _csconnect_state VALUES (?, ?, ?, ?) ON CONFLICT(connection, stream) "
            "DO UPDATE SET state=excluded.state, updated_at=excluded.updated_at",
            (connection, stream, json.dumps(state, sort_keys=True, default=str), now_iso()))

    def set_state(self, connection: str, stream: str, state: dict[str, Any]) -> None:
        with self.transaction():
            self._set_state(connection, stream, state)

    def reset_state(self, connection: str | None = None, stream: str | None = None) -> int:
        where, params = [], []
        if connection:
            where.append("connection=?")
            params.append(connection)
        if stream:
            where.append("stream=?")
            params.append(stream)
        sql = "DELETE FROM _csconnect_state" + (" WHERE " + " AND ".join(where) if where else "")
        with self.transaction():
            return self.conn.execute(sql, params).rowcount

    # -- runs ----------------------------------------------------------------------
    def start_run(self, sync_id: str, connection: str, stream: str, full_refresh: bool) -> int:
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO _csconnect_runs (sync_id, connection, stream, started_at, status, full_refresh) "
                "VALUES (?, ?, ?, ?, 'running', ?)", (sync_id, connection, stream, now_iso(True), int(full_refresh)))
            return int(cur.lastrowid)  # type: ignore[arg-type]

    def finish_run(self, run_id: int, status: str, error: str | None = None) -> None:
        with self.transaction():
            self.conn.execute("UPDATE _csconnect_runs SET status=?, finished_at=?, error=? WHERE id=?",
                              (status, now_iso(True), redact(error) if error else None, run_id))

    def mark_interrupted(self) -> int:
        """Runs left 'running' by a process that died are 'interrupted'."""
        with self.transaction():
            return self.conn.execute(
                "UPDATE _csconnect_runs SET status='interrupted', "
                "error=coalesce(error, 'the process stopped before the run finished') "
                "WHERE status='running'").rowcount

    def run_started_at(self, run_id: int) -> str:
        return self.conn.execute("SELECT started_at FROM _csconnect_runs WHERE id=?", (run_id,)).fetchone()[0]

    # -- full refresh and rebuilds ----------------------------------------------------
    def prune_stream(self, connection: str, stream: str, raw_table: str | None, before: str) -> int:
        """Delete what a completed full refresh did not see again (rows synced before it started)."""
        removed = 0
        with self.transaction():
            if raw_table and self.db[raw_table].exists():
                removed += self.conn.execute(f"DELETE FROM {quote(raw_table)} WHERE synced_at < ?",
                                             (before,)).rowcount
            for table in TABLES.values():
                if table.common:
                    removed += self.conn.execute(
                        f"DELETE FROM [{table.name}] WHERE source=? AND source_stream=? AND synced_at < ?",
                        (connection, stream, before)).rowcount
        return removed


class _Tx:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception (re-entrant: nested = no-op)."""

    def __init__(self, store: Store):
        self.store = store
        self.outer = False

    def __enter__(self) -> sqlite3.Connection:
        self.store._lock.acquire()
        if not self.store.conn.in_transaction:
            self.store.conn.execute("BEGIN IMMEDIATE")
            self.outer = True
        return self.store.conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if self.outer:
                if exc_type is None:
                    self.store.conn.execute("COMMIT")
                else:
                    self.store.conn.execute("ROLLBACK")
        finally:
            self.store._lock.release()
