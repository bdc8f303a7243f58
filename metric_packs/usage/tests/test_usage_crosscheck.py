"""The set-based SQL against a plain-Python reference on a random company (seeded)."""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from pytest import approx

from usage_builders import Company

AS_OF = date(2026, 4, 16)            # a Thursday: April is to date, its week Apr 13-19 has not elapsed
DONE = AS_OF
ACCOUNTS = ["acc0", "acc1", "acc2", "acc3", "acc4", None]
FEATURES = ["alpha", "beta", "gamma", "delta"]


def _months() -> list[date]:
    return [date(2026, m, 1) for m in (1, 2, 3, 4)]


def _month_end(m: date) -> date:
    nxt = date(m.year + m.month // 12, m.month % 12 + 1, 1)
    return min(nxt - timedelta(days=1), AS_OF)


def _weeks(m: date) -> list[date]:
    nxt = date(m.year + m.month // 12, m.month % 12 + 1, 1)
    d = m - timedelta(days=m.weekday())
    out = []
    while d < nxt:
        if m <= d + timedelta(days=3) < nxt and d + timedelta(days=6) <= DONE:
            out.append(d)
        d += timedelta(days=7)
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Company, set[tuple[str | None, str, date]],
                                                             dict[tuple[str, date], list[str]], dict]:
    rng = random.Random(20260416)
    c = Company(tmp_path_factory.mktemp("cross"))
    active: set[tuple[str | None, str, date]] = set()
    feats: dict[tuple[str, date], list[str]] = {}
    for i, acc in enumerate(ACCOUNTS):
        if acc:
            c.account(acc, "smb" if i % 2 else "enterprise")
        users = [f"{acc or 'none'}_u{j}" for j in range(rng.randint(1, 6))]
        start = date(2025, 12, 20) + timedelta(days=rng.randint(0, 40))
        rate = rng.uniform(0.1, 0.6)
        d = start
        stop = date(2026, 2, 20) if acc == "acc4" else AS_OF + timedelta(days=3)     # acc4 goes quiet
        while d <= stop:
            for j, u in enumerate(users):
                if rng.random() < (rate if j else 0.03):          # u0 is sparse: gaps longer than 30 days
                    events = rng.choice([0, 1, 2, 5, None])
                    f = rng.sample(FEATURES, rng.randint(0, 2))
                    c.use(acc, u, d.isoformat(), events=events, features=f)
                    if (events is None or events >= 1) and d <= AS_OF:
                        active.add((acc, u, d))
                        if acc:
                            feats.setdefault((acc, d), []).extend(f)
            d += timedelta(days=1)
    seats: dict = {}
    for acc in ACCOUNTS[:5]:
        for m in _months():
            if rng.random() < 0.75:
                q = rng.randint(2, 9)
                nxt = date(m.year + m.month // 12, m.month % 12 + 1, 1)
                c.line(acc, "per_seat", q, m.isoformat(), nxt.isoformat())
                seats[(acc, m)] = q
    c.run(AS_OF)
    return c, active, feats, seats


def _users(active, acc, lo: date, hi: date, by_account: bool = True) -> set:
    return {(a, u) for a, u, d in active if lo <= d <= hi and (not by_account or a == acc)}


def test_dau_wau_mau_adoption_match_the_reference(world) -> None:
    c, active, _, _ = world
    for m in _months():
        last = _month_end(m)
        ndays = (last - m).days + 1
        days = [m + timedelta(days=i) for i in range(ndays)]
        weeks = _weeks(m)
        for acc in ACCOUNTS:
            mau = len(_users(active, acc, m, last))
            if not mau and not any(a == acc for a, _, d in active if d <= last):
                continue
            dau = sum(len(_users(active, acc, d, d)) for d in days) / ndays
            ever = len(_users(active, acc, date(2000, 1, 1), last))
            if acc:
                if mau:
                    assert c.account_value(acc, "dau", m.isoformat()) == approx(dau), (acc, m)
                    assert c.account_value(acc, "mau", m.isoformat()) == mau
                if ever:     # also for an account with users but none active this month
                    assert c.account_value(acc, "adoption_rate", m.isoformat()) == approx(mau / ever)
                wau = sum(len(_users(active, acc, w, w + timedelta(days=6))) for w in weeks) / len(weeks)
                if wau:
                    assert c.account_value(acc, "wau", m.isoformat()) == approx(wau), (acc, m)
        total_dau = sum(len({(a, u) for a, u, d2 in active if d2 == d}) for d in days) / ndays
        assert c.v("dau", m.isoformat()) == approx(total_dau)
        total_mau = len({(a, u) for a, u, d in active if m <= d <= last})
        assert c.v("mau", m.isoformat()) == total_mau
        total_wau = sum(len({(a, u) for a, u, d in active if w <= d <= w + timedelta(days=6)})
                        for w in weeks) / len(weeks)
        assert c.v("wau", m.isoformat()) == approx(total_wau)


def test_usage_rate_seats_and_features_match_the_reference(world) -> None:
    c, active, feats, seats = world
    for m in _months():
        last = _month_end(m)
        weeks = _weeks(m)
        customers = [a for a in ACCOUNTS[:5] if (a, m) in seats]
        met = 0
        for acc in customers:
            for w in weeks:
                span = [(u, d) for a, u, d in active if a == acc and w <= d <= w + timedelta(days=6)]
                if len({u for u, _ in span}) >= 3 or len({d for _, d in span}) >= 3:
                    met += 1
        row = c.value("usage_rate", m.isoformat())
        assert (row["numerator"], row["denominator"]) == (met, len(customers) * len(weeks)), m
        mau = {a: len(_users(active, a, m, last)) for a in customers}
        util = c.value("seat_utilisation", m.isoformat())
        assert (util["numerator"], util["denominator"]) == (sum(mau.values()),
                                                            sum(seats[(a, m)] for a in customers))
        active_accounts = {a for a, _, d in active if a and m <= d <= last}
        for f in FEATURES:
            users = {a for (a, d), fs in feats.items() if m <= d <= last and f in fs}
            rows = c.store.query("SELECT numerator, denominator FROM metric_values WHERE metric = "
                                 "'feature_adoption' AND period_start = ? AND segment = ?", [m.isoformat(), f])
            if users:
                assert rows == [{"numerator": len(users), "denominator": len(active_accounts)}], (m, f)
            else:
                assert rows == []


def test_usage_trend_matches_the_reference_at_every_week(world) -> None:
    c, active, _, _ = world
    monday = date(2025, 12, 15)
    while monday <= AS_OF:
        x = min(monday + timedelta(days=6), AS_OF)
        for acc in ACCOUNTS[:5]:
            cur = len(_users(active, acc, x - timedelta(days=29), x))
            prev = len(_users(active, acc, x - timedelta(days=59), x - timedelta(days=30)))
            rows = c.store.query("SELECT value FROM account_metrics WHERE account_id = ? AND metric = "
                                 "'usage_trend' AND grain = 'week' AND period_start = ?",
                                 [acc, monday.isoformat()])
            if cur + prev == 0:
                assert rows == [], (acc, monday)
            else:
                assert rows == [{"value": approx(cur / prev) if prev else None}], (acc, monday, cur, prev)
        monday += timedelta(days=7)
