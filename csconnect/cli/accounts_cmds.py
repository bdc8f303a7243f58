"""Commands about customers: link, accounts."""
from __future__ import annotations

import json

import click

from ..errors import UsageError
from ..identity import link as link_accounts
from ..model import CONNECTOR_TABLES
from . import App, pass_app
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
    store = app.store()
    found = store.query("SELECT * FROM accounts WHERE account_id = ? OR lower(name) = lower(?) OR domain = ?",
                        [account, account, account.lower()])
    if not found:
        raise UsageError(f"no account {account!r}; `csconnect accounts --search TEXT` finds one")
    acc = found[0]
    links = store.query("SELECT source, source_account_id, rule, confidence FROM account_links "
                        "WHERE account_id = ? ORDER BY source", [acc["account_id"]])
    counts = {t: store.count(t, "account_id = ?", [acc["account_id"]]) for t in CONNECTOR_TABLES
              if t != "source_accounts"}
    if fmt != "table":
        render([{**acc, "links": links, "rows": counts}], fmt)
        return
    click.echo(f"{acc['name'] or acc['account_id']}  ({acc['account_id']})")
    facts = [{"field": k, "value": acc[k]} for k in ("domain", "segment", "lifecycle_stage", "owner",
                                                     "industry", "country", "seats", "created_at") if acc[k]]
    render(facts, title="profile")
    render(links, title="linked sources")
    render([{"table": t, "rows": n} for t, n in counts.items() if n], title="history")
