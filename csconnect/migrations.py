"""Numbered schema migrations. Append only: a released migration never changes."""
from __future__ import annotations

import sqlite3
from typing import Callable

from .model import TABLES, create_table_sql

SYSTEM_SQL = [
    """CREATE TABLE IF NOT EXISTS _csconnect_state (
        connection TEXT NOT NULL, stream TEXT NOT NULL, state TEXT, updated_at TEXT,
        PRIMARY KEY (connection, stream))""",
    """CREATE TABLE IF NOT EXISTS _csconnect_runs (
        id INTEGER PRIMARY KEY, sync_id TEXT NOT NULL, connection TEXT NOT NULL, stream TEXT NOT NULL,
        started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL, full_refresh INTEGER DEFAULT 0,
        pages INTEGER DEFAULT 0, records INTEGER DEFAULT 0, rows INTEGER DEFAULT 0,
        rejects INTEGER DEFAULT 0, error TEXT)""",
    "CREATE INDEX IF NOT EXISTS idx_runs_connection ON _csconnect_runs (connection, stream, id)",
    """CREATE TABLE IF NOT EXISTS _csconnect_rejects (
        id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, connection TEXT NOT NULL, stream TEXT NOT NULL,
        record_id TEXT, table_name TEXT, reason TEXT NOT NULL, payload TEXT,
        first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, run_id INTEGER)""",
    "CREATE INDEX IF NOT EXISTS idx_rejects_record ON _csconnect_rejects (connection, stream, record_id)",
    """CREATE TABLE IF NOT EXISTS _csconnect_identity_conflicts (
        kind TEXT NOT NULL, value TEXT NOT NULL, members TEXT NOT NULL, resolution TEXT)""",
]

METRICS_SQL = [
    """CREATE TABLE IF NOT EXISTS metric_definitions (
        metric TEXT PRIMARY KEY, pack TEXT NOT NULL, title TEXT, unit TEXT, direction TEXT,
        definition TEXT)""",
    """CREATE TABLE IF NOT EXISTS metric_values (
        metric TEXT NOT NULL, grain TEXT NOT NULL, period_start TEXT NOT NULL, period_end TEXT NOT NULL,
        segment_by TEXT NOT NULL DEFAULT 'all', segment TEXT NOT NULL DEFAULT 'all', value REAL,
        numerator REAL, denominator REAL, computed_at TEXT,
        PRIMARY KEY (metric, grain, period_start, segment_by, segment))""",
    """CREATE TABLE IF NOT EXISTS account_metrics (
        account_id TEXT NOT NULL, metric TEXT NOT NULL, grain TEXT NOT NULL, period_start TEXT NOT NULL,
        value REAL, PRIMARY KEY (account_id, metric, grain, period_start))""",
    "CREATE INDEX IF NOT EXISTS idx_account_metrics_metric ON account_metrics (metric, grain, period_start)",
    """CREATE TABLE IF NOT EXISTS mrr_movements (
        account_id TEXT NOT NULL, month TEXT NOT NULL, kind TEXT NOT NULL, amount REAL NOT NULL,
        PRIMARY KEY (account_id, month, kind))""",
    """CREATE TABLE IF NOT EXISTS account_health (
        account_id TEXT PRIMARY KEY, as_of TEXT, score REAL, band TEXT, trend REAL, components TEXT,
        drivers TEXT)""",
    """CREATE TABLE IF NOT EXISTS account_health_history (
        account_id TEXT NOT NULL, as_of TEXT NOT NULL, score REAL, band TEXT,
        PRIMARY KEY (account_id, as_of))""",
]


def _v1(conn: sqlite3.Connection) -> None:
    for sql in SYSTEM_SQL + METRICS_SQL:
        conn.execute(sql)
    for table in TABLES.values():
        for sql in create_table_sql(table):
            conn.execute(sql)


ALERTS_SQL = [
    # One row per alert episode: a rule firing for an account (or for the company when account_id is
    # NULL). `key` identifies the episode, so a re-run that sees the same condition updates last_seen
    # instead of adding a row; when the condition clears, resolved_at is set and a later firing is new.
    """CREATE TABLE IF NOT EXISTS alerts (
        id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, rule TEXT NOT NULL, kind TEXT NOT NULL,
        account_id TEXT, severity TEXT NOT NULL DEFAULT 'warning', message TEXT NOT NULL,
        "values" TEXT, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, resolved_at TEXT)""",
    "CREATE INDEX IF NOT EXISTS idx_alerts_account ON alerts (account_id, first_seen)",
    # The outbox: one row per (alert, sink); a failed post stays 'pending' and is retried next time.
    """CREATE TABLE IF NOT EXISTS _csconnect_alert_deliveries (
        alert_id INTEGER NOT NULL, sink TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, last_attempt_at TEXT, sent_at TEXT,
        PRIMARY KEY (alert_id, sink))""",
    # KPI targets from [targets] in csconnect.toml, judged per period.
    """CREATE TABLE IF NOT EXISTS scorecard (
        metric TEXT NOT NULL, grain TEXT NOT NULL, period_start TEXT NOT NULL,
        segment_by TEXT NOT NULL DEFAULT 'all', segment TEXT NOT NULL DEFAULT 'all', value REAL,
        target REAL, at_risk REAL, operator TEXT NOT NULL, direction TEXT NOT NULL, status TEXT NOT NULL,
        computed_at TEXT, PRIMARY KEY (metric, grain, period_start, segment_by, segment))""",
]


def _v2(conn: sqlite3.Connection) -> None:
    for sql in ALERTS_SQL:
        conn.execute(sql)


MIGRATIONS: list[tuple[int, str, Callable[[sqlite3.Connection], None]]] = [
    (1, "canonical model v1, system and metrics tables", _v1),
    (2, "alerts, alert deliveries and the KPI scorecard", _v2),
]
