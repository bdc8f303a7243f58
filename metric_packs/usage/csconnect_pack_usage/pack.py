"""The usage metric pack: DAU/WAU/MAU, stickiness, seats, adoption, usage rate, activation, usage trend."""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from csconnect import Metric, MetricPack, MetricsError
from csconnect.metrics import MetricContext, Period

from .activity import Activity
from .billing import Billing
from .days import dn, last_complete_day, month_weeks
from .definitions import DEFAULTS, METRICS, PARAMETERS, metrics

log = logging.getLogger("csconnect.packs.usage")
ACTIVATION_WEEKS = (1, 4, 12)
Rows = list[tuple[Any, float, float | None]]


class UsagePack(MetricPack):
    name = "usage"
    title = "Product usage"
    requires = ("usage_daily",)
    uses_packs = ("revenue",)
    parameters = PARAMETERS
    metrics = METRICS

    def definitions(self) -> tuple[Metric, ...]:
        """The metrics with the active parameter values stated in their titles and definitions."""
        return metrics({k: v for k, v in self.params.items() if k in DEFAULTS})

    def run(self, ctx: MetricContext) -> None:
        p = {**DEFAULTS, **self.params}
        if p["usage_trend_days"] < 30:      # the coverage islands in activity.py rely on it
            raise MetricsError(f"usage: parameter usage_trend_days must be at least 30, got {p['usage_trend_days']}")
        act = Activity(ctx.db, min_events=p["active_min_events"], trend_days=p["usage_trend_days"])
        bill = Billing(ctx.db, ctx.has_rows)
        try:
            _Run(ctx, p, act, bill).run()
        finally:
            act.drop()
            bill.drop()


class _Run:
    """One computation: scan usage, build billing, then write month by month."""

    def __init__(self, ctx: MetricContext, params: dict[str, Any], act: Activity, bill: Billing):
        self.ctx, self.p, self.act, self.bill = ctx, params, act, bill
        self.as_of_day = ctx.as_of.date()
        self.done = last_complete_day(ctx.as_of)

    def run(self) -> None:
        ctx, act = self.ctx, self.act
        first = act.first_day(self.as_of_day)
        if first is None:
            log.warning("usage: no usage_daily rows on or before %s", self.as_of_day)
            return
        self.first = first
        months = ctx.periods("month", first)
        weeks = ctx.periods("week", first)
        for m in months:
            act.scan_month(m.key, m.start, m.last_day(self.as_of_day))
        week_anchor = {w.key: dn(w.last_day(self.as_of_day)) for w in weeks}
        month_anchor = {m.key: dn(m.last_day(self.as_of_day)) for m in months}
        act.finish(set(week_anchor.values()) | set(month_anchor.values()))
        self.bill.build([(m.key, self._instant(m)) for m in months], self.p["seat_plans"])
        mode = self._customer_mode()
        log.info("usage: customer accounts from %s", mode)
        self.bill.load_customers(mode)
        self.dims = ctx.dimensions()
        self.extra = {"plan": self.bill.plans()}
        new_users = defaultdict(list)
        for mon, a, n in act.new_users():
            new_users[mon].append((a, n))
        users_so_far: dict[str, int] = defaultdict(int)
        for m in months:
            for a, n in new_users.get(m.key, ()):
                users_so_far[a] += n
            self._month(m, users_so_far, month_anchor[m.key])
        self._activation(months)
        self._trend_history(weeks, week_anchor)

    def _instant(self, m: Period) -> str:
        if m.end > self.as_of_day:
            return self.ctx.as_of_ts
        return f"{(m.end - timedelta(days=1)).isoformat()}T23:59:59Z"

    def _customer_mode(self) -> str:
        mode = self.p["customers_from"]
        if mode != "auto":
            return mode
        if self.bill.revenue_ran():
            return "revenue"
        return "billing" if self.bill.has_data else "usage"

    # -- one month -----------------------------------------------------------------
    def _month(self, m: Period, users_so_far: dict[str, int], anchor: int) -> None:
        ctx, act, p = self.ctx, self.act, self.p
        days = (m.last_day(self.as_of_day) - m.start).days + 1
        weeks = month_weeks(m.start, m.end, self.done)
        billing = self.bill.month(m.key, p["account_seats_fallback"])
        active = {a: row for a, *row in act.month_rows(m.key)}            # a -> [mau, user_days, ses, secs]
        weekly = {a: (users, met) for a, users, met in act.week_rows(
            weeks, p["usage_rate_min_users"], p["usage_rate_min_days"], p["usage_rate_rule"])}
        acct = _acct

        dau = [(acct(a), r[1] / days, None) for a, r in active.items()]
        mau = {a: r[0] for a, r in active.items()}
        n_weeks = len(weeks)
        wau = {a: users / n_weeks for a, (users, _) in weekly.items()} if n_weeks else {}
        self._rollup("dau", m, dau, ratio=False)
        self._rollup("mau", m, [(acct(a), n, None) for a, n in mau.items()], ratio=False)
        self._rollup("dau_mau", m, [(acct(a), r[1] / days, r[0]) for a, r in active.items()], ratio=True)
        if n_weeks:
            self._rollup("wau", m, [(acct(a), v, None) for a, v in wau.items()], ratio=False)
            self._rollup("wau_mau", m, [(acct(a), wau.get(a, 0.0), mau.get(a, 0))
                                        for a in set(wau) | set(mau)], ratio=True)
        else:
            ctx.write_values([("wau", m, None, None, None), ("wau_mau", m, None, None, None)])
        self._rollup("adoption_rate", m, [(acct(a), mau.get(a, 0), n) for a, n in users_so_far.items()],
                     ratio=True)
        self._rollup("avg_session_seconds", m, [(acct(a), r[3] or 0, r[2] or 0) for a, r in active.items()],
                     ratio=True)
        customers = {a: seats for a, (cust, seats) in billing.items() if cust}
        with_seats = {a: s for a, s in customers.items() if s > 0}
        self._rollup("seats", m, [(a, s, None) for a, s in with_seats.items()], ratio=False)
        self._rollup("seat_utilisation", m, [(a, mau.get(a, 0), s) for a, s in with_seats.items()], ratio=True)
        met = {a: v[1] for a, v in weekly.items()}
        self._rollup("usage_rate", m, [(a, met.get(a, 0), n_weeks) for a in customers], ratio=True)
        self._features(m, [a for a, r in active.items() if a and r[0]])
        trend = act.trend(anchor)
        self._rollup("usage_trend", m, [(a, cur, prev) for a, cur, prev in trend], ratio=True)

        per_account: list[tuple[str, str, Period, float | None]] = []
        for a, r in active.items():
            if a:
                per_account += [(a, "dau", m, r[1] / days), (a, "mau", m, r[0])]
                if r[2]:
                    per_account.append((a, "avg_session_seconds", m, r[3] / r[2]))
        per_account += [(a, "wau", m, v) for a, v in wau.items() if a]
        per_account += [(a, "adoption_rate", m, mau.get(a, 0) / n) for a, n in users_so_far.items() if a and n]
        per_account += [(a, "seats", m, s) for a, s in with_seats.items()]
        per_account += [(a, "seat_utilisation", m, mau.get(a, 0) / s) for a, s in with_seats.items()]
        if n_weeks:
            per_account += [(a, "usage_rate", m, met.get(a, 0) / n_weeks) for a in customers]
        ctx.write_account_metrics(per_account)

    def _features(self, m: Period, active_accounts: list[str]) -> None:
        n = len(active_accounts)
        rows: list[tuple[Any, ...]] = []
        for feature, used in self.act.features(m.key):
            rows.append(("feature_adoption", m, used / n if n else None, used, n, "feature", feature))
        used_any = self.act.feature_accounts(m.key)
        rows.append(("feature_adoption", m, used_any / n if n else None, used_any, n))
        self.ctx.write_values(rows)

    def _rollup(self, metric: str, m: Period, rows: Rows, *, ratio: bool) -> None:
        self.ctx.rollup(metric, m, rows, ratio=ratio, dims=self.dims, extra=self.extra)

    # -- cohorts and history -----------------------------------------------------------
    def _activation(self, months: list[Period]) -> None:
        """activation_week_k by cohort month of the first paid day, over weeks k that have fully elapsed."""
        paid = self.bill.first_paid(self.p["activation_start"])
        if not paid:
            log.info("usage: no first paid instants (no billing data); activation cohorts skipped")
            return
        done, first = dn(self.done), dn(self.first)
        ranges: list[tuple[str, int, int, int, str]] = []   # account, k, start, end, cohort month
        for a, instant in paid:
            day = date.fromisoformat(instant[:10])
            start = dn(day)
            if start < first:
                continue
            for k in ACTIVATION_WEEKS:
                lo = start + 7 * (k - 1)
                if lo + 6 <= done:
                    ranges.append((a, k, lo, lo + 6, day.replace(day=1).isoformat()))
        hits = self.act.active_in([(a, lo, hi) for a, _, lo, hi, _ in ranges])
        by: dict[tuple[int, str], Rows] = defaultdict(list)
        for a, k, lo, _, cohort in ranges:
            by[(k, cohort)].append((a, 1 if (a, lo) in hits else 0, 1))
        for m in months:
            for k in ACTIVATION_WEEKS:
                self._rollup(f"activation_week_{k}", m, by.get((k, m.key), []), ratio=True)

    def _trend_history(self, weeks: list[Period], anchors: dict[str, int]) -> None:
        """usage_trend per account: weekly as of each week's last day, and at the as-of date."""
        for week in weeks:
            self.ctx.write_account_metrics(
                (a, "usage_trend", week, cur / prev if prev else None)
                for a, cur, prev in self.act.trend(anchors[week.key]))
        today = Period("day", self.as_of_day, self.as_of_day + timedelta(days=1))
        self.ctx.write_account_metrics(
            (a, "usage_trend", today, cur / prev if prev else None)
            for a, cur, prev in self.act.trend(dn(self.as_of_day)))


def _acct(a: str) -> str | None:
    """'' (usage with no resolved account) -> None, which rollup files under `(none)`."""
    return a or None
