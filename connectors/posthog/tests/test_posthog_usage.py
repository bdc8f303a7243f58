"""The usage stream against an in-memory PostHog: keyset pages, sessions, look-back, resuming, accounts."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from csconnect.identity import link
from csconnect.testing import Workspace
from csconnect_posthog import PostHogConnector
from csconnect_posthog import streams as posthog_streams

import posthog_payloads as pp
import posthog_scenario as sc
from posthog_fake import API_KEY, PROJECT, FakePostHog, day_of

BASE = {"connector": "posthog", "api_key": API_KEY, "project_id": PROJECT}


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(posthog_streams, "utc_today", lambda: sc.TODAY)


@pytest.fixture
def fake(respx_mock: Any) -> FakePostHog:
    return sc.populate(FakePostHog(respx_mock))


def workspace(tmp_path: Path, **settings: Any) -> Workspace:
    return Workspace(tmp_path, PostHogConnector, connections={"ph": {**BASE, "start_date": sc.START, **settings}})


def usage(ws: Workspace, where: str = "", params: Any = ()) -> dict[str, dict[str, Any]]:
    return {r["source_id"]: r for r in ws.rows("usage_daily", where, params)}


def results(report: Any) -> dict[str, Any]:
    return {r.stream: r for r in report.results}


def test_one_query_per_day_from_start_date_to_today(tmp_path: Path, fake: FakePostHog) -> None:
    ws = workspace(tmp_path)
    assert ws.sync("ph", streams=["usage"]).ok
    assert [day_of(q).isoformat() for q in fake.queries] == [f"2026-03-{n:02d}" for n in range(1, 11)]
    first = fake.queries[0]
    assert "timestamp >= toDateTime('2026-03-01T00:00:00Z')" in first
    assert "timestamp < toDateTime('2026-03-02T00:00:00Z')" in first
    assert "LIMIT 10000" in first and "OFFSET" not in first.upper()
    for body in fake.bodies:
        assert body["refresh"] == "force_blocking" and body["name"].startswith("csconnect usage_daily 2026-03-")
    rows = usage(ws)
    assert len(rows) == 10 + 5 + 3           # Alice daily, Bob every other day, Cara every third day
    assert all(r["user_id"] != sc.VISITOR for r in rows.values()), "anonymous visitors are left out"
    assert ws.store.get_state("ph", "usage") == {"next_day": "2026-03-10"}   # today is never complete


def test_sessions_with_and_without_session_id(tmp_path: Path, fake: FakePostHog) -> None:
    day = "2026-03-02"
    # Alice: her scenario session (09:00-09:12) plus a second $session_id session of 90 s
    fake.add_event(sc.ALICE, "$pageview", f"{day} 20:00:00", "s-a-2b", groups={0: "acme"})
    fake.add_event(sc.ALICE, "report_viewed", f"{day} 20:01:30", "s-a-2b", groups={0: "acme"})
    # Bob, no $session_id: 14:00, 14:20 (scenario), then 15:10 (50 min later: a new session) and 15:15
    fake.add_event(sc.BOB, "export_created", f"{day} 15:10:00", groups={0: "acme"})
    fake.add_event(sc.BOB, "$pageview", f"{day} 15:15:00", groups={0: "acme"})
    # Dee, no $session_id: exactly 30 minutes apart is two sessions of 0 seconds
    dee = "018e1a2b-0000-7000-8000-000000000dee"
    fake.add_event(dee, "report_viewed", f"{day} 12:00:00")
    fake.add_event(dee, "report_viewed", f"{day} 12:30:00")
    ws = workspace(tmp_path, start_date=day)
    assert ws.sync("ph", streams=["usage"]).ok
    rows = usage(ws, "day = ?", (day,))
    alice, bob = rows[f"{sc.ALICE}:{day}"], rows[f"{sc.BOB}:{day}"]
    assert (rows[f"{dee}:{day}"]["sessions"], rows[f"{dee}:{day}"]["active_seconds"]) == (2, 0)
    assert (alice["events"], alice["sessions"], alice["active_seconds"]) == (4, 2, 12 * 60 + 90)
    assert json.loads(alice["features"]) == ["report_viewed"]       # $-events are not features
    assert (bob["events"], bob["sessions"], bob["active_seconds"]) == (4, 2, 20 * 60 + 5 * 60)
    assert bob["source_account_id"] == "acme"


def test_keyset_pagination_within_one_day(tmp_path: Path, fake: FakePostHog) -> None:
    day = "2026-03-06"
    extra = [f"018e1a2b-0000-7000-8000-{n:012d}" for n in range(1, 6)]
    for user in extra:
        fake.add_event(user, "report_viewed", f"{day} 10:00:00", f"s-{user}", groups={0: "globex"})
    ws = workspace(tmp_path, start_date=day, page_size=3)
    report = ws.sync("ph", streams=["usage"])
    assert report.ok, report.results[0].error
    queries = [q for q in fake.queries if day_of(q).isoformat() == day]
    # 5 extra users + Alice + Bob + Cara = 8 rows: pages of 3, 3, 2
    assert len(queries) == 3
    assert "toString(person_id) >" not in queries[0]
    first_page = sorted(extra + [sc.ALICE, sc.BOB, sc.CARA])[:3]
    assert f"(toDate(toTimeZone(timestamp, 'UTC')) = toDate('{day}') AND toString(person_id) > '{first_page[-1]}')" \
        in queries[1]
    assert f"toString(person_id) > '{sorted(extra + [sc.ALICE, sc.BOB, sc.CARA])[5]}'" in queries[2]
    assert len(usage(ws, "day = ?", (day,))) == 8
    assert results(report)["usage"].rows == len(ws.rows("usage_daily"))   # nothing written twice


def test_a_full_last_page_without_has_more_asks_once_more(tmp_path: Path, fake: FakePostHog) -> None:
    fake.send_has_more = False        # older self-hosted PostHog: no hasMore in the answer
    ws = workspace(tmp_path, start_date="2026-03-06", page_size=3)   # that day has exactly 3 users
    assert ws.sync("ph", streams=["usage"]).ok
    queries = [q for q in fake.queries if day_of(q).isoformat() == "2026-03-06"]
    assert len(queries) == 2 and len(usage(ws, "day = '2026-03-06'")) == 3


def test_late_event_replaces_the_day_row_instead_of_doubling_it(tmp_path: Path, fake: FakePostHog) -> None:
    ws = workspace(tmp_path)
    assert ws.sync("ph", streams=["usage"]).ok
    before = usage(ws)
    sc.add_late_event(fake)
    fake.queries.clear()
    assert ws.sync("ph", streams=["usage"]).ok
    # the second sync reads only the look-back window: 3 complete days before today, and today
    assert [day_of(q).isoformat() for q in fake.queries] == ["2026-03-07", "2026-03-08", "2026-03-09", "2026-03-10"]
    after = usage(ws)
    assert len(after) == len(before)
    key = f"{sc.ALICE}:2026-03-08"
    assert after[key]["events"] == before[key]["events"] + 1
    assert json.loads(after[key]["features"]) == ["invite_sent", "report_viewed"]
    assert after[key]["active_seconds"] == 20 * 60


def test_rows_gone_at_the_source_disappear_within_the_look_back(tmp_path: Path, fake: FakePostHog) -> None:
    ws = workspace(tmp_path)
    assert ws.sync("ph", streams=["usage"]).ok
    # Bob's person was merged into Alice's: his events now carry her person id
    for ev in fake.events:
        if ev.person == sc.BOB:
            ev.person = sc.ALICE
    assert ws.sync("ph", streams=["usage"]).ok
    rows = usage(ws)
    assert f"{sc.BOB}:2026-03-08" not in rows and f"{sc.BOB}:2026-03-10" not in rows
    assert f"{sc.BOB}:2026-03-06" in rows             # before the look-back: kept as it was
    assert rows[f"{sc.ALICE}:2026-03-08"]["events"] == 4


def test_resume_from_the_saved_day_after_a_failure(tmp_path: Path, fake: FakePostHog) -> None:
    def fail_on_march_6(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST" and "toDateTime('2026-03-06T00:00:00Z')" in json.loads(request.content)[
                "query"]["query"].split("timestamp <")[0]:
            return httpx.Response(400, json=pp.error("Unable to resolve field: nope"))
        return None

    fake.fail = fail_on_march_6
    ws = workspace(tmp_path)
    report = ws.sync("ph", streams=["usage"])
    assert not report.ok
    assert "Unable to resolve field: nope (invalid_input)" in report.results[0].error
    assert ws.store.get_state("ph", "usage") == {"next_day": "2026-03-06"}
    assert not usage(ws, "day >= '2026-03-06'")
    fake.fail, fake.queries[:] = None, []
    assert ws.sync("ph", streams=["usage"]).ok
    assert day_of(fake.queries[0]).isoformat() == "2026-03-06"     # not start_date again
    assert len(usage(ws)) == 18


def test_resume_mid_day_continues_after_the_last_committed_page(tmp_path: Path, fake: FakePostHog) -> None:
    day = "2026-03-06"
    calls = {"n": 0}

    def fail_second_page(request: httpx.Request) -> httpx.Response | None:
        query = json.loads(request.content)["query"]["query"] if request.method == "POST" else ""
        if "toString(person_id) >" in query and calls["n"] == 0:
            calls["n"] += 1
            return httpx.Response(400, json=pp.error("boom"))
        return None

    fake.fail = fail_second_page
    ws = workspace(tmp_path, start_date=day, page_size=2)
    assert not ws.sync("ph", streams=["usage"]).ok
    state = ws.store.get_state("ph", "usage")
    first_two = sorted([sc.ALICE, sc.BOB, sc.CARA])[:2]
    assert state == {"next_day": day, "after": [day, first_two[-1]]}
    assert set(usage(ws)) == {f"{u}:{day}" for u in first_two}
    fake.queries.clear()
    assert ws.sync("ph", streams=["usage"]).ok
    assert f"toString(person_id) > '{first_two[-1]}'" in fake.queries[0]
    assert len(usage(ws, "day = ?", (day,))) == 3          # the first page's rows were kept, not replaced


def test_multi_day_windows(tmp_path: Path, fake: FakePostHog) -> None:
    ws = workspace(tmp_path, days_per_query=4, page_size=5)
    assert ws.sync("ph", streams=["usage"]).ok
    windows = [day_of(q).isoformat() for q in fake.queries]
    assert windows[0] == "2026-03-01" and "2026-03-05" in windows and "2026-03-09" in windows
    assert any("toDate('2026-03-0" in q and "toString(person_id) >" in q for q in fake.queries)
    assert len(usage(ws)) == 18


def test_person_property_accounts_and_external_ids(tmp_path: Path, fake: FakePostHog) -> None:
    ws = workspace(tmp_path, account_property="company_id", account_id_source="hubspot")
    report = ws.sync()
    assert report.ok and set(results(report)) == {"usage", "persons"}      # no groups stream
    assert "person.properties['company_id']" in fake.queries[0]
    rows = usage(ws)
    assert {r["source_account_id"] for r in rows.values()} == {"acme", "globex"}
    contacts = {r["email"]: r for r in ws.rows("contacts")}
    assert contacts["bob@acme.com"]["source_account_id"] == "acme"
    assert contacts["bob@acme.com"]["name"] == "Bob Ray"
    assert contacts["cara@globex.io"]["title"] == "Ops lead"
    accounts = {r["source_id"]: r for r in ws.rows("source_accounts")}
    assert set(accounts) == {"acme", "globex"}
    assert json.loads(accounts["acme"]["external_ids"]) == {"hubspot": "acme"}


def test_event_property_accounts_are_made_linkable(tmp_path: Path, fake: FakePostHog) -> None:
    fake.add_event(sc.CARA, "dashboard_shared", "2026-03-04 10:00:00", "s-x", props={"org": 77})
    ws = workspace(tmp_path, account_property="event.org", start_date="2026-03-04")
    assert ws.sync().ok
    assert "properties['org']" in fake.queries[0]
    assert usage(ws)[f"{sc.CARA}:2026-03-04"]["source_account_id"] == "77"
    assert [r["source_id"] for r in ws.rows("source_accounts")] == ["77"]


def test_usage_rows_link_to_group_accounts(tmp_path: Path, fake: FakePostHog) -> None:
    ws = workspace(tmp_path)
    assert ws.sync().ok
    link(ws.store, ws.config, ws.registry)
    linked = {r["source_account_id"]: r["account_id"] for r in ws.rows("usage_daily")}
    assert linked == {"acme": "ph:acme", "globex": "ph:globex"}
    names = {r["account_id"]: (r["name"], r["domain"]) for r in ws.rows("accounts")}
    assert names["ph:globex"] == ("Globex", "globex.io")


def test_groups_are_read_by_keyset(tmp_path: Path, fake: FakePostHog) -> None:
    for n in range(5):
        fake.add_group(0, f"org-{n}", {"name": f"Org {n}"})
    fake.add_group(1, "team-x", {"name": "not this type"})
    ws = workspace(tmp_path, page_size=3)
    assert ws.sync("ph", streams=["groups"]).ok
    group_queries = [q for q in fake.queries if "FROM groups" in q]
    assert len(group_queries) == 3 and "key > 'org-0'" in group_queries[1]
    assert sorted(r["source_id"] for r in ws.rows("source_accounts")) == \
        ["acme", "globex"] + [f"org-{n}" for n in range(5)]


def test_no_account_anywhere_warns(tmp_path: Path, fake: FakePostHog, caplog: pytest.LogCaptureFixture) -> None:
    ws = workspace(tmp_path, account_property="$group_3", start_date="2026-03-09")
    with caplog.at_level(logging.WARNING, logger="csconnect.posthog"):
        assert ws.sync("ph", streams=["usage"]).ok
    assert "none of the 4 user-days read had an account in the event's group $group_3" in caplog.text


def test_feature_events_and_anonymous_users(tmp_path: Path, fake: FakePostHog) -> None:
    ws = workspace(tmp_path, start_date="2026-03-09", feature_events=["$pageview", "dashboard_shared"],
                   anonymous_users=True, exclude_events=[])
    assert ws.sync("ph", streams=["usage"]).ok
    rows = usage(ws)
    assert json.loads(rows[f"{sc.CARA}:2026-03-09"]["features"]) == ["$pageview", "dashboard_shared"]
    assert json.loads(rows[f"{sc.ALICE}:2026-03-09"]["features"]) == ["$pageview"]
    assert rows[f"{sc.ALICE}:2026-03-09"]["events"] == 3           # $feature_flag_called counts now
    assert f"{sc.VISITOR}:2026-03-09" in rows


def test_malformed_row_is_rejected_with_its_user_and_day(tmp_path: Path, fake: FakePostHog) -> None:
    fake.corrupt[("2026-03-04", sc.BOB)] = {"features": "not-json"}
    ws = workspace(tmp_path, start_date="2026-03-04")
    assert ws.sync("ph", streams=["usage"]).ok
    rejects = ws.rejects()
    assert len(rejects) == 1 and rejects[0]["reason"].startswith(f"user {sc.BOB} on 2026-03-04: usage_daily.features")
    assert f"{sc.ALICE}:2026-03-04" in usage(ws)
