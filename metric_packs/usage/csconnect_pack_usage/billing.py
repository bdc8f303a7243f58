"""What the usage pack needs from billing: customers, seats and plan at each month end, first paid day.

Small tables (lines, subscriptions, invoices): a few set-based queries into temp
tables keyed by month, read back one month at a time.

* Lines in service at instant t: `period_start <= t < period_end`, kind
  `subscription` or `proration`, invoice not `void` (pending and draft count),
  subscription not ended by t — the revenue pack's rule. A connection with no
  invoice lines at all falls back to its subscriptions' current state
  (started by t, not ended by t, trial over, not trialing).
* Plan key of a line: its `plan_id`, else its subscription's `plan_id` or
  `plan_name`, else its `product` (the revenue pack's key).
* Seat-priced plan: a plan key or product listed in `seat_plans`, or (when that
  is empty) a plan key that some subscription line or subscription bills with
  quantity > 1. Seats = Σ quantity of its lines in service, a proration credit
  (amount < 0) subtracting its quantity.
* Plan of an account (the `plan` dimension, static per account like the revenue pack's): the plan of
  its largest paying subscription line at the last month end it had one, named by
  `subscriptions.plan_name` where a subscription has that `plan_id`; else its latest subscription's plan.
"""
from __future__ import annotations

import sqlite3
from typing import Any, Iterable, Sequence

TABLES = ("usage_me", "usage_seatplan", "usage_lines", "usage_bill", "usage_cust")
REVENUE_MRR = "mrr"   # the revenue pack's per-account MRR in account_metrics (grain month)

_LINES_AT = """
    SELECT me.mon AS mon, l.account_id AS a, l.kind AS kind,
           coalesce(l.plan_id, s.plan_id, s.plan_name, l.product) AS k, coalesce(l.product, s.product) AS pr,
           l.quantity AS q, l.amount AS amt
    FROM invoice_lines l CROSS JOIN usage_me me
    LEFT JOIN invoices i ON i.id = l.invoice_id
    LEFT JOIN subscriptions s ON s.id = l.subscription_id
    WHERE me.t >= l.period_start AND me.t < l.period_end AND coalesce(l.account_id, '') <> ''
      AND l.kind IN ('subscription', 'proration') AND (i.status IS NULL OR i.status <> 'void')
      AND (s.ended_at IS NULL OR s.ended_at > me.t)
    UNION ALL
    SELECT me.mon, s.account_id, 'subscription', coalesce(s.plan_id, s.plan_name, s.product), s.product,
           s.quantity,
           coalesce(s.mrr, s.amount)
    FROM subscriptions s CROSS JOIN usage_me me
    WHERE s.source NOT IN (SELECT source FROM invoice_lines) AND coalesce(s.account_id, '') <> ''
      AND s.started_at <= me.t AND (s.ended_at IS NULL OR s.ended_at > me.t) AND s.status <> 'trialing'
      AND (s.trial_end IS NULL OR s.trial_end <= me.t)
"""


class Billing:
    """Temp tables usage_bill (month, account: seats, paying) and usage_cust (month, customer account)."""

    def __init__(self, db: sqlite3.Connection, has_table: Any):
        self.db = db
        self.has_lines = has_table("invoice_lines")
        self.has_subs = has_table("subscriptions")
        self.has_invoices = has_table("invoices")
        self.drop()

    @property
    def has_data(self) -> bool:
        return self.has_lines or self.has_subs

    def drop(self) -> None:
        for name in TABLES:
            self.db.execute(f"DROP TABLE IF EXISTS temp.{name}")

    def build(self, month_ends: Sequence[tuple[str, str]], seat_plans: Iterable[str]) -> None:
        """month_ends: (month key, instant 'YYYY-MM-DDTHH:MM:SSZ') — month end, or the as-of instant."""
        db = self.db
        db.execute("CREATE TEMP TABLE usage_me (t TEXT PRIMARY KEY, mon TEXT NOT NULL)")
        db.executemany("INSERT INTO usage_me (mon, t) VALUES (?, ?)", month_ends)
        db.execute("CREATE TEMP TABLE usage_seatplan (k TEXT PRIMARY KEY)")
        db.execute("CREATE TEMP TABLE usage_bill (mon TEXT NOT NULL, a TEXT NOT NULL, seats INTEGER, "
                   "paying INTEGER, PRIMARY KEY (mon, a)) WITHOUT ROWID")
        db.execute("CREATE TEMP TABLE usage_cust (mon TEXT NOT NULL, a TEXT NOT NULL, PRIMARY KEY (mon, a)) "
                   "WITHOUT ROWID")
        listed = [str(p) for p in seat_plans if p not in (None, "")]
        if listed:
            db.executemany("INSERT OR IGNORE INTO usage_seatplan VALUES (?)", [(p,) for p in listed])
        else:
            if self.has_lines:
                db.execute("INSERT OR IGNORE INTO usage_seatplan SELECT coalesce(l.plan_id, s.plan_id, s.plan_name, "
                       "l.product) AS k FROM invoice_lines l LEFT JOIN subscriptions s ON s.id = l.subscription_id "
                       "WHERE l.kind = 'subscription' AND l.quantity > 1 AND k IS NOT NULL")
            if self.has_subs:
                db.execute("INSERT OR IGNORE INTO usage_seatplan SELECT coalesce(plan_id, plan_name, product) AS k "
                           "FROM subscriptions WHERE quantity > 1 AND k IS NOT NULL")
        if not self.has_data:
            return
        db.execute(f"CREATE TEMP TABLE usage_lines AS {_LINES_AT}")
        db.execute("""
            INSERT INTO usage_bill
            SELECT mon, a,
                   max(0, coalesce(sum(CASE WHEN k IN (SELECT k FROM usage_seatplan)
                                              OR pr IN (SELECT k FROM usage_seatplan)
                       THEN coalesce(q, 1) * (CASE WHEN kind = 'proration' AND amt < 0 THEN -1 ELSE 1 END)
                       END), 0)),
                   max(CASE WHEN kind = 'subscription' AND amt > 0 THEN 1 ELSE 0 END)
            FROM usage_lines GROUP BY mon, a""")

    def plans(self) -> dict[str, str]:
        """account -> plan, for the `plan` dimension (see the module docstring)."""
        if not self.has_data:
            return {}
        # SQLite: a bare column beside max() comes from the row holding the maximum.
        out = dict(self.db.execute("""
            SELECT account_id, coalesce(plan_id, plan_name, product) FROM (
                SELECT account_id, plan_id, plan_name, product, max(coalesce(started_at, trial_start, ''))
                FROM subscriptions WHERE coalesce(account_id, '') <> '' GROUP BY account_id)""").fetchall())
        out.update(self.db.execute("""
            SELECT a, k FROM (
                SELECT l.a, l.k, max(l.amt) FROM usage_lines l
                JOIN (SELECT a, max(mon) AS mon FROM usage_lines WHERE kind = 'subscription' AND amt > 0
                      GROUP BY a) last ON last.a = l.a AND last.mon = l.mon
                WHERE l.kind = 'subscription' AND l.amt > 0 GROUP BY l.a)""").fetchall())
        names = dict(self.db.execute("SELECT plan_id, max(plan_name) FROM subscriptions WHERE plan_id IS NOT NULL "
                                     "AND coalesce(plan_name, '') <> '' GROUP BY plan_id").fetchall())
        return {a: names.get(k, k) for a, k in out.items() if k is not None}

    def revenue_ran(self) -> bool:
        return self.db.execute("SELECT 1 FROM account_metrics WHERE metric = ? AND grain = 'month' LIMIT 1",
                               (REVENUE_MRR,)).fetchone() is not None

    def load_customers(self, mode: str) -> None:
        """Customer accounts per month: revenue (account MRR > 0), billing (a paying line), usage (seen)."""
        if mode == "revenue":
            self.db.execute("INSERT OR IGNORE INTO usage_cust SELECT me.mon, m.account_id FROM account_metrics m "
                            "JOIN usage_me me ON me.mon = m.period_start WHERE m.metric = ? AND m.grain = 'month' "
                            "AND m.value > 0", (REVENUE_MRR,))
        elif mode == "billing":
            self.db.execute("INSERT OR IGNORE INTO usage_cust SELECT mon, a FROM usage_bill WHERE paying = 1")
        else:   # accounts with any usage up to the month end
            self.db.execute("INSERT OR IGNORE INTO usage_cust SELECT me.mon, s.a FROM (SELECT a, min(mon) AS m0 "
                            "FROM usage_users WHERE a <> '' GROUP BY a) s JOIN usage_me me ON me.mon >= s.m0")

    def month(self, mon: str, account_seats: bool) -> dict[str, tuple[bool, int]]:
        """account -> (customer at month end, seats) for every account with billing or customer status."""
        seats_col = "coalesce(nullif(b.seats, 0), x.seats, 0)" if account_seats else "coalesce(b.seats, 0)"
        out: dict[str, tuple[bool, int]] = {}
        for a, cust, seats in self.db.execute(f"""
                SELECT k.a, c.a IS NOT NULL, {seats_col}
                FROM (SELECT a FROM usage_bill WHERE mon = :m UNION SELECT a FROM usage_cust WHERE mon = :m) k
                LEFT JOIN usage_bill b ON b.mon = :m AND b.a = k.a
                LEFT JOIN usage_cust c ON c.mon = :m AND c.a = k.a
                LEFT JOIN accounts x ON x.account_id = k.a AND x.seats > 0""", {"m": mon}):
            out[a] = (bool(cust), int(seats or 0))
        return out

    def first_paid(self, start: str) -> list[tuple[str, str]]:
        """(account, first paid instant): `first_mrr` = the start of the first paying subscription line
        (or subscription, for a connection without lines); `first_payment` = the first invoice paid with
        amount_paid > 0."""
        if start == "first_payment":
            if not self.has_invoices:
                return []
            return self.db.execute(
                "SELECT account_id, min(paid_at) FROM invoices WHERE coalesce(account_id, '') <> '' "
                "AND amount_paid > 0 AND paid_at IS NOT NULL AND status <> 'void' GROUP BY account_id").fetchall()
        parts = []
        if self.has_lines:
            parts.append("SELECT l.account_id AS a, l.period_start AS t FROM invoice_lines l "
                         "LEFT JOIN invoices i ON i.id = l.invoice_id WHERE l.kind = 'subscription' AND l.amount > 0 "
                         "AND (i.status IS NULL OR i.status <> 'void') AND l.period_start IS NOT NULL "
                         "AND coalesce(l.account_id, '') <> ''")
        if self.has_subs:
            src = "AND source NOT IN (SELECT source FROM invoice_lines) " if self.has_lines else ""
            parts.append("SELECT account_id, coalesce(trial_end, started_at) FROM subscriptions "
                         f"WHERE coalesce(account_id, '') <> '' {src}AND status <> 'trialing' "
                         "AND coalesce(mrr, amount, 0) > 0 AND coalesce(trial_end, started_at) IS NOT NULL "
                         "AND (ended_at IS NULL OR ended_at > coalesce(trial_end, started_at))")
        if not parts:
            return []
        return self.db.execute(f"SELECT a, min(t) FROM ({' UNION ALL '.join(parts)}) GROUP BY a").fetchall()
