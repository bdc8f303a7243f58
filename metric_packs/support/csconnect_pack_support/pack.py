"""The support metric pack: what it declares and the order it computes in."""
from __future__ import annotations

import logging
from typing import ClassVar

from csconnect import Metric, MetricContext, MetricPack, Option

from . import definitions as defs
from .engine import Aggregator
from .policy import PARAMETERS, Policy
from .surveys import run_ces, run_csat, run_nps
from .tickets import run_tickets

log = logging.getLogger("csconnect.packs.support")


class SupportPack(MetricPack):
    """Support KPIs from `tickets` and `survey_responses`; either table alone is enough."""

    name = "support"
    title = "Support: volume, backlog, reply and resolution times, FCR, reopens, escalations, CSAT, NPS, CES"
    # A survey tool alone (no helpdesk) still gives CSAT/NPS/CES; tickets alone give the ticket metrics.
    requires: ClassVar[tuple[str | tuple[str, ...], ...]] = (("tickets", "survey_responses"),)
    parameters: ClassVar[tuple[Option, ...]] = PARAMETERS
    metrics: ClassVar[tuple[Metric, ...]] = defs.metrics(Policy.from_params({}))

    def definitions(self) -> tuple[Metric, ...]:
        """The metrics as the configured parameters compute them."""
        return defs.metrics(Policy.from_params(self.params))

    def run(self, ctx: MetricContext) -> None:
        policy = Policy.from_params(self.params)
        self._warn_unknown_sources(ctx, policy)
        agg = Aggregator(ctx, policy.account_grains)
        done = []
        try:
            if run_tickets(ctx, agg, policy):
                done.append("tickets")
            if run_csat(ctx, agg, policy):
                done.append("csat")
            if run_nps(ctx, agg, policy):
                done.append("nps")
            headline = run_ces(ctx, agg, policy)
            if headline:
                done.append("ces")
        finally:
            agg.close()
        log.info("support: computed %s", ", ".join(done) or "nothing (no ticket or answer counts)")
        # The CES definition names the scale the data chose; restate it now that it is known.
        ctx.db.executemany("UPDATE metric_definitions SET definition = ? WHERE metric = ? AND pack = ?",
                           [(text, name, self.name) for name, text in defs.texts(policy, headline).items()])

    @staticmethod
    def _warn_unknown_sources(ctx: MetricContext, policy: Policy) -> None:
        for table, names, key in (("tickets", policy.ticket_sources, "ticket_sources"),
                                  ("survey_responses", policy.survey_sources, "survey_sources")):
            if names:
                known = {r[0] for r in ctx.db.execute(f"SELECT DISTINCT source FROM {table}")}
                missing = [n for n in names if n not in known]
                if missing:
                    log.warning("packs.support.%s: no %s from %s", key, table, ", ".join(missing))
