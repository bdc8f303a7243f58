"""The demo connector: a simulated company's four systems, synced like real sources.

One connector class; its `part` option picks which system a connection plays
(billing, crm, helpdesk, product, or all of them). Each part has its own account
ids — billing `cus_…`, CRM numeric strings, helpdesk integers, product group keys —
and identity resolution links them afterwards, exactly as with real tools.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Iterable, Iterator, Mapping

from csconnect import ConfigError, Connector, Option, Page, Row, Stream

from .clock import day_text, parse_month, window
from .world import World, get_world

PARTS = ("all", "billing", "crm", "helpdesk", "product")
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com")
SEGMENTS = {"SMB": "smb", "Mid-Market": "mid_market", "Enterprise": "enterprise"}
STAGES = {"opportunity": "trial"}           # CRM lifecycle words that differ from the canonical ones
CHANNELS = {"voice": "phone", "native_messaging": "chat", "mobile": "chat"}


def _minor(amount: Any) -> int | None:
    """A major-unit decimal string ("1234.50") -> integer minor units (123450)."""
    return None if amount in (None, "") else int((Decimal(str(amount)) * 100).to_integral_value())


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


class DemoStream(Stream):
    """A stream that pages through one list of the world's records with an offset state."""

    part: ClassVar[str]

    @property
    def world(self) -> World:
        return self.connector.world  # type: ignore[attr-defined]

    def source(self) -> list[dict[str, Any]]:
        return self.world.records(self.name)

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        records = self.source()
        offset = int((state or {}).get("offset", 0))
        size = self.connector.page_size  # type: ignore[attr-defined]
        while offset < len(records):
            chunk = records[offset:offset + size]
            offset += len(chunk)
            yield Page(chunk, {"offset": offset})


# -- billing -------------------------------------------------------------------------------------------
class Customers(DemoStream):
    name, part, tables = "customers", "billing", ("source_accounts",)

    def normalize(self, rec: dict[str, Any]) -> Iterable[Row]:
        meta = rec.get("metadata") or {}
        email = rec.get("email") or ""
        domain = email.rsplit("@", 1)[1].lower() if "@" in email else None
        crm = meta.get("crm_company_id")
        yield "source_accounts", {
            "source_id": rec["id"], "source_account_id": rec["id"], "name": rec.get("name"),
            "domain": None if domain in FREE_MAIL else domain,
            "external_ids": {self.connector.crm_key: crm} if crm else None,  # type: ignore[attr-defined]
            "created_at": rec.get("created"),
            "attributes": {"seats": int(meta["seats"]) if meta.get("seats") else None, "plan": meta.get("plan"),
                           "country": (rec.get("address") or {}).get("country"),
                           "currency": (rec.get("currency") or "").upper() or None,
                           "delinquent": bool(rec.get("delinquent"))}}


class Subscriptions(DemoStream):
    name, part, tables = "subscriptions", "billing", ("subscriptions",)
    STATUS = {"unpaid": "past_due", "incomplete_expired": "ended"}

    def normalize(self, rec: dict[str, Any]) -> Iterable[Row]:
        item = rec["items"]["data"][0]
        price, qty = item["price"], item.get("quantity") or rec.get("quantity") or 0
        recurring = price.get("recurring") or {}
        amount = (price.get("unit_amount") or 0) * qty
        status = self.STATUS.get(rec["status"], rec["status"])
        per_month = {"year": 1 / 12, "month": 1.0, "week": 52 / 12, "day": 365 / 12}[recurring["interval"]]
        off = ((rec.get("discount") or {}).get("coupon") or {}).get("percent_off") or 0
        mrr = round(amount * per_month / recurring.get("interval_count", 1) * (100 - off) / 100) \
            if status in ("active", "past_due") else 0
        yield "subscriptions", {
            "source_id": rec["id"], "source_account_id": rec["customer"], "status": status,
            "source_status": rec["status"], "plan_id": price["id"], "plan_name": price.get("nickname"),
            "product": str(price.get("product", "")).removeprefix("prod_") or None,
            "interval": recurring["interval"], "interval_count": recurring.get("interval_count", 1),
            "quantity": qty, "currency": rec["currency"], "amount": amount, "mrr": mrr,
            "started_at": rec.get("start_date"), "trial_start": rec.get("trial_start"),
            "trial_end": rec.get("trial_end"), "current_period_start": rec.get("current_period_start"),
            "current_period_end": rec.get("current_period_end"),
            "cancel_at_period_end": bool(rec.get("cancel_at_period_end")), "canceled_at": rec.get("canceled_at"),
            "ended_at": rec.get("ended_at")}


def _line_row(stream: Stream, ln: dict[str, Any], customer: str, invoice_id: str | None) -> dict[str, Any]:
    price = ln.get("price") or {}
    recurring = price.get("recurring") or {}
    kind = "subscription" if ln.get("type") == "subscription" else "proration" if ln.get("proration") else "one_off"
    discount = sum(d.get("amount", 0) for d in ln.get("discount_amounts") or ())
    period = ln.get("period") or {}
    return {"source_id": ln["id"], "source_account_id": customer, "invoice_id": stream.ref(invoice_id),
            "subscription_id": stream.ref(ln.get("subscription")), "kind": kind, "plan_id": price.get("id"),
            "product": str(price.get("product", "")).removeprefix("prod_") or None, "quantity": ln.get("quantity"),
            "amount": ln["amount"] - discount, "currency": ln["currency"], "period_start": period.get("start"),
            "period_end": period.get("end"), "interval": recurring.get("interval"),
            "interval_count": recurring.get("interval_count")}


class Invoices(DemoStream):
    name, part, tables = "invoices", "billing", ("invoices", "invoice_lines")

    def normalize(self, rec: dict[str, Any]) -> Iterable[Row]:
        transitions = rec.get("status_transitions") or {}
        yield "invoices", {
            "source_id": rec["id"], "source_account_id": rec["customer"],
            "subscription_id": self.ref(rec.get("subscription")), "status": rec["status"],
            "source_status": rec["status"], "currency": rec["currency"], "subtotal": rec["subtotal"],
            "discount": sum(d["amount"] for d in rec.get("total_discount_amounts") or ()), "tax": rec.get("tax"),
            "total": rec["total"], "amount_paid": rec.get("amount_paid"), "created_at": rec["created"],
            "paid_at": transitions.get("paid_at")}
        for ln in rec["lines"]["data"]:
            yield "invoice_lines", _line_row(self, ln, rec["customer"], rec["id"])


class PendingItems(DemoStream):
    name, part, tables = "pending_items", "billing", ("invoice_lines",)

    def normalize(self, rec: dict[str, Any]) -> Iterable[Row]:
        yield "invoice_lines", _line_row(self, rec, rec["customer"], rec.get("invoice"))


class Costs(DemoStream):
    name, part, tables = "costs", "billing", ("costs",)
    CATEGORY = {"cs_team": "retention", "marketing": "acquisition"}

    def normalize(self, rec: dict[str, Any]) -> Iterable[Row]:
        first = date.fromisoformat(rec["month"] + "-01")
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        yield "costs", {"source_id": rec["id"], "period_start": first, "period_end": last,
                        "category": self.CATEGORY.get(rec["category"], rec["category"]),
                        "source_type": rec["category"], "amount": _minor(rec["amount"]), "currency": rec["currency"]}


# -- CRM ---------------------------------------------------------------------------------------------
def _owner(rec: dict[str, Any]) -> str | None:
    o = rec.get("owner") or {}
    return " ".join(x for x in (o.get("firstName"), o.get("lastName")) if x) or None


class Companies(DemoStream):
    name, part, tables = "companies", "crm", ("source_accounts",)

    def normalize(self, rec: dict[str, Any]) -> Iterable[Row]:
        p = rec["properties"]
        stage = p.get("lifecyclestage")
        employees = p.get("numberofemployees")
        yield "source_accounts", {
            "source_id": rec["id"], "source_account_id": rec["id"], "name": p.get("name"), "domain": p.get("domain"),
            "created_at": p.get("createdate"),
            "attributes": {"segment": SEGMENTS.get(p.get("customer_segment"), p.get("customer_segment")),
                           "lifecycle_stage": STAGES.get(stage, stage), "industry": (p.get("industry") or "").lower()
                           or None, "country": p.get("country"), "owner": _owner(rec),
                           "employees": int(employees) if employees else None}}


class Contacts(DemoStream):
    name, part, tables = "contacts", "crm", ("contacts",)

    def normalize(self, rec: dict[str, Any]) -> Iterable[Row]:
        p = rec["properties"]
        yield "contacts", {"source_id": rec["id"], "source_account_id": p.get("associatedcompanyid"),
                           "email": p.get("email"), "name": f"{p.get('firstname', '')} {p.get('lastname', '')}".strip(),
                           "title": p.get("jobtitle"), "created_at": p.get("createdate")}


class Deals(DemoStream):
    name, part, tables = "deals", "crm", ("deals",)
    KIND = {"newbusiness": "new_business", "renewal": "renewal", "expansion": "expansion"}

    def normalize(self, rec: dict[str, Any]) -> Iterable[Row]:
        p = rec["properties"]
        companies = (rec.get("associations") or {}).get("companies") or [None]
        yield "deals", {"source_id": rec["id"], "source_account_id": companies[0],
                        "kind": self.KIND.get(p.get("dealtype"), p.get("dealtype")), "source_type": p.get("dealtype"),
                        "stage": p.get("dealstage"), "amount": _minor(p.get("amount")),
                        "currency": p.get("deal_currency_code"), "is_closed": p.get("hs_is_closed"),
                        "is_won": p.get("hs_is_closed_won"), "created_at": p.get("createdate"),
                        "close_date": (p.get("closedate") or "")[:10] or None, "owner": _owner(rec)}


class Activities(DemoStream):
    name, part, tables = "activities", "crm", ("activities",)

    def normalize(self, rec: dict[str, Any]) -> Iterable[Row]:
        p, links = rec.get("properties") or {}, rec.get("associations") or {}
        kind = "qbr" if p.get("hs_activity_type") == "QBR" else rec["type"].lower()
        ms = p.get("hs_duration_ms")
        yield "activities", {"source_id": rec["id"], "source_account_id": (links.get("companyIds") or [None])[0],
                             "kind": kind, "source_type": rec["type"], "occurred_at": rec["timestamp"],
                             "duration_seconds": None if ms is None else ms // 1000, "owner": _owner(rec),
                             "subject": p.get("hs_title"),
                             "contact_id": self.ref((links.get("contactIds") or [None])[0])}


# -- helpdesk ----------------------------------------------------------------------------------------
class Organizations(DemoStream):
    name, part, tables = "organizations", "helpdesk", ("source_accounts",)

    def normalize(self, rec: dict[str, Any]) -> Iterable[Row]:
        domains = rec.get("domain_names") or [None]
        yield "source_accounts", {"source_id": rec["id"], "source_account_id": rec["id"], "name": rec.get("name"),
                                  "domain": domains[0], "created_at": rec.get("created_at"),
                                  "attributes": {"country": (rec.get("organization_fields") or {}).get("region"),
                                                 "tags": rec.get("tags") or []}}


class Users(DemoStream):
    name, part, tables = "users", "helpdesk", ("contacts",)

    def normalize(self, rec: dict[str, Any]) -> Iterable[Row]:
        yield "contacts", {"source_id": rec["id"], "source_account_id": _id(rec.get("organization_id")),
                           "email": rec.get("email"), "name": rec.get("name"), "created_at": rec.get("created_at")}


class Tickets(DemoStream):
    """Incremental on `updated_at` (then id), like an incremental export: a re-sync reads only changes."""

    name, part, tables = "tickets", "helpdesk", ("tickets",)
    incremental, cursor_field = True, "updated_at"

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        state = state or {}
        world_key = self.connector.world_key  # type: ignore[attr-defined]
        if state.get("world") != world_key:   # another seed or end month: read the new world from the start
            state = {}
        after = (state.get("updated_after") or "", int(state.get("after_id") or 0))
        records = [r for r in self.source() if (r["updated_at"], r["id"]) > after]
        size = self.connector.page_size  # type: ignore[attr-defined]
        for i in range(0, len(records), size):
            chunk = records[i:i + size]
            yield Page(chunk, {"updated_after": chunk[-1]["updated_at"], "after_id": chunk[-1]["id"],
                               "world": world_key})

    def normalize(self, rec: dict[str, Any]) -> Iterable[Row]:
        m = rec.get("metric_set") or {}
        reply = (m.get("reply_time_in_seconds") or {}).get("calendar")
        created = rec["created_at"]
        channel = (rec.get("via") or {}).get("channel")
        tags = rec.get("tags") or []
        yield "tickets", {
            "source_id": rec["id"], "source_account_id": _id(rec.get("organization_id")),
            "requester_id": self.ref(rec.get("requester_id")), "channel": CHANNELS.get(channel, channel),
            "source_type": channel, "status": rec["status"], "source_status": rec["status"],
            "priority": rec.get("priority"), "type": rec.get("type"), "subject": rec.get("subject"),
            "created_at": created, "first_reply_at": None if reply is None else _plus(created, reply),
            "solved_at": m.get("solved_at"), "agent_replies": m.get("replies"), "reopens": m.get("reopens"),
            "assignee": (rec.get("assignee") or {}).get("name"), "group_name": (rec.get("group") or {}).get("name"),
            "tags": tags, "escalated": "escalated" in tags}


class SurveyResponses(DemoStream):
    name, part, tables = "survey_responses", "helpdesk", ("survey_responses",)

    def normalize(self, rec: dict[str, Any]) -> Iterable[Row]:
        scale = rec.get("scale") or {}
        yield "survey_responses", {
            "source_id": rec["id"], "source_account_id": _id(rec.get("organization_id")), "kind": rec["survey"],
            "source_type": rec["survey"], "score": rec.get("score"), "scale_min": scale.get("min"),
            "scale_max": scale.get("max"), "polarity": "higher_better", "comment": rec.get("comment"),
            "contact_id": self.ref(rec.get("respondent_id")), "ticket_id": self.ref(rec.get("ticket_id")),
            "channel": rec.get("channel"), "responded_at": rec["created_at"]}


# -- product -----------------------------------------------------------------------------------------
class Groups(DemoStream):
    name, part, tables = "groups", "product", ("source_accounts",)
    primary_key = "group_key"

    def normalize(self, rec: dict[str, Any]) -> Iterable[Row]:
        p = rec.get("properties") or {}
        yield "source_accounts", {"source_id": rec["group_key"], "source_account_id": rec["group_key"],
                                  "name": p.get("$name"), "domain": p.get("domain"), "created_at": rec.get("created"),
                                  "attributes": {"group_type": rec.get("group_type")}}


class Usage(DemoStream):
    """Aggregated activity per user and day, a week of days per page (raw events are not kept).

    Pages never cross a month (usage is generated a month at a time) and the state
    names the next day to read, so a crash resumes at the first day not yet written.
    """

    name, part, tables = "usage", "product", ("usage_daily",)
    store_raw = False
    days_per_page: ClassVar[int] = 7

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        w = self.world
        start = (state or {}).get("day") or ""
        for m in range(w.months):
            if _last_day(w, m) < start:
                continue
            month = w.usage_month(m)
            days = [d for d in month if d >= start]
            for i in range(0, len(days), self.days_per_page):
                chunk = days[i:i + self.days_per_page]
                yield Page([], {"day": _next_day(chunk[-1])},
                           rows=[("usage_daily", row) for day in chunk for row in month[day]])


def _plus(timestamp: str, seconds: int) -> int:
    """An ISO 8601 UTC timestamp plus some seconds, as unix seconds."""
    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()) + int(seconds)


def _last_day(w: World, m: int) -> str:
    return day_text(w.month_starts[m + 1] - 1)


def _next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


STREAMS: tuple[type[DemoStream], ...] = (Customers, Subscriptions, Invoices, PendingItems, Costs, Companies, Contacts,
                                         Deals, Activities, Organizations, Users, Tickets, SurveyResponses, Groups,
                                         Usage)


class DemoConnector(Connector):
    """A simulated B2B SaaS company; `part` picks which of its systems this connection plays."""

    name = "demo"
    title = "Demo company (simulated, no credentials)"
    category = "billing"
    streams = STREAMS
    options = (
        Option("part", str, "all", "which system this connection plays: billing, crm, helpdesk, product, or all",
               choices=PARTS),
        Option("seed", int, 42, "random seed; the same seed and end month give the same company"),
        Option("accounts", int, 300, "customer accounts (including trials that never paid)"),
        Option("months", int, 24, "calendar months of history"),
        Option("end_month", str, "", "last simulated month, YYYY-MM (empty: the last complete month)"),
        Option("usage_scale", float, 1.0, "product activity per user (1.0 gives about 450k usage_daily rows)"),
        Option("page_size", int, 500, "records per page"),
    )

    @classmethod
    def category_for(cls, settings: Mapping[str, Any]) -> str:
        """Each part plays its system's category, so identity precedence treats it like the real one."""
        return {"crm": "crm", "helpdesk": "helpdesk", "product": "product_analytics"}.get(
            settings.get("part") or "all", "billing")

    def __init__(self, connection: str, settings: dict[str, Any], **kw: Any):
        super().__init__(connection, settings, **kw)
        s = {o.name: o.default for o in self.options} | {k: v for k, v in self.settings.items() if v is not None}
        where = f"connections.{connection}"
        if s["part"] not in PARTS:
            raise ConfigError(f"{where}.part: must be one of {', '.join(PARTS)}, got {s['part']!r}")
        for key, low in (("accounts", 1), ("months", 1), ("page_size", 1), ("usage_scale", 0)):
            if s[key] < low:
                raise ConfigError(f"{where}.{key}: must be at least {low}, got {s[key]!r}")
        if s["months"] > 120:
            raise ConfigError(f"{where}.months: at most 120 months, got {s['months']!r}")
        if s["end_month"]:
            try:
                parse_month(s["end_month"])
            except ValueError as exc:
                raise ConfigError(f"{where}.{exc}") from None
        self.part: str = s["part"]
        self.page_size: int = s["page_size"]
        self._world_args = (s["seed"], s["accounts"], s["months"], s["end_month"], float(s["usage_scale"]))

    @property
    def world(self) -> World:
        return get_world(*self._world_args)

    @property
    def world_key(self) -> str:
        """Names the simulated world; a state saved under another one is not resumed."""
        seed, accounts, months, end_month, scale = self._world_args
        first, last = window(months, end_month)
        return f"seed={seed} accounts={accounts} {first}..{last} usage_scale={scale}"

    @property
    def crm_key(self) -> str:
        """The external_ids key under which billing customers carry their CRM company id."""
        if self.part == "all":
            return self.connection
        if self.connection.endswith("_billing"):
            return self.connection[: -len("_billing")] + "_crm"
        return self.name        # identity also matches on the connector name: any demo connection

    def get_streams(self) -> list[Stream]:
        return [s(self) for s in self.streams if self.part == "all" or s.part == self.part]  # type: ignore

    def check(self) -> str:
        _, accounts, months, end_month, _ = self._world_args
        first, last = window(months, end_month)
        what = "simulated company" if self.part == "all" else f"simulated company ({self.part} part)"
        return f"{what}, {accounts} accounts, {first} … {last}"

