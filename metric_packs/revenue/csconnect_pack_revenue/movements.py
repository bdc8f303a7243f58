"""Per account per month: start/end MRR and its movement (new, reactivation, expansion, contraction, churn)."""
from __future__ import annotations

from typing import Any, Iterator, Sequence

from .mrr import EPS, chunked_arms
from .rollup import Agg

KINDS = ("new", "reactivation", "expansion", "contraction", "churn")


def build_movements(ctx: Any, n_months: int, include_same_period: bool) -> None:
    """temp.rev_w: one row per account and month where it had MRR at the start or the end.

    s = MRR at the previous month end, e = MRR at this month end. `new` and `reactivation` are decided
    before expansion: with s = 0 the account is new when it never had MRR at an earlier month end, else
    reactivated. e − s = new + react + exp − contr − churn on every row.
    """
    db = ctx.db
    db.execute("""CREATE TEMP TABLE rev_w (account_id TEXT NOT NULL, idx INTEGER NOT NULL, s REAL NOT NULL,
                  e REAL NOT NULL, new REAL NOT NULL, react REAL NOT NULL, exp REAL NOT NULL,
                  contr REAL NOT NULL, churn REAL NOT NULL, flash INTEGER NOT NULL DEFAULT 0)""")
    db.execute("""INSERT INTO temp.rev_w (account_id, idx, s, e, new, react, exp, contr, churn)
        SELECT account_id, idx, s, e,
               CASE WHEN s = 0 AND p_idx IS NULL THEN e ELSE 0 END,
               CASE WHEN s = 0 AND p_idx IS NOT NULL THEN e ELSE 0 END,
               CASE WHEN s > 0 AND e - s > :eps THEN e - s ELSE 0 END,
               CASE WHEN s > 0 AND s - e > :eps THEN s - e ELSE 0 END,
               0
        FROM (SELECT account_id, idx, mrr AS e, LAG(idx) OVER w AS p_idx,
                     CASE WHEN LAG(idx) OVER w = idx - 1 THEN LAG(mrr) OVER w ELSE 0 END AS s
              FROM temp.rev_am WINDOW w AS (PARTITION BY account_id ORDER BY idx))
        UNION ALL
        SELECT account_id, idx + 1, mrr, 0, 0, 0, 0, 0, mrr
        FROM (SELECT account_id, idx, mrr, LEAD(idx) OVER w AS n_idx
              FROM temp.rev_am WINDOW w AS (PARTITION BY account_id ORDER BY idx))
        WHERE (n_idx IS NULL OR n_idx > idx + 1) AND idx + 1 < :n""", {"eps": EPS, "n": n_months})
    if include_same_period:
        _add_same_period(db)


def _add_same_period(db: Any) -> None:
    """Accounts with MRR > 0 at some instant inside a month but at neither of its ends (rows with flash = 1)."""
    db.execute("CREATE TEMP TABLE rev_flash (account_id TEXT NOT NULL, idx INTEGER NOT NULL, "
               "PRIMARY KEY (account_id, idx)) WITHOUT ROWID")
    for arm in chunked_arms(db):
        # Overlap: the line counts somewhere in [month start, month end]; `m.t <` bounds the index range.
        db.execute(f"""INSERT OR IGNORE INTO temp.rev_flash
            SELECT DISTINCT v.account_id, m.idx
            FROM ({arm}) v CROSS JOIN temp.rev_months m
                 ON m.t >= v.eff_start AND m.t < strftime('%Y-%m-%dT%H:%M:%SZ', v.eff_end, '+32 days')
            WHERE v.account_id IS NOT NULL AND v.mrr > :eps AND m.start_ts < v.eff_end""", {"eps": EPS})
    db.execute("CREATE INDEX temp.rev_w_account ON rev_w (account_id, idx)")
    db.execute("""INSERT INTO temp.rev_w (account_id, idx, s, e, new, react, exp, contr, churn, flash)
        SELECT f.account_id, f.idx, 0, 0, 0, 0, 0, 0, 0, 1 FROM temp.rev_flash f
        WHERE NOT EXISTS (SELECT 1 FROM temp.rev_w w WHERE w.account_id = f.account_id AND w.idx = f.idx)""")


def write_account_rows(ctx: Any, periods: Sequence[Any]) -> None:
    """account_metrics `mrr` (0 in the month an account churns) and the mrr_movements table."""
    def account_rows() -> Iterator[tuple[Any, ...]]:
        for account_id, idx, e in ctx.db.execute(
                "SELECT account_id, idx, e FROM temp.rev_w WHERE flash = 0 ORDER BY account_id, idx"):
            yield account_id, "mrr", periods[idx], e

    def movement_rows() -> Iterator[tuple[Any, ...]]:
        for account_id, idx, kind, amount in ctx.db.execute("""
                SELECT account_id, idx,
                       CASE WHEN new > 0 THEN 'new' WHEN react > 0 THEN 'reactivation'
                            WHEN exp > 0 THEN 'expansion' WHEN contr > 0 THEN 'contraction' ELSE 'churn' END,
                       new + react + exp + contr + churn
                FROM temp.rev_w WHERE new + react + exp + contr + churn > 0 ORDER BY account_id, idx"""):
            yield account_id, periods[idx].key, kind, amount

    ctx.write_account_metrics(account_rows())
    ctx.replace_rows("mrr_movements", ("account_id", "month", "kind", "amount"), movement_rows())


# Per-row quantities summed by the rollup; every metric below is linear in these sums. On a row,
# e > 0 exactly when it is kept (s > 0, no churn), new or reactivated, so Σ(e > 0) = c_s − c_churn +
# c_new + c_react; Σe over rows with s > 0 = e − new − react; Σ min(e, s) over them = s − contr − churn.
BASE = {
    "e": "t.e", "s": "t.s", "m_new": "t.new", "m_react": "t.react", "m_exp": "t.exp", "m_contr": "t.contr",
    "m_churn": "t.churn", "flash": "t.flash", "c_s": "(t.s > 0)", "c_new": "(t.new > 0)",
    "c_churn": "(t.churn > 0)", "c_react": "(t.react > 0)",
}
C_E = "(c_s - c_churn + c_new + c_react)"
KEPT_E = "(e - m_new - m_react)"
KEPT_MIN = "(s - m_contr - m_churn)"


def movement_aggs(include_reactivation: bool, nrr_window: int) -> list[Agg]:
    """Everything that rolls up from temp.rev_w."""
    quick = "m_new + m_exp + m_react" if include_reactivation else "m_new + m_exp"
    aggs = [
        Agg("mrr", "e"), Agg("arr", "12.0 * e"), Agg("customers", C_E), Agg("arpa", "e", C_E),
        Agg("mrr_new", "m_new"), Agg("mrr_expansion", "m_exp"), Agg("mrr_contraction", "m_contr"),
        Agg("mrr_churn", "m_churn"), Agg("mrr_reactivation", "m_react"),
        Agg("net_new_mrr", "m_new + m_react + m_exp - m_contr - m_churn"),
        Agg("customers_new", "c_new"), Agg("customers_churned", "c_churn"),
        Agg("customers_reactivated", "c_react"),
        Agg("customer_churn_rate", "c_churn + flash", "c_s + flash"),
        Agg("customer_retention_rate", "c_s - c_churn", "c_s + flash"),
        Agg("gross_mrr_churn_rate", "m_churn + m_contr", "s"),
        Agg("net_mrr_churn_rate", "m_churn + m_contr - m_exp - m_react", "s"),
        Agg("quick_ratio", quick, "m_churn + m_contr"),
        Agg("nrr_monthly", KEPT_E, "s"),
        Agg("grr_monthly", KEPT_MIN, "s"),
    ]
    if nrr_window == 1:
        aggs += [Agg("nrr", KEPT_E, "s"), Agg("grr", KEPT_MIN, "s")]
    return aggs
