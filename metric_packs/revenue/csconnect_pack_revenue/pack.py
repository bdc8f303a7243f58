"""The revenue metric pack: MRR from invoice lines, its movements, and the rates built on them."""
from __future__ import annotations

import logging
import time
from typing import Any

from csconnect import Metric, MetricPack, MetricsError

from . import cohorts, movements, mrr, pipeline
from .definitions import METRICS, PARAMETERS, definition, title
from .rollup import build_dims, rollup

log = logging.getLogger("csconnect.packs.revenue")

_MINIMUMS = {"nrr_window": 1, "clv_churn_months": 1, "trial_conversion_days": 0, "renewal_min_term_months": 1,
             "renewal_pipeline_days": 1, "past_due_grace_days": 0}


class RevenuePack(MetricPack):
    """MRR, ARR, customers, movements, churn and retention rates, NRR/GRR, quick ratio, CLV, trials, renewals."""

    name = "revenue"
    title = "Revenue"
    requires = (("invoice_lines", "subscriptions"),)
    parameters = PARAMETERS
    metrics = METRICS

    def settings(self) -> dict[str, Any]:
        p = {o.name: self.params.get(o.name, o.default) for o in PARAMETERS}
        for key, low in _MINIMUMS.items():
            if p[key] is not None and p[key] < low:
                raise MetricsError(f"revenue: parameter {key} must be at least {low}, got {p[key]} "
                                   f"(set it under [packs.revenue] in csconnect.toml)")
        return p

    def run(self, ctx: Any) -> None:
        p = self.settings()
        db = ctx.db
        mrr.drop_temp(db)
        timer = _Timer()
        try:
            periods = ctx.periods("month", mrr.first_month(db, ctx.as_of))
            n = len(periods)
            mrr.build_months(ctx, periods)
            mrr.build_fx(ctx, p["renewal_pipeline_days"])
            mrr.build_subs(ctx, p["past_due_grace_days"])
            mrr.build_extra(ctx, p["proration_snap"])
            timer.lap("lines")
            mrr.build_account_mrr(ctx)
            timer.lap("account mrr")
            movements.build_movements(ctx, n, p["same_period_new_churn"] == "include")
            movements.write_account_rows(ctx, periods)
            timer.lap("movements")
            build_dims(db)
            kept = rollup(ctx, periods, "temp.rev_w", movements.BASE,
                          movements.movement_aggs(p["quick_ratio_include_reactivation"], p["nrr_window"]),
                          keep=("arpa", "customer_churn_rate"))
            if p["nrr_window"] != 1:
                rollup(ctx, periods, cohorts.build_nrr(db, p["nrr_window"], n), cohorts.NRR_BASE, cohorts.NRR_AGGS)
            cohorts.write_clv(ctx, periods, kept, p["clv_churn_months"])
            timer.lap("rollups")
            rollup(ctx, periods, cohorts.build_trials(ctx, p["trial_conversion_days"]), cohorts.TRIAL_BASE,
                   cohorts.TRIAL_AGGS)
            terms = (cohorts.build_terms(ctx, p["renewal_min_term_months"]), cohorts.RENEWAL_SUB_BASE,
                     cohorts.RENEWAL_SUB_AGGS)
            deals = (cohorts.build_deals(ctx), cohorts.RENEWAL_DEAL_BASE, cohorts.RENEWAL_DEAL_AGGS)
            rollup(ctx, periods, *(terms if p["renewal_rate_basis"] == "subscriptions" else deals))
            rollup(ctx, periods, *terms, relabel=("source", "subscriptions"))
            rollup(ctx, periods, *deals, relabel=("source", "deals"))
            rollup(ctx, periods, cohorts.build_repeat(ctx), cohorts.REPEAT_BASE, cohorts.REPEAT_AGGS, cumulative=True)
            timer.lap("cohorts")
            pipeline.write_pipeline(ctx, p["renewal_pipeline_days"], p["renewal_min_term_months"], n - 1)
            timer.lap("pipeline")
            log.info("revenue: %d months; %s", n, timer)
        finally:
            mrr.drop_temp(db)

    def definitions(self) -> tuple[Metric, ...]:
        """The metrics with the active parameter values stated in their titles and definitions."""
        p = self.params
        return tuple(Metric(m.name, title(m.name, p), m.unit, m.direction, definition(m.name, p))
                     for m in self.metrics)


class _Timer:
    """Wall and CPU seconds per step, for the log."""

    def __init__(self) -> None:
        self.start = self.last = (time.monotonic(), time.process_time())
        self.laps: list[str] = []

    def lap(self, name: str) -> None:
        now = (time.monotonic(), time.process_time())
        self.laps.append(f"{name} {now[0] - self.last[0]:.2f}s (cpu {now[1] - self.last[1]:.2f}s)")
        self.last = now

    def __str__(self) -> str:
        return (", ".join(self.laps) + f"; total {self.last[0] - self.start[0]:.2f}s "
                f"(cpu {self.last[1] - self.start[1]:.2f}s)")
