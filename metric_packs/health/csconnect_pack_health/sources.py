"""What the inputs are read from: small indexed temp tables built once per run, and the instants.

Canonical tables are read once, filtered to the as-of instant and to the support pack's
configured ticket/survey sources, and reduced to (account, time, value) rows under a covering
index, so the value of an input at any instant is one index range lookup. The other packs'
per-account outputs are copied out of `account_metrics` in account order (`h_mon`: one row per
account and month; `h_ut`: the usage trend), so an account's lookups stay on a few pages.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Sequence

from csconnect import MetricContext

TEMP_TABLES = ("h_acct", "h_mon", "h_ut", "h_fm", "h_fcur", "h_fisl", "h_fwp", "h_fc", "h_tk", "h_esc", "h_sv",
               "h_inv", "h_nps", "h_touch",
               "h_at")
EPOCH = 2440587.5                 # julianday('1970-01-01'): day numbers count from it
FEATURE_DAYS = 30

# Merging one month's spans (h_fm) into each (account, feature)'s islands: a span starting more than
# FEATURE_DAYS days after the current island's last use closes it (into h_fisl) and starts a new one;
# otherwise it extends the island.
FEATURE_MERGE = (
    f"""INSERT INTO temp.h_fisl SELECT c.account_id, c.s, c.e FROM temp.h_fm m JOIN temp.h_fcur c
        ON c.account_id = m.account_id AND c.feature = m.feature WHERE m.lo > c.e + {FEATURE_DAYS}""",
    f"""INSERT INTO temp.h_fcur SELECT account_id, feature, lo, hi FROM temp.h_fm WHERE 1
        ON CONFLICT (account_id, feature) DO UPDATE SET
            s = CASE WHEN excluded.s > h_fcur.e + {FEATURE_DAYS} THEN excluded.s ELSE h_fcur.s END, e = excluded.e""",
)
# The islands (closed and current) as steps: +1 on an island's first day, −1 on the first day after
# its window (last use + FEATURE_DAYS); n = their running sum per account.
FEATURE_STEPS = f"""INSERT INTO temp.h_fc
    WITH isl AS (SELECT account_id, s, e FROM temp.h_fisl UNION ALL SELECT account_id, s, e FROM temp.h_fcur),
         ev AS (SELECT account_id, s AS dn, 1 AS d FROM isl
                UNION ALL SELECT account_id, e + {FEATURE_DAYS}, -1 FROM isl)
    SELECT account_id, dn, SUM(SUM(d)) OVER (PARTITION BY account_id ORDER BY dn) FROM ev
    GROUP BY account_id, dn"""


def ts_of(d: date) -> str:
    """The end of day d (23:59:59 UTC) as ISO text: a history instant."""
    return f"{d.isoformat()}T23:59:59Z"


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return date(y, m + 1, 1)


def month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def day_no(d: date) -> int:
    return (d - date(1970, 1, 1)).days


@dataclass
class Instant:
    """One moment the score is computed at, with everything its inputs need precomputed."""

    ts: str
    label: str | None = None         # account_health_history.as_of (Mondays and the as-of date)
    month: str | None = None         # metric month whose end this is (to-date month: the as-of instant)
    is_now: bool = False
    is_prev: bool = False

    def columns(self, p: dict[str, Any]) -> tuple[Any, ...]:
        when = parse_ts(self.ts)
        day = when.date()
        m_cur = day.replace(day=1)
        m_done = m_cur if self.ts >= ts_of(month_end(day)) else add_months(m_cur, -1)
        m_now = m_cur if self.is_now else m_done
        sunday = day - timedelta(days=(day.weekday() + 1) % 7)     # latest Sunday on or before day
        w_key = sunday - timedelta(days=6)
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        return (self.ts, day.isoformat(), int(self.is_now), self.label, self.month, m_now.isoformat(),
                m_done.isoformat(), w_key.isoformat(), (when - timedelta(days=p["window_days"])).strftime(fmt),
                day_no(day),
                (when - timedelta(days=p["payment_due_days"])).strftime(fmt),
                (when - timedelta(days=p["nps_max_age_days"])).strftime(fmt),
                add_months(m_now, -p["mrr_trend_months"]).isoformat(),
                add_months(m_now, -(p["csat_months"] - 1)).isoformat())


# h_at's columns, in the order Instant.columns gives them.
AT_COLUMNS = ("ts", "day", "is_now", "label", "month", "m_now", "m_done", "w_key", "win_ts", "dn", "due_ts", "nps_lo",
              "m_trend", "m_csat_lo")


def instants(as_of: datetime, as_of_ts: str, first: date, p: dict[str, Any]) -> list[Instant]:
    """Mondays from the first month with data, month ends, the as-of instant and the trend's earlier instant."""
    by_ts: dict[str, Instant] = {}

    def at(ts: str) -> Instant:
        return by_ts.setdefault(ts, Instant(ts))

    now = at(as_of_ts)
    now.is_now, now.label = True, as_of_ts[:10]
    at((as_of - timedelta(days=p["trend_days"])).strftime("%Y-%m-%dT%H:%M:%SZ")).is_prev = True
    start = first.replace(day=1)
    mondays = []
    d = start + timedelta(days=(7 - start.weekday()) % 7)
    while ts_of(d) < as_of_ts:
        mondays.append(d)
        d += timedelta(days=7)
    if p["history_weeks"]:
        mondays = mondays[-p["history_weeks"]:]
        start = mondays[0].replace(day=1) if mondays else as_of.date().replace(day=1)
    for d in mondays:
        at(ts_of(d)).label = d.isoformat()
    m = start
    while m <= as_of.date():
        end_ts = ts_of(month_end(m))
        at(end_ts if end_ts < as_of_ts else as_of_ts).month = m.isoformat()
        m = add_months(m, 1)
    return sorted(by_ts.values(), key=lambda i: i.ts)


class Sources:
    """Builds and drops the run's temp tables."""

    def __init__(self, ctx: MetricContext, p: dict[str, Any]):
        self.ctx, self.db, self.p = ctx, ctx.db, p
        support = ctx.config.packs.get("support", {}) if isinstance(ctx.config.packs, dict) else {}
        self.ticket_sources = _strings(support.get("ticket_sources"), [])
        self.survey_sources = _strings(support.get("survey_sources"), [])
        self.solved = _strings(support.get("solved_statuses"), ["solved", "closed"])
        tag = support.get("escalation_tag", "escalated")
        self.escalation_tag = tag if isinstance(tag, str) else "escalated"
        usage = ctx.config.packs.get("usage", {}) if isinstance(ctx.config.packs, dict) else {}
        events = usage.get("active_min_events", 1)
        self.min_events = events if isinstance(events, int) and not isinstance(events, bool) else 1

    def drop(self) -> None:
        for t in TEMP_TABLES:
            self.db.execute(f"DROP TABLE IF EXISTS temp.{t}")

    def _filter(self, alias: str, names: Sequence[str]) -> tuple[str, list[Any]]:
        if not names:
            return "", []
        return f" AND {alias}.source IN ({', '.join('?' * len(names))})", list(names)

    def build(self, segments_to_profile: Any) -> None:
        db, a = self.db, self.ctx.as_of_ts
        db.execute("CREATE TEMP TABLE h_acct (account_id TEXT PRIMARY KEY, pf INTEGER NOT NULL, seg TEXT NOT NULL, "
                   "seats REAL, created TEXT, f_first INTEGER, inv_first TEXT)")
        rows = self.ctx.query("SELECT account_id, segment, seats, created_at FROM accounts")
        db.executemany("INSERT OR REPLACE INTO temp.h_acct VALUES (?, ?, ?, ?, ?, NULL, NULL)",
                       [(r["account_id"], segments_to_profile(r["segment"]), r["segment"] or "(none)", r["seats"],
                         r["created_at"]) for r in rows])
        self._metrics(a[:10])
        self._usage(a[:10])
        self._tickets(a)
        db.execute("CREATE TEMP TABLE h_inv (account_id TEXT NOT NULL, created TEXT NOT NULL, paid TEXT)")
        # `paid`: when the invoice stops counting as unpaid: its payment, or — for one never paid — the
        # end of its subscription (a debt of an ended contract does not mark the live relationship).
        db.execute("""INSERT INTO temp.h_inv SELECT i.account_id, i.created_at,
                CASE WHEN COALESCE(i.total, 1) <= 0 THEN i.created_at
                     WHEN i.status = 'paid' THEN MAX(COALESCE(i.paid_at, i.created_at), i.created_at)
                     ELSE (SELECT MAX(s.ended_at, i.created_at) FROM subscriptions s
                           WHERE s.id = i.subscription_id AND s.ended_at IS NOT NULL) END
            FROM invoices i WHERE i.account_id IS NOT NULL AND i.created_at IS NOT NULL AND i.created_at <= ?
              AND i.status NOT IN ('void', 'draft')""", [a])
        db.execute("CREATE INDEX temp.h_inv_i ON h_inv (account_id, created, paid)")
        db.execute("""UPDATE temp.h_acct SET
            f_first = (SELECT MIN(f.dn) FROM temp.h_fc f WHERE f.account_id = h_acct.account_id),
            inv_first = (SELECT MIN(i.created) FROM temp.h_inv i WHERE i.account_id = h_acct.account_id)""")
        # Only an invoice paid more than payment_due_days after its creation (or not paid) is ever past
        # due; the others only mattered for inv_first (an account with invoices has payment data).
        db.execute("DELETE FROM temp.h_inv WHERE paid IS NOT NULL AND julianday(paid) <= julianday(created) + ?",
                   [self.p["payment_due_days"]])
        where, params = self._filter("s", self.survey_sources)
        db.execute("CREATE TEMP TABLE h_nps (account_id TEXT NOT NULL, ts TEXT NOT NULL, score REAL NOT NULL)")
        db.execute(f"""INSERT INTO temp.h_nps SELECT a, ts, score FROM (
                SELECT COALESCE(s.account_id, (SELECT k.account_id FROM tickets k WHERE k.id = s.ticket_id)) AS a,
                       s.responded_at AS ts, s.score AS score
                FROM survey_responses s
                WHERE s.kind = 'nps' AND s.score IS NOT NULL AND s.score BETWEEN 0 AND 10
                  AND COALESCE(s.scale_min, 0) = 0 AND COALESCE(s.scale_max, 10) = 10 AND s.responded_at <= ?{where})
            WHERE a IS NOT NULL""", [a, *params])
        db.execute("CREATE INDEX temp.h_nps_i ON h_nps (account_id, ts, score)")
        kinds = list(self.p["touch_kinds"])
        db.execute("CREATE TEMP TABLE h_touch (account_id TEXT NOT NULL, ts TEXT NOT NULL)")
        if kinds:
            db.execute(f"""INSERT INTO temp.h_touch SELECT account_id, occurred_at FROM activities
                WHERE account_id IS NOT NULL AND occurred_at <= ? AND kind IN ({', '.join('?' * len(kinds))})""",
                       [a, *kinds])
        db.execute("CREATE INDEX temp.h_touch_i ON h_touch (account_id, ts)")

    def _metrics(self, day: str) -> None:
        """The other packs' per-account values, copied once in account order (one full scan each)."""
        db = self.db
        db.execute("""CREATE TEMP TABLE h_mon (account_id TEXT NOT NULL, month TEXT NOT NULL, mrr REAL, su REAL,
            seats REAL, mau REAL, csat REAL, PRIMARY KEY (account_id, month)) WITHOUT ROWID""")
        db.execute("""INSERT INTO temp.h_mon SELECT account_id, period_start,
                MAX(CASE WHEN metric = 'mrr' THEN value END), MAX(CASE WHEN metric = 'seat_utilisation' THEN value END),
                MAX(CASE WHEN metric = 'seats' THEN value END), MAX(CASE WHEN metric = 'mau' THEN value END),
                MAX(CASE WHEN metric = 'csat' THEN value END)
            FROM account_metrics NOT INDEXED
            WHERE grain = 'month' AND metric IN ('mrr', 'seat_utilisation', 'seats', 'mau', 'csat')
              AND period_start <= ?
            GROUP BY account_id, period_start""", [day])
        db.execute("CREATE INDEX temp.h_mon_month ON h_mon (month, mrr)")
        db.execute("""CREATE TEMP TABLE h_ut (account_id TEXT NOT NULL, grain TEXT NOT NULL, period TEXT NOT NULL,
            value REAL, PRIMARY KEY (account_id, grain, period)) WITHOUT ROWID""")
        db.execute("""INSERT OR REPLACE INTO temp.h_ut SELECT account_id, grain, period_start, value
            FROM account_metrics NOT INDEXED WHERE metric = 'usage_trend' AND grain IN ('week', 'day')
              AND period_start <= ?""", [day])

    def _tickets(self, a: str) -> None:
        """Created, solved (with reopens) and escalated tickets, as the support pack's settings define them."""
        db = self.db
        solved = ", ".join("?" * len(self.solved)) or "NULL"
        where, params = self._filter("k", self.ticket_sources)
        base = f"FROM tickets k WHERE k.account_id IS NOT NULL AND k.created_at <= ?{where}"
        db.execute("CREATE TEMP TABLE h_tk (account_id TEXT NOT NULL, ts TEXT NOT NULL)")
        db.execute(f"INSERT INTO temp.h_tk SELECT k.account_id, k.created_at {base}", [a, *params])
        db.execute("CREATE INDEX temp.h_tk_i ON h_tk (account_id, ts)")
        db.execute("CREATE TEMP TABLE h_esc (account_id TEXT NOT NULL, opened TEXT NOT NULL, closed TEXT)")
        db.execute(f"""INSERT INTO temp.h_esc SELECT k.account_id, k.created_at,
                CASE WHEN k.status IN ({solved}) THEN MAX(COALESCE(k.solved_at, k.created_at), k.created_at) END
            {base} AND COALESCE(k.escalated, CASE WHEN json_valid(k.tags) THEN EXISTS (
                SELECT 1 FROM json_each(k.tags) j WHERE lower(j.value) = lower(?)) ELSE 0 END) = 1""",
                   [*self.solved, a, *params, self.escalation_tag])
        db.execute("CREATE INDEX temp.h_esc_i ON h_esc (account_id, opened, closed)")
        db.execute("CREATE TEMP TABLE h_sv (account_id TEXT NOT NULL, ts TEXT NOT NULL, reopened INTEGER NOT NULL)")
        db.execute(f"""INSERT INTO temp.h_sv SELECT k.account_id, MAX(k.solved_at, k.created_at), k.reopens > 0
            {base} AND k.status IN ({solved}) AND k.solved_at IS NOT NULL AND k.reopens IS NOT NULL""",
                   [a, *params, *self.solved])
        db.execute("CREATE INDEX temp.h_sv_i ON h_sv (account_id, ts, reopened)")

    def _usage(self, day: str) -> None:
        """Feature use as a step function per account: `h_fc` (account, dn, n) = features in the 30-day window.

        usage_daily is read once, a month at a time through its day index. Grouping by
        `account_id || ''` keeps SQLite on the day index (grouping by the bare column makes it walk
        the account_id index over the whole table for every month). A use on day u is in the 30-day
        window of days u … u+29; two days of one month are at most
        30 apart, so a month's (first, last) use of a feature (`h_fm`) puts it in the window of every
        day from first to last + 29, without a gap. Month by month these spans are merged into the
        (account, feature)'s current island (`h_fcur`) or close it (`h_fisl`); at the end the
        islands become +1/−1 steps whose running sum is `h_fc.n`, so "features used in the 30 days
        to day d" is one index seek (the latest dn ≤ d). `h_fwp` is the per-month spans of each
        feature over all accounts (for "features any account used").
        """
        db = self.db
        db.execute("CREATE TEMP TABLE h_fm (account_id TEXT NOT NULL, feature TEXT NOT NULL, lo INTEGER NOT NULL, "
                   "hi INTEGER NOT NULL)")
        db.execute("CREATE TEMP TABLE h_fcur (account_id TEXT NOT NULL, feature TEXT NOT NULL, s INTEGER NOT NULL, "
                   "e INTEGER NOT NULL, PRIMARY KEY (account_id, feature)) WITHOUT ROWID")
        db.execute("CREATE TEMP TABLE h_fisl (account_id TEXT NOT NULL, s INTEGER NOT NULL, e INTEGER NOT NULL)")
        db.execute("CREATE TEMP TABLE h_fwp (feature TEXT NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL)")
        first = db.execute("SELECT MIN(day) FROM usage_daily WHERE day <= ?", [day]).fetchone()[0]
        m = date.fromisoformat(first).replace(day=1) if first else None
        while m is not None and m.isoformat() <= day:
            nxt = add_months(m, 1)
            db.execute("DELETE FROM temp.h_fm")
            db.execute(f"""INSERT INTO temp.h_fm
                SELECT u.account_id || '', j.value, CAST(julianday(MIN(u.day)) - {EPOCH} AS INTEGER),
                       CAST(julianday(MAX(u.day)) - {EPOCH} AS INTEGER)
                FROM usage_daily u, json_each(CASE WHEN json_valid(u.features) THEN u.features ELSE '[]' END) j
                WHERE u.day >= ? AND u.day < ? AND u.day <= ? AND +u.account_id IS NOT NULL
                  AND u.features IS NOT NULL AND (u.events IS NULL OR u.events >= ?) AND j.type = 'text'
                GROUP BY 1, 2""", [m.isoformat(), nxt.isoformat(), day, self.min_events])
            db.execute("INSERT INTO temp.h_fwp SELECT feature, MIN(lo), MAX(hi) FROM temp.h_fm GROUP BY feature")
            for sql in FEATURE_MERGE:
                db.execute(sql)
            m = nxt
        db.execute("CREATE INDEX temp.h_fwp_i ON h_fwp (lo, hi, feature)")
        db.execute("CREATE TEMP TABLE h_fc (account_id TEXT NOT NULL, dn INTEGER NOT NULL, n INTEGER NOT NULL, "
                   "PRIMARY KEY (account_id, dn)) WITHOUT ROWID")
        db.execute(FEATURE_STEPS)
        for t in ("h_fm", "h_fcur", "h_fisl"):
            db.execute(f"DROP TABLE temp.{t}")

    def first_day(self) -> date | None:
        """The first day any input has data (on or before the as-of instant)."""
        db = self.db
        firsts = [r[0] for r in db.execute(f"""
            SELECT MIN(month) FROM temp.h_mon WHERE mrr IS NOT NULL OR su IS NOT NULL OR csat IS NOT NULL
            UNION ALL SELECT date(MIN(f_first) + {EPOCH}) FROM temp.h_acct
            UNION ALL SELECT MIN(ts) FROM temp.h_tk UNION ALL SELECT MIN(created) FROM temp.h_inv
            UNION ALL SELECT MIN(ts) FROM temp.h_nps UNION ALL SELECT MIN(ts) FROM temp.h_touch""") if r[0]]
        firsts = [f for f in firsts if f[:10] <= self.ctx.as_of_ts[:10]]
        return date.fromisoformat(min(firsts)[:10]) if firsts else None

    def load_instants(self, points: list[Instant]) -> None:
        db = self.db
        db.execute(f"CREATE TEMP TABLE h_at (t INTEGER PRIMARY KEY, {', '.join(AT_COLUMNS)}, has_tickets INTEGER, "
                   "has_touch INTEGER, n_feat INTEGER)")
        db.executemany(f"INSERT INTO temp.h_at (t, {', '.join(AT_COLUMNS)}) "
                       f"VALUES ({', '.join('?' * (1 + len(AT_COLUMNS)))})",
                       [(i, *pt.columns(self.p)) for i, pt in enumerate(points)])
        db.execute(f"""UPDATE temp.h_at SET
            has_tickets = (SELECT MIN(ts) FROM temp.h_tk) <= ts,
            has_touch = (SELECT MIN(ts) FROM temp.h_touch) <= ts,
            n_feat = (SELECT COUNT(DISTINCT f.feature) FROM temp.h_fwp f
                      WHERE f.lo BETWEEN h_at.dn - {2 * FEATURE_DAYS - 1} AND h_at.dn
                        AND f.hi >= h_at.dn - {FEATURE_DAYS - 1})""")


def _strings(value: Any, default: list[str]) -> list[str]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return default
