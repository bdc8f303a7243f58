"""Calendar arithmetic on unix seconds (UTC), the simulation's only time unit."""
from __future__ import annotations

import calendar
from datetime import date, datetime, timezone

DAY = 86_400
HOUR = 3_600


def ts(year: int, month: int, day: int = 1, second: int = 0) -> int:
    return calendar.timegm((year, month, day, 0, 0, 0)) + second


def month_start(year: int, month: int, offset: int = 0) -> int:
    """The first instant of the month `offset` months after (year, month)."""
    n = year * 12 + (month - 1) + offset
    return ts(n // 12, n % 12 + 1)


def add_months(anchor: int, k: int) -> int:
    """`anchor` moved k calendar months, keeping its day (clamped) and time of day (Stripe's rule)."""
    dt = datetime.fromtimestamp(anchor, tz=timezone.utc)
    n = dt.year * 12 + (dt.month - 1) + k
    y, m = n // 12, n % 12 + 1
    day = min(dt.day, calendar.monthrange(y, m)[1])
    return calendar.timegm((y, m, day, dt.hour, dt.minute, dt.second))


def iso(t: int | None, millis: bool = False) -> str | None:
    """ISO 8601 UTC text: `2026-03-01T12:00:00Z` (or `.000Z` the way HubSpot writes it)."""
    if t is None:
        return None
    text = datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (".000Z" if millis else "Z")


def day_text(t: int) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d")


def ym(t: int) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m")


def to_date(t: int) -> date:
    return datetime.fromtimestamp(t, tz=timezone.utc).date()


def last_complete_month(today: date | None = None) -> tuple[int, int]:
    today = today or datetime.now(timezone.utc).date()
    n = today.year * 12 + today.month - 2
    return n // 12, n % 12 + 1


def parse_month(text: str) -> tuple[int, int]:
    """`2026-10` -> (2026, 10); ValueError with a readable message otherwise."""
    try:
        y, m = text.strip().split("-")
        year, month = int(y), int(m)
        if len(y) != 4 or not 1 <= month <= 12:
            raise ValueError
    except ValueError:
        raise ValueError(f"end_month must look like 2026-10, got {text!r}") from None
    return year, month


def work_time(rng, lo: int, hi: int) -> int:
    """A moment in [lo, hi), mostly on working hours (08–18 UTC) when the span allows."""
    t = rng.randrange(lo, hi) if hi > lo else lo
    if hi - lo > DAY and rng.random() < 0.85:
        base = t - t % DAY + 8 * HOUR + rng.randrange(10 * HOUR)
        if lo <= base < hi:
            return base
    return t


def window(months: int, end_month: str = "", today: date | None = None) -> tuple[str, str]:
    """The first and last simulated month as YYYY-MM text."""
    y, m = parse_month(end_month) if end_month else last_complete_month(today)
    n = y * 12 + m - 1 - (months - 1)
    return f"{n // 12:04d}-{n % 12 + 1:02d}", f"{y:04d}-{m:02d}"
