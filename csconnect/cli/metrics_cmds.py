"""Commands for KPIs: metrics run/list, kpi."""
from __future__ import annotations

import sys
from typing import Any

import click

from ..metrics import DIMENSIONS, GRAINS, kpi_rows, run_metrics
from ..money import format_money
from . import App, pass_app
from .output import echo_err, format_option, render


def register(cli: click.Group) -> None:
    cli.add_command(metrics)
    cli.add_command(kpi)


@click.group()
def metrics() -> None:
    """Compute KPIs and health with the installed metric packs."""


@metrics.command("run")
@click.argument("packs", nargs=-1)
@click.option("--as-of", help="Compute as of this date (YYYY-MM-DD = end of that day, UTC); default now.")
@format_option
@pass_app
def metrics_run(app: App, packs: tuple[str, ...], as_of: str | None, fmt: str) -> None:
    """Run metric packs (all installed by default) in dependency order."""
    show = sys.stderr.isatty() and fmt == "table"
    results = run_metrics(app.store(), app.data_config, app.registry, packs or None, as_of,
                          progress=(lambda name: echo_err(f"running {name} …")) if show else None)
    rows = [{"pack": r.pack, "status": r.status, "values": r.values, "account_values": r.account_values,
             "seconds": r.seconds, "reason": r.reason} for r in results]
    render(rows, fmt, empty="no metric packs installed; try `csconnect install csconnect-pack-revenue`")
    if any(r.status == "failed" for r in results):
        raise click.exceptions.Exit(1)


@metrics.command("list")
@format_option
@pass_app
def metrics_list(app: App, fmt: str) -> None:
    """Every metric of every installed pack, with its unit and definition."""
    rows = [{"metric": m.name, "pack": name, "title": m.title, "unit": m.unit, "direction": m.direction,
             "definition": m.definition}
            for name, reg in sorted(app.registry.packs.items()) for m in reg.cls.metrics]  # type: ignore[attr-defined]
    cols = ["metric", "pack", "title", "unit", "direction"] + (["definition"] if fmt != "table" else [])
    render(rows, fmt, cols, empty="no metric packs installed")


def format_value(value: Any, unit: str, currency: str) -> str:
    if value is None:
        return "—"
    if unit == "currency":
        return format_money(value, currency)
    if unit == "percent":
        return f"{value * 100:.1f}%"
    if unit == "count":
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if unit == "seconds":
        return _duration(value)
    return f"{value:,.2f}"


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


@click.command()
@click.argument("metric_names", nargs=-1)
@click.option("--grain", type=click.Choice(GRAINS), default="month", show_default=True)
@click.option("--by", metavar="DIMENSION",
              help=f"Break down by a dimension ({', '.join(DIMENSIONS)}, plan, channel, … as the packs write).")
@click.option("--last", type=click.IntRange(1), help="Only the N most recent periods.")
@format_option
@pass_app
def kpi(app: App, metric_names: tuple[str, ...], grain: str, by: str | None, last: int | None, fmt: str) -> None:
    """Print KPI values: one row per period (and segment), one column per metric."""
    rows = kpi_rows(app.store(), metric_names, grain, by, last)
    if fmt != "table":
        render(rows, fmt, ["metric", "period_start", "period_end", "segment_by", "segment", "value",
                           "numerator", "denominator", "unit"])
        return
    if not rows:
        click.echo("no KPI values yet; run `csconnect metrics run`")
        return
    order = list(metric_names) or list(dict.fromkeys(r["metric"] for r in rows))
    wide: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["period_start"], r["segment"])
        line = wide.setdefault(key, {"period": r["period_start"][:7] if grain in ("month", "quarter")
                                     else r["period_start"], **({by: r["segment"]} if by else {})})
        line[r["metric"]] = format_value(r["value"], r["unit"], app.data_config.reporting_currency)
    cols = ["period"] + ([by] if by else []) + [m for m in order if any(m in w for w in wide.values())]
    render(list(wide.values()), "table", cols)
