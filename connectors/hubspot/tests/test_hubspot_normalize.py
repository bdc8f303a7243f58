"""What each HubSpot object becomes in the canonical model."""
from __future__ import annotations

import json
from typing import Any

from csconnect.identity import link
from csconnect.testing import Workspace, plugin_registry  # noqa: F401 - a fixture
from csconnect_hubspot import HubSpotConnector, plugin
from hubspot_fake import SETTINGS, standard


def synced(tmp_path: Any, respx_mock: Any, **settings: Any) -> tuple[Workspace, Any]:
    api = standard(respx_mock)
    ws = Workspace(tmp_path, HubSpotConnector, connections={"hs": {"connector": "hubspot", **SETTINGS, **settings}})
    report = ws.sync()
    assert report.ok, [r.error for r in report.results if r.error]
    assert not ws.rejects(), ws.rejects()
    return ws, api


def row(ws: Workspace, table: str, source_id: Any) -> dict[str, Any]:
    found = ws.rows(table, "source_id = ?", (str(source_id),))
    assert len(found) == 1, (table, source_id, found)
    return found[0]


def test_plugin_module_registers_the_connector(plugin_registry: Any) -> None:
    assert plugin_registry(plugin).connector("hubspot") is HubSpotConnector


def test_company_with_a_domain_becomes_a_source_account_identity_can_link(tmp_path: Any, respx_mock: Any) -> None:
    ws, _ = synced(tmp_path, respx_mock)
    northwind = row(ws, "source_accounts", 5001)
    assert (northwind["id"], northwind["source_account_id"], northwind["domain"]) == (
        "hs:5001", "5001", "northwind.example")
    assert json.loads(northwind["attributes"]) == {
        "lifecycle_stage": "customer", "industry": "COMPUTER_SOFTWARE", "country": "Germany",
        "owner": "jane@vendor.example", "employees": 250}
    assert northwind["created_at"] == "2026-01-05T10:00:00Z"
    globex = row(ws, "source_accounts", 5002)
    assert globex["domain"] == "globex.example"                                # from website
    assert json.loads(globex["attributes"])["owner"] == "gone@vendor.example"  # a deactivated owner
    link(ws.store, ws.config, ws.registry)                                     # identity is the core's
    account = ws.store.query("SELECT * FROM accounts WHERE domain = 'northwind.example'")[0]
    assert (account["account_id"], account["name"], account["owner"], account["lifecycle_stage"]) == (
        "hs:5001", "Northwind Traders", "jane@vendor.example", "customer")
    assert {r["account_id"] for r in ws.rows("deals", "source_account_id = '5001'")} == {"hs:5001"}


def test_segment_and_external_ids_come_from_configured_properties(tmp_path: Any, respx_mock: Any) -> None:
    api = standard(respx_mock)
    api.objects["companies"]["5001"]["properties"].update(tier="Enterprise", stripe_customer_id="cus_N1")
    ws = Workspace(tmp_path, HubSpotConnector, connections={"hs": {
        "connector": "hubspot", **SETTINGS, "segment_property": "tier",
        "external_id_properties": {"stripe_customer_id": "stripe"}}})
    assert ws.sync().ok
    northwind = row(ws, "source_accounts", 5001)
    assert json.loads(northwind["attributes"])["segment"] == "Enterprise"
    assert json.loads(northwind["external_ids"]) == {"stripe": "cus_N1"}
    companies = [body for kind, body in api.searches if kind == "companies"][0]
    assert {"tier", "stripe_customer_id"} <= set(companies["properties"])


def test_contacts_take_their_company_from_the_property_or_the_associations(tmp_path: Any, respx_mock: Any) -> None:
    ws, _ = synced(tmp_path, respx_mock)
    ann, bob, cy = (row(ws, "contacts", i) for i in (7001, 7002, 7003))
    assert (ann["email"], ann["name"], ann["title"], ann["source_account_id"]) == (
        "ann@northwind.example", "Ann Smith", "COO", "5001")
    assert (bob["name"], bob["source_account_id"]) == ("Bob", "5002")
    assert cy["source_account_id"] is None
    asked = [json.loads(c.request.content) for c in respx_mock.calls
             if c.request.url.path == "/crm/v4/associations/contacts/companies/batch/read"]
    # contacts: only those without associatedcompanyid; feedback: the contacts who answered
    assert {"inputs": [{"id": "7002"}, {"id": "7003"}]} in asked


def test_deal_amount_currency_stage_and_kind(tmp_path: Any, respx_mock: Any) -> None:
    ws, _ = synced(tmp_path, respx_mock)
    won = row(ws, "deals", 8001)
    assert (won["amount"], won["currency"]) == (123450, "EUR")                  # "1234.5" EUR
    assert (won["is_closed"], won["is_won"], won["stage"], won["kind"], won["source_type"]) == (
        1, 1, "Closed won", "new_business", "newbusiness")
    assert won["close_date"] == "2026-01-05"           # 23:30 UTC on the 4th is the 5th in Berlin
    assert (won["owner"], won["source_account_id"], won["created_at"]) == (
        "jane@vendor.example", "5001", "2026-01-05T10:00:00Z")
    renewal = row(ws, "deals", 8002)
    assert (renewal["is_closed"], renewal["is_won"], renewal["stage"], renewal["kind"]) == (
        0, 0, "Renewal due", "expansion")              # existingbusiness, no renewal pipeline configured
    lost = row(ws, "deals", 8003)
    assert (lost["amount"], lost["currency"], lost["is_closed"], lost["is_won"], lost["owner"]) == (
        9999, "USD", 1, 0, "Sam Lee")                  # the account's company currency; an owner without email


def test_renewal_pipelines_and_deal_types_set_the_kind(tmp_path: Any, respx_mock: Any) -> None:
    ws, api = synced(tmp_path, respx_mock, renewal_pipelines=["renewals"],
                     deal_types={"existingbusiness": "other"}, default_currency="gbp")
    assert row(ws, "deals", 8002)["kind"] == "renewal"                          # by pipeline label
    assert row(ws, "deals", 8003)["kind"] == "other"
    assert row(ws, "deals", 8003)["currency"] == "GBP"


def test_deal_stages_unknown_to_the_pipelines_fall_back_to_hs_is_closed(tmp_path: Any, respx_mock: Any) -> None:
    api = standard(respx_mock)
    api.pipelines["deals"] = []
    api.objects["deals"]["8001"]["properties"].update(hs_is_closed="true", hs_is_closed_won="true")
    api.objects["deals"]["8003"]["properties"].update(dealtype="partner_referral")
    ws = Workspace(tmp_path, HubSpotConnector, connections={"hs": {"connector": "hubspot", **SETTINGS}})
    assert ws.sync().ok
    won = row(ws, "deals", 8001)
    assert (won["is_closed"], won["is_won"], won["stage"]) == (1, 1, "closedwon")
    odd = row(ws, "deals", 8003)
    assert (odd["kind"], odd["source_type"], odd["is_closed"]) == ("other", "partner_referral", None)


def test_tickets_status_channel_and_reply_times(tmp_path: Any, respx_mock: Any) -> None:
    ws, _ = synced(tmp_path, respx_mock)
    closed = row(ws, "tickets", 9101)
    assert (closed["status"], closed["source_status"], closed["channel"], closed["priority"], closed["type"]) == (
        "closed", "Closed", "email", "high", "product_issue")
    assert (closed["first_reply_at"], closed["solved_at"]) == ("2026-01-05T10:30:00Z", "2026-01-05T12:00:00Z")
    assert (closed["assignee"], closed["group_name"], closed["source_account_id"]) == (
        "Sam Lee", "Support Pipeline", "5001")
    waiting = row(ws, "tickets", 9102)
    assert (waiting["status"], waiting["channel"], waiting["solved_at"]) == ("pending", "chat", None)
    assert waiting["first_reply_at"] == "2026-01-05T10:02:30Z"                  # created + 90 s
    new = row(ws, "tickets", 9103)
    assert (new["status"], new["channel"], new["source_account_id"]) == ("new", "web", None)


def test_feedback_submissions_become_nps_csat_and_ces(tmp_path: Any, respx_mock: Any) -> None:
    ws, _ = synced(tmp_path, respx_mock)
    got = {r["source_id"]: r for r in ws.rows("survey_responses")}
    shape = {k: (r["kind"], r["score"], r["scale_min"], r["scale_max"], r["polarity"]) for k, r in got.items()}
    assert shape == {"6001": ("nps", 9.0, 0.0, 10.0, "higher_better"), "6002": ("csat", 2.0, 0.0, 2.0, "higher_better"),
                     "6003": ("ces", 6.0, 1.0, 7.0, "higher_better")}
    nps = got["6001"]
    assert (nps["comment"], nps["channel"], nps["responded_at"], nps["contact_id"], nps["source_account_id"]) == (
        "Great support", "email", "2026-01-05T09:59:00Z", "hs:7001", "5001")
    assert (got["6002"]["ticket_id"], got["6002"]["source_account_id"]) == ("hs:9101", "5002")
    assert got["6002"]["responded_at"] == "2026-01-05T10:01:00Z"               # no submission time: created
    assert got["6003"]["source_account_id"] is None


def test_answers_off_hubspots_scale_are_rejected_with_a_reason(tmp_path: Any, respx_mock: Any) -> None:
    api = standard(respx_mock)
    api.objects["feedback_submissions"]["6002"]["properties"]["hs_value"] = "4"
    api.objects["feedback_submissions"]["6003"]["properties"].update(hs_survey_type="CUSTOM", hs_value="42")
    ws = Workspace(tmp_path, HubSpotConnector, connections={"hs": {"connector": "hubspot", **SETTINGS}})
    assert ws.sync().ok
    (reject,) = ws.rejects()
    assert reject["record_id"] == "6002" and "CSAT answer 4 is outside HubSpot's 0-2 scale" in reject["reason"]
    custom = row(ws, "survey_responses", 6003)
    assert (custom["kind"], custom["source_type"], custom["score"], custom["scale_min"]) == (
        "other", "CUSTOM", 42, None)


def test_meetings_and_calls_become_activities(tmp_path: Any, respx_mock: Any) -> None:
    ws, _ = synced(tmp_path, respx_mock)
    qbr, onboarding, call, inbound = (row(ws, "activities", i) for i in (4001, 4002, 3001, 3002))
    assert (qbr["kind"], qbr["duration_seconds"], qbr["occurred_at"], qbr["owner"], qbr["source_account_id"]) == (
        "qbr", 3600, "2026-01-05T14:00:00Z", "jane@vendor.example", "5001")
    assert (onboarding["kind"], onboarding["duration_seconds"], onboarding["subject"]) == (
        "meeting", 1800, "Onboarding")
    assert (call["kind"], call["duration_seconds"], call["source_type"], call["subject"]) == (
        "call", 125, "OUTBOUND", "Renewal check-in")                            # "125400" ms
    assert (inbound["duration_seconds"], inbound["source_account_id"], inbound["owner"]) == (None, None, None)


def test_owners_are_kept_raw_and_read_whole_each_sync(tmp_path: Any, respx_mock: Any) -> None:
    ws, _ = synced(tmp_path, respx_mock)
    owners = ws.store.query("SELECT id FROM raw_hs__owners ORDER BY id")
    assert [o["id"] for o in owners] == ["101", "102", "103"]
    assert ws.store.get_state("hs", "owners") is None


def test_raw_records_keep_what_normalize_needs(tmp_path: Any, respx_mock: Any) -> None:
    ws, _ = synced(tmp_path, respx_mock)
    (data,) = [json.loads(r["data"]) for r in ws.store.query("SELECT data FROM raw_hs__deals WHERE id = '8001'")]
    assert data["properties"]["amount"] == "1234.5"                              # HubSpot's record as sent
    assert data["_csconnect"] == {
        "company_id": "5001", "owner": "jane@vendor.example", "currency": "USD", "time_zone": "Europe/Berlin",
        "pipeline": {"id": "default", "label": "Sales Pipeline"},
        "stage": {"id": "closedwon", "label": "Closed won", "metadata": {"isClosed": "true", "probability": "1.0"}}}


def test_skip_streams(tmp_path: Any, respx_mock: Any) -> None:
    standard(respx_mock)
    ws = Workspace(tmp_path, HubSpotConnector, connections={"hs": {
        "connector": "hubspot", **SETTINGS, "skip_streams": ["tickets", "feedback_submissions"]}})
    assert {r.stream for r in ws.sync().results} == {"companies", "contacts", "deals", "meetings", "calls", "owners"}
