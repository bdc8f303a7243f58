"""One day of Mixpanel export lines -> one usage_daily row per user.

Rules (the README explains them for users):

- **Duplicates**: exports are not deduplicated. Two lines with the same `$insert_id`,
  event name, `time` and user count once (Mixpanel's own dedupe identity). A line without
  `$insert_id` is never a duplicate.
- **Sessions**: a user whose day has `$ae_session` events carrying `$ae_session_length`
  (Mixpanel's mobile SDK session events) gets those: sessions = their count, active seconds
  = the sum of their lengths. Any other user's events are cut into sessions where
  `session_timeout` seconds or more pass without an event; active seconds = the sum of
  each session's span (first to last event), so a lone event adds a session of 0 seconds.
- **Features**: the sorted distinct names of the day's feature events.
- **Account**: the value of the account property on the user's events that day; when they
  disagree, the value on most of them (ties: the smallest). None when no event had it.

Memory is per day and compact: 16 bytes per event (its time and a 64-bit hash of its
dedupe identity in two arrays), a few hundred bytes per user of the day, and an int
bitmask of features per user. Nothing is kept across days.
"""
from __future__ import annotations

import json
from array import array
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Iterable, Iterator

SESSION_EVENT = "$ae_session"
SESSION_LENGTH = "$ae_session_length"
MAX_BAD_LINES = 100          # bad lines kept per day as rejects; the rest are counted in one
_raw_decode = json.JSONDecoder().raw_decode
try:                         # about three times faster when installed (pip install csconnect-mixpanel[fast])
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - depends on the environment
    _fast_loads = None


@dataclass(frozen=True)
class Rules:
    """What the connector's options say about turning events into rows."""

    user_property: str = "distinct_id"
    account_property: str = "company_id"
    feature_events: frozenset[str] | None = None      # None: every event not `$`-prefixed
    session_timeout: int = 30 * 60

    def is_feature(self, name: str) -> bool:
        if self.feature_events is not None:
            return name in self.feature_events
        return not name.startswith("$") and name != SESSION_EVENT


class BadLine(Exception):
    """A line that is not an export event; its text is kept for the reject."""


class _User:
    __slots__ = ("times", "keys", "mask", "sessions", "account", "votes", "account_events")

    def __init__(self) -> None:
        self.times = array("q")          # event time, unix seconds
        self.keys = array("q")           # hash of ($insert_id, event, time): the dedupe identity
        self.mask = 0                    # feature bits
        self.sessions: dict[int, float] | None = None   # dedupe key -> $ae_session_length
        self.account: str | None = None  # the first account seen …
        self.account_events = 0          # … and on how many events
        self.votes: dict[str, int] | None = None        # only once two accounts disagree


def day_bounds(day: date) -> tuple[int, int]:
    start = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())
    return start, start + 86400


def seconds(value: Any) -> int:
    """An export `time`: unix seconds (int or float), epoch milliseconds, or a numeric string."""
    if value.__class__ is int:
        return value // 1000 if value >= 100_000_000_000 else value
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, str):
        value = float(value.strip())
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"not a time: {value!r}")
        return int(value // 1000 if value >= 1e11 else value)
    raise ValueError(f"not a time: {value!r}")


def session_length(value: Any) -> float | None:
    """`$ae_session_length` in seconds: a number, or a string some Android SDKs format ("1,234.5")."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if value == value and value >= 0 else None
    if isinstance(value, str):
        text = value.strip().replace("\u00a0", "").replace(" ", "")
        if "," in text and "." in text:
            text = text.replace(",", "")
        elif text.count(",") == 1:
            text = text.replace(",", ".")
        try:
            length = float(text)
        except ValueError:
            return None
        return length if length == length and length >= 0 else None
    return None


def decode(line: bytes, exact: bool = False) -> Any:
    """One JSON line (bytes): orjson when installed, else the standard decoder without its extra passes.

    orjson turns integers beyond 64 bits into floats; `exact` decodes with the standard
    library only (raw events are stored that way). What orjson refuses is decoded again by
    the standard library, so a line is rejected only when it is not JSON.
    """
    if _fast_loads is not None and not exact:
        try:
            return _fast_loads(line)
        except ValueError:
            pass
    text = line.decode()
    if text[:1].isspace():
        text = text.lstrip()
    obj, end = _raw_decode(text)
    if end != len(text) and not text[end:].isspace():
        raise ValueError(f"extra data after the JSON value at character {end}")
    return obj


def parse_line(line: bytes, exact: bool = False) -> dict[str, Any]:
    """One export line as its event object, checked (a name, properties, a time), or BadLine."""
    try:
        ev = decode(line, exact)
    except ValueError as exc:           # JSONDecodeError and UnicodeDecodeError
        raise BadLine(f"not JSON ({exc})") from None
    if not isinstance(ev, dict):
        raise BadLine(f"a JSON {type(ev).__name__}, not an event object")
    name, props = ev.get("event"), ev.get("properties")
    if not isinstance(name, str) or not name:
        raise BadLine("no event name")
    if not isinstance(props, dict):
        raise BadLine("no properties object")
    try:
        seconds(props["time"])
    except KeyError:
        raise BadLine("no properties.time") from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise BadLine(f"properties.time: {exc}") from None
    return ev


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


class DayAggregate:
    """Accumulates one day's export lines; `rows()` gives the usage_daily rows."""

    def __init__(self, day: date, rules: Rules):
        self.day = day
        self.rules = rules
        self.lo, self.hi = day_bounds(day)
        self.users: dict[str, _User] = {}
        self.lines = 0                   # non-empty lines read
        self.events = 0                  # lines that were events (duplicates included)
        self.no_user = 0                 # events without a user id (skipped)
        self.outside = 0                 # events whose time is not on this day (counted on it all the same)
        self.with_account = 0            # events that carried the account property
        self.bad: list[tuple[int, str, str]] = []    # (line number, reason, text) of the first bad lines
        self.bad_total = 0
        self._bits: dict[str, int] = {}  # event name -> its feature bit (0: not a feature)
        self._names: list[str] = []      # feature bit index -> name

    def _bit(self, name: str) -> int:
        if self.rules.is_feature(name):
            bit = 1 << len(self._names)
            self._names.append(name)
        else:
            bit = 0
        self._bits[name] = bit
        return bit

    def add_lines(self, lines: Iterable[bytes]) -> None:
        """The hot loop: parse, attribute and remember each line (locals for speed)."""
        users, bits, rules = self.users, self._bits, self.rules
        user_prop, account_prop = rules.user_property, rules.account_property
        by_distinct_id = user_prop == "distinct_id"
        fast = _fast_loads is not None
        lo, hi = self.lo, self.hi
        n, events, no_user, outside, with_account = self.lines, self.events, self.no_user, self.outside, 0
        try:
            for line in lines:
                if not line or line.isspace():
                    continue
                n += 1
                try:
                    ev = decode(line)
                    name = ev["event"]
                    props = ev["properties"]
                    t = props["time"]
                    if t.__class__ is not int or t >= 100_000_000_000:
                        t = seconds(t)
                    if name.__class__ is not str or not name:
                        raise TypeError
                    if fast:         # an id that orjson may have rounded (an integer beyond 64 bits)?
                        get = props.get
                        if float in (get(user_prop).__class__, get("distinct_id").__class__,
                                     get(account_prop).__class__, get("$insert_id").__class__):
                            props = decode(line, exact=True)["properties"]
                except Exception:
                    self._bad(n, line)
                    continue
                events += 1
                uid = props.get(user_prop)
                if not by_distinct_id and (uid is None or uid == ""):
                    uid = props.get("distinct_id")
                if uid is None or uid == "":
                    no_user += 1
                    continue
                if uid.__class__ is not str:
                    uid = _text(uid)
                u = users.get(uid)
                if u is None:
                    u = users[uid] = _User()
                if not lo <= t < hi:
                    outside += 1
                iid = props.get("$insert_id")
                if iid is None:
                    iid = n                  # no $insert_id: never a duplicate
                elif iid.__class__ is not str:
                    iid = repr(iid)
                key = hash((iid, name, t))
                u.times.append(t)
                u.keys.append(key)
                bit = bits.get(name)
                if bit is None:
                    bit = self._bit(name)
                if bit:
                    u.mask |= bit
                if name == SESSION_EVENT:
                    length = session_length(props.get(SESSION_LENGTH))
                    if length is not None:
                        if u.sessions is None:
                            u.sessions = {}
                        u.sessions[key] = length
                account = props.get(account_prop)
                if account is None or account == "":
                    continue
                with_account += 1
                if account == u.account and u.votes is None:
                    u.account_events += 1
                elif account.__class__ is list:
                    for a in account:
                        if a is not None and a != "":
                            _vote(u, _text(a))
                else:
                    _vote(u, account if account.__class__ is str else _text(account))
        finally:
            self.lines, self.events, self.no_user, self.outside = n, events, no_user, outside
            self.with_account += with_account

    def _bad(self, number: int, line: bytes) -> None:
        self.bad_total += 1
        if len(self.bad) < MAX_BAD_LINES:
            try:
                parse_line(line)
                reason = "not an export event"
            except BadLine as exc:
                reason = str(exc)
            self.bad.append((number, reason, line[:2000].decode("utf-8", "replace")))

    def rows(self) -> Iterator[dict[str, Any]]:
        """Yield one usage_daily row per user of the day, freeing each user's accumulator as it goes."""
        day, timeout, names = self.day.isoformat(), self.rules.session_timeout, self._names
        users = self.users
        for uid in sorted(users):
            u = users.pop(uid)
            times, keys = u.times, u.keys
            if len(set(keys)) < len(keys):
                seen: set[int] = set()
                kept = [t for t, k in zip(times, keys) if not (k in seen or seen.add(k))]
            else:
                kept = list(times)
            if u.sessions:
                sessions, active = len(u.sessions), round(sum(u.sessions.values()))
            else:
                sessions, active = gap_sessions(kept, timeout)
            features = []
            mask = u.mask
            while mask:
                low = mask & -mask
                features.append(names[low.bit_length() - 1])
                mask ^= low
            yield {"source_id": f"{uid}:{day}", "source_account_id": _pick(u), "user_id": uid,
                   "day": day, "events": len(kept), "sessions": sessions, "active_seconds": active,
                   "features": sorted(features)}


def _vote(u: _User, account: str) -> None:
    if u.votes is None:
        if u.account is None:
            u.account, u.account_events = account, 1
            return
        if account == u.account:
            u.account_events += 1
            return
        u.votes = {u.account: u.account_events}
    u.votes[account] = u.votes.get(account, 0) + 1


def _pick(u: _User) -> str | None:
    if u.votes:
        return min(u.votes.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return u.account


def gap_sessions(times: list[int], timeout: int) -> tuple[int, int]:
    """(sessions, active seconds) of event times cut wherever `timeout` seconds or more pass."""
    if not times:
        return 0, 0
    times.sort()
    sessions, active = 1, 0
    start = prev = times[0]
    for t in times:
        if t - prev >= timeout:
            sessions += 1
            active += prev - start
            start = t
        prev = t
    return sessions, active + prev - start
