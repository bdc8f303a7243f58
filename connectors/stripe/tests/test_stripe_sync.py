"""Syncing against an in-memory Stripe: versions, errors, retries, paging, resuming, the event window."""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from csconnect import AuthError, ConfigError
from csconnect.testing import Workspace
from csconnect_stripe import STRIPE_VERSION, StripeConnector
from csconnect_stripe.streams import LOOKBACK

import stripe_payloads as sp
import stripe_scenario
from stripe_fake import FakeStripe
from stripe_scenario import DAY, P, T0
from test_stripe_suite import API_KEY, SETTINGS


def workspace(tmp_path: Path, **settings: Any) -> Workspace:
    return Workspace(tmp_path, StripeConnector,
                     connections={"stripe": dict(SETTINGS, connector="stripe", **settings)})


def results(report: Any) -> dict[str, Any]:
    return {r.stream: r for r in report.results}


@pytest.fixture
def fake(respx_mock: Any) -> FakeStripe:
    return stripe_scenario.populate(FakeStripe(respx_mock, API_KEY))


def test_every_request_pins_the_version_and_sends_the_key(tmp_path: Path, fake: FakeStripe) -> None:
    assert workspace(tmp_path).sync().ok
    assert fake.calls
    for request in fake.calls:
        assert request.headers["Stripe-Version"] == STRIPE_VERSION
        assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert "/v1/subscriptions?limit=100&status=all" in fake.paths()
    assert "/v1/invoiceitems?limit=100&pending=true" in fake.paths()


def test_check_is_one_request_and_says_which_mode(tmp_path: Path, fake: FakeStripe) -> None:
    ws = workspace(tmp_path)
    connector = StripeConnector("stripe", ws.config.connections["stripe"].settings)
    assert connector.check() == f"test mode, Stripe API {STRIPE_VERSION}"
    assert fake.paths() == ["/v1/customers?limit=1"]


def test_check_401_is_one_line_without_the_key(tmp_path: Path, respx_mock: Any) -> None:
    FakeStripe(respx_mock, api_key="sk_test_another")
    ws = workspace(tmp_path)
    connector = StripeConnector("stripe", ws.config.connections["stripe"].settings)
    with pytest.raises(AuthError) as info:
        connector.check()
    text = str(info.value)
    assert text.startswith("stripe: the API key was rejected (401): Invalid API Key provided: sk_test_***")
    assert "[req_unauth]" in text and "\n" not in text and API_KEY not in text and "**_key" not in text


def test_check_403_names_the_missing_permission(tmp_path: Path, respx_mock: Any) -> None:
    key = "rk_test_51restrictedKEY"
    body = sp.error(f"The provided key '{key[:12]}*****KEY' does not have the required permissions for this "
                    "endpoint on account 'acct_1'. Having the 'rak_customer_read' permission would allow this "
                    "request to continue.")
    respx_mock.get("https://api.stripe.com/v1/customers").mock(return_value=httpx.Response(403, json=body))
    ws = workspace(tmp_path, api_key=key)
    connector = StripeConnector("stripe", ws.config.connections["stripe"].settings)
    with pytest.raises(AuthError) as info:
        connector.check()
    text = str(info.value)
    assert text.startswith("stripe: the API key was refused (403): The provided key 'rk_test_***'")
    assert "rak_customer_read" in text and "read access to Customers" in text and key[:12] not in text


def test_default_rate_limit_and_page_size_bounds(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, StripeConnector, connections={"stripe": {"api_key": API_KEY}})
    settings = ws.config.connections["stripe"].settings
    assert settings["rate_limit"] is None and settings["page_size"] == 100    # unset: the connector's default
    connector = StripeConnector("stripe", settings)
    assert connector.http.rate_limiter.rate == 20.0
    connector.close()
    for bad, said in ((0, "at least 1"), (101, "at most 100")):
        with pytest.raises(ConfigError, match=f"connections.stripe.page_size: must be {said}"):
            Workspace(tmp_path / str(bad), StripeConnector,
                      connections={"stripe": {"api_key": API_KEY, "page_size": bad}})


def test_an_invoice_with_12_lines_pages_through_its_lines(tmp_path: Path, fake: FakeStripe) -> None:
    lines = [sp.line(f"il_big_{i:02d}", "in_big", P["price_basic"], 1_000, subscription="sub_acme",
                     subscription_item="si_acme") for i in range(12)]
    fake.add_invoice(sp.invoice("in_big", "cus_acme", lines, subscription="sub_acme", created=T0 + 9))
    listed = fake.objects["invoices"][-1]
    assert len(listed["lines"]["data"]) == 10 and listed["lines"]["has_more"] is True
    ws = workspace(tmp_path, page_size=5)
    assert ws.sync().ok
    line_calls = [p for p in fake.paths() if p.startswith("/v1/invoices/in_big/lines")]
    assert line_calls == ["/v1/invoices/in_big/lines?limit=5",
                          "/v1/invoices/in_big/lines?limit=5&starting_after=il_big_04",
                          "/v1/invoices/in_big/lines?limit=5&starting_after=il_big_09"]
    rows = ws.rows("invoice_lines", "invoice_id = ?", ("stripe:in_big",))
    assert sorted(r["source_id"] for r in rows) == [f"il_big_{i:02d}" for i in range(12)]
    raw = json.loads(ws.rows("raw_stripe__invoices", "id = 'in_big'")[0]["data"])
    assert len(raw["lines"]["data"]) == 12 and raw["lines"]["has_more"] is False


def _fail_customers(status: int, headers: dict[str, str], body: dict) -> Any:
    def fail(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/v1/customers":
            return httpx.Response(status, json=body, headers=headers)
        return None
    return fail


def test_stripe_should_retry_false_stops_at_once(tmp_path: Path, fake: FakeStripe) -> None:
    fake.fail = _fail_customers(500, {"Stripe-Should-Retry": "false", "Request-Id": "req_500"},
                                sp.error("An unknown error occurred", type_="api_error"))
    ws = workspace(tmp_path)
    report = results(ws.sync())
    assert [p for p in fake.paths() if p.startswith("/v1/customers")] == ["/v1/customers?limit=100"]
    assert report["customers"].status == "failed"
    assert "Stripe says retrying will not help" in report["customers"].error
    assert "req_500" in report["customers"].error and ws.waits == []
    assert all(r.status == "ok" for name, r in report.items() if name != "customers")


def test_lock_timeout_and_should_retry_true_are_retried_with_backoff(tmp_path: Path, fake: FakeStripe) -> None:
    answers = [httpx.Response(429, json=sp.error("This object cannot be accessed right now because another API "
                                                 "request or Stripe process is currently accessing it.",
                                                 code="lock_timeout")),
               httpx.Response(409, json=sp.error("Conflict", code="idempotency_key_in_use"),
                              headers={"Stripe-Should-Retry": "true"})]
    fake.fail = lambda request: answers.pop(0) if request.url.path == "/v1/customers" and answers else None
    ws = workspace(tmp_path)
    assert ws.sync().ok
    assert [p for p in fake.paths() if p.startswith("/v1/customers")] == ["/v1/customers?limit=100"] * 3
    assert len(ws.waits) == 2 and all(w > 0 for w in ws.waits)      # jittered backoff, no Retry-After


def test_a_cursor_older_than_30_days_reads_everything_again(tmp_path: Path, fake: FakeStripe,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    ws = workspace(tmp_path)
    assert ws.sync().ok
    stale = int(time.time()) - 31 * DAY
    ws.store.set_state("stripe", "customers", {"phase": "events", "since": stale})
    fake.route.calls.clear()
    with caplog.at_level(logging.WARNING, logger="csconnect.stripe"):
        report = results(ws.sync())
    assert report["customers"].records == 3
    customer_calls = [r for r in fake.calls if r.url.path == "/v1/customers"]
    assert [str(r.url.params) for r in customer_calls] == ["limit=100"]
    event_types = [t for r in fake.calls if r.url.path == "/v1/events" for t in r.url.params.get_list("types[]")]
    assert "customer.updated" not in event_types and "invoice.updated" in event_types
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert warnings[0].startswith("stripe.customers: the saved position (") and "30 days" in warnings[0]
    state = ws.store.get_state("stripe", "customers")
    assert state["phase"] == "events" and state["since"] > stale


def test_the_event_window_asks_for_its_types_since_the_cursor(tmp_path: Path, fake: FakeStripe) -> None:
    ws = workspace(tmp_path)
    assert ws.sync().ok
    since = ws.store.get_state("stripe", "invoices")["since"]
    fake.route.calls.clear()
    assert ws.sync().ok
    (call,) = [r for r in fake.calls if r.url.path == "/v1/events" and "invoice.paid" in
               r.url.params.get_list("types[]")]
    assert int(call.url.params["created[gt]"]) == since - LOOKBACK
    assert len(call.url.params.get_list("types[]")) <= 20      # Stripe's limit on types[]
    assert not [r for r in fake.calls if r.url.path != "/v1/events"]


def _more_customers(fake: FakeStripe) -> None:
    fake.add("customers", *[sp.customer(f"cus_more{i}", email=f"a{i}@corp{i}.com", created=T0 + 10 + i)
                            for i in range(3)])


def test_a_crash_mid_backfill_resumes_where_it_stopped(tmp_path: Path, fake: FakeStripe) -> None:
    _more_customers(fake)
    clean = workspace(tmp_path / "clean", page_size=2)
    assert clean.sync().ok
    fake.route.calls.clear()

    def crash(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/v1/customers" and request.url.params.get("starting_after") == "cus_more1":
            return httpx.Response(500, json=sp.error("boom", type_="api_error"), headers={"Stripe-Should-Retry": "false"})
        return None
    fake.fail = crash
    ws = workspace(tmp_path / "crashed", page_size=2)
    first = results(ws.sync())
    assert first["customers"].status == "failed" and first["customers"].records == 2
    state = ws.store.get_state("stripe", "customers")
    assert state["phase"] == "backfill" and state["after"] == "cus_more1"

    fake.fail = None
    fake.route.calls.clear()
    assert ws.sync().ok
    assert [str(r.url.params) for r in fake.calls if r.url.path == "/v1/customers"] == [
        "limit=2&starting_after=cus_more1", "limit=2&starting_after=cus_tokyo"]
    assert ws.store.get_state("stripe", "customers")["since"] == state["since"]
    assert ws.snapshot() == clean.snapshot()


def test_a_saved_position_on_a_deleted_object_reads_from_the_top(tmp_path: Path, fake: FakeStripe,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    ws = workspace(tmp_path)
    since = int(time.time()) - DAY
    ws.store.set_state("stripe", "customers", {"phase": "backfill", "since": since, "after": "cus_gone"})
    with caplog.at_level(logging.WARNING, logger="csconnect.stripe"):
        report = results(ws.sync(streams=["customers"]))
    assert report["customers"].status == "ok" and report["customers"].records == 3
    assert [str(r.url.params) for r in fake.calls] == ["limit=100&starting_after=cus_gone", "limit=100"]
    assert "cus_gone no longer exists" in caplog.text
    assert ws.store.get_state("stripe", "customers") == {"phase": "events", "since": since}


def test_events_keep_the_newest_version_and_mark_deletions(tmp_path: Path, fake: FakeStripe) -> None:
    ws = workspace(tmp_path, page_size=2)
    assert ws.sync().ok
    now = int(time.time())
    older = sp.customer("cus_acme", email="ops@acme.io", name="Acme (old name)", created=T0)
    newer = sp.customer("cus_acme", email="ops@acme.io", name="Acme Holdings", created=T0)
    gone = sp.customer("cus_solo", email="jane.doe@gmail.com", name="Jane Doe", created=T0 + 1)
    for i, (kind, obj) in enumerate([("customer.updated", older), ("customer.updated", older),
                                     ("customer.deleted", gone), ("customer.updated", newer)]):
        fake.emit(sp.event(f"evt_c{i}", kind, obj, now + i))
    report = results(ws.sync())
    assert report["customers"].records == 2       # two objects, four events over two pages
    accounts = {r["source_id"]: r for r in ws.rows("source_accounts")}
    assert accounts["cus_acme"]["name"] == "Acme Holdings"
    assert json.loads(accounts["cus_solo"]["attributes"])["deleted"] is True
    before = ws.snapshot()
    ws.normalize()
    assert ws.snapshot() == before


def test_invoice_item_events_read_the_current_item(tmp_path: Path, fake: FakeStripe) -> None:
    ws = workspace(tmp_path)
    assert ws.sync().ok
    now = int(time.time())
    pending = sp.invoiceitem("ii_new", "cus_acme", P["price_pro"], -1_200, proration=True, subscription="sub_acme",
                             subscription_item="si_acme", created=now)
    invoiced = dict(pending, invoice="in_acme_3")
    fake.add("invoiceitems", invoiced)           # invoiced since the event: no invoiceitem event says so
    fake.emit(sp.event("evt_ii_1", "invoiceitem.created", pending, now + 1))
    fake.emit(sp.event("evt_ii_2", "invoiceitem.deleted", sp.invoiceitem(
        "ii_acme_prorate", "cus_acme", P["price_pro"], 2_500, proration=True, subscription="sub_acme"), now + 2))
    assert ws.sync().ok
    assert "/v1/invoiceitems/ii_new" in fake.paths()
    assert "/v1/invoiceitems/ii_acme_prorate" not in fake.paths()
    lines = {r["source_id"]: r for r in ws.rows("invoice_lines")}
    assert "ii_new" not in lines                  # the invoice's own line will carry it
    assert lines["ii_acme_prorate"]["amount"] == 0 and lines["ii_acme_prorate"]["invoice_id"] is None


def test_a_pre_basil_event_payload_normalizes_like_the_pinned_shape(tmp_path: Path, fake: FakeStripe) -> None:
    ws = workspace(tmp_path)
    assert ws.sync().ok
    now = int(time.time())
    old_sub = sp.subscription("sub_acme", "cus_acme", [sp.subscription_item("si_acme", "sub_acme", P["price_pro"],
                                                                            quantity=6, basil=False)],
                              start=T0 + 31 * DAY, end=T0 + 59 * DAY, basil=False)
    old_invoice = sp.invoice("in_acme_1", "cus_acme", [
        sp.line_pre_basil("il_acme_1", "in_acme_1", P["price_pro"], 15_000, quantity=5, subscription="sub_acme",
                          subscription_item="si_acme", discounts=[("di_twenty", 3_000)])],
        subscription="sub_acme", status="void", basil=False)
    fake.emit(sp.event("evt_old_sub", "customer.subscription.updated", old_sub, now + 1, api_version="2024-06-20"))
    fake.emit(sp.event("evt_old_inv", "invoice.voided", old_invoice, now + 2, api_version="2024-06-20"))
    assert ws.sync().ok
    sub = ws.rows("subscriptions", "source_id = 'sub_acme'")[0]
    assert (sub["quantity"], sub["amount"], sub["current_period_start"], sub["current_period_end"]) == (
        6, 18_000, "2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z")
    assert sub["plan_name"] == "Pro monthly" and sub["product"] == "prod_pro"
    inv = ws.rows("invoices", "source_id = 'in_acme_1'")[0]
    assert (inv["status"], inv["subscription_id"], inv["discount"]) == ("void", "stripe:sub_acme", 3_000)
    (line,) = ws.rows("invoice_lines", "invoice_id = 'stripe:in_acme_1'")
    assert (line["source_id"], line["kind"], line["amount"], line["interval"], line["subscription_id"]) == (
        "il_acme_1", "subscription", 12_000, "month", "stripe:sub_acme")


def test_lines_removed_from_a_draft_invoice_disappear_at_the_next_sync(tmp_path: Path, fake: FakeStripe) -> None:
    def draft(n: int) -> dict:
        return sp.invoice("in_draft", "cus_acme", [
            sp.line(f"il_draft_{i}", "in_draft", P["price_pro"], 1_000 * (i + 1), subscription="sub_acme",
                    subscription_item="si_acme", start=T0 + 31 * DAY, end=T0 + 59 * DAY) for i in range(n)],
            status="draft", subscription="sub_acme", created=T0 + 31 * DAY)

    fake.add_invoice(draft(3))
    ws = workspace(tmp_path)
    assert ws.sync().ok
    assert len(ws.rows("invoice_lines", "invoice_id = 'stripe:in_draft'")) == 3
    two = fake.add_invoice(draft(2))           # a line was removed from the draft
    fake.emit(sp.event("evt_draft", "invoice.updated", two, int(time.time()) + 1))
    assert ws.sync().ok
    rows = ws.rows("invoice_lines", "invoice_id = 'stripe:in_draft'")
    assert sorted((r["source_id"], r["amount"]) for r in rows) == [("il_draft_0", 1_000), ("il_draft_1", 2_000)]
    assert len(ws.rows("invoice_lines", "invoice_id = 'stripe:in_acme_1'")) == 1     # other invoices keep theirs
    before = ws.snapshot()
    ws.normalize()                             # a rebuild replays the replacement
    assert ws.snapshot() == before
