"""Roll per-account rows up to `all` and every dimension in SQL, not Python loops.

Same semantics as MetricContext.rollup: a sum writes Σ; a ratio writes Σnum/Σden (NULL when
Σden = 0) and keeps Σnum and Σden; an empty or missing dimension value is `(none)`; the `all`
row exists for every month. Dimensions are the core's (segment, lifecycle_stage, country, owner,
cohort = signup month) plus `plan`.

How: the source's per-account rows are summed into `base` columns per month and combination
of dimension values (two cubes, usually far smaller than the source), then each dimension is a
GROUP BY over its cube. Metrics are linear expressions of the base sums
(`new + exp + react`), so they are evaluated on the sums.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

NONE_SEGMENT = "(none)"
DIMENSIONS = ("segment", "lifecycle_stage", "country", "owner", "cohort", "plan")
# Dimensions summed together in one pass over the source; each cube stays small when its dimensions
# have few value combinations (cohort × plan can be large, so it is not crossed with the others).
CUBES = (("segment", "lifecycle_stage", "country", "owner"), ("cohort", "plan"))

Results = dict[tuple[str, str, str, int], tuple[Any, Any]]


@dataclass(frozen=True)
class Agg:
    """One metric: SQL expressions over base-sum names; `den` None makes it a plain sum."""

    metric: str
    num: str
    den: str | None = None


def build_dims(db: Any) -> None:
    """temp.rev_dims: each account's dimension values; plan = its largest line's plan at its last MRR month."""
    db.execute("""CREATE TEMP TABLE rev_dims (account_id TEXT PRIMARY KEY, segment TEXT, lifecycle_stage TEXT,
                  country TEXT, owner TEXT, cohort TEXT, plan TEXT)""")
    db.execute("""INSERT OR IGNORE INTO temp.rev_dims
                  SELECT account_id, segment, lifecycle_stage, country, owner, substr(created_at, 1, 7), NULL
                  FROM accounts WHERE account_id IS NOT NULL""")
    db.execute("""INSERT INTO temp.rev_dims (account_id, plan)
                  SELECT account_id, plan_key FROM (
                      SELECT account_id, plan_key, MAX(idx) FROM temp.rev_am GROUP BY account_id) WHERE true
                  ON CONFLICT (account_id) DO UPDATE SET plan = excluded.plan""")
    db.execute("""INSERT INTO temp.rev_dims (account_id, plan)
                  SELECT account_id, plan_key FROM (
                      SELECT account_id, plan_key, MAX(COALESCE(started_at, trial_start, ''))
                      FROM temp.rev_subs WHERE account_id IS NOT NULL GROUP BY account_id) WHERE true
                  ON CONFLICT (account_id) DO UPDATE SET plan = COALESCE(rev_dims.plan, excluded.plan)""")
    db.execute("""CREATE TEMP TABLE rev_plan_names AS
                  SELECT plan_id, MAX(plan_name) AS name FROM subscriptions
                  WHERE plan_id IS NOT NULL AND plan_name IS NOT NULL AND plan_name <> '' GROUP BY plan_id""")
    db.execute("CREATE UNIQUE INDEX temp.rev_plan_names_id ON rev_plan_names (plan_id)")
    db.execute("""UPDATE temp.rev_dims SET plan = COALESCE(
                  (SELECT name FROM temp.rev_plan_names n WHERE n.plan_id = rev_dims.plan), plan)
                  WHERE plan IS NOT NULL""")


def rollup(ctx: Any, periods: Sequence[Any], source: str, base: Mapping[str, str], aggs: Sequence[Agg], *,
           relabel: tuple[str, str] | None = None, keep: Sequence[str] = (), cumulative: bool = False) -> Results:
    """Aggregate `source` (a table or parenthesized SELECT with idx and account_id) and write the values.

    `base`: name -> SQL expression per source row `t`, summed per month and segment; each Agg's num and
    den are arithmetic on those names. `cumulative`: the source holds increments, and a month's value
    uses the running totals up to it. `relabel` writes only the `all` row, under (segment_by, segment)
    = relabel. `keep` names metrics whose (num, den) per (segment_by, segment, idx) are returned (CLV).
    """
    sums = _sums(ctx.db, source, base, len(periods), relabel is not None)
    formulas = [(a, compile(a.num, a.metric, "eval"), compile(a.den, a.metric, "eval") if a.den else None)
                for a in aggs]
    zero = dict.fromkeys(base, 0.0)
    kept: Results = {}
    rows: list[tuple[Any, ...]] = []
    for (seg_by, seg), by_month in sums.items():
        seg_by, seg = relabel or (seg_by, seg)
        running = dict(zero)
        first = 0 if seg_by == "all" or not cumulative else min(by_month)
        for idx in range(first, len(periods)) if (cumulative or seg_by == "all") else sorted(by_month):
            month = by_month.get(idx, zero)
            if cumulative:
                running = {b: running[b] + month[b] for b in base}
                month = running
            for a, num_code, den_code in formulas:
                num = eval(num_code, {}, month)           # our own arithmetic on base sums
                if den_code is None:
                    rows.append((a.metric, periods[idx], num, None, None, seg_by, seg))
                    continue
                den = eval(den_code, {}, month)
                rows.append((a.metric, periods[idx], num / den if den else None, num, den, seg_by, seg))
                if a.metric in keep:
                    kept[(a.metric, seg_by, seg, idx)] = (num, den)
    ctx.write_values(rows)
    return kept


def _sums(db: Any, source: str, base: Mapping[str, str], n: int, all_only: bool
          ) -> dict[tuple[str, str], dict[int, dict[str, float]]]:
    """{(segment_by, segment): {idx: {base name: Σ}}}; `all` always present."""
    names = list(base)
    sums = ", ".join(f"SUM({base[b]}) AS {b}" for b in names)
    groups: list[tuple[str, str, str, str]] = []      # (segment_by, segment expression, summed source, where)
    if not all_only:
        for i, dims in enumerate(CUBES):
            cube = f"rev_cube{i}"
            db.execute(f"DROP TABLE IF EXISTS temp.{cube}")
            db.execute(f"""CREATE TEMP TABLE {cube} AS
                SELECT t.idx AS idx, {', '.join(f'd.{d} AS {d}' for d in dims)}, {sums}
                FROM {source} t LEFT JOIN temp.rev_dims d ON d.account_id = t.account_id
                WHERE t.idx >= 0 AND t.idx < {n} GROUP BY {', '.join(str(k) for k in range(1, len(dims) + 2))}""")
            if i == 0:
                groups.append(("all", "'all'", f"temp.{cube}", ""))
            groups += [(d, f"COALESCE(NULLIF(CAST({d} AS TEXT), ''), '{NONE_SEGMENT}')", f"temp.{cube}", "")
                       for d in dims]
    else:
        summed = f"(SELECT idx, {', '.join(f'{base[b]} AS {b}' for b in names)} FROM {source} t)"
        groups.append(("all", "'all'", summed, f"WHERE idx >= 0 AND idx < {n}"))
    out: dict[tuple[str, str], dict[int, dict[str, float]]] = {("all", "all"): {}}
    for seg_by, expr, summed, where in groups:
        sql = (f"SELECT idx, {expr} AS seg, {', '.join(f'TOTAL({b})' for b in names)} "
               f"FROM {summed} {where} GROUP BY 1, 2")
        for rec in db.execute(sql):
            out.setdefault((seg_by, rec[1]), {})[rec[0]] = dict(zip(names, rec[2:]))
    for i in range(len(CUBES)):
        db.execute(f"DROP TABLE IF EXISTS temp.rev_cube{i}")
    return out
