"""What the dashboard shows, read from the database into one JSON-ready dict.

Everything the page draws comes from here: KPI series by month (for the whole company and
per segment), the NPS interval, at-risk accounts, the renewal pipeline, the scorecard and
open alerts. The page filters by segment in the browser, so every segment's numbers are
included; account-level rows carry their account's segment.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

from ..metrics import NONE_SEGMENT, add_months
from ..money import SYMBOLS, exponent
from ..store import Store

# Metrics the page draws, monthly. Each section below names the ones it needs.
TILES: list[tuple[str, str]] = [
    ("mrr", "MRR"), ("customers", "Customers"), ("net_new_mrr", "Net new MRR"),
    ("customer_churn_rate", "Customer churn"), ("nrr", "NRR (12 months)"), ("grr", "GRR (12 months)"),
    ("nps", "NPS"), ("csat", "CSAT"), ("ces", "CES"),
    ("first_reply_seconds_median", "First reply (median)"), ("resolution_seconds_median", "Resolution (median)"),
    ("first_contact_resolution_rate", "First-contact resolution"),
    ("dau_mau", "DAU/MAU"), ("seat_utilisation", "Seat utilisation"),
    ("health_score_mean", "Mean health score"), ("accounts_red", "Accounts in red"),
]
MOVEMENTS = ["mrr_new", "mrr_expansion", "mrr_reactivation", "mrr_contraction", "mrr_churn"]

# id, heading, metrics whose rows mean "this section has data", what fills it when empty.
SECTIONS: list[dict[str, Any]] = [
    {"id": "kpis", "title": "Key numbers", "metrics": [m for m, _ in TILES],
     "empty": "no KPI values yet: sync your sources (csconnect sync) and run csconnect metrics run"},
    {"id": "mrr", "title": "MRR and its movements", "metrics": ["mrr"] + MOVEMENTS,
     "empty": "no revenue data: connect a billing source (Stripe, Chargebee, …), sync it and run "
              "csconnect metrics run (revenue pack)"},
    {"id": "retention", "title": "Churn and revenue retention",
     "metrics": ["customer_churn_rate", "gross_mrr_churn_rate", "net_mrr_churn_rate", "nrr", "grr"],
     "empty": "no revenue data: connect a billing source, sync it and run csconnect metrics run (revenue pack)"},
    {"id": "satisfaction", "title": "NPS, CSAT and CES", "metrics": ["nps", "csat", "ces"],
     "empty": "no survey data: connect a helpdesk or survey tool with NPS/CSAT/CES answers and run "
              "csconnect metrics run (support pack)"},
    {"id": "support", "title": "Ticket times and first-contact resolution",
     "metrics": ["first_reply_seconds_median", "first_reply_seconds_p90", "resolution_seconds_median",
                 "resolution_seconds_p90", "first_contact_resolution_rate"],
     "empty": "no support data: connect a helpdesk and run csconnect metrics run (support pack)"},
    {"id": "usage", "title": "Product usage", "metrics": ["dau_mau", "seat_utilisation", "dau", "mau"],
     "empty": "no product usage data: connect product analytics (Mixpanel, PostHog, …) and run "
              "csconnect metrics run (usage pack)"},
    {"id": "health", "title": "Health distribution",
     "metrics": ["accounts_green", "accounts_yellow", "accounts_red", "health_score_mean"],
     "empty": "no health scores: install csconnect-pack-health and run csconnect metrics run"},
    {"id": "at_risk", "title": "At-risk accounts", "metrics": [],
     "empty": "no account in the red or yellow band (health scores come from csconnect-pack-health "
              "and csconnect metrics run)"},
    {"id": "renewals", "title": "Renewal pipeline", "metrics": [],
     "empty": "no renewals due: the revenue pack lists subscription terms and open renewal deals ending in "
              "the next 90 days (csconnect metrics run)"},
    {"id": "scorecard", "title": "Scorecard", "metrics": [],
     "empty": "no targets: add KPI targets under [targets] in csconnect.toml and run csconnect scorecard"},
    {"id": "alerts", "title": "Open alerts", "metrics": [],
     "empty": "no open alerts: alert rules under [alerts] in csconnect.toml raise them (csconnect alerts)"},
]
CHART_METRICS = sorted({m for s in SECTIONS for m in s["metrics"]} | {"arr", "customers"})
AT_RISK_LIMIT = 500
ALERTS_LIMIT = 200


def _exists(store: Store, table: str) -> bool:
    return store.conn.execute("SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?",
                              (table,)).fetchone() is not None


def _q(store: Store, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    return store.query(sql, params)


def _json_list(text: Any) -> list[str]:
    if not text:
        return []
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return [str(text)]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _seg(value: Any) -> str:
    return NONE_SEGMENT if value is None or value == "" else str(value)


def segments(store: Store) -> list[str]:
    """Segments present in metric_values (segment_by = 'segment') or in accounts, sorted, '(none)' last."""
    found = {r["segment"] for r in _q(store, "SELECT DISTINCT segment FROM metric_values "
                                             "WHERE segment_by = 'segment'")}
    if _exists(store, "accounts"):
        found |= {_seg(r["segment"]) for r in _q(store, "SELECT DISTINCT segment FROM accounts")}
    return sorted(found, key=lambda s: (s == NONE_SEGMENT, s.lower()))


def _as_of(store: Store) -> str | None:
    for table in ("renewal_pipeline", "account_health"):
        if _exists(store, table):
            row = store.conn.execute(f"SELECT MAX(as_of) FROM {table}").fetchone()
            if row and row[0]:
                return str(row[0])[:10]
    row = store.conn.execute("SELECT MAX(period_end) FROM metric_values WHERE grain = 'month'").fetchone()
    return str(row[0])[:10] if row and row[0] else None


def _series(store: Store, months: int) -> tuple[dict[str, Any], dict[str, dict[str, Any]], str | None]:
    marks = ",".join("?" * len(CHART_METRICS))
    last = store.conn.execute(f"SELECT MAX(period_start) FROM metric_values WHERE grain = 'month' "
                              f"AND metric IN ({marks})", CHART_METRICS).fetchone()[0]
    if not last:
        return {}, {}, None
    first = add_months(date.fromisoformat(last[:10]), -(months - 1)).isoformat()
    rows = _q(store, f"""SELECT metric, segment_by, segment, period_start, period_end, value FROM metric_values
        WHERE grain = 'month' AND segment_by IN ('all', 'segment') AND metric IN ({marks})
          AND period_start >= ? ORDER BY period_start""", [*CHART_METRICS, first])
    overall: dict[str, list[Any]] = {}
    by_seg: dict[str, dict[str, list[Any]]] = {}
    for r in rows:
        target = overall if r["segment_by"] == "all" else by_seg.setdefault(r["segment"], {})
        target.setdefault(r["metric"], []).append([r["period_start"], r["value"], r["period_end"]])
    return overall, by_seg, first


def _nps_interval(store: Store, first: str | None) -> tuple[list[Any], dict[str, list[Any]]]:
    if first is None or not _exists(store, "nps_detail"):
        return [], {}
    overall: list[Any] = []
    by_seg: dict[str, list[Any]] = {}
    for r in _q(store, """SELECT segment_by, segment, period_start, n, ci_low, ci_high, small_sample
            FROM nps_detail WHERE grain = 'month' AND segment_by IN ('all', 'segment') AND period_start >= ?
            ORDER BY period_start""", [first]):
        item = [r["period_start"], r["n"], r["ci_low"], r["ci_high"], r["small_sample"]]
        (overall if r["segment_by"] == "all" else by_seg.setdefault(r["segment"], [])).append(item)
    return overall, by_seg


def _accounts(store: Store) -> dict[str, dict[str, Any]]:
    if not _exists(store, "accounts"):
        return {}
    return {r["account_id"]: {"name": r["name"] or r["account_id"], "segment": _seg(r["segment"])}
            for r in _q(store, "SELECT account_id, name, segment FROM accounts")}


def _account_mrr(store: Store) -> dict[str, float]:
    rows = _q(store, """SELECT account_id, value FROM account_metrics WHERE metric = 'mrr' AND grain = 'month'
        AND period_start = (SELECT MAX(period_start) FROM account_metrics WHERE metric = 'mrr' AND grain = 'month')""")
    return {r["account_id"]: r["value"] for r in rows}


def _who(accounts: dict[str, dict[str, Any]], account_id: str | None) -> dict[str, Any]:
    info = accounts.get(account_id or "", {})
    return {"account_id": account_id, "name": info.get("name", account_id),
            "segment": info.get("segment", NONE_SEGMENT)}


def _at_risk(store: Store, accounts: dict[str, dict[str, Any]], mrr: dict[str, float]) -> list[dict[str, Any]]:
    out = []
    for r in _q(store, f"""SELECT account_id, score, band, trend, drivers, components FROM account_health
            WHERE band IN ('red', 'yellow') ORDER BY score, account_id LIMIT {AT_RISK_LIMIT}"""):
        missing = []
        try:
            missing = list(json.loads(r["components"] or "{}").get("missing") or [])
        except (TypeError, ValueError, AttributeError):
            pass
        out.append({**_who(accounts, r["account_id"]), "score": r["score"], "band": r["band"],
                    "trend": r["trend"], "mrr": mrr.get(r["account_id"]), "drivers": _json_list(r["drivers"]),
                    "missing": [str(m) for m in missing]})
    return out


def _renewals(store: Store, accounts: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    if not _exists(store, "renewal_pipeline"):
        return []
    bands = {r["account_id"]: r["band"] for r in _q(store, "SELECT account_id, band FROM account_health")}
    return [{**_who(accounts, r["account_id"]), "kind": r["kind"], "plan": r["plan"], "status": r["status"],
             "term_end": str(r["term_end"])[:10], "days": r["days_to_term_end"], "mrr": r["mrr"],
             "deal_amount": r["deal_amount"], "cancel": bool(r["cancel_at_period_end"]),
             "band": bands.get(r["account_id"])}
            for r in _q(store, "SELECT * FROM renewal_pipeline ORDER BY term_end, account_id, kind")]


def _scorecard(store: Store) -> list[dict[str, Any]]:
    """The latest period of each (metric, grain, segment) with its status, plus the statuses before it."""
    if not _exists(store, "scorecard"):
        return []
    columns = {r["name"] for r in _q(store, "PRAGMA table_info(scorecard)")}
    extra = "".join(f", {c}" for c in ("operator", "at_risk") if c in columns)
    rows = _q(store, f"""SELECT metric, grain, period_start, segment_by, segment, value, target, direction,
        status{extra} FROM scorecard ORDER BY metric, grain, segment_by, segment, period_start""")
    latest: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["metric"], r["grain"], r["segment_by"], r["segment"])
        history = latest[key]["history"] if key in latest else []
        history = (history + [[r["period_start"], r["status"]]])[-6:]
        latest[key] = {**r, "history": history}
    return list(latest.values())


def _alerts(store: Store, accounts: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    if not _exists(store, "alerts"):
        return []
    return [{**_who(accounts, r["account_id"]), "rule": r["rule"], "kind": r["kind"], "severity": r["severity"],
             "message": r["message"], "first_seen": r["first_seen"], "last_seen": r["last_seen"]}
            for r in _q(store, f"""SELECT * FROM alerts WHERE resolved_at IS NULL
                ORDER BY first_seen DESC, id DESC LIMIT {ALERTS_LIMIT}""")]


def report_data(store: Store, currency: str = "USD", *, months: int = 24, segment: str | None = None,
                title: str = "Customer success report", generated_at: datetime | None = None) -> dict[str, Any]:
    """Everything the dashboard shows, as plain JSON-ready values (money in minor units)."""
    cur = currency.upper()
    overall, by_seg, first = _series(store, months)
    nps_all, nps_seg = _nps_interval(store, first)
    accounts = _accounts(store)
    definitions = {r["metric"]: {"title": r["title"] or r["metric"], "unit": r["unit"] or "",
                                 "direction": r["direction"] or ""}
                   for r in _q(store, "SELECT metric, title, unit, direction FROM metric_definitions")}
    computed = store.conn.execute("SELECT MAX(computed_at) FROM metric_values").fetchone()[0]
    if computed:
        computed = str(computed).replace("T", " ").rstrip("Z")[:16] + " UTC"
    generated = (generated_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return {
        "meta": {"title": title, "as_of": _as_of(store), "currency": cur, "exponent": exponent(cur),
                 "symbol": SYMBOLS.get(cur, ""), "generated_at": generated.strftime("%Y-%m-%d %H:%M UTC"),
                 "computed_at": computed, "months": months, "segment": segment,
                 "database": store.path.name},
        "segments": segments(store),
        "definitions": definitions,
        "tiles": [{"metric": m, "label": label} for m, label in TILES],
        "movements": MOVEMENTS,
        "sections": [{k: s[k] for k in ("id", "title", "metrics", "empty")} for s in SECTIONS],
        "series": {"all": overall, "segments": by_seg},
        "nps_interval": {"all": nps_all, "segments": nps_seg},
        "at_risk": _at_risk(store, accounts, _account_mrr(store)) if _exists(store, "account_health") else [],
        "renewals": _renewals(store, accounts),
        "scorecard": _scorecard(store),
        "alerts": _alerts(store, accounts),
    }


def has_data(data: dict[str, Any], section: str, segment: str | None = None) -> bool:
    """Whether `section` has anything to show for the whole company (or one segment)."""
    spec = next(s for s in data["sections"] if s["id"] == section)
    series = data["series"]["all"] if segment is None else data["series"]["segments"].get(segment, {})
    if spec["metrics"]:
        return any(series.get(m) for m in spec["metrics"])
    rows = data[section]
    if section == "scorecard":
        return any((r["segment_by"] == "all") if segment is None else
                   (r["segment_by"] == "segment" and r["segment"] == segment) for r in rows)
    return any(segment is None or r["segment"] == segment for r in rows)
