"""Canonical rows as a sync + link would write them, and a runner for the support pack."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from csconnect.metrics import run_metrics
from csconnect.plugins import build_registry
from csconnect.testing import Workspace

import csconnect_pack_support.plugin as plugin

AS_OF = "2026-06-30"
SYNCED = "2026-06-30T23:00:00Z"


class Data:
    """A workspace holding canonical rows; run() computes the support pack as of AS_OF."""

    def __init__(self, path: Path, **params: Any):
        registry = build_registry([plugin], entry_points=False)
        self.ws = Workspace(path, registry=registry)
        self.ws.config.packs = {"support": params} if params else {}
        self.store = self.ws.store

    def account(self, account_id: str, *, segment: str | None = None, country: str | None = None,
                owner: str | None = None, lifecycle_stage: str = "customer", seats: int | None = None,
                created_at: str = "2025-01-10T00:00:00Z") -> None:
        self.store.conn.execute(
            "INSERT INTO accounts (account_id, name, segment, lifecycle_stage, country, owner, seats, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (account_id, account_id.title(), segment, lifecycle_stage, country, owner, seats, created_at, SYNCED))

    def row(self, table: str, source: str, source_id: str, account: str | None = None, **values: Any) -> str:
        """Insert one canonical row as a sync would (Workspace.add_rows); returns its id."""
        row = dict(values, source_id=source_id, source_account_id=f"{source}-{account}" if account else None,
                   account_id=account)
        return self.ws.add_rows(table, [row], connection=source)[0]

    def ticket(self, source_id: str, account: str | None, created_at: str, *, source: str = "zendesk",
               status: str = "open", **values: Any) -> str:
        values.setdefault("channel", "email")
        return self.row("tickets", source, source_id, account, created_at=created_at, status=status, **values)

    def answer(self, source_id: str, kind: str, score: float | None, responded_at: str, *,
               source: str = "delighted", account: str | None = None, **values: Any) -> str:
        return self.row("survey_responses", source, source_id, account, kind=kind, score=score,
                        responded_at=responded_at, **values)

    def run(self, as_of: str = AS_OF) -> Any:
        [result] = run_metrics(self.store, self.ws.config, self.ws.registry, ["support"], as_of=as_of)
        return result

    def value(self, metric: str, period: str, grain: str = "month", segment_by: str = "all",
              segment: str = "all", column: str = "value") -> Any:
        rows = self.store.query(
            f"SELECT {column} FROM metric_values WHERE metric=? AND grain=? AND period_start=? AND segment_by=? "
            "AND segment=?", [metric, grain, period, segment_by, segment])
        assert len(rows) <= 1
        return rows[0][column] if rows else "missing"

    def row_of(self, metric: str, period: str, grain: str = "month", segment_by: str = "all",
               segment: str = "all") -> tuple[Any, Any, Any]:
        rows = self.store.query(
            "SELECT value, numerator, denominator FROM metric_values WHERE metric=? AND grain=? AND period_start=? "
            "AND segment_by=? AND segment=?", [metric, grain, period, segment_by, segment])
        assert len(rows) == 1, (metric, period, grain, segment_by, segment, rows)
        r = rows[0]
        return r["value"], r["numerator"], r["denominator"]

    def account_value(self, account_id: str, metric: str, period: str, grain: str = "month") -> Any:
        rows = self.store.query("SELECT value FROM account_metrics WHERE account_id=? AND metric=? AND grain=? "
                                "AND period_start=?", [account_id, metric, grain, period])
        return rows[0]["value"] if rows else "missing"
