"""Incremental reads through the CRM search API (`POST /crm/v3/objects/{type}/search`).

Every request filters on the object's modification-time property and sorts on it ascending,
200 records at a time. Instead of paging one query with the `after` offset, each next page is
a new query that starts at the last modification time read (keyset pagination):

- HubSpot refuses to page one query past 10,000 results, so an offset would need a restart
  anyway; restarting on every page means the ceiling is never reached, whatever the size;
- an offset into a result set that changes while it is read (records modified during the sync
  move to its end) skips records; a keyset on the modification time cannot skip one.

The first query of a sync starts `lookback` before the newest modification time of the last
sync (search results lag writes by a few moments). The records read at the boundary of a
restart, and the records of the look-back window, come back from HubSpot a second time: the
`recent` map (record id -> modification time) recognises them and they are not yielded again.
A page whose records all share one modification time (a bulk update) cannot move the keyset
forward; that instant is then read in id order (`hs_object_id`), and the search goes on after it.

The stream state after every page (JSON in `_csconnect_state`):

    {"modified_after": <newest modification time read, epoch ms>,
     "recent": {"<id>": <its modification time>, ...},
     "query": {"op": "GTE" | "GT" | "TIE", "value": <epoch ms>, "id_after": "<id>"}}

`query` is the next request, present only while a sync is under way: a crashed sync resumes at
the next page. Without it, the next sync starts at `modified_after - lookback`.
"""
from __future__ import annotations

import json
from typing import Any, Callable, ClassVar, Iterator

from csconnect import MalformedResponse

from .values import millis

RECENT_CAP = 2000   # at most this many ids kept to recognise re-read records (a wider overlap is re-yielded)


class ChangeReader:
    """Read one object type's changes from its search endpoint, page by page, resumably."""

    limit: ClassVar[int] = 200          # the search API's largest page

    def __init__(self, search: Callable[[dict[str, Any]], Any], modified: str, properties: list[str],
                 lookback_ms: int, what: str = "search"):
        self.search = search
        self.modified = modified
        self.properties = sorted(set(properties) | {modified, "hs_object_id"})
        self.lookback_ms = max(0, int(lookback_ms))
        self.what = what

    # -- the loop ----------------------------------------------------------------------------
    def pages(self, state: dict[str, Any] | None) -> Iterator[tuple[list[dict], dict]]:
        """Yield (new records, state after them) until the search is exhausted."""
        state = state if isinstance(state, dict) else {}
        newest = _int(state.get("modified_after"))
        recent = {str(k): int(v) for k, v in (state.get("recent") or {}).items() if _int(v) is not None}
        query = state.get("query")
        if not isinstance(query, dict) or query.get("op") not in ("GTE", "GT", "TIE"):
            start = max(0, newest - self.lookback_ms) if newest is not None else 0
            query = {"op": "GTE", "value": start}
        asked: set[str] = set()
        while True:
            key = json.dumps(query, sort_keys=True)
            if key in asked:              # the answers lead back to a query already asked: a loop
                raise MalformedResponse(f"{self.what}: the search answers lead back to a query already asked "
                                        f"({query}); stopping to avoid an endless loop. What was read is kept; "
                                        "sync again later")
            asked.add(key)
            body = self.search(self.request(query))
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list):
                raise MalformedResponse(f"{self.what}: the search answer has no 'results' list")
            fresh: list[dict] = []
            for record in results:
                if not isinstance(record, dict):
                    fresh.append(record)          # rejected downstream, with its payload
                    continue
                rid, ms = str(record.get("id")), self.modified_ms(record)
                if ms is not None and recent.get(rid) == ms:
                    continue                      # read already (restart boundary or look-back)
                fresh.append(record)
                if ms is not None:
                    recent[rid] = ms
                    newest = ms if newest is None else max(newest, ms)
            recent = _prune(recent, newest, self.lookback_ms)
            query = self.next_query(query, results, _has_next(body))
            out = {"modified_after": newest, "recent": recent}
            if query is not None:
                out["query"] = query
            yield fresh, out
            if query is None:
                return

    def next_query(self, query: dict, results: list, more: bool) -> dict | None:
        """The query for the page after `results` (None: the search is done)."""
        value = int(query["value"])
        if query["op"] == "TIE":
            if more and results and isinstance(results[-1], dict):
                return {"op": "TIE", "value": value, "id_after": str(results[-1].get("id"))}
            return {"op": "GT", "value": value}           # that instant is read; go on after it
        if not more or not results:
            return None
        last = self.modified_ms(results[-1])
        if last is not None and last > value:
            return {"op": "GTE", "value": last}           # restart at the last time read
        return {"op": "TIE", "value": value}              # a full page of one instant: read it by id

    def request(self, query: dict) -> dict[str, Any]:
        """The search body for one query."""
        value = str(int(query["value"]))
        if query["op"] == "TIE":
            filters = [{"propertyName": self.modified, "operator": "EQ", "value": value}]
            if query.get("id_after"):
                filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": str(query["id_after"])})
            sort = "hs_object_id"
        else:
            filters = [{"propertyName": self.modified, "operator": query["op"], "value": value}]
            sort = self.modified
        return {"filterGroups": [{"filters": filters}],
                "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
                "properties": self.properties, "limit": self.limit}

    def modified_ms(self, record: Any) -> int | None:
        """A record's modification time in epoch ms (the search property, else `updatedAt`)."""
        if not isinstance(record, dict):
            return None
        props = record.get("properties") or {}
        for value in (props.get(self.modified) if isinstance(props, dict) else None, record.get("updatedAt")):
            try:
                ms = millis(value)
            except ValueError:
                ms = None
            if ms is not None:
                return ms
        return None


def _has_next(body: dict) -> bool:
    paging = body.get("paging")
    nxt = paging.get("next") if isinstance(paging, dict) else None
    return isinstance(nxt, dict) and nxt.get("after") not in (None, "")


def _prune(recent: dict[str, int], newest: int | None, lookback_ms: int) -> dict[str, int]:
    """Keep the ids a later query can return again: those at or after `newest - lookback`."""
    if newest is None:
        return recent
    floor = newest - lookback_ms
    kept = {k: v for k, v in recent.items() if v >= floor}
    if len(kept) > RECENT_CAP:
        kept = dict(sorted(kept.items(), key=lambda kv: kv[1])[-RECENT_CAP:])
    return kept


def _int(value: Any) -> int | None:
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None
