"""The pack-owned `renewal_pipeline` table: terms and open renewal deals ending in the next N days."""
from __future__ import annotations

from typing import Any

from .cohorts import ACCOUNT
from .mrr import L_CNT, L_DAYS, L_IV, L_WHERE, arms, term_months

TABLE_SQL = """CREATE TABLE IF NOT EXISTS renewal_pipeline (
    account_id TEXT,                 -- resolved account
    kind TEXT NOT NULL,              -- subscription | deal
    ref_id TEXT NOT NULL,            -- subscriptions.id or deals.id
    plan TEXT,                       -- subscription: its plan; deal: NULL
    status TEXT,                     -- subscription status, or the deal's stage
    term_end TEXT NOT NULL,          -- subscription: current term's period_end; deal: close_date
    days_to_term_end REAL,           -- from the as-of instant
    mrr REAL,                        -- subscription: its MRR at as-of; deal: the account's MRR at as-of
    deal_amount REAL,                -- deal amount in the reporting currency (minor units); NULL for subscriptions
    cancel_at_period_end INTEGER,    -- 1: the subscription is set to end at term end
    as_of TEXT NOT NULL,
    PRIMARY KEY (kind, ref_id))"""
COLUMNS = ("account_id", "kind", "ref_id", "plan", "status", "term_end", "days_to_term_end", "mrr", "deal_amount",
           "cancel_at_period_end", "as_of")


def write_pipeline(ctx: Any, days: int, min_months: int, last_idx: int) -> None:
    db = ctx.db
    db.execute(TABLE_SQL)
    p = {"as_of": ctx.as_of_ts, "horizon": None, "min": min_months - 1e-9, "day": ctx.as_of.date().isoformat(),
         "plus": f"+{int(days)} days", "cur": ctx.reporting_currency, "last": last_idx}
    p["horizon"] = db.execute("SELECT strftime('%Y-%m-%dT%H:%M:%SZ', ?, ?)", (ctx.as_of_ts, p["plus"])).fetchone()[0]
    db.execute("CREATE TEMP TABLE rev_pipe (sub_id TEXT PRIMARY KEY, term_end TEXT, mrr REAL)")
    # Subscriptions with lines: the term (of min_months+) that holds the as-of instant ends within the horizon.
    db.execute(f"""INSERT OR REPLACE INTO temp.rev_pipe (sub_id, term_end)
        SELECT l.subscription_id, MAX(l.period_end)
        FROM invoice_lines l JOIN temp.rev_subs s ON s.id = l.subscription_id
        LEFT JOIN invoices i ON i.id = l.invoice_id
        WHERE l.kind = 'subscription' AND {L_WHERE} AND l.period_start <= :as_of AND l.period_end > :as_of
          AND l.period_end <= :horizon
          AND (l.interval IS NULL OR {term_months('l.interval', 'COALESCE(l.interval_count, 1)', '0')} >= :min)
          AND {term_months(L_IV, L_CNT, L_DAYS)} >= :min
          AND (s.cut_ts IS NULL OR s.cut_ts > :as_of) AND (s.mrr_from IS NULL OR s.mrr_from <= :as_of)
        GROUP BY l.subscription_id""", p)
    s_days = "(julianday(x.current_period_end) - julianday(x.current_period_start))"
    db.execute(f"""INSERT OR IGNORE INTO temp.rev_pipe (sub_id, term_end)
        SELECT s.id, x.current_period_end FROM temp.rev_subs s JOIN subscriptions x ON x.id = s.id
        WHERE s.state_only AND x.status IN ('active', 'past_due') AND x.current_period_end > :as_of
          AND x.current_period_end <= :horizon AND {term_months('s.interval', 's.cnt', s_days)} >= :min
          AND (s.cut_ts IS NULL OR s.cut_ts > :as_of)""", p)
    for arm in arms():
        db.execute(f"""UPDATE temp.rev_pipe SET mrr = COALESCE(mrr, 0) + COALESCE((
            SELECT SUM(v.mrr) FROM ({arm}) v WHERE v.sub_id = rev_pipe.sub_id
              AND v.eff_start <= :as_of AND v.eff_end > :as_of), 0)""", p)
    rows = db.execute("""
        SELECT s.account_id, 'subscription', s.id, s.plan_label, s.status, r.term_end,
               julianday(r.term_end) - julianday(:as_of), r.mrr, NULL, x.cancel_at_period_end, :as_of
        FROM temp.rev_pipe r JOIN temp.rev_subs s ON s.id = r.sub_id JOIN subscriptions x ON x.id = s.id""",
                      p).fetchall()
    rows += db.execute(f"""
        SELECT {ACCOUNT.format(t='d')}, 'deal', d.id, NULL, d.stage, d.close_date,
               julianday(d.close_date) - julianday(:as_of),
               COALESCE((SELECT a.mrr FROM temp.rev_am a WHERE a.account_id = {ACCOUNT.format(t='d')}
                         AND a.idx = :last), 0),
               d.amount * fx.rate, NULL, :as_of
        FROM deals d JOIN temp.fx fx ON fx.currency = COALESCE(d.currency, :cur)
        WHERE d.kind = 'renewal' AND COALESCE(d.is_closed, 0) = 0
          AND d.close_date >= :day AND d.close_date <= date(:day, :plus)""", p).fetchall()
    ctx.replace_rows("renewal_pipeline", COLUMNS, rows)
