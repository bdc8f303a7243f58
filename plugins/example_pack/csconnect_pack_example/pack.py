"""The example metric pack: how many survey answers came in, and what share of NPS answers are promoters.

Both metrics are written for every period from the first answer to the as-of date, for all
accounts and by every account dimension (segment, lifecycle stage, country, owner, cohort),
and per account. The promoter share keeps its numerator and denominator, so any segment can
be re-aggregated correctly.
"""
from __future__ import annotations

from csconnect import Metric, MetricContext, MetricPack, Option

# One row per account that answered in [start, end), up to the as-of instant.
PER_ACCOUNT = """
SELECT account_id,
       count(*) AS responses,
       sum(kind = 'nps' AND score IS NOT NULL AND coalesce(scale_max, 10) = 10) AS nps_answers,
       sum(kind = 'nps' AND score IS NOT NULL AND coalesce(scale_max, 10) = 10
           AND score >= :promoter_min) AS promoters
FROM survey_responses
WHERE responded_at >= :start AND responded_at < :end AND responded_at <= :as_of
GROUP BY account_id
"""


def define_metrics(promoter_min: int = 9) -> tuple[Metric, ...]:
    """The pack's metrics, their definitions stating the promoter threshold in force."""
    return (
        Metric("survey_responses_count", "Survey responses", "count", "up",
               "Survey answers of every kind (NPS, CSAT, CES, other) received in the period: the number of "
               "survey_responses rows whose responded_at falls in [period start, period end), up to the "
               "as-of instant. Segments and accounts add up to the total."),
        Metric("nps_promoter_share", "NPS promoter share", "percent", "up",
               "Share of NPS answers that are promoters: NPS responses (0-10 scale, with a score) in the "
               f"period scoring at least {promoter_min} (parameter promoter_min, default 9) / all NPS responses "
               "with a score in the period. Every answer counts, several from one person included. Stored as "
               "a fraction with numerator (promoters) and denominator (NPS answers); empty when there were none."),
    )


class ExamplePack(MetricPack):
    """Survey volume and NPS promoter share (an example metric pack)."""

    name = "example"
    title = "Survey volume and promoter share (example pack)"
    requires = ("survey_responses",)
    parameters = (
        Option("promoter_min", int, 9, "lowest NPS score (0-10) that counts as a promoter", min=0, max=10),
        Option("grain", str, "month", "the period the metrics are computed for",
               choices=("week", "month", "quarter")),
    )
    metrics = define_metrics()

    def definitions(self) -> tuple[Metric, ...]:
        """The metrics as this instance computes them (csconnect writes these to metric_definitions)."""
        return define_metrics(self.params.get("promoter_min", 9))

    def run(self, ctx: MetricContext) -> None:
        first = ctx.query("SELECT min(responded_at) AS first FROM survey_responses WHERE responded_at <= ?",
                          [ctx.as_of_ts])[0]["first"]
        if first is None:     # every answer is after the as-of date
            return
        dims = ctx.dimensions()
        for period in ctx.periods(self.params["grain"], first):
            rows = ctx.query(PER_ACCOUNT, {"start": period.start_ts, "end": period.end_ts, "as_of": ctx.as_of_ts,
                                           "promoter_min": self.params["promoter_min"]})
            ctx.rollup("survey_responses_count", period,
                       [(r["account_id"], r["responses"], None) for r in rows], ratio=False, dims=dims)
            ctx.rollup("nps_promoter_share", period,
                       [(r["account_id"], r["promoters"], r["nps_answers"]) for r in rows], ratio=True, dims=dims)
            linked = [r for r in rows if r["account_id"]]
            ctx.write_account_metrics([(r["account_id"], "survey_responses_count", period, r["responses"])
                                       for r in linked])
            ctx.write_account_metrics([(r["account_id"], "nps_promoter_share", period,
                                        r["promoters"] / r["nps_answers"])
                                       for r in linked if r["nps_answers"]])
