"""The KPI scorecard: targets from `[targets]` in csconnect.toml, judged per period (and segment).

    [targets]
    nrr = ">= 110%"                       # operator and value
    customer_churn_rate = "2%"            # no operator: the metric's direction decides (down -> <=)
    first_reply_seconds_median = "<= 4h"  # durations for metrics in seconds
    arpa = ">= $1,200"                    # money in major units of the reporting currency

    [targets.csat]                        # the table form
    min = "85%"                           # or max = …, or target = ">= 85%"
    at_risk = "80%"                       # the at-risk line (default: within 10% of the target)
    grain = "month"                       # day | week | month | quarter
    segment_by = "segment"                # also judge every segment of this dimension

Status of a value against its target: `on_track` when it meets it, `at_risk` when it misses but
stays on the right side of the at-risk line, `off_track` beyond that, `no_data` when the value
is NULL. See docs/scorecard.md.
"""
from __future__ import annotations

import difflib
import logging
import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterable, Mapping, Sequence

from .config import Config
from .errors import UsageError
from .metrics import GRAINS, add_months, periods

log = logging.getLogger("csconnect.scorecard")
from .money import SYMBOLS, exponent
from .store import Store, now_iso

STATUSES = ("on_track", "at_risk", "off_track", "no_data")
DEFAULT_MARGIN = 0.10          # at risk: misses the target by at most 10 % of it
TABLE_KEYS = ("target", "min", "max", "at_risk", "margin", "grain", "segment_by")
_EPS = 1e-9                    # float noise: 1.0999999999 meets ">= 110%"

_OPS = {">=": ">=", "≥": ">=", "=>": ">=", ">": ">", "<=": "<=", "≤": "<=", "=<": "<=", "<": "<",
        "at least": ">=", "at most": "<=", "min": ">=", "max": "<=", "above": ">", "below": "<"}
_OP_RE = re.compile(r"^\s*(at least|at most|min|max|above|below|>=|=>|≥|>|<=|=<|≤|<)?\s*(.*?)\s*$",
                    re.IGNORECASE)
_DURATION_UNITS = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
                   "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
                   "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
                   "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?$")
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9}
_UNIT_WORDS = {"percent": "a percentage such as \"85%\"", "seconds": "a duration such as \"4h\" or \"30m\"",
               "currency": "an amount such as \"$1,200\" or \"25k\"", "count": "a number such as 120",
               "ratio": "a number such as 4 or \"4x\"", "score": "a number such as 30"}


@dataclass(frozen=True)
class Target:
    """One KPI's target, in the units metric_values stores (fractions, seconds, minor units)."""

    metric: str
    unit: str
    operator: str              # >= > <= <
    value: float
    at_risk: float             # the line between at risk and off track
    grain: str = "month"
    segment_by: tuple[str, ...] = ()
    text: str = ""             # the target as the user wrote it

    @property
    def direction(self) -> str:
        return "up" if self.operator in (">=", ">") else "down"

    def meets(self, value: float) -> bool:
        slack = _EPS * max(1.0, abs(self.value))
        if self.operator == ">=":
            return value >= self.value - slack
        if self.operator == ">":
            return value > self.value + slack
        if self.operator == "<=":
            return value <= self.value + slack
        return value < self.value - slack

    def status(self, value: float | None) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "no_data"
        if self.meets(value):
            return "on_track"
        slack = _EPS * max(1.0, abs(self.at_risk))
        near = value >= self.at_risk - slack if self.direction == "up" else value <= self.at_risk + slack
        return "at_risk" if near else "off_track"


# -- parsing ------------------------------------------------------------------------------------------
class _Bad(ValueError):
    """A value that does not parse; the message says what was expected."""


def _number(text: str) -> float:
    t = text.strip().replace("_", "").replace(" ", "")
    mult = 1.0
    if t and t[-1].lower() in _SUFFIX and t[:-1] and (t[-2].isdigit() or t[-2] == "."):
        mult, t = _SUFFIX[t[-1].lower()], t[:-1]
    if not t or not _NUMBER.match(t) or t in ("+", "-", "."):
        raise _Bad(f"{text!r} is not a number")
    return float(t.replace(",", "")) * mult


def _kind(text: str, unit: str) -> str:
    """What a value looks like: percent, duration, money, times or plain."""
    t = text.strip().lower()
    if t.endswith("%"):
        return "percent"
    if t.endswith(("x", "×")) and t[:-1].strip() and t[:-1].strip()[-1].isdigit():
        return "times"
    if any(s in text for s in SYMBOLS.values()) or re.search(r"\b[A-Z]{3}\b", text):
        return "money"
    if re.fullmatch(r"(\d+(?:\.\d+)?\s*[a-z]+\s*)+", t) and all(
            u in _DURATION_UNITS for _, u in _DURATION_PART.findall(t)):
        # "1.5m" is minutes for a metric in seconds and 1.5 million anywhere else
        if unit == "seconds" or not re.fullmatch(r"[\d.]+\s*[kmb]", t):
            return "duration"
    return "plain"


def _duration(text: str) -> float:
    t = text.strip().lower()
    return float(sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(t)))


def _money(text: str, currency: str) -> float:
    """"$1,200", "USD 25k", "1.2M USD" -> minor units of the reporting currency."""
    t = text.strip()
    marks = set(re.findall(r"\b[A-Z]{3}\b", t)) | {c for c, s in SYMBOLS.items() if s in t}
    other = marks - {currency}
    if other:
        raise _Bad(f"{text!r}: amounts are in the reporting currency {currency}, not {', '.join(sorted(other))}")
    for mark in (currency, SYMBOLS.get(currency, "")):
        if mark:
            t = t.replace(mark, "")
    return _number(t) * 10 ** exponent(currency)


def parse_value(raw: Any, unit: str, currency: str = "USD") -> float:
    """A target value as the user wrote it -> the units metric_values stores for `unit`."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise _Bad(f"expected {_UNIT_WORDS.get(unit, 'a number')}, got {raw!r}")
    if not isinstance(raw, str):
        value, kind = float(raw), "plain"
    else:
        kind = _kind(raw, unit)
        if kind == "percent":
            value = _number(raw.strip()[:-1]) / 100
        elif kind == "duration":
            value = _duration(raw)
        elif kind == "times":
            value = _number(raw.strip()[:-1])
        elif kind == "money":
            value = 0.0      # parsed below, once we know the unit accepts money
        else:
            value = _number(raw)
    allowed = {"percent": ("percent", "plain"), "seconds": ("duration", "plain"), "currency": ("money", "plain"),
               "ratio": ("plain", "times"), "count": ("plain",), "score": ("plain",)}.get(unit, ("plain",))
    if kind not in allowed:
        raise _Bad(f"{raw!r} is a {'time' if kind == 'times' else kind} but this metric is in {unit}: "
                   f"write {_UNIT_WORDS.get(unit, 'a number')}")
    if unit == "percent" and kind == "plain" and abs(value) > 2:
        written = f"{raw:g}" if isinstance(raw, (int, float)) else raw.strip()
        raise _Bad(f"{raw!r} would be {value * 100:,.0f}% (a plain number is a fraction: 1.10 = 110%); "
                   f"write \"{written}%\"")
    if unit == "currency":
        if kind == "money":
            return _money(raw, currency)
        return value * 10 ** exponent(currency)     # plain numbers are major units too
    return value


def parse_target(metric: str, spec: Any, unit: str, direction: str, currency: str = "USD") -> Target:
    """One `[targets]` entry -> Target; raises _Bad or KeyError-free ValueErrors with the reason."""
    at_risk_raw: Any = None
    margin_raw: Any = None
    grain, seg_by = "month", ()
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in TABLE_KEYS]
        if unknown:
            raise _Bad(f"unknown key {unknown[0]!r} (keys: {', '.join(TABLE_KEYS)})")
        given = [k for k in ("target", "min", "max") if k in spec]
        if len(given) != 1:
            raise _Bad("give exactly one of target = \">= …\", min = … or max = …")
        key = given[0]
        text = spec[key]
        if key != "target":
            if isinstance(text, str) and _OP_RE.match(text).group(1):
                raise _Bad(f"{key} = {text!r}: write the value alone (min means >=, max means <=)")
            text = (">= " if key == "min" else "<= ") + (text if isinstance(text, str) else repr(text))
        at_risk_raw, margin_raw = spec.get("at_risk"), spec.get("margin")
        if at_risk_raw is not None and margin_raw is not None:
            raise _Bad("give at_risk (a line) or margin (a share of the target), not both")
        grain = spec.get("grain", "month")
        if grain not in GRAINS:
            raise _Bad(f"grain {grain!r}: must be one of {', '.join(GRAINS)}")
        raw_seg = spec.get("segment_by", ())
        seg_by = (raw_seg,) if isinstance(raw_seg, str) else tuple(raw_seg)
        if not all(isinstance(s, str) and re.fullmatch(r"[a-z_][a-z0-9_]*", s) for s in seg_by):
            raise _Bad(f"segment_by {raw_seg!r}: a dimension name such as \"segment\" (or a list of them)")
    else:
        text = spec
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise _Bad(f"expected text such as \">= 85%\", a number or a table, got {text!r}")
    if isinstance(text, str):
        m = _OP_RE.match(text)
        op_word, value_text = m.group(1), m.group(2)
        if not value_text:
            raise _Bad(f"{text!r} has no value (e.g. \">= 85%\")")
        if value_text[:1] in "<>=≥≤":
            raise _Bad(f"{text!r}: use one of >=, >, <=, < (or ≥, ≤, at least, at most)")
        op = _OPS[op_word.lower()] if op_word else (">=" if direction == "up" else "<=")
        value = parse_value(value_text, unit, currency)
    else:
        op = ">=" if direction == "up" else "<="
        value = parse_value(text, unit, currency)
    up = op in (">=", ">")
    if at_risk_raw is not None:
        line = parse_value(at_risk_raw, unit, currency)
        if (up and line > value) or (not up and line < value):
            raise _Bad(f"at_risk {at_risk_raw!r} is on the wrong side of the target: it must be "
                       f"{'below' if up else 'above'} it for a {op} target")
    else:
        if margin_raw is None:
            margin = DEFAULT_MARGIN
        else:
            margin = parse_value(margin_raw, "percent") if isinstance(margin_raw, str) else float(margin_raw)
            if isinstance(margin_raw, bool) or not 0 <= margin <= 1:
                raise _Bad(f"margin {margin_raw!r}: a share of the target such as \"5%\" or 0.05")
        line = value - margin * abs(value) if up else value + margin * abs(value)
    return Target(metric, unit, op, value, line, grain, seg_by, str(spec if not isinstance(spec, dict) else text))


def metric_catalogue(store: Store | None = None, registry: Any = None) -> dict[str, dict[str, str]]:
    """metric -> {unit, direction, title}: metric_definitions in the database, then the installed packs."""
    out: dict[str, dict[str, str]] = {}
    if registry is not None:
        for reg in getattr(registry, "packs", {}).values():
            for m in reg.cls.metrics:
                out[m.name] = {"unit": m.unit, "direction": m.direction, "title": m.title}
    if store is not None:
        for r in store.query("SELECT metric, unit, direction, title FROM metric_definitions"):
            out[r["metric"]] = {"unit": r["unit"], "direction": r["direction"], "title": r["title"]}
    return out


def parse_targets(config: Config, catalogue: Mapping[str, Mapping[str, str]], *,
                  strict: bool = True) -> list[Target]:
    """Every `[targets]` entry, in the file's order; one-line ConfigError naming targets.<metric>.

    With strict=False (during `metrics run`) a target for a metric no installed pack computes is skipped
    with a warning instead: a target must never stop the KPIs from being computed. `csconnect scorecard`
    and `csconnect check` are strict, so a misspelt name is still an error there."""
    out = []
    for metric, spec in config.targets.items():
        key = f"targets.{metric}"
        if metric not in catalogue:
            if not catalogue:
                raise config.error(key, "no metric is known yet: install metric packs and run "
                                        "`csconnect metrics run`, then the scorecard can check targets")
            close = difflib.get_close_matches(metric, list(catalogue), n=3, cutoff=0.5)
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            if not strict:
                log.warning("%s: %s: no installed metric pack computes %r; this target is skipped (%s"
                            "`csconnect metrics list` shows the metrics)", config.label, key, metric, hint)
                continue
            raise config.error(key, f"unknown metric; {hint}known metrics: {', '.join(sorted(catalogue))}")
        info = catalogue[metric]
        try:
            out.append(parse_target(metric, spec, info["unit"], info["direction"] or "up",
                                    config.reporting_currency))
        except _Bad as exc:
            raise config.error(key, str(exc)) from None
    return out


def load_targets(store: Store, config: Config, registry: Any = None, *, strict: bool = True) -> list[Target]:
    """The configured targets, checked against the metrics the database and the packs know."""
    if not config.targets:
        return []
    return parse_targets(config, metric_catalogue(store, registry), strict=strict)


# -- judging ------------------------------------------------------------------------------------------
def evaluate(store: Store, targets: Sequence[Target], by: str | None = None) -> list[dict[str, Any]]:
    """One row per target, period and segment: `all`, plus `by` (or each target's own segment_by)."""
    rows: list[dict[str, Any]] = []
    for t in targets:
        seg_bys = ["all"] + ([by] if by else list(t.segment_by))
        marks = ", ".join("?" * len(seg_bys))
        for r in store.query(
                "SELECT period_start, period_end, segment_by, segment, value FROM metric_values "
                f"WHERE metric = ? AND grain = ? AND segment_by IN ({marks}) ORDER BY period_start, segment",
                [t.metric, t.grain, *seg_bys]):
            if by and r["segment_by"] == "all":
                continue
            rows.append({"metric": t.metric, "grain": t.grain, "period_start": r["period_start"],
                         "period_end": r["period_end"], "segment_by": r["segment_by"], "segment": r["segment"],
                         "value": r["value"], "target": t.value, "at_risk": t.at_risk, "operator": t.operator,
                         "direction": t.direction, "status": t.status(r["value"]), "unit": t.unit})
    return rows


def write_scorecard(store: Store, targets: Sequence[Target]) -> int:
    """Replace the `scorecard` table with every target's status (`all` and configured segments)."""
    rows = evaluate(store, targets)
    stamp = now_iso()
    with store.transaction() as conn:
        conn.execute("DELETE FROM scorecard")
        conn.executemany(
            "INSERT OR REPLACE INTO scorecard (metric, grain, period_start, segment_by, segment, value, target, "
            "at_risk, operator, direction, status, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r["metric"], r["grain"], r["period_start"], r["segment_by"], r["segment"], r["value"], r["target"],
              r["at_risk"], r["operator"], r["direction"], r["status"], stamp) for r in rows])
    return len(rows)


def period_span(text: str) -> tuple[date, date]:
    """`2026-03` (a month), `2026-Q2` (a quarter) or `2026-03-09` (a day) -> [start, end)."""
    t = text.strip().upper()
    try:
        if re.fullmatch(r"\d{4}-Q[1-4]", t):
            start = date(int(t[:4]), (int(t[-1]) - 1) * 3 + 1, 1)
            return start, add_months(start, 3)
        if re.fullmatch(r"\d{4}-\d{2}", t):
            start = date(int(t[:4]), int(t[5:7]), 1)
            return start, add_months(start, 1)
        day = date.fromisoformat(t)
        return day, day + timedelta(days=1)
    except ValueError:
        pass
    raise UsageError(f"--period {text!r}: write a month (2026-03), a quarter (2026-Q2) or a day (2026-03-09)")


def select(rows: Iterable[dict[str, Any]], period: str | None = None, last: int | None = 1) -> list[dict[str, Any]]:
    """Rows of one period (`period`), or of each metric's `last` N periods (None: all)."""
    rows = list(rows)
    if period:
        lo, hi = period_span(period)

        def inside(r: dict[str, Any]) -> bool:
            start = date.fromisoformat(r["period_start"])
            end = periods(r["grain"], start, start)[0].end
            return lo <= start < hi or start <= lo < end
        return [r for r in rows if inside(r)]
    if not last:
        return rows
    keep: dict[str, set[str]] = {}
    for r in rows:
        keep.setdefault(r["metric"], set()).add(r["period_start"])
    keep = {m: set(sorted(p)[-last:]) for m, p in keep.items()}
    return [r for r in rows if r["period_start"] in keep[r["metric"]]]
