"""Run `csconnect sync` as a user does (a subprocess), and compare two databases row for row."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fault_server import Killer
from .vendors import Vendor

CLI = Path(sys.executable).with_name("csconnect")
HOOKED = Path(__file__).with_name("hooked_cli.py")
COMMAND = ("sync", "--format", "json")

# Columns that legitimately differ between two syncs of the same data: when a row was written
# (synced_at, in every raw and canonical table), when the identity pass wrote the golden
# record, when a state was saved, a migration applied, a reject first and last seen, and the
# run that last saw it (an interrupted run counts). Nothing else is left out.
TIME_COLUMNS = {"synced_at"}
PER_TABLE = {
    "accounts": {"updated_at"},
    "_csconnect_state": {"updated_at"},
    "_csconnect_migrations": {"applied_at"},
    "_csconnect_rejects": {"first_seen", "last_seen", "run_id"},
}
# Tables that record the history of runs, which differs by design (an interrupted run is recorded).
HISTORY = {"_csconnect_runs", "sqlite_sequence"}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def killed(self) -> bool:
        return self.returncode == -9


class Project:
    """A csconnect project folder with one connection pointing at a local server."""

    def __init__(self, folder: Path, vendor: Vendor, base_url: str):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.vendor = vendor
        self.config = folder / "csconnect.toml"
        self.config.write_text('database = "csconnect.db"\n\n' + vendor.toml(base_url), encoding="utf-8")
        self.db = folder / "csconnect.db"

    def run(self, *, hooks: dict[str, str] | None = None, killer: Killer | None = None,
            delay: float | None = None, timeout: float = 90) -> Run:
        """`csconnect --config … sync --format json`; `hooks` (hooked_cli.py's variables) run it through
        the hooked entry point; `killer` is told the pid; `delay` sends SIGKILL after that many seconds."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CSCONNECT_", "FAULTS_"))}
        env.update(self.vendor.env, PYTHONIOENCODING="utf-8", COLUMNS="120",
                   CSCONNECT_LOAD_PLUGINS=f"csconnect-{self.vendor.name}", **(hooks or {}))
        argv = [sys.executable, str(HOOKED)] if hooks else [str(CLI)]
        started = time.monotonic()
        proc = subprocess.Popen([*argv, "--config", str(self.config), *COMMAND], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env, cwd=self.folder)
        if killer is not None:
            killer.pid = proc.pid
        timer = threading.Timer(delay, _kill, (proc,)) if delay is not None else None
        if timer is not None:
            timer.start()
        try:
            out, err = proc.communicate(timeout=timeout)
        finally:
            if timer is not None:
                timer.cancel()
            if killer is not None:
                killer.pid = None
        return Run(proc.returncode, out, err, time.monotonic() - started)

    def streams(self, run: Run) -> dict[str, dict[str, Any]]:
        return {r["stream"]: r for r in json.loads(run.stdout)}


def _kill(proc: subprocess.Popen) -> None:
    import signal
    try:
        proc.send_signal(signal.SIGKILL)
    except ProcessLookupError:
        pass


def snapshot(db: Path, *, mask_state: tuple[str, ...] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """Every table but the run history, as sorted rows without the time-dependent columns.

    `mask_state` names keys of the saved stream states that hold a clock reading (Stripe's
    `since`: the server's Date when the backfill began), blanked before comparing.
    """
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        out = {}
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        for table in tables:
            if table in HISTORY:
                continue
            skip = TIME_COLUMNS | PER_TABLE.get(table, set())
            cols = [c[1] for c in conn.execute(f"PRAGMA table_info([{table}])") if c[1] not in skip]
            rows = [tuple(r) for r in conn.execute(f"SELECT {', '.join(f'[{c}]' for c in cols)} FROM [{table}]")]
            if table == "_csconnect_state" and mask_state:
                rows = [_masked(r, cols, mask_state) for r in rows]
            out[table] = sorted(rows, key=repr)
        return out
    finally:
        conn.close()


def _masked(row: tuple[Any, ...], cols: list[str], keys: tuple[str, ...]) -> tuple[Any, ...]:
    i = cols.index("state")
    state = json.loads(row[i])
    for key in keys:
        if key in state:
            state[key] = "<clock>"
    return row[:i] + (json.dumps(state, sort_keys=True),) + row[i + 1:]


def _show(rows: list[tuple], limit: int) -> str:
    shown = [repr(r)[:160] for r in rows[:limit]]
    return f"{len(rows)} {shown}" if rows else "none"


def differences(expected: dict[str, list[tuple]], got: dict[str, list[tuple]], limit: int = 3) -> list[str]:
    """What differs between two snapshots, in words (empty: identical)."""
    out = []
    for table in sorted(set(expected) | set(got)):
        a, b = expected.get(table), got.get(table)
        if a == b:
            continue
        if a is None or b is None:
            out.append(f"{table}: only in the {'first' if b is None else 'second'} database")
            continue
        missing = [r for r in a if r not in b]
        extra = [r for r in b if r not in a]
        dup = len(b) - len(set(b))
        out.append(f"{table}: {len(a)} rows expected, {len(b)} found; {dup} duplicated; "
                   f"missing {_show(missing, limit)}; unexpected {_show(extra, limit)}")
    return out


def counts(db: Path, tables: list[str]) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0] for t in tables}
    finally:
        conn.close()


def runs(db: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM _csconnect_runs ORDER BY id")]
    finally:
        conn.close()
