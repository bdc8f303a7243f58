"""A small in-memory Stripe served through respx: list pagination, retrieval, events, errors."""
from __future__ import annotations

import copy
import re
from typing import Any, Callable

import httpx

from stripe_payloads import error, listing

HOST = "api.stripe.com"
LISTS = {"customers": "customer", "products": "product", "prices": "price", "subscriptions": "subscription",
         "invoices": "invoice", "invoiceitems": "invoiceitem"}
INLINE_LINES = 10


class FakeStripe:
    """Objects are listed newest first (by `created`, then by insertion), like Stripe."""

    def __init__(self, respx_mock: Any, api_key: str = "sk_test_csconnect_fake_key"):
        self.api_key = api_key
        self.objects: dict[str, list[dict]] = {name: [] for name in LISTS}
        self.lines: dict[str, list[dict]] = {}      # invoice id -> every line
        self.events: list[dict] = []
        self.fail: Callable[[httpx.Request], httpx.Response | None] | None = None
        self.route = respx_mock.route(host=HOST).mock(side_effect=self.handle)

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

    # -- requests ----------------------------------------------------------------------------
    @property
    def calls(self) -> list[httpx.Request]:
        return [c.request for c in self.route.calls]

    def paths(self) -> list[str]:
        return [f"{r.url.path}?{r.url.query.decode()}" if r.url.query else r.url.path for r in self.calls]

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.fail is not None:
            failed = self.fail(request)
            if failed is not None:
                return failed
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return httpx.Response(401, json=error("Invalid API Key provided: sk_test_********************_key"),
                                  headers={"Request-Id": "req_unauth"})
        path, params = request.url.path, request.url.params
        m = re.fullmatch(r"/v1/(\w+)", path)
        if m and m.group(1) in LISTS:
            return self._list(path, self._filtered(m.group(1), params), params)
        if path == "/v1/events":
            return self._list(path, self._events(params), params)
        m = re.fullmatch(r"/v1/invoices/(\w+)/lines", path)
        if m and m.group(1) in self.lines:
            return self._list(path, self.lines[m.group(1)], params)
        m = re.fullmatch(r"/v1/subscription_items", path)
        if m:
            subs = [s for s in self.objects["subscriptions"] if s["id"] == params.get("subscription")]
            return self._list(path, subs[0]["items"]["data"] if subs else [], params)
        m = re.fullmatch(r"/v1/(\w+)/(\w+)", path)
        if m and m.group(1) in LISTS:
            for obj in self.objects[m.group(1)]:
                if obj["id"] == m.group(2):
                    return httpx.Response(200, json=obj)
            return httpx.Response(404, json=error(f"No such {LISTS[m.group(1)]}: '{m.group(2)}'",
                                                  code="resource_missing"))
        return httpx.Response(404, json=error(f"Unrecognized request URL (GET: {path})."))

    def _filtered(self, kind: str, params: Any) -> list[dict]:
        order = {o["id"]: i for i, o in enumerate(self.objects[kind])}
        objs = sorted(self.objects[kind], key=lambda o: (o.get("created") or 0, order[o["id"]]), reverse=True)
        if kind == "subscriptions" and params.get("status") != "all":
            objs = [o for o in objs if o["status"] not in ("canceled", "incomplete_expired")]
        if kind == "invoiceitems" and params.get("pending") == "true":
            objs = [o for o in objs if o["invoice"] is None]
        return objs

    def _events(self, params: Any) -> list[dict]:
        types = set(params.get_list("types[]"))
        after = int(params.get("created[gt]", -1))
        order = {id(e): i for i, e in enumerate(self.events)}
        found = [e for e in self.events if (not types or e["type"] in types) and e["created"] > after]
        return sorted(found, key=lambda e: (e["created"], order[id(e)]), reverse=True)

    def _list(self, path: str, objs: list[dict], params: Any) -> httpx.Response:
        limit = int(params.get("limit", 10))
        assert 1 <= limit <= 100, limit
        start = 0
        if params.get("starting_after"):
            ids = [o["id"] for o in objs]
            if params["starting_after"] not in ids:
                body = error(f"No such object: '{params['starting_after']}'", code="resource_missing")
                body["error"]["param"] = "starting_after"
                return httpx.Response(400, json=body)
            start = ids.index(params["starting_after"]) + 1
        page = objs[start:start + limit]
        return httpx.Response(200, json=listing(path, copy.deepcopy(page), start + limit < len(objs)))
