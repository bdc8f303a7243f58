"""Rate limits (429 storms, the daily quota), error envelopes and check()."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from csconnect import AuthError
from csconnect.testing import Workspace
from csconnect_hubspot import HubSpotConnector
from hubspot_fake import BASE, SETTINGS, TOKEN, FakeHubSpot, error, rate_limited, standard


def workspace(tmp_path: Any, **settings: Any) -> Workspace:
    return Workspace(tmp_path, HubSpotConnector, connections={"hs": {"connector": "hubspot", **SETTINGS, **settings}})


def connector(**settings: Any) -> HubSpotConnector:
    return HubSpotConnector("hs", {**SETTINGS, "base_url": BASE, **settings}, sleep=lambda s: None)


def test_a_429_storm_waits_as_told_and_completes(tmp_path: Any, respx_mock: Any) -> None:
    api = standard(respx_mock)
    search = "/crm/v3/objects/deals/search"
    api.queued += [
        (search, rate_limited()),                                          # no Retry-After: the 10 s window
        (search, rate_limited(retry_after="3")),                           # Retry-After wins
        (search, rate_limited(headers={"X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                                       "X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "0"})),
        (search, rate_limited("SECONDLY")),                                # the search API's per-second limit
        ("/crm/v4/associations/deals", rate_limited()),                    # other endpoints too
        ("/crm/v3/pipelines/deals", httpx.Response(502, text="<html>Bad gateway</html>")),
    ]
    ws = workspace(tmp_path)
    report = ws.sync(streams=["deals"])
    assert report.ok, [r.error for r in report.results]
    assert ws.waits[:5] == [10.0, 3.0, 10.0, 1.0, 10.0]
    assert len(ws.waits) == 6 and 0.5 <= ws.waits[5] <= 1.0              # a 502: the core's jittered backoff
    assert not api.queued
    assert len(ws.rows("deals")) == 3


def test_the_daily_quota_stops_the_stream_with_one_line(tmp_path: Any, respx_mock: Any) -> None:
    api = standard(respx_mock)
    api.queued.append(("/crm/v3/objects/deals/search", rate_limited("DAILY", headers={
        "X-HubSpot-RateLimit-Daily": "250000", "X-HubSpot-RateLimit-Daily-Remaining": "0"})))
    ws = workspace(tmp_path)
    (result,) = ws.sync(streams=["deals"]).results
    assert result.status == "failed" and "\n" not in result.error
    assert result.error.startswith("hs: POST /crm/v3/objects/deals/search failed: HTTP 429: the daily API quota "
                                   "of 250,000 requests of this HubSpot account is spent; it resets at midnight "
                                   "Europe/Berlin (")
    assert ws.waits == []                                                  # no retry
    assert [c.request.url.path for c in respx_mock.calls].count("/crm/v3/objects/deals/search") == 1
    assert TOKEN not in result.error


def test_daily_reset_time_in_the_account_time_zone() -> None:
    c = connector()
    response = rate_limited("DAILY")
    c.lookups.account = {"timeZone": "Europe/Berlin"}
    now = datetime(2026, 3, 1, 20, 15, tzinfo=timezone.utc)                # 21:15 in Berlin
    assert c.daily_message(response, now=now) == (
        "the daily API quota of this HubSpot account is spent; it resets at midnight Europe/Berlin "
        "(2026-03-01T23:00:00Z, in 2 h 45 min). Sync again after that")
    c.lookups.account = {"timeZone": "Not/AZone"}
    assert "resets at midnight in the HubSpot account's time zone" in c.daily_message(response, now=now)


def test_classify_leaves_other_statuses_to_the_core() -> None:
    c = connector()
    assert c.classify(httpx.Response(500)) is None
    assert c.classify(httpx.Response(404, json={"status": "error", "message": "nope"})) is None
    decision = c.classify(httpx.Response(429, text="slow down"))          # not HubSpot's body: still a window
    assert decision.retry and decision.wait == 10.0


def test_a_missing_scope_names_the_scope(tmp_path: Any, respx_mock: Any) -> None:
    api = standard(respx_mock)
    api.queued.append(("/crm/v3/objects/tickets/search", error(
        403, "This app hasn't been granted all required scopes to make this call. Read more about required scopes "
             "here: https://developers.hubspot.com/scopes.", "MISSING_SCOPES",
        errors=[{"message": "One or more of the following scopes are required.",
                 "context": {"requiredGranularScopes": ["tickets"]}}],
        links={"scopes": "https://developers.hubspot.com/scopes"})))
    ws = workspace(tmp_path)
    results = {r.stream: r for r in ws.sync().results}
    assert results["tickets"].status == "failed"
    assert "the credentials were rejected (403)" in results["tickets"].error
    assert "the token lacks the scope tickets: This app hasn't been granted" in results["tickets"].error
    assert all(r.status == "ok" for name, r in results.items() if name != "tickets")   # the others go on


def test_check_names_the_portal(respx_mock: Any) -> None:
    standard(respx_mock)
    assert connector().check() == "portal 62515 (STANDARD, Europe/Berlin, USD)"


def test_check_turns_a_rejected_token_into_one_line(respx_mock: Any) -> None:
    FakeHubSpot(respx_mock, token="pat-na1-another-token")
    with pytest.raises(AuthError) as info:
        connector().check()
    text = str(info.value)
    assert text.startswith("hs: the HubSpot token was rejected (401): Authentication credentials not found.")
    assert "create a private app" in text and "correlationId" not in text and TOKEN not in text
    assert "\n" not in text


def test_check_explains_a_refused_token(respx_mock: Any) -> None:
    respx_mock.get(f"{BASE}/account-info/v3/details").mock(return_value=error(
        403, "This oauth-token does not have proper permissions! (requires any of [oauth])", "MISSING_SCOPES"))
    with pytest.raises(AuthError, match=r"hs: the HubSpot token was rejected \(403\): This oauth-token .*"
                                        r"give the private app the scopes crm\.objects\.companies\.read"):
        connector().check()


def test_options_are_checked(tmp_path: Any) -> None:
    from csconnect import ConfigError
    with pytest.raises(ConfigError, match="skip_streams: no stream named invoices"):
        connector(skip_streams=["invoices"])
    with pytest.raises(ConfigError, match="deal_types: kinds must be"):
        connector(deal_types={"renewal": "churn"})
    with pytest.raises(ConfigError, match="lookback_minutes: must be at least 0"):
        workspace(tmp_path, lookback_minutes=-1)


def test_without_the_owners_scope_owner_ids_are_kept(tmp_path: Any, respx_mock: Any) -> None:
    api = standard(respx_mock)
    api.queued.append(("/crm/v3/owners", error(403, "This app hasn't been granted all required scopes to make this "
                                                    "call.", "MISSING_SCOPES")))
    ws = workspace(tmp_path)
    assert ws.sync(streams=["deals"]).ok
    assert ws.rows("deals", "source_id = '8001'")[0]["owner"] == "101"


def test_a_lookup_that_keeps_failing_fails_the_stream_rather_than_guess(tmp_path: Any, respx_mock: Any) -> None:
    api = standard(respx_mock)
    api.queued += [("/crm/v3/pipelines/tickets", httpx.Response(503, text="busy"))] * 6
    ws = workspace(tmp_path)
    (result,) = ws.sync(streams=["tickets"]).results
    assert result.status == "failed" and "GET /crm/v3/pipelines/tickets failed after 6 attempts" in result.error
    assert ws.store.get_state("hs", "tickets") is None and not ws.rows("tickets")
