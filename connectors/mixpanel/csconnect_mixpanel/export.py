"""The raw export endpoint, read as a stream of lines: a day of events is never held whole.

`GET /api/2.0/export?project_id=…&from_date=D&to_date=D` answers JSONL (one event per
line), gzip-compressed when asked. The status line goes through csconnect's HTTP client
(retries, 429s, rate limit); the body is read chunk by chunk and split into lines here.
"""
from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any, Callable, Iterator

import httpx

from csconnect import ConnectorError

log = logging.getLogger("csconnect.mixpanel")
EXPORT_PATH = "/api/2.0/export"
# A day whose body breaks off (a dropped connection, a cut gzip stream) is read again from
# its start this many times in all; csconnect's client retries only the status line.
BODY_ATTEMPTS = 2


class BodyBrokeOff(Exception):
    """The export body stopped before its end (the day is read again, or the stream fails)."""


def export_params(connector: Any, day: date, **extra: Any) -> dict[str, Any]:
    s = connector.settings
    params: dict[str, Any] = {"project_id": s["project_id"], "from_date": day.isoformat(),
                              "to_date": day.isoformat()}
    if s.get("events"):
        params["event"] = json.dumps(list(s["events"]), separators=(",", ":"))
    if s.get("where"):
        params["where"] = s["where"]
    params.update(extra)
    return params


def lines(http: Any, params: dict[str, Any]) -> Iterator[bytes]:
    """Yield the body's lines (bytes, without the newline) as they arrive."""
    with http.stream("GET", EXPORT_PATH, params=params) as response:
        rest = b""
        try:
            for chunk in response.iter_bytes():
                if rest:
                    chunk = rest + chunk
                parts = chunk.split(b"\n")
                rest = parts.pop()
                yield from parts
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise BodyBrokeOff(_why(exc)) from exc
        if rest:
            yield rest


def read_day(connector: Any, day: date, consume: Callable[[Iterator[bytes]], None],
             restart: Callable[[], None]) -> None:
    """Feed one day's lines to `consume`; if the body breaks off, `restart()` and read the day again."""
    for attempt in range(1, BODY_ATTEMPTS + 1):
        try:
            consume(lines(connector.http, export_params(connector, day)))
            return
        except BodyBrokeOff as exc:
            _broke_off(connector, day, exc, attempt)
            restart()


def day_lines(connector: Any, day: date) -> Iterator[bytes]:
    """One day's lines; if the body breaks off, the day's lines start over (for idempotent consumers)."""
    for attempt in range(1, BODY_ATTEMPTS + 1):
        try:
            yield from lines(connector.http, export_params(connector, day))
            return
        except BodyBrokeOff as exc:
            _broke_off(connector, day, exc, attempt)


def _broke_off(connector: Any, day: date, exc: BodyBrokeOff, attempt: int) -> None:
    if attempt >= BODY_ATTEMPTS:
        raise ConnectorError(f"{connector.connection}: the export of {day} broke off {attempt} times ({exc}); "
                             "run the sync again: it resumes at that day") from None
    log.warning("%s: the export of %s broke off (%s); reading the day again", connector.connection, day, exc)


def _why(exc: Exception) -> str:
    if isinstance(exc, httpx.DecodingError):
        return "the compressed body could not be decoded"
    if isinstance(exc, httpx.TimeoutException):
        return "read timed out"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection closed by the server"
    return "connection dropped"
