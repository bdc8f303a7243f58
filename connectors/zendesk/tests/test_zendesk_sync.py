"""Syncing against an in-memory Zendesk: export requests, end_of_stream, resuming, 429s, duplicates, deletes."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from csconnect.testing import Workspace
from csconnect_zendesk import ZendeskConnector
from csconnect_zendesk.streams import OrganizationsStream, TicketsStream

import zendesk_payloads as zp
import zendesk_scenario
from test_zendesk_suite import SETTINGS
from zendesk_fake import FakeZendesk, throttled
from zendesk_scenario import DAY, T0

TICKETS = "/api/v2/incremental/tickets/cursor.json"
ORGS = "/api/v2/incremental/organizations.json"


def workspace(tmp_path: Path, **settings: Any) -> Workspace:
    return Workspace(tmp_path, ZendeskConnector, connections={"zendesk": dict(SETTINGS, connector="zendesk",
                                                                               **settings)})


def results(report: Any) -> dict[str, Any]:
    return {r.stream: r for r in report.results}


def state(ws: Workspace, stream: str) -> dict[str, Any]:
    return ws.store.get_state("zendesk", stream)


@pytest.fixture
def fake(respx_mock: Any) -> FakeZendesk:
    return zendesk_scenario.populate(FakeZendesk(respx_mock))


def test_first_sync_starts_at_start_date_and_later_ones_follow_the_cursor(tmp_path: Path, fake: FakeZendesk) -> None:
    ws = workspace(tmp_path)
    assert ws.sync().ok
    start = zp.epoch("2026-01-01T00:00:00Z")
    assert fake.paths(TICKETS) == [f"{TICKETS}?start_time={start}&include=metric_sets"]
    assert fake.paths("/api/v2/incremental/users") == [f"/api/v2/incremental/users/cursor.json?start_time={start}"]
    assert fake.paths(ORGS) == [f"{ORGS}?start_time={start}"]
    saved = state(ws, "tickets")["cursor"]
    assert zp.read_token(saved) == [str(T0 + 6 * 3600 + DAY), "7"]        # the last ticket's position
    fake.route.calls.clear()
    assert ws.sync().ok
    # the cursor alone: no start_time beside it, and the sideload on every page
    assert fake.paths(TICKETS) == [f"{TICKETS}?include=metric_sets&cursor={saved}"]
    assert fake.paths(ORGS) == [f"{ORGS}?start_time={T0 - 20 * DAY}"]      # the last end_time
    for request in fake.calls:
        assert request.headers["Authorization"].startswith("Basic ")


def test_pages_until_end_of_stream_and_saves_every_cursor(tmp_path: Path, fake: FakeZendesk) -> None:
    fake.export_page_size = 2
    ws = workspace(tmp_path)
    report = results(ws.sync())
    assert report["tickets"].pages == 4 and report["tickets"].records == 7
    calls = fake.paths(TICKETS)
    assert len(calls) == 4 and "start_time" in calls[0]
    assert all("cursor=" in c and "start_time" not in c for c in calls[1:])
    assert all("include=metric_sets" in c for c in calls)
    assert len(ws.rows("tickets")) == 7


def test_a_crash_resumes_from_the_saved_after_cursor(tmp_path: Path, fake: FakeZendesk) -> None:
    fake.export_page_size = 2
    reference = workspace(tmp_path / "uninterrupted")
    assert reference.sync().ok
    expected = reference.snapshot()
    fake.route.calls.clear()

    asked = []

    def crash_on_third_page(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == TICKETS:
            asked.append(request)
            if len(asked) == 3:
                raise RuntimeError("the machine went down")
        return None

    fake.fail = crash_on_third_page
    ws = workspace(tmp_path / "crashed")
    first = results(ws.sync())
    assert first["tickets"].status == "failed" and first["tickets"].pages == 2
    assert len(ws.rows("tickets")) == 4
    saved = state(ws, "tickets")["cursor"]
    assert zp.read_token(saved)[1] == "4"                   # committed up to the second page
    fake.fail = None
    fake.route.calls.clear()
    second = results(ws.sync())
    assert second["tickets"].status == "ok" and second["tickets"].records == 3
    assert fake.paths(TICKETS)[0] == f"{TICKETS}?include=metric_sets&cursor={saved}"
    assert ws.snapshot() == expected


def test_a_429_storm_on_the_export_waits_each_retry_after_and_completes(tmp_path: Path, fake: FakeZendesk) -> None:
    fake.export_page_size = 3
    storm = [7, 13, 21, 30, 45, 60, 5, 9]       # more than max_attempts (6) in a row
    served = {"pages": 0, "throttled": 0}

    def export_limit(request: httpx.Request) -> httpx.Response | None:
        if request.url.path != TICKETS:
            return None
        if served["pages"] == 1 and served["throttled"] < len(storm):       # on the second page
            served["throttled"] += 1
            return throttled(storm[served["throttled"] - 1])
        served["pages"] += 1
        return None

    fake.fail = export_limit
    ws = workspace(tmp_path)
    report = results(ws.sync())
    assert report["tickets"].status == "ok", report["tickets"].error
    assert ws.waits == [float(s) for s in storm]
    assert report["tickets"].records == 7 and len(ws.rows("tickets")) == 7
    calls = fake.paths(TICKETS)
    assert len(calls) == 3 + len(storm)
    assert len(set(calls[1:2 + len(storm)])) == 1            # the same second page, asked again and again


def test_export_requests_are_paced_by_a_shared_limiter(tmp_path: Path, fake: FakeZendesk) -> None:
    fake.export_page_size = 2
    ws = workspace(tmp_path)
    connector = ZendeskConnector("zendesk", ws.config.connections["zendesk"].settings, sleep=lambda s: None)
    assert connector.export_limiter.rate == pytest.approx(10 / 60) and connector.export_limiter.burst == 1
    assert connector.http.rate_limiter.rate == pytest.approx(1.6)

    class Counter:
        acquired = 0

        def acquire(self) -> None:
            Counter.acquired += 1

    connector.export_limiter = Counter()
    pages = list(TicketsStream(connector).pages(None)) + list(OrganizationsStream(connector).pages(None))
    exports = fake.paths(TICKETS) + fake.paths(ORGS)
    assert Counter.acquired == len(exports) == len(pages) == 4 + 1
    connector.close()
    faster = ZendeskConnector("zendesk", dict(ws.config.connections["zendesk"].settings, export_rate_limit=30))
    assert faster.export_limiter.rate == pytest.approx(0.5)


def test_time_based_duplicates_are_read_once(tmp_path: Path, fake: FakeZendesk) -> None:
    fake.organizations.clear()
    for i in range(5):
        fake.add("organizations", zp.organization(600 + i, f"Org {i}", created=T0 + i * DAY))
    fake.export_page_size = 2
    ws = workspace(tmp_path)
    report = results(ws.sync())
    # pages [0 1] [1 2] [2 3] [3 4] (end_of_stream): each boundary org comes twice, each is read once
    assert report["organizations"].pages == 4 and report["organizations"].records == 5
    assert fake.paths(ORGS)[1:] == [f"{ORGS}?start_time={T0 + i * DAY}" for i in range(1, 4)]
    assert sorted(r["id"] for r in ws.rows("raw_zendesk__organizations")) == [str(600 + i) for i in range(5)]
    assert state(ws, "organizations") == {"start_time": T0 + 4 * DAY}


def test_the_same_record_twice_in_one_page_counts_once(tmp_path: Path, fake: FakeZendesk) -> None:
    org = zp.organization(700, "Twice", created=T0)

    def doubled(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == ORGS:
            return httpx.Response(200, json=zp.time_export(ORGS, "organizations", [org, org], T0, True))
        return None

    fake.fail = doubled
    ws = workspace(tmp_path)
    assert results(ws.sync())["organizations"].records == 1
    assert [r["source_id"] for r in ws.rows("source_accounts")] == ["700"]


def test_a_deleted_ticket_leaves_the_tickets_table(tmp_path: Path, fake: FakeZendesk) -> None:
    ws = workspace(tmp_path)
    assert ws.sync().ok
    assert ws.rows("tickets", "source_id = '7'")
    fake.add("tickets", zp.deleted_ticket(fake.tickets[7], at=T0 + 50 * DAY))
    report = results(ws.sync())
    assert report["tickets"].records == 1
    assert not ws.rows("tickets", "source_id = '7'")
    raw = json.loads(ws.rows("raw_zendesk__tickets", "id = '7'")[0]["data"])
    assert raw["status"] == "deleted"
    ws.normalize()
    assert not ws.rows("tickets", "source_id = '7'") and len(ws.rows("tickets")) == 6


def test_an_agent_token_fails_the_exports_in_one_line(tmp_path: Path, respx_mock: Any) -> None:
    zendesk_scenario.populate(FakeZendesk(respx_mock, role="agent"))
    report = results(workspace(tmp_path).sync())
    for name in ("organizations", "users", "tickets"):
        error = report[name].error
        assert report[name].status == "failed" and "\n" not in error
        assert error.startswith("zendesk: GET /api/v2/incremental/") and "HTTP 403" in error
        assert "incremental exports need an admin" in error and "Forbidden" in error
    assert report["satisfaction_ratings"].status == "ok"


def test_a_start_time_is_never_within_the_last_minute(tmp_path: Path, fake: FakeZendesk) -> None:
    ws = workspace(tmp_path, start_date="2099-01-01")
    assert ws.sync().ok                      # the fake refuses a start_time newer than a minute ago
    starts = [int(httpx.URL(p).params["start_time"]) for p in fake.paths("/api/v2/incremental/")]
    assert starts and all(s <= fake.clock() - 60 for s in starts)


def test_an_export_page_without_end_of_stream_is_one_line(tmp_path: Path, fake: FakeZendesk) -> None:
    def truncated(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == TICKETS:
            return httpx.Response(200, json={"tickets": [], "after_cursor": None})
        return None

    fake.fail = truncated
    report = results(workspace(tmp_path).sync())
    assert report["tickets"].status == "failed"
    assert report["tickets"].error == f"zendesk: GET {TICKETS} returned an export page without end_of_stream"


def test_a_rating_page_cursor_refused_on_resume_restarts_from_the_saved_position(tmp_path: Path,
                                                                                 fake: FakeZendesk) -> None:
    ws = workspace(tmp_path)
    since = T0 + 2 * DAY
    ws.store.set_state("zendesk", "satisfaction_ratings",
                       {"since": since, "start_time": since - 28 * DAY, "after": "bm90LWEtY3Vyc29y", "newest": since})
    report = results(ws.sync())
    assert report["satisfaction_ratings"].status == "ok"
    asked = fake.paths("/api/v2/satisfaction_ratings")
    assert "page[after]=bm90LWEtY3Vyc29y" in asked[0] and "page[after]" not in asked[1]
    assert asked[1].endswith(f"start_time={since - 28 * DAY}")
    assert {r["source_id"] for r in ws.rows("survey_responses")} == {"801", "802"}
    assert state(ws, "satisfaction_ratings") == {"since": T0 + 40 * DAY}


def test_a_retry_after_beyond_fifteen_minutes_stops_the_stream_instead(tmp_path: Path, fake: FakeZendesk) -> None:
    fake.fail = lambda request: throttled(3600) if request.url.path == TICKETS else None
    ws = workspace(tmp_path)
    report = results(ws.sync())
    assert report["tickets"].status == "failed" and ws.waits == []
    assert "HTTP 429" in report["tickets"].error and "15-minute limit; try again later" in report["tickets"].error
    assert report["users"].status == "ok"


def test_ratings_page_by_cursor_and_a_crash_resumes_inside_the_run(tmp_path: Path, fake: FakeZendesk) -> None:
    fake.add("ratings", *[zp.rating(1000 + i, 1, 101, "good", created=T0 + i * 60) for i in range(150)])
    asked = []

    def crash_on_second_page(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/api/v2/satisfaction_ratings.json":
            asked.append(request)
            if len(asked) == 2:
                raise RuntimeError("the machine went down")
        return None

    fake.fail = crash_on_second_page
    ws = workspace(tmp_path)
    assert results(ws.sync())["satisfaction_ratings"].status == "failed"
    saved = state(ws, "satisfaction_ratings")
    start = zp.epoch("2026-01-01T00:00:00Z")
    assert saved["start_time"] == start and saved["after"] and "since" not in saved   # a first run
    fake.route.calls.clear()
    report = results(ws.sync())
    assert report["satisfaction_ratings"].records == 53          # 153 ratings, 100 committed before the crash
    assert fake.paths("/api/v2/satisfaction_ratings") == [
        f"/api/v2/satisfaction_ratings.json?page[size]=100&start_time={start}&page[after]={saved['after']}"]
    assert len(ws.rows("survey_responses")) == 152                # all but the offered one
    assert state(ws, "satisfaction_ratings") == {"since": T0 + 40 * DAY}
