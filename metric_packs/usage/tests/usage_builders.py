"""Canonical rows for usage-pack tests, written through the store like a sync followed by `link`."""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from csconnect.metrics import run_metrics
from csconnect.model import TABLES, validate_row
from csconnect.plugins import build_registry
from csconnect.testing import Workspace

import csconnect_pack_usage.plugin as usage_plugin

SYNCED = "2026-05-01T00:00:00Z"


class Company:
    """A small customer base in a Workspace: accounts, invoice lines, usage_daily rows."""

    def __init__(self, tmp_path: Any):
        self.ws = Workspace(tmp_path, registry=build_registry([usage_plugin], entry_points=False))
        self.store = self.ws.store
        self._n = 0

    def _put(self, table: str, row: dict[str, Any]) -> None:
        clean = validate_row(table, row)
        with self.store.transaction() as conn:
            conn.execute(self.store.upsert_sql(table), tuple(clean.get(c) for c in TABLES[table].column_names))

    def _common(self, source: str, source_id: str, account: str | None, stream: str) -> dict[str, Any]:
        return {"id": f"{source}:{source_id}", "source": source, "source_id": source_id,
                "source_account_id": f"ext_{account or 'unknown'}", "account_id": account,
                "source_stream": stream, "synced_at": SYNCED}

    def account(self, account_id: str, segment: str | None = None, seats: int | None = None,
                created_at: str = "2025-06-01T00:00:00Z") -> None:
        with self.store.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO accounts (account_id, name, segment, seats, created_at) "
                         "VALUES (?, ?, ?, ?, ?)", (account_id, account_id.title(), segment, seats, created_at))

    def use(self, account: str | None, user: str, day: str, events: int | None = 1, sessions: int | None = None,
            seconds: int | None = None, features: list[str] | None = None, source: str = "mixpanel") -> None:
        sid = f"{user}:{day}"
        self._put("usage_daily", {**self._common(source, sid, account, "events"), "user_id": user, "day": day,
                                  "events": events, "sessions": sessions, "active_seconds": seconds,
                                  "features": json.dumps(features) if features is not None else None})

    def line(self, account: str, plan: str, quantity: int, start: str, end: str, amount: int | None = None,
             kind: str = "subscription", invoice_status: str = "paid", subscription: str | None = None) -> None:
        """One invoice line (with its invoice) billed to `account` for the period [start, end)."""
        self._n += 1
        inv = f"in_{self._n}"
        amount = quantity * 1000 if amount is None else amount
        sub = subscription or f"sub_{account}"
        common = self._common("stripe", inv, account, "invoices")
        self._put("invoices", {**common, "subscription_id": f"stripe:{sub}", "status": invoice_status,
                               "currency": "USD", "amount_paid": amount if invoice_status == "paid" else 0,
                               "created_at": f"{start}T00:00:00Z", "paid_at": f"{start}T01:00:00Z"
                               if invoice_status == "paid" else None})
        self._put("invoice_lines", {**self._common("stripe", f"il_{self._n}", account, "invoices"),
                                    "invoice_id": f"stripe:{inv}", "subscription_id": f"stripe:{sub}",
                                    "kind": kind, "plan_id": plan, "quantity": quantity,
                                    "amount": amount, "currency": "USD",
                                    "period_start": f"{start}T00:00:00Z", "period_end": f"{end}T00:00:00Z",
                                    "interval": "month", "interval_count": 1})

    def revenue_mrr(self, account: str, month: str, mrr: float) -> None:
        """What the revenue pack leaves behind: per-account MRR at month end in account_metrics."""
        with self.store.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO account_metrics VALUES (?, 'mrr', 'month', ?, ?)",
                         (account, month, mrr))

    def run(self, as_of: str | date | datetime, **params: Any) -> None:
        self.ws.config.packs["usage"] = params
        results = run_metrics(self.store, self.ws.config, self.ws.registry, ["usage"], as_of=as_of)
        assert [r.status for r in results] == ["ok"], results

    # -- reading ---------------------------------------------------------------------
    def value(self, metric: str, period: str, segment_by: str = "all", segment: str = "all",
              grain: str = "month") -> dict[str, Any]:
        rows = self.store.query("SELECT value, numerator, denominator, period_end FROM metric_values WHERE metric = ? "
                                "AND grain = ? AND period_start = ? AND segment_by = ? AND segment = ?",
                                [metric, grain, period, segment_by, segment])
        assert len(rows) == 1, f"{metric} {grain} {period} {segment_by}={segment}: {rows}"
        return rows[0]

    def v(self, metric: str, period: str, segment_by: str = "all", segment: str = "all") -> float | None:
        return self.value(metric, period, segment_by, segment)["value"]

    def account_value(self, account: str, metric: str, period: str, grain: str = "month") -> float | None:
        rows = self.store.query("SELECT value FROM account_metrics WHERE account_id = ? AND metric = ? "
                                "AND grain = ? AND period_start = ?", [account, metric, grain, period])
        assert len(rows) == 1, f"{account} {metric} {grain} {period}: {rows}"
        return rows[0]["value"]

    def has_account_value(self, account: str, metric: str, period: str, grain: str = "month") -> bool:
        return bool(self.store.query("SELECT 1 FROM account_metrics WHERE account_id = ? AND metric = ? "
                                     "AND grain = ? AND period_start = ?", [account, metric, grain, period]))
