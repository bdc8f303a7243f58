"""Sums, ratios and quantiles by period for `all`, the account dimensions and the ticket dimensions.

Set-based where SQL says it clearly: a family of sums is grouped once per (period, account) and once
per (period, channel, priority, assignee) into temp tables; one UNION ALL query then gives every
segment's sums, ordered by period, and account_metrics are filled by INSERT … SELECT. Quantiles
stream rows sorted by (period, value), so only one period is held in Python at a time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

from csconnect import MetricContext, Period

from .sql import TICKET_DIMS, period_sql
from .stats import median, quantile

ACCOUNT_DIMS = ("segment", "lifecycle_stage", "country", "owner", "cohort")
Key = tuple[str, Any]        # (segment_by, segment); segment None is written as "(none)"
DIMS_TABLE = "temp.support_dims"


@dataclass(frozen=True)
class Output:
    """A metric from the summed columns: a count (den None) or scale × Σnum / Σden."""

    metric: str
    num: int
    den: int | None = None
    scale: float = 1.0
    per_account: bool = True         # also write account_metrics (for the account grains)

    def value(self, sums: Sequence[float]) -> float | None:
        if self.den is None:
            return sums[self.num]
        den = sums[self.den]
        return self.scale * sums[self.num] / den if den else None

    def row(self, period: Period, sums: Sequence[float], key: Key) -> tuple[Any, ...]:
        if self.den is None:
            return (self.metric, period, sums[self.num], None, None, *key)
        return (self.metric, period, self.value(sums), sums[self.num], sums[self.den], *key)


def by_period(periods: Sequence[Period], rows: Iterable[Sequence[Any]]) -> Iterator[tuple[Period, list[Any]]]:
    """Pair rows ordered by their first column (a period key) with every period, empty ones included."""
    it = iter(rows)
    row = next(it, None)
    for period in periods:
        while row is not None and row[0] < period.key:     # before the first period: cannot happen
            row = next(it, None)
        bucket = []
        while row is not None and row[0] == period.key:
            bucket.append(row[1:])
            row = next(it, None)
        yield period, bucket


class Aggregator:
    """The pack's writer of sums by segment (several metrics per scan) and of quantiles.

    Its rows are what ctx.rollup would write (scale × Σnum / Σden, NULL when Σden = 0, `(none)` for a
    missing attribute), but grouped in SQL for a whole family of metrics at once: rollup works in
    Python, one metric and one period at a time, which at a million tickets took a quarter of an hour.
    """

    def __init__(self, ctx: MetricContext, account_grains: Sequence[str]):
        self.ctx = ctx
        self.db = ctx.db
        self.account_grains = tuple(account_grains)
        self.temp_tables: list[str] = [DIMS_TABLE]
        self._keys: dict[Any, tuple[Key, ...]] = {}
        self.dims = ctx.dimensions()
        self.declared = {m.name for m in ctx.pack.metrics}
        self.db.execute(f"DROP TABLE IF EXISTS {DIMS_TABLE}")
        self.db.execute(f"CREATE TABLE {DIMS_TABLE} (account_id TEXT PRIMARY KEY, "
                        f"{', '.join(f'{d} TEXT' for d in ACCOUNT_DIMS)})")
        self.db.executemany(f"INSERT INTO {DIMS_TABLE} VALUES ({', '.join('?' * (1 + len(ACCOUNT_DIMS)))})",
                            [(a, *(info.get(d) or None for d in ACCOUNT_DIMS)) for a, info in self.dims.items()])

    def close(self) -> None:
        for table in self.temp_tables:
            self.db.execute(f"DROP TABLE IF EXISTS {table}")

    def account_keys(self, account_id: Any) -> tuple[Key, ...]:
        """`all`, then (dimension, value) for each account dimension, for an account (None: unlinked)."""
        keys = self._keys.get(account_id)
        if keys is None:
            info = self.dims.get(account_id, {})
            keys = (("all", "all"),) + tuple((d, info.get(d) or None) for d in ACCOUNT_DIMS)
            self._keys[account_id] = keys
        return keys

    def _temp(self, name: str, sql: str, params: Any) -> str:
        table = f"temp.support_{name}"
        self.db.execute(f"DROP TABLE IF EXISTS {table}")
        self.db.execute(f"CREATE TABLE {table} AS {sql}", params)
        if table not in self.temp_tables:
            self.temp_tables.append(table)
        return table

    # -- sums and ratios -----------------------------------------------------------------------
    def sums(self, base: tuple[str, dict[str, Any]], ts: str, sums: Sequence[str], outputs: Sequence[Output],
             grain: str, periods: Sequence[Period], *, where: str = "", name: str = "sums",
             on_segments: Callable[[Period, dict[Key, list[float]]], None] | None = None,
             ticket_dims: Sequence[str] = TICKET_DIMS) -> str:
        """Σ of each `sums` expression over base rows by the period of `ts`, written as `outputs`.

        Rows for `all` (every period, an empty one too), each account dimension's and each ticket
        dimension's segments; account_metrics for the account grains. on_segments(period,
        {(segment_by, segment): sums}) sees every period's numbers. Returns the temp table of
        per-(period, account) sums `p, account_id, s0, s1 …`, kept until close().
        """
        base_sql, params = base
        cond = f"{ts} IS NOT NULL" + (f" AND ({where})" if where else "")
        cols = ", ".join(f"total({s}) AS s{i}" for i, s in enumerate(sums))
        p = period_sql(grain, ts)
        by_account = self._temp(f"{name}_accounts", f"WITH base AS ({base_sql}) SELECT {p} AS p, account_id, "
                                f"{cols} FROM base WHERE {cond} GROUP BY 1, 2", params)
        totals = ", ".join(f"total(s{i})" for i in range(len(sums)))
        parts = [f"SELECT p, 'all', 'all', {totals} FROM {by_account} GROUP BY p"]
        parts += [f"SELECT g.p, '{d}', d.{d}, {totals} FROM {by_account} g LEFT JOIN {DIMS_TABLE} d "
                  f"ON d.account_id = g.account_id GROUP BY g.p, d.{d}" for d in ACCOUNT_DIMS]
        if ticket_dims:
            dim_cols = ", ".join(f"nullif({d}, '') AS {d}" for d in ticket_dims)
            group = ", ".join(str(i + 1) for i in range(len(ticket_dims) + 1))
            by_dims = self._temp(f"{name}_dims", f"WITH base AS ({base_sql}) SELECT {p} AS p, {dim_cols}, {cols} "
                                 f"FROM base WHERE {cond} GROUP BY {group}", params)
            parts += [f"SELECT p, '{d}', {d}, {totals} FROM {by_dims} GROUP BY p, {d}" for d in ticket_dims]
        query = " UNION ALL ".join(parts) + " ORDER BY 1"
        for period, rows in by_period(periods, self.db.execute(query)):
            segments: dict[Key, list[float]] = {(r[0], r[1]): list(r[2:]) for r in rows}
            segments.setdefault(("all", "all"), [0.0] * len(sums))
            self.ctx.write_values(out.row(period, s, key) for key, s in segments.items() for out in outputs)
            if on_segments:
                on_segments(period, segments)
        if grain in self.account_grains:
            for out in outputs:
                if out.per_account:
                    self.account_metrics(by_account, out, grain)
        return by_account

    def account_metrics(self, table: str, out: Output, grain: str) -> None:
        """account_metrics rows straight from a per-(period, account) table (ratios with Σden = 0 skipped)."""
        if out.den is None:
            value, cond = f"s{out.num}", ""
        else:
            value, cond = f"? * s{out.num} / s{out.den}", f" AND s{out.den} > 0"
        self.insert_account_metrics(
            f"SELECT account_id, ?, ?, p, {value} FROM {table} WHERE account_id IS NOT NULL{cond}",
            [out.metric, grain] + ([out.scale] if out.den is not None else []), out.metric)

    def insert_account_metrics(self, select: str, params: Sequence[Any], metric: str) -> None:
        """INSERT … SELECT (account_id, metric, grain, period_start, value) into account_metrics."""
        self.ctx.insert_account_metrics([metric], select, params)

    # -- quantiles -------------------------------------------------------------------------------
    def quantiles(self, base: tuple[str, dict[str, Any]], ts: str, value: str, grain: str,
                  periods: Sequence[Period], median_metric: str, p90_metric: str,
                  ticket_dims: Sequence[str] = TICKET_DIMS) -> None:
        """Median and p90 of `value` over base rows by the period of `ts`, for every segment directly."""
        base_sql, params = base
        dim_cols = "".join(f", nullif({d}, '')" for d in ticket_dims)
        sql = (f"WITH base AS ({base_sql}) SELECT {period_sql(grain, ts)} AS p, {value} AS v, account_id"
               f"{dim_cols} FROM base WHERE {ts} IS NOT NULL AND {value} IS NOT NULL ORDER BY 1, 2")
        for period, rows in by_period(periods, self.db.execute(sql, params)):
            groups: dict[Key, list[float]] = {("all", "all"): []}
            lists_of: dict[tuple[Any, ...], tuple[list[float], ...]] = {}
            for v, *combo in rows:                   # rows come sorted by v, so every list is sorted
                lists = lists_of.get(tuple(combo))
                if lists is None:
                    keys = self.account_keys(combo[0]) + tuple(zip(ticket_dims, combo[1:]))
                    lists = lists_of[tuple(combo)] = tuple(groups.setdefault(k, []) for k in keys)
                for values in lists:
                    values.append(v)
            out = []
            for key, values in groups.items():
                out.append((median_metric, period, median(values), None, None, *key))
                out.append((p90_metric, period, quantile(values, 0.9), None, None, *key))
            self.ctx.write_values(out)
