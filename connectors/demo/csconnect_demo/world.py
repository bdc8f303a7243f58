"""The simulated B2B SaaS company: its customers, their lives, and what each of its systems recorded.

Everything follows from `random.Random` seeded by text (stable across processes and
Python versions), one generator per account and topic, so the same options always
give byte-identical records and one part never shifts another's draws.

    world = World(seed=42, accounts=300, months=24, end_month="2026-10")
    world.records("invoices")          # the billing API's invoices, oldest first
    world.usage_month(5)               # {"2026-04-01": [usage_daily rows], …}
"""
from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from . import billing, crm, helpdesk, product
from .clock import DAY, add_months, last_complete_month, month_start, parse_month, ym
from .names import (COUNTRIES, EUR_COUNTRIES, FREE_MAIL, HOLDING, INDUSTRIES, LEGAL, OWNERS, TITLES, brand,
                    domain_for, number, person, token, variant, weighted)

SEGMENT_SHARE = (("enterprise", 0.10), ("mid_market", 0.30))
SEATS = {"smb": (3, 15), "mid_market": (15, 80), "enterprise": (80, 400)}
EMPLOYEES = {"smb": (8, 180), "mid_market": (150, 1500), "enterprise": (1500, 40000)}
CONTACTS = {"smb": (1, 3), "mid_market": (2, 5), "enterprise": (3, 6)}
# Scripted storylines: the first accounts live them, so even a tiny world shows every case.
# role: (segment, plan, country, pre-existing)
SCRIPTS = {
    "reactivate": ("smb", "starter", "US", True),
    "immediate": ("smb", "growth_monthly", "GB", True),
    "upgrade": ("mid_market", "growth_monthly", "DE", True),
    "downgrade": ("mid_market", "growth_monthly", "US", True),
    "trial_won": ("smb", "growth_monthly", "FR", False),
    "trial_lost": ("smb", "starter", "US", False),
    "annual_upgrade": ("enterprise", "enterprise", "US", True),
}


@dataclass
class Contact:
    index: int
    first: str
    last: str
    email: str
    title: str
    created: int
    crm_id: str
    hd_id: int
    hd_org: bool                    # the helpdesk maps this person to the organization

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class Account:
    index: int
    name: str
    domain: str
    segment: str
    industry: str
    country: str
    employees: int
    owner: tuple[str, str, str, str]
    signup: int
    preexisting: bool
    plan: str
    seats: int
    trial: bool
    script: str | None
    health: list[float]
    crm_id: str = ""
    cus_id: str = ""
    org_id: int = 0
    group_key: str = ""
    names: dict[str, str] = field(default_factory=dict)      # how each system spells the name
    domains: dict[str, str | None] = field(default_factory=dict)
    crm_ref: bool = False           # the billing customer carries the CRM company id
    billing_email: str = ""
    contacts: list[Contact] = field(default_factory=list)
    subs: list[Any] = field(default_factory=list)
    live: list[tuple[int, int | None, str]] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return "EUR" if self.country in EUR_COUNTRIES else "USD"

    def live_at(self, t: int) -> str | None:
        for start, end, kind in self.live:
            if start <= t and (end is None or t < end):
                return kind
        return None

    def overlap(self, start: int, end: int) -> list[tuple[int, int, str]]:
        """The live spans (trial or paid) inside [start, end)."""
        out = []
        for s, e, kind in self.live:
            lo, hi = max(s, start), min(e if e is not None else end, end)
            if lo < hi:
                out.append((lo, hi, kind))
        return out


class World:
    """One simulated company over `months` calendar months ending with `end_month`."""

    def __init__(self, seed: int = 42, accounts: int = 300, months: int = 24, end_month: str = "",
                 usage_scale: float = 1.0, today: date | None = None):
        if accounts < 1 or months < 1 or usage_scale < 0:
            raise ValueError("accounts and months must be at least 1 and usage_scale not negative")
        y, m = parse_month(end_month) if end_month else last_complete_month(today)
        self.seed, self.n_accounts, self.months, self.usage_scale = seed, accounts, months, usage_scale
        self.month_starts = [month_start(y, m, k - months + 1) for k in range(months + 1)]
        self.start, self.end = self.month_starts[0], self.month_starts[-1]
        self.first_month, self.last_month = ym(self.start), f"{y:04d}-{m:02d}"
        self._lock = threading.RLock()
        self._cache: dict[str, list[dict[str, Any]]] = {}
        self._ids: dict[str, set[Any]] = {}
        self.accounts = self._make_accounts()
        self.contact_account = {c.hd_id: a.index for a in self.accounts for c in a.contacts}
        for a in self.accounts:
            billing.simulate(self, a, self.rng("billing", a.index))
            self._decline_before_churn(a)
        billing.mark_drafts(self)

    def rng(self, *topic: object) -> random.Random:
        return random.Random("csconnect-demo|" + "|".join(map(str, (self.seed,) + topic)))

    def unique_number(self, kind: str, digits: int, *parts: object) -> int:
        """A stable `digits`-digit id for one record of `kind`, never repeated within the kind."""
        used = self._ids.setdefault(kind, set())
        n = number(digits, self.seed, kind, *parts)
        while n in used:
            n = n + 1 if n + 1 < 10 ** digits else 10 ** (digits - 1)
        used.add(n)
        return n

    def month_index(self, t: int) -> int:
        """The window month holding t (clamped to the window)."""
        lo, hi = 0, self.months - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.month_starts[mid] <= t:
                lo = mid
            else:
                hi = mid - 1
        return lo

    # -- the customers ------------------------------------------------------------------------------
    def _make_accounts(self) -> list[Account]:
        n, rng = self.n_accounts, self.rng("accounts")
        roles = list(SCRIPTS)[:n] if self.months >= 3 else []
        if self.months < 5 and "reactivate" in roles:
            roles.remove("reactivate")
        segments = [SCRIPTS[r][0] for r in roles]
        quota = {s: round(share * n) for s, share in SEGMENT_SHARE}
        rest = []
        for seg in ("enterprise", "mid_market"):
            rest += [seg] * max(0, quota[seg] - segments.count(seg))
        rest += ["smb"] * (n - len(roles) - len(rest))
        rest = rest[:n - len(roles)]
        rng.shuffle(rest)
        segments += rest
        used_names: set[str] = set()
        used_domains: set[str] = set()
        accounts = []
        for i, segment in enumerate(segments):
            r = self.rng("profile", i)
            role = roles[i] if i < len(roles) else None
            for attempt in range(1000):
                name, stem = brand(r)
                if attempt > 20:          # a very large world runs out of word pairs
                    name, stem = f"{name} {i}", f"{stem}{i}"
                if name.lower() not in used_names:
                    break
            country = SCRIPTS[role][2] if role else weighted(r, COUNTRIES)
            domain = domain_for(stem, country, r)
            while domain in used_domains:
                domain = domain_for(stem + str(r.randint(2, 99)), country, r)
            used_names.add(name.lower())
            used_domains.add(domain)
            accounts.append(self._account(i, r, name, domain, segment, country, role))
        self._identity_puzzles(accounts, rng)
        return accounts

    def _account(self, i: int, r: random.Random, name: str, domain: str, segment: str, country: str,
                 role: str | None) -> Account:
        pre = SCRIPTS[role][3] if role else r.random() < 0.35
        if role == "annual_upgrade":          # renews 60 days after the window: its upgrade stays pending
            signup = self.end + 60 * DAY
            while signup >= self.start - DAY:
                signup = add_months(signup, -12)
        elif role in ("trial_won", "trial_lost"):
            signup = self.start + (5 if role == "trial_won" else 8) * DAY + r.randint(0, 20 * 3600)
        elif pre:
            signup = self.start - r.randint(20 * DAY, 1100 * DAY)
        else:
            span = self.end - self.start - 2 * DAY
            signup = self.start + int(span * r.random() ** 0.85)
        plan = SCRIPTS[role][1] if role else self._plan(segment, r)
        lo, hi = SEATS[segment]
        seats = int(round(lo * math.exp(r.random() * math.log(hi / lo))))
        h0 = min(0.95, max(0.2, r.betavariate(6, 2.5)))
        health, h = [], h0
        for _ in range(self.months):
            health.append(round(h, 4))
            h = min(0.98, max(0.05, h + 0.25 * (h0 - h) + r.gauss(0, 0.07)))
        if role:
            health = [max(x, 0.6) for x in health]
        trial = role in ("trial_won", "trial_lost") or (
            not role and not pre and segment != "enterprise" and r.random() < 0.85)
        owners = [o for o in OWNERS if o[3] == segment]
        a = Account(i, name, domain, segment, r.choice(INDUSTRIES), country, r.randint(*EMPLOYEES[segment]),
                    r.choice(owners), signup, pre, plan, seats, trial, role, health)
        a.crm_id = str(self.unique_number("company", 10, i))
        a.cus_id = f"cus_{token(self.seed, 'customer', i)}"
        a.org_id = 360_000_000_000 + self.unique_number("org", 8, i)
        a.group_key = domain.split(".")[0]
        while a.group_key in self._ids.setdefault("group", set()):
            a.group_key += "-x"
        self._ids["group"].add(a.group_key)
        style = r.randint(0, 4)
        a.names = {"crm": name, "billing": variant(name, country, 1 + style % 2 * 2),
                   "helpdesk": variant(name, country, style), "product": variant(name, country, 4)}
        a.crm_ref = r.random() < 0.7
        a.domains = {"crm": domain if r.random() < 0.96 else None,
                     "helpdesk": domain if r.random() < 0.9 else None,
                     "product": domain if r.random() < 0.75 else None}
        self._contacts(a, r)
        owner_mail = a.contacts[0].email if a.contacts[0].email.endswith(domain) else f"ap@{domain}"
        a.billing_email = f"billing@{domain}" if r.random() < 0.5 else (
            owner_mail if r.random() < 0.85 else a.contacts[0].email)
        return a

    @staticmethod
    def _plan(segment: str, r: random.Random) -> str:
        x = r.random()
        if segment == "smb":
            return "starter" if x < 0.6 else "growth_monthly"
        if segment == "mid_market":
            return "growth_monthly" if x < 0.45 else "growth_annual" if x < 0.85 else "enterprise"
        return "enterprise"

    def _contacts(self, a: Account, r: random.Random) -> None:
        for k in range(r.randint(*CONTACTS[a.segment])):
            first, last = person(r)
            free = k > 0 and r.random() < 0.08
            if free:
                email = f"{first}.{last}{r.randint(1, 99)}@{r.choice(FREE_MAIL)}".lower()
            else:
                email = f"{first}.{last}@{a.domain}".lower()
            created = a.signup + (r.randint(0, 3 * DAY) if k == 0 else r.randint(0, 200 * DAY))
            created = min(created, self.end - DAY)
            a.contacts.append(Contact(k, first, last, email, TITLES[r.randrange(len(TITLES))], created,
                                      str(self.unique_number("contact", 9, a.index, k)),
                                      361_000_000_000 + self.unique_number("user", 8, a.index, k),
                                      not free or r.random() < 0.5))

    def _identity_puzzles(self, accounts: list[Account], rng: random.Random) -> None:
        """Give identity resolution real work: look-alike names and billing-only legal names."""
        pool = [a for a in accounts if not a.script]
        rng.shuffle(pool)
        pairs = max(1, len(accounts) // 100) if len(pool) >= 6 else 0
        for k in range(pairs):           # two different customers whose names normalize alike
            a, b = pool[2 * k], pool[2 * k + 1]
            b.name = a.name
            b.names = {"crm": variant(a.name, b.country, 2), "billing": variant(a.name, b.country, 3),
                       "helpdesk": variant(a.name, b.country, 1), "product": variant(a.name, b.country, 4)}
            for x in (a, b):
                x.crm_ref = True
                x.domains = {"crm": x.domain, "helpdesk": x.domain, "product": x.domain}
        for a in pool[2 * pairs:2 * pairs + (2 if len(pool) >= 10 else 0)]:   # share only the domain
            holding = self.rng("holding", a.index).choice(HOLDING)
            a.names["billing"] = f"{holding} Holdings {LEGAL.get(a.country, 'Inc.')}"
            a.crm_ref = False
            a.billing_email = f"billing@{a.domain}"

    def _decline_before_churn(self, a: Account) -> None:
        """Usage, support and sentiment sour in the months before a customer leaves."""
        for s in a.subs:
            if s.end_kind and s.ended_at is not None:
                m = self.month_index(s.canceled_at if s.end_kind != "trial" else s.ended_at)
                drops = [0.2] if s.end_kind == "trial" else [0.28, 0.2, 0.12, 0.05]
                for k, d in enumerate(drops):
                    if m - k >= 0:
                        a.health[m - k] = round(max(0.03, a.health[m - k] - d), 4)

    # -- what each system recorded -------------------------------------------------------------------
    BUILDERS: dict[str, Callable[["World"], list[dict[str, Any]]]] = {
        "customers": lambda w: w.customer_records(),
        "subscriptions": billing.subscription_records,
        "invoices": billing.invoice_records,
        "pending_items": billing.pending_item_records,
        "costs": lambda w: w.cost_records(),
        "companies": crm.company_records,
        "contacts": crm.contact_records,
        "deals": crm.deal_records,
        "activities": crm.activity_records,
        "organizations": helpdesk.organization_records,
        "users": helpdesk.user_records,
        "tickets": helpdesk.ticket_records,
        "survey_responses": helpdesk.survey_records,
        "groups": product.group_records,
    }

    def records(self, stream: str) -> list[dict[str, Any]]:
        """A stream's source records in the order the fake API returns them (built once)."""
        with self._lock:
            if stream not in self._cache:
                self._cache[stream] = self.BUILDERS[stream](self)
            return self._cache[stream]

    def ticket_facts(self) -> list[dict[str, Any]]:
        with self._lock:
            if "_ticket_facts" not in self._cache:
                self._cache["_ticket_facts"] = helpdesk._tickets(self)
            return self._cache["_ticket_facts"]

    def usage_days(self) -> list[str]:
        return product.days(self)

    def usage_month(self, m: int) -> dict[str, list[dict[str, Any]]]:
        """Month m's usage_daily rows by day (built on demand, never the whole window)."""
        return product.usage_month(self, m)

    def customer_records(self) -> list[dict[str, Any]]:
        out = []
        for a in self.accounts:
            last = a.subs[-1]
            meta = {"seats": str(last.quantity), "plan": last.plan.product, "segment_hint": a.segment}
            if a.crm_ref:
                meta["crm_company_id"] = a.crm_id
            out.append({"id": a.cus_id, "object": "customer", "name": a.names["billing"], "email": a.billing_email,
                        "created": a.subs[0].created, "currency": a.currency.lower(),
                        "address": {"country": a.country}, "delinquent": any(s.status == "past_due" for s in a.subs),
                        "metadata": meta})
        return sorted(out, key=lambda r: (r["created"], r["id"]))

    def cost_records(self) -> list[dict[str, Any]]:
        out = []
        for m in range(self.months):
            lo, hi = self.month_starts[m], self.month_starts[m + 1]
            r = self.rng("costs", m)
            paying = sum(1 for a in self.accounts if a.live_at(hi - 1) == "paid")
            signups = sum(1 for a in self.accounts if lo <= a.signup < hi)
            cs = 3 * 850_000 + paying * 4_000 + r.randint(-50_000, 50_000)
            marketing = 2_500_000 + signups * 80_000 + int(r.gauss(0, 300_000))
            for category, cents in (("cs_team", cs), ("marketing", max(500_000, marketing))):
                out.append({"id": f"{ym(lo)}-{category}", "month": ym(lo), "category": category,
                            "amount": f"{cents / 100:.2f}", "currency": "USD",
                            "memo": "Customer success salaries and tools" if category == "cs_team"
                            else "Paid acquisition, events and content"})
        return out


_WORLDS: dict[tuple[Any, ...], World] = {}
_WORLDS_LOCK = threading.Lock()


def get_world(seed: int = 42, accounts: int = 300, months: int = 24, end_month: str = "",
              usage_scale: float = 1.0) -> World:
    """A shared World per option set: the four demo connections of one sync build it once."""
    key = (seed, accounts, months, end_month or "%d-%02d" % last_complete_month(), float(usage_scale))
    with _WORLDS_LOCK:
        if key not in _WORLDS:
            if len(_WORLDS) >= 2:
                _WORLDS.pop(next(iter(_WORLDS)))
            _WORLDS[key] = World(seed, accounts, months, key[3], usage_scale)
        return _WORLDS[key]

