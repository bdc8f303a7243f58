"""One customer's 360° view and the accounts-by-health list, as plain data (the CLI and report print it).

`account_view(store, "acme")` gathers, for one resolved account: its profile and linked sources,
MRR history, health score with drivers, open tickets, latest NPS answer, latest touch, open alerts
and the next renewal. Every section is present; a section without data is None or an empty list.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from .errors import UsageError
from .model import CONNECTOR_TABLES
from .store import Store

OPEN_TICKET = ("new", "open", "pending")
BANDS = ("green", "yellow", "red")
HEALTH_GROUPS = ("segment", "lifecycle_stage", "industry", "country", "owner")


def _has(store: Store, table: str) -> bool:
    return store.db[table].exists()


def _loads(text: Any, default: Any) -> Any:
    if text is None or text == "":
        return default
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return default


def _parse_ts(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def _days(since: str | None, now: datetime) -> float | None:
    ts = _parse_ts(since)
    return None if ts is None else round((now - ts).total_seconds() / 86400, 1)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def find_account(store: Store, text: str) -> dict[str, Any]:
    """An account by id, name (any case), domain, or a unique part of its name or domain."""
    found = store.query("SELECT * FROM accounts WHERE account_id = ? OR lower(name) = lower(?) OR domain = ? "
                        "ORDER BY account_id", [text, text, text.lower()])
    if not found:
        found = store.query("SELECT * FROM accounts WHERE name LIKE ? OR domain LIKE ? ORDER BY name",
                            [f"%{text}%", f"%{text}%"])
    if not found:
        raise UsageError(f"no account {text!r}; `csconnect accounts --search TEXT` finds one")
    if len(found) > 1 and not any(r["account_id"] == text for r in found):
        names = ", ".join(f"{r['name'] or r['account_id']} ({r['account_id']})" for r in found[:5])
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        raise UsageError(f"{text!r} matches {len(found)} accounts: {names}{more}; give the account id")
    return next((r for r in found if r["account_id"] == text), found[0])


def latest_mrr_sql(account: str = "h.account_id") -> str:
    """SQL for an account's latest monthly MRR (revenue pack, account_metrics `mrr`), minor units."""
    return (f"(SELECT m.value FROM account_metrics m WHERE m.account_id = {account} AND m.metric = 'mrr' "
            "AND m.grain = 'month' ORDER BY m.period_start DESC LIMIT 1)")


def account_view(store: Store, account: str, *, now: datetime | None = None, months: int = 12,
                 currency: str = "USD") -> dict[str, Any]:
    """The whole view as one JSON-ready dict (see the module docstring)."""
    now = now or _now()
    acc = find_account(store, account)
    aid = acc["account_id"]
    profile = {**acc, "sources": _loads(acc.get("sources"), acc.get("sources"))}
    links = store.query("SELECT source, source_account_id, rule, confidence FROM account_links "
                        "WHERE account_id = ? ORDER BY source", [aid])
    counts = {t: store.count(t, "account_id = ?", [aid]) for t in CONNECTOR_TABLES if t != "source_accounts"}
    return {
        "account_id": aid,
        "name": acc.get("name"),
        "as_of": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "currency": currency,
        "profile": profile,
        "links": links,
        "rows": counts,
        "mrr": _mrr(store, aid, months),
        "health": _health(store, aid),
        "open_tickets": _open_tickets(store, aid, now),
        "last_nps": _last_nps(store, aid, now),
        "last_touch": _last_touch(store, aid, now),
        "alerts": _alerts(store, aid),
        "renewal": _renewal(store, aid, now),
    }


def _mrr(store: Store, aid: str, months: int) -> list[dict[str, Any]]:
    rows = store.query("SELECT period_start, value FROM account_metrics WHERE account_id = ? AND metric = 'mrr' "
                       "AND grain = 'month' ORDER BY period_start DESC LIMIT ?", [aid, months])
    return [{"month": r["period_start"][:7], "mrr": r["value"]} for r in reversed(rows)]


def _health(store: Store, aid: str) -> dict[str, Any] | None:
    rows = store.query("SELECT * FROM account_health WHERE account_id = ?", [aid]) \
        if _has(store, "account_health") else []
    if not rows:
        return None
    h = rows[0]
    components = _loads(h["components"], {})
    history = store.query("SELECT as_of, score, band FROM account_health_history WHERE account_id = ? "
                          "ORDER BY as_of DESC LIMIT 13", [aid]) if _has(store, "account_health_history") else []
    return {"score": h["score"], "band": h["band"], "trend": h["trend"], "as_of": h["as_of"],
            "drivers": _loads(h["drivers"], []), "profile": components.get("profile"),
            "groups": components.get("groups", {}), "missing": components.get("missing", []),
            "history": list(reversed(history))}


def _open_tickets(store: Store, aid: str, now: datetime) -> list[dict[str, Any]]:
    rows = store.query(
        "SELECT id, subject, priority, status, created_at, escalated FROM tickets WHERE account_id = ? "
        "AND status IN ('new', 'open', 'pending') ORDER BY created_at", [aid])
    for r in rows:
        r["age_days"] = _days(r["created_at"], now)
        r["escalated"] = bool(r["escalated"]) if r["escalated"] is not None else None
    return rows


def nps_category(score: float | None, lo: float | None = 0, hi: float | None = 10) -> str | None:
    """promoter / passive / detractor on the 0-10 scale (other scales are rescaled to it first)."""
    if score is None:
        return None
    lo, hi = (0.0 if lo is None else lo), (10.0 if hi is None else hi)
    s = score if (lo, hi) == (0, 10) or hi == lo else (score - lo) * 10 / (hi - lo)
    return "promoter" if s >= 9 else "passive" if s >= 7 else "detractor"


def _last_nps(store: Store, aid: str, now: datetime) -> dict[str, Any] | None:
    rows = store.query("SELECT score, scale_min, scale_max, comment, responded_at FROM survey_responses "
                       "WHERE account_id = ? AND kind = 'nps' ORDER BY responded_at DESC LIMIT 1", [aid])
    if not rows:
        return None
    r = rows[0]
    return {"score": r["score"], "category": nps_category(r["score"], r["scale_min"], r["scale_max"]),
            "comment": r["comment"], "responded_at": r["responded_at"], "days_ago": _days(r["responded_at"], now)}


def _last_touch(store: Store, aid: str, now: datetime) -> dict[str, Any] | None:
    rows = store.query("SELECT kind, occurred_at, owner, subject FROM activities WHERE account_id = ? "
                       "ORDER BY occurred_at DESC LIMIT 1", [aid])
    if not rows:
        return None
    return {**rows[0], "days_ago": _days(rows[0]["occurred_at"], now)}


def _alerts(store: Store, aid: str) -> list[dict[str, Any]]:
    if not _has(store, "alerts"):
        return []
    return store.query("SELECT rule, severity, message, first_seen, last_seen FROM alerts "
                       "WHERE account_id = ? AND resolved_at IS NULL ORDER BY first_seen DESC", [aid])


def _renewal(store: Store, aid: str, now: datetime) -> dict[str, Any] | None:
    """The next renewal: the revenue pack's renewal_pipeline, else an open renewal deal, else the
    current term end of an active annual (or longer) subscription."""
    today = now.strftime("%Y-%m-%d")
    if _has(store, "renewal_pipeline"):
        rows = store.query("SELECT kind, ref_id, plan, status, term_end, cancel_at_period_end FROM renewal_pipeline "
                           "WHERE account_id = ? ORDER BY term_end LIMIT 1", [aid])
        if rows:
            r = rows[0]
            return {"date": r["term_end"][:10], "source": r["kind"], "ref_id": r["ref_id"], "plan": r["plan"],
                    "status": r["status"], "cancel_at_period_end": bool(r["cancel_at_period_end"]),
                    "days_to": _days_until(r["term_end"], now)}
    deals = store.query("SELECT id, stage, close_date, amount, currency FROM deals WHERE account_id = ? "
                        "AND kind = 'renewal' AND COALESCE(is_closed, 0) = 0 AND close_date >= ? "
                        "ORDER BY close_date LIMIT 1", [aid, today])
    if deals:
        d = deals[0]
        return {"date": d["close_date"][:10], "source": "deal", "ref_id": d["id"], "plan": None,
                "status": d["stage"], "cancel_at_period_end": False, "days_to": _days_until(d["close_date"], now)}
    subs = store.query(
        "SELECT id, plan_name, status, current_period_end, cancel_at_period_end FROM subscriptions "
        "WHERE account_id = ? AND status IN ('active', 'past_due', 'trialing') AND current_period_end >= ? "
        "AND (interval = 'year' OR (interval = 'month' AND COALESCE(interval_count, 1) >= 12)) "
        "ORDER BY current_period_end LIMIT 1", [aid, today])
    if subs:
        s = subs[0]
        return {"date": s["current_period_end"][:10], "source": "subscription", "ref_id": s["id"],
                "plan": s["plan_name"], "status": s["status"],
                "cancel_at_period_end": bool(s["cancel_at_period_end"]),
                "days_to": _days_until(s["current_period_end"], now)}
    return None


def _days_until(when: str | None, now: datetime) -> float | None:
    d = _days(when, now)
    return None if d is None else round(-d, 1)


# -- accounts by health ---------------------------------------------------------------------------------
def health_ready(store: Store) -> bool:
    return _has(store, "account_health") and store.count("account_health") > 0


def health_rows(store: Store, band: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Scored accounts, worst first: name, segment, owner, MRR, score, band, trend and the top driver."""
    if not health_ready(store):
        return []
    where, params = ("WHERE h.band = ?", [band]) if band else ("", [])
    rows = store.query(
        "SELECT h.account_id, a.name, a.segment, a.owner, "
        f"{latest_mrr_sql()} AS mrr, h.score, h.band, h.trend, h.drivers, h.as_of "
        f"FROM account_health h LEFT JOIN accounts a ON a.account_id = h.account_id {where} "
        "ORDER BY h.score IS NULL, h.score, h.trend, a.name, h.account_id" + (" LIMIT ?" if limit else ""),
        params + ([limit] if limit else []))
    for r in rows:
        drivers = _loads(r.pop("drivers"), [])
        r["driver"] = drivers[0] if drivers else None
        r["drivers"] = drivers
    return rows


def health_groups(store: Store, by: str, band: str | None = None) -> list[dict[str, Any]]:
    """Per value of an account dimension: accounts per band, mean score, MRR and MRR in the red band."""
    if by not in HEALTH_GROUPS:
        raise UsageError(f"--by {by}: group by one of {', '.join(HEALTH_GROUPS)}")
    if not health_ready(store):
        return []
    where, params = ("WHERE h.band = ?", [band]) if band else ("", [])
    rows = store.query(
        f"SELECT COALESCE(NULLIF(a.{by}, ''), '(none)') AS grp, COUNT(*) AS accounts, "
        "SUM(h.band = 'green') AS green, SUM(h.band = 'yellow') AS yellow, SUM(h.band = 'red') AS red, "
        f"AVG(h.score) AS mean_score, TOTAL({latest_mrr_sql()}) AS mrr, "
        f"TOTAL(CASE WHEN h.band = 'red' THEN {latest_mrr_sql()} END) AS red_mrr "
        f"FROM account_health h LEFT JOIN accounts a ON a.account_id = h.account_id {where} "
        "GROUP BY grp ORDER BY mean_score, grp", params)
    for r in rows:
        r[by] = r.pop("grp")
    return [{by: r[by], **{k: v for k, v in r.items() if k != by}} for r in rows]
