"""`csconnect report`: the dashboard as one self-contained HTML file."""
from __future__ import annotations

import click

from ..report import build_report
from . import App, pass_app


def register(cli: click.Group) -> None:
    cli.add_command(report)


@click.command()
@click.option("-o", "--output", "output", default="report.html", show_default=True,
              type=click.Path(dir_okay=False), help="The HTML file to write.")
@click.option("--segment", metavar="NAME", help="The segment the page shows first (the page can switch).")
@click.option("--months", default=24, show_default=True, type=click.IntRange(1, 240),
              help="How many months the charts show.")
@pass_app
def report(app: App, output: str, segment: str | None, months: int) -> None:
    """Write the dashboard: one HTML file that opens offline (KPIs, MRR, churn, NPS, health, renewals)."""
    path = build_report(app.store(), app.data_config, output, segment=segment, months=months)
    click.echo(f"report: {path}")
