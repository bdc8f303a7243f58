"""MRR of every line at every month end, in SQL: temp tables the other steps read.

Temp tables (all in the `temp` schema, dropped when the pack ends):

- rev_months(idx, month 'YYYY-MM', start_ts, t): month idx and the instant its MRR is read at
  (23:59:59 of the last day; the as-of instant for the month holding it).
- rev_subs: one row per subscription with the instants that bound its MRR: `mrr_from` (trial end)
  and `cut_ts` (ended, paused, or past-due beyond the grace period).
- rev_extra: the small line sets, already normalized: prorations scaled to a full interval and
  synthetic lines for sources that only have subscription state.
- rev_am(account_id, idx, mrr, plan_key): account MRR > 0 at the end of month idx.

The big set, `invoice_lines` of kind subscription, is never copied: `line_arm()` is a SELECT
over it that computes the same columns on the fly, so 2 million lines stream through SQLite.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import Any

from csconnect import MetricsError

CHUNK = 200_000                     # invoice lines per GROUP BY when pairing lines with month ends
EPS = 1e-6                          # minor units: below this an account total is zero (float noise)
FAR = "9999-12-31T23:59:59Z"
TS = "%Y-%m-%dT%H:%M:%SZ"
ARM_COLUMNS = ("account_id", "sub_id", "plan_key", "mrr", "eff_start", "eff_end")
TEMP_TABLES = ("rev_am", "rev_am_raw", "rev_extra", "rev_prorations", "rev_subs", "rev_pastdue", "rev_months",
               "rev_w", "rev_dims", "rev_plan_names", "rev_nrr", "rev_trials", "rev_terms", "rev_deals",
               "rev_paid", "rev_flash", "rev_pipe", "rev_cube0", "rev_cube1")


def months_back(ts: str | None, interval: str | None, count: Any) -> str | None:
    """`ts` minus `count` × `interval`, calendar-aware (Mar 31 − 1 month = Feb 28/29)."""
    if not ts:
        return None
    try:
        dt = datetime.strptime(ts, TS)
        n = max(int(count or 1), 1)
    except (TypeError, ValueError):
        return None
    if interval == "day":
        dt -= timedelta(days=n)
    elif interval == "week":
        dt -= timedelta(weeks=n)
    else:
        months = n * (12 if interval == "year" else 1)
        y, m = divmod(dt.year * 12 + dt.month - 1 - months, 12)
        dt = dt.replace(year=y, month=m + 1, day=min(dt.day, calendar.monthrange(y, m + 1)[1]))
    return dt.strftime(TS)


def monthly(amount: str, iv: str, cnt: str, days: str | None) -> str:
    """SQL: `amount` (one billing interval) normalized to one month.

    year /12·count, month /count, week ×52/12/count, day ×365/12/count. Without an interval the
    nearest standard one is inferred from the period length in `days` (month when unknown).
    """
    if days is None:
        inum, iden = "1.0", "1.0"
    else:
        inum = f"(CASE WHEN {days} < 1.5 THEN 365.0 WHEN {days} < 8 THEN 52.0 ELSE 1.0 END)"
        iden = (f"(CASE WHEN {days} < 8 THEN 12.0 WHEN {days} < 45 THEN 1.0 WHEN {days} < 100 THEN 3.0 "
                f"WHEN {days} < 200 THEN 6.0 ELSE 12.0 * MAX(1, ROUND({days} / 365.25)) END)")
    num = f"(CASE {iv} WHEN 'week' THEN 52.0 WHEN 'day' THEN 365.0 WHEN 'month' THEN 1.0 WHEN 'year' THEN 1.0 " \
          f"ELSE {inum} END)"
    den = f"(CASE {iv} WHEN 'year' THEN 12.0 * {cnt} WHEN 'month' THEN 1.0 * {cnt} WHEN 'week' THEN 12.0 * {cnt} " \
          f"WHEN 'day' THEN 12.0 * {cnt} ELSE {iden} END)"
    return f"({amount} * {num} / {den})"


def term_months(iv: str, cnt: str, days: str) -> str:
    """SQL: the length of a billing interval in months (inferred from `days` without an interval)."""
    return (f"(CASE {iv} WHEN 'year' THEN 12.0 * {cnt} WHEN 'month' THEN 1.0 * {cnt} "
            f"WHEN 'week' THEN {cnt} * 12.0 / 52 WHEN 'day' THEN {cnt} * 12.0 / 365 "
            f"ELSE {days} / (365.25 / 12) END)")


# The line's interval: its own, else its subscription's. Count likewise.
L_IV = "COALESCE(l.interval, s.interval)"
L_CNT = "MAX(1, COALESCE(CASE WHEN l.interval IS NOT NULL THEN l.interval_count ELSE s.cnt END, 1))"
L_DAYS = "(julianday(l.period_end) - julianday(l.period_start))"
L_ACCOUNT = "COALESCE(l.account_id, s.account_id, l.source || ':' || l.source_account_id)"
L_START = "max(l.period_start, COALESCE(s.mrr_from, l.period_start))"
L_END = "min(l.period_end, COALESCE(s.cut_ts, l.period_end))"
L_FROM = ("FROM invoice_lines l LEFT JOIN invoices i ON i.id = l.invoice_id "
          "LEFT JOIN temp.rev_subs s ON s.id = l.subscription_id "
          "JOIN temp.fx fx ON fx.currency = l.currency")
L_WHERE = ("l.period_start IS NOT NULL AND l.period_end > l.period_start "
           "AND (i.status IS NULL OR i.status <> 'void')")


def line_arm(where: str = "") -> str:
    """SELECT of every subscription-kind line's MRR and the window it counts in (ARM_COLUMNS)."""
    return (f"SELECT {L_ACCOUNT} AS account_id, l.subscription_id AS sub_id, "
            f"COALESCE(l.plan_id, s.plan_key, l.product) AS plan_key, "
            f"{monthly('l.amount * fx.rate', L_IV, L_CNT, L_DAYS)} AS mrr, "
            f"{L_START} AS eff_start, {L_END} AS eff_end {L_FROM} WHERE l.kind = 'subscription' AND {L_WHERE}"
            f"{where}")


def arms() -> tuple[str, str]:
    """The two line sets every MRR query runs over: invoice lines (streamed) and rev_extra."""
    return line_arm(), f"SELECT {', '.join(ARM_COLUMNS)} FROM temp.rev_extra"


def chunked_arms(db: Any) -> list[str]:
    """arms(), with invoice lines cut into rowid ranges of CHUNK lines (read in storage order).

    A GROUP BY over one range sorts only that range's (line, month) pairs, so memory stays flat
    however many lines there are (the connection keeps temp data in memory).
    """
    lo, hi = db.execute("SELECT MIN(rowid), MAX(rowid) FROM invoice_lines").fetchone()
    out = [line_arm(f" AND l.rowid >= {start} AND l.rowid < {start + CHUNK}")
           for start in range(lo or 0, (hi or -1) + 1, CHUNK)]
    return out + [arms()[1]]


def drop_temp(db: Any) -> None:
    for t in TEMP_TABLES:
        db.execute(f"DROP TABLE IF EXISTS temp.{t}")


def first_month(db: Any, as_of: datetime) -> date:
    """The month of the earliest revenue fact (never after the as-of month)."""
    row = db.execute("""SELECT MIN(x) FROM (
        SELECT MIN(period_start) AS x FROM invoice_lines WHERE kind <> 'one_off'
        UNION ALL SELECT MIN(COALESCE(trial_start, started_at, current_period_start)) FROM subscriptions
        UNION ALL SELECT MIN(COALESCE(paid_at, created_at)) FROM invoices WHERE status = 'paid' AND amount_paid > 0
        UNION ALL SELECT MIN(close_date) FROM deals WHERE kind = 'renewal' AND is_closed = 1)""").fetchone()
    first = as_of.date()
    if row and row[0]:
        try:
            first = min(first, date.fromisoformat(row[0][:10]))
        except ValueError:
            pass
    return first.replace(day=1)


def build_months(ctx: Any, periods: list[Any]) -> None:
    ctx.db.execute("CREATE TEMP TABLE rev_months (idx INTEGER PRIMARY KEY, month TEXT NOT NULL UNIQUE, "
                   "start_ts TEXT NOT NULL, t TEXT NOT NULL UNIQUE)")
    rows = []
    for i, p in enumerate(periods):
        last = i == len(periods) - 1
        t = ctx.as_of_ts if last else f"{p.last_day().isoformat()}T23:59:59Z"
        rows.append((i, p.start.isoformat()[:7], p.start_ts, t))
    ctx.db.executemany("INSERT INTO temp.rev_months VALUES (?, ?, ?, ?)", rows)


def build_fx(ctx: Any, pipeline_days: int) -> None:
    """temp.fx for every currency a computed amount is in; one line naming a currency with no rate."""
    db = ctx.db
    currencies = {r[0] for r in db.execute(
        "SELECT DISTINCT currency FROM invoice_lines WHERE kind <> 'one_off'")}
    currencies |= {r[0] or ctx.reporting_currency for r in db.execute(
        "SELECT DISTINCT s.currency FROM subscriptions s WHERE NOT EXISTS "
        "(SELECT 1 FROM invoice_lines l WHERE l.source = s.source)")}
    currencies |= {r[0] or ctx.reporting_currency for r in db.execute(
        "SELECT DISTINCT currency FROM deals WHERE kind = 'renewal' AND COALESCE(is_closed, 0) = 0 "
        "AND close_date >= ? AND close_date <= date(?, ?)",
        (ctx.as_of.date().isoformat(), ctx.as_of.date().isoformat(), f"+{pipeline_days} days"))}
    try:
        ctx.fx_table(currencies)
    except MetricsError as exc:
        raise MetricsError(f"revenue: {exc}") from None


def build_subs(ctx: Any, grace_days: int | None) -> None:
    """temp.rev_subs: per subscription, its account, plan, interval and the instants bounding its MRR."""
    db = ctx.db
    if grace_days is not None:
        db.execute("CREATE TEMP TABLE rev_pastdue AS SELECT subscription_id AS id, MIN(created_at) AS since "
                   "FROM invoices WHERE status IN ('open', 'uncollectible') AND subscription_id IS NOT NULL "
                   "GROUP BY subscription_id")
        db.execute("CREATE UNIQUE INDEX temp.rev_pastdue_id ON rev_pastdue (id)")
        past_due = ("CASE WHEN s.status = 'past_due' THEN strftime('%Y-%m-%dT%H:%M:%SZ', "
                    "COALESCE((SELECT since FROM temp.rev_pastdue p WHERE p.id = s.id), s.current_period_start), "
                    f"'+{int(grace_days)} days') END")
    else:
        past_due = "NULL"
    db.execute("""CREATE TEMP TABLE rev_subs (
        id TEXT PRIMARY KEY, source TEXT, account_id TEXT, status TEXT, plan_key TEXT, plan_label TEXT,
        interval TEXT, cnt INTEGER, started_at TEXT, trial_start TEXT, trial_end TEXT, mrr_from TEXT,
        end_ts TEXT, cut_ts TEXT, state_only INTEGER)""")
    db.execute(f"""INSERT INTO temp.rev_subs
        SELECT id, source, account_id, status, plan_key, plan_label, interval, cnt, started_at, trial_start,
               trial_end, mrr_from, end_ts,
               NULLIF(min(COALESCE(end_ts, :far), COALESCE(paused, :far), COALESCE(past_due, :far)), :far),
               state_only
        FROM (SELECT s.id, s.source, COALESCE(s.account_id, s.source || ':' || s.source_account_id) AS account_id,
                     s.status, COALESCE(s.plan_id, s.plan_name, s.product) AS plan_key,
                     COALESCE(s.plan_name, s.plan_id, s.product) AS plan_label, s.interval,
                     MAX(1, COALESCE(s.interval_count, 1)) AS cnt, s.started_at,
                     COALESCE(s.trial_start, CASE WHEN s.status = 'trialing' THEN s.started_at END) AS trial_start,
                     s.trial_end,
                     CASE WHEN s.trial_end IS NOT NULL THEN s.trial_end
                          WHEN s.status = 'trialing' THEN :far END AS mrr_from,
                     COALESCE(s.ended_at, CASE WHEN s.status IN ('canceled', 'ended')
                                               THEN COALESCE(s.canceled_at, s.current_period_end) END) AS end_ts,
                     CASE WHEN s.status = 'paused' THEN COALESCE(s.current_period_start, :as_of) END AS paused,
                     {past_due} AS past_due,
                     NOT EXISTS (SELECT 1 FROM invoice_lines x WHERE x.source = s.source) AS state_only
              FROM subscriptions s)""", {"far": FAR, "as_of": ctx.as_of_ts})


def build_extra(ctx: Any, snap: bool) -> None:
    """temp.rev_extra: prorations scaled to a full billing interval, and state-only subscriptions."""
    db = ctx.db
    db.create_function("csconnect_revenue_months_back", 3, months_back, deterministic=True)
    db.execute(f"""CREATE TEMP TABLE rev_prorations AS
        SELECT {L_ACCOUNT} AS account_id, l.subscription_id AS sub_id,
               COALESCE(l.plan_id, s.plan_key, l.product) AS plan_key, l.plan_id, l.quantity, l.currency,
               l.amount, fx.rate, COALESCE({L_IV}, 'month') AS iv, {L_CNT} AS cnt,
               l.period_start AS ps, l.period_end AS pe, {L_START} AS eff_start, {L_END} AS eff_end,
               (SELECT c.period_start FROM invoice_lines c WHERE c.subscription_id = l.subscription_id
                  AND c.kind = 'subscription' AND c.period_end = l.period_end AND c.period_start <= l.period_start
                ORDER BY c.period_start LIMIT 1) AS full_start,
               NULL AS full_amount
        {L_FROM} WHERE l.kind = 'proration' AND l.amount <> 0 AND {L_WHERE}""")
    # The billing interval that ends at the proration's period_end: the subscription line ending there,
    # else period_end minus one interval (calendar months, clamped to the month's last day).
    db.execute("UPDATE temp.rev_prorations SET full_start = csconnect_revenue_months_back(pe, iv, cnt) "
               "WHERE full_start IS NULL")
    db.execute("UPDATE temp.rev_prorations SET full_amount = COALESCE(amount * (julianday(pe) - "
               "julianday(full_start)) / (julianday(pe) - julianday(ps)), amount)")
    if snap:
        # Sources round a proration to whole minor units; scaled up, that error grows by interval/period.
        # When the same subscription bills a line of the same plan, quantity, interval and currency whose
        # amount is within that rounding distance, the proration was for exactly that price.
        db.execute("""UPDATE temp.rev_prorations SET full_amount = COALESCE((
            SELECT CASE WHEN rev_prorations.amount < 0 THEN -price ELSE price END FROM (
                SELECT c.amount AS price, MIN(abs(abs(rev_prorations.full_amount) - c.amount))
                FROM invoice_lines c
                WHERE c.subscription_id = rev_prorations.sub_id AND c.kind = 'subscription' AND c.amount > 0
                  AND c.plan_id IS rev_prorations.plan_id AND c.quantity IS rev_prorations.quantity
                  AND c.currency = rev_prorations.currency
                  AND COALESCE(c.interval, rev_prorations.iv) = rev_prorations.iv
                  AND COALESCE(c.interval_count, rev_prorations.cnt) = rev_prorations.cnt
                  AND abs(abs(rev_prorations.full_amount) - c.amount)
                      <= 0.5 * abs(rev_prorations.full_amount / rev_prorations.amount) + 0.5)
            WHERE price IS NOT NULL), full_amount)
            WHERE sub_id IS NOT NULL""")
    db.execute("CREATE TEMP TABLE rev_extra (account_id TEXT, sub_id TEXT, plan_key TEXT, mrr REAL, "
               "eff_start TEXT, eff_end TEXT)")
    db.execute(f"INSERT INTO temp.rev_extra SELECT account_id, sub_id, plan_key, "
               f"{monthly('full_amount * rate', 'iv', 'cnt', None)}, eff_start, eff_end FROM temp.rev_prorations")
    # A source with no invoice lines (a spreadsheet, say): the subscription's own state, back over its life.
    amount = "COALESCE(x.mrr * fx.rate, " + monthly("x.amount * COALESCE(x.quantity, 1) * fx.rate",
                                                   "COALESCE(x.interval, 'month')", "s.cnt", None) + ")"
    db.execute(f"""INSERT INTO temp.rev_extra
        SELECT s.account_id, s.id, s.plan_key, {amount},
               max(COALESCE(x.started_at, x.current_period_start, x.trial_end, '0001-01-01T00:00:00Z'),
                   COALESCE(s.mrr_from, '0001-01-01T00:00:00Z')),
               COALESCE(s.cut_ts, :far)
        FROM temp.rev_subs s JOIN subscriptions x ON x.id = s.id
        JOIN temp.fx fx ON fx.currency = COALESCE(x.currency, :cur)
        WHERE s.state_only AND (x.mrr IS NOT NULL OR x.amount IS NOT NULL)""",
               {"far": FAR, "cur": ctx.reporting_currency})
    db.execute("CREATE INDEX temp.rev_extra_sub ON rev_extra (sub_id)")


def build_account_mrr(ctx: Any) -> None:
    """temp.rev_am: account MRR at every month end where it is > 0, with the plan of its largest line."""
    db = ctx.db
    db.execute("CREATE TEMP TABLE rev_am_raw (account_id TEXT, idx INTEGER, mrr REAL, top REAL, plan_key TEXT)")
    for arm in chunked_arms(db):
        # CROSS JOIN keeps the lines as the outer loop: each line finds its month ends in rev_months' index.
        db.execute(f"""INSERT INTO temp.rev_am_raw
            SELECT v.account_id, m.idx, SUM(v.mrr), MAX(v.mrr), v.plan_key
            FROM ({arm}) v CROSS JOIN temp.rev_months m ON m.t >= v.eff_start AND m.t < v.eff_end
            WHERE v.account_id IS NOT NULL
            GROUP BY v.account_id, m.idx""")
    db.execute("CREATE TEMP TABLE rev_am (account_id TEXT NOT NULL, idx INTEGER NOT NULL, mrr REAL NOT NULL, "
               "plan_key TEXT, PRIMARY KEY (account_id, idx)) WITHOUT ROWID")
    db.execute("""INSERT INTO temp.rev_am
        SELECT account_id, idx, total, plan_key FROM (
            SELECT account_id, idx, SUM(mrr) AS total, MAX(top) AS top, plan_key
            FROM temp.rev_am_raw GROUP BY account_id, idx)
        WHERE total > ?""", (EPS,))
    db.execute("DROP TABLE temp.rev_am_raw")
