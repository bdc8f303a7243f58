"""Commands about customers: link, accounts."""
from __future__ import annotations

import json
from typing import Any

import click

from ..account_view import account_view
from ..errors import UsageError
from ..identity import link as link_accounts
from . import App, pass_app
from .metrics_cmds import format_value
from .output import format_option, render


def register(cli: click.Group) -> None:
    cli.add_command(link)
    cli.add_command(accounts)


@click.command()
@pass_app
def link(app: App) -> None:
    """Resolve account identity across sources (runs after every sync too)."""
    summary = link_accounts(app.store(), app.data_config, app.registry)
    click.echo(summary.line())


@click.command()
@click.argument("account", required=False)
@click.option("--conflicts", is_flag=True, help="Show identity conflicts instead.")
@click.option("--search", help="Only accounts whose name or domain contains this text.")
@click.option("--last", "limit", type=click.IntRange(1), default=50, show_default=True, help="At most N accounts.")
@format_option
@pass_app
def accounts(app: App, account: str | None, conflicts: bool, search: str | None, limit: int, fmt: str) -> None:
    """Resolved accounts with their linked sources; with ACCOUNT, one customer's view."""
    store = app.store()
    if conflicts:
        rows = store.query("SELECT kind, value, members, resolution FROM _csconnect_identity_conflicts "
                           "ORDER BY kind, value")
        for r in rows:
            r["members"] = ", ".join(json.loads(r["members"])) if fmt == "table" else json.loads(r["members"])
        render(rows, fmt, empty="no identity conflicts")
        return
    if account:
        _one(app, account, fmt)
        return
    where, params = "", []
    if search:
        where, params = "WHERE a.name LIKE ? OR a.domain LIKE ?", [f"%{search}%", f"%{search}%"]
    rows = store.query(
        "SELECT a.account_id, a.name, a.domain, a.segment, a.owner, a.seats, "
        "group_concat(l.source, ', ') AS sources FROM accounts a "
        f"LEFT JOIN account_links l ON l.account_id = a.account_id {where} "
        "GROUP BY a.account_id ORDER BY a.name LIMIT ?", params + [limit])
    render(rows, fmt, empty="no accounts yet; run `csconnect sync` (it links accounts afterwards)")


def _one(app: App, account: str, fmt: str) -> None:
    """One customer's 360° view: profile, sources, MRR, health, tickets, NPS, touch, alerts, renewal."""
    cur = app.data_config.reporting_currency
    view = account_view(app.store(), account, currency=cur)
    if fmt == "json":
        click.echo(json.dumps(view, indent=2, default=str))
        return
    if fmt == "csv":
        raise UsageError("one account's view has sections; use --format json (or table)")
    money = lambda v: format_value(v, "currency", cur)  # noqa: E731
    acc = view["profile"]
    head = f"{acc['name'] or acc['account_id']}  ({acc['account_id']})"
    h = view["health"]
    if h:
        trend = "" if h["trend"] is None else f", {h['trend']:+.1f} in 30 days"
        head += f"  ·  health {h['score']:.0f} {h['band']}{trend}"
    if view["mrr"]:
        head += f"  ·  MRR {money(view['mrr'][-1]['mrr'])}"
    click.echo(head)
    facts = [{"field": k, "value": acc[k]} for k in ("domain", "segment", "lifecycle_stage", "owner",
                                                     "industry", "country", "seats", "created_at") if acc.get(k)]
    render(facts, title="profile")
    render(view["links"], title="linked sources", empty="linked sources: none")
    held = ", ".join(f"{t} {n:,}" for t, n in view["rows"].items() if n)
    click.echo(f"rows: {held}" if held else "rows: none in any source table")
    _section("MRR, last 12 months")
    if view["mrr"]:
        rows, prev = [], None
        for m in view["mrr"]:
            change = "" if prev is None or m["mrr"] is None else _signed_money(m["mrr"] - prev, money)
            rows.append({"month": m["month"], "mrr": money(m["mrr"]), "change": change})
            prev = m["mrr"]
        render(rows)
    else:
        click.echo("  no MRR (the revenue pack has not run, or no billing data links to this account)")
    _section("health")
    if h:
        missing = f"; no data for {', '.join(h['missing'])}" if h["missing"] else ""
        trend = "no trend yet" if h["trend"] is None else f"{h['trend']:+.1f} over 30 days"
        click.echo(f"  {h['score']:.1f} ({h['band']}), {trend}, as of {h['as_of'][:10]}{missing}")
        for d in h["drivers"]:
            click.echo(f"  - {d}")
        if not h["drivers"]:
            click.echo("  nothing costs this account more than a point")
    else:
        click.echo("  no health score (run `csconnect metrics run` with the health pack installed)")
    _section("open tickets")
    tickets = view["open_tickets"]
    if tickets:
        render([{"opened": (t["created_at"] or "")[:10], "age": f"{t['age_days']:.0f} d" if t["age_days"] is not None
                 else "", "status": t["status"], "priority": t["priority"], "subject": t["subject"]}
                for t in tickets[:10]])
        if len(tickets) > 10:
            click.echo(f"  … and {len(tickets) - 10} more")
    else:
        click.echo("  none open")
    nps, touch = view["last_nps"], view["last_touch"]
    _section("last NPS answer")
    click.echo(f"  {nps['score']:g} ({nps['category']}) on {nps['responded_at'][:10]}"
               + (f": “{nps['comment']}”" if nps["comment"] else "") if nps else "  no NPS answer")
    _section("last touch")
    click.echo(f"  {touch['kind']} on {touch['occurred_at'][:10]} ({touch['days_ago']:.0f} days ago)"
               + (f" by {touch['owner']}" if touch["owner"] else "")
               + (f": {touch['subject']}" if touch["subject"] else "") if touch else "  no touch recorded")
    _section("open alerts")
    if view["alerts"]:
        render([{"severity": a["severity"], "rule": a["rule"], "since": (a["first_seen"] or "")[:10],
                 "message": a["message"]} for a in view["alerts"]])
    else:
        click.echo("  none")
    _section("renewal")
    r = view["renewal"]
    if r:
        ends = " — set to cancel at term end" if r["cancel_at_period_end"] else ""
        days = f" (in {r['days_to']:.0f} days)" if r["days_to"] is not None else ""
        what = r["plan"] or r["status"] or ""
        click.echo(f"  {r['date']}{days}, {r['source']} {r['ref_id']}" + (f" ({what})" if what else "") + ends)
    else:
        click.echo("  no upcoming renewal known (no annual term or open renewal deal)")


def _section(title: str) -> None:
    click.echo(f"\n{title}")


def _signed_money(delta: float, money: Any) -> str:
    if not delta:
        return ""
    return ("+" if delta > 0 else "-") + money(abs(delta))
