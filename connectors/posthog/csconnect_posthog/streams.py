"""PostHog streams: daily usage aggregated in HogQL, persons as contacts, groups as accounts.

`usage` keeps no raw events (`store_raw = False`): each page carries `usage_daily` rows, one
per user and UTC day, built by PostHog itself. Its state is `{"next_day": "YYYY-MM-DD"}` (the
first day not yet read completely) plus `"after": [day, user_id]` while a day's rows span
several pages, so a crash resumes at the page after the last committed one. Every sync starts
`lookback_days` before `next_day` (and always re-reads today, which is never complete), and the
first page of each day window first drops this connection's rows of those days (a `Replace`),
so a re-read replaces a day's rows exactly: late events update them, persons merged or deleted
since disappear, and nothing is ever counted twice.
"""
from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Iterator

from csconnect import MalformedResponse, Page, Replace, Row, Stream, normalize_domain
from csconnect.http import NextUrlPaginator

from .hogql import groups_query, usage_query

log = logging.getLogger("csconnect.posthog")
DEFAULT_HISTORY_DAYS = 90
EMAIL_KEYS = ("email", "$email", "Email")
NAME_KEYS = ("name", "$name", "Name", "full_name")
DOMAIN_KEYS = ("domain", "$domain", "website", "url", "company_domain")
ATTRIBUTE_KEYS = ("segment", "lifecycle_stage", "industry", "country", "owner", "seats", "plan")


def utc_today() -> date:
    """Today in UTC (tests replace this)."""
    return datetime.now(timezone.utc).date()


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def account_text(value: Any) -> str | None:
    """An account id as text, the way HogQL's toString() shows it (123.0 -> "123")."""
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def result_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A query response's `results` as dicts keyed by `columns` (a row of the wrong shape stays empty)."""
    columns = body["columns"]
    return [dict(zip(columns, r)) if isinstance(r, list) and len(r) == len(columns) else {"_row": r}
            for r in body["results"]]


def _more(body: dict[str, Any], rows: list[dict[str, Any]], limit: int) -> bool:
    return bool(rows) and (len(rows) >= limit or body.get("hasMore") is True)


class UsageStream(Stream):
    """One `usage_daily` row per person and UTC day, computed by a HogQL query per day window."""

    name = "usage"
    primary_key = "day"          # the page records are day markers; the rows travel in Page.rows
    cursor_field = "day"
    incremental = True
    store_raw = False
    tables = ("usage_daily", "source_accounts")

    def __init__(self, connector: Any):
        super().__init__(connector)
        self.seen_rows = 0
        self.seen_accounts = 0

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        c = self.connector
        today = utc_today()
        start, after = self._start(state, today)
        step = timedelta(days=int(c.setting("days_per_query")))
        day = start
        while day <= today:
            end = min(day + step, today + timedelta(days=1))
            yield from self._window(day, end, after, today)
            after, day = None, end
        if self.seen_rows and c.account.kind and not self.seen_accounts:
            log.warning("%s.usage: none of the %d user-days read had an account in %s; set account_property "
                        "(see the csconnect-posthog README)", self.connection, self.seen_rows,
                        c.account.describe())

    def _first_day(self, today: date) -> date:
        given = _day(self.connector.setting("start_date"))
        return given or today - timedelta(days=DEFAULT_HISTORY_DAYS)

    def _start(self, state: dict[str, Any] | None, today: date) -> tuple[date, tuple[str, str] | None]:
        first = self._first_day(today)
        state = state or {}
        next_day = _day(state.get("next_day"))
        if next_day is None:
            if state:
                log.warning("%s.usage: the saved state %r is not understood; reading from %s", self.connection,
                            state, first)
            return first, None
        after = state.get("after")
        if isinstance(after, list) and len(after) == 2 and all(isinstance(v, str) for v in after):
            return next_day, (after[0], after[1])        # a crash mid-window: resume after the last page
        lookback = today - timedelta(days=int(self.connector.setting("lookback_days")))
        return max(min(next_day, lookback), first), None

    def _window(self, start: date, end: date, after: tuple[str, str] | None, today: date) -> Iterator[Page]:
        c = self.connector
        limit = int(c.setting("page_size"))
        days = [start + timedelta(days=i) for i in range((end - start).days)]
        label = f"csconnect usage_daily {start}" + (f" to {days[-1]}" if len(days) > 1 else "")
        fresh = after is None
        while True:
            sql = usage_query(start=start, end=end, after=after, limit=limit, account=c.account,
                              features=c.setting("feature_events"), excluded=c.setting("exclude_events") or (),
                              anonymous=bool(c.setting("anonymous_users")))
            body = c.query(sql, label)
            rows = result_rows(body)
            more = _more(body, rows, limit)
            if more:
                last = next((r for r in reversed(rows) if r.get("day") and r.get("user_id")), None)
                position = (str(last["day"])[:10], str(last["user_id"])) if last else None
                if position is None or (after is not None and position <= after):
                    raise MalformedResponse(f"{self.connection}: the usage query for {start} did not move past "
                                            f"{after}; stopping to avoid an endless loop")
                after = position
                state = {"next_day": start.isoformat(), "after": list(after)}
            else:
                state = {"next_day": min(end, today).isoformat()}
            markers = [{"day": d.isoformat()} for d in days] if fresh else []
            yield Page(markers, state, rows=list(self._rows(rows)))
            fresh = False
            if not more:
                return

    def _rows(self, rows: list[dict[str, Any]]) -> Iterable[Row]:
        c = self.connector
        accounts: set[str] = set()
        for r in rows:
            user, day = r.get("user_id"), r.get("day")
            account = account_text(r.get("account"))
            self.seen_rows += 1
            if account:
                self.seen_accounts += 1
                accounts.add(account)
            ident = f"{user or ''}:{str(day or '')[:10]}"
            yield "usage_daily", {
                "source_id": ident if ident != ":" else None, "source_account_id": account, "user_id": user,
                "day": day, "events": r.get("event_count"), "sessions": r.get("session_count"),
                "active_seconds": r.get("active_seconds"), "features": r.get("features")}
        if c.account.kind == "event":    # no other stream knows these accounts: make them linkable
            for account in sorted(accounts):
                yield "source_accounts", account_row(c, account)

    def normalize(self, record: dict[str, Any]) -> Iterable[Any]:
        yield Replace("usage_daily", "day", record["day"])

    def reject_context(self, record: Any) -> str | None:
        if isinstance(record, dict) and record.get("user_id") and record.get("day"):
            return f"user {record['user_id']} on {str(record['day'])[:10]}"
        return None


def account_row(connector: Any, account: str, **extra: Any) -> dict[str, Any]:
    system = connector.setting("account_id_source")
    row = {"source_id": account, "source_account_id": account, **extra}
    if system:
        row["external_ids"] = {str(system): account}
    return row


class PersonsStream(Stream):
    """Persons with an email (or an account) as contacts; with a person-property account, the accounts too."""

    name = "persons"
    primary_key = "uuid"
    tables = ("contacts", "source_accounts")

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        c = self.connector
        start = state if state and state.get("next_url") else None
        for result in c.http.paginate(f"{c.project_path}/persons/", NextUrlPaginator("next"),
                                      params={"limit": int(c.setting("persons_page_size"))}, records="results",
                                      start=start):
            yield Page(result.records, result.state)

    def record_id(self, record: dict[str, Any]) -> str:
        if isinstance(record, dict) and not record.get("uuid") and record.get("id"):
            return str(record["id"])
        return super().record_id(record)

    def normalize(self, person: dict[str, Any]) -> Iterable[Row]:
        c = self.connector
        props = person.get("properties") or {}
        if not isinstance(props, dict):
            raise ValueError(f"properties is {type(props).__name__}, not an object")
        pid = str(person.get("uuid") or person.get("id"))
        email = next((props[k] for k in EMAIL_KEYS if isinstance(props.get(k), str) and props[k].strip()), None)
        account = account_text(props.get(c.account.key)) if c.account.kind == "person" else None
        if not email and not account:
            return
        name = next((props[k] for k in NAME_KEYS if isinstance(props.get(k), str) and props[k].strip()), None)
        if name is None and (props.get("first_name") or props.get("last_name")):
            name = " ".join(str(props[k]).strip() for k in ("first_name", "last_name") if props.get(k))
        yield "contacts", {"source_id": pid, "source_account_id": account, "email": email, "name": name,
                           "title": props.get("title") if isinstance(props.get("title"), str) else None,
                           "created_at": person.get("created_at")}
        if account:
            yield "source_accounts", account_row(c, account)


class GroupsStream(Stream):
    """The groups of the account group type as source accounts (name, domain), read with HogQL."""

    name = "groups"
    primary_key = "key"
    tables = ("source_accounts",)

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        c = self.connector
        index = c.account.group_index
        limit = int(c.setting("page_size"))
        after = (state or {}).get("after") or None
        while True:
            body = c.query(groups_query(index=index, after=after, limit=limit), f"csconnect groups {index}")
            rows = result_rows(body)
            more = _more(body, rows, limit)
            if more:
                last = next((r["key"] for r in reversed(rows) if r.get("key")), None)
                if last is None or (after is not None and str(last) <= after):
                    raise MalformedResponse(f"{self.connection}: the groups query did not move past {after!r}; "
                                            "stopping to avoid an endless loop")
                after = str(last)
            yield Page(rows, {"after": after} if more else None)
            if not more:
                return

    def normalize(self, group: dict[str, Any]) -> Iterable[Row]:
        props = group.get("properties")
        if isinstance(props, str):
            props = json.loads(props) if props.strip() else {}
        if not isinstance(props, dict):
            raise ValueError(f"properties is {type(props).__name__}, not an object")
        key = account_text(group.get("key"))
        if key is None:
            raise ValueError("the group has no key")
        name = next((props[k] for k in NAME_KEYS if isinstance(props.get(k), str) and props[k].strip()), None)
        domain = next((normalize_domain(props[k]) for k in DOMAIN_KEYS if normalize_domain(props.get(k))), None)
        attributes = {k: props[k] for k in ATTRIBUTE_KEYS if props.get(k) not in (None, "")}
        attributes["group_type_index"] = self.connector.account.group_index
        yield "source_accounts", account_row(self.connector, key, name=name, domain=domain,
                                             created_at=group.get("created_at"), attributes=attributes)
