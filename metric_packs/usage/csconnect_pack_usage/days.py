"""Day numbers and the weeks of a month.

SQL works on integer day numbers, `CAST(julianday(day) AS INTEGER)`, so week and
window arithmetic is integer arithmetic; these helpers convert both ways.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

# CAST(julianday('YYYY-MM-DD') AS INTEGER) - date.toordinal()
JD_OFFSET = 1721424
# SQL: the day number of a `day` column, its weekday (Monday = 0) and its ISO week's Monday.
DN_SQL = "CAST(julianday({col}) AS INTEGER)"


def dn(d: date) -> int:
    """The SQL day number of a date."""
    return d.toordinal() + JD_OFFSET


def from_dn(n: int) -> date:
    return date.fromordinal(n - JD_OFFSET)


def weekday(n: int) -> int:
    """Monday = 0 … Sunday = 6 (same as SQL `(n + 1) % 7`)."""
    return (n + 1) % 7


def week_start(n: int) -> int:
    return n - weekday(n)


def last_complete_day(as_of: datetime) -> date:
    """The last day that has fully elapsed at `as_of` (as-of 23:59:59 counts its own day)."""
    return (as_of + timedelta(seconds=1)).date() - timedelta(days=1)


def month_weeks(start: date, end: date, done: date) -> list[int]:
    """Mondays (day numbers) of the ISO weeks whose Thursday is in [start, end) and that ended by `done`."""
    first = week_start(dn(start))
    out = []
    for monday in range(first, dn(end), 7):
        thursday = monday + 3
        if dn(start) <= thursday < dn(end) and monday + 6 <= dn(done):
            out.append(monday)
    return out
