"""Northwind's Zendesk: two customer organizations, their people, a week of tickets and ratings."""
from __future__ import annotations

import zendesk_payloads as zp
from zendesk_fake import FakeZendesk

T0 = zp.epoch("2026-03-02T09:00:00Z")
HOUR, DAY = 3600, 86400
START_DATE = "2026-01-01"
AGENT, ADMIN = 9001, 9002
TIER1, ESCALATIONS = 31, 32
NORTHWIND, GLOBEX = 501, 502
ALICE, BOB, CAROL = 101, 102, 103


def populate(fake: FakeZendesk) -> FakeZendesk:
    fake.add("groups", zp.group(TIER1, "Tier 1", created=T0 - 90 * DAY),
             zp.group(ESCALATIONS, "Escalations", created=T0 - 90 * DAY))
    fake.add("organizations",
             zp.organization(NORTHWIND, "Northwind Traders", created=T0 - 60 * DAY, updated=T0 - 30 * DAY,
                             domain_names=["northwind.example"], external_id="hs-9876", group_id=TIER1,
                             tags=["enterprise"], fields={"segment": "enterprise", "csm": "Dana Scully",
                                                          "seats": "120"}),
             zp.organization(GLOBEX, "Globex", created=T0 - 50 * DAY, updated=T0 - 20 * DAY,
                             domain_names=["gmail.com", "https://www.Globex.example/"]))
    fake.add("users",
             zp.user(AGENT, "Ada Agent", "ada@support.example", created=T0 - 50 * DAY, role="agent"),
             zp.user(ADMIN, "Ben Admin", "ben@support.example", created=T0 - 50 * DAY, role="admin"),
             zp.user(ALICE, "Alice Able", "Alice@Northwind.example", created=T0 - 40 * DAY, organization_id=NORTHWIND),
             zp.user(BOB, "Bob Baker", "bob@globex.example", created=T0 - 35 * DAY, organization_id=GLOBEX),
             zp.user(CAROL, "Carol Cole", "carol@gmail.com", created=T0 - 10 * DAY))
    tickets = [
        # id, status, channel, requester, org, assignee, group, created offset, tags
        (1, "solved", "email", ALICE, NORTHWIND, AGENT, TIER1, 0, []),
        (2, "hold", "web", ALICE, NORTHWIND, AGENT, ESCALATIONS, 1 * HOUR, ["escalated"]),
        (3, "open", "native_messaging", BOB, GLOBEX, None, None, 2 * HOUR, []),
        (4, "pending", "voice", BOB, GLOBEX, ADMIN, TIER1, 3 * HOUR, []),
        (5, "new", "api", CAROL, None, None, None, 4 * HOUR, []),
        (6, "closed", "twitter", CAROL, None, AGENT, TIER1, 5 * HOUR, ["vip"]),
        (7, "open", "rule", ALICE, NORTHWIND, None, None, 6 * HOUR, []),
    ]
    for ticket_id, status, channel, requester, org, assignee, grp, offset, tags in tickets:
        created = T0 + offset
        fake.add("tickets", zp.ticket(ticket_id, created=created, updated=created + DAY, status=status,
                                      channel=channel, requester_id=requester, organization_id=org,
                                      assignee_id=assignee, group_id=grp, tags=tags))
    fake.add("metric_sets",
             zp.metric_set(1, created=T0, updated=T0 + DAY, replies=1, reply_minutes=90, solved=T0 + 5 * HOUR,
                           assigned=T0 + 10 * 60),
             zp.metric_set(2, created=T0 + HOUR, updated=T0 + DAY, replies=2, reply_minutes=30, assigned=T0 + HOUR),
             zp.metric_set(3, created=T0 + 2 * HOUR, updated=T0 + DAY),
             zp.metric_set(4, created=T0 + 3 * HOUR, updated=T0 + DAY, replies=1, reply_minutes=15),
             zp.metric_set(5, created=T0 + 4 * HOUR, updated=T0 + DAY),
             zp.metric_set(6, created=T0 + 5 * HOUR, updated=T0 + DAY, replies=3, reopens=1, reply_minutes=240,
                           solved=T0 + 2 * DAY, assigned=T0 + 6 * HOUR),
             zp.metric_set(7, created=T0 + 6 * HOUR, updated=T0 + DAY))
    fake.add("ratings",
             zp.rating(801, 1, ALICE, "good", created=T0 + 1 * DAY, comment="Quick and kind", assignee_id=AGENT),
             zp.rating(802, 6, CAROL, "bad", created=T0 + 3 * DAY, comment="Took days"),
             zp.rating(803, 4, BOB, "offered", created=T0 + 40 * DAY))
    return fake


def add_changes(fake: FakeZendesk) -> dict[str, int]:
    """One new record per stream, later than everything populate() made."""
    later = T0 + 45 * DAY
    fake.add("organizations", zp.organization(503, "Initech", created=later, domain_names=["initech.example"]))
    fake.add("users", zp.user(104, "Dan Dole", "dan@initech.example", created=later, organization_id=503))
    fake.add("tickets", zp.ticket(8, created=later, status="open", channel="email", requester_id=104,
                                  organization_id=503))
    fake.add("metric_sets", zp.metric_set(8, created=later))
    fake.add("ratings", zp.rating(804, 1, ALICE, "good", created=later))
    return {"organizations": 1, "users": 1, "tickets": 1, "satisfaction_ratings": 1}
