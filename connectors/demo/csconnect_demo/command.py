"""`csconnect demo`: the whole pipeline — sync, link, metrics — on the simulated company."""
from __future__ import annotations

import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from csconnect import CsconnectError, Project
from csconnect.model import CONNECTOR_TABLES

from .clock import last_complete_month, parse_month

PARTS = ("billing", "crm", "helpdesk", "product")
HEADLINES = [  # (metric, label) shown when the pack that makes it is installed
    ("mrr", "MRR"), ("arr", "ARR"), ("customers", "Customers"), ("customer_churn_rate", "Customer churn"),
    ("nrr", "NRR (12 months)"), ("grr", "GRR (12 months)"), ("quick_ratio", "Quick ratio"),
    ("csat", "CSAT"), ("nps", "NPS"), ("first_contact_resolution_rate", "First-contact resolution"),
    ("dau_mau", "DAU/MAU"), ("seat_utilisation", "Seat utilisation"), ("health_score_mean", "Mean health score"),
]


# KPI targets for the scorecard (csconnect scorecard) and alert rules (csconnect alerts) of the demo company.
TARGETS_TOML = """
# KPI targets: `csconnect scorecard` shows each month on track, at risk or off track.
[targets]
nrr = ">= 110%"
grr = ">= 90%"
csat = ">= 85%"
nps = ">= 30"
first_reply_seconds_median = "<= 4h"
dau_mau = ">= 12%"

[targets.first_contact_resolution_rate]
min = "40%"
at_risk = "33%"

[targets.customer_churn_rate]
max = "2%"
at_risk = "3%"
segment_by = "segment"
"""
ALERTS_TOML = """
# Alert rules: evaluated after every `csconnect metrics run`; `csconnect alerts` lists the open ones.
[[alerts.rules]]
name = "health_low"
kind = "score_below"
threshold = 65
severity = "critical"

[[alerts.rules]]
name = "health_drop"
kind = "score_drop"
points = 10
days = 30

[[alerts.rules]]
name = "band_worse"
kind = "band_change"
to = ["yellow", "red"]

[[alerts.rules]]
name = "detractor"
kind = "nps_detractor"
max_score = 6
days = 30

[[alerts.rules]]
name = "mrr_down"
kind = "mrr_contraction"
percent = 20

[[alerts.rules]]
name = "usage_down"
kind = "usage_drop"
percent = 50

# To post new alerts to Slack, create an incoming webhook, export SLACK_WEBHOOK_URL and uncomment:
# [alerts.sinks.slack]
# type = "webhook"
# url = "${SLACK_WEBHOOK_URL}"
# min_severity = "warning"
"""


def config_text(accounts: int, seed: int, end_month: str) -> str:
    lines = [
        "# The csconnect demo company: four systems of one simulated B2B SaaS business.",
        "# Each connection plays one of them, with its own ids; `csconnect link` joins them.",
        'database = "csconnect.db"',
        'reporting_currency = "USD"',
        "",
        "[fx_rates]",
        "EUR = 1.08",
        "",
    ]
    for part in PARTS:
        lines += [f"[connections.demo_{part}]", 'connector = "demo"', f'part = "{part}"', f"seed = {seed}",
                  f"accounts = {accounts}", f'end_month = "{end_month}"', ""]
    return "\n".join(lines) + TARGETS_TOML + ALERTS_TOML


def _last_day(month: str) -> str:
    year, mon = parse_month(month)
    nxt = (year + mon // 12, mon % 12 + 1)
    return (date(nxt[0], nxt[1], 1) - timedelta(days=1)).isoformat()


def format_headline(value: Any, unit: str, currency: str) -> str:
    from csconnect.cli.metrics_cmds import format_value
    return format_value(value, unit, currency)


@click.command()
@click.option("--dir", "directory", default="csconnect-demo", show_default=True,
              type=click.Path(file_okay=False), help="Project folder to create or update.")
@click.option("--accounts", default=300, show_default=True, type=click.IntRange(5, 5000))
@click.option("--seed", default=42, show_default=True, type=int)
@click.option("--end-month", default="", help="Last simulated month, YYYY-MM (default: last month).")
@click.option("--fresh", is_flag=True, help="Delete the demo database first.")
def demo(directory: str, accounts: int, seed: int, end_month: str, fresh: bool) -> None:
    """The whole pipeline on a built-in simulated company (no credentials needed)."""
    end = end_month or "%d-%02d" % last_complete_month()
    try:
        parse_month(end)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--end-month") from None
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    (root / "csconnect.toml").write_text(config_text(accounts, seed, end), encoding="utf-8")
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            (root / f"csconnect.db{suffix}").unlink(missing_ok=True)
    say = lambda text: click.echo(text, err=True)  # noqa: E731
    started = time.monotonic()
    with Project(root / "csconnect.toml") as project:
        say(f"syncing the demo company ({accounts} accounts, 24 months to {end}) into {project.database} …")
        report = project.sync()
        for r in report.results:
            if r.status != "ok":
                raise CsconnectError(f"demo sync failed: {r.error}")
        records = sum(r.records for r in report.results)
        rows = sum(r.rows for r in report.results)
        say(f"  {len(report.results)} streams, {records:,} records, {rows:,} canonical rows")
        say("  " + project.link().line())
        as_of = _last_day(end)
        say(f"running metric packs as of {as_of} …")
        for r in project.run_metrics(as_of=as_of):
            say(f"  {r.pack}: {r.status}" + (f" ({r.reason})" if r.reason else f", {r.values:,} values"))
        _print_tables(project)
        _print_headlines(project)
        report_path = project.report(root / "report.html")  # the dashboard (csconnect report)
    say(f"done in {time.monotonic() - started:.0f} s. Try:\n  cd {root}\n"
        "  csconnect kpi mrr customers customer_churn_rate --last 6\n"
        "  csconnect accounts --search labs")
    click.echo(f"report: {report_path}")


def _print_tables(project: Project) -> None:
    counts = {t: project.count(t) for t in ("accounts",) + CONNECTOR_TABLES}
    width = max(len(t) for t in counts)
    click.echo("tables")
    for table, n in counts.items():
        click.echo(f"  {table:<{width}}  {n:>9,}")


def _print_headlines(project: Project) -> None:
    units = {r["metric"]: r["unit"] for r in project.store.query("SELECT metric, unit FROM metric_definitions")}
    shown = [(m, label) for m, label in HEADLINES if m in units]
    if not shown:
        click.echo("no metric packs installed: install csconnect-pack-revenue, -support and -usage for KPIs")
        return
    click.echo("headline numbers (latest complete month)")
    for metric, label in shown:
        rows = project.kpi([metric], last=1)
        value = rows[-1]["value"] if rows else None
        click.echo(f"  {label:<26} {format_headline(value, units[metric], project.config.reporting_currency)}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(demo())
