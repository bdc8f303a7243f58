"""A small stateful fake of the HubSpot APIs the connector uses, served through respx or a real server.

`FakeHubSpot.handle(httpx.Request) -> httpx.Response` routes every endpoint and knows no transport:
`mount(respx_mock)` (the constructor does it when given a respx mock) serves it in process, and
tests/faults/fault_server.py serves it on a local port for the command line in a subprocess.

Bodies follow HubSpot's public OpenAPI specs (CRM objects v3, search, associations v4, owners v3,
pipelines v3, account-info v3): `results[].{id, properties, createdAt, updatedAt, archived}`,
every property value a string, `paging.next.after`, search `total`, the error envelope
`{status, message, correlationId, category}` and the 429 body with `errorType`/`policyName`.
The search endpoint honours filterGroups (EQ, NEQ, GT, GTE, LT, LTE), one sort, `limit` (at
most 200) and the `after` offset, which it refuses past `ceiling` results, as HubSpot does.
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

import httpx

BASE = "https://api.hubapi.com"
TOKEN = "pat-na1-test-fake-private-app-token"
SETTINGS = {"token": TOKEN}        # rate limits at their defaults: with a test sleep they do not wait
T0 = 1_767_607_200_000       # 2026-01-05T10:00:00Z in epoch ms
MINUTE = 60_000
MODIFIED = {"contacts": "lastmodifieddate"}
CREATED = {"contacts": "createdate", "companies": "createdate", "deals": "createdate", "tickets": "createdate"}


def iso(ms: int) -> str:
    """Epoch ms -> HubSpot's ISO 8601 with milliseconds."""
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def modified_property(object_type: str) -> str:
    return MODIFIED.get(object_type, "hs_lastmodifieddate")


def crm_object(object_type: str, oid: Any, created: int, updated: int, **props: Any) -> dict[str, Any]:
    """A stored CRM object: the SimplePublicObject shape, every property a string."""
    properties = {k: (None if v is None else str(v)) for k, v in props.items()}
    properties["hs_object_id"] = str(oid)
    properties[CREATED.get(object_type, "hs_createdate")] = iso(created)
    properties[modified_property(object_type)] = iso(updated)
    return {"id": str(oid), "properties": properties, "createdAt": iso(created), "updatedAt": iso(updated),
            "archived": False}


def error(status: int, message: str, category: str, **extra: Any) -> httpx.Response:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category,
            **extra}
    return httpx.Response(status, json=body)


def rate_limited(policy: str = "TEN_SECONDLY_ROLLING", retry_after: str | None = None,
                 headers: dict[str, str] | None = None) -> httpx.Response:
    """HubSpot's 429: `{"status":"error","message","errorType":"RATE_LIMIT","correlationId","policyName"}`."""
    words = {"TEN_SECONDLY_ROLLING": "ten_secondly_rolling", "DAILY": "daily", "SECONDLY": "secondly"}
    body = {"status": "error", "message": f"You have reached your {words.get(policy, policy.lower())} limit.",
            "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()), "policyName": policy}
    h = dict(headers or {})
    if retry_after is not None:
        h["Retry-After"] = retry_after
    return httpx.Response(429, json=body, headers=h)


def _key(value: Any) -> tuple[int, Any]:
    """Compare property values as HubSpot does: numbers and datetimes by value, else as text."""
    text = "" if value is None else str(value)
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return (0, float(text))
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (0, dt.timestamp() * 1000)
    except ValueError:
        return (1, text)


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": lambda a, b: a == b, "NEQ": lambda a, b: a != b, "GT": lambda a, b: a > b,
    "GTE": lambda a, b: a >= b, "LT": lambda a, b: a < b, "LTE": lambda a, b: a <= b,
}


class FakeHubSpot:
    """In-memory HubSpot: objects by type, company associations, owners, pipelines, account details."""

    ceiling = 10_000

    def __init__(self, respx_mock: Any = None, token: str = TOKEN):
        self.token = token
        self.page_cap: int | None = None                         # serve at most this many search results a page
        self.objects: dict[str, dict[str, dict]] = {}
        self.links: dict[tuple[str, str], list[tuple[str, int, str | None]]] = {}
        self.owners: list[dict] = []
        self.pipelines: dict[str, list[dict]] = {"deals": [], "tickets": []}
        self.account = {"portalId": 62515, "accountType": "STANDARD", "timeZone": "Europe/Berlin",
                        "companyCurrency": "USD", "additionalCurrencies": ["EUR"], "utcOffset": "+01:00",
                        "utcOffsetMilliseconds": 3_600_000, "uiDomain": "app-eu1.hubspot.com",
                        "dataHostingLocation": "eu1"}
        self.queued: list[tuple[str, httpx.Response]] = []     # (path fragment, response) served once
        self.searches: list[tuple[str, dict]] = []               # (object type, body) of every search
        self.after_search: list[Callable[[int], None]] = []     # called with the search count (edits mid-sync)
        if respx_mock is not None:
            self.mount(respx_mock)

    def mount(self, respx_mock: Any) -> None:
        """Serve api.hubapi.com through respx, one route per endpoint (tests may add their own)."""
        respx_mock.post(url__regex=rf"{re.escape(BASE)}/crm/v3/objects/\w+/search").mock(side_effect=self.search)
        respx_mock.post(url__regex=rf"{re.escape(BASE)}/crm/v4/associations/\w+/\w+/batch/read").mock(
            side_effect=self.associations)
        respx_mock.get(f"{BASE}/crm/v3/owners").mock(side_effect=self.list_owners)
        respx_mock.get(url__regex=rf"{re.escape(BASE)}/crm/v3/pipelines/\w+").mock(side_effect=self.list_pipelines)
        respx_mock.get(f"{BASE}/account-info/v3/details").mock(side_effect=self.details)
        respx_mock.get(url__regex=rf"{re.escape(BASE)}/crm/v3/objects/\w+(\?.*)?$").mock(side_effect=self.list_objects)

    # -- building data -------------------------------------------------------------------------
    def add(self, object_type: str, oid: Any, created: int, updated: int | None = None,
            company: Any = None, **props: Any) -> dict:
        record = crm_object(object_type, oid, created, created if updated is None else updated, **props)
        self.objects.setdefault(object_type, {})[str(oid)] = record
        if company is not None:
            self.link(object_type, oid, company)
        return record

    def touch(self, object_type: str, oid: Any, updated: int, **props: Any) -> None:
        """Modify a stored object: new property values and a new modification time."""
        record = self.objects[object_type][str(oid)]
        record["properties"].update({k: (None if v is None else str(v)) for k, v in props.items()})
        record["properties"][modified_property(object_type)] = iso(updated)
        record["updatedAt"] = iso(updated)

    def archive(self, object_type: str, oid: Any, at: int) -> None:
        """Delete a record: search stops returning it; the list endpoint shows it with archived=true."""
        record = self.objects[object_type][str(oid)]
        record.update(archived=True, archivedAt=iso(at))

    def link(self, object_type: str, oid: Any, company: Any, primary: bool = True) -> None:
        type_id = {"contacts": 1, "deals": 5, "tickets": 339}.get(object_type, 0) if primary else 341
        self.links.setdefault((object_type, str(oid)), []).append(
            (str(company), type_id, "Primary" if primary else None))

    def owner(self, oid: str, email: str | None, first: str, last: str, archived: bool = False) -> None:
        self.owners.append({"id": oid, "email": email, "firstName": first, "lastName": last, "type": "PERSON",
                            "userId": int(oid) * 7, "userIdIncludingInactive": int(oid) * 7,
                            "createdAt": iso(T0 - 90 * 86_400_000), "updatedAt": iso(T0 - 86_400_000),
                            "archived": archived, "teams": []})

    def pipeline(self, object_type: str, pid: str, label: str, stages: list[tuple[str, str, dict]]) -> None:
        self.pipelines[object_type].append({
            "id": pid, "label": label, "displayOrder": len(self.pipelines[object_type]), "archived": False,
            "createdAt": iso(T0 - 365 * 86_400_000), "updatedAt": iso(T0 - 30 * 86_400_000),
            "stages": [{"id": sid, "label": slabel, "displayOrder": i, "metadata": meta, "archived": False,
                        "createdAt": iso(T0 - 365 * 86_400_000), "updatedAt": iso(T0 - 30 * 86_400_000),
                        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT"}
                       for i, (sid, slabel, meta) in enumerate(stages)]})

    # -- serving -------------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        """One request -> its response, whatever the transport (respx, or a real local server)."""
        path, method = request.url.path, request.method
        if method == "POST" and re.fullmatch(r"/crm/v3/objects/\w+/search", path):
            return self.search(request)
        if method == "POST" and re.fullmatch(r"/crm/v4/associations/\w+/\w+/batch/read", path):
            return self.associations(request)
        if method == "GET" and path == "/crm/v3/owners":
            return self.list_owners(request)
        if method == "GET" and re.fullmatch(r"/crm/v3/pipelines/\w+", path):
            return self.list_pipelines(request)
        if method == "GET" and path == "/account-info/v3/details":
            return self.details(request)
        if method == "GET" and re.fullmatch(r"/crm/v3/objects/\w+", path):
            return self.list_objects(request)
        return error(404, f"Unable to route {method} {path}", "OBJECT_NOT_FOUND")

    def gate(self, request: httpx.Request) -> httpx.Response | None:
        """A queued error for this path, else 401 without the right token, else None."""
        for i, (fragment, response) in enumerate(self.queued):
            if fragment in request.url.path:
                del self.queued[i]
                return response
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return error(401, "Authentication credentials not found. This API supports OAuth 2.0 authentication "
                              "and you can find more details at https://developers.hubspot.com/docs/methods/auth/"
                              "oauth-overview", "INVALID_AUTHENTICATION")
        return None

    def search(self, request: httpx.Request, **_: Any) -> httpx.Response:
        stop = self.gate(request)
        if stop is not None:
            return stop
        object_type = request.url.path.split("/")[4]
        body = json.loads(request.content)
        self.searches.append((object_type, body))
        limit = int(body.get("limit", 10))
        offset = int(body.get("after") or 0)
        if limit > 200:
            return error(400, "limit must be 200 or less", "VALIDATION_ERROR")
        limit = min(limit, self.page_cap or limit)
        if offset >= self.ceiling:
            return error(400, "Search results are limited to 10,000 records; narrow the query", "VALIDATION_ERROR")
        rows = [r for r in self.objects.get(object_type, {}).values()
                if not r["archived"] and self._matches(r, body.get("filterGroups"))]
        rows.reverse()                                   # ties come back in no particular (not id) order
        for sort in reversed(body.get("sorts") or []):
            name = sort.get("propertyName") if isinstance(sort, dict) else str(sort).lstrip("-")
            descending = (sort.get("direction") == "DESCENDING") if isinstance(sort, dict) else str(sort)[:1] == "-"
            rows.sort(key=lambda r: _key(r["properties"].get(name)), reverse=descending)
        page = rows[offset:offset + limit]
        wanted = list(body.get("properties") or [])
        out: dict[str, Any] = {"total": len(rows), "results": [self._project(object_type, r, wanted) for r in page]}
        if offset + limit < len(rows):
            out["paging"] = {"next": {"after": str(offset + limit)}}
        for hook in self.after_search:
            hook(len(self.searches))
        return httpx.Response(200, json=out)

    def _matches(self, record: dict, groups: Any) -> bool:
        if not groups:
            return True
        return any(all(self._test(record, f) for f in g.get("filters") or []) for g in groups)

    @staticmethod
    def _test(record: dict, f: dict) -> bool:
        value = record["properties"].get(f["propertyName"])
        if value is None:
            return f["operator"] == "NEQ"
        return _OPS[f["operator"]](_key(value), _key(f.get("value")))

    @staticmethod
    def _project(object_type: str, record: dict, wanted: list[str]) -> dict:
        props = record["properties"]
        defaults = {"hs_object_id", CREATED.get(object_type, "hs_createdate"), modified_property(object_type)}
        shown = {k: props.get(k) for k in wanted}          # asked for but empty: null, as HubSpot does
        shown.update({k: props[k] for k in defaults if k in props})
        return {**{k: v for k, v in record.items() if k != "properties"}, "properties": shown}

    def associations(self, request: httpx.Request, **_: Any) -> httpx.Response:
        stop = self.gate(request)
        if stop is not None:
            return stop
        from_type = request.url.path.split("/")[4]
        inputs = json.loads(request.content)["inputs"]
        if len(inputs) > 1000:
            return error(400, "Batch read associations accept at most 1000 inputs", "VALIDATION_ERROR")
        results, errors = [], []
        for item in inputs:
            links = self.links.get((from_type, str(item["id"])))
            if not links:
                errors.append({"status": "error", "category": "OBJECT_NOT_FOUND", "subCategory": {},
                               "message": f"No companies are associated with {from_type} {item['id']}.",
                               "context": {"fromObjectId": [str(item["id"])]}, "errors": [], "links": {}})
                continue
            results.append({"from": {"id": str(item["id"])}, "to": [
                {"toObjectId": cid, "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": tid,
                                                          "label": label}]}
                for cid, tid, label in links]})
        body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": iso(T0),
                                "completedAt": iso(T0 + 40)}
        if errors:
            body.update(numErrors=len(errors), errors=errors)
        return httpx.Response(207 if errors else 200, json=body)

    def list_objects(self, request: httpx.Request, **_: Any) -> httpx.Response:
        """`GET /crm/v3/objects/{type}`: live or archived records in id order, `after` paging."""
        stop = self.gate(request)
        if stop is not None:
            return stop
        object_type = request.url.path.split("/")[-1]
        params = request.url.params
        archived = params.get("archived", "false") == "true"
        wanted = ",".join(params.get_list("properties")).split(",") if params.get("properties") else []
        rows = sorted((r for r in self.objects.get(object_type, {}).values() if r["archived"] == archived),
                      key=lambda r: int(r["id"]))
        start, limit = int(params.get("after") or 0), min(int(params.get("limit") or 10), 100)
        out: dict[str, Any] = {"results": [self._project(object_type, r, [w for w in wanted if w])
                                           for r in rows[start:start + limit]]}
        if start + limit < len(rows):
            out["paging"] = {"next": {"after": str(start + limit), "link": f"{BASE}{request.url.path}?after="
                                                                           f"{start + limit}"}}
        return httpx.Response(200, json=out)

    def list_owners(self, request: httpx.Request) -> httpx.Response:
        stop = self.gate(request)
        if stop is not None:
            return stop
        params = request.url.params
        archived = params.get("archived", "false") == "true"
        rows = [o for o in self.owners if o["archived"] == archived]
        start, limit = int(params.get("after") or 0), int(params.get("limit") or 100)
        out: dict[str, Any] = {"results": rows[start:start + limit]}
        if start + limit < len(rows):
            out["paging"] = {"next": {"after": str(start + limit), "link": f"?after={start + limit}"}}
        return httpx.Response(200, json=out)

    def list_pipelines(self, request: httpx.Request, **_: Any) -> httpx.Response:
        stop = self.gate(request)
        if stop is not None:
            return stop
        return httpx.Response(200, json={"results": self.pipelines.get(request.url.path.split("/")[-1], [])})

    def details(self, request: httpx.Request) -> httpx.Response:
        stop = self.gate(request)
        return stop if stop is not None else httpx.Response(200, json=self.account)


def standard(respx_mock: Any) -> FakeHubSpot:
    """The portal most tests use: three companies and their contacts, deals, tickets, surveys, meetings, calls."""
    api = FakeHubSpot(respx_mock)
    api.owner("101", "jane@vendor.example", "Jane", "Ortiz")
    api.owner("102", None, "Sam", "Lee")
    api.owner("103", "gone@vendor.example", "Old", "Owner", archived=True)
    api.pipeline("deals", "default", "Sales Pipeline", [
        ("appointmentscheduled", "Appointment scheduled", {"isClosed": "false", "probability": "0.2"}),
        ("closedwon", "Closed won", {"isClosed": "true", "probability": "1.0"}),
        ("closedlost", "Closed lost", {"isClosed": "true", "probability": "0.0"})])
    api.pipeline("deals", "7654321", "Renewals", [
        ("9001", "Renewal due", {"isClosed": "false", "probability": "0.6"}),
        ("9002", "Renewed", {"isClosed": "true", "probability": "1.0"}),
        ("9003", "Not renewed", {"isClosed": "true", "probability": "0.0"})])
    api.pipeline("tickets", "0", "Support Pipeline", [
        ("1", "New", {"ticketState": "OPEN"}), ("2", "Waiting on contact", {"ticketState": "OPEN"}),
        ("3", "Waiting on us", {"ticketState": "OPEN"}), ("4", "Closed", {"ticketState": "CLOSED"})])
    t = T0
    api.add("companies", 5001, t, name="Northwind Traders", domain="northwind.example", industry="COMPUTER_SOFTWARE",
            country="Germany", lifecyclestage="customer", hubspot_owner_id="101", numberofemployees="250")
    api.add("companies", 5002, t + MINUTE, name="Globex", domain=None, website="https://www.Globex.example/about",
            lifecyclestage="opportunity", hubspot_owner_id="103")
    api.add("companies", 5003, t + 2 * MINUTE, name="Initech", domain="initech.example", lifecyclestage="lead")
    api.add("contacts", 7001, t, email="Ann@Northwind.example", firstname="Ann", lastname="Smith",
            jobtitle="COO", associatedcompanyid="5001")
    api.add("contacts", 7002, t + MINUTE, email="bob@globex.example", firstname="Bob", lastname=None,
            company=5002)                                    # no associatedcompanyid: found through v4
    api.add("contacts", 7003, t + 2 * MINUTE, email="cy@gmail.example", firstname="Cy", lastname="Young")
    api.link("contacts", 7001, 5001)
    api.add("deals", 8001, t, company=5001, dealname="Northwind new", amount="1234.5", deal_currency_code="EUR",
            dealstage="closedwon", pipeline="default", dealtype="newbusiness", closedate="2026-01-04T23:30:00.000Z",
            hubspot_owner_id="101")
    api.add("deals", 8002, t + MINUTE, company=5001, dealname="Northwind renewal 2027", amount="12000",
            deal_currency_code="EUR", dealstage="9001", pipeline="7654321", dealtype="existingbusiness",
            closedate="2027-01-05T00:00:00.000Z", hubspot_owner_id="101")
    api.add("deals", 8003, t + 2 * MINUTE, company=5002, dealname="Globex upsell", amount="99.99",
            dealstage="closedlost", pipeline="default", dealtype="existingbusiness", hubspot_owner_id="102")
    api.add("tickets", 9101, t, company=5001, subject="Cannot log in", hs_pipeline="0", hs_pipeline_stage="4",
            hs_ticket_priority="HIGH", hs_ticket_category="PRODUCT_ISSUE", source_type="EMAIL",
            first_agent_reply_date="2026-01-05T10:30:00.000Z", closed_date="2026-01-05T12:00:00.000Z",
            hubspot_owner_id="102")
    api.add("tickets", 9102, t + MINUTE, company=5002, subject="Invoice question", hs_pipeline="0",
            hs_pipeline_stage="2", hs_ticket_priority="LOW", hs_ticket_category="BILLING_ISSUE", source_type="CHAT",
            time_to_first_agent_reply="90000")
    api.add("tickets", 9103, t + 2 * MINUTE, subject="Hello", hs_pipeline="0", hs_pipeline_stage="1",
            source_type="FORM")
    api.add("feedback_submissions", 6001, t, hs_survey_type="NPS", hs_value="9", hs_content="Great support",
            hs_survey_channel="EMAIL", hs_submission_timestamp="2026-01-05T09:59:00.000Z", hs_contact_id="7001",
            hs_response_group="PROMOTER")
    api.add("feedback_submissions", 6002, t + MINUTE, hs_survey_type="CSAT", hs_value="2",
            hs_survey_channel="EMAIL", hs_contact_id="7002", hs_ticket_id="9101")
    api.add("feedback_submissions", 6003, t + 2 * MINUTE, hs_survey_type="CES", hs_value="6",
            hs_survey_channel="WEB", hs_contact_id="7003")
    api.add("meetings", 4001, t, company=5001, hs_meeting_title="Q1 QBR with Northwind",
            hs_timestamp="2026-01-05T14:00:00.000Z", hs_meeting_start_time="2026-01-05T14:00:00.000Z",
            hs_meeting_end_time="2026-01-05T15:00:00.000Z", hubspot_owner_id="101")
    api.add("meetings", 4002, t + MINUTE, company=5002, hs_meeting_title="Onboarding",
            hs_timestamp="2026-01-06T09:00:00.000Z", hs_meeting_start_time="2026-01-06T09:00:00.000Z",
            hs_meeting_end_time="2026-01-06T09:30:00.000Z")
    api.add("calls", 3001, t, company=5001, hs_call_title="Renewal check-in", hs_call_duration="125400",
            hs_call_direction="OUTBOUND", hs_timestamp="2026-01-07T16:00:00.000Z", hubspot_owner_id="101")
    api.add("calls", 3002, t + MINUTE, hs_call_title="Inbound question", hs_call_duration=None,
            hs_call_direction="INBOUND", hs_timestamp="2026-01-08T08:00:00.000Z")
    return api
