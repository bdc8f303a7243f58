"""Tests for the Feedback Board connector: the standard suite plus what is special to this API."""
from __future__ import annotations

from typing import Any

import httpx
import pytest

from csconnect import AuthError, ConfigError
from csconnect.testing import ConnectorSuite, Workspace, plugin_registry  # noqa: F401 - a fixture
from csconnect_example_connector import ExampleConnector, plugin

BASE = "https://api.feedbackboard.example"
TOKEN = "fb-test-token-123"


def company(n: int, segment: str) -> dict[str, Any]:
    return {"id": f"c_{n}", "name": f"Company {n}", "domain": f"company{n}.example", "segment": segment,
            "plan": "pro", "seats": 10 * n, "created_at": "2025-06-01T09:00:00Z"}


def response(n: int, company_id: str, kind: str, score: Any, day: str) -> dict[str, Any]:
    return {"id": f"r_{n}", "survey": {"id": f"s_{kind}", "kind": kind}, "score": score,
            "comment": f"comment {n}", "channel": "email", "company_id": company_id,
            "respondent": {"id": f"p_{n}", "email": f"person{n}@{company_id}.example", "name": f"Person {n}"},
            "answered_at": f"{day}T10:00:00Z", "updated_at": f"{day}T10:00:00Z"}


class FakeFeedbackBoard:
    """The Feedback Board API as respx side effects: Bearer auth, cursor pages, inclusive updated_since."""

    def __init__(self, respx_mock: Any, page_size: int = 2):
        self.companies = [company(1, "enterprise"), company(2, "smb"), company(3, "smb")]
        self.responses = [response(1, "c_1", "nps", 10, "2026-01-05"), response(2, "c_1", "nps", 6, "2026-01-20"),
                          response(3, "c_2", "nps", 9, "2026-01-25"), response(4, "c_2", "csat", 5, "2026-02-03"),
                          response(5, "c_3", "ces", 6, "2026-02-10")]
        self.page_size = page_size
        self.status = 200
        respx_mock.get(f"{BASE}/v1/me").mock(side_effect=self.me)
        self.companies_route = respx_mock.get(f"{BASE}/v1/companies").mock(side_effect=self.list(lambda: self.companies))
        self.responses_route = respx_mock.get(f"{BASE}/v1/responses").mock(side_effect=self.list(self.changed))

    def authorized(self, request: httpx.Request) -> bool:
        return self.status == 200 and request.headers.get("Authorization") == f"Bearer {TOKEN}"

    def me(self, request: httpx.Request) -> httpx.Response:
        if not self.authorized(request):
            return httpx.Response(401, json={"error": {"message": "invalid token"}})
        return httpx.Response(200, json={"workspace": {"id": "w_1", "name": "Acme feedback"}})

    def changed(self, since: str | None = None) -> list[dict[str, Any]]:
        rows = sorted(self.responses, key=lambda r: (r["updated_at"], r["id"]))
        return [r for r in rows if not since or r["updated_at"] >= since]

    def list(self, source: Any) -> Any:
        def handler(request: httpx.Request) -> httpx.Response:
            if not self.authorized(request):
                return httpx.Response(401, json={"error": {"message": "invalid token"}})
            params = request.url.params
            since = params.get("updated_since")
            rows = source(since) if since else source()
            start = int(params.get("cursor") or 0)
            limit = min(int(params.get("limit", self.page_size)), self.page_size)
            more = start + limit < len(rows)
            return httpx.Response(200, json={"data": rows[start:start + limit],
                                             "next_cursor": str(start + limit) if more else None})
        return handler


class TestExampleConnector(ConnectorSuite):
    connector = ExampleConnector
    settings = {"api_token": TOKEN}
    # updated_since is inclusive: the newest answer of the last sync is read once more.
    incremental_overlap = {"responses": 1}

    def mock_api(self, respx_mock: Any) -> FakeFeedbackBoard:
        return FakeFeedbackBoard(respx_mock)

    def add_new_data(self, api: FakeFeedbackBoard) -> dict[str, int]:
        api.responses.append(response(6, "c_1", "nps", 8, "2026-02-20"))
        api.responses[0] = dict(api.responses[0], comment="edited", updated_at="2026-02-21T08:00:00Z")
        return {"responses": 2}

    def mock_unauthorized(self, respx_mock: Any) -> None:
        FakeFeedbackBoard(respx_mock).status = 401

    def mock_malformed(self, respx_mock: Any) -> None:
        FakeFeedbackBoard(respx_mock).responses[1]["score"] = "n/a"


def test_plugin_module_registers_the_connector(plugin_registry: Any) -> None:
    registry = plugin_registry(plugin)
    assert registry.connector("example_connector") is ExampleConnector


def test_rows_carry_scale_contact_and_account(tmp_path: Any, respx_mock: Any) -> None:
    FakeFeedbackBoard(respx_mock)
    ws = Workspace(tmp_path, ExampleConnector, connections={"fb": {"connector": "example_connector",
                                                                   "api_token": TOKEN}})
    assert ws.sync().ok
    nps = ws.rows("survey_responses", "source_id = 'r_1'")[0]
    assert (nps["kind"], nps["score"], nps["scale_min"], nps["scale_max"]) == ("nps", 10, 0, 10)
    assert (nps["source_account_id"], nps["contact_id"], nps["responded_at"]) == ("c_1", "fb:p_1",
                                                                                   "2026-01-05T10:00:00Z")
    assert ws.rows("contacts", "id = 'fb:p_1'")[0]["email"] == "person1@c_1.example"
    acme = ws.rows("source_accounts", "source_id = 'c_1'")[0]
    assert acme["domain"] == "company1.example" and '"segment":"enterprise"' in acme["attributes"]
    calls = [c.request for c in respx_mock.calls]
    assert all(r.headers["FeedbackBoard-Version"] == "2024-06-01" for r in calls)


def test_incremental_state_and_resume_point(tmp_path: Any, respx_mock: Any) -> None:
    api = FakeFeedbackBoard(respx_mock)
    ws = Workspace(tmp_path, ExampleConnector, connections={"fb": {"connector": "example_connector",
                                                                   "api_token": TOKEN}})
    assert ws.sync().ok
    assert ws.store.get_state("fb", "responses") == {"updated_since": "2026-02-10T10:00:00Z"}
    assert ws.store.get_state("fb", "companies") is None     # full read every time
    seen = len(api.responses_route.calls)
    assert ws.sync().ok
    assert api.responses_route.calls[seen].request.url.params["updated_since"] == "2026-02-10T10:00:00Z"


def test_a_crashed_sync_resumes_after_the_last_saved_page(tmp_path: Any, respx_mock: Any) -> None:
    api = FakeFeedbackBoard(respx_mock)
    ws = Workspace(tmp_path, ExampleConnector, connections={"fb": {"connector": "example_connector",
                                                                   "api_token": TOKEN}})
    # What a sync that died after its first page of two answers left behind.
    ws.store.set_state("fb", "responses", {"updated_since": "2026-01-01T00:00:00Z", "cursor": "2",
                                           "newest": "2026-01-20T10:00:00Z"})
    report = ws.sync()
    assert {r.stream: r.records for r in report.results}["responses"] == 3      # r_3, r_4, r_5
    first = api.responses_route.calls[0].request.url.params
    assert (first["cursor"], first["updated_since"]) == ("2", "2026-01-01T00:00:00Z")
    assert ws.store.get_state("fb", "responses") == {"updated_since": "2026-02-10T10:00:00Z"}


def test_start_date_limits_the_first_sync(tmp_path: Any, respx_mock: Any) -> None:
    FakeFeedbackBoard(respx_mock)
    ws = Workspace(tmp_path, ExampleConnector, connections={"fb": {"connector": "example_connector",
                                                                   "api_token": TOKEN, "start_date": "2026-02-01"}})
    report = ws.sync()
    assert {r.stream: r.records for r in report.results}["responses"] == 2


def test_bad_options_are_one_line_config_errors(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match=r"connections.fb.page_size: must be at most 100, got 500$"):
        Workspace(tmp_path, ExampleConnector, connections={"fb": {"connector": "example_connector",
                                                                  "api_token": TOKEN, "page_size": 500}})
    with pytest.raises(ConfigError, match=r"connections.fb.start_date: not a date"):
        ExampleConnector("fb", {"api_token": TOKEN, "page_size": 10, "start_date": "last tuesday"})


def test_check_names_the_workspace_and_hides_the_token(respx_mock: Any) -> None:
    api = FakeFeedbackBoard(respx_mock)
    connector = ExampleConnector("fb", {"api_token": TOKEN, "page_size": 10, "base_url": BASE})
    assert connector.check() == "workspace Acme feedback"
    api.status = 401
    with pytest.raises(AuthError) as info:
        ExampleConnector("fb", {"api_token": TOKEN, "page_size": 10, "base_url": BASE}).check()
    assert "api_token" in str(info.value) and "invalid token" in str(info.value) and TOKEN not in str(info.value)
