"""A seeded fake billing history (monthly and annual plans, trials, upgrades with prorations, immediate
cancellations, reactivations, EUR, drafts, voids, renewal deals) written straight into canonical tables.

Used by the randomized movement-identity test (a few hundred accounts) and by bench/bench_revenue.py
(20,000 accounts, ~2 million lines).
"""
from __future__ import annotations

import calendar
import random
import sqlite3
from datetime import datetime, timedelta
from typing import Any

SYNCED = "2030-01-01T00:00:00Z"
F = "%Y-%m-%dT%H:%M:%SZ"
PRICES = (1900, 4900, 9900, 29900, 99900)
SEGMENTS = ("smb", "mid-market", "enterprise", None)


def _add_months(dt: datetime, n: int) -> datetime:
    y, m = divmod(dt.year * 12 + dt.month - 1 + n, 12)
    return dt.replace(year=y, month=m + 1, day=min(dt.day, calendar.monthrange(y, m + 1)[1]))


class _Writer:
    def __init__(self, conn: sqlite3.Connection, source: str):
        self.conn, self.source, self.n = conn, source, 0
        self.buf: dict[str, list[tuple[Any, ...]]] = {}
        self.cols = {
            "subscriptions": ("id", "source", "source_id", "source_account_id", "account_id", "synced_at", "status",
                              "plan_id", "plan_name", "interval", "interval_count", "quantity", "currency", "amount",
                              "started_at", "trial_start", "trial_end", "current_period_start",
                              "current_period_end", "cancel_at_period_end", "canceled_at", "ended_at"),
            "invoices": ("id", "source", "source_id", "source_account_id", "account_id", "synced_at",
                         "subscription_id", "status", "currency", "total", "amount_paid", "created_at", "paid_at"),
            "invoice_lines": ("id", "source", "source_id", "source_account_id", "account_id", "synced_at",
                              "invoice_id", "subscription_id", "kind", "plan_id", "quantity", "amount", "currency",
                              "period_start", "period_end", "interval", "interval_count"),
            "deals": ("id", "source", "source_id", "source_account_id", "account_id", "synced_at", "kind", "stage",
                      "amount", "currency", "is_closed", "is_won", "created_at", "close_date"),
        }

    def add(self, table: str, account: str, *values: Any) -> str:
        self.n += 1
        sid = f"{table[:2]}{self.n}"
        rid = f"{self.source}:{sid}"
        self.buf.setdefault(table, []).append((rid, self.source, sid, account, account, SYNCED, *values))
        if len(self.buf[table]) >= 20000:
            self.flush(table)
        return rid

    def flush(self, table: str | None = None) -> None:
        for t in [table] if table else list(self.buf):
            rows = self.buf.pop(t, [])
            if rows:
                cols = self.cols[t]
                self.conn.executemany(f"INSERT INTO [{t}] ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                      rows)


def generate(conn: sqlite3.Connection, accounts: int, months: int, *, items: int = 1, seed: int = 7,
             first: str = "2022-01", source: str = "bill") -> dict[str, Any]:
    """Write the fake history; returns {as_of, first_month}. `items` lines per billing period."""
    rnd = random.Random(seed)
    y, m = map(int, first.split("-"))
    start0 = datetime(y, m, 1)
    end = _add_months(start0, months)
    as_of = end - timedelta(days=12)          # inside the last month: it is to-date
    w = _Writer(conn, source)
    acc_rows = []
    for a in range(accounts):
        acct = f"acct{a:06d}"
        created = start0 + timedelta(days=rnd.randrange(0, months * 30))
        acc_rows.append((acct, f"Account {a}", rnd.choice(SEGMENTS), rnd.choice(("customer", "trial", None)),
                         rnd.choice(("US", "DE", "FR", None)), rnd.choice(("ana", "bo", "cy")), created.strftime(F)))
        currency = "EUR" if rnd.random() < 0.1 else "USD"
        t = created
        while t < end:
            t = _subscription(w, rnd, acct, currency, t, end, items)
            if rnd.random() > 0.3:       # most churned accounts never come back
                break
            t += timedelta(days=rnd.randrange(20, 200))
    conn.executemany("INSERT INTO accounts (account_id, name, segment, lifecycle_stage, country, owner, created_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", acc_rows)
    w.flush()
    return {"as_of": as_of.strftime(F), "first_month": first}


def _subscription(w: _Writer, rnd: random.Random, acct: str, currency: str, t: datetime, end: datetime,
                  items: int) -> datetime:
    """One subscription from `t`; returns the instant it ended (or `end`)."""
    annual = rnd.random() < 0.2
    interval, step = ("year", 12) if annual else ("month", 1)
    prices = [rnd.choice(PRICES) * (10 if annual else 1) for _ in range(items)]
    qty = [rnd.randrange(1, 6) for _ in range(items)]
    plans = [f"plan_{'y' if annual else 'm'}{p}" for p in prices]
    trial_start = trial_end = None
    if rnd.random() < 0.3:
        trial_start, trial_end = t, t + timedelta(days=14)
        t = trial_end
    sub = w.add("subscriptions", acct, "active", plans[0], plans[0].upper(), interval, 1, qty[0], currency,
                prices[0], (trial_start or t).strftime(F), _f(trial_start), _f(trial_end), None, None, 0, None, None)
    rowid = sub
    if trial_start:
        inv = w.add("invoices", acct, sub, "paid", currency, 0, 0, _f(trial_start), _f(trial_start))
        w.add("invoice_lines", acct, inv, sub, "subscription", plans[0], qty[0], 0, currency, _f(trial_start),
              _f(trial_end), interval, 1)
        if rnd.random() < 0.25:    # trial never converts
            _finish(w, rowid, "canceled", trial_end, trial_end)
            return trial_end
    ps = t
    while ps < end:
        pe = _add_months(ps, step)
        last = pe >= end
        inv_status = "draft" if last and rnd.random() < 0.3 else "paid"
        if rnd.random() < 0.01:
            void = w.add("invoices", acct, sub, "void", currency, 0, 0, _f(ps), None)
            w.add("invoice_lines", acct, void, sub, "subscription", plans[0], qty[0], prices[0] * qty[0], currency,
                  _f(ps), _f(pe), interval, 1)
        total = sum(p * q for p, q in zip(prices, qty))
        inv = w.add("invoices", acct, sub, inv_status, currency, total, total if inv_status == "paid" else 0,
                    _f(ps), _f(ps) if inv_status == "paid" else None)
        for i in range(items):
            w.add("invoice_lines", acct, inv, sub, "subscription", plans[i], qty[i], prices[i] * qty[i], currency,
                  _f(ps), _f(pe), interval, 1)
        if rnd.random() < 0.03 * step:                      # mid-period quantity change: credit + charge
            at = ps + timedelta(seconds=rnd.randrange(3600, int((pe - ps).total_seconds()) - 3600))
            share = (pe - at).total_seconds() / (pe - ps).total_seconds()
            new_q = max(1, qty[0] + rnd.choice((-2, -1, 1, 2, 3)))
            pending = rnd.random() < 0.3
            pinv = None if pending else w.add("invoices", acct, sub, "paid", currency, 0, 0, _f(at), _f(at))
            w.add("invoice_lines", acct, pinv, sub, "proration", plans[0], qty[0],
                  -round(prices[0] * qty[0] * share), currency, _f(at), _f(pe), interval, 1)
            w.add("invoice_lines", acct, pinv, sub, "proration", plans[0], new_q,
                  round(prices[0] * new_q * share), currency, _f(at), _f(pe), interval, 1)
            qty[0] = new_q
        if rnd.random() < 0.02 * step:                      # churn
            if rnd.random() < 0.3:                          # immediate cancellation mid-period
                stop = ps + timedelta(days=rnd.randrange(1, 25))
                _finish(w, rowid, "canceled", stop, stop)
                return stop
            _finish(w, rowid, "canceled", ps + timedelta(days=3), pe)
            if annual and rnd.random() < 0.8:
                _deal(w, rnd, acct, currency, pe, won=False)
            return pe
        if annual and pe < end:
            _deal(w, rnd, acct, currency, pe, won=True)
        if rnd.random() < 0.01 and rnd.random() < 0.5:
            w.add("invoice_lines", acct, inv, sub, "one_off", "setup", 1, 50000, currency, _f(ps), _f(ps), None, None)
        ps = pe
    return end


def _deal(w: _Writer, rnd: random.Random, acct: str, currency: str, close: datetime, won: bool) -> None:
    w.add("deals", acct, "renewal", "closedwon" if won else "closedlost", rnd.choice(PRICES) * 120, currency, 1,
          int(won), _f(close - timedelta(days=60)), close.strftime("%Y-%m-%d"))


def _finish(w: _Writer, sub: str, status: str, canceled: datetime, ended: datetime) -> None:
    rows = w.buf.get("subscriptions", [])
    for i in range(len(rows) - 1, -1, -1):
        if rows[i][0] == sub:
            r = list(rows[i])
            r[6], r[-2], r[-1] = status, _f(canceled), _f(ended)
            rows[i] = tuple(r)
            return
    w.conn.execute("UPDATE subscriptions SET status = ?, canceled_at = ?, ended_at = ? WHERE id = ?",
                   (status, _f(canceled), _f(ended), sub))


def _f(dt: datetime | None) -> str | None:
    return dt.strftime(F) if dt else None
