"""Cohort and event metrics: NRR/GRR over a window, trials, renewals, repeat purchases, CLV."""
from __future__ import annotations

from typing import Any, Sequence

from .mrr import EPS, L_CNT, L_DAYS, L_END, L_IV, L_START, L_WHERE, arms, line_arm, monthly, term_months
from .rollup import Agg, Results

ACCOUNT = "COALESCE({t}.account_id, {t}.source || ':' || {t}.source_account_id)"


def build_nrr(db: Any, window: int, n_months: int) -> str:
    """temp.rev_nrr: for month idx, the accounts that were customers at idx − window, then and now."""
    db.execute("""CREATE TEMP TABLE rev_nrr AS
        SELECT a.idx + :w AS idx, a.account_id, a.mrr AS then_mrr, COALESCE(b.mrr, 0) AS now_mrr
        FROM temp.rev_am a LEFT JOIN temp.rev_am b ON b.account_id = a.account_id AND b.idx = a.idx + :w
        WHERE a.idx + :w < :n""", {"w": window, "n": n_months})
    return "temp.rev_nrr"


NRR_BASE = {"n_now": "t.now_mrr", "n_then": "t.then_mrr", "n_min": "min(t.now_mrr, t.then_mrr)"}
NRR_AGGS = [Agg("nrr", "n_now", "n_then"), Agg("grr", "n_min", "n_then")]


def build_trials(ctx: Any, days: int) -> str:
    """temp.rev_trials: one row per trial, in the month it started, converted or not."""
    db = ctx.db
    db.execute("""CREATE TEMP TABLE rev_trials (id TEXT PRIMARY KEY, account_id TEXT, idx INTEGER,
                  t_start TEXT, win_end TEXT, converted INTEGER NOT NULL DEFAULT 0)""")
    db.execute("""INSERT INTO temp.rev_trials (id, account_id, idx, t_start, win_end)
        SELECT s.id, s.account_id, m.idx, s.trial_start,
               strftime('%Y-%m-%dT%H:%M:%SZ', COALESCE(s.trial_end, s.trial_start), :plus)
        FROM temp.rev_subs s JOIN temp.rev_months m ON m.month = substr(s.trial_start, 1, 7)
        WHERE s.trial_start IS NOT NULL AND s.trial_start <= :as_of""",
               {"plus": f"+{int(days)} days", "as_of": ctx.as_of_ts})
    db.execute("CREATE INDEX temp.rev_trials_account ON rev_trials (account_id)")
    # Converted: the account has an MRR-carrying line whose counting starts between trial start and
    # `days` after trial end (and by the as-of instant). Linked lines are found through the account index,
    # trial by trial; unlinked lines (account_id NULL) and rev_extra are scanned with the trials as lookup.
    p = {"eps": EPS, "as_of": ctx.as_of_ts}
    counts = ("v.mrr > :eps AND v.eff_end > v.eff_start AND v.eff_start >= t.t_start "
              "AND v.eff_start <= t.win_end AND v.eff_start <= :as_of")
    db.execute(f"""UPDATE temp.rev_trials SET converted = 1 WHERE id IN (
        SELECT t.id FROM temp.rev_trials t CROSS JOIN invoice_lines l ON l.account_id = t.account_id
        LEFT JOIN invoices i ON i.id = l.invoice_id LEFT JOIN temp.rev_subs s ON s.id = l.subscription_id
        JOIN temp.fx fx ON fx.currency = l.currency
        WHERE l.kind = 'subscription' AND {L_WHERE} AND l.period_start <= t.win_end AND l.period_end > t.t_start
          AND {monthly('l.amount * fx.rate', L_IV, L_CNT, L_DAYS)} > :eps AND {L_END} > {L_START}
          AND {L_START} >= t.t_start AND {L_START} <= t.win_end AND {L_START} <= :as_of)""", p)
    for arm in (line_arm(" AND l.account_id IS NULL"), arms()[1]):
        db.execute(f"""UPDATE temp.rev_trials SET converted = 1 WHERE id IN (
            SELECT t.id FROM ({arm}) v CROSS JOIN temp.rev_trials t ON t.account_id = v.account_id
            WHERE {counts})""", p)
    return "temp.rev_trials"


TRIAL_BASE = {"converted": "t.converted", "trials": "1"}
TRIAL_AGGS = [Agg("trial_conversion_rate", "converted", "trials")]


def build_terms(ctx: Any, min_months: int) -> str:
    """temp.rev_terms: billing terms of `min_months`+ that ended (by as-of) in each month, renewed or not.

    A term ends at a subscription line's period_end. It renewed unless the subscription ended within a
    day of it; a subscription that ended more than a day before it was cut short (not a term end).
    Sources with no lines: the current term only (ended there, or renewed at current_period_start).
    """
    db = ctx.db
    db.execute("""CREATE TEMP TABLE rev_terms (sub_id TEXT NOT NULL, term_day TEXT NOT NULL, account_id TEXT,
                  idx INTEGER, renewed INTEGER, PRIMARY KEY (sub_id, term_day))""")
    plus = "strftime('%Y-%m-%dT%H:%M:%SZ', {}, '+1 day')"
    minus = "strftime('%Y-%m-%dT%H:%M:%SZ', {}, '-1 day')"
    params = {"as_of": ctx.as_of_ts, "min": min_months - 1e-9}
    db.execute(f"""INSERT OR IGNORE INTO temp.rev_terms
        SELECT l.subscription_id, substr(l.period_end, 1, 10), s.account_id, m.idx,
               s.end_ts IS NULL OR s.end_ts > {plus.format('l.period_end')}
        FROM invoice_lines l JOIN temp.rev_subs s ON s.id = l.subscription_id
        LEFT JOIN invoices i ON i.id = l.invoice_id
        JOIN temp.rev_months m ON m.month = substr(l.period_end, 1, 7)
        WHERE l.kind = 'subscription' AND l.period_end <= :as_of
          AND (l.interval IS NULL OR {term_months('l.interval', 'COALESCE(l.interval_count, 1)', '0')} >= :min)
          AND {L_WHERE} AND {term_months(L_IV, L_CNT, L_DAYS)} >= :min
          AND (s.end_ts IS NULL OR s.end_ts >= {minus.format('l.period_end')})""", params)
    s_iv, s_cnt = "s.interval", "s.cnt"
    s_days = "(julianday(x.current_period_end) - julianday(x.current_period_start))"
    db.execute(f"""INSERT OR IGNORE INTO temp.rev_terms
        SELECT s.id, substr(x.current_period_end, 1, 10), s.account_id, m.idx, 0
        FROM temp.rev_subs s JOIN subscriptions x ON x.id = s.id
        JOIN temp.rev_months m ON m.month = substr(x.current_period_end, 1, 7)
        WHERE s.state_only AND x.current_period_end <= :as_of AND s.end_ts IS NOT NULL
          AND abs(julianday(s.end_ts) - julianday(x.current_period_end)) <= 1
          AND {term_months(s_iv, s_cnt, s_days)} >= :min""", params)
    db.execute(f"""INSERT OR IGNORE INTO temp.rev_terms
        SELECT s.id, substr(x.current_period_start, 1, 10), s.account_id, m.idx, 1
        FROM temp.rev_subs s JOIN subscriptions x ON x.id = s.id
        JOIN temp.rev_months m ON m.month = substr(x.current_period_start, 1, 7)
        WHERE s.state_only AND x.current_period_start <= :as_of
          AND julianday(x.current_period_start) - julianday(COALESCE(x.started_at, x.current_period_start)) > 1
          AND (s.end_ts IS NULL OR s.end_ts > {plus.format('x.current_period_start')})
          AND {term_months(s_iv, s_cnt, s_days)} >= :min""", params)
    return "temp.rev_terms"


def build_deals(ctx: Any) -> str:
    """temp.rev_deals: closed renewal deals by close month, won or not."""
    ctx.db.execute(f"""CREATE TEMP TABLE rev_deals AS
        SELECT {ACCOUNT.format(t='d')} AS account_id, m.idx, COALESCE(d.is_won, 0) AS won
        FROM deals d JOIN temp.rev_months m ON m.month = substr(d.close_date, 1, 7)
        WHERE d.kind = 'renewal' AND d.is_closed = 1 AND d.close_date <= :day""",
                   {"day": ctx.as_of.date().isoformat()})
    return "temp.rev_deals"


RENEWAL_SUB_BASE = {"renewed": "t.renewed", "terms": "1"}
RENEWAL_SUB_AGGS = [Agg("renewal_rate", "renewed", "terms")]
RENEWAL_DEAL_BASE = {"won": "t.won", "closed": "1"}
RENEWAL_DEAL_AGGS = [Agg("renewal_rate", "won", "closed")]


def build_repeat(ctx: Any) -> str:
    """A SELECT of per-account increments: first and second paid invoice (amount_paid > 0), by month."""
    db = ctx.db
    acct = ACCOUNT.format(t="invoices")
    db.execute(f"""CREATE TEMP TABLE rev_paid AS
        SELECT account_id, MIN(CASE WHEN rn = 1 THEN ts END) AS t1, MIN(CASE WHEN rn = 2 THEN ts END) AS t2
        FROM (SELECT {acct} AS account_id, COALESCE(paid_at, created_at) AS ts,
                     ROW_NUMBER() OVER (PARTITION BY {acct} ORDER BY COALESCE(paid_at, created_at)) AS rn
              FROM invoices WHERE status = 'paid' AND amount_paid > 0
                AND COALESCE(paid_at, created_at) IS NOT NULL AND {acct} IS NOT NULL)
        WHERE rn <= 2 GROUP BY account_id""")
    # Increments: +1 `one` in the month of an account's first paid invoice, +1 `two` in that of its second;
    # the rollup keeps running totals (cumulative=True).
    return ("(SELECT m.idx AS idx, p.account_id AS account_id, 1 AS one, 0 AS two FROM temp.rev_paid p "
            "JOIN temp.rev_months m ON m.month = substr(p.t1, 1, 7) AND p.t1 <= m.t "
            "UNION ALL SELECT m.idx, p.account_id, 0, 1 FROM temp.rev_paid p "
            "JOIN temp.rev_months m ON m.month = substr(p.t2, 1, 7) AND p.t2 <= m.t)")


REPEAT_BASE = {"two": "t.two", "one": "t.one"}
REPEAT_AGGS = [Agg("repeat_purchase_ratio", "two", "one")]


def write_clv(ctx: Any, periods: Sequence[Any], kept: Results, months: int) -> None:
    """CLV = ARPA / mean of the previous `months` churn rates, per (segment_by, segment) and month."""
    rows = []
    keys = {(k[1], k[2]) for k in kept if k[0] == "arpa"}
    for seg_by, seg in sorted(keys):
        for idx, period in enumerate(periods):
            arpa = kept.get(("arpa", seg_by, seg, idx))
            if arpa is None:
                continue
            rates = []
            for back in range(1, months + 1):
                churn = kept.get(("customer_churn_rate", seg_by, seg, idx - back))
                if churn is None or not churn[1]:
                    rates = []
                    break
                rates.append(churn[0] / churn[1])
            mean = sum(rates) / months if rates else None
            arpa_value = arpa[0] / arpa[1] if arpa[1] else None
            ok = mean is not None and mean > 0
            rows.append(("clv", period, arpa_value / mean if ok and arpa_value is not None else None,
                         arpa_value, mean, seg_by, seg))
            rows.append(("expected_lifetime_months", period, 1 / mean if ok else None, 1 if ok else None, mean,
                         seg_by, seg))
    ctx.write_values(rows)
