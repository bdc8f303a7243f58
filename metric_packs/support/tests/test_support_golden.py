"""Golden numbers for the support pack, worked by hand from a small helpdesk + survey history.

As of 2026-06-30. Accounts: acme (enterprise, DE, ann, 50 seats), beta (smb, US, bob, 10 seats),
gamma (smb, US, bob, no seats).
"""
from __future__ import annotations

import math

import pytest

from support_helpers import Data

MAY, APR, JUN = "2026-05-01", "2026-04-01", "2026-06-01"


def build(data: Data) -> None:
    data.account("acme", segment="enterprise", country="DE", owner="ann", seats=50, created_at="2025-01-10T00:00:00Z")
    data.account("beta", segment="smb", country="US", owner="bob", seats=10, created_at="2025-03-05T00:00:00Z")
    data.account("gamma", segment="smb", country="US", owner="bob", created_at="2025-03-20T00:00:00Z")
    t = data.ticket
    # created, first reply (s), solved (resolution s), replies, reopens
    t("1", "acme", "2026-05-04T09:00:00Z", first_reply_at="2026-05-04T09:10:00Z",          # 600
      status="solved", solved_at="2026-05-04T10:00:00Z", agent_replies=1, reopens=0,      # 3,600: one touch
      priority="high", assignee="ann")
    t("2", "acme", "2026-05-05T08:00:00Z", first_reply_at="2026-05-05T08:20:00Z",          # 1,200
      status="closed", solved_at="2026-05-06T08:00:00Z", agent_replies=3, reopens=0,      # 86,400
      channel="chat", priority="normal", assignee="carl", tags=["billing", "Escalated"])  # escalated by tag
    t("3", "beta", "2026-05-10T12:00:00Z", first_reply_at="2026-05-10T12:05:00Z",          # 300
      status="solved", solved_at="2026-05-20T12:00:00Z", agent_replies=1, reopens=1,      # 864,000: reopened
      priority="normal", assignee="ann")
    t("4", "beta", "2026-05-12T00:00:00Z",                                                 # no reply
      status="solved", solved_at="2026-05-12T02:00:00Z", agent_replies=0, reopens=0,      # 7,200: FCR den only
      channel="web", priority="low")
    t("5", "gamma", "2026-05-20T00:00:00Z", first_reply_at="2026-05-20T00:50:00Z",         # 3,000
      status="open", agent_replies=2, escalated=True, priority="high", assignee="carl")   # flag
    t("6", "acme", "2026-05-28T00:00:00Z", first_reply_at="2026-05-28T00:15:00Z",          # 900
      status="pending", escalated=False, tags=["escalated"], priority="normal", assignee="ann")  # flag wins
    t("7", "beta", "2026-04-20T00:00:00Z", first_reply_at="2026-04-20T00:01:00Z",          # April
      status="solved", solved_at="2026-05-02T00:00:00Z", agent_replies=2, reopens=0)      # 1,036,800
    t("8", "acme", "2026-04-25T00:00:00Z", first_reply_at="2026-04-25T00:01:40Z",          # reopened, open now
      status="open", solved_at="2026-04-26T00:00:00Z", agent_replies=1, reopens=1)
    t("9", "acme", "2026-05-15T00:00:00Z", source="hubspot", first_reply_at="2026-05-15T00:30:00Z",  # 1,800
      status="solved", solved_at="2026-05-15T01:00:00Z", agent_replies=1, reopens=0,      # 3,600
      priority="normal", assignee="dave")
    t("10", "acme", "2026-07-01T00:00:00Z")                                                # after as-of
    t("11", "beta", "2026-05-30T00:00:00Z", first_reply_at="2026-05-30T00:04:00Z",         # 240
      status="solved", solved_at="2026-07-02T00:00:00Z", agent_replies=1, reopens=0,      # solved after as-of
      channel="chat", priority="low", assignee="carl")
    t("12", "beta", "2026-06-02T10:00:00Z", first_reply_at="2026-06-02T10:10:00Z",
      status="solved", solved_at="2026-06-03T10:00:00Z", agent_replies=1, reopens=0)
    t("13", "acme", "2026-06-03T10:00:00Z")
    t("14", "acme", "2026-06-09T10:00:00Z", status="closed", solved_at="2026-06-09T12:00:00Z", agent_replies=1)

    a = data.answer
    # CSAT: scales 1–5, 0–2 (HubSpot), 0–1 (good/bad); satisfied marked ✓
    a("c1", "csat", 5, "2026-05-04T12:00:00Z", source="zendesk", account="acme", ticket_id="zendesk:1",
      scale_min=1, scale_max=5)                                                                    # ✓
    a("c2", "csat", 2, "2026-05-07T00:00:00Z", source="zendesk", account="acme", ticket_id="zendesk:2",
      scale_min=1, scale_max=5)                                                                    # superseded
    a("c3", "csat", 4, "2026-06-02T00:00:00Z", source="zendesk", account="acme", ticket_id="zendesk:2",
      scale_min=1, scale_max=5)                                                                    # ✓ in June
    a("c4", "csat", 1, "2026-05-21T00:00:00Z", source="zendesk", account="beta", ticket_id="zendesk:3",
      scale_min=0, scale_max=2)                                                                    # ✗
    a("c5", "csat", 2, "2026-05-13T00:00:00Z", source="zendesk", account="beta", ticket_id="zendesk:4",
      scale_min=0, scale_max=2)                                                                    # ✓
    a("c6", "csat", 1, "2026-05-15T00:00:00Z", scale_min=0, scale_max=1)                         # good ✓
    a("c7", "csat", 0, "2026-05-16T00:00:00Z", scale_min=0, scale_max=1)                         # bad ✗
    a("c8", "csat", None, "2026-05-21T00:00:00Z", source="zendesk", account="gamma",
      ticket_id="zendesk:5", scale_min=1, scale_max=5)                                             # offered
    a("c9", "csat", 4, "2026-05-20T00:00:00Z", scale_min=1, scale_max=5)                         # ✓
    a("c10", "csat", 2, "2026-05-16T00:00:00Z", source="hubspot", account="acme", ticket_id="hubspot:9",
      scale_min=0, scale_max=2)                                                                    # ✓
    a("c11", "csat", 3, "2026-05-22T00:00:00Z")                                                  # 1–5 assumed ✗

    # NPS. May: k1 answers twice (3, then 10: promoter), k2 9 P, k3 7 passive, k4 5 D, k5 0 D, k6 10 P,
    # two answers without a contact: 8 passive, 9 P  ->  n 8, P 4, passives 2, D 2.
    for sid, contact, account, score, when in [
            ("n0", "k1", "acme", 6, "2026-04-10T00:00:00Z"),
            ("n1", "k1", "acme", 3, "2026-05-02T00:00:00Z"), ("n2", "k1", "acme", 10, "2026-05-20T00:00:00Z"),
            ("n3", "k2", "acme", 9, "2026-05-05T00:00:00Z"), ("n4", "k3", "acme", 7, "2026-05-06T00:00:00Z"),
            ("n5", "k4", "beta", 5, "2026-05-07T00:00:00Z"), ("n6", "k5", "beta", 0, "2026-05-08T00:00:00Z"),
            ("n7", "k6", "beta", 10, "2026-05-09T00:00:00Z"), ("n8", None, None, 8, "2026-05-10T00:00:00Z"),
            ("n9", None, None, 9, "2026-05-11T00:00:00Z")]:
        a(sid, "nps", score, when, account=account, contact_id=f"delighted:{contact}" if contact else None,
          scale_min=0, scale_max=10)
    a("n10", "nps", None, "2026-05-12T00:00:00Z", contact_id="delighted:k7")                     # unrated
    # June: 30 contacts, 15 promoters, 9 passives, 6 detractors
    for i in range(30):
        score = 10 if i < 15 else 8 if i < 24 else 3
        a(f"j{i}", "nps", score, f"2026-06-{1 + i % 28:02d}T00:00:00Z", contact_id=f"delighted:j{i}")

    # CES: 1–7 higher-better (two answers state no scale) and 1–5 lower-better
    for sid, score, lo, hi, polarity in [("e1", 7, 1, 7, "higher_better"), ("e2", 5, None, None, None),
                                         ("e3", 4, 1, 7, "higher_better"), ("e4", 2, None, None, None),
                                         ("e5", 6, 1, 7, "higher_better"), ("e6", 1, 1, 5, "lower_better"),
                                         ("e7", 2, 1, 5, "lower_better"), ("e8", 4, 1, 5, "lower_better")]:
        a(sid, "ces", score, "2026-05-14T00:00:00Z", account="acme", scale_min=lo, scale_max=hi, polarity=polarity)


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    data = Data(tmp_path_factory.mktemp("golden"))
    build(data)
    result = data.run()
    assert result.status == "ok", result
    yield data
    data.ws.close()


@pytest.fixture(scope="module")
def narrowed(tmp_path_factory):
    data = Data(tmp_path_factory.mktemp("narrowed"), ticket_sources=["zendesk"])
    build(data)
    assert data.run().status == "ok"
    yield data
    data.ws.close()


# -- volume, backlog ---------------------------------------------------------------------------------
def test_tickets_created_by_month_segment_and_account(golden):
    # May: 1 2 3 4 5 6 9 11 (10 is after the as-of date)
    assert golden.value("tickets_created", MAY) == 8
    assert golden.value("tickets_created", APR) == 2
    assert golden.value("tickets_created", JUN) == 3
    assert golden.value("tickets_created", MAY, segment_by="segment", segment="enterprise") == 4   # 1 2 6 9
    assert golden.value("tickets_created", MAY, segment_by="segment", segment="smb") == 4          # 3 4 5 11
    assert golden.value("tickets_created", MAY, segment_by="cohort", segment="2025-03") == 4
    assert golden.value("tickets_created", MAY, segment_by="channel", segment="chat") == 2         # 2 11
    assert golden.value("tickets_created", MAY, segment_by="assignee", segment="carl") == 3        # 2 5 11
    assert golden.value("tickets_created", MAY, segment_by="assignee", segment="(none)") == 1      # 4
    assert golden.account_value("acme", "tickets_created", MAY) == 4
    assert golden.account_value("beta", "tickets_created", MAY) == 3
    assert golden.account_value("gamma", "tickets_created", MAY) == 1


def test_tickets_per_100_seats(golden):
    # seated accounts acme (50) and beta (10): (4 + 3) tickets / 60 seats × 100; gamma has no seats
    assert golden.row_of("tickets_per_100_seats", MAY) == (pytest.approx(700 / 60), 7, 60)
    assert golden.row_of("tickets_per_100_seats", MAY, segment_by="segment", segment="smb") == (30.0, 3, 10)
    assert golden.account_value("acme", "tickets_per_100_seats", MAY) == 8.0
    assert golden.account_value("beta", "tickets_per_100_seats", MAY) == 30.0
    assert golden.account_value("gamma", "tickets_per_100_seats", MAY) == "missing"


def test_tickets_solved_at_latest_solve_time(golden):
    # May: 1 2 3 4 7 9 (11 is solved after the as-of date; 8 was solved in April but is open again)
    assert golden.value("tickets_solved", MAY) == 6
    assert golden.value("tickets_solved", APR) == 0
    assert golden.value("tickets_solved", JUN) == 2


def test_backlog_at_period_end(golden):
    # end of April: 7 (solved 2 May) and 8 (reopened);  end of May: 5 6 8 11;  June (as of 30th): + 13
    assert golden.value("backlog", APR) == 2
    assert golden.value("backlog", MAY) == 4
    assert golden.value("backlog", JUN) == 5
    assert golden.value("backlog", MAY, segment_by="segment", segment="enterprise") == 2      # 6 8
    assert golden.value("backlog", MAY, segment_by="priority", segment="high") == 1           # 5
    assert golden.account_value("beta", "backlog", MAY) == 1                                   # 11


# -- times ---------------------------------------------------------------------------------------------
def test_first_reply_median_and_p90(golden):
    # May-created with a reply: 240 300 600 900 1200 1800 3000 (n 7)
    assert golden.value("first_reply_seconds_median", MAY) == 900
    # p90: h = 6 × 0.9 = 5.4 -> 1800 + 0.4 × (3000 − 1800) = 2280
    assert golden.value("first_reply_seconds_p90", MAY) == pytest.approx(2280)
    # assignee ann: 600 (1) 300 (3) 900 (6) -> median 600; p90 h = 1.8 -> 600 + 0.8 × 300 = 840
    assert golden.value("first_reply_seconds_median", MAY, segment_by="assignee", segment="ann") == 600
    assert golden.value("first_reply_seconds_p90", MAY, segment_by="assignee", segment="ann") == pytest.approx(840)


def test_resolution_even_median_and_p90(golden):
    # May-solved: 3600 (1) 3600 (9) 7200 (4) 86400 (2) 864000 (3) 1036800 (7): n 6
    assert golden.value("resolution_seconds_median", MAY) == (7200 + 86400) / 2             # 46,800
    # p90: h = 5 × 0.9 = 4.5 -> 864000 + 0.5 × 172800 = 950400
    assert golden.value("resolution_seconds_p90", MAY) == pytest.approx(950400)
    # segment smb (beta): 7200 864000 1036800 -> median 864000; p90 h = 1.8 -> 864000 + 0.8 × 172800
    assert golden.value("resolution_seconds_median", MAY, segment_by="segment", segment="smb") == 864000
    assert golden.value("resolution_seconds_p90", MAY, segment_by="segment", segment="smb") == \
        pytest.approx(1002240)
    assert golden.value("resolution_seconds_median", APR) is None                             # nothing solved


# -- ratios ---------------------------------------------------------------------------------------------
def test_first_contact_resolution(golden):
    # solved in May: 1 (1 reply) ✓, 2 (3 replies), 3 (reopened), 4 (no reply: denominator only), 7 (2), 9 ✓
    assert golden.row_of("first_contact_resolution_rate", MAY) == (pytest.approx(2 / 6), 2, 6)
    assert golden.row_of("first_contact_resolution_rate", MAY, segment_by="segment", segment="smb") == (0.0, 0, 3)
    assert golden.account_value("acme", "first_contact_resolution_rate", MAY) == pytest.approx(2 / 3)


def test_reopen_rate(golden):
    assert golden.row_of("reopen_rate", MAY) == (pytest.approx(1 / 6), 1, 6)                 # 3


def test_escalation_rate_flag_else_tag(golden):
    # created in May: 2 (tag, any case) and 5 (flag) of 8; 6 has the tag but its source's flag says no
    assert golden.row_of("escalation_rate", MAY) == (0.25, 2, 8)
    assert golden.row_of("escalation_rate", MAY, segment_by="priority", segment="high") == (0.5, 1, 2)


# -- surveys ----------------------------------------------------------------------------------------------
def test_csat_mixed_scales_latest_rating_counts_once(golden):
    # May: c1 5/1–5 ✓, c4 1/0–2 ✗, c5 2/0–2 ✓, c6 good ✓, c7 bad ✗, c9 4/1–5 ✓, c10 2/0–2 ✓, c11 3 ✗;
    # c2 was changed in June (c3: 4 ✓), c8 is unrated
    assert golden.row_of("csat", MAY) == (5 / 8, 5, 8)
    assert golden.row_of("csat", JUN) == (1.0, 1, 1)
    assert golden.row_of("csat", MAY, segment_by="segment", segment="enterprise") == (1.0, 2, 2)  # c1 c10
    assert golden.row_of("csat", MAY, segment_by="segment", segment="(none)") == (0.5, 2, 4)      # c6 c7 c9 c11
    assert golden.row_of("csat", MAY, segment_by="assignee", segment="ann") == (0.5, 1, 2)        # c1 c4
    assert golden.row_of("csat", MAY, segment_by="channel", segment="web") == (1.0, 1, 1)         # c5 (ticket 4)


def test_nps_latest_answer_per_contact(golden):
    # P 4, passives 2, D 2 of n 8 -> 100 × (4 − 2) / 8 = 25
    assert golden.row_of("nps", MAY) == (25.0, 200, 8)
    assert golden.row_of("nps", APR) == (-100.0, -100, 1)
    assert golden.row_of("nps", MAY, segment_by="segment", segment="enterprise") == \
        (pytest.approx(200 / 3), 200, 3)                                                      # k1 P, k2 P, k3 Pa
    # weekly: k1's first May answer (3) counts in its own week, 27 April – 3 May
    assert golden.row_of("nps", "2026-04-27", grain="week") == (-100.0, -100, 1)


def nps_detail(data, period, grain="month", segment_by="all", segment="all"):
    rows = data.store.query("SELECT * FROM nps_detail WHERE grain=? AND period_start=? AND segment_by=? "
                            "AND segment=?", [grain, period, segment_by, segment])
    assert len(rows) == 1
    return rows[0]


def test_nps_detail_interval_and_small_sample(golden):
    row = nps_detail(golden, MAY)
    assert (row["n"], row["promoters"], row["passives"], row["detractors"]) == (8, 4, 2, 2)
    # p = .5, d = .25: SE = 100 √((.75 − .0625)/8) = 100 √.0859375 = 29.3150985
    assert row["se"] == pytest.approx(29.3150985, abs=1e-6)
    assert row["ci_low"] == pytest.approx(25 - 1.96 * 29.3150985, abs=1e-5)                 # −32.4576
    assert row["ci_high"] == pytest.approx(25 + 1.96 * 29.3150985, abs=1e-5)                # 82.4576
    assert row["small_sample"] == 1 and row["period_end"] == "2026-05-31"
    june = nps_detail(golden, JUN)                                                          # n = 30: not small
    assert (june["n"], june["nps"], june["small_sample"]) == (30, 30.0, 0)
    assert june["se"] == pytest.approx(100 * math.sqrt((0.5 + 0.2 - 0.09) / 30))           # 14.2595
    assert june["period_end"] == "2026-06-30"
    april = nps_detail(golden, APR)                                                         # all detractors
    assert (april["nps"], april["se"], april["ci_low"], april["ci_high"]) == (-100, 0, -100, -100)
    assert nps_detail(golden, MAY, segment_by="segment", segment="(none)")["n"] == 2


def test_ces_per_scale_never_mixed(golden):
    # 1–7 higher better: 7 5 4 2 6 -> mean 24/5, easy (5–7) 3/5; 1–5 lower better: 1 2 4 -> 7/3, easy 2/3
    assert golden.row_of("ces", MAY) == (4.8, 24, 5)                                       # headline: most answers
    assert golden.row_of("ces_easy_share", MAY) == (0.6, 3, 5)
    assert golden.row_of("ces", MAY, segment_by="scale", segment="1-7 higher_better") == (4.8, 24, 5)
    assert golden.row_of("ces", MAY, segment_by="scale", segment="1-5 lower_better") == (pytest.approx(7 / 3), 7, 3)
    assert golden.row_of("ces_easy_share", MAY, segment_by="scale", segment="1-5 lower_better") == \
        (pytest.approx(2 / 3), 2, 3)
    assert golden.row_of("ces", MAY, segment_by="segment", segment="enterprise") == (4.8, 24, 5)
    definition = golden.store.query("SELECT definition FROM metric_definitions WHERE metric='ces'")[0]["definition"]
    assert "now 1-7 higher_better" in definition


def test_self_service_rate_is_not_computed(golden):
    assert golden.store.query("SELECT count(*) AS n FROM metric_values WHERE metric='self_service_rate'")[0]["n"] == 0


# -- weekly grain -------------------------------------------------------------------------------------------
def test_weekly_values(golden):
    week = "2026-06-01"                   # Monday 1 June – Sunday 7 June: 12 and 13 created, 12 solved
    assert golden.value("tickets_created", week, grain="week") == 2
    assert golden.value("tickets_solved", week, grain="week") == 1
    assert golden.value("backlog", week, grain="week") == 5
    assert golden.value("tickets_created", "2026-06-08", grain="week") == 1
    assert golden.value("backlog", "2026-06-08", grain="week") == 5
    # an ISO week across a month end: 27 April – 3 May holds ticket 7's solve (2 May)
    assert golden.value("tickets_solved", "2026-04-27", grain="week") == 1
    assert golden.value("resolution_seconds_median", "2026-04-27", grain="week") == 1036800
    # the to-date week (29 June – 5 July) ends at the as-of day
    assert golden.store.query("SELECT period_end FROM metric_values WHERE metric='backlog' AND grain='week' "
                              "AND period_start='2026-06-29' AND segment_by='all'")[0]["period_end"] == "2026-06-30"
    assert golden.value("backlog", "2026-06-29", grain="week") == 5
    assert golden.value("csat", "2026-06-01", grain="week") == 1.0                          # c3


# -- ticket_sources ------------------------------------------------------------------------------------------
def test_ticket_sources_narrows_tickets_and_their_ratings(narrowed):
    assert narrowed.value("tickets_created", MAY) == 7                                      # not hubspot 9
    assert narrowed.row_of("escalation_rate", MAY) == (2 / 7, 2, 7)
    assert narrowed.row_of("first_contact_resolution_rate", MAY) == (0.2, 1, 5)
    # resolution 3600 7200 86400 864000 1036800: median 86400; p90 h = 3.6 -> 864000 + 0.6 × 172800
    assert narrowed.value("resolution_seconds_median", MAY) == 86400
    assert narrowed.value("resolution_seconds_p90", MAY) == pytest.approx(967680)
    # first reply 240 300 600 900 1200 3000: median 750; p90 h = 4.5 -> 1200 + 0.5 × 1800 = 2100
    assert narrowed.value("first_reply_seconds_median", MAY) == 750
    assert narrowed.value("first_reply_seconds_p90", MAY) == pytest.approx(2100)
    assert narrowed.row_of("csat", MAY) == (4 / 7, 4, 7)                                    # c10 rates hubspot 9
    definition = narrowed.store.query(
        "SELECT definition FROM metric_definitions WHERE metric='tickets_created'")[0]["definition"]
    assert "from connections zendesk (ticket_sources)" in definition
