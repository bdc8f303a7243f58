"""A workspace with canonical rows and the other packs' outputs written directly, and the health pack."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from csconnect.metrics import run_metrics
from csconnect.plugins import build_registry
from csconnect.testing import Workspace

import csconnect_pack_health.plugin as plugin

AS_OF = "2026-06-30"
SYNCED = "2026-06-30T23:00:00Z"


class Book:
    """Accounts, canonical rows and account_metrics as revenue/support/usage would have left them."""

    def __init__(self, path: Path):
        self.ws = Workspace(path, registry=build_registry([plugin], entry_points=False))
        self.store = self.ws.store
        self._n = 0

    # -- writing -------------------------------------------------------------------------------
    def account(self, account_id: str, segment: str | None = None, seats: int | None = None,
                created_at: str = "2025-01-10T00:00:00Z") -> None:
        with self.store.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO accounts (account_id, name, segment, lifecycle_stage, seats, "
                         "created_at, updated_at) VALUES (?, ?, ?, 'customer', ?, ?, ?)",
                         (account_id, account_id.title(), segment, seats, created_at, SYNCED))

    def metric(self, account: str, metric: str, period: str, value: float | None, grain: str = "month") -> None:
        with self.store.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO account_metrics VALUES (?, ?, ?, ?, ?)",
                         (account, metric, grain, period, value))

    def monthly(self, account: str, metric: str, values: dict[str, float]) -> None:
        for month, value in values.items():
            self.metric(account, metric, f"{month}-01", value)

    def row(self, table: str, account: str | None, source: str = "src", **values: Any) -> str:
        self._n += 1
        sid = f"{table}_{self._n}"
        row = dict(values, source_id=sid, source_account_id=f"{source}-{account}" if account else None,
                   account_id=account)
        return self.ws.add_rows(table, [row], connection=source)[0]

    def ticket(self, account: str, created_at: str, status: str = "open", **values: Any) -> str:
        return self.row("tickets", account, created_at=created_at, status=status, **values)

    def use(self, account: str, user: str, day: str, features: list[str], events: int = 1) -> str:
        return self.row("usage_daily", account, user_id=user, day=day, events=events, features=json.dumps(features))

    def invoice(self, account: str, created_at: str, status: str = "paid", paid_at: str | None = None,
                total: int = 10_000) -> str:
        return self.row("invoices", account, status=status, currency="USD", total=total, created_at=created_at,
                        paid_at=paid_at, amount_paid=total if status == "paid" else 0)

    def nps(self, account: str, score: float, responded_at: str) -> str:
        return self.row("survey_responses", account, kind="nps", score=score, scale_min=0, scale_max=10,
                        responded_at=responded_at)

    def activity(self, account: str, occurred_at: str, kind: str = "call") -> str:
        return self.row("activities", account, kind=kind, occurred_at=occurred_at)

    # -- running and reading -----------------------------------------------------------------
    def run(self, as_of: str = AS_OF, other: dict[str, dict[str, Any]] | None = None, **params: Any) -> Any:
        """Run the health pack with these parameters (`other`: other packs' [packs.*] tables)."""
        self.ws.config.packs = dict(other or {}, **({"health": params} if params else {}))
        [result] = run_metrics(self.store, self.ws.config, self.ws.registry, ["health"], as_of=as_of)
        return result

    def health(self, account: str) -> dict[str, Any] | None:
        rows = self.store.query("SELECT * FROM account_health WHERE account_id = ?", [account])
        if not rows:
            return None
        row = rows[0]
        row["components"] = json.loads(row["components"])
        row["drivers"] = json.loads(row["drivers"])
        return row

    def history(self, account: str) -> dict[str, tuple[float, str]]:
        return {r["as_of"]: (r["score"], r["band"]) for r in self.store.query(
            "SELECT as_of, score, band FROM account_health_history WHERE account_id = ? ORDER BY as_of", [account])}

    def values(self, metric: str, segment_by: str = "all") -> dict[tuple[str, str], tuple[Any, Any, Any]]:
        return {(r["period_start"], r["segment"]): (r["value"], r["numerator"], r["denominator"])
                for r in self.store.query("SELECT * FROM metric_values WHERE metric = ? AND segment_by = ?",
                                          [metric, segment_by])}
