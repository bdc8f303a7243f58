"""A small B2B product on PostHog: two customer companies (group type 0), three users, ten days."""
from __future__ import annotations

from datetime import date

from posthog_fake import FakePostHog

TODAY = date(2026, 3, 10)
START = "2026-03-01"
ALICE = "018e1a2b-0000-7000-8000-00000000a11c"
BOB = "018e1a2b-0000-7000-8000-000000000b0b"
CARA = "018e1a2b-0000-7000-8000-00000000ca7a"
VISITOR = "018e1a2b-0000-7000-8000-0000000f1517"
ACME_PROPS = {"company_id": "acme"}
GLOBEX_PROPS = {"company_id": "globex"}


def populate(fake: FakePostHog) -> FakePostHog:
    fake.add_group(0, "acme", {"name": "Acme Inc", "domain": "acme.com", "industry": "manufacturing"})
    fake.add_group(0, "globex", {"name": "Globex", "website": "https://www.globex.io/"})
    fake.add_person(ALICE, {"email": "alice@acme.com", "name": "Alice Doe", "company_id": "acme"},
                    ["alice@acme.com", "e3b0c442-anon"])
    fake.add_person(BOB, {"email": "bob@acme.com", "first_name": "Bob", "last_name": "Ray", "company_id": "acme"})
    fake.add_person(CARA, {"$email": "cara@globex.io", "company_id": "globex", "title": "Ops lead"})
    fake.add_person(VISITOR, {"$initial_referrer": "$direct"})
    for n in range(1, 11):
        day = f"2026-03-{n:02d}"
        # Alice: a web session with $session_id every day, two features
        fake.add_event(ALICE, "$pageview", f"{day} 09:00:00", f"s-a-{n}", groups={0: "acme"},
                       person_props=ACME_PROPS)
        fake.add_event(ALICE, "report_viewed", f"{day} 09:12:00", f"s-a-{n}", groups={0: "acme"},
                       person_props=ACME_PROPS)
        fake.add_event(ALICE, "$feature_flag_called", f"{day} 11:00:00", f"s-a-{n}", groups={0: "acme"})
        if n % 2 == 0:
            # Bob: server-side events without a session id, every other day
            fake.add_event(BOB, "export_created", f"{day} 14:00:00", groups={0: "acme"}, person_props=ACME_PROPS)
            fake.add_event(BOB, "export_created", f"{day} 14:20:00", groups={0: "acme"}, person_props=ACME_PROPS)
        if n % 3 == 0:
            fake.add_event(CARA, "$pageview", f"{day} 16:00:00", f"s-c-{n}", groups={0: "globex"},
                           person_props=GLOBEX_PROPS)
            fake.add_event(CARA, "dashboard_shared", f"{day} 16:05:00", f"s-c-{n}", groups={0: "globex"},
                           person_props=GLOBEX_PROPS)
        fake.add_event(VISITOR, "$pageview", f"{day} 07:00:00", f"s-v-{n}", mode="propertyless")
    return fake


def add_late_event(fake: FakePostHog) -> None:
    """A backdated event (client clock) on a day the first sync already read."""
    fake.add_event(ALICE, "invite_sent", "2026-03-08 09:20:00", "s-a-8", groups={0: "acme"},
                   person_props=ACME_PROPS)
