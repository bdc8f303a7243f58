"""One chronological pass over usage_daily, a month at a time, into small temp tables.

usage_daily can hold tens of millions of rows, so it is read once, month by
month through its `day` index, and each month is reduced in SQL to one row per
user and ISO week (`usage_chunk`). Everything else is built from those chunks,
so memory depends on one month of users, not on the size of the history:

  usage_aw     account × ISO week: distinct active users, active days, first and last active day
  usage_am     month × account: MAU, user-days (for DAU), sessions and active seconds
  usage_users  account × user: first active month, and the user's open coverage island
  usage_isl    closed coverage islands (for the 30-day trend windows)
  usage_fm     month × account × feature used
  usage_trend  account × anchor day: users active in the window ending that day

A week that straddles two months is finished from `usage_edge` once both
months are read. An account is `''` in these tables when the usage row has
no resolved account (it counts in product-wide figures only).
"""
from __future__ import annotations

import sqlite3
from datetime import date
from typing import Iterable

from .days import dn

TABLES = ("usage_chunk", "usage_cu", "usage_edge", "usage_aw", "usage_am", "usage_users", "usage_isl",
          "usage_fm", "usage_anchor", "usage_trend", "usage_ranges")

# Active days of a set of weekday bitmasks (Monday = bit 0): a popcount of their OR.
_DAYS = " + ".join(f"(max(mask & {1 << i}) > 0)" for i in range(7))

_DDL = [
    "CREATE TEMP TABLE usage_chunk (a TEXT, u TEXT, wk INTEGER, first INTEGER, last INTEGER, nd INTEGER, "
    "mask INTEGER, ses INTEGER, secs INTEGER)",
    "CREATE TEMP TABLE usage_cu (a TEXT, u TEXT, first INTEGER, last INTEGER, nd INTEGER, ses INTEGER, "
    "secs INTEGER)",
    "CREATE TEMP TABLE usage_edge (a TEXT, u TEXT, wk INTEGER, first INTEGER, last INTEGER, nd INTEGER, "
    "mask INTEGER, ses INTEGER, secs INTEGER)",
    "CREATE TEMP TABLE usage_aw (a TEXT NOT NULL, wk INTEGER NOT NULL, users INTEGER, days INTEGER, "
    "first INTEGER, last INTEGER, PRIMARY KEY (wk, a)) WITHOUT ROWID",
    "CREATE TEMP TABLE usage_am (mon TEXT NOT NULL, a TEXT NOT NULL, mau INTEGER, user_days INTEGER, "
    "ses INTEGER, secs INTEGER, PRIMARY KEY (mon, a)) WITHOUT ROWID",
    "CREATE TEMP TABLE usage_users (a TEXT NOT NULL, u TEXT NOT NULL, mon TEXT, s INTEGER, e INTEGER, "
    "PRIMARY KEY (a, u)) WITHOUT ROWID",
    "CREATE TEMP TABLE usage_isl (a TEXT, s INTEGER, e INTEGER)",
    "CREATE TEMP TABLE usage_fm (mon TEXT NOT NULL, a TEXT NOT NULL, feature TEXT NOT NULL, "
    "PRIMARY KEY (mon, a, feature)) WITHOUT ROWID",
    "CREATE TEMP TABLE usage_anchor (x INTEGER PRIMARY KEY)",
    "CREATE TEMP TABLE usage_trend (x INTEGER NOT NULL, a TEXT NOT NULL, n INTEGER, PRIMARY KEY (x, a)) "
    "WITHOUT ROWID",
]


class Activity:
    """Builds the temp tables above from usage_daily; `drop()` removes them."""

    def __init__(self, db: sqlite3.Connection, *, min_events: int, trend_days: int):
        self.db = db
        self.min_events = min_events
        self.w = trend_days
        self.drop()
        for sql in _DDL:
            db.execute(sql)
        self.chunk_sql = self._chunk_sql(self._several_sources())

    def drop(self) -> None:
        for name in TABLES:
            self.db.execute(f"DROP TABLE IF EXISTS temp.{name}")

    def _several_sources(self) -> bool:
        """True when usage_daily has rows of more than one connection (a user-day may then repeat)."""
        row = self.db.execute("SELECT source FROM usage_daily LIMIT 1").fetchone()
        if row is None:
            return False
        # Two range probes on the (source, source_account_id) index instead of a scan for `<>`.
        return any(self.db.execute(f"SELECT 1 FROM usage_daily WHERE source {op} ? LIMIT 1", row).fetchone()
                   for op in ("<", ">"))

    def _chunk_sql(self, dedupe: bool) -> str:
        # One row per (account, user, ISO week) of a month. A connection's usage_daily has one row per
        # user and day (the canonical grain); with several connections the same user-day is merged first.
        # `+account_id` keeps the planner on the day index.
        active = "coalesce(events, :min) >= :min"
        ses = "CASE WHEN sessions > 0 AND active_seconds IS NOT NULL THEN {} END"
        inner = (f"SELECT coalesce(+account_id, '') AS a, user_id AS u, CAST(julianday(day) AS INTEGER) AS jd, "
                 f"{ses.format('sessions')} AS ses, {ses.format('active_seconds')} AS secs "
                 f"FROM usage_daily WHERE day >= :lo AND day <= :hi AND {active}")
        if dedupe:
            inner = (f"SELECT a, u, jd, sum(ses) AS ses, sum(secs) AS secs FROM ({inner}) GROUP BY a, u, jd")
        return ("INSERT INTO usage_chunk SELECT a, u, jd - (jd + 1) % 7 AS wk, min(jd), max(jd), count(*), "
                f"sum(1 << ((jd + 1) % 7)), sum(ses), sum(secs) FROM ({inner}) GROUP BY a, u, wk")

    def scan_month(self, mon: str, lo: date, hi: date) -> None:
        """Reduce usage_daily rows of days lo..hi (one calendar month, maybe to date) into the tables."""
        db, lo_dn, hi_dn = self.db, dn(lo), dn(hi)
        db.execute("DELETE FROM usage_chunk")
        db.execute("DELETE FROM usage_cu")
        db.execute(self.chunk_sql, {"lo": lo.isoformat(), "hi": hi.isoformat(), "min": self.min_events})
        # Weeks wholly inside the month are final; a straddling week waits in usage_edge for its other half.
        db.execute(f"INSERT INTO usage_aw SELECT a, wk, count(*), {_DAYS}, min(first), max(last) FROM usage_chunk "
                   "WHERE wk >= ? AND wk + 6 <= ? GROUP BY a, wk", (lo_dn, hi_dn))
        db.execute("INSERT INTO usage_edge SELECT * FROM usage_chunk WHERE wk < ? OR wk + 6 > ?", (lo_dn, hi_dn))
        self._flush_edge(hi_dn)
        db.execute("INSERT INTO usage_cu SELECT a, u, min(first), max(last), sum(nd), sum(ses), sum(secs) "
                   "FROM usage_chunk GROUP BY a, u")
        db.execute("INSERT INTO usage_am SELECT ?, a, count(*), sum(nd), sum(ses), sum(secs) FROM usage_cu "
                   "GROUP BY a", (mon,))
        # Coverage islands for the trend: a user active on day d counts in every window ending d … d+w-1.
        # Within a month the coverage is one interval; across months it continues while gaps are <= w days.
        db.execute("INSERT INTO usage_isl SELECT o.a, o.s, o.e FROM usage_users o JOIN usage_cu c "
                   "ON c.a = o.a AND c.u = o.u WHERE c.first > o.e + ?", (self.w,))
        db.execute("INSERT INTO usage_users (a, u, mon, s, e) SELECT a, u, ?, first, last FROM usage_cu WHERE 1 "
                   "ON CONFLICT (a, u) DO UPDATE SET s = CASE WHEN excluded.s > usage_users.e + ? "
                   "THEN excluded.s ELSE usage_users.s END, e = excluded.e", (mon, self.w))
        # (month, account, feature) is the primary key: INSERT OR IGNORE is cheaper than a DISTINCT sort.
        db.execute(
            "INSERT OR IGNORE INTO usage_fm SELECT :mon, account_id, CAST(j.value AS TEXT) "
            "FROM usage_daily, json_each(usage_daily.features) j WHERE day >= :lo AND day <= :hi "
            "AND coalesce(+account_id, '') <> '' AND coalesce(events, :min) >= :min "
            "AND substr(features, 1, 1) = '[' AND features <> '[]' AND j.atom IS NOT NULL AND j.value <> ''",
            {"mon": mon, "lo": lo.isoformat(), "hi": hi.isoformat(), "min": self.min_events})

    def _flush_edge(self, through: int | None) -> None:
        where, params = ("WHERE wk + 6 <= ?", (through,)) if through is not None else ("", ())
        self.db.execute(f"INSERT INTO usage_aw SELECT a, wk, count(DISTINCT u), {_DAYS}, min(first), max(last) "
                        f"FROM usage_edge {where} GROUP BY a, wk", params)
        self.db.execute(f"DELETE FROM usage_edge {where}", params)

    def finish(self, anchors: Iterable[int]) -> None:
        """After the last month: close the straddling weeks and count users per trend anchor."""
        self._flush_edge(None)
        xs = set()
        for x in anchors:
            xs.update((x, x - self.w))
        self.db.executemany("INSERT OR IGNORE INTO usage_anchor VALUES (?)", [(x,) for x in sorted(xs)])
        # Users active in the w days ending x = islands with s <= x <= e + w - 1: a running sum of
        # +1 at s and -1 at e + w per account, read at each anchor (deltas of a day before its anchor).
        self.db.execute(f"""
            WITH isl AS (SELECT a, s, e FROM usage_isl
                         UNION ALL SELECT a, s, e FROM usage_users WHERE a <> '' AND s IS NOT NULL),
            ev AS (SELECT a, s AS d, 1 AS delta FROM isl UNION ALL SELECT a, e + {int(self.w)}, -1 FROM isl),
            merged AS (SELECT a, d, sum(delta) AS delta, 0 AS k FROM ev GROUP BY a, d
                       UNION ALL
                       SELECT acc.a, x.x, 0, 1 FROM (SELECT DISTINCT a FROM isl) acc CROSS JOIN usage_anchor x)
            INSERT INTO usage_trend
            SELECT d, a, n FROM (SELECT a, d, k, sum(delta) OVER (PARTITION BY a ORDER BY d, k
                                                               ROWS UNBOUNDED PRECEDING) AS n FROM merged)
            WHERE k = 1""")

    # -- reading -----------------------------------------------------------------
    def first_day(self, through: date) -> date | None:
        row = self.db.execute("SELECT min(day) FROM usage_daily WHERE day <= ?", (through.isoformat(),)).fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None

    def month_rows(self, mon: str) -> list[tuple[str, int, int, int | None, int | None]]:
        """(account, mau, user_days, sessions, active_seconds) of a month."""
        return self.db.execute("SELECT a, mau, user_days, ses, secs FROM usage_am WHERE mon = ?", (mon,)).fetchall()

    def new_users(self) -> list[tuple[str, str, int]]:
        """(first active month, account, users) — for users with any event up to a month end."""
        return self.db.execute("SELECT mon, a, count(*) FROM usage_users GROUP BY mon, a ORDER BY mon").fetchall()

    def week_rows(self, weeks: list[int], min_users: int, min_days: int, rule: str
                  ) -> list[tuple[str, int, int]]:
        """(account, Σ weekly active users, weeks meeting the usage-rate threshold) over the given weeks."""
        if not weeks:
            return []
        met = {"users_or_days": "users >= :u OR days >= :d", "users": "users >= :u", "days": "days >= :d",
               "users_and_days": "users >= :u AND days >= :d"}[rule]
        marks = ", ".join(f":w{i}" for i in range(len(weeks)))
        params: dict[str, int] = {f"w{i}": w for i, w in enumerate(weeks)}
        params.update(u=min_users, d=min_days)
        return self.db.execute(f"SELECT a, sum(users), sum(CASE WHEN {met} THEN 1 ELSE 0 END) FROM usage_aw "
                               f"WHERE wk IN ({marks}) GROUP BY a", params).fetchall()

    def features(self, mon: str) -> list[tuple[str, int]]:
        """(feature, accounts that used it) in a month."""
        return self.db.execute("SELECT feature, count(*) FROM usage_fm WHERE mon = ? GROUP BY feature",
                               (mon,)).fetchall()

    def feature_accounts(self, mon: str) -> int:
        return self.db.execute("SELECT count(DISTINCT a) FROM usage_fm WHERE mon = ?", (mon,)).fetchone()[0]

    def accounts_seen(self) -> list[tuple[str, str]]:
        """(account, first active month) of every resolved account."""
        return self.db.execute("SELECT a, min(mon) FROM usage_users WHERE a <> '' GROUP BY a").fetchall()

    def trend(self, anchor: int) -> list[tuple[str, int, int]]:
        """(account, users active in the window ending `anchor`, in the window before it); both 0 left out."""
        return self.db.execute(
            "SELECT c.a, c.n, coalesce(p.n, 0) FROM usage_trend c LEFT JOIN usage_trend p "
            "ON p.a = c.a AND p.x = c.x - ? WHERE c.x = ? AND c.n + coalesce(p.n, 0) > 0",
            (self.w, anchor)).fetchall()

    def active_in(self, ranges: list[tuple[str, int, int]]) -> set[tuple[str, int]]:
        """Which (account, start) of the given (account, start, end) day ranges had an active user in it.

        An account-week row spans one ISO week, so a 7-day range that overlaps [first, last] holds an
        active day (it cannot fall wholly inside the gap of a span shorter than 8 days).
        """
        db = self.db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS usage_ranges (a TEXT, lo INTEGER, hi INTEGER)")
        db.execute("DELETE FROM usage_ranges")
        db.executemany("INSERT INTO usage_ranges VALUES (?, ?, ?)", ranges)
        rows = db.execute("SELECT r.a, r.lo FROM usage_ranges r WHERE EXISTS (SELECT 1 FROM usage_aw w "
                          "WHERE w.a = r.a AND w.wk BETWEEN r.lo - 6 AND r.hi AND w.first <= r.hi "
                          "AND w.last >= r.lo)").fetchall()
        return {(a, lo) for a, lo in rows}
