"""One customer's 360° view: every section from hand-built rows, the JSON shape, and empty sections."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from csconnect.account_view import account_view, nps_category
from csconnect.cli import build_cli
from csconnect.errors import UsageError
from csconnect.plugins import build_registry, set_registry
from csconnect.testing import Workspace

NOW = datetime(2026, 7, 1, tzinfo=timezone.utc)
SECTIONS = {"account_id", "name", "as_of", "currency", "profile", "links", "rows", "mrr", "health", "open_tickets",
            "last_nps", "last_touch", "alerts", "renewal"}


def build(ws: Workspace) -> None:
    db = ws.store
    with db.transaction() as conn:
        for aid, name, domain in (("acc_acme", "Acme Corp", "acme.com"), ("acc_quiet", "Quiet Ltd", "quiet.io"),
                                  ("acc_acme2", "Acme Labs", "acmelabs.com")):
            conn.execute("INSERT INTO accounts (account_id, name, domain, segment, owner, seats) "
                         "VALUES (?, ?, ?, 'enterprise', 'Ann', 40)", (aid, name, domain))
        conn.execute("INSERT INTO account_links VALUES ('billing', 'cus_1', 'acc_acme', 'external_id', 0.95, NULL)")
        conn.execute("INSERT INTO account_links VALUES ('crm', '77', 'acc_acme', 'domain', 0.8, NULL)")
        for i, month in enumerate(["2025-05", "2025-06", "2025-07", "2025-08", "2025-09", "2025-10", "2025-11",
                                   "2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]):
            conn.execute("INSERT INTO account_metrics VALUES ('acc_acme', 'mrr', 'month', ?, ?)",
                         (f"{month}-01", 100000 + 1000 * i))
        components = {"profile": "default", "groups": {"usage": {"weight": 40.0, "score": 20.0, "share": 1.0}},
                      "missing": ["support"]}
        conn.execute("INSERT INTO account_health VALUES ('acc_acme', '2026-06-30T23:59:59Z', 42.5, 'red', -8.0, ?, ?)",
                     (json.dumps(components), json.dumps(["seat utilisation 22%: 9 of 40 seats active"])))
        conn.execute("INSERT INTO account_health_history VALUES ('acc_acme', '2026-06-22', 50.5, 'yellow')")
        conn.execute("INSERT INTO account_health_history VALUES ('acc_acme', '2026-06-30', 42.5, 'red')")
        for rule, resolved in (("score_below", None), ("band_change", "2026-06-20T00:00:00Z")):
            conn.execute("INSERT INTO alerts (key, rule, kind, account_id, severity, message, first_seen, last_seen, "
                         "resolved_at) VALUES (?, ?, 'score', 'acc_acme', 'critical', ?, '2026-06-15T00:00:00Z', "
                         "'2026-06-30T00:00:00Z', ?)", (f"k-{rule}", rule, f"{rule} fired", resolved))

    def add(table: str, account: str, **values):
        add.n += 1
        ws.add_rows(table, [dict(values, source_id=f"{table}{add.n}", account_id=account)])
    add.n = 0
    add("tickets", "acc_acme", status="open", subject="Export fails", priority="high",
        created_at="2026-06-21T00:00:00Z", escalated=True)
    add("tickets", "acc_acme", status="pending", subject="Invoice question", created_at="2026-06-01T00:00:00Z")
    add("tickets", "acc_acme", status="solved", subject="Old", created_at="2026-05-01T00:00:00Z")
    add("tickets", "acc_quiet", status="open", subject="Not Acme's", created_at="2026-06-01T00:00:00Z")
    add("survey_responses", "acc_acme", kind="nps", score=9, scale_min=0, scale_max=10,
        responded_at="2026-03-01T00:00:00Z")
    add("survey_responses", "acc_acme", kind="nps", score=4, scale_min=0, scale_max=10, comment="Too slow",
        responded_at="2026-06-10T00:00:00Z")
    add("survey_responses", "acc_acme", kind="csat", score=1, responded_at="2026-06-20T00:00:00Z")
    add("activities", "acc_acme", kind="meeting", occurred_at="2026-05-01T10:00:00Z", owner="Ann", subject="QBR")
    add("activities", "acc_acme", kind="call", occurred_at="2026-06-11T00:00:00Z", owner="Bo", subject="Check-in")
    add("subscriptions", "acc_acme", status="active", plan_name="Enterprise", interval="year",
        current_period_end="2026-11-01T00:00:00Z", cancel_at_period_end=False)
    add("deals", "acc_acme", kind="renewal", stage="negotiation", is_closed=False, close_date="2026-09-15")
    add("deals", "acc_acme", kind="renewal", stage="closedwon", is_closed=True, close_date="2026-08-01")


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path, registry=build_registry([], entry_points=False))
    build(w)
    yield w
    w.close()


def test_every_section(ws):
    v = account_view(ws.store, "acme corp", now=NOW)
    assert set(v) == SECTIONS and v["account_id"] == "acc_acme"
    assert [ln["source"] for ln in v["links"]] == ["billing", "crm"]
    assert v["rows"]["tickets"] == 3 and v["rows"]["survey_responses"] == 3
    assert [m["month"] for m in v["mrr"]] == [f"2025-{m:02d}" for m in range(7, 13)] + \
        [f"2026-{m:02d}" for m in range(1, 7)]                      # the last 12 months, oldest first
    assert v["mrr"][-1]["mrr"] == 113000
    h = v["health"]
    assert (h["score"], h["band"], h["trend"], h["missing"]) == (42.5, "red", -8.0, ["support"])
    assert h["drivers"] == ["seat utilisation 22%: 9 of 40 seats active"]
    assert [x["score"] for x in h["history"]] == [50.5, 42.5]
    assert [(t["subject"], t["status"], t["age_days"]) for t in v["open_tickets"]] == [
        ("Invoice question", "pending", 30.0), ("Export fails", "open", 10.0)]
    assert v["open_tickets"][1]["escalated"] is True and v["open_tickets"][1]["priority"] == "high"
    assert (v["last_nps"]["score"], v["last_nps"]["category"], v["last_nps"]["comment"]) == (4, "detractor",
                                                                                             "Too slow")
    assert (v["last_touch"]["kind"], v["last_touch"]["owner"], v["last_touch"]["days_ago"]) == ("call", "Bo", 20.0)
    assert [a["rule"] for a in v["alerts"]] == ["score_below"]          # the resolved one is left out
    r = v["renewal"]                                                     # the open renewal deal comes first
    assert (r["date"], r["source"], r["status"], r["days_to"]) == ("2026-09-15", "deal", "negotiation", 76.0)


def test_renewal_falls_back_to_the_annual_term_and_prefers_the_pipeline(ws):
    ws.store.conn.execute("DELETE FROM deals")
    r = account_view(ws.store, "acc_acme", now=NOW)["renewal"]
    assert (r["date"], r["source"], r["plan"], r["cancel_at_period_end"]) == ("2026-11-01", "subscription",
                                                                              "Enterprise", False)
    ws.store.conn.execute("CREATE TABLE renewal_pipeline (account_id TEXT, kind TEXT, ref_id TEXT, plan TEXT, "
                          "status TEXT, term_end TEXT, days_to_term_end REAL, mrr REAL, deal_amount REAL, "
                          "cancel_at_period_end INTEGER, as_of TEXT)")
    ws.store.conn.execute("INSERT INTO renewal_pipeline VALUES ('acc_acme', 'subscription', 's9', 'Pro', 'active', "
                          "'2026-08-01T00:00:00Z', 31, 100, NULL, 1, '2026-07-01')")
    r = account_view(ws.store, "acc_acme", now=NOW)["renewal"]
    assert (r["date"], r["ref_id"], r["cancel_at_period_end"], r["days_to"]) == ("2026-08-01", "s9", True, 31.0)


def test_empty_sections(ws):
    v = account_view(ws.store, "quiet.io", now=NOW)
    assert v["account_id"] == "acc_quiet"
    assert (v["mrr"], v["health"], v["last_nps"], v["last_touch"], v["alerts"], v["renewal"], v["links"]) == \
        ([], None, None, None, [], None, [])
    assert [t["subject"] for t in v["open_tickets"]] == ["Not Acme's"]


def test_finding_an_account(ws):
    assert account_view(ws.store, "Labs", now=NOW)["account_id"] == "acc_acme2"       # a unique part of a name
    with pytest.raises(UsageError, match="'acme' matches 2 accounts: Acme Corp .*Acme Labs"):
        account_view(ws.store, "acme")
    with pytest.raises(UsageError, match="no account 'zebra'"):
        account_view(ws.store, "zebra")


def test_nps_category_on_other_scales():
    assert [nps_category(s) for s in (10, 9, 8, 7, 6, 0)] == ["promoter", "promoter", "passive", "passive",
                                                              "detractor", "detractor"]
    assert nps_category(5, 1, 5) == "promoter" and nps_category(1, 1, 5) == "detractor"


@pytest.fixture
def project(ws, monkeypatch):
    monkeypatch.chdir(ws.path)
    monkeypatch.setattr("csconnect.account_view._now", lambda: NOW)    # ages and renewals as of 2026-07-01
    set_registry(build_registry([], entry_points=False))
    (ws.path / "csconnect.toml").write_text("", encoding="utf-8")
    return ws.path


def run(*args: str):
    return CliRunner().invoke(build_cli(), list(args), catch_exceptions=False)


def test_cli_json_is_one_object(project):
    result = run("accounts", "acc_acme", "--format", "json")
    view = json.loads(result.stdout)
    assert isinstance(view, dict) and set(view) == SECTIONS
    assert view["health"]["band"] == "red" and view["alerts"][0]["message"] == "score_below fired"


def test_cli_table_sections(project):
    out = run("accounts", "Acme Corp").stdout
    assert out.startswith("Acme Corp  (acc_acme)  ·  health 42 red, -8.0 in 30 days  ·  MRR $1,130.00")
    for text in ("linked sources", "rows: ", "tickets 3", "MRR, last 12 months", "$1,020.00", "+$10.00",
                 "42.5 (red), -8.0 over 30 days, as of 2026-06-30; no data for support",
                 "- seat utilisation 22%: 9 of 40 seats active", "Export fails",
                 "4 (detractor) on 2026-06-10: “Too slow”", "call on 2026-06-11", "by Bo: Check-in", "score_below fired", "2026-09-15 (in 76 days), deal", "30 d"):
        assert text in out, text
    assert "2025-06" not in out                                          # only 12 months


def test_cli_table_says_when_sections_are_empty(project):
    out = run("accounts", "acc_quiet").stdout
    for text in ("linked sources: none", "no MRR", "no health score", "no NPS answer", "no touch recorded",
                 "open alerts\n  none", "no upcoming renewal known"):
        assert text in out, text
    result = CliRunner().invoke(build_cli(), ["accounts", "acc_quiet", "--format", "csv"])
    assert isinstance(result.exception, UsageError) and "use --format json" in str(result.exception)
