"""An in-memory Mixpanel raw export served through respx: events by date range, JSONL, gzip, errors."""
from __future__ import annotations

import base64
import gzip
import json
from datetime import date
from typing import Any, Callable, Iterator

import httpx

import mixpanel_payloads as mp

HOST = "data.mixpanel.com"
PATH = "/api/2.0/export"


class FakeMixpanel:
    """Serves `/api/2.0/export` from a list of events; every request is kept in `requests`."""

    def __init__(self, respx_mock: Any, *, username: str = mp.USERNAME, secret: str = mp.SECRET,
                 project_id: int = mp.PROJECT_ID, host: str = HOST, gzip_body: bool = True):
        self.username, self.secret, self.project_id = username, secret, project_id
        self.gzip_body = gzip_body
        self.events: list[dict[str, Any]] = []
        self.extra: dict[str, list[bytes]] = {}          # day -> raw lines appended to that day's export
        self.fail: Callable[[httpx.Request], httpx.Response | None] | None = None
        self.served_gzip = 0
        self.route = respx_mock.route(host=host, path=PATH).mock(side_effect=self.handle)

    # -- data ------------------------------------------------------------------------------
    def add(self, *events: dict[str, Any]) -> None:
        self.events.extend(events)

    def add_line(self, day: str, raw: bytes) -> None:
        self.extra.setdefault(day, []).append(raw)

    # -- requests ----------------------------------------------------------------------------
    @property
    def requests(self) -> list[httpx.Request]:
        return [c.request for c in self.route.calls]

    def days_requested(self) -> list[str]:
        return [r.url.params["from_date"] for r in self.requests]

    def reset_calls(self) -> None:
        self.route.calls.clear()

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.fail is not None:
            failed = self.fail(request)
            if failed is not None:
                return failed
        where = f"{PATH}?{request.url.query.decode()}"
        if not self._authorized(request.headers.get("Authorization", "")):
            return httpx.Response(401, json=mp.error("Unauthorized, invalid credentials", where))
        params = request.url.params
        if "project_id" not in params:
            return httpx.Response(400, json=mp.error("project_id is required when authenticating with a "
                                                     "service account", where))
        if params["project_id"] != str(self.project_id):
            return httpx.Response(403, json=mp.error("service account does not have access to this project", where))
        try:
            lo, hi = date.fromisoformat(params["from_date"]), date.fromisoformat(params["to_date"])
        except (KeyError, ValueError):
            return httpx.Response(400, json=mp.error("from_date and to_date are required (yyyy-mm-dd)", where))
        names = set(json.loads(params["event"])) if "event" in params else None
        limit = int(params.get("limit", 0)) or None
        body = b"".join(line + b"\n" for line in self._lines(lo, hi, names, limit))
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if self.gzip_body and "gzip" in request.headers.get("Accept-Encoding", "") and len(body) > 1400:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
            self.served_gzip += 1
        return httpx.Response(200, content=body, headers=headers)

    def _lines(self, lo: date, hi: date, names: set[str] | None, limit: int | None) -> Iterator[bytes]:
        n = 0
        for ev in self.events:
            day = mp.day_of(ev)
            if lo.isoformat() <= day <= hi.isoformat() and (names is None or ev["event"] in names):
                if limit is not None and n >= limit:
                    return
                n += 1
                yield mp.line(ev)
        for day, raws in sorted(self.extra.items()):
            if lo.isoformat() <= day <= hi.isoformat():
                yield from raws

    def _authorized(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme != "Basic":
            return False
        user, _, password = base64.b64decode(value).decode().partition(":")
        return (user, password) == (self.username, self.secret)


def broken_body(lines: bytes) -> httpx.Response:
    """A 200 whose body breaks off after `lines` (a dropped connection)."""

    class Broken(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield lines
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    return httpx.Response(200, stream=Broken(), headers={"Content-Type": "text/plain"})
