"""Response bodies shaped like PostHog's: the query API, the persons list, DRF error bodies.

Written from PostHog's published schema (HogQLQueryResponse: results, columns, types, hasMore,
limit, offset, timings, hogql, clickhouse, cache fields) and its API docs; nothing is copied.
"""
from __future__ import annotations

import hashlib
from typing import Any

NOW = "2026-03-10T12:00:00.000000Z"


def query_response(hogql: str, columns: list[str], types: list[str], results: list[list[Any]], *,
                   limit: int | None = None, has_more: bool | None = False) -> dict[str, Any]:
    """A synchronous HogQLQuery answer (`refresh: force_blocking`, so never from the cache)."""
    key = hashlib.sha1(hogql.encode()).hexdigest()[:24]
    body: dict[str, Any] = {
        "cache_key": f"cache_{key}",
        "cache_target_age": None,
        "calculation_trigger": None,
        "clickhouse": "SELECT /* printed ClickHouse SQL */ ...",
        "columns": columns,
        "error": None,
        "explain": None,
        "hogql": hogql,
        "is_cached": False,
        "last_refresh": NOW,
        "limit": limit,
        "metadata": None,
        "modifiers": {"personsOnEventsMode": "person_id_override_properties_on_events", "inCohortVia": "auto"},
        "next_allowed_client_refresh": NOW,
        "offset": 0,
        "query": hogql,
        "query_status": None,
        "results": results,
        "timezone": "UTC",
        "timings": [{"k": "./query", "t": 0.0123}, {"k": "./clickhouse_execute", "t": 0.0342}, {"k": ".", "t": 0.05}],
        "types": [[c, t] for c, t in zip(columns, types)],
    }
    if has_more is not None:
        body["hasMore"] = has_more
    return body


def person(pid: int, uuid: str, distinct_ids: list[str], properties: dict[str, Any],
           created_at: str = "2026-01-05T09:30:00.123000Z") -> dict[str, Any]:
    """One person as GET /api/projects/:id/persons/ lists it."""
    name = properties.get("email") or (distinct_ids[0] if distinct_ids else str(pid))
    return {"id": pid, "name": name, "distinct_ids": distinct_ids, "properties": properties,
            "created_at": created_at, "uuid": uuid}


def persons_page(results: list[dict[str, Any]], next_url: str | None, previous_url: str | None) -> dict[str, Any]:
    return {"next": next_url, "previous": previous_url, "results": results}


def error(detail: str, *, type: str = "validation_error", code: str = "invalid_input",  # noqa: A002
          attr: str | None = None) -> dict[str, Any]:
    """PostHog's error body (drf-exceptions-hog)."""
    return {"type": type, "code": code, "detail": detail, "attr": attr}


def unauthorized() -> dict[str, Any]:
    return error("Personal API key found in request Authorization header is invalid.",
                 type="authentication_error", code="authentication_failed")


def missing_scope(scope: str) -> dict[str, Any]:
    return error(f"API key missing required scope '{scope}'", type="authentication_error",
                 code="permission_denied")


def throttled(seconds: int | None) -> dict[str, Any]:
    wait = f" Expected available in {seconds} seconds." if seconds else ""
    return error(f"Request was throttled.{wait}", type="throttled_error", code="throttled")


def not_found() -> dict[str, Any]:
    return error("Not found.", type="invalid_request", code="not_found")
