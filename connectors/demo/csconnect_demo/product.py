"""Product analytics: workspaces (group keys) and each user's daily activity.

Usage is generated one calendar month at a time from a generator seeded by
(account, month), so any day can be rebuilt without the rest of the window.
"""
from __future__ import annotations

import math
from bisect import bisect
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .clock import DAY, day_text, iso, to_date
from .names import FEATURES

if TYPE_CHECKING:
    from .world import World


def group_records(w: "World") -> list[dict[str, Any]]:
    out = []
    for a in w.accounts:
        created = min(a.signup + 600, w.end - 60)
        last = a.subs[-1]
        out.append({"group_key": a.group_key, "group_type": "company", "created": iso(created),
                    "properties": {"$name": a.names["product"], "domain": a.domains["product"],
                                   "plan": last.plan.product, "seats": last.quantity}})
    return sorted(out, key=lambda r: (r["created"], r["group_key"]))


def days(w: "World") -> list[str]:
    return [day_text(w.start + k * DAY) for k in range((w.end - w.start) // DAY)]


def _seats_at(a: Any, t: int) -> int:
    for s in reversed(a.subs):
        if s.created <= t:
            qty = next((ln.quantity for i in s.invoices for ln in i.lines if ln.kind == "subscription"),
                       s.quantity)
            for at, _, new in s.changes:
                if at <= t:
                    qty = new
            return qty
    return a.seats


@lru_cache(maxsize=None)
def _features(breadth: int, width: int, first: int) -> list[str]:
    """`width` of the account's first `breadth` features, starting at `first` (shared, never mutated)."""
    return sorted(FEATURES[(first + i) % breadth] for i in range(width))


def _poisson_table(lam: float) -> list[float]:
    """Cumulative Poisson(lam) probabilities for k = 0, 1, … (inverse-CDF draws with one random())."""
    out, p, total = [], math.exp(-lam), 0.0
    for k in range(40):
        total += p
        out.append(total)
        p *= lam / (k + 1)
    return out


def usage_month(w: "World", m: int) -> dict[str, list[dict[str, Any]]]:
    """{day: [usage_daily rows]} for window month m, accounts in index order."""
    lo, hi = w.month_starts[m], w.month_starts[m + 1]
    names = {t: day_text(t) for t in range(lo, hi, DAY)}
    out: dict[str, list[dict[str, Any]]] = {d: [] for d in names.values()}
    scale = w.usage_scale
    if scale <= 0:
        return out
    sessions_of = {True: _poisson_table(1.2), False: _poisson_table(0.4)}
    width_of = {True: _poisson_table(1.5), False: _poisson_table(0.6)}
    casual_days = _poisson_table(2.0 * scale)
    for a in w.accounts:
        spans = a.overlap(lo, hi)
        if not spans:
            continue
        r = w.rng("usage", a.index, m)
        rand = r.random
        live_days = sorted({t - t % DAY for s, e, _ in spans for t in range(s - s % DAY, e, DAY) if t >= lo})
        if not live_days:
            continue
        trial = all(k == "trial" for _, _, k in spans)
        h = a.health[m]
        seats = _seats_at(a, spans[-1][1] - 1)
        util = min(0.97, max(0.04, (0.15 if trial else 0.2) + 0.7 * h + r.gauss(0, 0.05)))
        mau = max(1, round(seats * util * min(1.0, len(live_days) / 7)))
        breadth = max(1, min(len(FEATURES), round(2 + 7 * h + r.gauss(0, 1))))
        weekdays = [t for t in live_days if to_date(t).weekday() < 5] or live_days
        p_power = min(0.95, 0.5 * scale)
        for u in range(mau):
            power = u < max(1, mau * 20 // 100)
            if power:
                active = [t for t in weekdays if rand() < p_power] or [weekdays[int(rand() * len(weekdays))]]
            else:
                k = min(len(live_days), max(1, bisect(casual_days, rand())))
                active = [live_days[int(rand() * len(live_days))]] if k == 1 else sorted(r.sample(live_days, k))
            user = f"{a.group_key}.u{u + 1:03d}"
            s_table, f_table = sessions_of[power], width_of[power]
            for t in active:
                sessions = 1 + bisect(s_table, rand())
                width = min(breadth, 1 + bisect(f_table, rand()))
                used = _features(breadth, width, int(rand() * breadth))
                day = names[t]
                out[day].append({"source_id": f"{user}|{day}", "source_account_id": a.group_key, "user_id": user,
                                 "day": day, "events": sessions * (3 + int(rand() * rand() * 60)),
                                 "sessions": sessions, "active_seconds": sessions * (120 + int(rand() * 1380)),
                                 "features": used})
    return out
