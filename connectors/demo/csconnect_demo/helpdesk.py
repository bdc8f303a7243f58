"""The helpdesk and its surveys: organizations, end users, tickets, CSAT / CES / NPS answers.

Shaped like a Zendesk-style API: integer ids, ISO 8601 timestamps, `via.channel`,
and the ticket's metric set (replies, reopens, reply and resolution times) sideloaded.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .clock import DAY, HOUR, iso, work_time
from .names import AGENTS, GROUPS, poisson

if TYPE_CHECKING:
    from .world import Account, World

TOPICS = [  # tag, group, subject, type
    ("billing", "Billing", "Question about our latest invoice", "question"),
    ("integrations", "Technical", "CRM sync stopped overnight", "incident"),
    ("bug", "Technical", "Dashboard totals look wrong", "problem"),
    ("how-to", "Support", "How do I export a report?", "question"),
    ("sso", "Technical", "SSO login fails for new users", "incident"),
    ("onboarding", "Onboarding", "Help setting up our workspace", "task"),
    ("feature-request", "Support", "Request: custom fields on accounts", "question"),
    ("performance", "Technical", "Reports are slow to load", "problem"),
    ("seats", "Billing", "Adding seats for a new team", "question"),
]
CHANNELS = [("email", 45), ("chat", 25), ("web", 18), ("voice", 10), ("api", 2)]
PRIORITIES = [("low", 20), ("normal", 55), ("high", 20), ("urgent", 5)]
REPLIES = [(1, 40), (2, 25), (3, 15), (4, 10), (5, 6), (6, 4)]
COMMENTS = {"good": ["Quick and helpful, thanks!", "Great support as always", None, None],
            "bad": ["Took far too long", "Issue is still not fixed", "Had to explain it three times", None]}


def _pick(r: Any, pairs: list[tuple[Any, int]]) -> Any:
    return r.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def organization_records(w: "World") -> list[dict[str, Any]]:
    out = []
    for a in w.accounts:
        created = min(a.signup + DAY, w.end - HOUR)
        domain = a.domains["helpdesk"]
        out.append({"id": a.org_id, "name": a.names["helpdesk"], "domain_names": [domain] if domain else [],
                    "created_at": iso(created), "updated_at": iso(created), "tags": [a.segment],
                    "shared_tickets": False, "organization_fields": {"region": a.country}})
    return sorted(out, key=lambda r: (r["created_at"], r["id"]))


def user_records(w: "World") -> list[dict[str, Any]]:
    out = []
    for a in w.accounts:
        for c in a.contacts:
            created = min(c.created + HOUR, w.end - 60)
            out.append({"id": c.hd_id, "name": c.name, "email": c.email, "role": "end-user",
                        "organization_id": a.org_id if c.hd_org else None, "created_at": iso(created),
                        "updated_at": iso(created), "time_zone": "UTC"})
    return sorted(out, key=lambda r: (r["created_at"], r["id"]))


def _tickets(w: "World") -> list[dict[str, Any]]:
    """Every ticket as plain facts (times in unix seconds), ids assigned in creation order."""
    facts = []
    for a in w.accounts:
        r = w.rng("tickets", a.index)
        for m in range(w.months):
            spans = a.overlap(w.month_starts[m], w.month_starts[m + 1])
            if not spans:
                continue
            share = sum(e - s for s, e, _ in spans) / (w.month_starts[m + 1] - w.month_starts[m])
            h = a.health[m]
            lam = 0.25 * math.sqrt(a.seats) * (0.5 + 1.5 * (1 - h)) * share
            for _ in range(poisson(r, lam)):
                s, e, _ = spans[r.randrange(len(spans))]
                facts.append(_ticket(w, a, r, work_time(r, s, e), h))
    facts.sort(key=lambda f: (f["created"], f["account"].index, f["n"]))
    for n, f in enumerate(facts):
        f["id"] = 1001 + n
    _make_sure(w, facts)
    return facts


def _ticket(w: "World", a: "Account", r: Any, created: int, h: float) -> dict[str, Any]:
    tag, group, subject, kind = TOPICS[r.randrange(len(TOPICS))]
    channel, priority = _pick(r, CHANNELS), _pick(r, PRIORITIES)
    weights = [3] + [1] * (len(a.contacts) - 1)
    requester = r.choices(a.contacts, weights=weights)[0]
    if r.random() < 0.04:
        replies, first = 0, None
        solved = created + r.randint(HOUR, 48 * HOUR)
    else:
        replies = _pick(r, REPLIES)
        delay = {"chat": r.randint(60, 900), "voice": r.randint(0, 300)}.get(
            channel, int(min(DAY, max(120, math.exp(r.gauss(math.log(5400), 1.0))))))
        first = created + delay
        median = 8 * HOUR * (1 + 0.5 * (replies - 1)) * (1 + (1 - h))
        solved = first + int(min(14 * DAY, max(600, math.exp(r.gauss(math.log(median), 0.9)))))
    reopens = 0
    if replies and r.random() < 0.06 + 0.1 * (1 - h):
        reopens = 2 if r.random() < 0.15 else 1
        replies = min(6, replies + reopens)
        solved += reopens * r.randint(DAY, 3 * DAY)
    escalated = r.random() < 0.03 + 0.08 * (1 - h) + (0.05 if priority in ("high", "urgent") else 0)
    agent = AGENTS[r.randrange(len(AGENTS))]
    return {"account": a, "n": r.random(), "created": created, "first": first, "solved": solved,
            "replies": replies, "reopens": reopens, "escalated": escalated, "tag": tag, "subject": subject,
            "type": kind, "group": next(g for g in GROUPS if g[1] == group), "channel": channel,
            "priority": priority, "requester": requester, "agent": agent, "h": h,
            "csat": r.random() < 0.3, "ces": r.random() < 0.12, "pending": r.random() < 0.5, "rs": r.random()}


def _make_sure(w: "World", facts: list[dict[str, Any]]) -> None:
    """Even a tiny world has a ticket solved with no agent reply and a reopened one."""
    solved = [f for f in facts if f["solved"] <= w.end - DAY]
    if solved and not any(f["replies"] == 0 for f in solved):
        f = solved[0]
        f["replies"], f["first"], f["reopens"] = 0, None, 0
    if len(solved) > 1 and not any(f["reopens"] for f in solved):
        f = next(x for x in solved if x["replies"])
        f["reopens"], f["replies"] = 1, min(6, f["replies"] + 1)


def ticket_records(w: "World") -> list[dict[str, Any]]:
    out = []
    for f in w.ticket_facts():
        a, now = f["account"], w.end
        done = f["solved"] < now
        first = f["first"] if f["first"] is not None and f["first"] < now else None
        if done:
            closed = f["solved"] + 4 * DAY < now
            status, updated = ("closed", f["solved"] + 4 * DAY) if closed else ("solved", f["solved"])
        else:
            status = "new" if first is None else ("pending" if f["pending"] else "open")
            updated = first or f["created"]
        tags = [f["tag"]] + (["escalated"] if f["escalated"] else []) + (["vip"] if a.segment == "enterprise" else [])
        out.append({
            "id": f["id"], "subject": f["subject"], "type": f["type"], "priority": f["priority"], "status": status,
            "via": {"channel": f["channel"]}, "requester_id": f["requester"].hd_id,
            "organization_id": a.org_id if f["requester"].hd_org else None,
            "assignee": None if status == "new" else {"id": f["agent"][0], "name": f["agent"][1]},
            "group": {"id": f["group"][0], "name": f["group"][1]}, "tags": tags,
            "created_at": iso(f["created"]), "updated_at": iso(updated),
            "metric_set": {
                "replies": f["replies"] if done else (1 if first else 0), "reopens": f["reopens"] if done else 0,
                "reply_time_in_seconds": {"calendar": first - f["created"]} if first else None,
                "solved_at": iso(f["solved"]) if done else None,
                "full_resolution_time_in_minutes": {"calendar": (f["solved"] - f["created"]) // 60} if done else None},
        })
    return sorted(out, key=lambda t: (t["updated_at"], t["id"]))


def _scaled(x: float, lo: int, hi: int) -> int:
    return int(min(hi, max(lo, round(x))))


def survey_records(w: "World") -> list[dict[str, Any]]:
    answers: list[tuple[int, int, str, int, Any, int | None, str]] = []   # (at, order, kind, score, who, ticket, ch)
    for f in w.ticket_facts():
        r = w.rng("csat", f["id"])
        if f["solved"] >= w.end:
            continue
        at = f["solved"] + r.randint(600, 2 * DAY)
        slow = f["solved"] - f["created"] > 3 * DAY
        if f["csat"] and at < w.end:
            score = _scaled(2.3 + 3.0 * f["h"] - 0.5 * f["reopens"] - (0.6 if slow else 0) + r.gauss(0, 0.7), 1, 5)
            answers.append((at, f["id"], "csat", score, f["requester"], f["id"], "email"))
        if f["ces"] and at + HOUR < w.end:
            score = _scaled(2.2 + 4.5 * f["h"] - 0.4 * f["reopens"] + r.gauss(0, 1.0), 1, 7)
            answers.append((at + HOUR, f["id"], "ces", score, f["requester"], f["id"], "email"))
    doubled = False
    nps: list[tuple[int, int, str, int, Any, int | None, str]] = []
    for a in w.accounts:
        r = w.rng("nps", a.index)
        for m in range(w.months):
            lo, hi = w.month_starts[m], w.month_starts[m + 1]
            spans = [(s, e) for s, e, k in a.overlap(lo, hi) if k == "paid"]
            if not spans:
                continue
            for c in a.contacts:
                if (m + a.index + c.index) % 3 or r.random() >= 0.35:
                    continue
                s, e = spans[r.randrange(len(spans))]
                at = work_time(r, s, e)
                score = _scaled(2.5 + 7.5 * a.health[m] + r.gauss(0, 1.4), 0, 10)
                nps.append((at, c.hd_id, "nps", score, c, None, r.choice(["email", "in_app"])))
                again = at + r.randint(DAY, 5 * DAY)
                if again < min(hi, w.end) and (r.random() < 0.01 or not doubled):
                    doubled = True
                    nps.append((again, c.hd_id, "nps", _scaled(score + r.randint(-2, 2), 0, 10), c, None, "email"))
    answers += nps
    answers.sort(key=lambda x: (x[0], x[1], x[2]))
    out = []
    scale = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
    for n, (at, _, kind, score, who, ticket, channel) in enumerate(answers):
        lo, hi = scale[kind]
        mood = "good" if score >= (9 if kind == "nps" else hi - 1) else "bad" if score <= (6 if kind == "nps" else 2) \
            else None
        comment = COMMENTS[mood][(at // 60) % 4] if mood else None
        out.append({"id": 50_001 + n, "survey": kind, "score": score, "scale": {"min": lo, "max": hi},
                    "comment": comment, "respondent_id": who.hd_id, "ticket_id": ticket, "channel": channel,
                    "organization_id": w.accounts[w.contact_account[who.hd_id]].org_id, "created_at": iso(at)})
    return out
