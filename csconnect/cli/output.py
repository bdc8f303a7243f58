"""Printing results: a readable table on a terminal, csv or json for pipes."""
from __future__ import annotations

import csv
import json
import sys
from typing import Any, Iterable, Sequence

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

FORMATS = ("table", "csv", "json")

format_option = click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                             show_default=True, help="Output format.")


def console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    # A terminal gets its own width; a pipe or file gets wide lines rather than folded cells.
    width = None if stream.isatty() else 200
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=width)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return str(value)


def render(rows: Sequence[dict[str, Any]], fmt: str = "table", columns: Sequence[str] | None = None,
           title: str | None = None, empty: str = "nothing to show") -> None:
    """Print rows (dicts) as a rich table, CSV or JSON lines-free JSON array."""
    cols = list(columns or (rows[0].keys() if rows else []))
    if fmt == "json":
        click.echo(json.dumps([{c: r.get(c) for c in cols} for r in rows], indent=2, default=str))
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(cols)
        for r in rows:
            writer.writerow(["" if r.get(c) is None else r.get(c) for c in cols])
        return
    if not rows:
        click.echo(empty)
        return
    table = Table(title=title, show_lines=False, header_style="bold")
    for c in cols:
        numeric = all(isinstance(r.get(c), (int, float)) or r.get(c) is None for r in rows)
        table.add_column(c, justify="right" if numeric else "left", overflow="fold")
    for r in rows:
        table.add_row(*(escape(_cell(r.get(c))) for c in cols))
    console().print(table)


def echo_err(message: str) -> None:
    click.echo(message, err=True)


def join(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values)
