"""Mixpanel raw-export payloads, shaped like the export API's JSONL (see the README's sources).

Each line is `{"event": NAME, "properties": {"time": unix seconds, "distinct_id", "$insert_id",
"mp_processing_time_ms", …}}`, written compactly, one per line. `scenario()` is the small
project the tests sync: three companies over a week, web users, a mobile user with
`$ae_session` events, a user without a company, duplicates and a midnight boundary.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

USERNAME = "csconnect-test.3f1a9c.mp-service-account"
SECRET = "mp-svc-secret-7c1d2e9f4a"
PROJECT_ID = 3141592
START, END = "2026-03-01", "2026-03-07"
LOOKBACK = 5


def ts(when: str) -> int:
    """'2026-03-02 09:15:00' (UTC) -> unix seconds."""
    return int(datetime.fromisoformat(when).replace(tzinfo=timezone.utc).timestamp())


_counter = [0]


def insert_id() -> str:
    """A 36-character id like the SDKs' (letters only in Mixpanel's examples; any string works)."""
    _counter[0] += 1
    return uuid.UUID(int=_counter[0] * 7919).hex[:32] + f"{_counter[0]:04x}"


def event(name: str, user: str | None, when: str | int, *, iid: str | None = "auto", company: Any = None,
          lib: str = "web", **props: Any) -> dict[str, Any]:
    t = ts(when) if isinstance(when, str) else when
    p: dict[str, Any] = {"time": t}
    if user is not None:
        p["distinct_id"] = user
        p["$user_id"] = user
    if iid is not None:
        p["$insert_id"] = insert_id() if iid == "auto" else iid
    p["mp_processing_time_ms"] = t * 1000 + 4_321
    p["mp_lib"] = lib
    p["$lib_version"] = "2.55.0" if lib == "web" else "7.5.2"
    if lib == "web":
        p.update({"$browser": "Chrome", "$current_url": "https://app.example.com/reports", "$os": "Mac OS X"})
    else:
        p.update({"$os": "Android", "$app_version_string": "4.2.0", "$model": "Pixel 8"})
    p["mp_country_code"] = "DE"
    if company is not None:
        p["company_id"] = company
    p.update(props)
    return {"event": name, "properties": p}


def session(user: str, when: str, length: Any, company: Any = None, **kw: Any) -> dict[str, Any]:
    """Mixpanel's mobile `$ae_session` event, sent when the session ends."""
    return event("$ae_session", user, when, company=company, lib="android", **{"$ae_session_length": length}, **kw)


def line(ev: dict[str, Any]) -> bytes:
    return json.dumps(ev, separators=(",", ":")).encode()


def day_of(ev: dict[str, Any]) -> str:
    return datetime.fromtimestamp(ev["properties"]["time"], tz=timezone.utc).date().isoformat()


def scenario() -> list[dict[str, Any]]:
    """The week the suite syncs (2026-03-01 .. 03-07); the same events, $insert_ids included, every call."""
    _counter[0] = 0
    evs: list[dict[str, Any]] = []
    # ada (acme): two web sessions on 03-02 (09:00-09:20 and 14:00-14:05), features, one duplicate.
    first = event("Viewed Report", "ada@acme.example", "2026-03-02 09:00:00", company="acme")
    evs += [first, dict(first)]                     # the export repeats it: same $insert_id, time, event
    evs += [event("Created Dashboard", "ada@acme.example", "2026-03-02 09:20:00", company="acme"),
            event("$mp_web_page_view", "ada@acme.example", "2026-03-02 14:00:00", company="acme"),
            event("Exported CSV", "ada@acme.example", "2026-03-02 14:05:00", company="acme")]
    # ada again on 03-05 (a day the late event of add_new_data changes).
    evs += [event("Viewed Report", "ada@acme.example", "2026-03-05 10:00:00", company="acme")]
    # bo (acme, mobile): $ae_session events carry the sessions.
    evs += [event("Opened Screen", "bo@acme.example", "2026-03-03 08:00:00", company="acme", lib="android"),
            session("bo@acme.example", "2026-03-03 08:12:30", 750.4, company="acme"),
            event("Opened Screen", "bo@acme.example", "2026-03-03 19:00:00", company="acme", lib="android"),
            session("bo@acme.example", "2026-03-03 19:01:00", "60.0", company="acme")]
    # cy (globex): a midnight boundary, 03-04 23:59:59 and 03-05 00:00:00.
    evs += [event("Viewed Report", "cy@globex.example", "2026-03-04 23:59:59", company=42),
            event("Viewed Report", "cy@globex.example", "2026-03-05 00:00:00", company=42)]
    # dee: no company property (kept, with no account).
    evs += [event("Viewed Report", "dee@freelance.example", "2026-03-06 12:00:00"),
            event("Shared Link", "dee@freelance.example", "2026-03-06 12:10:00")]
    # eve (initech): every day of the week, one event an hour from 09:00 to 11:00.
    for d in range(1, 8):
        for h in (9, 10, 11):
            evs.append(event("Ran Query", "eve@initech.example", f"2026-03-0{d} {h:02d}:00:00", company="initech"))
    return evs


def error(message: str, request: str = "/api/2.0/export") -> dict[str, str]:
    """Mixpanel's error body."""
    return {"error": message, "request": request}
