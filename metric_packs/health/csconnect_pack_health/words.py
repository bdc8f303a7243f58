"""Drivers in words: each input's raw value as a CS manager would say it."""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

Row = Mapping[str, Any]


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def _n(x: Any) -> str:
    x = float(x)
    return f"{x:,.0f}" if x.is_integer() else f"{x:,.1f}"


def _plural(n: Any, word: str) -> str:
    return f"{_n(n)} {word}{'' if float(n) == 1 else 's'}"


def seat_utilisation(r: Row, p: Mapping[str, Any]) -> str:
    text = f"seat utilisation {_pct(r['r_seat_utilisation'])}"
    if r.get("su_seats"):
        text += f": {_n(r.get('su_mau') or 0)} of {_plural(r['su_seats'], 'seat')} active"
    return text


def usage_trend(r: Row, p: Mapping[str, Any]) -> str:
    x = r["r_usage_trend"]
    if abs(x - 1) < 0.005:
        return "active users flat over the last 30 days"
    way = "down" if x < 1 else "up"
    return f"active users {way} {_pct(abs(1 - x))} over the last 30 days (vs the 30 days before)"


def feature_breadth(r: Row, p: Mapping[str, Any]) -> str:
    return (f"feature breadth {_pct(r['r_feature_breadth'])}: {_n(r.get('fb_n') or 0)} of "
            f"{_plural(r.get('n_feat') or 0, 'feature')} used in the last 30 days")


def csat(r: Row, p: Mapping[str, Any]) -> str:
    months = r.get("cs_n") or 0
    return f"CSAT {_pct(r['r_csat'])} (mean of {_plural(months, 'month')} with ratings)"


def open_escalations(r: Row, p: Mapping[str, Any]) -> str:
    n = r["r_open_escalations"]
    return "no open escalations" if not n else f"{_plural(n, 'escalated ticket')} open"


def ticket_volume(r: Row, p: Mapping[str, Any]) -> str:
    x, n, seats = r["r_ticket_volume"], r.get("tv_n") or 0, r.get("tv_seats") or 0
    peers = f"segment {r['tv_group']}" if r.get("tv_group") else "all accounts"
    per = 100.0 * n / seats if seats else 0.0
    peer = 100.0 * (r.get("tv_peer") or 0.0)
    return (f"ticket volume {x:.1f}× peers: {_plural(n, 'ticket')} from {_plural(seats, 'seat')} in "
            f"{p['window_days']} days ({per:.1f} per 100 seats vs {peer:.1f} for {peers})")


def reopen_rate(r: Row, p: Mapping[str, Any]) -> str:
    return (f"reopen rate {_pct(r['r_reopen_rate'])}: {_n(r.get('ro_k') or 0)} of "
            f"{_plural(r.get('ro_n') or 0, 'ticket')} solved in {p['window_days']} days reopened")


def mrr_trend(r: Row, p: Mapping[str, Any]) -> str:
    x, months = r["r_mrr_trend"], p["mrr_trend_months"]
    span = f"{months} month{'s' if months != 1 else ''}"
    if abs(x) < 0.005:
        return f"MRR flat over {span}"
    return f"MRR {'down' if x < 0 else 'up'} {_pct(abs(x))} over {span}"


def payment_status(r: Row, p: Mapping[str, Any]) -> str:
    days = r["r_payment_status"]
    n = r.get("pd_n") or 0
    if not days and not n:
        return "no invoice past due"
    return f"{_plural(n, 'invoice')} past due, the oldest by {_plural(math.floor(days), 'day')}"


def nps_category(r: Row, p: Mapping[str, Any]) -> str:
    score = r["r_nps_category"]
    category = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
    when = f" on {r['np_ts'][:10]}" if r.get("np_ts") else ""
    return f"latest NPS answer {_n(score)} ({category}){when}"


def days_since_touch(r: Row, p: Mapping[str, Any]) -> str:
    days = math.floor(r["r_days_since_touch"])
    if r.get("tc_ts"):
        return f"no touch in {_plural(days, 'day')} (last {r['tc_ts'][:10]})"
    return f"no touch recorded since the account was created {_plural(days, 'day')} ago"


WORDS: dict[str, Callable[[Row, Mapping[str, Any]], str]] = {
    f.__name__: f for f in (seat_utilisation, usage_trend, feature_breadth, csat, open_escalations, ticket_volume,
                            reopen_rate, mrr_trend, payment_status, nps_category, days_since_touch)}


def describe(name: str, row: Row, params: Mapping[str, Any]) -> str:
    return WORDS[name](row, params)
