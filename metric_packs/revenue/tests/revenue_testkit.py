"""Build canonical billing rows by hand in a Workspace and read the revenue pack's output."""
from __future__ import annotations

import itertools
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import csconnect_pack_revenue.plugin as revenue_plugin
from csconnect.metrics import add_months, run_metrics
from csconnect.model import TABLES, validate_row
from csconnect.plugins import build_registry
from csconnect.testing import Workspace

SYNCED = "2030-01-01T00:00:00Z"


def ts(day: str, time: str = "00:00:00") -> str:
    """'2024-01-15' -> '2024-01-15T00:00:00Z' (a full timestamp passes through)."""
    return day if "T" in day else f"{day}T{time}Z"


def month_start(ym: str, n: int = 0) -> str:
    """'2024-01', 2 -> '2024-03-01T00:00:00Z'."""
    y, m = map(int, ym.split("-"))
    return add_months(date(y, m, 1), n).isoformat() + "T00:00:00Z"


class Books:
    """A tiny billing system: accounts, subscriptions, invoices, lines, deals, written as canonical rows."""

    def __init__(self, path: Path, source: str = "bill", **config: Any):
        config.setdefault("reporting_currency", "USD")
        self.ws = Workspace(path, **config)
        self.registry = build_registry([revenue_plugin], entry_points=False)
        self.source = source
        self.ids = itertools.count(1)
        self.results: list[Any] = []

    # -- writing -------------------------------------------------------------
    def add(self, table: str, source: str | None = None, **row: Any) -> str:
        source = source or self.source
        sid = row.pop("source_id", None) or f"{table[:3]}{next(self.ids)}"
        account = row.pop("account", None)
        full = {"id": f"{source}:{sid}", "source": source, "source_id": sid, "synced_at": SYNCED, **row}
        if account is not None:
            full.setdefault("account_id", account)
            full.setdefault("source_account_id", account)
        clean = validate_row(table, full)
        cols = [c for c in TABLES[table].column_names if c in clean]
        self.ws.store.conn.execute(
            f"INSERT INTO [{table}] ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [clean[c] for c in cols])
        return full["id"]

    def account(self, account_id: str, **attrs: Any) -> str:
        attrs.setdefault("created_at", "2023-06-01T00:00:00Z")
        cols = ["account_id", *attrs]
        self.ws.store.conn.execute(f"INSERT INTO accounts ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                   [account_id, *attrs.values()])
        return account_id

    def sub(self, account: str, *, status: str = "active", interval: str | None = "month", **kw: Any) -> str:
        return self.add("subscriptions", account=account, status=status, interval=interval, **kw)

    def invoice(self, account: str, *, status: str = "paid", currency: str = "USD", sub: str | None = None,
                amount_paid: int | None = None, created_at: str | None = None, **kw: Any) -> str:
        return self.add("invoices", account=account, status=status, currency=currency, subscription_id=sub,
                        amount_paid=amount_paid, created_at=created_at, **kw)

    def line(self, account: str, sub: str | None, start: str, end: str, amount: int, *, kind: str = "subscription",
             interval: str | None = "month", interval_count: int | None = None, currency: str = "USD",
             invoice: str | None = "auto", invoice_status: str = "paid", plan_id: str | None = None,
             quantity: int | None = None) -> str:
        if invoice == "auto":
            invoice = self.invoice(account, status=invoice_status, currency=currency, sub=sub,
                                   amount_paid=amount if invoice_status == "paid" else 0, created_at=ts(start))
        return self.add("invoice_lines", account=account, invoice_id=invoice, subscription_id=sub, kind=kind,
                        amount=amount, currency=currency, period_start=ts(start), period_end=ts(end),
                        interval=interval, interval_count=interval_count, plan_id=plan_id, quantity=quantity)

    def monthly(self, account: str, sub: str | None, first: str, months: int, amount: int, **kw: Any) -> None:
        """`months` consecutive monthly lines from the first day of month `first` ('2024-01')."""
        for i in range(months):
            self.line(account, sub, month_start(first, i), month_start(first, i + 1), amount, **kw)

    # -- running and reading -----------------------------------------------------
    def run(self, as_of: str, **params: Any) -> Any:
        self.ws.config.packs["revenue"] = params
        self.results = run_metrics(self.ws.store, self.ws.config, self.registry, ["revenue"], as_of=as_of)
        return self.results[0]

    def row(self, metric: str, month: str, seg_by: str = "all", seg: str = "all") -> dict[str, Any] | None:
        rows = self.ws.store.query(
            "SELECT * FROM metric_values WHERE metric = ? AND grain = 'month' AND period_start = ? "
            "AND segment_by = ? AND segment = ?", [metric, f"{month}-01", seg_by, seg])
        return rows[0] if rows else None

    def value(self, metric: str, month: str, seg_by: str = "all", seg: str = "all") -> Any:
        r = self.row(metric, month, seg_by, seg)
        assert r is not None, f"no {metric} row for {month} {seg_by}={seg}"
        return r["value"]

    def series(self, metric: str) -> dict[str, Any]:
        return {r["period_start"][:7]: r["value"] for r in self.ws.store.query(
            "SELECT period_start, value FROM metric_values WHERE metric = ? AND segment_by = 'all' "
            "ORDER BY period_start", [metric])}

    def movements(self, month: str | None = None) -> dict[str, tuple[str, float]]:
        sql = "SELECT account_id, month, kind, amount FROM mrr_movements"
        rows = self.ws.store.query(sql + (" WHERE month = ?" if month else ""), [f"{month}-01"] if month else [])
        return {r["account_id"] if month else f"{r['account_id']}@{r['month'][:7]}": (r["kind"], r["amount"])
                for r in rows}

    def account_mrr(self, account: str, month: str) -> float | None:
        rows = self.ws.store.query("SELECT value FROM account_metrics WHERE account_id = ? AND metric = 'mrr' "
                                   "AND period_start = ?", [account, f"{month}-01"])
        return rows[0]["value"] if rows else None


def utc(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
