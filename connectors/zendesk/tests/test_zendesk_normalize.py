"""Zendesk records in the canonical model: tickets, metric sets, ratings, organizations, users."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from csconnect import Delete
from csconnect.testing import Workspace
from csconnect_zendesk import ZendeskConnector
from csconnect_zendesk import normalize as nz

import zendesk_payloads as zp
import zendesk_scenario
from test_zendesk_suite import SETTINGS
from zendesk_fake import FakeZendesk
from zendesk_scenario import ALICE, BOB, DAY, NORTHWIND, T0


def workspace(tmp_path: Path, **settings: Any) -> Workspace:
    return Workspace(tmp_path, ZendeskConnector, connections={"zendesk": dict(SETTINGS, connector="zendesk",
                                                                               **settings)})


@pytest.fixture
def fake(respx_mock: Any) -> FakeZendesk:
    return zendesk_scenario.populate(FakeZendesk(respx_mock))


@pytest.fixture
def synced(tmp_path: Path, fake: FakeZendesk) -> Workspace:
    ws = workspace(tmp_path)
    assert ws.sync().ok
    return ws


def by_id(ws: Workspace, table: str) -> dict[str, dict[str, Any]]:
    return {r["source_id"]: r for r in ws.rows(table)}


def test_status_and_channel_map_to_the_model(synced: Workspace) -> None:
    tickets = by_id(synced, "tickets")
    got = {k: (t["status"], t["source_status"], t["channel"], t["source_type"]) for k, t in tickets.items()}
    assert got == {
        "1": ("solved", "solved", "email", "email"),
        "2": ("pending", "hold", "web", "web"),
        "3": ("open", "open", "chat", "native_messaging"),
        "4": ("pending", "pending", "phone", "voice"),
        "5": ("new", "new", "api", "api"),
        "6": ("closed", "closed", "social", "twitter"),
        "7": ("open", "open", "other", "rule"),
    }
    two = tickets["2"]
    assert two["tags"] == '["escalated"]' and two["escalated"] is None       # the pack reads the tag
    assert (two["assignee"], two["group_name"]) == ("Ada Agent", "Escalations")
    assert tickets["4"]["assignee"] == "Ben Admin"                           # admins are assignees too
    assert (two["requester_id"], two["source_account_id"]) == (f"zendesk:{ALICE}", str(NORTHWIND))
    assert (two["priority"], two["type"], two["subject"]) == ("normal", "question", "Ticket 2")


def test_metric_sets_give_reply_solve_reopen_and_reply_counts(synced: Workspace) -> None:
    tickets = by_id(synced, "tickets")
    one, six, three = tickets["1"], tickets["6"], tickets["3"]
    # created_at + reply_time_in_minutes.calendar
    assert (one["created_at"], one["first_reply_at"]) == ("2026-03-02T09:00:00Z", "2026-03-02T10:30:00Z")
    assert (one["solved_at"], one["agent_replies"], one["reopens"]) == ("2026-03-02T14:00:00Z", 1, 0)
    assert (six["first_reply_at"], six["solved_at"]) == ("2026-03-02T18:00:00Z", "2026-03-04T09:00:00Z")
    assert (six["agent_replies"], six["reopens"]) == (3, 1)
    assert three["first_reply_at"] is None and three["solved_at"] is None and three["agent_replies"] == 0


def test_a_reopened_ticket_keeps_no_solve_time_and_one_without_metrics_no_counts() -> None:
    connector = ZendeskConnector("zd", dict(SETTINGS), sleep=lambda s: None)
    reopened = zp.ticket(1, created=T0, status="open")
    reopened["metric_set"] = zp.metric_set(1, created=T0, replies=2, reopens=1, reply_minutes=5, solved=T0 + DAY)
    (table, row), = nz.ticket(connector, reopened)
    assert (row["solved_at"], row["reopens"], row["first_reply_at"]) == (None, 1, "2026-03-02T09:05:00Z")
    (table, row), = nz.ticket(connector, zp.ticket(2, created=T0, status="solved", assignee_id=77))
    assert (row["solved_at"], row["agent_replies"], row["first_reply_at"], row["assignee"]) == (None, None, None, "77")
    assert list(nz.ticket(connector, zp.deleted_ticket(zp.ticket(3, created=T0), at=T0))) == [Delete("tickets", 3)]


def test_satisfaction_ratings_good_bad_and_offered(synced: Workspace) -> None:
    answers = by_id(synced, "survey_responses")
    assert set(answers) == {"801", "802"}                      # 803 was only offered: not a response
    good, bad = answers["801"], answers["802"]
    assert (good["kind"], good["score"], good["scale_min"], good["scale_max"], good["polarity"]) == \
        ("csat", 1.0, 0.0, 1.0, "higher_better")
    assert (good["ticket_id"], good["contact_id"], good["comment"]) == ("zendesk:1", f"zendesk:{ALICE}",
                                                                       "Quick and kind")
    assert (bad["score"], bad["ticket_id"], bad["responded_at"]) == (0.0, "zendesk:6", "2026-03-05T09:00:00Z")
    assert synced.rows("raw_zendesk__satisfaction_ratings", "id = '803'")      # kept raw all the same


def test_a_rating_changed_later_is_one_row_with_its_latest_score(synced: Workspace, fake: FakeZendesk) -> None:
    offered = fake.ratings[803]
    fake.add("ratings", {**offered, "score": "bad", "comment": "Still broken", "updated_at": zp.iso(T0 + 41 * DAY)})
    fake.route.calls.clear()
    assert synced.sync().ok
    # 28 days of look-back before the newest rating made (803, at T0 + 40 days)
    assert fake.paths("/api/v2/satisfaction_ratings") == [
        f"/api/v2/satisfaction_ratings.json?page[size]=100&start_time={T0 + 12 * DAY}"]
    assert by_id(synced, "survey_responses")["803"]["score"] == 0.0
    fake.add("ratings", {**fake.ratings[803], "score": "good", "comment": "Fixed now",
                         "updated_at": zp.iso(T0 + 42 * DAY)})
    assert synced.sync().ok
    rows = synced.rows("survey_responses", "source_id = '803'")
    assert [(r["score"], r["comment"], r["responded_at"]) for r in rows] == [(1.0, "Fixed now", "2026-04-13T09:00:00Z")]


def test_an_unknown_rating_score_is_a_reject(tmp_path: Path, fake: FakeZendesk) -> None:
    fake.add("ratings", zp.rating(809, 1, ALICE, "great", created=T0))
    ws = workspace(tmp_path)
    assert ws.sync().ok
    (reject,) = ws.rejects()
    assert reject["record_id"] == "809" and "unknown satisfaction score 'great'" in reject["reason"]


def test_an_organization_with_a_domain_becomes_a_source_account(synced: Workspace) -> None:
    northwind = by_id(synced, "source_accounts")[str(NORTHWIND)]
    assert (northwind["name"], northwind["domain"], northwind["created_at"]) == \
        ("Northwind Traders", "northwind.example", "2026-01-01T09:00:00Z")
    assert northwind["external_ids"] is None
    assert northwind["attributes"] == ('{"external_id":"hs-9876","group":"Tier 1","seats":120,'
                                       '"segment":"enterprise","tags":["enterprise"]}')
    # free-mail domains never stand for a company; the next one, normalized, does
    assert by_id(synced, "source_accounts")["502"]["domain"] == "globex.example"


def test_organization_fields_and_external_ids_are_configurable(tmp_path: Path, fake: FakeZendesk) -> None:
    ws = workspace(tmp_path, external_id_system="hubspot", organization_fields={"owner": "csm", "segment": "tier"})
    assert ws.sync().ok
    northwind = by_id(ws, "source_accounts")[str(NORTHWIND)]
    assert northwind["external_ids"] == '{"hubspot":"hs-9876"}'
    assert northwind["attributes"] == ('{"group":"Tier 1","owner":"Dana Scully","seats":120,'
                                       '"tags":["enterprise"]}')      # no `tier` field: no segment


def test_end_users_are_contacts_and_agents_stay_raw(synced: Workspace, fake: FakeZendesk) -> None:
    contacts = by_id(synced, "contacts")
    assert set(contacts) == {"101", "102", "103"}
    assert (contacts["101"]["email"], contacts["101"]["source_account_id"]) == ("alice@northwind.example", "501")
    assert contacts["103"]["source_account_id"] is None
    assert {r["id"] for r in synced.rows("raw_zendesk__users")} == {"101", "102", "103", "9001", "9002"}
    fake.add("users", {**fake.users[BOB], "active": False, "updated_at": zp.iso(T0 + 50 * DAY)})   # deleted
    fake.add("users", {**fake.users[ALICE], "role": "agent", "updated_at": zp.iso(T0 + 50 * DAY)})  # hired
    assert synced.sync().ok
    assert set(by_id(synced, "contacts")) == {"103"}


def test_a_deleted_organization_is_removed() -> None:
    connector = ZendeskConnector("zd", dict(SETTINGS), sleep=lambda s: None)
    gone = {**zp.organization(9, "Gone", created=T0), "deleted_at": zp.iso(T0 + DAY)}
    assert list(nz.organization(connector, gone)) == [Delete("source_accounts", 9)]


def test_identity_puts_tickets_and_contacts_on_their_organization(synced: Workspace) -> None:
    from csconnect.identity import link

    link(synced.store, synced.config, synced.registry)
    (northwind,) = synced.rows("accounts", "account_id = ?", (f"zendesk:{NORTHWIND}",))
    assert (northwind["name"], northwind["domain"]) == ("Northwind Traders", "northwind.example")
    tickets = by_id(synced, "tickets")
    assert {tickets[k]["account_id"] for k in ("1", "2", "7")} == {f"zendesk:{NORTHWIND}"}
    assert by_id(synced, "contacts")["101"]["account_id"] == f"zendesk:{NORTHWIND}"
