"""Hand-built accounts with every number worked out by hand (as of 2026-06-30, the end of June)."""
from __future__ import annotations

from pathlib import Path

import pytest

from health_builders import Book

MID = "mid_market"


def full_book(tmp_path: Path) -> Book:
    """Account `atlas` (red, every input has data) and `birch` (green), both customers.

    atlas, default weights (usage 40, support 30, business 30):
      seat_utilisation  June 9 of 40 = 0.225 → below 0.25 → 0 (its cap, 79, is above the score: no effect)
      usage_trend       0.8 (as-of day row) → (0.8 − 0.6) / 0.4 = 50
      feature_breadth   1 of 4 features in Jun 1-30 = 0.25 → (0.25 − 0.1) / 0.6 = 25
      csat              mean(0.5, 0.9, 0.7) over Apr-Jun = 0.7 → (0.7 − 0.6) / 0.35 = 28.571
      open_escalations  1 → 40
      ticket_volume     6 tickets / 40 seats vs all (6 / 100) = 2.5× → (3 − 2.5) / 2 = 25
      reopen_rate       0 of 5 solved in the window (the March ticket's reopens are outside it) → 100
      mrr_trend         900 / 1000 (March) − 1 = −0.1 → (−0.1 + 0.25) / 0.3 = 50
      payment_status    open invoice of May 16, due Jun 15: 16 days past due → ≤ 30 → 50
      nps_category      latest answer 8 (passive) → 60
      days_since_touch  last call May 1 12:00 (a later note is no touch) → 60.5 days → ≤ 90 → 40
    usage    = (40·0 + 30·50 + 30·25) / 100                 = 22.5
    support  = (35·28.571 + 10·40 + 30·25 + 25·100) / 100  = 46.5
    business = (35·50 + 10·50 + 30·60 + 25·40) / 100        = 50.5
    overall  = 0.4·22.5 + 0.3·46.5 + 0.3·50.5               = 38.1, red

    birch: every input 100 except mrr_trend (flat: 83.333) and reopen rate (no solves):
    business = (35·83.333 + 10·100 + 30·100 + 25·100) / 100 = 94.1667; overall = 40 + 30 + 28.25 = 98.25, green
    """
    b = Book(tmp_path)
    b.account("atlas", MID, seats=40)
    b.account("birch", "enterprise", seats=60)
    b.monthly("atlas", "mrr", {"2026-03": 1000, "2026-04": 1000, "2026-05": 950, "2026-06": 900})
    b.monthly("birch", "mrr", {"2026-03": 2000, "2026-04": 2000, "2026-05": 2000, "2026-06": 2000})
    b.monthly("atlas", "seat_utilisation", {"2026-06": 0.225})
    b.monthly("atlas", "mau", {"2026-06": 9})
    b.monthly("atlas", "seats", {"2026-06": 40})
    b.monthly("birch", "seat_utilisation", {"2026-06": 0.85})
    b.metric("atlas", "usage_trend", "2026-06-30", 0.8, grain="day")
    b.metric("birch", "usage_trend", "2026-06-30", 1.1, grain="day")
    b.use("atlas", "a1", "2026-05-01", ["alerts"])                 # before the 30-day window
    b.use("atlas", "a1", "2026-06-10", ["reports"])
    b.use("birch", "b1", "2026-06-15", ["reports", "alerts", "api", "export"])
    b.use("birch", "b2", "2026-06-16", ["api"], events=0)         # not active: its features do not count
    b.monthly("atlas", "csat", {"2026-03": 0.0, "2026-04": 0.5, "2026-05": 0.9, "2026-06": 0.7})
    b.monthly("birch", "csat", {"2026-06": 0.95})
    b.ticket("atlas", "2026-06-01T09:00:00Z", escalated=True)                      # open escalation
    b.ticket("atlas", "2026-05-20T09:00:00Z", status="solved", solved_at="2026-05-25T09:00:00Z",
             escalated=True, reopens=0)                                              # escalation, solved
    for k in range(4):
        b.ticket("atlas", f"2026-05-0{k + 1}T09:00:00Z", status="solved", solved_at=f"2026-05-1{k}T09:00:00Z",
                 reopens=0)
    b.ticket("atlas", "2026-03-01T09:00:00Z", status="closed", solved_at="2026-03-02T09:00:00Z", reopens=3)
    b.invoice("atlas", "2026-04-16T00:00:00Z", "paid", "2026-04-20T00:00:00Z")
    b.invoice("atlas", "2026-05-16T00:00:00Z", "open")
    b.invoice("atlas", "2026-06-16T00:00:00Z", "open")             # not due yet
    b.invoice("birch", "2026-06-01T00:00:00Z", "paid", "2026-06-02T00:00:00Z")
    b.nps("atlas", 3, "2026-02-01T10:00:00Z")
    b.nps("atlas", 8, "2026-06-10T10:00:00Z")
    b.nps("birch", 10, "2026-06-20T10:00:00Z")
    b.activity("atlas", "2026-05-01T12:00:00Z", "call")
    b.activity("atlas", "2026-06-20T12:00:00Z", "note")
    b.activity("birch", "2026-06-25T12:00:00Z", "meeting")
    return b


def test_every_input_scored_and_combined(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    b = full_book(tmp_path)
    result = b.run()
    assert result.status == "ok", result.reason
    assert "in SQL but" not in caplog.text             # the components' Python arithmetic agrees
    atlas = b.health("atlas")
    assert atlas["score"] == 38.1 and atlas["band"] == "red"
    assert atlas["as_of"] == "2026-06-30T23:59:59Z"
    c = atlas["components"]
    raw = {k: v["raw"] for k, v in c["inputs"].items()}
    assert raw["seat_utilisation"] == 0.225 and raw["usage_trend"] == 0.8 and raw["feature_breadth"] == 0.25
    assert raw["csat"] == pytest.approx(0.7) and raw["open_escalations"] == 1 and raw["ticket_volume"] == 2.5
    assert raw["reopen_rate"] == 0 and raw["mrr_trend"] == -0.1 and raw["payment_status"] == pytest.approx(16, 1e-4)
    assert raw["nps_category"] == 8 and raw["days_since_touch"] == pytest.approx(60.5, 1e-4)
    scores = {k: v["score"] for k, v in c["inputs"].items()}
    assert scores == {"seat_utilisation": 0, "usage_trend": 50, "feature_breadth": 25, "csat": 28.57,
                      "open_escalations": 40, "ticket_volume": 25, "reopen_rate": 100, "mrr_trend": 50,
                      "payment_status": 50, "nps_category": 60, "days_since_touch": 40}
    assert c["inputs"]["csat"]["group"] == "support" and c["inputs"]["csat"]["weight"] == 35
    assert {g: v["score"] for g, v in c["groups"].items()} == {"usage": 22.5, "support": 46.5, "business": 50.5}
    assert c["missing"] == [] and c["reweighted"] is None and c["profile"] == "default"
    assert c["capped"] is None                 # seat utilisation scores 0, but its cap (79) is above 38.1
    assert sum(v["share"] for v in c["inputs"].values()) == pytest.approx(1.0, abs=1e-3)
    birch = b.health("birch")
    assert (birch["score"], birch["band"]) == (98.25, "green")
    assert birch["components"]["inputs"]["reopen_rate"]["score"] is None      # no solved ticket: no data
    assert birch["components"]["inputs"]["ticket_volume"]["raw"] == 0


def test_drivers_name_the_costliest_inputs_in_words(tmp_path: Path) -> None:
    # Points lost = share × (100 − score): seat utilisation 0.16 × 100 = 16, feature breadth 0.12 × 75 = 9,
    # CSAT 0.105 × 71.4 = 7.5, then ticket volume 0.09 × 75 = 6.75 and usage trend 0.12 × 50 = 6.
    b = full_book(tmp_path)
    b.run()
    assert b.health("atlas")["drivers"] == [
        "seat utilisation 22%: 9 of 40 seats active",
        "feature breadth 25%: 1 of 4 features used in the last 30 days",
        "CSAT 70% (mean of 3 months with ratings)",
    ]
    texts = {k: v.get("text") for k, v in b.health("atlas")["components"]["inputs"].items()}
    assert texts["open_escalations"] == "1 escalated ticket open"
    assert texts["ticket_volume"] == ("ticket volume 2.5× peers: 6 tickets from 40 seats in 90 days "
                                      "(15.0 per 100 seats vs 6.0 for all accounts)")
    assert texts["reopen_rate"] == "reopen rate 0%: 0 of 5 tickets solved in 90 days reopened"
    assert texts["mrr_trend"] == "MRR down 10% over 3 months"
    assert texts["payment_status"] == "1 invoice past due, the oldest by 15 days"
    assert texts["nps_category"] == "latest NPS answer 8 (passive) on 2026-06-10"
    assert texts["days_since_touch"] == "no touch in 60 days (last 2026-05-01)"
    assert texts["usage_trend"] == "active users down 20% over the last 30 days (vs the 30 days before)"
    b.run(drivers=5)
    assert b.health("atlas")["drivers"][3:] == [
        "ticket volume 2.5× peers: 6 tickets from 40 seats in 90 days (15.0 per 100 seats vs 6.0 for all accounts)",
        "active users down 20% over the last 30 days (vs the 30 days before)"]
    assert b.health("birch")["drivers"] == ["MRR flat over 3 months"]      # 0.105 × 16.7 = 1.75 points


def trend_book(tmp_path: Path) -> Book:
    """`teal` (smb) and `umber` (enterprise): only MRR (flat) and seat utilisation; no support data.

    teal now: seat utilisation June 0.45 → (0.45 − 0.25) / 0.6 = 33.333; MRR trend June vs March 0 → 83.333;
              support has no data: its 30 goes to the others: (40·33.333 + 30·83.333) / 70 = 54.76 yellow.
    teal 30 days earlier (May 31 23:59:59): May 0.8 → 91.667: (3666.67 + 2500) / 70 = 88.10 green.
    umber: seat utilisation 0.1 → 0: 2500 / 70 = 35.71 red, now and on May 31 (below its cap of 79).
    """
    b = Book(tmp_path)
    b.account("teal", "smb")
    b.account("umber", "enterprise")
    months = ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06")
    b.monthly("teal", "mrr", {m: 1000 for m in months})
    b.monthly("umber", "mrr", {m: 500 for m in months})
    b.monthly("teal", "seat_utilisation", {"2026-05": 0.8, "2026-06": 0.45})
    b.monthly("umber", "seat_utilisation", {"2026-05": 0.1, "2026-06": 0.1})
    return b


def test_missing_group_is_reweighted_and_recorded(tmp_path: Path) -> None:
    b = trend_book(tmp_path)
    assert b.run().status == "ok"
    teal = b.health("teal")
    assert (teal["score"], teal["band"]) == (54.76, "yellow")
    c = teal["components"]
    assert c["missing"] == ["support"]
    assert c["reweighted"] == ("no data for support (weight 30): the score uses the other groups' weights only "
                               "(usage 57%, business 43%)")
    assert c["groups"]["support"] == {"weight": 30.0, "score": None, "share": 0.0}
    assert c["groups"]["usage"]["share"] == pytest.approx(40 / 70, abs=1e-4)
    assert c["inputs"]["seat_utilisation"]["share"] == pytest.approx(40 / 70 * 40 / 40, abs=1e-4)
    assert c["inputs"]["usage_trend"] == {"group": "usage", "weight": 30.0, "raw": None, "score": None, "share": 0.0}


def test_trend_is_the_change_over_30_days(tmp_path: Path) -> None:
    b = trend_book(tmp_path)
    b.run()
    assert b.health("teal")["trend"] == -33.34            # 54.76 − 88.10
    assert b.health("umber")["trend"] == 0.0
    b.run(trend_days=60)                                   # May 1: April is the latest month → no seat data
    assert b.health("teal")["trend"] == pytest.approx(54.76 - 83.33)


def test_weekly_history_back_through_the_data(tmp_path: Path) -> None:
    b = trend_book(tmp_path)
    b.run()
    teal = b.history("teal")
    # Mondays from January (the first month with data) to the as-of date, plus the as-of date.
    # Scored once the customer's MRR 3 month ends earlier is known: from the month end of April.
    assert list(teal)[0] == "2026-05-04" and list(teal)[-2:] == ["2026-06-29", "2026-06-30"]
    assert all(b.store.query("SELECT 1 WHERE strftime('%w', ?) = '1'", [d]) for d in list(teal)[:-1])
    assert teal["2026-05-04"] == (83.33, "green")          # April: MRR trend only
    assert teal["2026-06-01"] == (88.1, "green")           # May: seat utilisation 0.8
    assert teal["2026-06-29"] == (88.1, "green")           # June is not over on a June Monday
    assert teal["2026-06-30"] == (54.76, "yellow")         # the as-of row
    b.run(history_weeks=2)
    assert list(b.history("teal")) == ["2026-06-22", "2026-06-29", "2026-06-30"]


def test_monthly_band_counts_and_mean(tmp_path: Path) -> None:
    b = trend_book(tmp_path)
    b.run()
    mean, green, yellow, red = (b.values(m) for m in ("health_score_mean", "accounts_green", "accounts_yellow",
                                                       "accounts_red"))
    assert mean[("2026-06-01", "all")] == pytest.approx((45.235, 90.47, 2.0))       # (54.76 + 35.71) / 2
    assert mean[("2026-05-01", "all")] == pytest.approx((61.905, 123.81, 2.0))      # (88.10 + 35.71) / 2
    assert mean[("2026-04-01", "all")] == pytest.approx((83.33, 166.66, 2.0))       # MRR trend only
    assert mean[("2026-01-01", "all")] == (None, 0.0, 0.0)            # nobody scored yet
    assert [green[(m, "all")][0] for m in ("2026-04-01", "2026-05-01", "2026-06-01")] == [2, 1, 0]
    assert [yellow[(m, "all")][0] for m in ("2026-04-01", "2026-05-01", "2026-06-01")] == [0, 0, 1]
    assert [red[(m, "all")][0] for m in ("2026-04-01", "2026-05-01", "2026-06-01")] == [0, 1, 1]
    by_segment = b.values("accounts_red", "segment")
    assert by_segment[("2026-06-01", "enterprise")][0] == 1 and by_segment[("2026-06-01", "smb")][0] == 0
    assert b.values("health_score_mean", "segment")[("2026-06-01", "smb")][0] == 54.76
    period_end = b.store.query("SELECT period_end FROM metric_values WHERE metric = 'accounts_red' "
                               "AND period_start = '2026-06-01' AND segment_by = 'all'")[0]["period_end"]
    assert period_end == "2026-06-30"


def test_segment_profile_overrides_weights_and_bands(tmp_path: Path) -> None:
    # umber (enterprise) with usage 10, business 90: (10·0 + 90·83.333) / 100 = 75 — red under the
    # profile's bands (yellow from 80), yellow under the default ones. teal (smb) is unchanged.
    b = trend_book(tmp_path)
    result = b.run(profiles={"Enterprise": {"weights": {"usage": 10, "business": 90},
                                            "bands": {"green": 90, "yellow": 80}}})
    assert result.status == "ok", result.reason
    umber = b.health("umber")
    assert (umber["score"], umber["band"]) == (75.0, "red")
    assert umber["components"]["profile"] == "Enterprise"
    assert umber["components"]["groups"]["usage"]["weight"] == 10
    assert (b.health("teal")["score"], b.health("teal")["band"]) == (54.76, "yellow")
    assert b.history("umber")["2026-06-30"] == (75.0, "red")
    definition = b.store.query("SELECT definition FROM metric_definitions WHERE metric = 'health_score_mean'")
    assert "Segment profile Enterprise: usage 10" in definition[0]["definition"]


def test_all_accounts_population_without_revenue(tmp_path: Path) -> None:
    # No MRR anywhere: every account is scored on what it has. `lone` has only a touch 10 days ago
    # (business 100). `quiet` has never been touched while the CRM records touches: days since it was
    # created (2025-01-10) → 537 days → 0, red. `ghost` was created after the as-of date: not scored.
    b = Book(tmp_path)
    b.account("lone")
    b.account("quiet")
    b.account("ghost", created_at="2026-07-02T00:00:00Z")
    b.activity("lone", "2026-06-20T12:00:00Z", "email")
    assert b.run().status == "ok"
    lone = b.health("lone")
    assert (lone["score"], lone["band"]) == (100.0, "green")
    assert lone["components"]["missing"] == ["usage", "support"]
    quiet = b.health("quiet")
    assert (quiet["score"], quiet["band"]) == (0.0, "red")
    assert quiet["drivers"] == ["no touch recorded since the account was created 536 days ago"]
    assert b.health("ghost") is None
    assert b.run(population="customers").status == "ok"
    assert b.health("lone") is None


def test_nothing_to_score(tmp_path: Path) -> None:
    b = Book(tmp_path)
    b.account("empty")
    result = b.run()
    assert result.status == "ok", result.reason
    assert b.store.count("account_health") == 0 and b.store.count("account_health_history") == 0


def test_a_cap_holds_an_otherwise_fine_score_down(tmp_path: Path) -> None:
    # `cedar` (no MRR anywhere: every account is scored) was called 5 days ago (touch 100) but has an
    # invoice of Mar 25, due Apr 24, unpaid: 67.99 days past due → more than 60 → payment status 0.
    # business = (10·0 + 25·100) / 35 = 71.43 (yellow), but payment status scoring 0 caps the score at 49: red.
    b = Book(tmp_path)
    b.account("cedar", "smb")
    b.activity("cedar", "2026-06-25T12:00:00Z", "call")
    b.invoice("cedar", "2026-03-25T00:00:00Z", "open")
    assert b.run().status == "ok"
    cedar = b.health("cedar")
    assert (cedar["score"], cedar["band"]) == (49.0, "red")
    assert cedar["components"]["capped"] == {"at": 49.0, "by": ["payment_status"], "uncapped": 71.43}
    assert cedar["drivers"] == ["1 invoice past due, the oldest by 67 days (holds the score at 49 or below)"]
    assert b.history("cedar")["2026-06-30"] == (49.0, "red")
    assert b.history("cedar")["2026-04-27"] == (50.0, "yellow")     # 3 days past due → 50, no cap; no touch yet
    # A segment profile can lift the cap (100: no cap), and the top level can set one of its own.
    b.run(profiles={"smb": {"caps": {"payment_status": 100}}})
    assert (b.health("cedar")["score"], b.health("cedar")["components"]["capped"]) == (71.43, None)
    b.run(caps={"payment_status": 30})
    assert b.health("cedar")["score"] == 30


def test_an_unpaid_invoice_of_an_ended_subscription_stops_counting_at_its_end(tmp_path: Path) -> None:
    # `delta` wrote off an invoice of Jan 5 (uncollectible) whose subscription ended on Feb 20, and came
    # back on a new subscription: the old debt was past due from Feb 4 to Feb 20 only. `elm`'s written-off
    # invoice belongs to a subscription that is still running: it stays past due (Feb 4 to Jun 30: 147 days → 0, cap 49).
    b = Book(tmp_path)
    for name in ("delta", "elm"):
        b.account(name)
        b.activity(name, "2026-06-25T12:00:00Z", "call")
    b.row("subscriptions", "delta", source_id="old", status="canceled", started_at="2025-06-05T00:00:00Z",
          ended_at="2026-02-20T00:00:00Z")
    b.row("subscriptions", "elm", source_id="live", status="active", started_at="2025-06-05T00:00:00Z")
    old = b.store.query("SELECT id FROM subscriptions WHERE account_id = 'delta'")[0]["id"]
    live = b.store.query("SELECT id FROM subscriptions WHERE account_id = 'elm'")[0]["id"]
    b.row("invoices", "delta", status="uncollectible", currency="USD", total=5000, created_at="2026-01-05T00:00:00Z",
          subscription_id=old)
    b.row("invoices", "elm", status="uncollectible", currency="USD", total=5000, created_at="2026-01-05T00:00:00Z",
          subscription_id=live)
    assert b.run().status == "ok"
    delta, elm = b.health("delta"), b.health("elm")
    assert delta["components"]["inputs"]["payment_status"]["raw"] == 0 and delta["score"] == 100
    assert b.history("delta")["2026-02-16"] == (50.0, "yellow")     # 12 days past due → 50 (no touch yet)
    assert b.history("delta")["2026-02-23"] == (100.0, "green")     # the subscription ended on Feb 20
    assert elm["components"]["inputs"]["payment_status"]["raw"] == pytest.approx(147, abs=1e-3)
    assert (elm["score"], elm["band"]) == (49.0, "red")
