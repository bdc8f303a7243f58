"""The CRM: companies, contacts, deals and CSM touchpoints, shaped like a HubSpot-style API.

Ids are numeric strings; timestamps ISO 8601 with milliseconds; amounts major-unit
decimal strings; the owner is embedded the way an `owners` lookup would give it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .clock import DAY, HOUR, iso, work_time
from .names import owner_record, poisson

if TYPE_CHECKING:
    from .world import Account, World

SEGMENT_LABEL = {"smb": "SMB", "mid_market": "Mid-Market", "enterprise": "Enterprise"}
TOUCH_RATES = {            # per live month: email, call, meeting, note
    "smb": (0.5, 0.15, 0.05, 0.1), "mid_market": (1.5, 0.5, 0.3, 0.2), "enterprise": (3.0, 1.0, 0.8, 0.3)}
SUBJECTS = {
    "EMAIL": ["Checking in", "Your monthly usage summary", "New feature: automations", "Renewal paperwork",
              "Follow-up from our call", "Training resources"],
    "CALL": ["Health check call", "Adoption review", "Escalation follow-up", "Billing question"],
    "MEETING": ["Onboarding session", "Roadmap preview", "Admin training", "Success plan review"],
    "NOTE": ["Champion changed roles", "Asked about SSO", "Budget review next quarter", "Happy with support"],
}


def crm_created(w: "World", a: "Account") -> int:
    """The CRM knew the company first (a lead a little before the trial or purchase)."""
    lead = a.signup - (1 + a.index % 5) * DAY - (a.index * 7919) % (20 * HOUR)
    return lead if a.signup < w.start else min(a.signup - 60, max(w.start, lead))


def lifecycle(w: "World", a: "Account") -> str:
    now = w.end - 1
    if any(s.status in ("active", "past_due") for s in a.subs):
        return "customer"
    if a.live_at(now) == "trial":
        return "opportunity"
    if any(s.start is not None for s in a.subs):
        return "churned"
    return "lead"


def company_records(w: "World") -> list[dict[str, Any]]:
    out = []
    for a in w.accounts:
        created = crm_created(w, a)
        out.append({"id": a.crm_id, "createdAt": iso(created, True), "updatedAt": iso(w.end - DAY, True),
                    "archived": False, "owner": owner_record(a.owner),
                    "properties": {"name": a.names["crm"], "domain": a.domains["crm"], "industry": a.industry.upper(),
                                   "country": a.country, "numberofemployees": str(a.employees),
                                   "lifecyclestage": lifecycle(w, a), "customer_segment": SEGMENT_LABEL[a.segment],
                                   "hubspot_owner_id": a.owner[0], "createdate": iso(created, True)}})
    return sorted(out, key=lambda r: (r["createdAt"], r["id"]))


def contact_records(w: "World") -> list[dict[str, Any]]:
    out = []
    for a in w.accounts:
        for c in a.contacts:
            out.append({"id": c.crm_id, "createdAt": iso(c.created, True), "archived": False,
                        "properties": {"email": c.email, "firstname": c.first, "lastname": c.last,
                                       "jobtitle": c.title, "createdate": iso(c.created, True),
                                       "associatedcompanyid": a.crm_id}})
    return sorted(out, key=lambda r: (r["createdAt"], r["id"]))


def _deal(w: "World", a: "Account", key: tuple[Any, ...], kind: str, title: str, created: int, close: int,
          stage: str, amount_minor: int, currency: str) -> dict[str, Any]:
    closed = stage in ("closedwon", "closedlost")
    return {"id": str(w.unique_number("deal", 11, *key)), "createdAt": iso(created, True), "archived": False,
            "owner": owner_record(a.owner), "associations": {"companies": [a.crm_id]},
            "properties": {"dealname": f"{a.names['crm']} – {title}", "dealtype": kind, "dealstage": stage,
                           "pipeline": "default", "amount": f"{amount_minor / 100:.2f}",
                           "deal_currency_code": currency, "createdate": iso(created, True),
                           "closedate": iso(close, True), "hs_is_closed": str(closed).lower(),
                           "hs_is_closed_won": str(stage == "closedwon").lower(),
                           "hubspot_owner_id": a.owner[0]}}


def deal_records(w: "World") -> list[dict[str, Any]]:
    out = []
    for a in w.accounts:
        r = w.rng("deals", a.index)
        for s in a.subs:
            unit = s.plan.unit[s.currency]
            year = 12 if s.plan.interval == "month" else 1
            first_qty = next((ln.quantity for i in s.invoices for ln in i.lines if ln.kind == "subscription"),
                             s.quantity)
            acv = unit * first_qty * year
            if s.winback or (s is a.subs[0] and not a.preexisting):
                title = "Win-back" if s.winback else "New business"
                if s.trial_start is not None:
                    created, close = s.trial_start, s.trial_end
                    stage = ("presentationscheduled" if s.status == "trialing" else
                             "closedlost" if s.end_kind == "trial" else "closedwon")
                else:
                    close = s.start
                    created = max(w.start, close - r.randint(14 * DAY, 75 * DAY))
                    stage = "closedwon"
                out.append(_deal(w, a, (s.id, "new"), "newbusiness", title, created, close, stage, acv, s.currency))
            for ps, pe, renews, said_no in s.terms:
                created = max(w.start, pe - 90 * DAY)
                if created >= w.end:
                    continue
                qty = _quantity_at(s, pe - 1)
                if said_no is not None:
                    close, stage = said_no, "closedlost"
                elif pe <= w.end and renews:
                    close, stage = pe, "closedwon"
                else:
                    close, stage = pe, "contractsent" if pe - w.end < 30 * DAY else "qualifiedtobuy"
                out.append(_deal(w, a, (s.id, "renewal", pe), "renewal", "Renewal", created, close, stage,
                                 unit * qty, s.currency))
            for at, old, new in s.changes:
                if new > old and a.segment != "smb":
                    created = max(w.start, at - r.randint(7 * DAY, 30 * DAY))
                    out.append(_deal(w, a, (s.id, "expansion", at), "expansion", f"+{new - old} seats", created,
                                     at, "closedwon", unit * (new - old) * year, s.currency))
    return sorted(out, key=lambda r: (r["createdAt"], r["id"]))


def _quantity_at(s: Any, t: int) -> int:
    qty = next((ln.quantity for i in s.invoices for ln in i.lines if ln.kind == "subscription"), s.quantity)
    for at, _, new in s.changes:
        if at <= t:
            qty = new
    return qty


def activity_records(w: "World") -> list[dict[str, Any]]:
    out = []
    for a in w.accounts:
        r = w.rng("activities", a.index)
        neglect = 0.3 if r.random() < 0.2 else 1.0
        rates = TOUCH_RATES[a.segment]
        for m in range(w.months):
            lo, hi = w.month_starts[m], w.month_starts[m + 1]
            spans = a.overlap(lo, hi)
            if not spans:
                continue
            share = sum(e - s for s, e, _ in spans) / (hi - lo)
            h = a.health[m]
            plan = [("EMAIL", rates[0] * neglect), ("CALL", rates[1] * neglect * (2.5 if h < 0.45 else 1)),
                    ("MEETING", rates[2] * neglect), ("NOTE", rates[3])]
            events = [(kind, None) for kind, lam in plan for _ in range(poisson(r, lam * share))]
            paid = any(k == "paid" for _, _, k in spans)
            cadence = 3 if a.segment == "enterprise" else 6
            if paid and a.segment != "smb" and (a.plan != "growth_monthly") and (m + a.index) % cadence == 0:
                events.append(("MEETING", "QBR"))
            for n, (kind, special) in enumerate(events):
                s, e, _ = spans[r.randrange(len(spans))]
                at = work_time(r, s, e)
                minutes = {"CALL": r.randint(5, 45), "MEETING": r.randint(60, 90) if special else r.randint(25, 60)}
                contact = a.contacts[r.randrange(len(a.contacts))]
                subject = "Quarterly business review" if special else r.choice(SUBJECTS[kind])
                out.append({"id": str(w.unique_number("activity", 11, a.index, m, n)), "type": kind,
                            "timestamp": iso(at, True), "owner": owner_record(a.owner),
                            "properties": {"hs_activity_type": special, "hs_title": subject,
                                           "hs_duration_ms": minutes[kind] * 60_000 if kind in minutes else None},
                            "associations": {"companyIds": [a.crm_id], "contactIds": [contact.crm_id]}})
    return sorted(out, key=lambda r: (r["timestamp"], r["id"]))
