"""Survey metrics: CSAT, NPS (with its interval in `nps_detail`) and CES (per scale)."""
from __future__ import annotations

from typing import Any

from csconnect import NONE_SEGMENT, MetricContext, Period

from .engine import Aggregator, Key, Output, by_period
from .policy import Policy, parse_scale
from .sql import ces_sql, csat_sql, nps_sql, period_sql
from .stats import nps_interval

NPS_DETAIL = "nps_detail"
NPS_DETAIL_SQL = f"""CREATE TABLE IF NOT EXISTS {NPS_DETAIL} (
    grain TEXT NOT NULL, period_start TEXT NOT NULL, period_end TEXT NOT NULL,
    segment_by TEXT NOT NULL, segment TEXT NOT NULL,
    n INTEGER NOT NULL, promoters INTEGER NOT NULL, passives INTEGER NOT NULL, detractors INTEGER NOT NULL,
    nps REAL, se REAL, ci_low REAL, ci_high REAL, small_sample INTEGER NOT NULL, computed_at TEXT,
    PRIMARY KEY (grain, period_start, segment_by, segment))"""


def _first(ctx: MetricContext, base: tuple[str, dict[str, Any]]) -> str | None:
    sql, params = base
    return ctx.db.execute(f"WITH base AS ({sql}) SELECT min(responded_at) FROM base", params).fetchone()[0]


def run_csat(ctx: MetricContext, agg: Aggregator, policy: Policy) -> bool:
    base = csat_sql(policy, ctx.as_of_ts)
    first = _first(ctx, base)
    if first is None:
        return False
    for grain in policy.grains:
        agg.sums(base, "responded_at", ["satisfied", "1"], [Output("csat", 0, 1)], grain, ctx.periods(grain, first))
    return True


def run_nps(ctx: MetricContext, agg: Aggregator, policy: Policy) -> bool:
    """NPS by period; every row's n, promoters, passives, detractors and 95 % interval go to nps_detail."""
    ctx.db.execute(NPS_DETAIL_SQL)
    ctx.db.execute(f"DELETE FROM {NPS_DETAIL}")
    found = False
    for grain in policy.grains:
        base = nps_sql(policy, ctx.as_of_ts, grain)
        first = _first(ctx, base)
        if first is None:
            continue
        found = True

        def detail(period: Period, segments: dict[Key, list[float]]) -> None:
            rows = []
            end = period.last_day(ctx.as_of.date()).isoformat()
            for (seg_by, seg), (_, n, promoters, passives, detractors) in segments.items():
                n = int(n)
                stats = nps_interval(int(promoters), int(detractors), n)
                nps, se, low, high = stats if stats else (None, None, None, None)
                rows.append((period.grain, period.key, end, seg_by, NONE_SEGMENT if seg is None else str(seg), n,
                             int(promoters), int(passives), int(detractors), nps, se, low, high,
                             int(n < policy.nps_small_sample), ctx.computed_at))
            ctx.db.executemany(f"INSERT OR REPLACE INTO {NPS_DETAIL} VALUES ({', '.join('?' * 15)})", rows)

        agg.sums(base, "responded_at", ["100.0 * (promoter - detractor)", "1", "promoter", "passive", "detractor"],
                 [Output("nps", 0, 1)], grain, ctx.periods(grain, first), on_segments=detail)
    return found


def ces_scales(ctx: MetricContext, base: tuple[str, dict[str, Any]]) -> list[tuple[str, int]]:
    """The CES scales answered, most answers first (ties: larger scale, then label)."""
    sql, params = base
    rows = ctx.db.execute(f"WITH base AS ({sql}) SELECT scale, count(*) FROM base GROUP BY scale", params).fetchall()
    return sorted(rows, key=lambda r: (-r[1], -_points(r[0]), r[0]))


def _points(label: str) -> float:
    lo, hi, _ = parse_scale("ces_headline_scale", label)
    return hi - lo


def run_ces(ctx: MetricContext, agg: Aggregator, policy: Policy) -> str | None:
    """CES and easy share: headline scale for `all` and dimensions, every scale as segment_by `scale`.

    Returns the headline scale label (None when no CES answer counts).
    """
    sql, params = ces_sql(policy, ctx.as_of_ts)
    scales = ces_scales(ctx, (sql, params))
    if not scales:
        return None
    headline = policy.ces_headline or scales[0][0]
    first = _first(ctx, (sql, params))
    outputs = [Output("ces", 0, 1), Output("ces_easy_share", 2, 1)]
    for grain in policy.grains:
        periods = ctx.periods(grain, first)
        agg.sums((sql, dict(params, headline=headline)), "responded_at", ["score", "1", "easy"], outputs, grain,
                 periods, where="scale = :headline")
        per_scale = (f"WITH base AS ({sql}) SELECT {period_sql(grain, 'responded_at')} AS p, scale, total(score), "
                     f"count(*), total(easy) FROM base GROUP BY 1, 2 ORDER BY 1")
        for period, rows in by_period(periods, ctx.db.execute(per_scale, params)):
            ctx.write_values(out.row(period, r[1:], ("scale", r[0])) for r in rows for out in outputs)
    return headline
