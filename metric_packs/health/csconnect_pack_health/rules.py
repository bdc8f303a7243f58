"""Scoring rules: how one input's raw value becomes a 0-100 score.

Two kinds, each evaluated the same way in Python (`score`) and in SQL (`sql`):

- `Linear(bad, good)`: 0 at `bad`, 100 at `good`, a straight line between, clamped outside.
  `bad > good` means lower raw values are better (days since the last touch, say).
- `Bands(higher_better, bands, otherwise)`: thresholds. Higher-better: the score of the highest
  limit the value reaches (`value >= limit`); lower-better: of the lowest limit it stays within
  (`value <= limit`); `otherwise` when none applies.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Union


class SettingError(ValueError):
    """A configuration value is wrong: `key` (dotted, under packs.health) and a message.

    A ValueError with `key` and `message`, as csconnect.MetricPack.validate expects."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def number(key: str, value: Any, low: float | None = None, high: float | None = None) -> float:
    """A finite number (TOML int or float) within [low, high], else SettingError naming the key."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SettingError(key, f"must be a number, got {value!r}")
    if low is not None and value < low:
        raise SettingError(key, f"must be at least {low:g}, got {value!r}")
    if high is not None and value > high:
        raise SettingError(key, f"must be at most {high:g}, got {value!r}")
    return float(value)


def _lit(x: float) -> str:
    return repr(float(x))


@dataclass(frozen=True)
class Linear:
    bad: float
    good: float

    def score(self, x: float | None) -> float | None:
        if x is None:
            return None
        return min(100.0, max(0.0, 100.0 * (x - self.bad) / (self.good - self.bad)))

    def sql(self, col: str) -> str:
        return (f"(CASE WHEN {col} IS NULL THEN NULL ELSE MIN(100.0, MAX(0.0, 100.0 * ({col} - {_lit(self.bad)}) "
                f"/ {_lit(self.good - self.bad)})) END)")

    def describe(self, fmt: Any = str) -> str:
        return f"linear: {fmt(self.bad)} → 0, {fmt(self.good)} → 100"

    def as_dict(self) -> dict[str, Any]:
        return {"bad": self.bad, "good": self.good}


@dataclass(frozen=True)
class Bands:
    higher_better: bool
    bands: tuple[tuple[float, float], ...]   # (limit, score), best limit first
    otherwise: float = 0.0

    def score(self, x: float | None) -> float | None:
        if x is None:
            return None
        for limit, s in self.bands:
            if (x >= limit) if self.higher_better else (x <= limit):
                return s
        return self.otherwise

    def sql(self, col: str) -> str:
        op = ">=" if self.higher_better else "<="
        whens = " ".join(f"WHEN {col} {op} {_lit(limit)} THEN {_lit(s)}" for limit, s in self.bands)
        return f"(CASE WHEN {col} IS NULL THEN NULL {whens} ELSE {_lit(self.otherwise)} END)"

    def describe(self, fmt: Any = str) -> str:
        op = "≥" if self.higher_better else "≤"
        parts = [f"{op} {fmt(limit)} → {s:g}" for limit, s in self.bands]
        return "bands: " + ", ".join(parts + [f"otherwise {self.otherwise:g}"])

    def as_dict(self) -> dict[str, Any]:
        return {"bands": [[limit, s] for limit, s in self.bands], "otherwise": self.otherwise}


Rule = Union[Linear, Bands]
NPS_KEYS = ("promoter", "passive", "detractor")


def nps_rule(promoter: float, passive: float, detractor: float) -> Bands:
    """The NPS category rule on the 0-10 answer: promoter 9-10, passive 7-8, detractor 0-6."""
    return Bands(True, ((9.0, promoter), (7.0, passive)), detractor)


def parse_rule(key: str, spec: Mapping[str, Any], default: Rule, higher_better: bool, nps: bool = False,
               extra: tuple[str, ...] = ()) -> Rule:
    """A user's rule table merged over `default`; keys in `extra` (e.g. weight) are skipped.

    `bad`/`good` make (or adjust) a linear rule, `bands`/`otherwise` a band rule; for the NPS
    input, `promoter`/`passive`/`detractor` set the category scores.
    """
    allowed = ("bad", "good", "bands", "otherwise") + (NPS_KEYS if nps else ()) + extra
    for k in spec:
        if k not in allowed:
            raise SettingError(f"{key}.{k}", f"unknown key (a rule takes: {', '.join(allowed)})")
    given = {k: v for k, v in spec.items() if k not in extra}
    if not given:
        return default
    if nps and any(k in given for k in NPS_KEYS):
        if set(given) - set(NPS_KEYS):
            raise SettingError(key, "give either promoter/passive/detractor scores or a linear/band rule, not both")
        current = {"promoter": default.score(10), "passive": default.score(7.5), "detractor": default.score(0)}
        for k in NPS_KEYS:
            if k in given:
                current[k] = number(f"{key}.{k}", given[k], 0, 100)
        return nps_rule(current["promoter"], current["passive"], current["detractor"])
    linear_keys = {"bad", "good"} & set(given)
    band_keys = {"bands", "otherwise"} & set(given)
    if linear_keys and band_keys:
        raise SettingError(key, "give either bad/good (linear) or bands/otherwise (thresholds), not both")
    if linear_keys:
        base = default if isinstance(default, Linear) else None
        if base is None and len(linear_keys) < 2:
            raise SettingError(key, "a linear rule needs both bad (scores 0) and good (scores 100)")
        bad = number(f"{key}.bad", given["bad"]) if "bad" in given else base.bad  # type: ignore[union-attr]
        good = number(f"{key}.good", given["good"]) if "good" in given else base.good  # type: ignore[union-attr]
        if bad == good:
            raise SettingError(key, f"bad and good must differ (both are {bad:g})")
        return Linear(bad, good)
    base_bands = default if isinstance(default, Bands) else None
    if "bands" in given:
        bands = _parse_bands(f"{key}.bands", given["bands"], higher_better)
    elif base_bands is not None:
        bands = base_bands.bands
    else:
        raise SettingError(key, "otherwise needs bands = [[limit, score], …] (this input's rule is linear)")
    otherwise = number(f"{key}.otherwise", given["otherwise"], 0, 100) if "otherwise" in given else (
        base_bands.otherwise if base_bands is not None else 0.0)
    return Bands(higher_better, bands, otherwise)


def _parse_bands(key: str, value: Any, higher_better: bool) -> tuple[tuple[float, float], ...]:
    if not isinstance(value, list) or not value:
        raise SettingError(key, f"must be a list of [limit, score] pairs, got {value!r}")
    out = []
    for i, pair in enumerate(value):
        if not isinstance(pair, list) or len(pair) != 2:
            raise SettingError(f"{key}[{i}]", f"must be a [limit, score] pair, got {pair!r}")
        out.append((number(f"{key}[{i}]", pair[0]), number(f"{key}[{i}]", pair[1], 0, 100)))
    limits = [limit for limit, _ in out]
    if len(set(limits)) != len(limits):
        raise SettingError(key, "two bands have the same limit")
    return tuple(sorted(out, key=lambda p: -p[0] if higher_better else p[0]))
