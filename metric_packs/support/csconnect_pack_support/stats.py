"""Order statistics and the NPS interval, without numpy."""
from __future__ import annotations

import math
from typing import Sequence


def quantile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile of already sorted values, interpolated linearly (numpy's default, "linear").

    The position is h = (n − 1)·q counted from 0; the result is x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]).
    None for no values.
    """
    n = len(values)
    if n == 0:
        return None
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be between 0 and 1, got {q!r}")
    h = (n - 1) * q
    lo = math.floor(h)
    if lo >= n - 1:
        return float(values[-1])
    frac = h - lo
    low = float(values[lo])
    return low + frac * (float(values[lo + 1]) - low)


def median(values: Sequence[float]) -> float | None:
    """Median of sorted values; an even count gives the mean of the two middle values."""
    n = len(values)
    if n == 0:
        return None
    mid = n // 2
    if n % 2:
        return float(values[mid])
    return (float(values[mid - 1]) + float(values[mid])) / 2


def nps_interval(promoters: int, detractors: int, n: int, z: float = 1.96) -> tuple[float, float, float, float] | None:
    """(nps, se, ci_low, ci_high) on the −100…100 scale; None when n = 0.

    SE = 100·√((p + d − (p − d)²)/n) with p, d the promoter and detractor shares; the interval is
    nps ± z·SE (z = 1.96 for 95 %), clamped to −100…100.
    """
    if n <= 0:
        return None
    p, d = promoters / n, detractors / n
    nps = 100.0 * (p - d)
    variance = max(p + d - (p - d) ** 2, 0.0)       # rounding can make 0 slightly negative
    se = 100.0 * math.sqrt(variance / n)
    return nps, se, max(-100.0, nps - z * se), min(100.0, nps + z * se)
