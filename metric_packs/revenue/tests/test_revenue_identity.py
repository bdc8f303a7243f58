"""A randomized history of a few hundred accounts: the movement identity holds every month, and account
MRR matches a plain-Python reading of the line rules."""
from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import datetime, timedelta

import pytest
from revenue_fakes import generate
from revenue_testkit import Books

from csconnect_pack_revenue.mrr import months_back

A = pytest.approx
F = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture(scope="module", params=[11, 29])
def history(request, tmp_path_factory):
    books = Books(tmp_path_factory.mktemp(f"random{request.param}"), fx_rates={"EUR": 1.08})
    with books.ws.store.transaction():
        meta = generate(books.ws.store.conn, 300, 24, items=2, seed=request.param)
    result = books.run(meta["as_of"], proration_snap=False)
    assert result.status == "ok", result.reason
    yield books, meta
    books.ws.close()


def test_movement_identity_every_month(history):
    books, _ = history
    mrr = books.series("mrr")
    months = sorted(mrr)
    assert len(months) == 24
    parts = {k: books.series(f"mrr_{k}") for k in ("new", "reactivation", "expansion", "contraction", "churn")}
    for prev, cur in zip([None] + months, months):
        start = mrr[prev] if prev else 0
        moved = (parts["new"][cur] + parts["reactivation"][cur] + parts["expansion"][cur]
                 - parts["contraction"][cur] - parts["churn"][cur])
        assert mrr[cur] == A(start + moved, abs=1e-3), cur
        assert books.value("net_new_mrr", cur) == A(moved, abs=1e-3)
    customers = books.series("customers")
    for prev, cur in zip(months, months[1:]):
        assert customers[cur] == customers[prev] + books.value("customers_new", cur) + \
            books.value("customers_reactivated", cur) - books.value("customers_churned", cur)
    kinds = {r["kind"] for r in books.ws.store.query("SELECT DISTINCT kind FROM mrr_movements")}
    assert kinds == {"new", "reactivation", "expansion", "contraction", "churn"}


def test_movement_identity_per_account(history):
    books, _ = history
    mrr: dict[str, dict[str, float]] = defaultdict(dict)
    for r in books.ws.store.query("SELECT account_id, period_start, value FROM account_metrics WHERE metric='mrr'"):
        mrr[r["account_id"]][r["period_start"]] = r["value"]
    months = sorted({r["period_start"] for r in books.ws.store.query(
        "SELECT DISTINCT period_start FROM metric_values WHERE metric = 'mrr'")})
    sign = {"new": 1, "reactivation": 1, "expansion": 1, "contraction": -1, "churn": -1}
    moves = {(r["account_id"], r["month"]): sign[r["kind"]] * r["amount"]
             for r in books.ws.store.query("SELECT * FROM mrr_movements")}
    seen_before: set[str] = set()
    for account, by_month in mrr.items():
        for prev, cur in zip([None] + months, months):
            start, end = by_month.get(prev, 0) if prev else 0, by_month.get(cur, 0)
            assert end == A(start + moves.get((account, cur), 0), abs=1e-6), (account, cur)
    for (account, month), _ in sorted(moves.items(), key=lambda kv: kv[0][1]):
        kind = next(r["kind"] for r in books.ws.store.query(
            "SELECT kind FROM mrr_movements WHERE account_id = ? AND month = ?", [account, month]))
        if kind == "new":
            assert account not in seen_before
        if kind == "reactivation":
            assert account in seen_before
        seen_before.add(account)


def test_account_mrr_matches_a_plain_reading_of_the_rules(history):
    books, meta = history
    db = books.ws.store
    months = sorted({r["period_start"] for r in db.query("SELECT period_start FROM metric_values WHERE metric='mrr'")})
    instants = []
    for m in months:
        y, mo = int(m[:4]), int(m[5:7])
        instants.append(f"{m[:8]}{calendar.monthrange(y, mo)[1]:02d}T23:59:59Z")
    instants[-1] = meta["as_of"]
    subs = {s["id"]: s for s in db.query("SELECT * FROM subscriptions")}
    void = {r["id"] for r in db.query("SELECT id FROM invoices WHERE status = 'void'")}
    lines = db.query("SELECT * FROM invoice_lines WHERE kind <> 'one_off'")
    term_start = {(ln["subscription_id"], ln["period_end"]): ln["period_start"] for ln in sorted(
        lines, key=lambda ln: ln["period_start"], reverse=True) if ln["kind"] == "subscription"}
    rate = {"USD": 1.0, "EUR": 1.08}
    expected: dict[tuple[str, int], float] = defaultdict(float)
    for ln in lines:
        if ln["invoice_id"] in void:
            continue
        sub = subs[ln["subscription_id"]]
        amount = ln["amount"] * rate[ln["currency"]]
        ps, pe = ln["period_start"], ln["period_end"]
        if ln["kind"] == "proration":
            full = term_start.get((ln["subscription_id"], pe))
            full = full if full and full <= ps else months_back(pe, ln["interval"], ln["interval_count"])
            amount *= _seconds(full, pe) / _seconds(ps, pe)
        monthly = amount / 12 if ln["interval"] == "year" else amount
        start = max(ps, sub["trial_end"] or ps)
        end = min(pe, sub["ended_at"] or pe)
        for i, t in enumerate(instants):
            if start <= t < end:
                expected[(ln["account_id"], i)] += monthly
    got = {(r["account_id"], months.index(r["period_start"])): r["value"]
           for r in db.query("SELECT * FROM account_metrics WHERE metric = 'mrr'")}
    for key, value in expected.items():
        if value > 1e-6:
            assert got.get(key) == A(value, rel=1e-9), key
        else:
            assert not got.get(key), key
    assert {k for k, v in got.items() if v} == {k for k, v in expected.items() if v > 1e-6}


def _seconds(a: str, b: str) -> float:
    return (datetime.strptime(b, F) - datetime.strptime(a, F)) / timedelta(seconds=1)


def test_line_chunks_do_not_change_results(tmp_path, monkeypatch):
    from csconnect_pack_revenue import mrr as mrr_module
    books = Books(tmp_path, fx_rates={"EUR": 1.08})
    with books.ws.store.transaction():
        meta = generate(books.ws.store.conn, 80, 18, items=2, seed=5)

    def snapshot():
        values = {r[:4]: r[4:] for r in books.ws.store.conn.execute(
            "SELECT metric, period_start, segment_by, segment, value, numerator, denominator FROM metric_values")}
        moves = set(books.ws.store.conn.execute("SELECT account_id, month, kind, round(amount, 6) FROM mrr_movements"))
        return values, moves

    books.run(meta["as_of"], same_period_new_churn="include")
    whole = snapshot()
    monkeypatch.setattr(mrr_module, "CHUNK", 97)
    books.run(meta["as_of"], same_period_new_churn="include")
    chunked = snapshot()
    assert chunked[1] == whole[1]
    assert chunked[0].keys() == whole[0].keys()
    for key, got in chunked[0].items():
        for g, w in zip(got, whole[0][key]):
            assert (g is None and w is None) or g == A(w, rel=1e-9, abs=1e-6), key
    books.ws.close()
