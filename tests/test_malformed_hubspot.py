"""Malformed answers from HubSpot: each ends as a one-line error or a reject, and the rest lands.

The in-memory HubSpot of the connector's own tests serves its standard portal; records are
edited in the fake, or one answer is replaced (`queued`, served once for a path).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from csconnect.testing import Workspace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "connectors/hubspot/tests"))   # the fakes are test helpers, not packages

from csconnect_hubspot import HubSpotConnector  # noqa: E402
from hubspot_fake import MINUTE, SETTINGS, T0, crm_object, standard  # noqa: E402
from malformed_helpers import by_id, one_line, results  # noqa: E402

DEAL_SEARCH = "/crm/v3/objects/deals/search"


@pytest.fixture
def api(respx_mock: Any) -> Any:
    return standard(respx_mock)


def workspace(tmp_path: Path, **settings: Any) -> Workspace:
    return Workspace(tmp_path, HubSpotConnector, connections={"hs": {"connector": "hubspot", **SETTINGS, **settings}})


def test_a_search_page_that_is_not_json_fails_its_stream_in_one_line_and_the_rest_lands(tmp_path, api) -> None:
    broken = httpx.Response(200, content=b'{"total": 3, "results": [{"id": "80', headers={"Content-Type": "application/json"})
    api.queued += [(DEAL_SEARCH, broken), (DEAL_SEARCH, broken)]        # the retry gets it too
    ws = workspace(tmp_path)
    got = results(ws.sync(streams=["deals", "companies"]))
    assert got["deals"].status == "failed"
    error = one_line(got["deals"].error)
    assert error.startswith("hs: POST /crm/v3/objects/deals/search") and "not JSON" in error
    assert set(by_id(ws, "source_accounts")) == {"5001", "5002", "5003"}
    assert ws.sync(streams=["deals"]).ok                                 # HubSpot answers again: it resumes
    assert set(by_id(ws, "deals")) == {"8001", "8002", "8003"}


def test_a_record_without_its_id_is_rejected_and_its_neighbours_land(tmp_path, api) -> None:
    del api.objects["deals"]["8002"]["id"]
    ws = workspace(tmp_path)
    assert ws.sync(streams=["deals"]).ok
    assert set(by_id(ws, "deals")) == {"8001", "8003"}
    [reject] = ws.rejects()
    assert (reject["stream"], reject["record_id"], reject["reason"]) == ("deals", None, "record has no 'id'")
    assert json.loads(reject["payload"])["properties"]["dealname"] == "Northwind renewal 2027"


def test_a_search_that_answers_the_same_page_forever_stops_in_one_line(tmp_path, api) -> None:
    """The server ignores the filter and always says there is a next page."""
    page = {"total": 1, "results": [crm_object("deals", 8001, T0, T0, dealname="Loop")],
            "paging": {"next": {"after": "200"}}}
    api.queued += [(DEAL_SEARCH, httpx.Response(200, json=page)) for _ in range(30)]
    ws = workspace(tmp_path)
    got = results(ws.sync(streams=["deals"]))
    assert got["deals"].status == "failed"
    assert "endless loop" in one_line(got["deals"].error)
    assert len(api.queued) >= 20, "it asked the same search over and over"
    assert set(by_id(ws, "deals")) == {"8001"}                          # what it read is kept


def test_a_change_older_than_the_saved_position_still_lands(tmp_path, api) -> None:
    """Search lags writes: a record modified before the newest one already read is not lost."""
    api.touch("deals", 8003, T0 + 20 * MINUTE, dealname="Globex upsell v2")
    ws = workspace(tmp_path)
    assert ws.sync(streams=["deals"]).ok
    saved = ws.state("hs", "deals")["modified_after"]
    api.touch("deals", 8001, T0 + 15 * MINUTE, dealname="Northwind new (late)")   # earlier than `saved`
    assert ws.sync(streams=["deals"]).ok
    assert by_id(ws, "deals")["8001"]["source_id"] == "8001"
    raw = ws.store.query("SELECT data FROM raw_hs__deals WHERE id = '8001'")[0]["data"]
    assert json.loads(raw)["properties"]["dealname"] == "Northwind new (late)"
    assert ws.state("hs", "deals")["modified_after"] == saved              # the position never goes back


def test_unknown_enum_values_become_other_and_keep_the_original(tmp_path, api) -> None:
    api.touch("tickets", 9103, T0 + 5 * MINUTE, source_type="CARRIER_PIGEON", hs_ticket_priority="APOCALYPTIC")
    api.touch("feedback_submissions", 6003, T0 + 5 * MINUTE, hs_survey_type="VIBES", hs_value="3")
    ws = workspace(tmp_path)
    assert ws.sync(streams=["tickets", "feedback_submissions"]).ok
    assert not ws.rejects()
    ticket = by_id(ws, "tickets")["9103"]
    assert (ticket["channel"], ticket["source_type"]) == ("other", "CARRIER_PIGEON")
    assert ticket["priority"] == "apocalyptic" or ticket["priority"] == "APOCALYPTIC"
    survey = by_id(ws, "survey_responses")["6003"]
    assert survey["kind"] == "other" and survey["source_type"] in ("VIBES", "vibes")
    assert set(by_id(ws, "tickets")) == {"9101", "9102", "9103"}


def test_a_5_mb_property_lands_whole(tmp_path, api) -> None:
    big = "Northwind " + "x" * (5 * 1024 * 1024)
    api.touch("companies", 5001, T0 + 5 * MINUTE, name=big)
    ws = workspace(tmp_path)
    assert ws.sync(streams=["companies"]).ok and not ws.rejects()
    assert by_id(ws, "source_accounts")["5001"]["name"] == big


@pytest.mark.parametrize("broken", [b"M\xfcller \xff", b"\\udfff"], ids=["latin1-bytes", "lone-surrogate"])
def test_text_that_is_not_utf8_lands_with_replacement_characters(tmp_path, api, broken: bytes) -> None:
    page = {"total": 1, "results": [crm_object("companies", 5009, T0, T0, name="@@NAME@@", domain="bytes.example")]}
    raw = json.dumps(page).encode().replace(b"@@NAME@@", broken)
    api.queued.append(("/crm/v3/objects/companies/search",
                       httpx.Response(200, content=raw, headers={"Content-Type": "application/json"})))
    ws = workspace(tmp_path)
    report = ws.sync(streams=["companies"])
    assert report.ok, [r.error for r in report.results]
    assert "\ufffd" in by_id(ws, "source_accounts")["5009"]["name"]


def test_a_new_field_is_kept_raw_and_changes_nothing_else(tmp_path, api) -> None:
    api.objects["companies"]["5002"]["propertiesWithHistory"] = {"name": [{"value": "Globex", "sourceType": "CRM"}]}
    api.objects["companies"]["5002"]["properties"]["brand_new_property"] = "surprise"
    ws = workspace(tmp_path)
    assert ws.sync(streams=["companies"]).ok and not ws.rejects()
    raw = json.loads(ws.store.query("SELECT data FROM raw_hs__companies WHERE id = '5002'")[0]["data"])
    assert raw["propertiesWithHistory"]["name"][0]["value"] == "Globex"
    assert by_id(ws, "source_accounts")["5002"]["name"] == "Globex"


def test_numbers_and_dates_of_another_type_are_read_or_reject_their_record_only(tmp_path, api) -> None:
    deals = api.objects["deals"]
    deals["8001"]["properties"]["amount"] = 1234.5                    # a JSON number, not "1234.5"
    deals["8001"]["properties"]["createdate"] = str(T0)               # epoch ms text, not ISO
    deals["8002"]["properties"]["amount"] = "twelve thousand"         # not a number at all
    ws = workspace(tmp_path)
    assert ws.sync(streams=["deals"]).ok
    got = by_id(ws, "deals")
    assert got["8001"]["amount"] == 123450 and got["8001"]["created_at"] == "2026-01-05T10:00:00Z"
    assert "8003" in got and "8002" not in got
    [reject] = ws.rejects()
    assert reject["record_id"] == "8002" and "twelve thousand" in one_line(reject["reason"])
