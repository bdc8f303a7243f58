"""The health metric pack: a 0-100 score per account, its weekly history, trend, reasons and band counts."""
from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from datetime import date
from typing import Any, Iterator, Mapping

from csconnect import NONE_SEGMENT, Metric, MetricContext, MetricPack, Period

from . import definitions
from .catalogue import INPUTS
from .combine import Combined, caps_hit, combine, points_lost
from .engine import Engine
from .rules import SettingError
from .settings import PARAMETERS, Profile, Settings, parse
from .sources import Sources, add_months, instants
from .words import describe

log = logging.getLogger("csconnect.packs.health")
HEALTH_COLUMNS = ("account_id", "as_of", "score", "band", "trend", "components", "drivers")
MIN_DRIVER_POINTS = 1.0          # an input costing less than one score point is not a reason
BANDS = ("green", "yellow", "red")
DIMENSIONS = ("segment", "lifecycle_stage", "country", "owner", "cohort")   # as MetricContext.dimensions()


class HealthPack(MetricPack):
    """Customer health: a 0-100 score per account from usage, support and business inputs."""

    name = "health"
    title = "Customer health score"
    requires = ("accounts",)
    uses_packs = ("revenue", "support", "usage")
    parameters = PARAMETERS
    metrics = definitions.metrics(parse({}))

    @classmethod
    def validate(cls, params: Mapping[str, Any]) -> None:
        """Groups, inputs, weights, rules, caps, bands and profiles, checked before any pack runs.

        Raises SettingError (a ValueError with `key` under packs.health), which csconnect turns into
        `csconnect.toml: packs.health.<key>: <message>`.
        """
        parse(params)

    def definitions(self) -> tuple[Metric, ...]:
        try:
            return definitions.metrics(parse(self.params))
        except SettingError:
            return self.metrics

    def settings(self, ctx: MetricContext) -> Settings:
        try:
            return parse(self.params)
        except SettingError as exc:
            raise ctx.config.error(f"packs.health.{exc.key}", exc.message) from None

    def run(self, ctx: MetricContext) -> None:
        settings = self.settings(ctx)
        started = time.monotonic()
        profiles = settings.all_profiles
        index = {name: i for i, name in enumerate(settings.profiles, start=1)}
        _warn_unused_profiles(ctx, settings)
        sources = Sources(ctx, settings.params)
        engine = Engine(ctx, settings, customers=_customers(ctx, settings.params["population"]))
        try:
            sources.drop()
            engine.drop()
            sources.build(lambda segment: index.get((segment or "").strip().lower(), 0))
            first = sources.first_day()
            if first is None:
                log.warning("health: no input has data on or before %s; nothing scored", ctx.as_of_ts)
                ctx.replace_rows("account_health", HEALTH_COLUMNS, [])
                ctx.db.execute("DELETE FROM account_health_history")
                return
            points = instants(ctx.as_of, ctx.as_of_ts, first, settings.params)
            sources.load_instants(points)
            accounts = _population_size(ctx, engine.customers)
            built = time.monotonic()
            engine.run(points, accounts)
            scored = time.monotonic()
            n = ctx.replace_rows("account_health", HEALTH_COLUMNS, list(self._current(ctx, settings, profiles)))
            self._months(ctx, [pt.month for pt in points if pt.month])
            log.info("health: %d accounts now, %d instants from %s (%s population); sources %.2fs, scores %.2fs, "
                     "total %.2fs", n, len(points), first, "customer" if engine.customers else "all-account",
                     built - started, scored - built, time.monotonic() - started)
        finally:
            engine.drop()
            sources.drop()

    # -- account_health ------------------------------------------------------------------------
    def _current(self, ctx: MetricContext, settings: Settings, profiles: list[Profile]) -> Iterator[tuple[Any, ...]]:
        p = settings.params
        prev = dict(ctx.db.execute("SELECT account_id, score FROM temp.h_prev"))
        cur = ctx.db.execute("SELECT * FROM temp.h_now ORDER BY account_id")
        names = [c[0] for c in cur.description]
        for values in cur:
            row = dict(zip(names, values))
            profile = profiles[row["pf"]]
            combined, components = _components(row, profile, p)
            score = components["capped"]["at"] if components["capped"] else combined.score
            if score is not None and abs(round(score, 2) - row["score"]) > 0.011:
                log.warning("health: %s scores %.2f in SQL but %.2f in Python", row["account_id"], row["score"],
                            score)
            before = prev.get(row["account_id"])
            trend = None if before is None else round(row["score"] - before, 2)
            yield (row["account_id"], ctx.as_of_ts, row["score"], row["band"], trend,
                   json.dumps(components, ensure_ascii=False), json.dumps(_drivers(row, combined, components, p),
                                                                          ensure_ascii=False))

    # -- metrics -------------------------------------------------------------------------------
    def _months(self, ctx: MetricContext, months: list[str]) -> None:
        """Mean score and band counts per month, for `all` and each account dimension (as ctx.rollup would)."""
        dims = " UNION ALL ".join(
            f"SELECT month, '{d}', COALESCE(NULLIF({d}, ''), ?), score, band FROM m" for d in DIMENSIONS)
        rows = ctx.db.execute(f"""
            WITH m AS (SELECT h.month, h.score, h.band, a.segment, a.lifecycle_stage, a.country, a.owner,
                              substr(a.created_at, 1, 7) AS cohort
                       FROM temp.h_month h LEFT JOIN accounts a ON a.account_id = h.account_id)
            SELECT month, segment_by, segment, TOTAL(score), COUNT(*), TOTAL(band = 'green'),
                   TOTAL(band = 'yellow'), TOTAL(band = 'red')
            FROM (SELECT month, 'all' AS segment_by, 'all' AS segment, score, band FROM m UNION ALL {dims})
            GROUP BY 1, 2, 3""", [NONE_SEGMENT] * len(DIMENSIONS)).fetchall()
        by_month: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for row in rows:
            by_month[row[0]].append(row[1:])
        for month in sorted(set(months)):
            start = date.fromisoformat(month)
            period = Period("month", start, add_months(start, 1))
            segments = by_month.get(month) or [("all", "all", 0.0, 0, 0.0, 0.0, 0.0)]
            out = []
            for seg_by, seg, total, n, green, yellow, red in segments:
                out.append(("health_score_mean", period, total / n if n else None, total, float(n), seg_by, seg))
                out += [(f"accounts_{band}", period, count, None, None, seg_by, seg)
                        for band, count in zip(BANDS, (green, yellow, red))]
            ctx.write_values(out)


def _components(row: dict[str, Any], profile: Profile, p: dict[str, Any]) -> tuple[Combined, dict[str, Any]]:
    """Each input's raw value, score, weight, group and share; the groups; what is missing; the cap applied."""
    scores = {i.name: row[f"s_{i.name}"] for i in INPUTS}
    groups = {g.name: (g.weight, {n: (w, scores[n]) for n, w in g.inputs}) for g in profile.groups}
    combined = combine(groups)
    hit = caps_hit(profile, combined.score, scores)
    inputs: dict[str, Any] = {}
    for g in profile.groups:
        for name, w in g.inputs:
            raw = row[f"r_{name}"]
            item: dict[str, Any] = {"group": g.name, "weight": w, "raw": _round(raw, 6),
                                    "score": _round(scores[name], 2),
                                    "share": _round(combined.shares.get(name, 0.0), 4)}
            if raw is not None:
                item["text"] = describe(name, row, p)
            inputs[name] = item
    return combined, {
        "profile": profile.name,
        "groups": {g.name: {"weight": g.weight, "score": _round(combined.groups.get(g.name), 2),
                            "share": _round(combined.group_shares.get(g.name, 0.0), 4)} for g in profile.groups},
        "missing": combined.missing,
        "reweighted": _reweighted(profile, combined),
        "capped": {"at": hit[0][1], "by": [n for n, _ in hit], "uncapped": _round(combined.score, 2)} if hit else None,
        "inputs": inputs,
    }


def _reweighted(profile: Profile, combined: Combined) -> str | None:
    """The re-distribution of missing groups' weight, in words (None when every weighted group has data)."""
    if not combined.missing or not combined.group_shares:
        return None
    weights = {g.name: g.weight for g in profile.groups}
    gone = " and ".join(f"{g} (weight {weights[g]:g})" for g in combined.missing)
    kept = ", ".join(f"{g} {share:.0%}" for g, share in combined.group_shares.items())
    return f"no data for {gone}: the score uses the other groups' weights only ({kept})"


def _drivers(row: dict[str, Any], combined: Combined, components: dict[str, Any], p: dict[str, Any]) -> list[str]:
    """The reasons, worst first: inputs that cap the score, then those costing the most score points
    (share × (100 − score)), worded with their raw values."""
    cap = components["capped"]
    out = [f"{describe(name, row, p)} (holds the score at {cap['at']:g} or below)" for name in cap["by"]] if cap else []
    lost = points_lost(combined, {i.name: row[f"s_{i.name}"] for i in INPUTS})
    ranked = sorted((pts, name) for name, pts in lost.items()
                    if pts >= MIN_DRIVER_POINTS and not (cap and name in cap["by"]))
    ranked.sort(key=lambda x: (-x[0], x[1]))
    out += [describe(name, row, p) for _, name in ranked]
    return out[:p["drivers"]]


def _round(x: float | None, digits: int) -> float | None:
    return None if x is None else round(x, digits)


def _customers(ctx: MetricContext, population: str) -> bool:
    if population != "auto":
        return population == "customers"
    return bool(ctx.db.execute("SELECT 1 FROM account_metrics WHERE metric = 'mrr' AND grain = 'month' LIMIT 1")
                .fetchone())


def _population_size(ctx: MetricContext, customers: bool) -> int:
    if customers:
        sql = ("SELECT COUNT(DISTINCT account_id) FROM account_metrics WHERE metric = 'mrr' AND grain = 'month' "
               "AND period_start = (SELECT MAX(period_start) FROM account_metrics WHERE metric = 'mrr' "
               "AND grain = 'month') AND value > 0")
    else:
        sql = "SELECT COUNT(*) FROM accounts"
    return ctx.db.execute(sql).fetchone()[0] or 1


def _warn_unused_profiles(ctx: MetricContext, settings: Settings) -> None:
    if not settings.profiles:
        return
    known = {(r[0] or "").strip().lower() for r in ctx.db.execute("SELECT DISTINCT segment FROM accounts")}
    for key, profile in settings.profiles.items():
        if key not in known:
            log.warning("packs.health.profiles.%s: no account has the segment %r (segments: %s)", profile.name,
                        profile.name, ", ".join(sorted(s for s in known if s)) or "none")
