"""csconnect's standard connector suite, run against an in-memory Zendesk."""
from __future__ import annotations

from typing import Any

import httpx

from csconnect.testing import ConnectorSuite
from csconnect_zendesk import ZendeskConnector

import zendesk_payloads as zp
import zendesk_scenario
from zendesk_fake import EMAIL, TOKEN, FakeZendesk

SETTINGS = {"subdomain": zp.SUBDOMAIN, "email": EMAIL, "api_token": TOKEN, "start_date": zendesk_scenario.START_DATE}


class TestZendeskConnector(ConnectorSuite):
    connector = ZendeskConnector
    settings = SETTINGS
    # A time-based export starts again at the last sync's end_time, so the organization updated
    # in that second comes again; ratings are re-read csat_lookback_days (28) back.
    incremental_overlap = {"organizations": 1, "satisfaction_ratings": 1}

    def mock_api(self, respx_mock: Any) -> FakeZendesk:
        # csconnect.testing resets the calls with `respx_mock.calls.reset()`, which on respx's
        # CallList (a list that is also a Mock) is an auto-created no-op; make it clear the list.
        respx_mock.calls.reset = respx_mock.calls.clear
        return zendesk_scenario.populate(FakeZendesk(respx_mock))

    def add_new_data(self, api: FakeZendesk) -> dict[str, int]:
        return zendesk_scenario.add_changes(api)

    def mock_unauthorized(self, respx_mock: Any) -> None:
        FakeZendesk(respx_mock, token="some-other-token")

    def mock_malformed(self, respx_mock: Any) -> None:
        fake = zendesk_scenario.populate(FakeZendesk(respx_mock))
        broken = zp.ticket(99, created=zendesk_scenario.T0, status="open")
        broken["created_at"] = "last Tuesday"
        fake.add("tickets", broken)


def test_the_fake_answers_like_zendesk(respx_mock: Any) -> None:
    zendesk_scenario.populate(FakeZendesk(respx_mock))
    auth = httpx.BasicAuth(f"{EMAIL}/token", TOKEN)
    body = httpx.get(f"{zp.BASE}/api/v2/incremental/tickets/cursor.json",
                     params={"start_time": zp.epoch("2026-01-01T00:00:00Z"), "include": "metric_sets"},
                     auth=auth).json()
    assert set(body) == {"tickets", "metric_sets", "after_url", "after_cursor", "before_url", "before_cursor",
                         "end_of_stream"}
    assert body["end_of_stream"] is True and len(body["tickets"]) == 7 and len(body["metric_sets"]) == 7
    assert body["after_url"].endswith(f"cursor={body['after_cursor']}")
    orgs = httpx.get(f"{zp.BASE}/api/v2/incremental/organizations.json", params={"start_time": 0}, auth=auth).json()
    assert set(orgs) == {"organizations", "count", "end_of_stream", "end_time", "next_page"}
    assert httpx.get(f"{zp.BASE}/api/v2/groups.json", auth=httpx.BasicAuth("x", "y")).status_code == 401
