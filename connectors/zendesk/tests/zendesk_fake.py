"""A small in-memory Zendesk Support: incremental exports, cursor lists, errors.

`FakeZendesk.handle(httpx.Request) -> httpx.Response` is the whole API and knows no transport:
given a respx mock, the constructor routes the account's host to it; tests/faults/fault_server.py
serves it on a local port for the command line in a subprocess.
"""
from __future__ import annotations

import base64
import copy
import re
import time
from typing import Any, Callable

import httpx

import zendesk_payloads as zp

EMAIL = "ops@northwind.example"
TOKEN = "zd-test-token-6f1c2b"


class FakeZendesk:
    """Objects keyed by id; the exports order them by their timestamp, then id, like Zendesk."""

    def __init__(self, respx_mock: Any = None, *, email: str = EMAIL, token: str = TOKEN, oauth: str | None = None,
                 host: str = zp.HOST, role: str = "admin"):
        expected = f"Bearer {oauth}" if oauth else \
            "Basic " + base64.b64encode(f"{email}/token:{token}".encode()).decode()
        self.expected_auth = expected
        self.role = role
        self.organizations: dict[int, dict] = {}
        self.users: dict[int, dict] = {}
        self.tickets: dict[int, dict] = {}
        self.metric_sets: dict[int, dict] = {}
        self.groups: dict[int, dict] = {}
        self.ratings: dict[int, dict] = {}
        self.export_page_size = 1000        # Zendesk's own page size for exports
        self.list_page_cap: int | None = None   # serve at most this many list items a page (page[size] or less)
        self.now: int | None = None         # None: the real clock
        self.fail: Callable[[httpx.Request], httpx.Response | None] | None = None
        self.route = respx_mock.route(host=host).mock(side_effect=self.handle) if respx_mock is not None else None

    # -- data ------------------------------------------------------------------------------------
    def add(self, kind: str, *objs: dict) -> None:
        table = getattr(self, kind)
        for obj in objs:
            key = obj["ticket_id"] if kind == "metric_sets" else obj["id"]
            table[key] = copy.deepcopy(obj)

    def clock(self) -> int:
        return int(time.time()) if self.now is None else self.now

    # -- requests ------------------------------------------------------------------------------------
    @property
    def calls(self) -> list[httpx.Request]:
        return [c.request for c in self.route.calls] if self.route is not None else []

    def paths(self, prefix: str = "") -> list[str]:
        out = []
        for r in self.calls:
            if r.url.path.startswith(prefix):
                query = httpx.QueryParams(r.url.query.decode())
                out.append(r.url.path + ("?" + "&".join(f"{k}={v}" for k, v in query.multi_items()) if query else ""))
        return out

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.fail is not None:
            failed = self.fail(request)
            if failed is not None:
                return failed
        if request.headers.get("Authorization") != self.expected_auth:
            return httpx.Response(401, json=zp.UNAUTHORIZED)
        path = re.sub(r"\.json$", "", request.url.path)
        params = request.url.params
        if path == "/api/v2/users/me":
            me = zp.user(1, "Olive Ops", EMAIL, created=1_700_000_000, role=self.role)
            return httpx.Response(200, json={"user": me})
        if path.startswith("/api/v2/incremental/") and self.role != "admin":
            return httpx.Response(403, json=zp.FORBIDDEN)
        if path == "/api/v2/incremental/tickets/cursor":
            sideload = "metric_sets" in (params.get("include") or "").split(",")
            return self._cursor_export(request, "tickets", self.tickets, "generated_timestamp", sideload)
        if path == "/api/v2/incremental/users/cursor":
            return self._cursor_export(request, "users", self.users, "updated_at", False)
        if path == "/api/v2/incremental/organizations":
            return self._time_export(request, "organizations", self.organizations)
        if path == "/api/v2/groups":
            return self._list(request, "groups", list(self.groups.values()))
        if path == "/api/v2/users":
            roles = set(params.get_list("role[]")) or {params.get("role")} - {None}
            users = [u for u in self.users.values() if not roles or u["role"] in roles]
            return self._list(request, "users", users)
        if path == "/api/v2/satisfaction_ratings":
            since = int(params.get("start_time", 0))
            found = [r for r in self.ratings.values() if zp.epoch(r["created_at"]) >= since]
            return self._list(request, "satisfaction_ratings", found)
        return httpx.Response(404, json=zp.error("InvalidEndpoint", "Not found"))

    def _start_time(self, request: httpx.Request) -> int | httpx.Response:
        try:
            start = int(request.url.params["start_time"])
        except (KeyError, ValueError):
            return httpx.Response(400, json=zp.error("InvalidValue", "start_time is required"))
        if start > self.clock() - 60:
            return httpx.Response(400, json=zp.error("InvalidValue", "Too recent start_time. Use a start_time "
                                                                     "older than 1 minute"))
        return start

    def _ordered(self, table: dict[int, dict], field: str) -> list[tuple[tuple[int, int], dict]]:
        def ts(obj: dict) -> int:
            value = obj[field]
            return value if isinstance(value, int) else zp.epoch(value)
        limit = self.clock() - 60                      # the last minute is left out
        rows = [((ts(o), o["id"]), o) for o in table.values() if ts(o) <= limit]
        return sorted(rows, key=lambda row: row[0])

    def _cursor_export(self, request: httpx.Request, key: str, table: dict[int, dict], field: str,
                       sideload: bool) -> httpx.Response:
        params = request.url.params
        rows = self._ordered(table, field)
        cursor = params.get("cursor")
        if cursor:
            try:
                ts, ident = (int(x) for x in zp.read_token(cursor))
            except ValueError:
                return httpx.Response(400, json=zp.error("InvalidCursor", "The cursor is invalid"))
            rows = [row for row in rows if row[0] > (ts, ident)]
        else:
            start = self._start_time(request)
            if isinstance(start, httpx.Response):
                return start
            rows = [row for row in rows if row[0][0] >= start]
        page = rows[:self.export_page_size]
        end = len(rows) <= self.export_page_size
        after = zp.cursor_token(*page[-1][0]) if page else cursor
        items = [copy.deepcopy(o) for _, o in page]
        extra = {}
        if sideload:
            extra["metric_sets"] = [copy.deepcopy(self.metric_sets[o["id"]]) for o in items
                                    if o["id"] in self.metric_sets]
        path = request.url.path
        return httpx.Response(200, json=zp.cursor_export(path, key, items, after, end, **extra))

    def _time_export(self, request: httpx.Request, key: str, table: dict[int, dict]) -> httpx.Response:
        start = self._start_time(request)
        if isinstance(start, httpx.Response):
            return start
        rows = [row for row in self._ordered(table, "updated_at") if row[0][0] >= start]
        page = rows[:self.export_page_size]
        end = len(rows) <= self.export_page_size
        end_time = page[-1][0][0] if page else start
        items = [copy.deepcopy(o) for _, o in page]
        return httpx.Response(200, json=zp.time_export(request.url.path, key, items, end_time, end))

    def _list(self, request: httpx.Request, key: str, objs: list[dict]) -> httpx.Response:
        params = request.url.params
        size = int(params.get("page[size]", 100))
        assert 1 <= size <= 100, size
        size = min(size, self.list_page_cap or size)
        objs = sorted(objs, key=lambda o: o["id"])
        if params.get("page[after]"):
            try:
                last = int(zp.read_token(params["page[after]"])[0])
            except ValueError:
                return httpx.Response(400, json=zp.error("InvalidPaginationParameter", "page[after] is not valid"))
            objs = [o for o in objs if o["id"] > last]
        page = [copy.deepcopy(o) for o in objs[:size]]
        more = len(objs) > size
        after = zp.cursor_token(page[-1]["id"]) if page else None
        before = zp.cursor_token(page[0]["id"]) if page else None
        return httpx.Response(200, json=zp.cursor_list(request.url.path, key, page, more, after, before))


def throttled(seconds: int) -> httpx.Response:
    return httpx.Response(429, json=zp.EXPORT_LIMITED, headers={"Retry-After": str(seconds)})
