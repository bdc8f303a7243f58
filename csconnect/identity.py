"""Identity resolution: every source account -> one resolved account.

Rules, in order: explicit overrides (config or CSV) -> a shared external id ->
the web or email domain (free-mail domains ignored) -> the exact normalized name.
Domain and name rules never put two accounts of the same source into one
account; such a clash is recorded as a conflict instead. Unlinked source
accounts stay accounts of their own (rule `self`).
"""
from __future__ import annotations

import csv
import json
import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from .config import Config
from .errors import ConfigError
from .model import CONNECTOR_TABLES
from .store import Store, now_iso

log = logging.getLogger("csconnect.identity")

CONFIDENCE = {"override": 1.0, "external_id": 0.95, "domain": 0.8, "name": 0.6, "self": 1.0}
FREE_MAIL = frozenset("""
gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr yahoo.de ymail.com hotmail.com hotmail.co.uk
hotmail.fr outlook.com live.com msn.com aol.com icloud.com me.com mac.com proton.me protonmail.com pm.me
gmx.com gmx.de gmx.net web.de mail.com yandex.ru yandex.com zoho.com qq.com 163.com 126.com hey.com
fastmail.com tutanota.com mail.ru orange.fr free.fr laposte.net btinternet.com comcast.net verizon.net
att.net sbcglobal.net t-online.de libero.it naver.com
""".split())
# Which category's value wins for each golden-record attribute.
DEFAULT_PRECEDENCE = {
    "name": ["crm", "billing", "helpdesk", "engagement", "product_analytics", "survey", "files"],
    "domain": ["crm", "billing", "helpdesk", "engagement", "product_analytics", "survey", "files"],
    "segment": ["crm", "files", "billing"], "lifecycle_stage": ["crm", "files", "billing"],
    "owner": ["crm", "files", "helpdesk"], "industry": ["crm", "files", "billing"],
    "country": ["crm", "billing", "files", "helpdesk"],
    "seats": ["billing", "files", "crm"],
}
_LEGAL = re.compile(r"\b(inc|incorporated|llc|l\.l\.c|ltd|limited|gmbh|corp|corporation|co|company|sa|sas|"
                    r"ag|bv|b\.v|plc|pty|oy|ab|srl|spa|kk|nv)\b\.?")


def normalize_domain(value: Any) -> str | None:
    """`https://www.Acme.com/about` -> `acme.com`; emails give their domain."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().lower()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text).split("/")[0].split("?")[0].split(":")[0]
    text = text.removeprefix("www.").strip(".")
    return text if "." in text and re.fullmatch(r"[a-z0-9.-]+", text) else None


def normalize_name(value: Any) -> str | None:
    """`ACME, Inc.` and `Acme Inc` -> `acme`."""
    if not value or not isinstance(value, str):
        return None
    text = value.lower().replace("&", " and ")
    text = _LEGAL.sub(" ", re.sub(r"[^\w\s.]", " ", text))
    text = re.sub(r"[\s.]+", " ", text).strip()
    return text or None


@dataclass
class Node:
    key: tuple[str, str]                      # (source, source_account_id)
    name: str | None
    domain: str | None
    external_ids: dict[str, str]
    attributes: dict[str, Any]
    created_at: str | None
    category: str
    pinned: str | None = None
    rule: str | None = None

    @property
    def label(self) -> str:
        return f"{self.key[0]}:{self.key[1]}"


@dataclass
class LinkSummary:
    source_accounts: int = 0
    accounts: int = 0
    rules: Counter = field(default_factory=Counter)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    rows_updated: int = 0

    def line(self) -> str:
        rules = ", ".join(f"{k} {v}" for k, v in sorted(self.rules.items()))
        text = f"linked {self.source_accounts} source accounts into {self.accounts} accounts ({rules or 'none'})"
        if self.conflicts:
            text += f"; {len(self.conflicts)} conflict(s): see `csconnect accounts --conflicts`"
        return text


class _Groups:
    """Union-find that keeps, per group, which sources it holds."""

    def __init__(self, nodes: Iterable[Node]):
        keys = [n.key for n in nodes]
        self.parent = {k: k for k in keys}
        self.sources = {k: {k[0]} for k in keys}

    def find(self, k: tuple[str, str]) -> tuple[str, str]:
        while self.parent[k] != k:
            self.parent[k] = self.parent[self.parent[k]]
            k = self.parent[k]
        return k

    def clash(self, a: tuple[str, str], b: tuple[str, str]) -> bool:
        ra, rb = self.find(a), self.find(b)
        return ra != rb and bool(self.sources[ra] & self.sources[rb])

    def union(self, a: tuple[str, str], b: tuple[str, str]) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.sources[ra] |= self.sources.pop(rb)
        return True


def _categories(config: Config, registry: Any) -> dict[str, str]:
    out = {}
    for name, cc in config.connections.items():
        try:
            out[name] = registry.connector(cc.connector).category_for(cc.settings) if registry else "other"
        except Exception:
            out[name] = "other"
    return out


def _overrides(config: Config) -> dict[tuple[str, str], str]:
    ident = config.identity
    out: dict[tuple[str, str], str] = {}

    def add(where: str, source_key: str, account_id: Any) -> None:
        if ":" not in source_key:
            raise config.error(where, f"{source_key!r} must be written as \"<connection>:<source account id>\"")
        if not isinstance(account_id, str) or not account_id.strip():
            raise config.error(where, "the account id must be non-empty text")
        source, sid = source_key.split(":", 1)
        out[(source, sid)] = account_id.strip()

    for k, v in (ident.get("overrides") or {}).items():
        add(f"identity.overrides.{k}", k, v)
    if ident.get("overrides_csv"):
        path = config.root / ident["overrides_csv"]
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                need = {"source", "source_account_id", "account_id"}
                if not need <= set(reader.fieldnames or ()):
                    raise ConfigError(f"{path.name}: needs the columns source, source_account_id, account_id")
                for i, row in enumerate(reader, start=2):
                    add(f"identity.overrides_csv ({path.name} line {i})",
                        f"{row['source']}:{row['source_account_id']}", row["account_id"])
        except OSError as exc:
            raise config.error("identity.overrides_csv", f"cannot read {path}: {exc.strerror}") from None
    return out


def _load_nodes(store: Store, categories: dict[str, str], free: frozenset[str]) -> list[Node]:
    contact_domains: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for source, sid, email in store.iter_query(
            "SELECT source, source_account_id, email FROM contacts WHERE email IS NOT NULL "
            "AND source_account_id IS NOT NULL"):
        d = normalize_domain(email)
        if d and d not in free:
            contact_domains[(source, sid)][d] += 1
    nodes: dict[tuple[str, str], Node] = {}
    for source, sid, name, domain, ext, attrs, created in store.iter_query(
            "SELECT source, source_account_id, name, domain, external_ids, attributes, created_at "
            "FROM source_accounts WHERE source_account_id IS NOT NULL ORDER BY source, source_account_id"):
        d = normalize_domain(domain)
        if d in free:
            d = None
        if d is None and contact_domains.get((source, sid)):
            d = contact_domains[(source, sid)].most_common(1)[0][0]
        nodes[(source, sid)] = Node((source, sid), name, d, {str(k): str(v) for k, v in _loads(ext).items() if v},
                                    _loads(attrs), created, categories.get(source, "other"))
    return list(nodes.values())


def _loads(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def resolve(nodes: list[Node], overrides: dict[tuple[str, str], str], connectors: dict[str, str]
            ) -> tuple[dict[tuple[str, str], str], list[dict[str, Any]]]:
    """The account id of every node, and the conflicts met on the way."""
    by_key = {n.key: n for n in nodes}
    groups = _Groups(nodes)
    conflicts: list[dict[str, Any]] = []
    pinned_groups: dict[str, tuple[str, str]] = {}
    for key, account_id in sorted(overrides.items()):
        node = by_key.get(key)
        if node is None:
            continue
        node.pinned, node.rule = account_id, "override"
        if account_id in pinned_groups:
            groups.union(pinned_groups[account_id], key)
        else:
            pinned_groups[account_id] = key
    free = [n for n in nodes if n.pinned is None]

    def link(a: Node, b: Node, rule: str, check_clash: bool, value: str) -> None:
        if check_clash and groups.clash(a.key, b.key):
            if any(c["kind"] == f"shared_{rule}" and c["value"] == value for c in conflicts):
                return
            conflicts.append({"kind": f"shared_{rule}", "value": value,
                              "members": sorted({a.label, b.label}),
                              "resolution": "not linked: both sides already hold an account of the same source"})
            return
        if groups.union(a.key, b.key):
            for n in (a, b):
                n.rule = n.rule or rule

    # shared external ids: {"<connection or connector>": "<account id there>"}
    index: dict[tuple[str, str], list[Node]] = defaultdict(list)
    for n in nodes:
        index[(n.key[0], n.key[1])].append(n)
        connector = connectors.get(n.key[0])
        if connector and connector != n.key[0]:
            index[(connector, n.key[1])].append(n)
    for n in free:
        for ref_source, ref_id in sorted(n.external_ids.items()):
            for target in index.get((ref_source, ref_id), ()):
                if target is not n and target.pinned is None:
                    link(n, target, "external_id", False, f"{ref_source}={ref_id}")
    for attr, rule in (("domain", "domain"), ("name", "name")):
        buckets: dict[str, list[Node]] = defaultdict(list)
        for n in free:
            value = n.domain if attr == "domain" else normalize_name(n.name)
            if value:
                buckets[value].append(n)
        for value, members in sorted(buckets.items()):
            if len(members) < 2:
                continue
            per_source = Counter(m.key[0] for m in members)
            dup = [s for s, c in per_source.items() if c > 1]
            # Ambiguous only while some account here is still unlinked: look-alikes that other
            # rules already placed in separate accounts are not a conflict.
            if dup and any(m.rule is None for m in members):
                conflicts.append({"kind": f"shared_{rule}", "value": value,
                                  "members": sorted(m.label for m in members if m.key[0] in dup),
                                  "resolution": "each linked at most once per source; the oldest wins"})
            members = sorted(members, key=lambda m: (m.created_at or "9999", m.key))
            anchor = members[0]
            for m in members[1:]:
                link(anchor, m, rule, True, value)
    # account id per group: an override's id, else the preferred node's "<source>:<id>"
    order = {"crm": 0, "billing": 1, "files": 2}
    members_of: dict[tuple[str, str], list[Node]] = defaultdict(list)
    for n in nodes:
        members_of[groups.find(n.key)].append(n)
    out: dict[tuple[str, str], str] = {}
    for root, members in members_of.items():
        pinned = sorted({m.pinned for m in members if m.pinned})
        if pinned:
            account_id = pinned[0]
        else:
            lead = min(members, key=lambda m: (order.get(m.category, 9), m.created_at or "9999", m.key))
            account_id = lead.label
        for m in members:
            m.rule = m.rule or "self"
            out[m.key] = account_id
    return out, conflicts


def _golden(members: list[Node], precedence: dict[str, list[str]]) -> dict[str, Any]:
    rank = lambda attr: (lambda n: (precedence.get(attr, []).index(n.category)  # noqa: E731
                                    if n.category in precedence.get(attr, []) else 99, n.created_at or "9999"))
    row: dict[str, Any] = {}
    for attr in ("name", "domain", "segment", "lifecycle_stage", "owner", "industry", "country", "seats"):
        for n in sorted(members, key=rank(attr)):
            value = n.name if attr == "name" else n.domain if attr == "domain" else n.attributes.get(attr)
            if value not in (None, ""):
                row[attr] = value
                break
    created = [n.created_at for n in members if n.created_at]
    row["created_at"] = min(created) if created else None
    if row.get("seats") is not None:
        try:
            row["seats"] = int(row["seats"])
        except (TypeError, ValueError):
            row["seats"] = None
    row["sources"] = json.dumps(sorted(n.label for n in members))
    return row


def link(store: Store, config: Config, registry: Any = None) -> LinkSummary:
    """Resolve identity, write account_links and accounts, stamp account_id on canonical rows."""
    if registry is None:
        from .plugins import get_registry
        registry = get_registry()
    free = FREE_MAIL | {d.lower() for d in config.identity.get("free_mail_domains", [])}
    precedence = {**DEFAULT_PRECEDENCE, **config.identity.get("precedence", {})}
    overrides = _overrides(config)
    categories = _categories(config, registry)
    nodes = _load_nodes(store, categories, free)
    connectors = {name: cc.connector for name, cc in config.connections.items()}
    assignment, conflicts = resolve(nodes, overrides, connectors)
    summary = LinkSummary(source_accounts=len(nodes), conflicts=conflicts)
    groups: dict[str, list[Node]] = defaultdict(list)
    for n in nodes:
        groups[assignment[n.key]].append(n)
        summary.rules[n.rule or "self"] += 1
    summary.accounts = len(groups)
    ts = now_iso()
    with store.transaction() as conn:
        previous = dict(((s, sid), a) for s, sid, a in conn.execute(
            "SELECT source, source_account_id, account_id FROM account_links"))
        conn.execute("DELETE FROM account_links")
        conn.executemany(
            "INSERT INTO account_links (source, source_account_id, account_id, rule, confidence, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(n.key[0], n.key[1], assignment[n.key], n.rule, CONFIDENCE[n.rule or "self"],
              n.domain if n.rule == "domain" else None) for n in nodes])
        conn.execute("DELETE FROM accounts")
        cols = ("account_id", "name", "domain", "segment", "lifecycle_stage", "industry", "country", "owner",
                "seats", "created_at", "sources", "updated_at")
        conn.executemany(f"INSERT INTO accounts ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                         [tuple({**_golden(members, precedence), "account_id": aid, "updated_at": ts}.get(c)
                                for c in cols) for aid, members in sorted(groups.items())])
        conn.execute("DELETE FROM _csconnect_identity_conflicts")
        conn.executemany("INSERT INTO _csconnect_identity_conflicts VALUES (?, ?, ?, ?)",
                         [(c["kind"], c["value"], json.dumps(c["members"]), c["resolution"]) for c in conflicts])
        changed = [(aid, s, sid) for (s, sid), aid in assignment.items() if previous.get((s, sid)) != aid]
        gone = [(s, sid) for (s, sid) in previous if (s, sid) not in assignment]
        for table in CONNECTOR_TABLES:
            if changed:
                summary.rows_updated += conn.executemany(
                    f"UPDATE [{table}] SET account_id=? WHERE source=? AND source_account_id=?", changed).rowcount
            if gone:
                conn.executemany(f"UPDATE [{table}] SET account_id=NULL WHERE source=? AND source_account_id=?",
                                 gone)
            summary.rows_updated += conn.execute(
                f"UPDATE [{table}] SET account_id=(SELECT l.account_id FROM account_links l WHERE "
                f"l.source=[{table}].source AND l.source_account_id=[{table}].source_account_id) "
                "WHERE account_id IS NULL AND source_account_id IS NOT NULL").rowcount
    log.info("%s", summary.line())
    return summary
