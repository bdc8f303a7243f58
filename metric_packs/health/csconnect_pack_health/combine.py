"""Combining input scores into group scores and the overall score, in Python and in SQL.

    group score  = Σ wᵢ·sᵢ / Σ wᵢ   over the group's inputs that have data (and weight > 0)
    overall      = Σ W_g·S_g / Σ W_g over the groups that have data (and weight > 0)

A group without data has its weight re-distributed over the others (it is listed in `missing`).
Then the caps: while an input with a cap scores 0, the overall score is at most the cap.
Each input's `share` is its weight in the overall score: (W_g / Σ W) · (wᵢ / Σ w in g), so
overall = Σ shareᵢ · sᵢ. `combine` is what the components and drivers are built with;
`score_sql` is the same arithmetic for the history, evaluated by SQLite over many rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from .settings import Profile

# {group: (group weight, {input: (input weight, score or None)})}
Groups = Mapping[str, tuple[float, Mapping[str, tuple[float, float | None]]]]


@dataclass
class Combined:
    score: float | None
    groups: dict[str, float | None] = field(default_factory=dict)        # group -> score (None: no data)
    group_shares: dict[str, float] = field(default_factory=dict)         # group -> share of the overall
    shares: dict[str, float] = field(default_factory=dict)               # input -> share of the overall
    missing: list[str] = field(default_factory=list)                     # weighted groups without data


def combine(groups: Groups) -> Combined:
    """The overall score of one account from its groups' weighted input scores (unrounded)."""
    out = Combined(None)
    num = den = 0.0
    inner: dict[str, float] = {}
    for g, (gw, inputs) in groups.items():
        gnum = gden = 0.0
        for _name, (w, s) in inputs.items():
            if s is not None and w > 0:
                gnum += w * s
                gden += w
        out.groups[g] = gnum / gden if gden > 0 else None
        inner[g] = gden
        if gw > 0 and gden > 0:
            num += gw * out.groups[g]  # type: ignore[operator]
            den += gw
        elif gw > 0:
            out.missing.append(g)
    if den <= 0:
        return out
    out.score = num / den
    for g, (gw, inputs) in groups.items():
        if gw > 0 and inner[g] > 0:
            out.group_shares[g] = gw / den
            for name, (w, s) in inputs.items():
                if s is not None and w > 0:
                    out.shares[name] = gw / den * w / inner[g]
    return out


def points_lost(combined: Combined, scores: Mapping[str, float | None]) -> dict[str, float]:
    """Score points each input costs the overall score: shareᵢ · (100 − sᵢ)."""
    return {name: share * (100.0 - scores[name]) for name, share in combined.shares.items()  # type: ignore[operator]
            if scores.get(name) is not None}


def caps_hit(profile: Profile, score: float | None, scores: Mapping[str, float | None]) -> list[tuple[str, float]]:
    """(input, cap) of the caps that lower this score, lowest cap first."""
    if score is None:
        return []
    hit = [(n, c) for n, c in profile.active_caps() if scores.get(n) is not None and scores[n] <= 0 and c < score]
    return sorted(hit, key=lambda x: (x[1], x[0]))


def capped(profile: Profile, score: float | None, scores: Mapping[str, float | None]) -> float | None:
    hit = caps_hit(profile, score, scores)
    return min(c for _, c in hit) if hit else score


def _lit(x: float) -> str:
    return repr(float(x))


def capped_sql(profile: Profile, col: str = "s_{}") -> str:
    """score_sql with the profile's caps applied (MIN of the score and the caps whose input scores 0)."""
    caps = profile.active_caps()
    if not caps:
        return score_sql(profile, col)
    limits = ", ".join(f"(CASE WHEN {col.format(n)} <= 0 THEN {_lit(c)} ELSE 100.0 END)" for n, c in caps)
    return f"MIN({score_sql(profile, col)}, {limits})"


def score_sql(profile: Profile, col: str = "s_{}") -> str:
    """The overall score of one row whose input scores are columns `s_<input>` (NULL: no data)."""
    parts_num, parts_den = [], []
    for g in profile.groups:
        weighted = [(name, w) for name, w in g.inputs if w > 0]
        if g.weight <= 0 or not weighted:
            continue
        gnum = " + ".join(f"{_lit(w)} * COALESCE({col.format(n)}, 0)" for n, w in weighted)
        gden = " + ".join(f"{_lit(w)} * ({col.format(n)} IS NOT NULL)" for n, w in weighted)
        parts_num.append(f"{_lit(g.weight)} * COALESCE(({gnum}) / NULLIF({gden}, 0), 0)")
        parts_den.append(f"{_lit(g.weight)} * (({gden}) > 0)")
    return f"(({' + '.join(parts_num)}) / NULLIF({' + '.join(parts_den)}, 0))"


def band_sql(profile: Profile, score: str) -> str:
    return (f"CASE WHEN {score} IS NULL THEN NULL WHEN {score} >= {_lit(profile.green)} THEN 'green' "
            f"WHEN {score} >= {_lit(profile.yellow)} THEN 'yellow' ELSE 'red' END")


def by_profile(profiles: list[Profile], expr: Callable[[Profile], str], column: str = "pf") -> str:
    """CASE over the profile id column: the default profile (id 0) in ELSE, the others only where they differ."""
    default = expr(profiles[0])
    whens = []
    for i, p in enumerate(profiles[1:], start=1):
        e = expr(p)
        if e != default:
            whens.append(f"WHEN {i} THEN {e}")
    if not whens:
        return default
    return f"(CASE {column} {' '.join(whens)} ELSE {default} END)"
