"""A small stateful PostHog served through respx: the HogQL query API and the persons list.

It holds raw events and answers the connector's own HogQL (the daily usage aggregate, the
groups listing, the probe) by reading the query's bounds, filters, keyset and LIMIT back out
of the text and computing the same aggregate in Python (the aggregate's ClickHouse semantics
were checked against a real ClickHouse engine when the query was written). Anything else is a
400, as PostHog answers a query it cannot parse.
"""
from __future__ import annotations

import copy
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable
from urllib.parse import urlencode

import httpx

import posthog_payloads as pp

API_KEY = "phx_csconnect_fake_personal_key_0123456789"
PROJECT = 4242
GAP = 1800
_LIT = r"'((?:[^'\\]|\\.)*)'"
USAGE_COLUMNS = ["day", "user_id", "event_count", "session_count", "active_seconds", "features", "account"]
USAGE_TYPES = ["String", "String", "UInt64", "UInt64", "Int64", "Array(String)", "String"]


def unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def ts(text: str) -> datetime:
    """'2026-03-05 10:00:00' (UTC) -> an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@dataclass
class Event:
    person: str
    event: str
    timestamp: datetime
    session: str = ""
    groups: dict[int, str] = field(default_factory=dict)
    person_props: dict[str, Any] = field(default_factory=dict)
    props: dict[str, Any] = field(default_factory=dict)
    mode: str = "full"


class FakePostHog:
    """Events, persons and groups of one project, on one host."""

    def __init__(self, respx_mock: Any, api_key: str = API_KEY, project: int = PROJECT,
                 host: str = "us.posthog.com"):
        self.api_key, self.project, self.host = api_key, project, host
        self.events: list[Event] = []
        self.persons: list[dict[str, Any]] = []
        self.groups: dict[tuple[int, str], dict[str, Any]] = {}
        self.corrupt: dict[tuple[str, str], dict[str, Any]] = {}    # (day, user) -> columns to spoil
        self.fail: Callable[[httpx.Request], httpx.Response | None] | None = None
        self.next_host: str | None = None                          # serve persons `next` URLs on this host
        self.send_has_more = True
        self.queries: list[str] = []
        self.bodies: list[dict[str, Any]] = []
        self.route = respx_mock.route(host=host).mock(side_effect=self.handle)

    # -- data -------------------------------------------------------------------------------
    def add_event(self, person: str, event: str, when: str, session: str = "", **kw: Any) -> Event:
        ev = Event(person, event, ts(when), session, **kw)
        self.events.append(ev)
        return ev

    def add_person(self, uuid: str, properties: dict[str, Any], distinct_ids: list[str] | None = None) -> None:
        self.persons.append(pp.person(len(self.persons) + 1, uuid, distinct_ids or [uuid], properties))

    def add_group(self, index: int, key: str, properties: dict[str, Any],
                  created_at: str = "2025-11-02T08:00:00Z") -> None:
        self.groups[(index, key)] = {"properties": properties, "created_at": created_at}

    # -- requests ---------------------------------------------------------------------------
    @property
    def calls(self) -> list[httpx.Request]:
        return [c.request for c in self.route.calls]

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.fail is not None:
            failed = self.fail(request)
            if failed is not None:
                return failed
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return httpx.Response(401, json=pp.unauthorized())
        m = re.fullmatch(r"/api/projects/(\d+)/(query|persons)/", request.url.path)
        if not m:
            return httpx.Response(404, json=pp.not_found())
        if int(m.group(1)) != self.project:
            return httpx.Response(404, json=pp.error("Project not found.", type="invalid_request",
                                                     code="not_found"))
        if m.group(2) == "persons" and request.method == "GET":
            return self._persons(request)
        if m.group(2) == "query" and request.method == "POST":
            body = json.loads(request.content)
            self.bodies.append(body)
            query = body.get("query") or {}
            if query.get("kind") != "HogQLQuery" or not isinstance(query.get("query"), str):
                return httpx.Response(400, json=pp.error("Unknown query kind", attr="query"))
            self.queries.append(query["query"])
            return self._run(query["query"])
        return httpx.Response(405, json=pp.error(f'Method "{request.method}" not allowed.',
                                                 code="method_not_allowed"))

    def _run(self, hogql: str) -> httpx.Response:
        if hogql.strip() == "SELECT 1":
            return httpx.Response(200, json=pp.query_response(hogql, ["1"], ["UInt8"], [[1]], limit=100))
        if "FROM events" in hogql:
            return self._usage(hogql)
        if "FROM groups" in hogql:
            return self._groups(hogql)
        return httpx.Response(400, json=pp.error("Syntax error at line 1, column 0: no viable alternative"))

    # -- persons ----------------------------------------------------------------------------
    def _persons(self, request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params.get("limit", 100))
        offset = int(request.url.params.get("offset", 0))
        page = copy.deepcopy(self.persons[offset:offset + limit])
        host = self.next_host or self.host

        def url(at: int) -> str:
            return f"https://{host}/api/projects/{self.project}/persons/?{urlencode({'limit': limit, 'offset': at})}"

        # PostHog offers a next page whenever the page is full, so an exact multiple ends on an empty page
        next_url = url(offset + limit) if len(page) >= limit else None
        previous = url(offset - limit) if offset - limit >= 0 else None
        return httpx.Response(200, json=pp.persons_page(page, next_url, previous))

    # -- HogQL ------------------------------------------------------------------------------
    def _usage(self, q: str) -> httpx.Response:
        start = datetime.fromisoformat(re.search(rf"timestamp >= toDateTime\({_LIT}\)", q).group(1))
        end = datetime.fromisoformat(re.search(rf"timestamp < toDateTime\({_LIT}\)", q).group(1))
        limit = int(re.search(r"LIMIT (\d+)\s*$", q).group(1))
        excluded_m = re.search(r"event NOT IN \(([^)]*)\)", q)
        excluded = {unquote(v) for v in re.findall(_LIT, excluded_m.group(1))} if excluded_m else set()
        anonymous = "person_mode != 'propertyless'" not in q
        keyset = re.search(rf"= toDate\({_LIT}\) AND toString\(person_id\) > {_LIT}\)", q)
        after = (unquote(keyset.group(1)), unquote(keyset.group(2))) if keyset else None
        if "NOT startsWith(event, '$')" in q:
            is_feature: Callable[[str], bool] = lambda name: not name.startswith("$")  # noqa: E731
        else:
            listed = re.search(r"groupUniqArrayIf\(event, event IN \(([^)]*)\)\)", q)
            names = {unquote(v) for v in re.findall(_LIT, listed.group(1))} if listed else set()
            is_feature = names.__contains__
        account = self._account_reader(q)

        sessions: dict[tuple[str, str, str], list[Event]] = defaultdict(list)
        for ev in self.events:
            if not (start <= ev.timestamp < end) or ev.event in excluded:
                continue
            if not anonymous and ev.mode == "propertyless":
                continue
            day = ev.timestamp.date().isoformat()
            if after is not None and (day, ev.person) <= after:
                continue
            sessions[(day, ev.person, ev.session)].append(ev)
        users: dict[tuple[str, str], dict[str, Any]] = {}
        for (day, user, sid), evs in sessions.items():
            stamps = sorted(int(e.timestamp.timestamp()) for e in evs)
            gaps = [0] + [b - a for a, b in zip(stamps, stamps[1:])]
            row = users.setdefault((day, user), {"n": 0, "sessions": 0, "seconds": 0, "features": set(),
                                                 "accounts": []})
            row["n"] += len(evs)
            row["sessions"] += 1 if sid else 1 + sum(1 for g in gaps if g >= GAP)
            row["seconds"] += sum(gaps) if sid else sum(g for g in gaps if g < GAP)
            row["features"].update(e.event for e in evs if is_feature(e.event))
            marked = [(e.timestamp, account(e)) for e in evs if account(e)]
            if marked:
                row["accounts"].append(max(marked, key=lambda pair: pair[0]))
        results = []
        for (day, user), r in sorted(users.items()):
            acct = max(r["accounts"], key=lambda pair: pair[0])[1] if r["accounts"] else ""
            row = dict(zip(USAGE_COLUMNS, [day, user, r["n"], r["sessions"], r["seconds"], sorted(r["features"]),
                                           acct]))
            row.update(self.corrupt.get((day, user), {}))
            results.append([row[c] for c in USAGE_COLUMNS])
        page = results[:limit]
        more = len(results) > limit if self.send_has_more else None
        return httpx.Response(200, json=pp.query_response(q, USAGE_COLUMNS, USAGE_TYPES, page, limit=limit,
                                                          has_more=more))

    @staticmethod
    def _account_reader(q: str) -> Callable[[Event], str]:
        group = re.search(r"`\$group_(\d)`", q)
        if group:
            index = int(group.group(1))
            return lambda e: e.groups.get(index, "")
        person = re.search(rf"person\.properties\[{_LIT}\]", q)
        if person:
            key = unquote(person.group(1))
            return lambda e: _text(e.person_props.get(key))
        event = re.search(rf"properties\[{_LIT}\]", q)
        if event:
            key = unquote(event.group(1))
            return lambda e: _text(e.props.get(key))
        return lambda e: ""

    def _groups(self, q: str) -> httpx.Response:
        index = int(re.search(r"index = (\d)", q).group(1))
        limit = int(re.search(r"LIMIT (\d+)\s*$", q).group(1))
        after_m = re.search(rf"key > {_LIT}", q)
        after = unquote(after_m.group(1)) if after_m else None
        keys = sorted(k for i, k in self.groups if i == index and (after is None or k > after))
        rows = [[k, json.dumps(self.groups[(index, k)]["properties"]), self.groups[(index, k)]["created_at"]]
                for k in keys]
        return httpx.Response(200, json=pp.query_response(q, ["key", "properties", "created_at"],
                                                          ["String", "String", "DateTime64(6, 'UTC')"],
                                                          rows[:limit], limit=limit, has_more=len(rows) > limit))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def day_of(query: str) -> date:
    """The first day a usage query reads."""
    return date.fromisoformat(re.search(rf"timestamp >= toDateTime\({_LIT}\)", query).group(1)[:10])
