"""The HogQL this connector sends, built in one place so the README and the tests can show it.

Every query is plain text with literals escaped here; no value from a setting or a previous
response reaches PostHog unquoted. Days are UTC days: timestamps are compared with explicit
`Z` bounds and bucketed with `toTimeZone(timestamp, 'UTC')`, whatever the project's timezone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Iterable

SESSION_GAP = 1800          # a gap this long (or longer) between events ends a session without $session_id
MAX_LIMIT = 50_000          # PostHog returns at most 50k rows per query
# Events that say nothing about a person using the product: SDK bookkeeping, not activity.
DEFAULT_EXCLUDED = ("$feature_flag_called", "$set", "$identify", "$groupidentify", "$create_alias",
                    "$merge_dangerously")
_GROUP = re.compile(r"^\$group_([0-4])$")
_DAY = "toDate(toTimeZone(timestamp, 'UTC'))"
_USER = "toString(person_id)"


def literal(value: str) -> str:
    """A HogQL string literal (ClickHouse escaping: backslash and single quote)."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def literals(values: Iterable[str]) -> str:
    return ", ".join(literal(v) for v in values)


@dataclass(frozen=True)
class AccountSource:
    """Where a user's customer account comes from (the `account_property` option).

    `$group_0` … `$group_4`: the event's group of that type index (PostHog group analytics);
    `person.NAME` or a bare `NAME`: the person property NAME; `event.NAME`: the event property NAME.
    """

    kind: str | None = None        # "group" | "person" | "event" | None
    key: str = ""                  # group type index, or the property name

    @classmethod
    def parse(cls, text: str | None) -> "AccountSource":
        text = (text or "").strip()
        if not text:
            return cls()
        group = _GROUP.match(text)
        if group:
            return cls("group", group.group(1))
        if text.startswith("$group"):
            raise ValueError(f"{text!r} is not a group column: use $group_0 to $group_4 (the group type index)")
        for prefix, kind in (("person.", "person"), ("event.", "event")):
            if text.startswith(prefix):
                name = text[len(prefix):]
                if not name:
                    raise ValueError(f"{text!r} names no property")
                return cls(kind, name)
        return cls("person", text)

    @property
    def group_index(self) -> int | None:
        return int(self.key) if self.kind == "group" else None

    def expression(self) -> str | None:
        """The account id of one event as a HogQL expression ('' when the event has none)."""
        if self.kind == "group":
            inner = f"`$group_{self.key}`"
        elif self.kind == "person":
            inner = f"person.properties[{literal(self.key)}]"
        elif self.kind == "event":
            inner = f"properties[{literal(self.key)}]"
        else:
            return None
        return f"ifNull(toString({inner}), '')"

    def describe(self) -> str:
        return {"group": f"the event's group $group_{self.key}", "person": f"the person property {self.key!r}",
                "event": f"the event property {self.key!r}"}.get(self.kind or "", "nothing (no account)")


def utc_bound(day: date) -> str:
    return f"toDateTime({literal(day.isoformat() + 'T00:00:00Z')})"


def usage_query(*, start: date, end: date, after: tuple[str, str] | None, limit: int, account: AccountSource,
                features: Iterable[str] | None, excluded: Iterable[str], anonymous: bool) -> str:
    """One page of per-user, per-UTC-day activity for the days start <= day < end.

    Rows come ordered by (day, user_id) and `after` is the last (day, user_id) already read:
    keyset pagination, so every page costs the same. The inner query makes one row per
    (day, user, session): a `$session_id` session counts once with its last - first event
    time; events without one are split into sessions wherever 30 minutes or more pass without
    an event, and only the gaps inside those sessions count as active time (a lone event is a
    session of 0 seconds). The outer query adds
    a user's sessions of the day up.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1 to {MAX_LIMIT}, got {limit}")
    feature_list = list(features) if features is not None else None
    if feature_list is None:
        feature_if = "NOT startsWith(event, '$')"
    elif feature_list:
        feature_if = f"event IN ({literals(feature_list)})"
    else:
        feature_if = "0"
    where = [f"timestamp >= {utc_bound(start)}", f"timestamp < {utc_bound(end)}"]
    excluded = list(excluded)
    if excluded:
        where.append(f"event NOT IN ({literals(excluded)})")
    if not anonymous:
        where.append("person_mode != 'propertyless'")
    if after is not None:
        day, user = after
        where.append(f"({_DAY} > toDate({literal(day)}) OR "
                     f"({_DAY} = toDate({literal(day)}) AND {_USER} > {literal(user)}))")
    acct = account.expression()
    inner_account = f"argMaxIf({acct}, timestamp, {acct} != '')" if acct else "''"
    gap = SESSION_GAP
    return "\n".join([
        "SELECT",
        "    toString(event_day) AS day,",
        "    uid AS user_id,",
        "    sum(n) AS event_count,",
        "    sum(n_sessions) AS session_count,",
        "    sum(secs) AS active_seconds,",
        "    arraySort(groupUniqArrayArray(feats)) AS features,",
        "    argMaxIf(acct, last_seen, acct != '') AS account",
        "FROM (",
        "    SELECT",
        f"        {_DAY} AS event_day,",
        f"        {_USER} AS uid,",
        "        `$session_id` AS sid,",
        "        count() AS n,",
        "        arrayDifference(arraySort(groupArray(toUnixTimestamp(timestamp)))) AS gaps,",
        f"        if(sid != '', 1, 1 + arrayCount(g -> g >= {gap}, gaps)) AS n_sessions,",
        f"        if(sid != '', arraySum(gaps), arraySum(arrayFilter(g -> g < {gap}, gaps))) AS secs,",
        f"        groupUniqArrayIf(event, {feature_if}) AS feats,",
        f"        {inner_account} AS acct,",
        "        max(timestamp) AS last_seen",
        "    FROM events",
        "    WHERE " + "\n      AND ".join(where),
        "    GROUP BY event_day, uid, sid",
        ")",
        "GROUP BY event_day, uid",
        "ORDER BY event_day, uid",
        f"LIMIT {int(limit)}",
    ])


def groups_query(*, index: int, after: str | None, limit: int) -> str:
    """One page of the groups of one type, ordered by key (keyset on the key)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1 to {MAX_LIMIT}, got {limit}")
    where = [f"index = {int(index)}"]
    if after is not None:
        where.append(f"key > {literal(after)}")
    return (f"SELECT key, properties, created_at FROM groups WHERE {' AND '.join(where)} "
            f"ORDER BY key LIMIT {int(limit)}")


PROBE = "SELECT 1"
