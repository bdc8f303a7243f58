"""The contract with the other packs: run the real revenue, support and usage packs on tiny data."""
from __future__ import annotations

from pathlib import Path

import pytest

from csconnect.metrics import run_metrics
from csconnect.plugins import build_registry

import csconnect_pack_health.plugin as health_plugin
from health_builders import AS_OF, Book

revenue = pytest.importorskip("csconnect_pack_revenue.plugin")
support = pytest.importorskip("csconnect_pack_support.plugin")
usage = pytest.importorskip("csconnect_pack_usage.plugin")


def test_inputs_come_from_the_other_packs_outputs(tmp_path: Path) -> None:
    # One customer: 10 seats of `team` at 100.00 each, January to June; 4 users active on the 5th
    # and 20th of May and June (so 4 of 10 seats, and the same users in both 30-day windows);
    # one CSAT answer of 5 on 1-5 in June (support: 100 % satisfied).
    b = Book(tmp_path)
    b.ws.registry = build_registry([health_plugin, revenue, support, usage], entry_points=False)
    b.account("acme", "smb", seats=10)
    for month in range(1, 7):
        start, end = f"2026-{month:02d}-01T00:00:00Z", f"2026-{month + 1:02d}-01T00:00:00Z"
        invoice = b.row("invoices", "acme", source="stripe", status="paid", currency="USD", total=100_000,
                        amount_paid=100_000, created_at=start, paid_at=start, subscription_id="stripe:sub_1")
        b.row("invoice_lines", "acme", source="stripe", invoice_id=invoice, subscription_id="stripe:sub_1",
              kind="subscription", plan_id="team", quantity=10, amount=100_000, currency="USD", period_start=start,
              period_end=end, interval="month", interval_count=1)
    for user in ("u1", "u2", "u3", "u4"):
        for day in ("2026-05-05", "2026-05-20", "2026-06-05", "2026-06-20"):
            b.use("acme", user, day, ["reports"])
    b.row("survey_responses", "acme", source="delighted", kind="csat", score=5, scale_min=1, scale_max=5,
          responded_at="2026-06-10T10:00:00Z")
    results = run_metrics(b.store, b.ws.config, b.ws.registry, None, as_of=AS_OF)
    assert [(r.pack, r.status) for r in results] == [
        ("revenue", "ok"), ("support", "ok"), ("usage", "ok"), ("health", "ok")], [r.reason for r in results]
    inputs = b.health("acme")["components"]["inputs"]
    assert inputs["seat_utilisation"]["raw"] == 0.4
    assert inputs["seat_utilisation"]["text"] == "seat utilisation 40%: 4 of 10 seats active"
    assert inputs["usage_trend"]["raw"] == 1.0
    assert inputs["feature_breadth"]["raw"] == 1.0
    assert inputs["csat"]["raw"] == 1.0
    assert inputs["mrr_trend"]["raw"] == 0.0
    assert inputs["payment_status"]["raw"] == 0
    # usage: seat utilisation (0.4 − 0.25) / 0.6 = 25 → (40·25 + 30·100 + 30·100) / 100 = 70; support: CSAT
    # only = 100 (no tickets); business: MRR trend and payment only, (35·83.33 + 10·100) / 45 = 87.04
    # → 0.4·70 + 0.3·100 + 0.3·87.04 = 84.11
    assert b.health("acme")["score"] == pytest.approx((40 * 70 + 30 * 100 + 30 * (35 * 250 / 3 + 1000) / 45) / 100,
                                                      abs=0.01)
    weekly = b.store.query("SELECT COUNT(*) AS n FROM account_health_history WHERE account_id = 'acme'")[0]["n"]
    assert weekly > 10
