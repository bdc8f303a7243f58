"""Malformed answers from Zendesk: each ends as a one-line error or a reject, and the rest lands.

The in-memory Zendesk of the connector's own tests serves Northwind's account; a hook rewrites
one endpoint's answer (a broken page, a record without its id, an export cursor that leads back,
an end_time that goes backwards, unknown values, a 5 MB field, bad bytes, new fields, changed types).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from csconnect.testing import Workspace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "connectors/zendesk/tests"))   # the fakes are test helpers, not packages

import zendesk_payloads as zp  # noqa: E402
import zendesk_scenario  # noqa: E402
from csconnect_zendesk import ZendeskConnector  # noqa: E402
from zendesk_fake import EMAIL, TOKEN, FakeZendesk  # noqa: E402
from malformed_helpers import by_id, one_line, results  # noqa: E402

SETTINGS = {"subdomain": zp.SUBDOMAIN, "email": EMAIL, "api_token": TOKEN, "start_date": zendesk_scenario.START_DATE}
TICKETS = "/api/v2/incremental/tickets/cursor.json"
ORGS = "/api/v2/incremental/organizations.json"


@pytest.fixture
def fake(respx_mock: Any) -> FakeZendesk:
    return zendesk_scenario.populate(FakeZendesk(respx_mock))


def workspace(tmp_path: Path, **settings: Any) -> Workspace:
    return Workspace(tmp_path, ZendeskConnector, connections={"zd": {"connector": "zendesk", **SETTINGS, **settings}})


def tamper(fake: FakeZendesk, path: str, edit: Callable[[dict, httpx.Request], Any]) -> list[httpx.Request]:
    """Serve `path` through `edit(body, request)`: it changes the body in place, or returns a Response."""
    seen: list[httpx.Request] = []

    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.url.path != path:
            return None
        seen.append(request)
        assert len(seen) < 100, f"{path} asked {len(seen)} times: the sync is looping"
        fake.fail = None
        try:
            answer = fake.handle(request)
        finally:
            fake.fail = hook
        body = answer.json()
        out = edit(body, request)
        return out if isinstance(out, httpx.Response) else httpx.Response(answer.status_code, json=body)

    fake.fail = hook
    return seen


def in_tickets(ticket_id: int, change: Callable[[dict], None]) -> Callable[[dict, httpx.Request], None]:
    def edit(body: dict, request: httpx.Request) -> None:
        for record in body.get("tickets", []):
            if record.get("id") == ticket_id:
                change(record)
    return edit


ALL_TICKETS = {str(i) for i in range(1, 8)}


def test_an_export_page_that_is_not_json_fails_its_stream_in_one_line_and_the_rest_lands(tmp_path, fake) -> None:
    tamper(fake, TICKETS, lambda body, request: httpx.Response(
        200, content=b'{"tickets": [{"id": 1, "subj', headers={"Content-Type": "application/json"}))
    ws = workspace(tmp_path)
    got = results(ws.sync())
    assert got["tickets"].status == "failed"
    error = one_line(got["tickets"].error)
    assert error.startswith(f"zd: GET {TICKETS}") and "not JSON" in error
    assert {"501", "502"} <= set(by_id(ws, "source_accounts")) and by_id(ws, "survey_responses")
    fake.fail = None
    assert ws.sync().ok
    assert set(by_id(ws, "tickets")) == ALL_TICKETS


def test_a_ticket_without_its_id_is_rejected_and_its_neighbours_land(tmp_path, fake) -> None:
    tamper(fake, TICKETS, in_tickets(3, lambda r: r.pop("id")))
    ws = workspace(tmp_path)
    assert ws.sync().ok
    assert set(by_id(ws, "tickets")) == ALL_TICKETS - {"3"}
    [reject] = ws.rejects()
    assert (reject["stream"], reject["record_id"], reject["reason"]) == ("tickets", None, "record has no 'id'")


def test_an_export_cursor_that_leads_back_to_an_earlier_page_stops_instead_of_looping(tmp_path, fake) -> None:
    fake.export_page_size = 2
    pages: list[dict] = []

    def edit(body: dict, request: httpx.Request) -> None:
        pages.append(json.loads(json.dumps(body)))
        if len(pages) == 3:                       # the third page answers as the first did
            body.clear()
            body.update(pages[0])
    seen = tamper(fake, TICKETS, edit)
    ws = workspace(tmp_path)
    got = results(ws.sync())
    assert got["tickets"].status == "failed"
    assert "endless loop" in one_line(got["tickets"].error) and len(seen) == 3
    assert set(by_id(ws, "tickets")) == {"1", "2", "3", "4"}               # the pages read are kept
    assert got["users"].status == "ok"
    fake.fail = None
    assert ws.sync().ok                                                     # and the next sync goes on
    assert set(by_id(ws, "tickets")) == ALL_TICKETS


def test_an_end_time_that_goes_backwards_neither_loops_nor_moves_the_saved_position_back(tmp_path, fake) -> None:
    first: list[int] = []

    def edit(body: dict, request: httpx.Request) -> None:
        start = int(request.url.params["start_time"])
        if not first:                             # the first page claims an end before its start
            first.append(start)
            body.update(end_time=start - 86400, end_of_stream=False)
    seen = tamper(fake, ORGS, edit)
    ws = workspace(tmp_path)
    assert ws.sync().ok
    assert {"501", "502"} <= set(by_id(ws, "source_accounts"))
    assert ws.state("zd", "organizations")["start_time"] >= first[0]
    assert len(seen) <= 3


def test_an_unknown_ticket_status_is_rejected_and_an_unknown_channel_becomes_other(tmp_path, fake) -> None:
    def edit(body: dict, request: httpx.Request) -> None:
        for t in body.get("tickets", []):
            if t["id"] == 4:
                t["status"] = "archived"
            if t["id"] == 5:
                t["via"]["channel"] = "carrier_pigeon"
    tamper(fake, TICKETS, edit)
    ws = workspace(tmp_path)
    assert ws.sync().ok
    tickets = by_id(ws, "tickets")
    assert set(tickets) == ALL_TICKETS - {"4"}
    assert (tickets["5"]["channel"], tickets["5"]["source_type"]) == ("other", "carrier_pigeon")
    [reject] = ws.rejects()
    assert reject["record_id"] == "4" and "unknown ticket status 'archived'" in one_line(reject["reason"])


def test_a_5_mb_subject_lands_whole(tmp_path, fake) -> None:
    big = "Help " + "x" * (5 * 1024 * 1024)
    tamper(fake, TICKETS, in_tickets(2, lambda r: r.update(subject=big, description=big)))
    ws = workspace(tmp_path)
    assert ws.sync().ok and not ws.rejects()
    assert by_id(ws, "tickets")["2"]["subject"] == big


@pytest.mark.parametrize("broken", [b"Gr\xfc\xdfe \xc3", b"\\ud83d alone"], ids=["latin1-bytes", "lone-surrogate"])
def test_text_that_is_not_utf8_lands_with_replacement_characters(tmp_path, fake, broken: bytes) -> None:
    def edit(body: dict, request: httpx.Request) -> httpx.Response:
        for t in body["tickets"]:
            if t["id"] == 1:
                t["subject"] = "@@SUBJECT@@"
        raw = json.dumps(body).encode().replace(b"@@SUBJECT@@", broken)
        return httpx.Response(200, content=raw, headers={"Content-Type": "application/json; charset=utf-8"})
    tamper(fake, TICKETS, edit)
    ws = workspace(tmp_path)
    report = ws.sync()
    assert report.ok, [r.error for r in report.results]
    tickets = by_id(ws, "tickets")
    assert "\ufffd" in tickets["1"]["subject"] and set(tickets) == ALL_TICKETS


def test_new_fields_are_kept_raw_and_change_nothing_else(tmp_path, fake) -> None:
    tamper(fake, TICKETS, in_tickets(1, lambda r: r.update(ai_summary={"text": "angry", "confidence": 0.9})))
    ws = workspace(tmp_path)
    assert ws.sync().ok and not ws.rejects()
    raw = json.loads(ws.store.query("SELECT data FROM raw_zd__tickets WHERE id = '1'")[0]["data"])
    assert raw["ai_summary"]["confidence"] == 0.9
    assert by_id(ws, "tickets")["1"]["status"] == "solved"


def test_ids_as_text_and_epoch_timestamps_are_read_and_nonsense_rejects_one_record(tmp_path, fake) -> None:
    def edit(body: dict, request: httpx.Request) -> None:
        for t in body["tickets"]:
            if t["id"] == 2:
                t["id"], t["created_at"] = "2", zendesk_scenario.T0 + 3600      # text id, epoch seconds
            elif t["id"] == 6:
                t["created_at"] = "last Tuesday"
    tamper(fake, TICKETS, edit)
    ws = workspace(tmp_path)
    assert ws.sync().ok
    tickets = by_id(ws, "tickets")
    assert tickets["2"]["created_at"] == zp.iso(zendesk_scenario.T0 + 3600)
    assert "6" not in tickets and set(tickets) == ALL_TICKETS - {"6"}
    [reject] = ws.rejects()
    assert reject["record_id"] == "6" and "last Tuesday" in one_line(reject["reason"])
