"""The metrics runner: packs in dependency order, one transaction per pack.

A pack reads canonical tables (and other packs' outputs) and writes
`metric_values` (long format, with numerator and denominator for ratios),
`account_metrics` and its own tables through a MetricContext.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Sequence

from .config import Config, resolve_options
from .errors import CsconnectError, MetricsError, UsageError
from .packs import MetricPack
from .store import Store, now_iso, quote

log = logging.getLogger("csconnect.metrics")
GRAINS = ("day", "week", "month", "quarter")
DIMENSIONS = ("segment", "lifecycle_stage", "country", "owner", "cohort")
NONE_SEGMENT = "(none)"


@dataclass(frozen=True)
class Period:
    """A calendar period [start, end); `last` is its last day, or the as-of day when to-date."""

    grain: str
    start: date
    end: date

    @property
    def key(self) -> str:
        return self.start.isoformat()

    def last_day(self, as_of: date | None = None) -> date:
        last = self.end - timedelta(days=1)
        return min(last, as_of) if as_of else last

    @property
    def start_ts(self) -> str:
        return f"{self.start.isoformat()}T00:00:00Z"

    @property
    def end_ts(self) -> str:
        return f"{self.end.isoformat()}T00:00:00Z"


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return date(y, m + 1, 1)


def periods(grain: str, first: date, last: date) -> list[Period]:
    """Every UTC calendar period of `grain` from the one holding `first` to the one holding `last`."""
    if grain not in GRAINS:
        raise UsageError(f"unknown grain {grain!r} (grains: {', '.join(GRAINS)})")
    out: list[Period] = []
    if grain == "day":
        d = first
        while d <= last:
            out.append(Period("day", d, d + timedelta(days=1)))
            d += timedelta(days=1)
    elif grain == "week":   # ISO weeks, Monday first
        d = first - timedelta(days=first.weekday())
        while d <= last:
            out.append(Period("week", d, d + timedelta(days=7)))
            d += timedelta(days=7)
    else:
        step = 1 if grain == "month" else 3
        d = month_start(first)
        if grain == "quarter":
            d = d.replace(month=(d.month - 1) // 3 * 3 + 1)
        while d <= last:
            out.append(Period(grain, d, add_months(d, step)))
            d = add_months(d, step)
    return out


def parse_as_of(value: str | date | datetime | None) -> datetime:
    """None -> now; a date -> the end of that day (23:59:59 UTC); a datetime as given (UTC)."""
    if value is None:
        return datetime.now(timezone.utc).replace(microsecond=0)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, 23, 59, 59, tzinfo=timezone.utc)
    try:
        if len(value) == 10:
            return parse_as_of(date.fromisoformat(value))
        return parse_as_of(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise UsageError(f"--as-of {value!r} is not a date (YYYY-MM-DD) or ISO timestamp") from None


@dataclass
class PackResult:
    pack: str
    status: str                       # ok | skipped | failed
    reason: str | None = None
    values: int = 0
    account_values: int = 0
    seconds: float = 0.0


class MetricContext:
    """What a pack gets: the store, its parameters, the as-of instant, currency and writers."""

    def __init__(self, store: Store, config: Config, pack: MetricPack, as_of: datetime):
        self.store = store
        self.db = store.conn
        self.config = config
        self.pack = pack
        self.params = pack.params
        self.as_of = as_of
        self.as_of_ts = as_of.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.reporting_currency = config.reporting_currency
        self.computed_at = now_iso()
        self.values_written = 0
        self.account_values_written = 0
        self._metric_names = {m.name for m in pack.metrics}

    # -- reading ---------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        return self.store.query(sql, params)

    def has_rows(self, table: str) -> bool:
        return self.store.db[table].exists() and self.db.execute(
            f"SELECT 1 FROM {quote(table)} LIMIT 1").fetchone() is not None

    def dimensions(self) -> dict[str, dict[str, str]]:
        """account_id -> {segment, lifecycle_stage, country, owner, cohort (signup month)}."""
        out = {}
        for r in self.query("SELECT account_id, segment, lifecycle_stage, country, owner, created_at FROM accounts"):
            cohort = r["created_at"][:7] if r["created_at"] else None
            out[r["account_id"]] = {"segment": r["segment"], "lifecycle_stage": r["lifecycle_stage"],
                                    "country": r["country"], "owner": r["owner"], "cohort": cohort}
        return out

    def periods(self, grain: str, first: date | str) -> list[Period]:
        if isinstance(first, str):
            first = date.fromisoformat(first[:10])
        return periods(grain, first, self.as_of.date())

    # -- currency ----------------------------------------------------------------
    def rate(self, currency: str | None) -> float:
        """Units of reporting currency per unit of `currency`; one line naming it when missing."""
        cur = (currency or self.reporting_currency).upper()
        if cur == self.reporting_currency:
            return 1.0
        try:
            return self.config.fx_rates[cur]
        except KeyError:
            raise MetricsError(f"no exchange rate for {cur}: add {cur} = <{self.reporting_currency} per {cur}> "
                               f"under [fx_rates] in {self.config.label}") from None

    def convert(self, amount: float | int | None, currency: str | None) -> float | None:
        return None if amount is None else amount * self.rate(currency)

    def fx_table(self, currencies: Iterable[str]) -> str:
        """Create temp table `fx(currency, rate)` for SQL joins; checks every currency has a rate."""
        rows = {(c or self.reporting_currency).upper() for c in currencies}
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS fx (currency TEXT PRIMARY KEY, rate REAL NOT NULL)")
        self.db.executemany("INSERT OR REPLACE INTO temp.fx VALUES (?, ?)", [(c, self.rate(c)) for c in rows])
        return "temp.fx"

    # -- writing -------------------------------------------------------------------
    def _check(self, metric: str) -> None:
        if metric not in self._metric_names:
            raise MetricsError(f"pack {self.pack.name} wrote {metric!r}, which it does not declare in `metrics`")

    def write_value(self, metric: str, period: Period, value: float | None, numerator: float | None = None,
                    denominator: float | None = None, segment_by: str = "all", segment: str = "all") -> None:
        self.write_values([(metric, period, value, numerator, denominator, segment_by, segment)])

    def write_values(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Rows of (metric, Period, value, numerator, denominator[, segment_by, segment])."""
        as_of = self.as_of.date()
        batch = []
        for row in rows:
            metric, period, value, num, den = row[:5]
            seg_by, seg = (row[5], row[6]) if len(row) > 5 else ("all", "all")
            self._check(metric)
            batch.append((metric, period.grain, period.key, period.last_day(as_of).isoformat(), seg_by,
                          NONE_SEGMENT if seg is None else str(seg), value, num, den, self.computed_at))
        self.db.executemany(
            "INSERT OR REPLACE INTO metric_values (metric, grain, period_start, period_end, segment_by, segment, "
            "value, numerator, denominator, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
        self.values_written += len(batch)

    def write_account_metrics(self, rows: Iterable[tuple[str, str, Period, float | None]]) -> None:
        """Rows of (account_id, metric, Period, value)."""
        batch = []
        for account_id, metric, period, value in rows:
            self._check(metric)
            batch.append((account_id, metric, period.grain, period.key, value))
        self.db.executemany("INSERT OR REPLACE INTO account_metrics VALUES (?, ?, ?, ?, ?)", batch)
        self.account_values_written += len(batch)

    def rollup(self, metric: str, period: Period, per_account: Iterable[tuple[str, float, float | None]],
               *, ratio: bool, dims: dict[str, dict[str, str]] | None = None, scale: float = 1.0,
               dimensions: Sequence[str] = DIMENSIONS, extra: dict[str, dict[str, str]] | None = None) -> None:
        """Write a sum (ratio=False) or a ratio of sums for `all` and every dimension's segments.

        per_account: (account_id, numerator, denominator); a ratio is scale × Σnum / Σden
        (NULL when Σden = 0) and keeps Σnum and Σden. `extra` adds dimensions the pack
        knows (e.g. plan): {dimension: {account_id: value}}.
        """
        dims = self.dimensions() if dims is None else dims
        sums: dict[tuple[str, str], list[float]] = {}
        for account_id, num, den in per_account:
            keys = [("all", "all")]
            info = dims.get(account_id, {})
            keys += [(d, info.get(d) or NONE_SEGMENT) for d in dimensions]
            for dim, mapping in (extra or {}).items():
                keys.append((dim, mapping.get(account_id) or NONE_SEGMENT))
            for key in keys:
                acc = sums.setdefault(key, [0.0, 0.0])
                acc[0] += num or 0
                acc[1] += den or 0
        if ("all", "all") not in sums:
            sums[("all", "all")] = [0.0, 0.0]
        rows = []
        for (seg_by, seg), (num, den) in sums.items():
            if ratio:
                rows.append((metric, period, scale * num / den if den else None, num, den, seg_by, seg))
            else:
                rows.append((metric, period, num, None, None, seg_by, seg))
        self.write_values(rows)

    def insert_values(self, metrics: Sequence[str], select: str, params: Sequence[Any] = ()) -> int:
        """INSERT … SELECT into metric_values, for large outputs computed in SQL.

        `select` yields (metric, grain, period_start, period_end, segment_by, segment, value,
        numerator, denominator) for the declared `metrics` it names.
        """
        for metric in metrics:
            self._check(metric)
        cur = self.db.execute(
            "INSERT OR REPLACE INTO metric_values (metric, grain, period_start, period_end, segment_by, segment, "
            f"value, numerator, denominator, computed_at) SELECT *, ? FROM ({select})", [*params, self.computed_at])
        self.values_written += max(cur.rowcount, 0)
        return cur.rowcount

    def insert_account_metrics(self, metrics: Sequence[str], select: str, params: Sequence[Any] = ()) -> int:
        """INSERT … SELECT (account_id, metric, grain, period_start, value) into account_metrics."""
        for metric in metrics:
            self._check(metric)
        cur = self.db.execute("INSERT OR REPLACE INTO account_metrics (account_id, metric, grain, period_start, "
                              f"value) {select}", params)
        self.account_values_written += max(cur.rowcount, 0)
        return cur.rowcount

    def replace_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Replace the whole content of a pack-owned output table (mrr_movements, account_health …)."""
        self.db.execute(f"DELETE FROM {quote(table)}")
        cur = self.db.executemany(
            f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})", rows)
        return cur.rowcount


def _order(packs: dict[str, type[MetricPack]]) -> list[str]:
    """Topological order by requires_packs and uses_packs; ties by name."""
    done: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            raise MetricsError(f"metric packs depend on each other in a circle: {' -> '.join(visiting)}")
        visiting.add(name)
        cls = packs[name]
        for dep in sorted(set(cls.requires_packs) | set(cls.uses_packs)):
            if dep in packs:
                visit(dep)
        visiting.discard(name)
        done.append(name)

    for name in sorted(packs):
        visit(name)
    return done


def pack_params(config: Config, cls: type[MetricPack]) -> dict[str, Any]:
    return resolve_options(config, f"packs.{cls.name}", tuple(cls.parameters), config.packs.get(cls.name, {}),
                           f"pack {cls.name}")


def check_pack_params(config: Config, cls: type[MetricPack]) -> dict[str, Any]:
    """pack_params, then the pack's own `validate`: a mistake is one ConfigError naming packs.<name>.<key>."""
    params = pack_params(config, cls)
    try:
        cls.validate(params)
    except ValueError as exc:
        key = getattr(exc, "key", None)
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        raise config.error(f"packs.{cls.name}" + (f".{key}" if key else ""), message) from None
    return params


def write_definitions(store: Store, registry: Any, config: Config | None = None,
                      running: Iterable[str] = ()) -> None:
    """Every installed pack's metrics, with the definitions its configured parameters give.

    Packs about to run replace their rows; the others' rows are only added when missing,
    so a pack that restated a definition from its data (during its last run) keeps it.
    """
    running = set(running)
    rows: dict[bool, list[tuple[Any, ...]]] = {True: [], False: []}
    for name, reg in sorted(registry.packs.items()):
        try:
            metrics = reg.cls(pack_params(config, reg.cls)).definitions() if config else reg.cls.metrics
        except CsconnectError:      # a pack with broken parameters still lists its metrics
            metrics = reg.cls.metrics
        rows[name in running] += [(m.name, name, m.title, m.unit, m.direction, m.definition) for m in metrics]
    with store.transaction() as conn:
        for replace, batch in rows.items():
            conn.executemany(f"INSERT OR {'REPLACE' if replace else 'IGNORE'} INTO metric_definitions "
                             "(metric, pack, title, unit, direction, definition) VALUES (?, ?, ?, ?, ?, ?)", batch)


def _missing_inputs(ctx: MetricContext, cls: type[MetricPack]) -> str | None:
    for need in cls.requires:
        options = (need,) if isinstance(need, str) else tuple(need)
        if not any(ctx.has_rows(t) for t in options):
            return f"needs rows in {' or '.join(options)} (none synced yet)"
    return None


def run_metrics(store: Store, config: Config, registry: Any, packs: Iterable[str] | None = None,
                as_of: str | date | datetime | None = None, progress: Any = None) -> list[PackResult]:
    """Run the chosen packs (all installed by default) in dependency order."""
    wanted = list(packs or registry.packs)
    classes = {name: registry.pack(name) for name in wanted}
    for name in classes:   # validate every pack's parameters before running any
        check_pack_params(config, classes[name])
    when = parse_as_of(as_of)
    write_definitions(store, registry, config, classes)
    from .scorecard import load_targets, write_scorecard
    targets = load_targets(store, config, registry, strict=False)   # bad [targets] fail before any pack runs
    from .alerts import parse_alerts, update_alerts
    alerts = parse_alerts(config)                     # so do bad [alerts] rules
    results: dict[str, PackResult] = {}
    for name in _order(classes):
        cls = classes[name]
        started = time.monotonic()
        pack = cls(pack_params(config, cls))
        ctx = MetricContext(store, config, pack, when)
        reason = _missing_inputs(ctx, cls)
        for dep in cls.requires_packs:
            if reason:
                break
            if dep in results and results[dep].status != "ok":
                reason = f"needs pack {dep}, which was {results[dep].status}"
            elif dep not in results and not store.query(
                    "SELECT 1 FROM metric_values v JOIN metric_definitions d USING (metric) WHERE d.pack = ? "
                    "LIMIT 1", [dep]):
                reason = f"needs pack {dep}, which has not run (run `csconnect metrics run {dep} {name}`)"
        if reason:
            results[name] = PackResult(name, "skipped", reason)
            log.warning("skipped %s: %s", name, reason)
            continue
        if progress:
            progress(name)
        try:
            with store.transaction():
                names = [m.name for m in cls.metrics]
                marks = ", ".join("?" * len(names))
                if names:
                    store.conn.execute(f"DELETE FROM metric_values WHERE metric IN ({marks})", names)
                    store.conn.execute(f"DELETE FROM account_metrics WHERE metric IN ({marks})", names)
                pack.run(ctx)
            results[name] = PackResult(name, "ok", None, ctx.values_written, ctx.account_values_written,
                                       round(time.monotonic() - started, 2))
        except CsconnectError as exc:
            results[name] = PackResult(name, "failed", str(exc), seconds=round(time.monotonic() - started, 2))
            log.error("pack %s failed: %s", name, exc)
        finally:
            store.conn.execute("DROP TABLE IF EXISTS temp.fx")
    if targets:
        write_scorecard(store, targets)
    if alerts.rules:
        update_alerts(store, config, registry, when, settings=alerts)
    return [results[n] for n in _order(classes)]


def kpi_rows(store: Store, metrics: Sequence[str], grain: str = "month", by: str | None = None,
             last: int | None = None) -> list[dict[str, Any]]:
    """KPI values, oldest period first; `last` keeps the N newest periods."""
    defs = {r["metric"]: r for r in store.query("SELECT * FROM metric_definitions")}
    unknown = [m for m in metrics if m not in defs]
    if unknown:
        raise UsageError(f"unknown metric {', '.join(unknown)}; `csconnect metrics list` shows them all")
    names = list(metrics) or list(defs)
    marks = ", ".join("?" * len(names))
    seg_by = by or "all"
    if by:
        known = [r["segment_by"] for r in store.query(
            f"SELECT DISTINCT segment_by FROM metric_values WHERE metric IN ({marks}) AND segment_by != 'all' "
            "ORDER BY 1", names)]
        if by not in known:
            raise UsageError(f"--by {by}: these metrics are not broken down by {by!r} "
                             f"(they are by: {', '.join(known) or 'nothing yet'})")
    params: list[Any] = [grain, seg_by, *names]
    limit = ""
    if last:
        limit = (" AND period_start IN (SELECT DISTINCT period_start FROM metric_values WHERE grain = ? "
                 f"AND metric IN ({marks}) ORDER BY period_start DESC LIMIT ?)")
        params += [grain, *names, last]
    rows = store.query(
        "SELECT metric, period_start, period_end, segment_by, segment, value, numerator, denominator "
        f"FROM metric_values WHERE grain = ? AND segment_by = ? AND metric IN ({marks}){limit} "
        "ORDER BY period_start, segment, metric", params)
    for r in rows:
        r["unit"] = defs[r["metric"]]["unit"]
    return rows
