"""A small in-memory Stripe: list pagination, retrieval, events, errors.

`FakeStripe.handle(method, path, query, headers) -> (status, body, headers)` is the whole API and
knows no transport. Two adapters serve it: `mount(respx_mock)` (in-process, through respx; the
constructor does it when given a respx mock) and `stripe_server.StripeServer` (a real local HTTP
server, for the command line in a subprocess).
"""
from __future__ import annotations

import copy
import itertools
import re
from typing import Any, Callable, Mapping

import httpx

from stripe_payloads import error, listing

HOST = "api.stripe.com"
API_KEY = "sk_test_csconnect_fake_key"
VERSION = "2025-08-27.basil"        # the version stripe_payloads renders; requests must pin it
LISTS = {"customers": "customer", "products": "product", "prices": "price", "subscriptions": "subscription",
         "invoices": "invoice", "invoiceitems": "invoiceitem"}
INLINE_LINES = 10

Reply = tuple[int, dict[str, Any], dict[str, str]]     # status, JSON body, response headers


class FakeStripe:
    """Objects are listed newest first (by `created`, then by insertion), like Stripe."""

    def __init__(self, respx_mock: Any = None, api_key: str = API_KEY, *, version: str = VERSION):
        self.api_key = api_key
        self.version = version
        self.objects: dict[str, list[dict]] = {name: [] for name in LISTS}
        self.lines: dict[str, list[dict]] = {}      # invoice id -> every line
        self.events: list[dict] = []
        self.fail: Callable[[httpx.Request], httpx.Response | None] | None = None   # respx only
        self.route: Any = None
        self._request_ids = itertools.count(1)
        if respx_mock is not None:
            self.mount(respx_mock)

    # -- data ------------------------------------------------------------------------------
    def add(self, kind: str, *objs: dict) -> None:
        for obj in objs:
            objs_of = self.objects[kind]
            objs_of[:] = [o for o in objs_of if o["id"] != obj["id"]]
            objs_of.append(copy.deepcopy(obj))
            if kind == "invoices":
                self.lines.setdefault(obj["id"], copy.deepcopy(obj["lines"]["data"]))

    def add_invoice(self, inv: dict) -> dict:
        """An invoice built with all its lines; the API inlines the first ten (`has_more` beyond)."""
        lines = inv["lines"]["data"]
        self.lines[inv["id"]] = copy.deepcopy(lines)
        inv = copy.deepcopy(inv)
        inv["lines"] = listing(f"/v1/invoices/{inv['id']}/lines", lines[:INLINE_LINES], len(lines) > INLINE_LINES)
        self.add("invoices", inv)
        return inv

    def emit(self, ev: dict) -> None:
        self.events.append(copy.deepcopy(ev))

    # -- the API -----------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: Any, headers: Mapping[str, str]) -> Reply:
        """One request -> (status, body, headers). `query`: a query string or httpx.QueryParams;
        `headers`: any case-insensitive mapping (httpx.Headers, http.server's message)."""
        params = httpx.QueryParams(query)
        reply_headers = {"Request-Id": f"req_fake{next(self._request_ids):06d}", "Stripe-Version": self.version}
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, error("Invalid API Key provided: sk_test_********************_key"), \
                {**reply_headers, "Request-Id": "req_unauth"}
        asked = headers.get("Stripe-Version")
        if asked != self.version:
            # Stripe renders objects in the requested version (else the account default); this fake
            # renders only `version`, so a request that does not pin it is refused.
            said = f"Invalid Stripe API version: {asked}" if asked else \
                f"No Stripe-Version header: this account's default predates {self.version}; pin the version"
            return 400, error(said), reply_headers
        if method != "GET":
            return 404, error(f"Unrecognized request URL ({method}: {path})."), reply_headers
        status, body = self._route(path, params)
        return status, body, reply_headers

    def _route(self, path: str, params: httpx.QueryParams) -> tuple[int, dict[str, Any]]:
        m = re.fullmatch(r"/v1/(\w+)", path)
        if m and m.group(1) in LISTS:
            return self._list(path, self._filtered(m.group(1), params), params)
        if path == "/v1/events":
            return self._list(path, self._events(params), params)
        m = re.fullmatch(r"/v1/invoices/(\w+)/lines", path)
        if m and m.group(1) in self.lines:
            return self._list(path, self.lines[m.group(1)], params)
        if path == "/v1/subscription_items":
            if not params.get("subscription"):
                return 400, error("Missing required param: subscription.", code="parameter_missing")
            subs = [s for s in self.objects["subscriptions"] if s["id"] == params["subscription"]]
            return self._list(path, subs[0]["items"]["data"] if subs else [], params)
        m = re.fullmatch(r"/v1/(\w+)/(\w+)", path)
        if m and m.group(1) in LISTS:
            for obj in self.objects[m.group(1)]:
                if obj["id"] == m.group(2):
                    return 200, copy.deepcopy(obj)
            return 404, error(f"No such {LISTS[m.group(1)]}: '{m.group(2)}'", code="resource_missing")
        return 404, error(f"Unrecognized request URL (GET: {path}).")

    def _filtered(self, kind: str, params: httpx.QueryParams) -> list[dict]:
        order = {o["id"]: i for i, o in enumerate(self.objects[kind])}
        objs = sorted(self.objects[kind], key=lambda o: (o.get("created") or 0, order[o["id"]]), reverse=True)
        if kind == "subscriptions" and params.get("status") != "all":
            objs = [o for o in objs if o["status"] not in ("canceled", "incomplete_expired")]
        if kind == "invoiceitems" and params.get("pending") == "true":
            objs = [o for o in objs if o["invoice"] is None]
        return objs

    def _events(self, params: httpx.QueryParams) -> list[dict]:
        types = set(params.get_list("types[]"))
        after = int(params.get("created[gt]", -1))
        order = {id(e): i for i, e in enumerate(self.events)}
        found = [e for e in self.events if (not types or e["type"] in types) and e["created"] > after]
        return sorted(found, key=lambda e: (e["created"], order[id(e)]), reverse=True)

    def _list(self, path: str, objs: list[dict], params: httpx.QueryParams) -> tuple[int, dict[str, Any]]:
        """Stripe's list pagination: `limit` 1-100 (default 10), `starting_after`, `has_more`."""
        try:
            limit = int(params.get("limit", 10))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            body = error("This value must be greater than or equal to 1 and less than or equal to 100.",
                         code="parameter_invalid_integer")
            body["error"]["param"] = "limit"
            return 400, body
        start = 0
        if params.get("starting_after"):
            ids = [o["id"] for o in objs]
            if params["starting_after"] not in ids:
                body = error(f"No such object: '{params['starting_after']}'", code="resource_missing")
                body["error"]["param"] = "starting_after"
                return 400, body
            start = ids.index(params["starting_after"]) + 1
        page = objs[start:start + limit]
        return 200, listing(path, copy.deepcopy(page), start + limit < len(objs))

    # -- in process, through respx --------------------------------------------------------------
    def mount(self, respx_mock: Any) -> Any:
        """Serve api.stripe.com through respx; `fail(request)` may answer a request first."""
        self.route = respx_mock.route(host=HOST).mock(side_effect=self._respx)
        return self.route

    def _respx(self, request: httpx.Request) -> httpx.Response:
        if self.fail is not None:
            failed = self.fail(request)
            if failed is not None:
                return failed
        status, body, headers = self.handle(request.method, request.url.path, request.url.params, request.headers)
        return httpx.Response(status, json=body, headers=headers)

    @property
    def calls(self) -> list[httpx.Request]:
        return [c.request for c in self.route.calls]

    def paths(self) -> list[str]:
        return [f"{r.url.path}?{r.url.query.decode()}" if r.url.query else r.url.path for r in self.calls]
