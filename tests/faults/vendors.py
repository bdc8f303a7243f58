"""The three accounts the fault tests sync (Stripe, HubSpot, Zendesk), and each vendor's faults.

Every account is static (built from fixed numbers, no clock), several pages long per stream
(small page sizes), and holds one record its connector rejects, so that a resumed sync can be
compared with an uninterrupted one row for row, rejects included.
"""
from __future__ import annotations

import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import httpx

ROOT = Path(__file__).resolve().parents[2]
for _vendor in ("stripe", "hubspot", "zendesk"):       # the fakes are test helpers, not packages
    _where = str(ROOT / "connectors" / _vendor / "tests")
    if _where not in sys.path:
        sys.path.insert(0, _where)

import hubspot_fake as hf  # noqa: E402
import stripe_payloads as sp  # noqa: E402
import zendesk_payloads as zp  # noqa: E402
from hubspot_fake import FakeHubSpot  # noqa: E402
from stripe_fake import FakeStripe  # noqa: E402
from zendesk_fake import FakeZendesk  # noqa: E402

from .fault_server import Arrival, Fault, pick  # noqa: E402

STRIPE_KEY = "sk_test_faults_4eC39HqLyjWDarjtT1zdp7dc"
HUBSPOT_TOKEN = "pat-na1-faults-7f3a9c1e-0b2d-4c55-9e61-2a8d5f0c3b71"
ZENDESK_TOKEN = "zd-faults-token-9b8c7d6e5f"


@dataclass
class Vendor:
    """One vendor's account: the fake's handler, the connection's TOML, what the sync must hold."""

    name: str                                  # the connection (and connector) name
    handler: Callable[[httpx.Request], httpx.Response]
    toml: Callable[[str], str]                 # base_url -> the [connections.X] table
    env: dict[str, str]
    raw_counts: dict[str, int]                 # raw table -> records the account holds
    rejects: int                               # records the connector rejects
    faults: Callable[[Arrival, int], Fault]
    child_path: str | None = None              # requests of a child list (kills land there too)


# -- Stripe ----------------------------------------------------------------------------------------

def stripe() -> Vendor:
    """45 customers, 24 subscriptions (one in a status Stripe never sends), 20 invoices of which 3
    have 23 lines (paged from /v1/invoices/{id}/lines), 6 pending invoice items; 5 objects a page."""
    fake = FakeStripe(api_key=STRIPE_KEY)
    T0, DAY = sp.T0, sp.DAY
    fake.add("products", *[sp.product(f"prod_{k}", f"Plan {k.upper()}", created=T0 + i)
                           for i, k in enumerate("abc")])
    prices = [sp.price(f"price_{i}", f"prod_{'abc'[i % 3]}", 1_000 * (i + 1), created=T0 + i) for i in range(5)]
    fake.add("prices", *prices)
    fake.add("customers", *[sp.customer(f"cus_{i:03d}", email=f"billing@company{i}.example", name=f"Company {i}",
                                        created=T0 + i * DAY, metadata={"hubspot_company_id": str(5000 + i)})
                            for i in range(45)])
    subs = []
    for i in range(24):
        sid = f"sub_{i:03d}"
        item = sp.subscription_item(f"si_{i:03d}", sid, prices[i % 5], quantity=1 + i % 3)
        subs.append(sp.subscription(sid, f"cus_{i:03d}", [item], created=T0 + i * DAY,
                                    status="bogus_status" if i == 6 else "active"))
    fake.add("subscriptions", *subs)
    for i in range(20):
        iid = f"in_{i:03d}"
        count = 23 if i in (2, 5, 9) else 1 + i % 2
        lines = [sp.line(f"il_{i:03d}_{n:02d}", iid, prices[(i + n) % 5], 1_000 + n, subscription=f"sub_{i:03d}",
                         subscription_item=f"si_{i:03d}") for n in range(count)]
        fake.add_invoice(sp.invoice(iid, f"cus_{i:03d}", lines, created=T0 + i * DAY, subscription=f"sub_{i:03d}",
                                    paid_at=T0 + i * DAY + 60, lines_total=count))
    fake.add("invoiceitems", *[sp.invoiceitem(f"ii_{i:03d}", f"cus_{i:03d}", prices[i % 5], 500 + i,
                                              created=T0 + i * DAY) for i in range(6)])

    def toml(base_url: str) -> str:
        return f"""[connections.stripe]
connector = "stripe"
api_key = "${{STRIPE_API_KEY}}"
base_url = "{base_url}"
page_size = 5
rate_limit = 0
"""
    return Vendor("stripe", fake._respx, toml, {"STRIPE_API_KEY": STRIPE_KEY},
                  {"raw_stripe__customers": 45, "raw_stripe__products": 3, "raw_stripe__prices": 5,
                   "raw_stripe__subscriptions": 24, "raw_stripe__invoices": 20, "raw_stripe__invoiceitems": 6},
                  rejects=1, faults=stripe_fault, child_path="/lines")


def stripe_fault(arrival: Arrival, turn: int) -> Fault:
    """Stripe's 429 sends no Retry-After (its docs: back off); a proxy in front may. 5xx bodies are
    Stripe's `api_error` envelope, a 502 from a load balancer is HTML."""
    rid = {"Request-Id": f"req_fault{arrival.seq:06d}"}

    def limited() -> Fault:
        body = sp.error("Request rate limit exceeded. Learn more about rate limits here "
                        "https://stripe.com/docs/rate-limits.", code="rate_limit")
        return Fault("429", httpx.Response(429, json=body, headers={**rid, "Stripe-Rate-Limited-Reason":
                                                                    "global-rate"}))

    def limited_after() -> Fault:
        body = sp.error("Request rate limit exceeded.", code="rate_limit")
        return Fault("429+Retry-After", httpx.Response(429, json=body, headers={**rid, "Retry-After": "1"}), 1.0)

    def server_error() -> Fault:
        body = sp.error("An unknown error occurred", type_="api_error")
        return Fault("500", httpx.Response(500, json=body, headers={**rid, "Stripe-Should-Retry": "true"}))

    return pick([limited, limited_after, server_error, lambda: bad_gateway(), lambda: unavailable(sp.error(
        "Stripe is temporarily unavailable", type_="api_error")), drop, cut], turn)


# -- HubSpot ---------------------------------------------------------------------------------------

def hubspot() -> Vendor:
    """35 companies, 30 contacts, 24 deals, 20 tickets, 12 survey answers (one off its scale),
    8 meetings, 8 calls, 3 owners; the search serves at most 10 results a page."""
    fake = FakeHubSpot(token=HUBSPOT_TOKEN)
    fake.page_cap = 10
    T0, MIN = hf.T0, hf.MINUTE
    fake.owner("101", "jane@vendor.example", "Jane", "Ortiz")
    fake.owner("102", None, "Sam", "Lee")
    fake.owner("103", "gone@vendor.example", "Old", "Owner", archived=True)
    fake.pipeline("deals", "default", "Sales Pipeline", [
        ("appointmentscheduled", "Appointment scheduled", {"isClosed": "false", "probability": "0.2"}),
        ("closedwon", "Closed won", {"isClosed": "true", "probability": "1.0"})])
    fake.pipeline("tickets", "0", "Support Pipeline", [("1", "New", {"ticketState": "OPEN"}),
                                                       ("4", "Closed", {"ticketState": "CLOSED"})])
    for i in range(35):
        fake.add("companies", 5000 + i, T0 + i * MIN, name=f"Company {i}", domain=f"company{i}.example",
                 lifecyclestage="customer", hubspot_owner_id=("101", "102", "103")[i % 3])
    for i in range(30):
        fake.add("contacts", 7000 + i, T0 + i * MIN + 1, email=f"person{i}@company{i}.example",
                 firstname=f"First{i}", lastname=f"Last{i}", company=5000 + i)
    for i in range(24):
        fake.add("deals", 8000 + i, T0 + i * MIN + 2, company=5000 + i, dealname=f"Deal {i}", amount=str(100 * i + 5),
                 deal_currency_code="EUR", dealstage=("appointmentscheduled", "closedwon")[i % 2], pipeline="default",
                 dealtype="newbusiness", closedate="2026-01-04T23:30:00.000Z", hubspot_owner_id="101")
    for i in range(20):
        fake.add("tickets", 9100 + i, T0 + i * MIN + 3, company=5000 + i, subject=f"Ticket {i}", hs_pipeline="0",
                 hs_pipeline_stage=("1", "4")[i % 2], hs_ticket_priority="HIGH", source_type="EMAIL")
    for i in range(12):
        fake.add("feedback_submissions", 6000 + i, T0 + i * MIN + 4, hs_survey_type="NPS",
                 hs_value="42" if i == 7 else str(i % 11), hs_survey_channel="EMAIL", hs_contact_id=str(7000 + i),
                 hs_submission_timestamp="2026-01-05T09:59:00.000Z")
    for i in range(8):
        fake.add("meetings", 4000 + i, T0 + i * MIN + 5, company=5000 + i, hs_meeting_title=f"Meeting {i}",
                 hs_timestamp="2026-01-05T14:00:00.000Z", hs_meeting_start_time="2026-01-05T14:00:00.000Z",
                 hs_meeting_end_time="2026-01-05T15:00:00.000Z")
        fake.add("calls", 3000 + i, T0 + i * MIN + 6, company=5000 + i, hs_call_title=f"Call {i}",
                 hs_call_duration="125400", hs_call_direction="OUTBOUND", hs_timestamp="2026-01-07T16:00:00.000Z")

    def toml(base_url: str) -> str:
        return f"""[connections.hubspot]
connector = "hubspot"
token = "${{HUBSPOT_TOKEN}}"
base_url = "{base_url}"
rate_limit = 0
search_rate_limit = 0
"""
    return Vendor("hubspot", fake.handle, toml, {"HUBSPOT_TOKEN": HUBSPOT_TOKEN},
                  {"raw_hubspot__companies": 35, "raw_hubspot__contacts": 30, "raw_hubspot__deals": 24,
                   "raw_hubspot__tickets": 20, "raw_hubspot__feedback_submissions": 12,
                   "raw_hubspot__meetings": 8, "raw_hubspot__calls": 8, "raw_hubspot__owners": 3},
                  rejects=1, faults=hubspot_fault, child_path="/associations/")


def hubspot_fault(arrival: Arrival, turn: int) -> Fault:
    """HubSpot's 429: `errorType: RATE_LIMIT` and a `policyName`; Retry-After only sometimes. Without
    it the connector waits out the policy's window: one second for SECONDLY."""
    def error(status: int, message: str, category: str) -> httpx.Response:
        return httpx.Response(status, json={"status": "error", "message": message,
                                            "correlationId": str(uuid.UUID(int=arrival.seq)), "category": category})

    def limited_after() -> Fault:
        headers = {"Retry-After": "1", "X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "0",
                   "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
        return Fault("429+Retry-After", hf.rate_limited("TEN_SECONDLY_ROLLING", "1", headers), 1.0)

    def limited() -> Fault:
        return Fault("429", hf.rate_limited("SECONDLY"), 1.0)

    def server_error() -> Fault:
        return Fault("500", error(500, "internal error", "INTERNAL_ERROR"))

    def unavailable_json() -> Fault:
        return Fault("503", error(503, "The service is temporarily unavailable", "SERVICE_UNAVAILABLE"))

    return pick([limited_after, limited, server_error, lambda: bad_gateway(), unavailable_json, drop, cut], turn)


# -- Zendesk ---------------------------------------------------------------------------------------

def zendesk() -> Vendor:
    """20 organizations, 42 users (2 agents), 40 tickets (one in a status Zendesk never sends) with
    their metric sets, 12 ratings; exports 3 records a page, lists 3."""
    fake = FakeZendesk(email="ops@faults.example", token=ZENDESK_TOKEN, host="127.0.0.1")
    fake.export_page_size = 3
    fake.list_page_cap = 3
    T0, HOUR, DAY = zp.epoch("2026-03-02T09:00:00Z"), 3600, 86400
    fake.add("groups", zp.group(31, "Tier 1", created=T0 - 90 * DAY), zp.group(32, "Escalations", created=T0 - 90 * DAY))
    fake.add("organizations", *[zp.organization(500 + i, f"Org {i}", created=T0 - 60 * DAY + i * HOUR,
                                                domain_names=[f"org{i}.example"], group_id=31 + i % 2)
                                for i in range(20)])
    fake.add("users", zp.user(9001, "Ada Agent", "ada@support.example", created=T0 - 50 * DAY, role="agent"),
             zp.user(9002, "Ben Admin", "ben@support.example", created=T0 - 50 * DAY + 1, role="admin"),
             *[zp.user(100 + i, f"User {i}", f"user{i}@org{i % 20}.example", created=T0 - 40 * DAY + i * HOUR,
                       organization_id=500 + i % 20) for i in range(40)])
    statuses = ("new", "open", "pending", "hold", "solved", "closed")
    for i in range(40):
        created = T0 + i * HOUR
        fake.add("tickets", zp.ticket(1 + i, created=created, updated=created + DAY,
                                      status="limbo" if i == 11 else statuses[i % 6], requester_id=100 + i % 40,
                                      organization_id=500 + i % 20, assignee_id=(9001, 9002, None)[i % 3],
                                      group_id=(31, 32, None)[i % 3]))
        fake.add("metric_sets", zp.metric_set(1 + i, created=created, updated=created + DAY, replies=i % 4,
                                              reply_minutes=10 * (i % 5) or None))
    fake.add("ratings", *[zp.rating(800 + i, 1 + i, 100 + i, ("good", "bad")[i % 2], created=T0 + (i + 1) * DAY)
                          for i in range(12)])

    def toml(base_url: str) -> str:
        return f"""[connections.zendesk]
connector = "zendesk"
subdomain = "faults"
email = "ops@faults.example"
api_token = "${{ZENDESK_API_TOKEN}}"
base_url = "{base_url}"
start_date = "2026-01-01"
rate_limit = 0
export_rate_limit = 600
"""
    return Vendor("zendesk", fake.handle, toml, {"ZENDESK_API_TOKEN": ZENDESK_TOKEN},
                  {"raw_zendesk__organizations": 20, "raw_zendesk__users": 42, "raw_zendesk__tickets": 40,
                   "raw_zendesk__satisfaction_ratings": 12},
                  rejects=1, faults=zendesk_fault, child_path="/satisfaction_ratings")


def zendesk_fault(arrival: Arrival, turn: int) -> Fault:
    """Zendesk's 429 always carries Retry-After (seconds), so does its 503 in maintenance."""
    def limited() -> Fault:
        body = zp.EXPORT_LIMITED if "/incremental/" in arrival.path else zp.error(
            "APIRateLimitExceeded", "Number of allowed API requests per minute exceeded")
        return Fault("429+Retry-After", httpx.Response(429, json=body, headers={"Retry-After": "1"}), 1.0)

    def server_error() -> Fault:
        return Fault("500", httpx.Response(500, json=zp.error("InternalError", "Something went wrong")))

    def maintenance() -> Fault:
        body = zp.error("ServiceUnavailable", "Zendesk is temporarily unavailable; try again shortly")
        return Fault("503+Retry-After", httpx.Response(503, json=body, headers={"Retry-After": "1"}), 1.0)

    return pick([limited, server_error, lambda: bad_gateway(), maintenance, drop, cut], turn)


# -- faults every vendor shares ----------------------------------------------------------------------

def bad_gateway() -> Fault:
    """A load balancer's 502: HTML, not the vendor's JSON."""
    html = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
    return Fault("502", httpx.Response(502, content=html, headers={"Content-Type": "text/html"}))


def unavailable(body: dict[str, Any]) -> Fault:
    return Fault("503", httpx.Response(503, content=json.dumps(body).encode(),
                                       headers={"Content-Type": "application/json"}))


def drop() -> Fault:
    return Fault("dropped", "drop")


def cut() -> Fault:
    return Fault("cut mid-body", "cut")


VENDORS = {"stripe": stripe, "hubspot": hubspot, "zendesk": zendesk}
