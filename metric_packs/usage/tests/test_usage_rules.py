"""The usage pack's parameters and edge rules, each on a few hand-placed rows."""
from __future__ import annotations

from pathlib import Path

import pytest
from pytest import approx

from csconnect.errors import ConfigError
from csconnect.metrics import run_metrics
from csconnect.plugins import build_registry

from usage_builders import Company

MAR = "2026-03-01"


@pytest.fixture
def thresholds(tmp_path: Path) -> Company:
    """March 2026 has four weeks (Mar 2-8 … 23-29). `crowd`: 3 users on one day of W1 (3 users, 1 day);
    `solo`: one user on 3 days of W2 (1 user, 3 days); `pair`: 2 users on 2 days of W3."""
    c = Company(tmp_path)
    for name in ("crowd", "solo", "pair"):
        c.account(name, "smb")
        c.line(name, "flat", 1, "2026-03-01", "2026-04-01")
    for u in ("c1", "c2", "c3"):
        c.use("crowd", u, "2026-03-03")
    for day in ("2026-03-09", "2026-03-11", "2026-03-13"):
        c.use("solo", "s1", day)
    c.use("pair", "p1", "2026-03-16")
    c.use("pair", "p2", "2026-03-17")
    return c


@pytest.mark.parametrize("params, crowd, solo", [
    ({}, 1, 1),                                                      # users_or_days, 3 / 3
    ({"usage_rate_rule": "users"}, 1, 0),
    ({"usage_rate_rule": "days"}, 0, 1),
    ({"usage_rate_rule": "users_and_days"}, 0, 0),
    ({"usage_rate_min_users": 4}, 0, 1),
    ({"usage_rate_min_days": 2, "usage_rate_rule": "days"}, 0, 1),
])
def test_usage_rate_threshold_users_vs_days(thresholds: Company, params: dict, crowd: int, solo: int) -> None:
    thresholds.run("2026-03-31", **params)
    row = thresholds.value("usage_rate", MAR)
    pair = 1 if params.get("usage_rate_min_days") == 2 else 0     # 2 active days meets a 2-day threshold
    assert row["denominator"] == 3 * 4
    assert row["numerator"] == crowd + solo + pair
    assert thresholds.account_value("crowd", "usage_rate", MAR) == approx(crowd / 4)
    assert thresholds.account_value("solo", "usage_rate", MAR) == approx(solo / 4)


def test_usage_rate_and_wau_wait_for_a_week_to_elapse(thresholds: Company) -> None:
    # as of Wed Mar 11 only W1 (Mar 2-8) has elapsed; solo's W2 does not count yet
    thresholds.run("2026-03-11")
    row = thresholds.value("usage_rate", MAR)
    assert (row["numerator"], row["denominator"]) == (1, 3)
    assert thresholds.v("wau", MAR) == 3
    # as of Thu Mar 5 (to date) no March week has elapsed: WAU and usage rate are undefined, not 0
    thresholds.run("2026-03-05")
    assert thresholds.v("mau", MAR) == 3
    assert thresholds.v("wau", MAR) is None and thresholds.v("wau_mau", MAR) is None
    assert thresholds.v("usage_rate", MAR) is None


def test_an_as_of_instant_inside_a_day_has_not_finished_that_day(thresholds: Company) -> None:
    thresholds.run("2026-03-08T12:00:00Z")          # Sunday noon: W1 is not over yet
    assert thresholds.v("wau", MAR) is None
    thresholds.run("2026-03-08")                    # end of Sunday: it is
    assert thresholds.v("wau", MAR) == 3


def test_activation_weeks_count_only_when_elapsed(tmp_path: Path) -> None:
    c = Company(tmp_path)
    c.use("early", "x", "2025-12-01")               # usage data begins Dec 1
    c.line("old", "flat", 1, "2025-11-01", "2025-12-01")   # first paid before usage data: left out
    c.line("early", "flat", 1, "2026-01-05", "2026-02-05")   # week 1 Jan 5-11, week 4 Jan 26 - Feb 1
    c.use("early", "e1", "2026-01-11")                       # last day of week 1
    c.use("early", "e1", "2026-01-25")                       # week 3 only: not week 4
    c.line("late", "flat", 1, "2026-01-20", "2026-02-20")    # week 1 Jan 20-26, week 4 Feb 10-16
    c.use("late", "l1", "2026-01-27")                        # week 2
    c.line("fresh", "flat", 1, "2026-01-28", "2026-02-28")   # week 1 Jan 28 - Feb 3
    c.use("fresh", "f1", "2026-01-28")
    c.run("2026-02-10")      # done through Feb 10: early's weeks 1 and 4 elapsed, late's and fresh's week 1
    jan = "2026-01-01"
    w1 = c.value("activation_week_1", jan)
    assert (w1["numerator"], w1["denominator"]) == (2, 3)       # early, fresh active; late not (Jan 27 is week 2)
    w4 = c.value("activation_week_4", jan)
    assert (w4["numerator"], w4["denominator"]) == (0, 1)       # only early's week 4 has elapsed
    assert not c.store.query("SELECT 1 FROM metric_values WHERE period_start = '2025-11-01'")   # `old`
    c.run("2026-02-16")      # late's week 4 (Feb 10-16) has now elapsed, inactive
    assert c.value("activation_week_4", jan)["denominator"] == 2


def test_activation_from_first_payment(tmp_path: Path) -> None:
    c = Company(tmp_path)
    c.use("acme", "a0", "2025-12-20")                                              # usage data begins
    c.use("acme", "a1", "2026-01-02")
    c.line("acme", "flat", 1, "2026-01-01", "2026-02-01", invoice_status="open")   # unpaid: no first payment
    c.line("acme", "flat", 1, "2026-02-01", "2026-03-01")                          # paid Feb 1
    c.use("acme", "a1", "2026-02-03")
    c.run("2026-03-31")
    assert c.value("activation_week_1", "2026-01-01")["numerator"] == 1           # first MRR Jan 1, active Jan 2
    c.run("2026-03-31", activation_start="first_payment")
    assert c.value("activation_week_1", "2026-01-01")["denominator"] == 0
    assert c.value("activation_week_1", "2026-02-01")["numerator"] == 1           # paid Feb 1, active Feb 3


def test_customers_come_from_the_revenue_pack_when_it_has_run(tmp_path: Path) -> None:
    c = Company(tmp_path)
    for name in ("acme", "bolt"):
        c.account(name, "smb")
        c.line(name, "team", 10, "2026-03-01", "2026-04-01")
        c.use(name, f"{name}_u1", "2026-03-02")
    c.run("2026-03-31")
    assert c.value("seat_utilisation", MAR)["denominator"] == 20          # billing lines: both paying
    c.revenue_mrr("acme", MAR, 10000)
    c.revenue_mrr("bolt", MAR, 0)                                          # revenue says bolt churned
    c.run("2026-03-31")
    assert c.value("seat_utilisation", MAR)["denominator"] == 10
    assert c.value("usage_rate", MAR)["denominator"] == 4
    c.run("2026-03-31", customers_from="billing")
    assert c.value("seat_utilisation", MAR)["denominator"] == 20
    c.run("2026-03-31", customers_from="usage")                           # accounts with usage so far
    assert c.value("usage_rate", MAR)["denominator"] == 8


def test_seat_priced_plans_and_the_accounts_seats_fallback(tmp_path: Path) -> None:
    c = Company(tmp_path)
    c.account("acme", seats=None)
    c.account("flat", seats=25)                      # seats known to the CRM / billing attributes
    c.line("acme", "per_seat", 1, "2026-03-01", "2026-04-01")   # quantity 1, but the plan is billed per seat …
    c.line("other", "per_seat", 3, "2026-01-01", "2026-02-01")  # … elsewhere with quantity 3
    c.line("flat", "basic", 1, "2026-03-01", "2026-04-01")
    c.use("acme", "a1", "2026-03-02")
    c.use("flat", "f1", "2026-03-02")
    c.run("2026-03-31")
    assert c.account_value("acme", "seats", MAR) == 1
    assert c.account_value("flat", "seats", MAR) == 25
    assert c.value("seat_utilisation", MAR)["denominator"] == 26
    c.run("2026-03-31", account_seats_fallback=False)
    assert c.value("seat_utilisation", MAR)["denominator"] == 1
    c.run("2026-03-31", seat_plans=["basic"], account_seats_fallback=False)
    assert c.value("seat_utilisation", MAR)["denominator"] == 1
    assert c.account_value("flat", "seats", MAR) == 1
    assert not c.has_account_value("acme", "seats", MAR)


def test_a_user_day_in_two_sources_counts_once(tmp_path: Path) -> None:
    c = Company(tmp_path)
    for source in ("mixpanel", "posthog"):
        c.use("acme", "a1", "2026-03-02", sessions=1, seconds=100, source=source)
        c.use("acme", "a1", "2026-03-03", source=source)
        c.use("acme", "a1", "2026-03-04", source=source)
    c.use("acme", "a2", "2026-03-02", source="posthog")
    c.line("acme", "flat", 1, "2026-03-01", "2026-04-01")
    c.run("2026-03-31", usage_rate_rule="days")
    assert c.v("dau", MAR) == approx(4 / 31)         # a1 3 days + a2 1 day, not 7
    assert c.v("mau", MAR) == 2
    assert c.v("wau", MAR) == approx(2 / 4)
    assert c.value("usage_rate", MAR)["numerator"] == 1          # 3 active days in W1
    assert c.value("avg_session_seconds", MAR)["numerator"] == 200   # sessions of both tools add up


def test_events_threshold_and_rows_without_counts(tmp_path: Path) -> None:
    c = Company(tmp_path)
    c.use("acme", "a1", "2026-03-02", events=2)
    c.use("acme", "a2", "2026-03-02", events=None)   # a row with no event count still shows activity
    c.use("acme", "a3", "2026-03-02", events=0)
    c.run("2026-03-31")
    assert c.v("mau", MAR) == 2
    c.run("2026-03-31", active_min_events=2)
    assert c.v("mau", MAR) == 2                       # a1 (2 events) and a2 (no count)
    c.run("2026-03-31", active_min_events=3)
    assert c.v("mau", MAR) == 1


def test_trend_windows_and_gaps(tmp_path: Path) -> None:
    c = Company(tmp_path)
    c.use("acme", "a1", "2026-01-01")
    c.use("acme", "a1", "2026-02-15")       # 45 days later: a new coverage island
    c.use("acme", "a2", "2026-01-10")
    c.run("2026-02-10")                     # last Jan 12 - Feb 10: nobody; previous Dec 13 - Jan 11: a1, a2
    assert c.account_value("acme", "usage_trend", "2026-02-10", grain="day") == 0
    c.run("2026-02-20")                     # last Jan 22 - Feb 20: a1; previous Dec 23 - Jan 21: a1, a2
    assert c.account_value("acme", "usage_trend", "2026-02-20", grain="day") == approx(1 / 2)
    c.run("2026-01-30")                     # Jan 1 + 29: a1 is still in the last 30 days
    assert c.account_value("acme", "usage_trend", "2026-01-30", grain="day") is None   # nobody before
    assert c.store.query("SELECT value FROM account_metrics WHERE metric = 'usage_trend' AND grain = 'week' "
                         "AND period_start = '2026-01-26'") == [{"value": None}]
    c.run("2026-03-20")                     # last Feb 19 - Mar 20: nobody; previous Jan 20 - Feb 18: a1
    assert c.account_value("acme", "usage_trend", "2026-03-20", grain="day") == 0
    c.run("2026-04-30")                     # nobody in either window: no row at all
    assert not c.has_account_value("acme", "usage_trend", "2026-04-30", grain="day")


def test_a_rerun_replaces_every_value(tmp_path: Path) -> None:
    c = Company(tmp_path)
    c.use("acme", "a1", "2026-03-02")
    c.run("2026-03-31")
    before = c.store.query("SELECT metric, grain, period_start, segment_by, segment, value FROM metric_values "
                           "ORDER BY 1, 2, 3, 4, 5")
    accounts = c.store.query("SELECT * FROM account_metrics ORDER BY 1, 2, 3, 4")
    c.run("2026-03-31")
    assert c.store.query("SELECT metric, grain, period_start, segment_by, segment, value FROM metric_values "
                         "ORDER BY 1, 2, 3, 4, 5") == before
    assert c.store.query("SELECT * FROM account_metrics ORDER BY 1, 2, 3, 4") == accounts
    assert not c.store.query("SELECT name FROM sqlite_temp_master WHERE name LIKE 'usage_%'")


@pytest.mark.parametrize("params, word", [
    ({"usage_trend_days": 7}, "at least 30"), ({"usage_rate_rule": "sometimes"}, "must be one of"),
    ({"usage_rate_min_days": 8}, "at most 7"), ({"seat_plans": "team"}, "list"), ({"weekly": 1}, "unknown"),
])
def test_a_bad_parameter_is_a_one_line_error(tmp_path: Path, params: dict, word: str) -> None:
    c = Company(tmp_path)
    c.use("acme", "a1", "2026-03-02")
    c.ws.config.packs["usage"] = params
    with pytest.raises(ConfigError) as info:
        run_metrics(c.store, c.ws.config, c.ws.registry, ["usage"], as_of="2026-03-31")
    assert word in str(info.value) and "packs.usage" in str(info.value) and "\n" not in str(info.value)


def test_definitions_state_the_active_parameters(tmp_path: Path) -> None:
    c = Company(tmp_path)
    c.use("acme", "a1", "2026-03-02")
    c.run("2026-03-31", usage_rate_min_users=5, usage_rate_rule="users", usage_trend_days=45,
          seat_plans=["team"], activation_start="first_payment")
    defs = {r["metric"]: r for r in c.store.query("SELECT * FROM metric_definitions WHERE pack = 'usage'")}
    assert "5+ distinct active users (usage_rate_rule = users)" in defs["usage_rate"]["definition"]
    assert defs["usage_trend"]["title"] == "Usage trend (45 days)"
    assert "the plans team (seat_plans)" in defs["seat_utilisation"]["definition"]
    assert "activation_start = first_payment" in defs["activation_week_4"]["definition"]
    c.run("2026-03-31")
    defs = {r["metric"]: r for r in c.store.query("SELECT * FROM metric_definitions WHERE pack = 'usage'")}
    assert "3+ distinct active users or 3+ days" in defs["usage_rate"]["definition"]


def test_no_usage_is_a_skip_and_future_usage_writes_nothing(tmp_path: Path) -> None:
    c = Company(tmp_path)
    [result] = run_metrics(c.store, c.ws.config, c.ws.registry, ["usage"], as_of="2026-03-31")
    assert result.status == "skipped" and "usage_daily" in result.reason
    c.use("acme", "a1", "2026-05-02")
    c.run("2026-03-31")
    assert not c.store.query("SELECT 1 FROM metric_values")


def test_the_installed_distribution_registers_the_pack() -> None:
    registry = build_registry()
    assert registry.packs["usage"].plugin.distribution == "csconnect-pack-usage"
    cls = registry.pack("usage")
    assert cls.requires == ("usage_daily",) and cls.uses_packs == ("revenue",)


def test_the_revenue_pack_runs_first_in_the_same_run(tmp_path: Path) -> None:
    from csconnect import Metric, MetricPack
    from csconnect.testing import plugin_for

    class FakeRevenue(MetricPack):
        """Stands in for the revenue pack: acme pays in March, bolt does not."""
        name = "revenue"
        requires = ("invoice_lines",)
        metrics = (Metric("mrr", "MRR", "currency", "up", "test double"),)

        def run(self, ctx) -> None:
            march = ctx.periods("month", "2026-03-01")[0]
            ctx.write_account_metrics([("acme", "mrr", march, 10000.0), ("bolt", "mrr", march, 0.0)])

    import csconnect_pack_usage.plugin as usage_plugin
    c = Company(tmp_path)
    c.ws.registry = build_registry([usage_plugin, plugin_for(FakeRevenue)], entry_points=False)
    for name in ("acme", "bolt"):
        c.line(name, "team", 10, "2026-03-01", "2026-04-01")
        c.use(name, f"{name}_u1", "2026-03-02")
    results = run_metrics(c.store, c.ws.config, c.ws.registry, ["usage", "revenue"], as_of="2026-03-31")
    assert [(r.pack, r.status) for r in results] == [("revenue", "ok"), ("usage", "ok")]
    assert c.value("seat_utilisation", MAR)["denominator"] == 10
