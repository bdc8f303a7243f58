"""The simulation itself: determinism, resumable streams, sizes, and signals that health scores can find."""
from __future__ import annotations

import json
import statistics
from datetime import date

import pytest

from csconnect.testing import Workspace
from csconnect_demo import DemoConnector, World, get_world
from csconnect_demo.clock import DAY
from csconnect_demo.connector import Invoices, Tickets, Usage

SMALL = {"accounts": 40, "months": 8, "end_month": "2026-10", "usage_scale": 0.5}


def dump(world: World) -> str:
    out = {s: world.records(s) for s in World.BUILDERS}
    out["usage"] = [world.usage_month(m) for m in range(world.months)]
    return json.dumps(out, sort_keys=True)


def test_same_options_give_byte_identical_worlds_and_another_seed_differs():
    a, b = World(**SMALL), World(**SMALL)
    assert a is not b and dump(a) == dump(b)
    assert dump(World(**dict(SMALL, seed=7))) != dump(a)


def test_the_window_ends_with_the_last_complete_month():
    w = World(accounts=5, months=24, today=date(2026, 11, 15))
    assert (w.first_month, w.last_month) == ("2024-11", "2026-10")
    jan = World(accounts=5, months=3, today=date(2026, 1, 2))
    assert (jan.first_month, jan.last_month) == ("2025-10", "2025-12")


def test_segments_currencies_and_identity_puzzles_of_the_default_world():
    w = get_world(end_month="2026-10")
    segs = [a.segment for a in w.accounts]
    assert (segs.count("smb"), segs.count("mid_market"), segs.count("enterprise")) == (180, 90, 30)
    assert {a.currency for a in w.accounts} == {"USD", "EUR"}
    assert all(a.currency == "EUR" for a in w.accounts if a.country in ("DE", "FR", "NL"))
    assert len({a.domain for a in w.accounts}) == 300
    from csconnect.identity import normalize_name
    names = [normalize_name(a.names["crm"]) for a in w.accounts]
    assert len(set(names)) < len(names), "a few different customers share a normalized name"
    for a in w.accounts:   # each system spells the name its own way, but alike once normalized …
        spelled = {normalize_name(a.names[s]) for s in ("crm", "helpdesk", "product")}
        assert spelled == {normalize_name(a.name)}
    legal = [a for a in w.accounts if normalize_name(a.names["billing"]) != normalize_name(a.name)]
    assert len(legal) == 2 and all(not a.crm_ref for a in legal)     # … except two billed under a holding
    assert 0.6 < sum(a.crm_ref for a in w.accounts) / 300 < 0.8
    free = [c for a in w.accounts for c in a.contacts if c.email.split("@")[1] != a.domain]
    assert free and all(c.email.split("@")[1] in ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com")
                        for c in free)


def _pages(stream, state=None):
    return list(stream.pages(state))


@pytest.mark.parametrize("stream_class", [Invoices, Tickets, Usage])
def test_a_resumed_stream_yields_exactly_the_remaining_records(stream_class):
    connector = DemoConnector("demo", dict(SMALL, page_size=20))
    stream = stream_class(connector)
    pages = _pages(stream)
    assert len(pages) > 4
    content = [p.records or p.rows for p in pages]
    for k in (1, len(pages) // 2, len(pages) - 1):
        rest = _pages(stream, json.loads(json.dumps(pages[k - 1].state)))
        assert [p.records or p.rows for p in rest] == content[k:]
    assert _pages(stream, pages[-1].state) == []


def test_a_crashed_sync_resumes_from_its_last_page(tmp_path, monkeypatch):
    settings = dict(SMALL, part="billing", page_size=25)
    ws = Workspace(tmp_path, DemoConnector, connections={"demo": dict(settings, connector="demo")})
    original = Invoices.pages

    def crash_after_three(self, state):
        for n, page in enumerate(original(self, state)):
            if n == 3:
                raise ConnectionError("simulated crash")
            yield page

    monkeypatch.setattr(Invoices, "pages", crash_after_three)
    first = {r.stream: r for r in ws.sync().results}
    assert first["invoices"].status == "failed" and first["invoices"].records == 75
    assert ws.store.get_state("demo", "invoices") == {"offset": 75}
    monkeypatch.setattr(Invoices, "pages", original)
    second = {r.stream: r for r in ws.sync(streams=["invoices"]).results}
    total = len(DemoConnector("demo", settings).world.records("invoices"))
    assert second["invoices"].records == total - 75
    assert ws.store.count("invoices") == total
    ws.close()


def test_default_usage_volume():
    """Enough activity for believable stickiness (DAU/MAU in the low teens), small enough for `make demo`."""
    w = get_world(end_month="2026-10")
    rows = sum(len(day) for m in range(w.months) for day in w.usage_month(m).values())
    assert 300_000 <= rows <= 550_000


def test_churn_is_preceded_by_declining_usage_and_sentiment():
    w = World(accounts=150, months=12, end_month="2026-10")
    users: dict[tuple[str, int], set[str]] = {}
    for m in range(w.months):
        for day in w.usage_month(m).values():
            for r in day:
                users.setdefault((r["source_account_id"], m), set()).add(r["user_id"])
    before, other = [], []
    for a in w.accounts:
        churned = [w.month_index(s.canceled_at) for s in a.subs if s.end_kind in ("voluntary", "immediate")]
        for m in range(w.months):
            per_seat = len(users.get((a.group_key, m), ())) / a.seats
            if per_seat and a.live_at(w.month_starts[m] + 15 * DAY) == "paid":
                (before if any(0 <= c - m <= 2 for c in churned) else other).append(per_seat)
    assert before and statistics.mean(before) < statistics.mean(other) - 0.1
    nps_before, nps_other = [], []
    churn_month = {a.index: [w.month_index(s.canceled_at) for s in a.subs if s.end_kind in ("voluntary", "immediate")]
                   for a in w.accounts}
    for r in w.records("survey_responses"):
        if r["survey"] == "nps":
            a = w.contact_account[r["respondent_id"]]
            m = w.month_index(_unix(r["created_at"]))
            (nps_before if any(0 <= c - m <= 3 for c in churn_month[a]) else nps_other).append(r["score"])
    assert statistics.mean(nps_before) < statistics.mean(nps_other) - 1


def _unix(text: str) -> int:
    from datetime import datetime
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
