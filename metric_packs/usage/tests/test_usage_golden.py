"""Golden numbers for the usage pack, worked by hand on a small company.

Calendar (2026): March 1 is a Sunday. ISO weeks whose Thursday falls in March:
W1 Mar 2-8, W2 Mar 9-15, W3 Mar 16-22, W4 Mar 23-29. Mar 1 belongs to the week
Feb 23 - Mar 1 (Thursday Feb 26: February's); Mar 30-31 to the week Mar 30 -
Apr 5 (Thursday Apr 2: April's). As of 2026-04-08 (end of day), so April is a
to-date month of 8 days whose only elapsed week is Mar 30 - Apr 5.

Accounts: acme (smb, plan team, 10 seats), bolt (enterprise, plan team, 4 seats
then 5 from Mar 15 by proration), calm (smb, flat plan basic, no usage).
Usage (user: days):
  acme  a1: Mar 2,3,4,10,31, Apr 7   a2: Mar 1,2,17   a3: Mar 24,25,26   a4: Feb 10
  bolt  b1: Mar 2,9,16,23   b2: Mar 30 (and Mar 12 with 0 events: not active)   b3: Apr 1
  no resolved account  z: Mar 5
"""
from __future__ import annotations

import pytest
from pytest import approx

from usage_builders import Company

MAR, FEB, APR = "2026-03-01", "2026-02-01", "2026-04-01"


@pytest.fixture(scope="module")
def co(tmp_path_factory: pytest.TempPathFactory) -> Company:
    c = Company(tmp_path_factory.mktemp("golden"))
    c.account("acme", "smb")
    c.account("bolt", "enterprise")
    c.account("calm", "smb")
    for month, end in (("2026-03-01", "2026-04-01"), ("2026-04-01", "2026-05-01")):
        c.line("acme", "team", 10, month, end)
        c.line("calm", "basic", 1, month, end, amount=5000)
    c.line("bolt", "team", 4, "2026-03-01", "2026-04-01")
    c.line("bolt", "team", 4, "2026-03-15", "2026-04-01", amount=-1700, kind="proration")   # unused time on 4
    c.line("bolt", "team", 5, "2026-03-15", "2026-04-01", amount=2100, kind="proration")    # remaining on 5
    c.line("bolt", "team", 5, "2026-04-01", "2026-05-01")
    c.line("bolt", "team", 9, "2026-02-01", "2026-03-01", invoice_status="void")             # void: ignored
    use = c.use
    use("acme", "a1", "2026-03-02", sessions=2, seconds=600, features=["reports"])
    use("acme", "a1", "2026-03-03", sessions=1, seconds=300)
    for day in ("2026-03-04", "2026-03-10", "2026-03-31", "2026-04-07"):
        use("acme", "a1", day)
    use("acme", "a2", "2026-03-01")
    use("acme", "a2", "2026-03-02", sessions=None, seconds=1000)          # no session count: not in the average
    use("acme", "a2", "2026-03-17")
    use("acme", "a3", "2026-03-24", features=["reports", "export"])
    use("acme", "a3", "2026-03-25")
    use("acme", "a3", "2026-03-26")
    use("acme", "a4", "2026-02-10", features=["alerts"])
    use("bolt", "b1", "2026-03-02")
    use("bolt", "b1", "2026-03-09", sessions=1, seconds=900, features=["export"])
    use("bolt", "b1", "2026-03-16")
    use("bolt", "b1", "2026-03-23")
    use("bolt", "b2", "2026-03-12", events=0, features=["alerts"])       # no event: not active
    use("bolt", "b2", "2026-03-30")
    use("bolt", "b3", "2026-04-01")
    use(None, "z", "2026-03-05", features=["reports"])
    c.run("2026-04-08")
    return c


def test_dau_is_the_mean_of_daily_distinct_users(co: Company) -> None:
    # March user-days: a1 5 + a2 3 + a3 3 + b1 4 + b2 1 + z 1 = 17 over 31 days
    assert co.v("dau", MAR) == approx(17 / 31)
    assert co.v("dau", MAR, "segment", "smb") == approx(11 / 31)
    assert co.v("dau", MAR, "segment", "enterprise") == approx(5 / 31)
    assert co.v("dau", MAR, "segment", "(none)") == approx(1 / 31)      # usage with no resolved account
    assert co.v("dau", FEB) == approx(1 / 28)
    assert co.account_value("acme", "dau", MAR) == approx(11 / 31)


def test_dau_of_the_to_date_month_uses_days_up_to_as_of(co: Company) -> None:
    row = co.value("dau", APR)
    assert row["value"] == approx(2 / 8)            # b3 Apr 1, a1 Apr 7 over Apr 1-8
    assert row["period_end"] == "2026-04-08"


def test_wau_counts_the_weeks_whose_thursday_is_in_the_month(co: Company) -> None:
    # W1 a1 a2 b1 z = 4, W2 a1 b1 = 2, W3 a2 b1 = 2, W4 a3 b1 = 2; Mar 1 and Mar 30-31 are other months' weeks
    assert co.v("wau", MAR) == approx(10 / 4)
    assert co.v("wau", MAR, "segment", "smb") == approx(5 / 4)
    assert co.v("wau", MAR, "segment", "enterprise") == approx(1.0)
    # February's last week (Feb 23 - Mar 1) holds a2's Mar 1: all seven days count
    assert co.v("wau", FEB) == approx((0 + 1 + 0 + 1) / 4)
    # April to date: only Mar 30 - Apr 5 has elapsed (Apr 6-12 has not): b2 Mar 30, a1 Mar 31, b3 Apr 1
    assert co.v("wau", APR) == approx(3.0)
    assert co.account_value("bolt", "wau", APR) == approx(2.0)


def test_mau_and_stickiness(co: Company) -> None:
    assert co.v("mau", MAR) == 6
    assert co.v("mau", MAR, "segment", "smb") == 3
    assert co.v("mau", FEB) == 1
    assert co.v("mau", APR) == 2
    dau_mau = co.value("dau_mau", MAR)
    assert dau_mau["value"] == approx((17 / 31) / 6)
    assert (dau_mau["numerator"], dau_mau["denominator"]) == (approx(17 / 31), 6)
    wau_mau = co.value("wau_mau", MAR)
    assert wau_mau["value"] == approx(2.5 / 6)
    assert (wau_mau["numerator"], wau_mau["denominator"]) == (approx(2.5), 6)
    assert co.v("wau_mau", MAR, "segment", "enterprise") == approx(1 / 2)


def test_seat_utilisation_over_customers_with_seats(co: Company) -> None:
    # acme 3 MAU / 10 seats; bolt 2 MAU / (4 - 4 + 5) seats after the proration; calm has no seat-priced line
    row = co.value("seat_utilisation", MAR)
    assert (row["numerator"], row["denominator"]) == (5, 15)
    assert row["value"] == approx(1 / 3)
    assert co.v("seat_utilisation", MAR, "segment", "enterprise") == approx(2 / 5)
    assert co.v("seat_utilisation", MAR, "plan", "team") == approx(5 / 15)
    assert co.account_value("acme", "seat_utilisation", MAR) == approx(0.3)
    assert co.account_value("bolt", "seat_utilisation", MAR) == approx(0.4)
    assert co.account_value("bolt", "seats", MAR) == 5
    assert co.v("seats", MAR) == 15
    assert not co.has_account_value("calm", "seat_utilisation", MAR)
    # April to date (seats as of the as-of instant): acme a1 1/10, bolt b3 1/5
    assert co.v("seat_utilisation", APR) == approx(2 / 15)
    # February: the only line is on a void invoice, so no customers and no seats
    assert co.v("seat_utilisation", FEB) is None
    assert co.v("seats", FEB) == 0


def test_adoption_rate(co: Company) -> None:
    # March: 6 active / 7 users seen by Mar 31 (b3 arrives Apr 1)
    assert co.v("adoption_rate", MAR) == approx(6 / 7)
    assert co.v("adoption_rate", MAR, "segment", "smb") == approx(3 / 4)
    assert co.account_value("acme", "adoption_rate", MAR) == approx(3 / 4)
    assert co.v("adoption_rate", FEB) == approx(1.0)
    assert co.v("adoption_rate", APR) == approx(2 / 8)


def test_feature_adoption_per_feature(co: Company) -> None:
    # active accounts in March: acme, bolt (z has no account; b2's `alerts` day had no event)
    assert co.value("feature_adoption", MAR, "feature", "reports")["value"] == approx(1 / 2)
    export = co.value("feature_adoption", MAR, "feature", "export")
    assert (export["value"], export["numerator"], export["denominator"]) == (approx(1.0), 2, 2)
    assert co.store.query("SELECT segment FROM metric_values WHERE metric = 'feature_adoption' AND "
                          "period_start = ? AND segment_by = 'feature' ORDER BY segment", [MAR]) == [
        {"segment": "export"}, {"segment": "reports"}]
    assert co.value("feature_adoption", FEB, "feature", "alerts")["value"] == approx(1.0)
    assert co.v("feature_adoption", MAR) == approx(1.0)      # accounts using any feature / active accounts


def test_average_session_length(co: Company) -> None:
    row = co.value("avg_session_seconds", MAR)
    assert (row["numerator"], row["denominator"]) == (1800, 4)   # a1 600+300, b1 900; a2's row has no sessions
    assert co.v("avg_session_seconds", MAR, "segment", "smb") == approx(300)
    assert co.account_value("bolt", "avg_session_seconds", MAR) == approx(900)


def test_usage_rate_default_threshold(co: Company) -> None:
    # customers acme, bolt, calm × 4 weeks; acme meets W1 (3 active days) and W4 (3 days), bolt one user
    # one day a week never, calm has no usage
    row = co.value("usage_rate", MAR)
    assert (row["numerator"], row["denominator"]) == (2, 12)
    assert co.account_value("acme", "usage_rate", MAR) == approx(0.5)
    assert co.account_value("calm", "usage_rate", MAR) == 0
    assert co.v("usage_rate", FEB) is None                         # no customers yet
    assert co.v("usage_rate", APR) == approx(0.0)
    assert co.value("usage_rate", MAR, "plan", "basic")["denominator"] == 4      # calm's plan
    assert co.v("dau", MAR, "plan", "(none)") == approx(1 / 31)                   # z: no account, no plan


def test_activation_counts_only_elapsed_weeks(co: Company) -> None:
    # March cohort (first paid Mar 1): week 1 = Mar 1-7 acme, bolt active, calm not;
    # week 4 = Mar 22-28 acme (a3), bolt (b1); week 12 = May 17-23 has not elapsed on Apr 8
    w1 = co.value("activation_week_1", MAR)
    assert (w1["numerator"], w1["denominator"]) == (2, 3)
    assert co.v("activation_week_4", MAR) == approx(2 / 3)
    w12 = co.value("activation_week_12", MAR)
    assert w12["value"] is None and w12["denominator"] == 0
    assert co.v("activation_week_1", MAR, "segment", "smb") == approx(1 / 2)


def test_usage_trend_per_account(co: Company) -> None:
    # as of Apr 8: last 30 days Mar 10 - Apr 8, previous Feb 8 - Mar 9
    assert co.account_value("acme", "usage_trend", "2026-04-08", grain="day") == approx(3 / 3)
    assert co.account_value("bolt", "usage_trend", "2026-04-08", grain="day") == approx(3 / 1)
    # history: week Mar 16-22 as of Sunday Mar 22: last Feb 21 - Mar 22, previous Jan 22 - Feb 20
    assert co.account_value("acme", "usage_trend", "2026-03-16", grain="week") == approx(2 / 1)
    assert co.account_value("bolt", "usage_trend", "2026-03-16", grain="week") is None   # none before
    # the current week holds the as-of value
    assert co.account_value("bolt", "usage_trend", "2026-04-06", grain="week") == approx(3.0)
    # by month as of Mar 31: last Mar 2-31 acme 3 bolt 2, previous Jan 30 - Mar 1 acme 2 (a2, a4) bolt 0
    march = co.value("usage_trend", MAR)
    assert (march["numerator"], march["denominator"]) == (5, 2)
    assert co.v("usage_trend", MAR, "segment", "enterprise") is None


def test_every_metric_is_written_and_declared(co: Company) -> None:
    from csconnect_pack_usage import UsagePack
    declared = {m.name for m in UsagePack.metrics}
    written = {r["metric"] for r in co.store.query("SELECT DISTINCT metric FROM metric_values")}
    assert written == declared
    names = ["dau", "wau", "mau", "dau_mau", "wau_mau", "seat_utilisation", "adoption_rate", "feature_adoption",
             "avg_session_seconds", "usage_rate", "activation_week_1", "activation_week_4", "activation_week_12"]
    assert set(names) <= declared
    assert declared - set(names) == {"usage_trend", "seats"}
    defs = co.store.query("SELECT metric, pack, unit FROM metric_definitions WHERE pack = 'usage'")
    assert {d["metric"] for d in defs} == declared
