"""Alert rules from `[alerts]` in csconnect.toml: evaluated after every metrics run, de-duplicated
across runs in the `alerts` table, and sent to sinks through an outbox. See docs/alerts.md.

An alert *episode* is one row: the same condition seen again updates `last_seen`; when it clears,
`resolved_at` is set; a later firing is a new row. Event rules (a detractor NPS answer) are keyed
by the event, so each event gives at most one row, ever.
"""
from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from .alert_sinks import SEVERITIES, Alert
from .config import Config
from .alert_rules import KINDS, RuleContext
from .store import Store

log = logging.getLogger("csconnect.alerts")
RULE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
FILTERS = ("segment", "owner", "lifecycle_stage")       # optional per-rule account filters
RULE_KEYS = ("name", "kind", "severity", *FILTERS)
SINK_KEYS = ("type", "min_severity", "rules")           # the rest are the sink type's options


@dataclass
class Rule:
    name: str
    kind: str
    severity: str
    params: dict[str, Any]
    filters: dict[str, list[str]] = field(default_factory=dict)

    @property
    def event(self) -> bool:
        return KINDS[self.kind].event


@dataclass
class SinkConfig:
    name: str
    type: str
    min_severity: str
    rules: list[str] | None
    options: dict[str, Any]

    def wants(self, rule: str, severity: str) -> bool:
        if SEVERITIES.index(severity) < SEVERITIES.index(self.min_severity):
            return False
        return self.rules is None or rule in self.rules


@dataclass
class AlertsConfig:
    rules: list[Rule]
    sinks: dict[str, SinkConfig]


@dataclass
class AlertReport:
    """What one evaluation did, and what delivery did after it."""

    as_of: str
    new: int = 0
    still_open: int = 0
    resolved: int = 0
    skipped: str | None = None                      # why nothing was evaluated
    not_evaluated: list[str] = field(default_factory=list)   # rules whose inputs have no rows
    deliveries: list[Any] = field(default_factory=list)      # DeliveryResult per sink

    def line(self) -> str:
        if self.skipped:
            return f"alerts: not evaluated: {self.skipped}"
        text = f"alerts: {self.new} new, {self.still_open} still open, {self.resolved} resolved"
        if self.not_evaluated:
            text += f" (no data yet for {', '.join(self.not_evaluated)})"
        parts = [d.line() for d in self.deliveries if d.line()]
        return text + ("; " + "; ".join(parts) if parts else "")


# -- configuration ---------------------------------------------------------------------------------

def parse_alerts(cfg: Config) -> AlertsConfig:
    """Validate `[alerts]` (cfg.alerts) into rules and sink settings; one-line ConfigError naming the key."""
    data = cfg.alerts or {}
    for key in data:
        if key not in ("rules", "sinks"):
            raise cfg.error(f"alerts.{key}", "unknown key (known keys here: rules, sinks)")
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise cfg.error("alerts.rules", "must be a list of tables: write each rule as [[alerts.rules]]")
    rules: list[Rule] = []
    for i, raw in enumerate(raw_rules):
        rules.append(_rule(cfg, f"alerts.rules[{i}]", raw, {r.name for r in rules}))
    raw_sinks = data.get("sinks", {})
    if not isinstance(raw_sinks, dict):
        raise cfg.error("alerts.sinks", "must be a table of sinks: [alerts.sinks.NAME]")
    sinks = {name: _sink(cfg, name, raw, {r.name for r in rules}) for name, raw in raw_sinks.items()}
    return AlertsConfig(rules, sinks)


def _rule(cfg: Config, key: str, raw: Any, taken: set[str]) -> Rule:
    if not isinstance(raw, dict):
        raise cfg.error(key, "must be a table: write each rule as [[alerts.rules]]")
    name = raw.get("name")
    if not isinstance(name, str) or not RULE_NAME.match(name):
        raise cfg.error(f"{key}.name", "is required: lower-case letters, digits, _ and - (e.g. name = \"health_red\")"
                        if name is None else f"must be lower-case letters, digits, _ and -, got {name!r}")
    if name in taken:
        raise cfg.error(f"{key}.name", f"another rule is already named {name!r}; rule names must be unique")
    kind = raw.get("kind")
    if kind not in KINDS:
        kinds = ", ".join(KINDS)
        raise cfg.error(f"{key}.kind", f"is required (one of: {kinds})" if kind is None else
                        f"unknown kind {kind!r} (kinds: {kinds})")
    spec = KINDS[kind]
    for k in raw:
        if k not in RULE_KEYS and k not in spec.params:
            takes = ", ".join([*RULE_KEYS, *spec.params])
            raise cfg.error(f"{key}.{k}", f"unknown key ({kind} rules take: {takes})")
    severity = raw.get("severity", "warning")
    if severity not in SEVERITIES:
        raise cfg.error(f"{key}.severity", f"must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    params = {p.name: p.read(cfg, f"{key}.{p.name}", raw) for p in spec.params.values()}
    spec.check(cfg, key, params)
    filters = {}
    for f in FILTERS:
        if f in raw:
            filters[f] = _texts(cfg, f"{key}.{f}", raw[f])
    return Rule(name, kind, severity, params, filters)


def _texts(cfg: Config, key: str, value: Any) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise cfg.error(key, f"must be text or a list of text, got {value!r}")
    return [v.strip().lower() for v in values]


def _sink(cfg: Config, name: str, raw: Any, rule_names: set[str]) -> SinkConfig:
    key = f"alerts.sinks.{name}"
    if not isinstance(raw, dict):
        raise cfg.error(key, "must be a table ([alerts.sinks.NAME] with type = \"webhook\", url = …)")
    kind = raw.get("type", name)
    if not isinstance(kind, str):
        raise cfg.error(f"{key}.type", f"must be text (an alert sink type such as \"webhook\"), got {kind!r}")
    minimum = raw.get("min_severity", "info")
    if minimum not in SEVERITIES:
        raise cfg.error(f"{key}.min_severity", f"must be one of {', '.join(SEVERITIES)}, got {minimum!r}")
    only = None
    if "rules" in raw:
        only = raw["rules"]
        if not isinstance(only, list) or not all(isinstance(r, str) for r in only):
            raise cfg.error(f"{key}.rules", f"must be a list of rule names, got {only!r}")
        unknown = [r for r in only if r not in rule_names]
        if unknown:
            raise cfg.error(f"{key}.rules", f"no rule named {unknown[0]!r} (rules: {', '.join(sorted(rule_names))})")
    options = {k: v for k, v in raw.items() if k not in SINK_KEYS}
    return SinkConfig(name, kind, minimum, only, options)


# -- evaluation ------------------------------------------------------------------------------------

def _ts(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def update_alerts(store: Store, config: Config, registry: Any, as_of: Any = None, *,
                  settings: AlertsConfig | None = None,
                  sleep: Callable[[float], None] = time.sleep) -> AlertReport | None:
    """Evaluate the rules as of `as_of`, then send what is pending; None when [alerts] has no rules."""
    settings = settings or parse_alerts(config)
    if not settings.rules:
        return None
    report = evaluate(store, config, settings, as_of)
    if settings.sinks and not report.skipped:
        from .alert_delivery import deliver
        report.deliveries = deliver(store, config, registry, settings=settings, sleep=sleep)
    log.warning("%s", report.line())
    return report


def evaluate(store: Store, config: Config, settings: AlertsConfig, as_of: Any = None) -> AlertReport:
    """Write the rules' findings into `alerts` (and pending deliveries) in one transaction."""
    from .metrics import parse_as_of
    when = parse_as_of(as_of)
    now = _ts(when)
    report = AlertReport(now)
    latest = store.conn.execute(
        "SELECT MAX(MAX(first_seen, last_seen, COALESCE(resolved_at, ''))) FROM alerts").fetchone()[0]
    if latest and latest > now:
        report.skipped = (f"as-of {now} is before the last evaluation ({latest}); alerts describe the present, "
                          "so a back-dated run leaves them as they are")
        return report
    ctx = RuleContext(store, config, when)
    with store.transaction() as conn:
        existing: dict[str, dict[str, Any]] = {}   # condition key -> its latest episode
        counts: dict[str, int] = {}
        for row in store.query("SELECT id, key, rule, kind, resolved_at, \"values\" FROM alerts ORDER BY id"):
            ckey = row["key"] if KINDS.get(row["kind"]) and KINDS[row["kind"]].event else row["key"].rsplit("#", 1)[0]
            existing[ckey] = row
            counts[ckey] = counts.get(ckey, 0) + 1
        configured = {(r.name, r.kind) for r in settings.rules}
        for rule in settings.rules:
            spec = KINDS[rule.kind]
            if not ctx.has_input(spec.inputs):
                report.not_evaluated.append(rule.name)
                continue
            open_keys = [ckey for ckey, r in existing.items()
                         if r["rule"] == rule.name and r["kind"] == rule.kind and r["resolved_at"] is None]
            open_values = {ckey.split(":", 1)[1]: json.loads(existing[ckey]["values"] or "{}") for ckey in open_keys}
            findings = {f"{rule.name}:{f.subject}": f for f in spec.evaluate(ctx, rule.params, open_values)
                        if ctx.matches(f.account_id, rule.filters)}
            for ckey, f in findings.items():
                row = existing.get(ckey)
                values = json.dumps(f.values, ensure_ascii=False, sort_keys=True, default=str)
                if row and row["resolved_at"] is None and row["kind"] == rule.kind:
                    conn.execute("UPDATE alerts SET last_seen = MAX(last_seen, ?), \"values\" = ?, message = ?, "
                                 "severity = ? WHERE id = ?", (now, values, f.message, rule.severity, row["id"]))
                    report.still_open += 1
                    continue
                if row and rule.event:
                    continue        # an event fires once, ever
                key = ckey if rule.event else f"{ckey}#{counts.get(ckey, 0) + 1}"
                cur = conn.execute(
                    "INSERT INTO alerts (key, rule, kind, account_id, severity, message, \"values\", first_seen, "
                    "last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, rule.name, rule.kind, f.account_id, rule.severity, f.message, values, now, now))
                conn.executemany("INSERT OR IGNORE INTO _csconnect_alert_deliveries (alert_id, sink) VALUES (?, ?)",
                                 [(cur.lastrowid, s.name) for s in settings.sinks.values()
                                  if s.wants(rule.name, rule.severity)])
                report.new += 1
            for ckey in open_keys:
                if ckey not in findings:
                    conn.execute("UPDATE alerts SET resolved_at = ? WHERE id = ?", (now, existing[ckey]["id"]))
                    report.resolved += 1
        skipped = set(report.not_evaluated)
        for ckey, row in existing.items():   # rules removed from the configuration (or changed kind)
            if row["resolved_at"] is None and (row["rule"], row["kind"]) not in configured \
                    and row["rule"] not in skipped:
                conn.execute("UPDATE alerts SET resolved_at = ? WHERE id = ?", (now, row["id"]))
                report.resolved += 1
    return report


# -- reading ---------------------------------------------------------------------------------------

def list_alerts(store: Store, *, include_resolved: bool = False, account: str | None = None,
                rule: str | None = None, since: str | None = None) -> list[dict[str, Any]]:
    """Alerts, newest first, with the account's name and each sink's delivery status."""
    where, params = [], []
    if not include_resolved:
        where.append("a.resolved_at IS NULL")
    if account:
        where.append("(a.account_id = ? OR lower(acc.name) LIKE ?)")
        params += [account, f"%{account.lower()}%"]
    if rule:
        where.append("a.rule = ?")
        params.append(rule)
    if since:
        where.append("a.first_seen >= ?")
        params.append(since)
    sql = ("SELECT a.id, a.severity, a.rule, a.kind, a.account_id, acc.name AS account, a.message, "
           "a.\"values\", a.first_seen, a.last_seen, a.resolved_at, "
           "(SELECT group_concat(d.sink || ': ' || d.status, ', ') FROM _csconnect_alert_deliveries d "
           " WHERE d.alert_id = a.id) AS delivery "
           "FROM alerts a LEFT JOIN accounts acc ON acc.account_id = a.account_id"
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY a.first_seen DESC, a.id DESC")
    rows = store.query(sql, params) if store.db["accounts"].exists() else \
        store.query(sql.replace("LEFT JOIN accounts acc ON acc.account_id = a.account_id",
                                "LEFT JOIN (SELECT NULL AS account_id, NULL AS name) acc ON 0"), params)
    for r in rows:
        r["values"] = json.loads(r["values"] or "{}")
    return rows


def row_to_alert(row: dict[str, Any]) -> Alert:
    values = row.get("values")
    return Alert(row.get("id"), row["key"], row["rule"], row["kind"], row.get("account_id"), row.get("account"),
                 row["severity"], row["message"], json.loads(values) if isinstance(values, str) else (values or {}),
                 row.get("first_seen", ""), row.get("last_seen", ""), row.get("resolved_at"))

