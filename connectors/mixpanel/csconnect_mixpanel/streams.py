"""Mixpanel streams: one export request per day.

`usage` turns each day into one page: the day's usage_daily rows (one per user, built by
aggregate.DayAggregate) and the state `{"next_day": D+1, "through": E}`. Raw events are
not stored. `events` (only with `keep_events = true`) stores every raw event, a few
thousand per page.

Days and state. A sync reads the days `start .. E`, E = end_date or today. The first
sync starts at start_date. Later ones start `lookback_days` before the saved
`next_day`, so late events (mobile SDKs queue up to five days; /import back-fills) land
on days already read: the day is aggregated again from its complete export and its
rows replace the old ones — numbers change, never double. A state whose `next_day` is
not past its `through` was left by an interrupted sync: that sync already re-read its
look-back days, so the next one resumes exactly at `next_day`.
"""
from __future__ import annotations

import hashlib
import json
import logging
from datetime import date, timedelta
from typing import Any, Iterable, Iterator

from csconnect import Page, RejectError, Replace, Stream

from .aggregate import MAX_BAD_LINES, BadLine, DayAggregate, parse_line
from .export import day_lines, read_day

log = logging.getLogger("csconnect.mixpanel")
EVENTS_PER_PAGE = 5000


def _bad_record(day: date, number: int | None, reason: str, text: str | None) -> dict[str, Any]:
    return {"day": day.isoformat(), "line": number, "reason": reason, "text": text}


def bad_reason(record: dict[str, Any]) -> str:
    where = f"line {record['line']}" if record.get("line") else "export"
    return f"{record['day']} {where}: {record['reason']}"


def _parse_day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


class DayStream(Stream):
    """A stream read one export day at a time, with a look-back over days already read."""

    incremental = True
    cursor_field = "day"

    def days(self, state: dict[str, Any] | None) -> Iterator[tuple[date, dict[str, Any]]]:
        """(day, the state after it) for each day this sync reads."""
        c = self.connector
        first, end = c.first_day(), c.last_day()
        start = first
        nxt = _parse_day((state or {}).get("next_day"))
        if nxt is not None:
            through = _parse_day((state or {}).get("through"))
            interrupted = through is not None and nxt <= through
            start = max(first, nxt if interrupted else nxt - timedelta(days=int(c.settings.get("lookback_days", 5))))
        day = start
        while day <= end:
            yield day, {"next_day": (day + timedelta(days=1)).isoformat(), "through": end.isoformat()}
            day += timedelta(days=1)


class UsageStream(DayStream):
    """usage_daily: each user's events, sessions, active seconds and features per day."""

    name = "usage"
    primary_key = "day"
    tables = ("usage_daily", "source_accounts")
    store_raw = False

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        c = self.connector
        totals = {"events": 0, "with_account": 0}
        for day, after in self.days(state):
            box = [DayAggregate(day, c.rules)]

            def restart(day: date = day, box: list = box) -> None:
                box[0] = DayAggregate(day, c.rules)

            read_day(c, day, lambda lines, box=box: box[0].add_lines(lines), restart)
            agg = box[0]
            self._warn(agg)
            totals["events"] += agg.events
            totals["with_account"] += agg.with_account
            # The day marker replaces the day's old rows (users gone since, e.g. after a GDPR
            # deletion, disappear too); bad lines follow it as rejects.
            records: list[dict[str, Any]] = [{"day": day.isoformat()}]
            records += [_bad_record(day, n, reason, text) for n, reason, text in agg.bad]
            if agg.bad_total > len(agg.bad):
                records.append(_bad_record(day, None, f"{agg.bad_total - len(agg.bad)} more lines were not events "
                                                      f"(only the first {MAX_BAD_LINES} are kept)", None))
            # No local keeps the rows: once the engine has turned them into tuples they are freed,
            # while this generator reads the next day.
            rows = [("usage_daily", row) for row in agg.rows()]
            # Every account seen gets a source_accounts row, so `csconnect link` can resolve it
            # (by the external id of account_id_source, or by name).
            rows += [("source_accounts", account_row(c, account))
                     for account in sorted({r["source_account_id"] for _, r in rows if r.get("source_account_id")})]
            yield Page(records, after, rows=rows)
            del agg, box, records
        if totals["events"] and not totals["with_account"]:
            log.warning("%s: no event carried the account property %r, so usage has no account; set "
                        "account_property to your Group Analytics key", c.connection, c.rules.account_property)

    def record_id(self, record: dict[str, Any]) -> str:
        """The day marker, or a bad line: by its day and text, so reading the day again updates its reject."""
        if "reason" not in record:
            return f"day:{record['day']}"
        if not record.get("line"):
            return f"{record['day']}:bad:more"
        text = (record.get("text") or record["reason"]).encode("utf-8", "replace")
        return f"{record['day']}:bad:{hashlib.sha1(text).hexdigest()[:16]}"

    def normalize(self, record: dict[str, Any]) -> Iterable[Any]:
        if "reason" in record:
            raise RejectError(bad_reason(record))
        yield Replace("usage_daily", "day", record["day"])

    def _warn(self, agg: DayAggregate) -> None:
        c = self.connector.connection
        if agg.outside:
            log.warning("%s: %d events of the %s export have a time outside that day; they count on %s "
                        "(check project_timezone)", c, agg.outside, agg.day, agg.day)
        if agg.no_user:
            log.warning("%s: %d events of %s have no %s or distinct_id and are not counted", c, agg.no_user,
                        agg.day, self.connector.rules.user_property)


class EventsStream(DayStream):
    """Every raw event (keep_events = true), keyed by its dedupe identity; no canonical rows."""

    name = "events"
    primary_key = "$insert_id"
    tables = ()

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        c = self.connector
        for day, after in self.days(state):
            during = dict(after, next_day=day.isoformat())     # a crash mid-day reads the day again
            batch: list[dict[str, Any]] = []
            for line in day_lines(c, day):
                if not line or line.isspace():
                    continue
                try:
                    batch.append(parse_line(line, exact=True))   # raw events stay lossless
                except BadLine:
                    continue                 # the usage stream, which reads the same days, rejects it
                if len(batch) >= EVENTS_PER_PAGE:
                    yield Page(batch, during)
                    batch = []
            yield Page(batch, after)

    def record_id(self, record: dict[str, Any]) -> str:
        """`$insert_id`, with the rest of Mixpanel's dedupe identity (distinct_id, time, event)."""
        props = record["properties"]
        ident = f"{props.get('distinct_id')}:{props.get('time')}:{record['event']}"
        insert_id = props.get("$insert_id")
        if insert_id is None:
            digest = hashlib.sha1(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()[:16]
            return f"~{digest}:{ident}"
        return f"{insert_id}:{ident}"

    def cursor_value(self, record: dict[str, Any]) -> Any:
        return (record.get("properties") or {}).get("time")


def account_row(connector: Any, account: str) -> dict[str, Any]:
    """The account as Mixpanel knows it: its id; with account_id_source, the id in that system too."""
    system = connector.settings.get("account_id_source")
    row: dict[str, Any] = {"source_id": account, "source_account_id": account, "name": account}
    if system:
        row["external_ids"] = {str(system): account}
    return row
