"""Commands a CS leader opens first: scorecard (KPIs against targets) and health (accounts by health)."""
from __future__ import annotations

from collections import Counter
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from ..account_view import BANDS, HEALTH_GROUPS, health_groups, health_ready, health_rows
from ..scorecard import evaluate, load_targets, select
from . import App, pass_app
from .metrics_cmds import format_value
from .output import console, format_option, render

STATUS_LOOK = {"on_track": ("✓", "green"), "at_risk": ("!", "yellow"), "off_track": ("✗", "red"),
               "no_data": ("–", "dim")}
BAND_STYLE = {"green": "green", "yellow": "yellow", "red": "red"}


def register(cli: click.Group) -> None:
    cli.add_command(scorecard)
    cli.add_command(health)


def format_target(operator: str, value: float, unit: str, currency: str) -> str:
    sign = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}[operator]
    return f"{sign} {format_value(value, unit, currency)}"


def period_label(grain: str, start: str) -> str:
    if grain == "month":
        return start[:7]
    if grain == "quarter":
        return f"{start[:4]}-Q{(int(start[5:7]) - 1) // 3 + 1}"
    return start


def _table(rows: list[dict[str, Any]], columns: list[str], styles: dict[str, str] | None = None) -> None:
    """A rich table whose cells in `styles` carry markup (the caller escaped the text)."""
    table = Table(show_lines=False, header_style="bold")
    for c in columns:
        table.add_column(c, justify="right" if c in ("value", "target", "score", "trend", "mrr", "accounts",
                                                        "green", "yellow", "red", "mean_score", "red_mrr")
                         else "left", overflow="fold")
    for r in rows:
        table.add_row(*(r.get(c, "") if c in (styles or {}) else escape("" if r.get(c) is None else str(r.get(c))) for c in columns))
    console().print(table)


@click.command()
@click.option("--period", metavar="PERIOD", help="Only this period: 2026-03 (month), 2026-Q2 or 2026-03-09.")
@click.option("--by", metavar="DIMENSION", help="Judge each segment of a dimension (segment, owner, plan, …).")
@click.option("--last", type=click.IntRange(1), default=1, show_default=True,
              help="The N most recent periods of each metric.")
@format_option
@pass_app
def scorecard(app: App, period: str | None, by: str | None, last: int, fmt: str) -> None:
    """KPIs against their [targets]: on track, at risk or off track, per period."""
    config = app.data_config
    if not config.targets:
        click.echo(f"no targets yet: add a [targets] table to {config.label}, e.g. nrr = \">= 110%\" "
                   "(see docs/scorecard.md)")
        return
    store = app.store()
    rows = [r for r in evaluate(store, load_targets(store, config, app.registry), by)
            if by or r["segment_by"] == "all"]
    rows = select(rows, period, None if period else last)
    if fmt != "table":
        render(rows, fmt, ["metric", "grain", "period_start", "period_end", "segment_by", "segment", "value",
                           "target", "at_risk", "operator", "direction", "status", "unit"])
        return
    if not rows:
        what = f" by {by}" if by else ""
        click.echo(f"no values{what} for the targeted metrics yet; run `csconnect metrics run`"
                   + (f" (or check that the packs break them down by {by})" if by else ""))
        return
    cur = config.reporting_currency
    fancy = console().is_terminal
    out = []
    for r in rows:
        mark, colour = STATUS_LOOK[r["status"]]
        words = r["status"].replace("_", " ")
        out.append({"metric": r["metric"], "period": period_label(r["grain"], r["period_start"]),
                    by or "": r["segment"], "value": format_value(r["value"], r["unit"], cur),
                    "target": format_target(r["operator"], r["target"], r["unit"], cur),
                    "status": f"[{colour}]{mark} {words}[/]" if fancy else words})
    _table(out, ["metric", "period"] + ([by] if by else []) + ["value", "target", "status"], {"status": ""})
    counts = Counter(r["status"] for r in rows)
    click.echo(", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in STATUS_LOOK if counts[s]))


@click.command()
@click.option("--band", type=click.Choice(BANDS), help="Only accounts in this band.")
@click.option("--by", type=click.Choice(HEALTH_GROUPS),
              help="Counts per band and mean score for each value of an account field.")
@click.option("--last", "limit", type=click.IntRange(1), default=50, show_default=True,
              help="At most N accounts (worst first).")
@format_option
@pass_app
def health(app: App, band: str | None, by: str | None, limit: int, fmt: str) -> None:
    """Accounts by health score, worst first, with the top reason; --by groups them."""
    store = app.store()
    if not health_ready(store):
        if fmt == "table":
            click.echo("no health scores yet: install the health pack (`csconnect install csconnect-pack-health`) "
                       "and run `csconnect metrics run`")
        else:
            render([], fmt)
        return
    cur = app.data_config.reporting_currency
    fancy = console().is_terminal and fmt == "table"
    if by:
        rows = health_groups(store, by, band)
        if fmt != "table":
            render(rows, fmt)
            return
        if not rows:
            click.echo("no scored accounts")
            return
        for r in rows:
            r["mrr"] = format_value(r["mrr"], "currency", cur)
            r["red_mrr"] = format_value(r["red_mrr"], "currency", cur)
            r["mean_score"] = f"{r['mean_score']:.1f}"
        _table(rows, list(rows[0]))
        return
    rows = health_rows(store, band, limit)
    if fmt != "table":
        render(rows, fmt, ["account_id", "name", "segment", "owner", "mrr", "score", "band", "trend", "driver",
                           "drivers", "as_of"])
        return
    if not rows:
        click.echo(f"no accounts in the {band} band" if band else "no scored accounts")
        return
    out = []
    for r in rows:
        band_text = escape(r["band"] or "")
        out.append({"account": escape(r["name"] or r["account_id"]), "segment": escape(r["segment"] or ""),
                    "mrr": escape(format_value(r["mrr"], "currency", cur)) if r["mrr"] is not None else "",
                    "score": f"{r['score']:.0f}" if r["score"] is not None else "",
                    "band": f"[{BAND_STYLE.get(r['band'], '')}]{band_text}[/]" if fancy and r["band"] else band_text,
                    "trend": "" if r["trend"] is None else f"{r['trend']:+.1f}",
                    "top driver": escape(r["driver"] or "")})
    cols = ["account", "segment", "mrr", "score", "band", "trend", "top driver"]
    _table(out, cols, {c: "" for c in cols})
    total = store.count("account_health", "band = ?", [band]) if band else store.count("account_health")
    if total > len(rows):
        click.echo(f"{len(rows)} of {total} accounts shown (worst first); --last N shows more")
