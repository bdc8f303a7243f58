"""Talking to PostHog: check(), credentials and scopes, regions, retries, the persons list, errors."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from csconnect import AuthError, ConfigError
from csconnect.testing import Workspace
from csconnect_posthog import PostHogConnector
from csconnect_posthog import streams as posthog_streams

import posthog_payloads as pp
import posthog_scenario as sc
from posthog_fake import API_KEY, PROJECT, FakePostHog

BASE = {"connector": "posthog", "api_key": API_KEY, "project_id": PROJECT, "start_date": "2026-03-09"}


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(posthog_streams, "utc_today", lambda: sc.TODAY)


def workspace(tmp_path: Path, **settings: Any) -> Workspace:
    return Workspace(tmp_path, PostHogConnector, connections={"ph": {**BASE, **settings}})


def connector(ws: Workspace) -> PostHogConnector:
    return PostHogConnector("ph", ws.config.connections["ph"].settings, sleep=ws.waits.append)


def test_check_is_one_probe_query(tmp_path: Path, respx_mock: Any) -> None:
    fake = FakePostHog(respx_mock)
    ws = workspace(tmp_path)
    assert connector(ws).check() == ("project 4242 at https://us.posthog.com; accounts from the event's group "
                                     "$group_0")
    assert len(fake.calls) == 1
    request = fake.calls[0]
    assert request.method == "POST" and request.url.path == "/api/projects/4242/query/"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert json.loads(request.content) == {"query": {"kind": "HogQLQuery", "query": "SELECT 1"},
                                           "refresh": "force_blocking", "name": "csconnect check"}


def test_check_401_is_one_line_naming_key_and_region(tmp_path: Path, respx_mock: Any) -> None:
    FakePostHog(respx_mock, api_key="phx_another")
    ws = workspace(tmp_path)
    with pytest.raises(AuthError) as info:
        connector(ws).check()
    text = str(info.value)
    assert text == ("ph: the API key was rejected (401): Personal API key found in request Authorization header "
                    "is invalid. (authentication_failed); use a personal API key (phx_…) created in the region "
                    "of https://us.posthog.com")
    assert API_KEY not in text


def test_check_403_names_the_missing_scope(tmp_path: Path, respx_mock: Any) -> None:
    respx_mock.post("https://us.posthog.com/api/projects/4242/query/").respond(403, json=pp.missing_scope("query:read"))
    ws = workspace(tmp_path)
    with pytest.raises(AuthError) as info:
        connector(ws).check()
    assert str(info.value) == ("ph: the API key was refused (403): the API key lacks the scope query:read; add it "
                               "to the key under PostHog → Settings → Personal API keys")


def test_sync_403_on_persons_names_person_read(tmp_path: Path, respx_mock: Any) -> None:
    fake = sc.populate(FakePostHog(respx_mock))
    fake.fail = lambda r: httpx.Response(403, json=pp.missing_scope("person:read")) if "persons" in r.url.path \
        else None
    ws = workspace(tmp_path)
    report = {r.stream: r for r in ws.sync().results}
    assert report["usage"].status == "ok" and report["groups"].status == "ok"
    error = report["persons"].error
    assert error.startswith("ph: the credentials were rejected (403)") and "\n" not in error
    assert "the API key lacks the scope person:read" in error


def test_a_project_api_key_is_refused_before_any_request(tmp_path: Path, respx_mock: Any) -> None:
    with pytest.raises(ConfigError) as info:
        workspace(tmp_path, api_key="phc_public_project_token").sync()
    assert "project API key (phc_…)" in str(info.value) and "phx_" in str(info.value)
    assert not respx_mock.calls


@pytest.mark.parametrize("setting, value, words", [
    ("account_property", "$group_7", "use $group_0 to $group_4"),
    ("account_property", "person.", "names no property"),
    ("start_date", "03/01/2026", "YYYY-MM-DD"),
    ("start_date", "2026-02-30", "not a real day"),
    ("feature_events", ["ok", 3], "list of event names"),
])
def test_bad_settings_are_one_line_config_errors(tmp_path: Path, setting: str, value: Any, words: str) -> None:
    ws = workspace(tmp_path, **{setting: value})
    with pytest.raises(ConfigError) as info:
        connector(ws)
    assert str(info.value).startswith(f"connections.ph.{setting}:") and words in str(info.value)


def test_eu_region(tmp_path: Path, respx_mock: Any) -> None:
    fake = sc.populate(FakePostHog(respx_mock, host="eu.posthog.com"))
    ws = workspace(tmp_path, base_url="https://eu.posthog.com")
    assert connector(ws).check().startswith("project 4242 at https://eu.posthog.com")
    assert ws.sync().ok
    assert {c.url.host for c in fake.calls} == {"eu.posthog.com"}
    assert ws.rows("usage_daily") and ws.rows("contacts")


def test_429_waits_as_told_then_backs_off(tmp_path: Path, respx_mock: Any) -> None:
    fake = sc.populate(FakePostHog(respx_mock))
    throttles = [httpx.Response(429, json=pp.throttled(7), headers={"Retry-After": "7"}),
                 httpx.Response(429, json=pp.error("Too many simultaneous queries. Try again later.",
                                                   type="throttled_error", code="throttled"))]
    fake.fail = lambda r: throttles.pop(0) if throttles and r.method == "POST" else None
    ws = workspace(tmp_path)
    assert ws.sync("ph", streams=["usage"]).ok
    assert ws.waits[0] == 7.0                     # Retry-After obeyed
    assert len(ws.waits) == 2 and 1.0 <= ws.waits[1] <= 2.0   # no Retry-After: jittered backoff
    assert len(ws.rows("usage_daily")) == 4


def test_persons_follow_next_urls(tmp_path: Path, respx_mock: Any) -> None:
    fake = sc.populate(FakePostHog(respx_mock))
    ws = workspace(tmp_path, persons_page_size=3)
    assert ws.sync("ph", streams=["persons"]).ok
    urls = [str(c.url) for c in fake.calls]
    assert urls == ["https://us.posthog.com/api/projects/4242/persons/?limit=3",
                    "https://us.posthog.com/api/projects/4242/persons/?limit=3&offset=3"]
    assert sorted(r["email"] for r in ws.rows("contacts")) == ["alice@acme.com", "bob@acme.com", "cara@globex.io"]
    assert ws.store.get_state("ph", "persons") is None          # a full listing starts over next time


def test_a_persons_next_url_on_another_host_is_refused(tmp_path: Path, respx_mock: Any) -> None:
    fake = sc.populate(FakePostHog(respx_mock))
    fake.next_host = "posthog.attacker.example"
    elsewhere = respx_mock.route(host="posthog.attacker.example").respond(200, json=pp.persons_page([], None, None))
    ws = workspace(tmp_path, persons_page_size=2)
    result = ws.sync("ph", streams=["persons"]).results[0]
    assert result.status == "failed"
    assert "refusing to send a request to https://posthog.attacker.example" in result.error
    assert not elsewhere.called
    assert len(ws.rows("contacts")) == 2                      # the first page landed


def test_wrong_project_id_is_one_line(tmp_path: Path, respx_mock: Any) -> None:
    FakePostHog(respx_mock)
    ws = workspace(tmp_path, project_id=99)
    result = ws.sync("ph", streams=["usage"]).results[0]
    assert result.error == ("ph: POST /api/projects/99/query/ failed: HTTP 404: project 99 was not found at "
                            "https://us.posthog.com (Project not found.); check project_id (PostHog → Settings → "
                            "Project) and the region")
    assert not ws.waits                                           # not retried


def test_query_time_limit_stops_without_retrying(tmp_path: Path, respx_mock: Any) -> None:
    route = respx_mock.post("https://us.posthog.com/api/projects/4242/query/").respond(
        500, json=pp.error("Query has hit the max execution time before completing. See our docs for how to "
                           "improve your query performance. You may need to materialize.",
                           type="server_error", code="query_timeout"))
    ws = workspace(tmp_path)
    result = ws.sync("ph", streams=["usage"]).results[0]
    assert route.call_count == 1 and not ws.waits
    assert "PostHog stopped the query at its execution time limit" in result.error
    assert "lower days_per_query or page_size" in result.error and "\n" not in result.error


def test_a_server_error_is_retried_then_succeeds(tmp_path: Path, respx_mock: Any) -> None:
    fake = sc.populate(FakePostHog(respx_mock))
    failures = [httpx.Response(502, text="<html>Bad gateway</html>", headers={"Content-Type": "text/html"})]
    fake.fail = lambda r: failures.pop(0) if failures else None
    ws = workspace(tmp_path)
    assert ws.sync("ph", streams=["usage"]).ok and len(ws.waits) == 1


def test_a_response_without_columns_is_malformed(tmp_path: Path, respx_mock: Any) -> None:
    respx_mock.post("https://us.posthog.com/api/projects/4242/query/").respond(200, json={"results": [[1]]})
    ws = workspace(tmp_path)
    result = ws.sync("ph", streams=["usage"]).results[0]
    assert result.error == "ph: the query API answered without its column names"
