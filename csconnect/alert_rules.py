"""The alert rule kinds: their parameters and how each finds the accounts (or events) it fires for.

Each kind reads what the metric packs wrote (account_health, account_health_history,
account_metrics) or canonical rows (survey_responses) as of the run's as-of instant.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator

from .config import Config
from .money import format_money
from .store import Store

BANDS = ("green", "yellow", "red")       # best first: a higher index is worse
REQUIRED: Any = type("Required", (), {"__repr__": lambda self: "<required>"})()
_WORDS = {int: "a whole number", float: "a number", bool: "true or false", list: "a list of text"}


@dataclass
class Finding:
    """One thing a rule fires for: `subject` keys it (the account, or the event), with its numbers and words."""

    subject: str
    account_id: str | None
    message: str
    values: dict[str, Any]


@dataclass(frozen=True)
class Param:
    name: str
    type: type
    default: Any = REQUIRED
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None     # for list params: the allowed items

    def read(self, cfg: Config, key: str, raw: dict[str, Any]) -> Any:
        if self.name not in raw:
            if self.default is REQUIRED:
                raise cfg.error(key, f"is required: add {self.name} = … to this rule")
            return list(self.default) if isinstance(self.default, list) else self.default
        value = raw[self.name]
        if self.type is list and isinstance(value, str):
            value = [value]
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        ok = isinstance(value, self.type) and not (self.type in (int, float) and isinstance(value, bool))
        if ok and self.type is list:
            ok = bool(value) and all(isinstance(v, str) for v in value)
        if not ok:
            raise cfg.error(key, f"must be {_WORDS.get(self.type, self.type.__name__)}, got {value!r}")
        if self.choices and self.type is list:
            bad = [v for v in value if v not in self.choices]
            if bad:
                raise cfg.error(key, f"{bad[0]!r} is not one of {', '.join(self.choices)}")
        if self.min is not None and value < self.min:
            raise cfg.error(key, f"must be at least {self.min:g}, got {value!r}")
        if self.max is not None and value > self.max:
            raise cfg.error(key, f"must be at most {self.max:g}, got {value!r}")
        return value


class RuleContext:
    """What a rule kind reads: the store, the configuration, the as-of instant and the accounts."""

    def __init__(self, store: Store, config: Config, as_of: datetime):
        self.store = store
        self.config = config
        self.as_of = as_of
        self.as_of_ts = as_of.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.as_of_day = as_of.date()
        self._accounts: dict[str, dict[str, Any]] | None = None
        self._paying: set[str] | None = None

    @property
    def accounts(self) -> dict[str, dict[str, Any]]:
        if self._accounts is None:
            self._accounts = {r["account_id"]: r for r in self.store.query(
                "SELECT account_id, name, segment, owner, lifecycle_stage FROM accounts")}
        return self._accounts

    def name(self, account_id: str | None) -> str:
        row = self.accounts.get(account_id or "")
        return (row or {}).get("name") or account_id or "an unlinked customer"

    def matches(self, account_id: str | None, filters: dict[str, list[str]]) -> bool:
        if not filters:
            return True
        row = self.accounts.get(account_id or "") or {}
        return all(str(row.get(f) or "").strip().lower() in allowed for f, allowed in filters.items())

    def has_input(self, sql: str) -> bool:
        return self.store.conn.execute(sql).fetchone() is not None

    def param(self, pack: str, name: str, default: Any) -> Any:
        value = (self.config.packs.get(pack) or {}).get(name, default)
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    def history_at(self, days: int) -> dict[str, dict[str, Any]]:
        """Each account's health from account_health_history `days` before as-of (the latest row on or
        before that day, if it is at most a week older)."""
        target = self.as_of_day - timedelta(days=days)
        rows = self.store.query(
            "SELECT h.account_id, h.as_of, h.score, h.band FROM account_health_history h "
            "WHERE h.as_of = (SELECT MAX(x.as_of) FROM account_health_history x WHERE x.account_id = h.account_id "
            "AND x.as_of <= ?) AND h.as_of > ?", [target.isoformat(), (target - timedelta(days=7)).isoformat()])
        return {r["account_id"]: r for r in rows}

    def paying(self) -> set[str] | None:
        """Accounts with MRR > 0 in the as-of month (revenue pack); None when it has not run."""
        if self._paying is None and self.has_input(
                "SELECT 1 FROM account_metrics WHERE metric = 'mrr' AND grain = 'month' LIMIT 1"):
            self._paying = {r[0] for r in self.store.conn.execute(
                "SELECT account_id FROM account_metrics WHERE metric = 'mrr' AND grain = 'month' "
                "AND period_start = ? AND value > 0", [self.as_of_day.replace(day=1).isoformat()])}
        return self._paying

    def money(self, minor: float | None) -> str:
        return format_money(minor, self.config.reporting_currency)


def num(value: float) -> str:
    """42 -> '42', 42.456 -> '42.5' (percentages)."""
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def pts(value: float) -> str:
    """Health scores and points as the pack rounds them: 42 -> '42', 79.96 -> '79.96' (never '80' in yellow)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


# -- the kinds -------------------------------------------------------------------------------------

_HEALTH = "SELECT 1 FROM account_health WHERE score IS NOT NULL LIMIT 1"


def _health(ctx: RuleContext, where: str = "", params: list[Any] | None = None) -> list[dict[str, Any]]:
    return ctx.store.query("SELECT account_id, score, band, trend, drivers FROM account_health "
                           f"WHERE score IS NOT NULL {where} ORDER BY account_id", params or [])


def _driver(row: dict[str, Any]) -> str:
    try:
        drivers = json.loads(row.get("drivers") or "[]")
    except ValueError:
        return ""
    return f"; {drivers[0]}" if drivers and isinstance(drivers[0], str) else ""


def score_below(ctx: RuleContext, p: dict[str, Any], open_: dict[str, Any]) -> Iterator[Finding]:
    trend_days = ctx.param("health", "trend_days", 30)
    for r in _health(ctx, "AND score < ?", [p["threshold"]]):
        a = r["account_id"]
        text = f"{ctx.name(a)}: health {pts(r['score'])} ({r['band']}), below {pts(p['threshold'])}"
        if r["trend"] is not None and r["trend"] <= -0.5:
            text += f", down {pts(-r['trend'])} points in {trend_days} days"
        yield Finding(a, a, text + _driver(r), {"score": r["score"], "band": r["band"], "trend": r["trend"],
                                                 "threshold": p["threshold"], "as_of": ctx.as_of_ts})


def score_drop(ctx: RuleContext, p: dict[str, Any], open_: dict[str, Any]) -> Iterator[Finding]:
    days = p["days"]
    rows = _health(ctx)
    if days == ctx.param("health", "trend_days", 30):
        before = {r["account_id"]: r["score"] - r["trend"] for r in rows if r["trend"] is not None}
    else:
        before = {a: h["score"] for a, h in ctx.history_at(days).items() if h["score"] is not None}
    for r in rows:
        a = r["account_id"]
        if a not in before:
            continue
        drop = round(before[a] - r["score"], 2)
        if drop >= p["points"]:
            text = (f"{ctx.name(a)}: health {pts(r['score'])} ({r['band']}), down {pts(drop)} points in {days} days "
                    f"(was {pts(before[a])})")
            yield Finding(a, a, text + _driver(r), {"score": r["score"], "band": r["band"], "before": before[a],
                                                     "drop": drop, "days": days, "as_of": ctx.as_of_ts})


def band_change(ctx: RuleContext, p: dict[str, Any], open_: dict[str, Any]) -> Iterator[Finding]:
    """Fires when the band is worse than `days` ago (and is one of `to`); stays open until it improves."""
    days = p["days"]
    then = ctx.history_at(days)
    rank = {b: i for i, b in enumerate(BANDS)}
    for r in _health(ctx):
        a, band = r["account_id"], r["band"]
        if band not in rank:
            continue
        was = open_.get(a)
        if was is not None:
            if rank[band] < rank.get(was.get("band"), 0):
                continue                     # improved: the episode resolves
            before, before_score = was.get("from"), was.get("before_score")
        else:
            h = then.get(a)
            before, before_score = (h["band"], h["score"]) if h else (None, None)
            if before not in rank or rank[band] <= rank[before] or band not in p["to"]:
                continue
            if p["from"] is not None and before not in p["from"]:
                continue
        prior = f"; {pts(before_score)} about {days} days ago" if before_score is not None else ""
        text = f"{ctx.name(a)}: health band {before} → {band} (score {pts(r['score'])}{prior})"
        yield Finding(a, a, text + _driver(r), {"from": before, "band": was.get("band") if was else band,
                                                 "now": band, "score": r["score"], "before_score": before_score,
                                                 "days": days, "as_of": ctx.as_of_ts})


def nps_detractor(ctx: RuleContext, p: dict[str, Any], open_: dict[str, Any]) -> Iterator[Finding]:
    """One finding per NPS answer (0-10 scale) of at most max_score given in the last `days` days."""
    since = (ctx.as_of - timedelta(days=p["days"])).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = ctx.store.query(
        "SELECT r.id, r.account_id, r.score, r.comment, r.responded_at, c.email, c.name AS contact "
        "FROM survey_responses r LEFT JOIN contacts c ON c.id = r.contact_id "
        "WHERE r.kind = 'nps' AND r.account_id IS NOT NULL AND r.score IS NOT NULL AND r.score <= ? "
        "AND COALESCE(r.scale_min, 0) = 0 AND COALESCE(r.scale_max, 10) = 10 "
        "AND r.responded_at <= ? AND r.responded_at > ? ORDER BY r.responded_at, r.id",
        [p["max_score"], ctx.as_of_ts, since])
    for r in rows:
        who = r["email"] or r["contact"]
        text = f"{ctx.name(r['account_id'])}: NPS {num(r['score'])} (detractor)" + (f" from {who}" if who else "")
        text += f" on {str(r['responded_at'])[:10]}"
        comment = " ".join(str(r["comment"] or "").split())
        if comment:
            text += f': "{comment[:140]}{"…" if len(comment) > 140 else ""}"'
        yield Finding(r["id"], r["account_id"], text, {"response_id": r["id"], "score": r["score"],
                                                        "responded_at": r["responded_at"], "comment": comment or None,
                                                        "contact": who, "as_of": ctx.as_of_ts})


def mrr_contraction(ctx: RuleContext, p: dict[str, Any], open_: dict[str, Any]) -> Iterator[Finding]:
    """Account MRR (revenue pack, month grain) of the as-of month vs `months` earlier, down by `percent` or more."""
    from .metrics import add_months, month_start
    cur = month_start(ctx.as_of_day)
    prev = add_months(cur, -p["months"])
    churn = "" if p["include_churn"] else "AND c.value > 0"
    rows = ctx.store.query(
        "SELECT c.account_id, c.value AS now, b.value AS before FROM account_metrics c "
        "JOIN account_metrics b ON b.account_id = c.account_id AND b.metric = 'mrr' AND b.grain = 'month' "
        "AND b.period_start = ? WHERE c.metric = 'mrr' AND c.grain = 'month' AND c.period_start = ? "
        f"AND b.value > 0 AND c.value IS NOT NULL AND (b.value - c.value) * 100.0 >= ? * b.value {churn} "
        "ORDER BY c.account_id", [prev.isoformat(), cur.isoformat(), p["percent"]])
    span = "month over month" if p["months"] == 1 else f"over {p['months']} months"
    for r in rows:
        a = r["account_id"]
        drop = 100.0 * (r["before"] - r["now"]) / r["before"]
        text = (f"{ctx.name(a)}: MRR down {num(drop)}% {span} ({ctx.money(r['before'])} → {ctx.money(r['now'])})"
                + (", churned" if r["now"] <= 0 else ""))
        yield Finding(a, a, text, {"mrr": r["now"], "mrr_before": r["before"], "drop_percent": round(drop, 2),
                                   "month": cur.isoformat(), "compared_with": prev.isoformat(),
                                   "currency": ctx.config.reporting_currency, "as_of": ctx.as_of_ts})


def usage_drop(ctx: RuleContext, p: dict[str, Any], open_: dict[str, Any]) -> Iterator[Finding]:
    """The usage pack's per-account usage_trend (active users last N days / the N before) down by `percent`."""
    day = ctx.as_of_day.isoformat()
    rows = ctx.store.query("SELECT account_id, value, period_start FROM account_metrics WHERE metric = 'usage_trend' "
                           "AND grain = 'day' AND period_start = ?", [day])
    if not rows:   # the usage pack ran at another as-of: its latest weekly value from the last two weeks
        rows = ctx.store.query(
            "SELECT m.account_id, m.value, m.period_start FROM account_metrics m WHERE m.metric = 'usage_trend' "
            "AND m.grain = 'week' AND m.period_start = (SELECT MAX(x.period_start) FROM account_metrics x "
            "WHERE x.account_id = m.account_id AND x.metric = 'usage_trend' AND x.grain = 'week' "
            "AND x.period_start <= ?) AND m.period_start > ?",
            [day, (ctx.as_of_day - timedelta(days=14)).isoformat()])
    window = ctx.param("usage", "usage_trend_days", 30)
    paying = ctx.paying() if p["customers_only"] else None
    for r in sorted(rows, key=lambda r: r["account_id"]):
        if r["value"] is None or r["value"] * 100.0 > 100.0 - p["percent"] + 1e-9:
            continue
        if paying is not None and r["account_id"] not in paying:
            continue                          # churned or never paid: no usage is expected
        a = r["account_id"]
        drop = 100.0 * (1 - r["value"])
        text = f"{ctx.name(a)}: active users down {num(drop)}% (last {window} days vs the {window} days before)"
        yield Finding(a, a, text, {"usage_trend": r["value"], "drop_percent": round(drop, 2), "window_days": window,
                                   "measured": r["period_start"], "as_of": ctx.as_of_ts})


@dataclass(frozen=True)
class Kind:
    evaluate: Callable[[RuleContext, dict[str, Any], dict[str, Any]], Iterator[Finding]]
    inputs: str                               # SQL returning a row when the rule has data to look at
    params: dict[str, Param] = field(default_factory=dict)
    event: bool = False                       # keyed by the event: fires once, ever
    doc: str = ""

    def check(self, cfg: Config, key: str, params: dict[str, Any]) -> None:
        return None


def _params(*params: Param) -> dict[str, Param]:
    return {p.name: p for p in params}


_DAYS = Param("days", int, 30, 1, 366)
KINDS: dict[str, Kind] = {
    "score_below": Kind(score_below, _HEALTH, _params(Param("threshold", float, REQUIRED, 0, 100)),
                        doc="health score below `threshold`"),
    "score_drop": Kind(score_drop, _HEALTH, _params(Param("points", float, REQUIRED, 0.1, 100), _DAYS),
                       doc="health score down `points` or more over `days`"),
    "band_change": Kind(band_change, _HEALTH, _params(
        Param("to", list, ["yellow", "red"], choices=BANDS), Param("from", list, None, choices=BANDS), _DAYS),
        doc="health band worse than `days` ago"),
    "nps_detractor": Kind(nps_detractor, "SELECT 1 FROM survey_responses WHERE kind = 'nps' LIMIT 1", _params(
        Param("max_score", int, 6, 0, 10), _DAYS), event=True, doc="an NPS answer of `max_score` or less"),
    "mrr_contraction": Kind(mrr_contraction,
                            "SELECT 1 FROM account_metrics WHERE metric = 'mrr' AND grain = 'month' LIMIT 1",
                            _params(Param("percent", float, REQUIRED, 0.1, 100), Param("months", int, 1, 1, 24),
                                    Param("include_churn", bool, True)),
                            doc="account MRR down `percent` % or more"),
    "usage_drop": Kind(usage_drop, "SELECT 1 FROM account_metrics WHERE metric = 'usage_trend' LIMIT 1",
                       _params(Param("percent", float, REQUIRED, 0.1, 100), Param("customers_only", bool, True)),
                       doc="active users down `percent` % or more"),
}
