"""Commands for alerts: list them, send what is pending, post a test alert."""
from __future__ import annotations

from datetime import date

import click

from ..errors import UsageError
from . import App, pass_app
from .output import echo_err, format_option, render


def register(cli: click.Group) -> None:
    cli.add_command(alerts)


@click.group(invoke_without_command=True)
@click.option("--all", "show_all", is_flag=True, help="Also list resolved alerts.")
@click.option("--account", help="Only this account (its id, or part of its name).")
@click.option("--rule", help="Only alerts of this rule.")
@click.option("--since", help="Only alerts first seen on or after this date (YYYY-MM-DD).")
@format_option
@click.pass_context
def alerts(ctx: click.Context, show_all: bool, account: str | None, rule: str | None, since: str | None,
           fmt: str) -> None:
    """Alerts found by the rules in [alerts] (open ones by default), newest first."""
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.find_object(App)
    if since:
        try:
            date.fromisoformat(since)
        except ValueError:
            raise UsageError(f"--since {since!r} is not a date (YYYY-MM-DD)") from None
    from ..alerts import list_alerts
    rows = list_alerts(app.store(), include_resolved=show_all, account=account, rule=rule, since=since)
    if fmt == "table":
        for r in rows:
            r["first_seen"] = (r["first_seen"] or "")[:10]
            r["last_seen"] = (r["last_seen"] or "")[:10]
            r["resolved_at"] = (r["resolved_at"] or "")[:10] or None
        cols = ["id", "severity", "rule", "message", "first_seen", "last_seen"]
        cols += ["resolved_at"] if show_all else []
        cols += ["delivery"] if any(r["delivery"] for r in rows) else []
    else:
        cols = ["id", "severity", "rule", "kind", "account_id", "account", "message", "values", "first_seen",
                "last_seen", "resolved_at", "delivery"]
    has_rules = bool(app.data_config.alerts.get("rules"))
    empty = ("no open alerts" if has_rules else
             "no alerts: add rules under [alerts] in csconnect.toml (see docs/alerts.md), then `csconnect metrics run`")
    render(rows, fmt, cols, empty=empty)


@alerts.command("send")
@click.argument("sinks", nargs=-1)
@format_option
@pass_app
def alerts_send(app: App, sinks: tuple[str, ...], fmt: str) -> None:
    """Send pending (and failed) alert deliveries now; SINK… limits it to those sinks."""
    from ..alert_delivery import deliver
    from ..alerts import parse_alerts
    settings = parse_alerts(app.data_config)
    if not settings.sinks:
        raise UsageError("no alert sinks configured: add [alerts.sinks.NAME] to csconnect.toml (see docs/alerts.md)")
    results = deliver(app.store(), app.data_config, app.registry, settings=settings, sinks=list(sinks) or None,
                      include_failed=True)
    rows = [{"sink": r.sink, "sent": r.sent, "pending": r.pending, "failed": r.failed, "error": r.error}
            for r in results]
    render(rows, fmt)
    if fmt == "table" and not any(r.sent or r.pending or r.failed for r in results):
        echo_err("nothing was waiting to be sent")
    if any(r.pending or r.failed for r in results):
        raise click.exceptions.Exit(1)


@alerts.command("test")
@click.argument("sink")
@pass_app
def alerts_test(app: App, sink: str) -> None:
    """Post a test alert to SINK (a name under [alerts.sinks]); nothing is recorded."""
    from ..alert_delivery import send_test
    send_test(app.data_config, app.registry, sink)
    click.echo(f"sent a test alert to {sink}")
