"""Commands that move data: sync, normalize, runs, state, rejects."""
from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..errors import UsageError
from ..sync import StreamResult, renormalize, run_sync
from . import App, pass_app
from .output import echo_err, format_option, render


def register(cli: click.Group) -> None:
    for command in (sync, normalize, runs, state, rejects):
        cli.add_command(command)


class RichProgress:
    """A live progress display on a terminal (stderr); nothing when piped."""

    def __init__(self) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
        from .output import console
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                 TextColumn("{task.fields[pages]} pages, {task.fields[records]} records"),
                                 TimeElapsedColumn(), console=console(stderr=True), transient=True)
        self.tasks: dict[tuple[str, str], Any] = {}

    def __enter__(self) -> "RichProgress":
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def stream_started(self, r: StreamResult) -> None:
        self.tasks[(r.connection, r.stream)] = self.progress.add_task(
            f"{r.connection}.{r.stream}", total=None, pages=0, records=0)

    def page_written(self, r: StreamResult) -> None:
        task = self.tasks.get((r.connection, r.stream))
        if task is not None:
            self.progress.update(task, pages=r.pages, records=r.records)

    def stream_finished(self, r: StreamResult) -> None:
        task = self.tasks.get((r.connection, r.stream))
        if task is not None:
            self.progress.update(task, description=f"{r.connection}.{r.stream} {r.status}", completed=1, total=1)


class _NoProgress:
    def __enter__(self) -> "_NoProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def stream_started(self, r: StreamResult) -> None:
        pass

    page_written = stream_finished = stream_started


def _summary(results: list[StreamResult], fmt: str) -> None:
    rows = [{"connection": r.connection, "stream": r.stream, "status": r.status, "pages": r.pages,
             "records": r.records, "rows": r.rows, "rejects": r.rejects, "seconds": r.seconds,
             **({"error": r.error} if fmt != "table" else {})} for r in results]
    render(rows, fmt, empty="no streams ran")
    if fmt == "table":
        for r in results:
            if r.error:
                echo_err(f"failed: {r.error}")
        rejected = sum(r.rejects for r in results)
        if rejected:
            echo_err(f"{rejected} record(s) rejected; see `csconnect rejects`")


@click.command()
@click.argument("connections", nargs=-1)
@click.option("--stream", "streams", multiple=True, help="Only this stream (repeatable).")
@click.option("--full-refresh", is_flag=True, help="Read everything again, ignoring saved state; "
              "rows the source no longer has are removed once the stream completes.")
@click.option("--concurrency", type=click.IntRange(1, 32), help="Streams fetched at once (default 4).")
@click.option("--no-link", is_flag=True, help="Skip identity resolution after the sync.")
@format_option
@pass_app
def sync(app: App, connections: tuple[str, ...], streams: tuple[str, ...], full_refresh: bool,
         concurrency: int | None, no_link: bool, fmt: str) -> None:
    """Sync connections (all by default): incremental from the saved state."""
    store = app.store()
    show = sys.stderr.isatty() and fmt == "table"
    with (RichProgress() if show else _NoProgress()) as progress:
        report = run_sync(store, app.config, app.registry, connections=connections or None,
                          streams=streams or None, full_refresh=full_refresh, concurrency=concurrency,
                          progress=progress)
    _summary(report.results, fmt)
    if not no_link and app.config.sync.get("link_after_sync", True):
        _link_after(app, fmt)
    if not report.ok:
        raise click.exceptions.Exit(1)


def _link_after(app: App, fmt: str) -> None:
    from ..identity import link
    summary = link(app.store(), app.config, app.registry)
    if fmt == "table":
        echo_err(summary.line())


@click.command()
@click.argument("connections", nargs=-1)
@format_option
@pass_app
def normalize(app: App, connections: tuple[str, ...], fmt: str) -> None:
    """Rebuild canonical tables from the raw layer, with no network."""
    results = renormalize(app.store(), app.config, app.registry, connections or None)
    _summary(results, fmt)


@click.command()
@click.option("--connection", help="Only this connection.")
@click.option("--last", "last", type=click.IntRange(1), default=20, show_default=True)
@format_option
@pass_app
def runs(app: App, connection: str | None, last: int, fmt: str) -> None:
    """Sync history, newest first."""
    where, params = ("WHERE connection = ?", [connection]) if connection else ("", [])
    rows = app.store().query(
        "SELECT id, sync_id, connection, stream, started_at, finished_at, status, pages, records, rows, "
        f"rejects, error FROM _csconnect_runs {where} ORDER BY id DESC LIMIT ?", params + [last])
    render(rows, fmt, empty="no runs yet; run `csconnect sync`")


@click.group()
def state() -> None:
    """Show or reset the saved sync state (cursors) of streams."""


@state.command("show")
@click.argument("connection", required=False)
@format_option
@pass_app
def state_show(app: App, connection: str | None, fmt: str) -> None:
    """Saved state per stream."""
    where, params = ("WHERE connection = ?", [connection]) if connection else ("", [])
    rows = app.store().query(f"SELECT connection, stream, state, updated_at FROM _csconnect_state {where} "
                             "ORDER BY connection, stream", params)
    for r in rows:
        r["state"] = json.loads(r["state"]) if fmt == "json" and r["state"] else r["state"]
    render(rows, fmt, empty="no saved state")


@state.command("reset")
@click.argument("connection", required=False)
@click.option("--stream", help="Only this stream.")
@click.option("--all", "all_", is_flag=True, help="Every connection.")
@pass_app
def state_reset(app: App, connection: str | None, stream: str | None, all_: bool) -> None:
    """Forget saved state so the next sync reads from the beginning (data is kept)."""
    if not connection and not all_:
        raise UsageError("name a connection, or pass --all to reset every stream's state")
    n = app.store().reset_state(connection, stream)
    click.echo(f"reset the state of {n} stream(s); the next sync reads them from the beginning")


@click.command()
@click.option("--connection", help="Only this connection.")
@click.option("--last", "last", type=click.IntRange(1), default=50, show_default=True)
@click.option("--payload", is_flag=True, help="Include the raw record.")
@format_option
@pass_app
def rejects(app: App, connection: str | None, last: int, payload: bool, fmt: str) -> None:
    """Records that could not be normalized, with the reason."""
    where, params = ("WHERE connection = ?", [connection]) if connection else ("", [])
    cols = "connection, stream, record_id, table_name, reason, last_seen" + (", payload" if payload else "")
    rows = app.store().query(f"SELECT {cols} FROM _csconnect_rejects {where} ORDER BY last_seen DESC, id DESC "
                             "LIMIT ?", params + [last])
    render(rows, fmt, empty="no rejected records")
