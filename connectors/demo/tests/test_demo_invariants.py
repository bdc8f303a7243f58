"""What a user would check in the synced demo database: the world behaves like a real company's data."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import pytest

from csconnect.identity import link
from csconnect.testing import Workspace
from csconnect_demo import DemoConnector, get_world

OPTIONS = {"accounts": 60, "months": 12, "end_month": "2026-10", "usage_scale": 0.3}
NOW = "2026-11-01T00:00:00Z"
PARTS = ("billing", "crm", "helpdesk", "product")


def secs(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    w = Workspace(tmp_path_factory.mktemp("demo"), DemoConnector,
                  connections={f"demo_{p}": dict(OPTIONS, connector="demo", part=p) for p in PARTS})
    report = w.sync()
    assert report.ok, [r.error for r in report.results if r.error]
    assert not w.rejects()
    yield w
    w.close()


def q(ws, sql, params=()):
    return ws.store.query(sql, params)


def test_paid_invoice_lines_sum_to_subtotal_minus_discount(ws):
    bad = q(ws, """SELECT i.id, i.subtotal, i.discount, sum(l.amount) AS lines FROM invoices i
                   JOIN invoice_lines l ON l.invoice_id = i.id WHERE i.status = 'paid'
                   GROUP BY i.id HAVING sum(l.amount) != i.subtotal - i.discount""")
    assert not bad
    assert q(ws, "SELECT count(*) n FROM invoices WHERE discount > 0")[0]["n"], "some invoices carry a coupon"
    for inv in q(ws, "SELECT * FROM invoices"):
        assert inv["total"] == inv["subtotal"] - inv["discount"] + inv["tax"]
        assert inv["amount_paid"] == (inv["total"] if inv["status"] == "paid" else 0)
        assert (inv["paid_at"] is not None) == (inv["status"] == "paid")


def test_eur_invoices_carry_vat_and_usd_ones_none(ws):
    eur = q(ws, "SELECT * FROM invoices WHERE currency = 'EUR' AND subtotal > discount")
    assert eur and all(i["tax"] > 0 for i in eur)
    assert all(i["tax"] == 0 for i in q(ws, "SELECT * FROM invoices WHERE currency = 'USD'"))


def test_every_status_of_an_invoice_appears_and_drafts_are_the_newest(ws):
    statuses = {r["status"] for r in q(ws, "SELECT DISTINCT status FROM invoices")}
    assert {"paid", "draft"} <= statuses
    for d in q(ws, "SELECT * FROM invoices WHERE status = 'draft'"):
        newest = q(ws, "SELECT max(created_at) m FROM invoices WHERE subscription_id = ?", (d["subscription_id"],))
        assert d["created_at"] == newest[0]["m"]


def test_proration_pairs_net_to_the_price_difference_for_the_remaining_time(ws):
    pairs = defaultdict(list)
    for ln in q(ws, "SELECT * FROM invoice_lines WHERE kind = 'proration'"):
        pairs[(ln["subscription_id"], ln["period_start"], ln["period_end"])].append(ln)
    ups = downs = 0
    for (sub, start, end), lines in pairs.items():
        credit, charge = sorted(lines, key=lambda ln: ln["amount"])
        assert len(lines) == 2 and credit["amount"] < 0 < charge["amount"]
        assert credit["invoice_id"] == charge["invoice_id"]
        full = q(ws, """SELECT l.* FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
                        WHERE l.subscription_id = ? AND l.kind = 'subscription' AND l.period_end = ?
                        AND i.status != 'void'""", (sub, end))[0]
        unit = full["amount"] / full["quantity"]
        remaining = (secs(end) - secs(start)) / (secs(full["period_end"]) - secs(full["period_start"]))
        expected = unit * (charge["quantity"] - credit["quantity"]) * remaining
        assert abs(credit["amount"] + charge["amount"] - expected) <= 1, (sub, start)
        ups += charge["quantity"] > credit["quantity"]
        downs += charge["quantity"] < credit["quantity"]
    assert ups and downs, "a mid-period upgrade and a downgrade"
    pending = q(ws, "SELECT * FROM invoice_lines WHERE invoice_id IS NULL")
    assert pending and all(p["kind"] == "proration" and p["period_end"] >= NOW for p in pending)


def test_cancellations_immediate_and_at_period_end(ws):
    subs = q(ws, "SELECT * FROM subscriptions WHERE status = 'canceled' AND trial_end IS NULL OR "
                 "(status = 'canceled' AND ended_at > trial_end)")
    immediate = at_end = 0
    for s in subs:
        lines = q(ws, "SELECT * FROM invoice_lines WHERE subscription_id = ? AND kind = 'subscription'", (s["id"],))
        if any(ln["period_start"] < s["ended_at"] < ln["period_end"] for ln in lines):
            immediate += s["ended_at"] == s["canceled_at"]
        elif any(ln["period_end"] == s["ended_at"] for ln in lines):
            at_end += s["canceled_at"] < s["ended_at"]
    assert immediate and at_end


def test_a_churned_account_comes_back_after_a_gap(ws):
    by_account = defaultdict(list)
    for s in q(ws, "SELECT * FROM subscriptions WHERE started_at IS NOT NULL ORDER BY started_at"):
        by_account[s["source_account_id"]].append(s)
    gaps = []
    for subs in by_account.values():
        for before, after in zip(subs, subs[1:]):
            if before["ended_at"] and after["trial_start"] is None:
                gaps.append((secs(after["started_at"]) - secs(before["ended_at"])) / 86400)
    assert gaps and all(28 <= g <= 6 * 31 + 11 for g in gaps)


def test_trials_that_convert_and_trials_that_do_not(ws):
    won = lost = 0
    for s in q(ws, "SELECT * FROM subscriptions WHERE trial_start IS NOT NULL"):
        assert secs(s["trial_end"]) - secs(s["trial_start"]) == 14 * 86400
        lines = q(ws, "SELECT * FROM invoice_lines WHERE subscription_id = ?", (s["id"],))
        if any(ln["period_start"] == s["trial_end"] for ln in lines):
            won += 1
        elif s["status"] == "canceled":
            assert s["ended_at"] == s["trial_end"] and not lines
            lost += 1
        else:
            assert s["status"] == "trialing" and s["trial_end"] >= NOW
    assert won and lost


def test_renewal_deals_match_what_billing_did(ws):
    deals = q(ws, "SELECT * FROM deals WHERE kind = 'renewal' AND is_closed = 1")
    assert deals
    assert {d["kind"] for d in q(ws, "SELECT DISTINCT kind FROM deals")} >= {"new_business", "renewal"}


def test_tickets_with_no_agent_reply_and_with_reopens(ws):
    solved = "status IN ('solved', 'closed')"
    assert q(ws, f"SELECT count(*) n FROM tickets WHERE {solved} AND agent_replies = 0")[0]["n"]
    assert q(ws, f"SELECT count(*) n FROM tickets WHERE {solved} AND reopens > 0")[0]["n"]
    for t in q(ws, "SELECT * FROM tickets"):
        assert t["created_at"] < NOW and (t["solved_at"] is None) == (t["status"] not in ("solved", "closed"))
        if t["first_reply_at"]:
            assert t["created_at"] <= t["first_reply_at"] < NOW
        assert t["escalated"] == ('"escalated"' in t["tags"])


def test_a_contact_answers_nps_twice_in_one_month(ws):
    twice = q(ws, """SELECT contact_id, substr(responded_at, 1, 7) AS month, count(*) n FROM survey_responses
                     WHERE kind = 'nps' GROUP BY 1, 2 HAVING n > 1""")
    assert twice
    kinds = {r["kind"]: (r["lo"], r["hi"]) for r in q(ws, "SELECT kind, min(score) lo, max(score) hi "
                                                          "FROM survey_responses GROUP BY kind")}
    assert set(kinds) == {"nps", "csat", "ces"}
    assert kinds["nps"][0] >= 0 and kinds["nps"][1] <= 10 and kinds["csat"][1] <= 5 and kinds["ces"][1] <= 7
    linked = q(ws, "SELECT count(*) n FROM survey_responses s JOIN tickets t ON t.id = s.ticket_id")[0]["n"]
    assert linked == q(ws, "SELECT count(*) n FROM survey_responses WHERE ticket_id IS NOT NULL")[0]["n"] > 0


def test_references_point_at_rows_of_the_same_connection(ws):
    orphans = {
        "invoice_lines.invoice_id": "SELECT count(*) n FROM invoice_lines WHERE invoice_id IS NOT NULL AND "
                                    "invoice_id NOT IN (SELECT id FROM invoices)",
        "invoice_lines.subscription_id": "SELECT count(*) n FROM invoice_lines WHERE subscription_id IS NOT NULL "
                                         "AND subscription_id NOT IN (SELECT id FROM subscriptions)",
        "tickets.requester_id": "SELECT count(*) n FROM tickets WHERE requester_id NOT IN (SELECT id FROM contacts)",
        "survey_responses.contact_id": "SELECT count(*) n FROM survey_responses WHERE contact_id NOT IN "
                                       "(SELECT id FROM contacts)",
        "activities.contact_id": "SELECT count(*) n FROM activities WHERE contact_id NOT IN (SELECT id FROM contacts)",
    }
    assert {k: q(ws, sql)[0]["n"] for k, sql in orphans.items()} == dict.fromkeys(orphans, 0)


def test_identity_recovers_every_simulated_customer(ws):
    summary = link(ws.store, ws.config, ws.registry)
    world = get_world(**OPTIONS)
    assert summary.accounts == len(world.accounts)
    links = {(r["source"], r["source_account_id"]): r["account_id"] for r in q(ws, "SELECT * FROM account_links")}
    seen = set()
    for a in world.accounts:
        ids = {links[("demo_billing", a.cus_id)], links[("demo_crm", a.crm_id)],
               links[("demo_helpdesk", str(a.org_id))], links[("demo_product", a.group_key)]}
        assert len(ids) == 1, a.name
        seen |= ids
    assert len(seen) == len(world.accounts)
    rules = {r["rule"] for r in q(ws, "SELECT DISTINCT rule FROM account_links")}
    assert {"external_id", "domain"} <= rules
    golden = q(ws, "SELECT * FROM accounts")
    assert all(g["segment"] and g["owner"] and g["seats"] for g in golden)


def test_usage_rows_are_per_user_and_day(ws):
    rows = q(ws, "SELECT * FROM usage_daily LIMIT 2000")
    assert rows and all(r["events"] >= r["sessions"] >= 1 and r["active_seconds"] > 0 for r in rows)
    assert all(r["source_id"] == f"{r['user_id']}|{r['day']}" for r in rows)
    assert q(ws, "SELECT min(day) lo, max(day) hi FROM usage_daily")[0] == {"lo": "2025-11-01", "hi": "2026-10-31"}
