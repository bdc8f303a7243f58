"""Malformed answers from Stripe: each ends as a one-line error or a reject, and the rest lands.

The in-memory Stripe of the connector's own tests serves the standard small account; a hook
rewrites one endpoint's answer (a broken page, a record without its id, a page that repeats,
an unknown status, a 5 MB field, bytes that are not UTF-8, a new field, a changed type).
"""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from csconnect.testing import Workspace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "connectors/stripe/tests"))   # the fakes are test helpers, not packages

import stripe_payloads as sp  # noqa: E402
import stripe_scenario  # noqa: E402
from csconnect_stripe import StripeConnector  # noqa: E402
from stripe_fake import FakeStripe  # noqa: E402
from malformed_helpers import ids, one_line, results  # noqa: E402

API_KEY = "sk_test_csconnect_fake_key"
Edit = Callable[[dict, httpx.Request], Any]


@pytest.fixture
def fake(respx_mock: Any) -> FakeStripe:
    return stripe_scenario.populate(FakeStripe(respx_mock, API_KEY))


def workspace(tmp_path: Path, **settings: Any) -> Workspace:
    return Workspace(tmp_path, StripeConnector,
                     connections={"stripe": {"connector": "stripe", "api_key": API_KEY, **settings}})


def tamper(fake: FakeStripe, path: str, edit: Edit) -> list[httpx.Request]:
    """Serve `path` through `edit(body, request)`: it changes the body in place, or returns a Response."""
    seen: list[httpx.Request] = []

    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.url.path != path:
            return None
        seen.append(request)
        assert len(seen) < 100, f"{path} asked {len(seen)} times: the sync is looping"
        status, body, headers = fake.handle(request.method, request.url.path, request.url.params, request.headers)
        out = edit(body, request)
        return out if isinstance(out, httpx.Response) else httpx.Response(status, json=body, headers=headers)

    fake.fail = hook
    return seen


def in_data(source_id: str, change: Callable[[dict], None]) -> Edit:
    def edit(body: dict, request: httpx.Request) -> None:
        for record in body.get("data", []):
            if record.get("id") == source_id:
                change(record)
    return edit


def test_a_page_that_is_not_json_fails_its_stream_in_one_line_and_the_rest_lands(tmp_path, fake) -> None:
    tamper(fake, "/v1/invoices", lambda body, request: httpx.Response(
        200, content=b'{"object": "list", "data": [{"id": "in_acme_1", "obj', headers={"Content-Type": "application/json"}))
    ws = workspace(tmp_path)
    got = results(ws.sync())
    error = one_line(got["invoices"].error)
    assert got["invoices"].status == "failed"
    assert error.startswith("stripe: GET /v1/invoices") and "not JSON" in error
    assert ids(ws, "source_accounts") == {"cus_acme", "cus_solo", "cus_tokyo"}
    assert ids(ws, "subscriptions") == {"sub_acme", "sub_solo", "sub_tokyo"}
    assert all(got[s].status == "ok" for s in got if s != "invoices")
    fake.fail = None                                          # Stripe answers properly again
    assert ws.sync().ok
    assert ids(ws, "invoices") == {"in_acme_1", "in_solo_1", "in_tokyo_1"}


def test_a_record_without_its_id_is_rejected_and_its_neighbours_land(tmp_path, fake) -> None:
    tamper(fake, "/v1/customers", in_data("cus_solo", lambda r: r.pop("id")))
    ws = workspace(tmp_path)
    assert ws.sync().ok
    assert ids(ws, "source_accounts") == {"cus_acme", "cus_tokyo"}
    [reject] = ws.rejects()
    assert (reject["connection"], reject["stream"], reject["record_id"]) == ("stripe", "customers", None)
    assert one_line(reject["reason"]) == "record has no 'id'"
    assert json.loads(reject["payload"])["email"] == "jane.doe@gmail.com"


def test_a_page_whose_last_record_has_no_id_stops_with_one_line(tmp_path, fake) -> None:
    """Stripe pages after the last id; without it there is no way on, and nothing is guessed."""
    tamper(fake, "/v1/customers", lambda body, request: body["data"][-1].pop("id"))
    ws = workspace(tmp_path, page_size=2)
    got = results(ws.sync())
    assert got["customers"].status == "failed"
    assert "gives no cursor for the next one" in one_line(got["customers"].error)
    assert got["subscriptions"].status == "ok" and ids(ws, "subscriptions")


def test_a_next_page_that_comes_back_to_an_earlier_one_stops_instead_of_looping(tmp_path, fake) -> None:
    """Page 3 answers with page 1 again (has_more stays true): a cycle, not a repeat of the last page."""
    first: dict[str, Any] = {}

    def edit(body: dict, request: httpx.Request) -> None:
        if "starting_after" not in request.url.params:
            first.update(copy.deepcopy(body))
        elif request.url.params["starting_after"] == "cus_solo":     # the second page's last id
            body.clear()
            body.update(copy.deepcopy(first))
    seen = tamper(fake, "/v1/customers", edit)
    ws = workspace(tmp_path, page_size=1)
    got = results(ws.sync())
    assert got["customers"].status == "failed"
    assert "endless loop" in one_line(got["customers"].error)
    assert len(seen) <= 4
    assert ids(ws, "source_accounts") == {"cus_tokyo", "cus_solo"}    # what was read is kept
    fake.fail = None
    assert ws.sync().ok                                                # and the next sync resumes
    assert ids(ws, "source_accounts") == {"cus_acme", "cus_solo", "cus_tokyo"}


def test_events_older_than_the_saved_position_still_land_and_the_position_never_goes_back(tmp_path, fake) -> None:
    ws = workspace(tmp_path)
    assert ws.sync().ok
    since = ws.state("stripe", "customers")["since"]
    late = sp.customer("cus_acme", email="ops@acme.io", name="Acme Late Edit", created=sp.T0)
    fake.emit(sp.event("evt_late", "customer.updated", late, since - 100))   # before the saved position
    assert ws.sync().ok
    assert {r["source_id"]: r["name"] for r in ws.rows("source_accounts")}["cus_acme"] == "Acme Late Edit"
    assert ws.state("stripe", "customers")["since"] >= since


def test_an_unknown_subscription_status_is_rejected_with_the_value(tmp_path, fake) -> None:
    tamper(fake, "/v1/subscriptions", in_data("sub_solo", lambda r: r.update(status="hibernating")))
    ws = workspace(tmp_path)
    assert ws.sync().ok
    assert ids(ws, "subscriptions") == {"sub_acme", "sub_tokyo"}
    [reject] = ws.rejects()
    assert reject["record_id"] == "sub_solo"
    assert "unknown Stripe status 'hibernating'" in one_line(reject["reason"])


def test_an_unknown_invoice_status_is_rejected_and_the_other_invoices_land(tmp_path, fake) -> None:
    tamper(fake, "/v1/invoices", in_data("in_solo_1", lambda r: r.update(status="archived")))
    ws = workspace(tmp_path)
    assert ws.sync().ok
    assert ids(ws, "invoices") == {"in_acme_1", "in_tokyo_1"}
    [reject] = ws.rejects()
    assert reject["record_id"] == "in_solo_1" and "invoices.status: unknown value 'archived'" in reject["reason"]


def test_a_5_mb_text_field_lands_whole(tmp_path, fake) -> None:
    big = "Acme " + "x" * (5 * 1024 * 1024)
    tamper(fake, "/v1/customers", in_data("cus_acme", lambda r: r.update(name=big)))
    ws = workspace(tmp_path)
    assert ws.sync().ok and not ws.rejects()
    names = {r["source_id"]: r["name"] for r in ws.rows("source_accounts")}
    assert names["cus_acme"] == big and names["cus_solo"] == "Jane Doe"


@pytest.mark.parametrize("broken", [b"Caf\xe9 \xff\xfe", b"\\ud800 alone"], ids=["latin1-bytes", "lone-surrogate"])
def test_text_that_is_not_utf8_lands_with_replacement_characters(tmp_path, fake, broken: bytes) -> None:
    def edit(body: dict, request: httpx.Request) -> httpx.Response:
        for record in body["data"]:
            if record["id"] == "cus_acme":
                record["name"] = "@@NAME@@"
        raw = json.dumps(body).encode().replace(b"@@NAME@@", broken)
        return httpx.Response(200, content=raw, headers={"Content-Type": "application/json"})
    tamper(fake, "/v1/customers", edit)
    ws = workspace(tmp_path)
    report = ws.sync()
    assert report.ok, [r.error for r in report.results]
    names = {r["source_id"]: r["name"] for r in ws.rows("source_accounts")}
    assert "\ufffd" in names["cus_acme"] and len(names) == 3
    raw = ws.store.query("SELECT data FROM raw_stripe__customers WHERE id = 'cus_acme'")[0]["data"]
    assert "\ufffd" in json.loads(raw)["name"]


def test_a_new_field_is_kept_raw_and_changes_nothing_else(tmp_path, fake) -> None:
    tamper(fake, "/v1/customers", in_data("cus_acme", lambda r: r.update(loyalty_tier={"level": 3, "perks": [1]})))
    ws = workspace(tmp_path)
    assert ws.sync().ok and not ws.rejects()
    raw = ws.store.query("SELECT data FROM raw_stripe__customers WHERE id = 'cus_acme'")[0]["data"]
    assert json.loads(raw)["loyalty_tier"] == {"level": 3, "perks": [1]}
    assert {r["source_id"]: r["name"] for r in ws.rows("source_accounts")}["cus_acme"] == "Acme Corp"


def test_numbers_sent_as_text_and_iso_timestamps_are_read(tmp_path, fake) -> None:
    def edit(body: dict, request: httpx.Request) -> None:
        for invoice in body["data"]:
            if invoice["id"] == "in_acme_1":
                invoice["created"] = "2025-01-01T00:00:00Z"            # ISO instead of epoch seconds
                invoice["total"] = str(invoice["total"])                # amount as a string
                for line in invoice["lines"]["data"]:
                    line["amount"] = str(line["amount"])
    tamper(fake, "/v1/invoices", edit)
    ws = workspace(tmp_path)
    assert ws.sync().ok and not ws.rejects()
    invoice = {r["source_id"]: r for r in ws.rows("invoices")}["in_acme_1"]
    assert invoice["created_at"] == "2025-01-01T00:00:00Z" and isinstance(invoice["total"], int)
    line = {r["source_id"]: r for r in ws.rows("invoice_lines")}["il_acme_1"]
    assert line["amount"] == 15_000 - 3_000                              # the discount still applies


@pytest.mark.parametrize("field, value", [("total", "12.50 USD"), ("created", {"unix": 1}), ("total", 10 ** 30),
                                          ("lines", "see attachment")])
def test_a_value_of_the_wrong_type_rejects_its_record_only(tmp_path, fake, field: str, value: Any) -> None:
    tamper(fake, "/v1/invoices", in_data("in_solo_1", lambda r: r.update({field: value})))
    ws = workspace(tmp_path)
    report = ws.sync()
    assert report.ok, [r.error for r in report.results]
    assert {"in_acme_1", "in_tokyo_1"} <= ids(ws, "invoices")
    [reject] = ws.rejects()
    assert "in_solo_1" not in ids(ws, "invoices")
    assert reject["record_id"] == "in_solo_1" and reject["stream"] == "invoices"
    assert one_line(reject["reason"]).startswith(("invoices.", "the record does not have the shape"))
