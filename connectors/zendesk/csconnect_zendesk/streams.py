"""Zendesk streams: three incremental exports and the satisfaction-ratings list.

State of each stream (one JSON object in `_csconnect_state`, committed with every page):

- `tickets`, `users` (cursor-based exports): `{"cursor": "<after_cursor>"}`. The first sync
  asks `?start_time=<start_date>`; every later request, and every later sync, asks
  `?cursor=<after_cursor>` only. A crash resumes from the last committed page's cursor;
  `end_of_stream: true` ends the run and its `after_cursor` is where the next sync starts.
- `organizations` (time-based export): `{"start_time": <end_time>}`. Pages overlap where
  records share the boundary second, so a record already read in this sync (same id and
  updated_at) is dropped from the next page.
- `satisfaction_ratings` (list with cursor pagination and a `start_time` filter):
  `{"since": <newest created_at seen>}`; each sync reads from `since - csat_lookback_days`
  (ratings change until their ticket closes). Mid-run pages carry the page cursor too.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, ClassVar, Iterable, Iterator

from csconnect import HttpError, MalformedResponse, Page, Row, Stream
from csconnect.http import CursorPaginator, PageRequest, Paginator

from . import normalize as nz

log = logging.getLogger("csconnect.zendesk")


class CursorExport(Paginator):
    """A cursor-based incremental export: `start_time` first, then `cursor` until `end_of_stream`."""

    def __init__(self, connection: str):
        self.connection = connection
        self._cursor: str | None = None
        self._end = True

    def init_request(self, request: PageRequest) -> None:
        self._cursor, self._end = None, True

    def update(self, response: Any, body: Any, records: list) -> None:
        what = f"{self.connection}: GET {response.request.url.path}"
        if not isinstance(body, dict) or not isinstance(body.get("end_of_stream"), bool):
            raise MalformedResponse(f"{what} returned an export page without end_of_stream")
        self._end = body["end_of_stream"]
        self._cursor = body.get("after_cursor") or None
        if not self._end and not self._cursor:
            raise MalformedResponse(f"{what} says the export goes on but gives no after_cursor")

    def state(self) -> dict | None:
        return None if self._end else {"cursor": self._cursor}

    def apply(self, request: PageRequest, state: dict) -> None:
        cursor = state.get("cursor") if isinstance(state, dict) else None
        if not cursor:
            raise MalformedResponse(f"{self.connection}: the saved export position {state!r} has no cursor")
        request.params.pop("start_time", None)      # the cursor carries the position on its own
        request.params["cursor"] = cursor


def list_paginator() -> CursorPaginator:
    """Zendesk cursor pagination of list endpoints: `page[after]` from `meta.after_cursor`."""
    return CursorPaginator("page[after]", cursor="meta.after_cursor", has_more="meta.has_more")


def time_export() -> CursorPaginator:
    """A time-based incremental export: the next `start_time` is this page's `end_time`."""
    return CursorPaginator("start_time", cursor="end_time",
                           has_more=lambda body, records: not body.get("end_of_stream"))


def epoch(value: Any) -> int | None:
    """ISO 8601 text (Zendesk's `...Z`) -> unix seconds; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp())
    except ValueError:
        return None


class ZendeskStream(Stream):
    primary_key = "id"
    incremental = True
    cursor_field = "updated_at"
    path: ClassVar[str]
    records_key: ClassVar[str]


class CursorExportStream(ZendeskStream):
    """tickets and users: `/api/v2/incremental/<x>/cursor.json`."""

    params: ClassVar[dict[str, Any]] = {}

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        state = state if isinstance(state, dict) else {}
        if state.get("cursor"):
            start, last = {"cursor": state["cursor"]}, {"cursor": state["cursor"]}
            start_time = self.connector.first_start()       # not sent: the cursor replaces it
        else:
            start_time = (self.connector.clamp(state["start_time"]) if isinstance(state.get("start_time"), int)
                          else self.connector.first_start())
            start, last = None, {"start_time": start_time}
        params = {"start_time": start_time, **self.params}
        for result in self.connector.pages(self.path, CursorExport(self.connection), params=params,
                                           records=self.records_key, start=start, export=True):
            after = result.body.get("after_cursor")
            if after:
                last = {"cursor": after}
            yield Page(self.prepare(result.records, result.body), dict(last))

    def prepare(self, records: list[Any], body: dict[str, Any]) -> list[Any]:
        return records


class UsersStream(CursorExportStream):
    """End-users become contacts of their organization; agents stay raw (assignee names)."""

    name = "users"
    tables = ("contacts",)
    path = "/api/v2/incremental/users/cursor.json"
    records_key = "users"

    def normalize(self, record: dict[str, Any]) -> Iterable[Row]:
        return nz.user(self.connector, record)


class TicketsStream(CursorExportStream):
    """Tickets with their metric set (sideloaded) and the names of their assignee and group."""

    name = "tickets"
    tables = ("tickets",)
    cursor_field = "generated_timestamp"          # what the export's start_time compares with
    path = "/api/v2/incremental/tickets/cursor.json"
    records_key = "tickets"
    params = {"include": "metric_sets"}

    def prepare(self, records: list[Any], body: dict[str, Any]) -> list[Any]:
        metric_sets = {str(m.get("ticket_id")): m for m in body.get("metric_sets") or [] if isinstance(m, dict)}
        lookups = self.connector.lookups
        for r in records:
            if not isinstance(r, dict) or r.get("status") == "deleted":
                continue
            found = metric_sets.get(str(r.get("id")))
            if found is not None:
                r["metric_set"] = found
            names = {"assignee": lookups.agent_name(r.get("assignee_id")),
                     "group": lookups.group_name(r.get("group_id"))}
            names = {k: v for k, v in names.items() if v}
            if names:
                r["_csconnect"] = names
        return records

    def normalize(self, record: dict[str, Any]) -> Iterable[Row]:
        return nz.ticket(self.connector, record)


class OrganizationsStream(ZendeskStream):
    """Organizations as source accounts, from the time-based export."""

    name = "organizations"
    tables = ("source_accounts",)
    path = "/api/v2/incremental/organizations.json"
    records_key = "organizations"

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        saved = (state or {}).get("start_time") if isinstance(state, dict) else None
        start_time = self.connector.clamp(saved) if isinstance(saved, int) else self.connector.first_start()
        previous: set[tuple[Any, Any]] = set()
        for result in self.connector.pages(self.path, time_export(), params={"start_time": start_time},
                                           records=self.records_key, export=True):
            fresh, keys = [], set()
            for r in result.records:
                key = (r.get("id"), r.get("updated_at")) if isinstance(r, dict) else None
                if key is not None and (key in previous or key in keys):
                    continue              # the boundary second again, or the same record twice
                if key is not None:
                    keys.add(key)
                fresh.append(self.prepare(r))
            previous = keys
            end = result.body.get("end_time")
            if isinstance(end, int) and end >= start_time:
                start_time = end
            yield Page(fresh, {"start_time": start_time})

    def prepare(self, record: Any) -> Any:
        if isinstance(record, dict):
            group = self.connector.lookups.group_name(record.get("group_id"))
            if group:
                record["_csconnect"] = {"group": group}
        return record

    def normalize(self, record: dict[str, Any]) -> Iterable[Row]:
        return nz.organization(self.connector, record)


class SatisfactionRatingsStream(ZendeskStream):
    """Legacy CSAT ratings (good/bad) as survey responses."""

    name = "satisfaction_ratings"
    tables = ("survey_responses",)
    path = "/api/v2/satisfaction_ratings.json"
    records_key = "satisfaction_ratings"

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        state = dict(state) if isinstance(state, dict) else {}
        since = state.get("since") if isinstance(state.get("since"), int) else None
        if state.get("after") and isinstance(state.get("start_time"), int):      # resume inside a run
            start_time, start = state["start_time"], {"cursor": state["after"]}
            newest = state.get("newest") if isinstance(state.get("newest"), int) else since
        else:
            lookback = int(self.connector.settings.get("csat_lookback_days") or 0) * 86400
            start_time = self.connector.first_start() if since is None else max(0, since - lookback)
            start, newest = None, since
        params = {"page[size]": 100, "start_time": start_time}
        first = True
        try:
            for result in self.connector.pages(self.path, list_paginator(), params=params,
                                               records=self.records_key, start=start):
                first = False
                for r in result.records:
                    made = epoch(r.get("created_at")) if isinstance(r, dict) else None
                    if made is not None and (newest is None or made > newest):
                        newest = made
                after = (result.state or {}).get("cursor")
                if after:     # inside the run: its start, its page cursor, and the newest rating so far
                    position = {"since": since, "start_time": start_time, "after": after, "newest": newest}
                else:
                    position = {"since": newest if newest is not None else start_time}
                yield Page(result.records, {k: v for k, v in position.items() if v is not None})
        except HttpError as exc:
            if not (first and start is not None and exc.status_code == 400):
                raise
            log.warning("%s.%s: the saved page cursor was refused (%s); reading from the last sync's position "
                        "again", self.connection, self.name, exc)
            yield from self.pages({"since": since} if since is not None else None)

    def normalize(self, record: dict[str, Any]) -> Iterable[Row]:
        return nz.satisfaction_rating(self.connector, record)


STREAMS = (OrganizationsStream, UsersStream, TicketsStream, SatisfactionRatingsStream)
