"""Golden tests: MRR of hand-built lines, worked out by hand."""
from __future__ import annotations

import pytest
from revenue_testkit import Books, month_start

A = pytest.approx


@pytest.fixture
def books(tmp_path):
    b = Books(tmp_path, fx_rates={"EUR": 1.08})
    yield b
    b.ws.close()


def test_annual_plan_is_a_twelfth_per_month(books):
    # $2,000/year = 200,000 cents / 12 = 16,666.666… cents a month, stored unrounded (displayed 166.67 USD).
    books.account("acme")
    sub = books.sub("acme", interval="year")
    books.line("acme", sub, "2024-01-01", "2025-01-01", 200000, interval="year")
    assert books.run("2024-03-31").status == "ok"
    assert books.value("mrr", "2024-01") == A(200000 / 12, abs=1e-9)
    assert round(books.value("mrr", "2024-03")) == 16667
    assert books.value("arr", "2024-03") == A(200000)
    assert books.value("customers", "2024-03") == 1
    assert books.value("arpa", "2024-03") == A(200000 / 12)
    assert books.account_mrr("acme", "2024-02") == A(200000 / 12)


@pytest.mark.parametrize("interval,count,start,end,amount,expected", [
    ("month", 3, "2024-01-20", "2024-04-20", 30000, 10000),            # quarterly: /3
    ("week", 1, "2024-01-27", "2024-02-03", 1200, 1200 * 52 / 12),     # ×52/12
    ("day", 1, "2024-01-31", "2024-02-01", 100, 100 * 365 / 12),       # ×365/12
    ("year", 2, "2023-06-01", "2025-06-01", 480000, 480000 / 24),      # /12·2
    (None, None, "2024-01-10", "2024-02-10", 4900, 4900),             # no interval anywhere: inferred (month)
])
def test_interval_normalization(books, interval, count, start, end, amount, expected):
    sub = books.sub("a", interval=interval, interval_count=count)
    books.line("a", sub, start, end, amount, interval=interval, interval_count=count)
    books.run("2024-01-31")
    assert books.value("mrr", "2024-01") == A(expected)


def test_line_counts_from_period_start_up_to_but_not_at_period_end(books):
    sub = books.sub("a")
    books.line("a", sub, "2024-01-15", "2024-02-15", 5000)
    books.run("2024-03-31")
    assert books.series("mrr") == {"2024-01": 5000, "2024-02": 0, "2024-03": 0}
    # A line ending exactly at 00:00 of the next month still counts at 23:59:59 of the last day.
    books2 = Books(books.ws.path / "two")
    sub = books2.sub("b")
    books2.line("b", sub, "2024-01-01", "2024-02-01", 7000)
    books2.run("2024-02-29")
    assert books2.series("mrr") == {"2024-01": 7000, "2024-02": 0}


def test_mid_month_upgrade_moves_mrr_that_month(books):
    # $100/month Jan 1 – Feb 1; upgrade to $200 on Jan 15 00:00: Stripe credits the unused 17/31 of the old
    # price and charges 17/31 of the new one, each rounded to whole cents, as proration lines for Jan 15 – Feb 1.
    sub = books.sub("a")
    books.line("a", sub, "2023-12-01", "2024-01-01", 10000, plan_id="basic", quantity=1)
    books.line("a", sub, "2024-01-01", "2024-02-01", 10000, plan_id="basic", quantity=1)
    credit, charge = -round(10000 * 17 / 31), round(20000 * 17 / 31)          # -5484, 10968
    pending = None                                                             # pending items: no invoice yet
    books.line("a", sub, "2024-01-15", "2024-02-01", credit, kind="proration", plan_id="basic", quantity=1,
               invoice=pending)
    books.line("a", sub, "2024-01-15", "2024-02-01", charge, kind="proration", plan_id="pro", quantity=1,
               invoice=pending)
    books.line("a", sub, "2024-02-01", "2024-03-01", 20000, plan_id="pro", quantity=1)
    books.run("2024-02-29")
    # old line + credit scaled to the full month + charge scaled = the new price, on the day it happens.
    assert books.value("mrr", "2024-01") == A(20000)
    assert books.movements("2024-01") == {"a": ("expansion", A(10000))}
    assert books.value("mrr", "2024-02") == A(20000)
    assert books.movements("2024-02") == {}
    # Before the upgrade, the old price.
    books.run("2024-01-14")
    assert books.value("mrr", "2024-01") == A(10000)


def test_upgrade_without_snapping_is_within_the_rounding_of_the_proration(books):
    sub = books.sub("a")
    books.line("a", sub, "2024-01-01", "2024-02-01", 10000, plan_id="basic", quantity=1)
    books.line("a", sub, "2024-01-15", "2024-02-01", -5484, kind="proration", plan_id="basic", quantity=1)
    books.line("a", sub, "2024-01-15", "2024-02-01", 10968, kind="proration", plan_id="pro", quantity=1)
    books.run("2024-01-31", proration_snap=False)
    # -5484 × 31/17 + 10968 × 31/17 = 5484 × 31/17 = 10000.235…: exact arithmetic on the rounded amounts.
    assert books.value("mrr", "2024-01") == A(10000 + 5484 * 31 / 17)
    assert books.value("mrr", "2024-01") == A(20000, abs=1)


def test_proration_interval_from_calendar_when_no_line_ends_there(books):
    # Annual plan, a seat added on 2024-07-01 for the rest of the term ending 2025-01-01 (184 of 366 days).
    sub = books.sub("a", interval="year")
    books.line("a", sub, "2024-07-01", "2025-01-01", 18400, kind="proration", interval="year", plan_id="seat",
               quantity=1)
    books.run("2024-07-31")
    assert books.value("mrr", "2024-07") == A(18400 * 366 / 184 / 12)


def test_pending_invoice_items_count_and_one_off_lines_do_not(books):
    sub = books.sub("a")
    books.line("a", sub, "2024-01-01", "2024-02-01", 5000, invoice=None)
    books.line("a", sub, "2024-01-01", "2024-02-01", 99900, kind="one_off", interval=None)
    books.run("2024-01-31")
    assert books.value("mrr", "2024-01") == 5000


def test_draft_renewal_invoice_keeps_mrr_and_void_does_not(books):
    sub = books.sub("a")
    books.line("a", sub, "2024-01-01", "2024-02-01", 5000)
    books.line("a", sub, "2024-02-01", "2024-03-01", 5000, invoice_status="draft")
    books.line("a", sub, "2024-03-01", "2024-04-01", 5000, invoice_status="void")
    books.run("2024-03-31")
    assert books.series("mrr") == {"2024-01": 5000, "2024-02": 5000, "2024-03": 0}
    assert books.series("customers_churned") == {"2024-01": 0, "2024-02": 0, "2024-03": 1}


def test_immediate_cancellation_cuts_mrr(books):
    sub = books.sub("a", status="canceled", canceled_at="2024-02-10T09:00:00Z", ended_at="2024-02-10T09:00:00Z")
    books.line("a", sub, "2024-01-15", "2024-02-15", 5000)
    books.line("a", sub, "2024-02-15", "2024-03-15", 5000, invoice_status="void")
    books.run("2024-02-29")
    assert books.series("mrr") == {"2024-01": 5000, "2024-02": 0}
    assert books.movements("2024-02") == {"a": ("churn", 5000)}
    books.run("2024-02-10T08:00:00Z")
    assert books.value("mrr", "2024-02") == 5000


def test_trial_carries_no_mrr(books):
    sub = books.sub("a", status="active", trial_start="2024-01-10T00:00:00Z", trial_end="2024-01-24T00:00:00Z")
    books.line("a", sub, "2024-01-10", "2024-01-24", 0)
    books.line("a", sub, "2024-01-24", "2024-02-24", 5000)
    trialing = books.sub("b", status="trialing", trial_start="2024-01-20T00:00:00Z", trial_end="2024-02-20T00:00:00Z")
    books.line("b", trialing, "2024-01-20", "2024-02-20", 9900)           # even a priced trial line carries none
    books.run("2024-01-22")
    assert books.value("mrr", "2024-01") == 0
    books.run("2024-01-31")
    assert books.value("mrr", "2024-01") == 5000
    assert books.value("customers", "2024-01") == 1


def test_past_due_keeps_mrr_unless_a_grace_period_is_set(books):
    sub = books.sub("a", status="past_due")
    books.line("a", sub, "2024-01-01", "2024-02-01", 5000)
    books.line("a", sub, "2024-02-01", "2024-03-01", 5000, invoice_status="open")
    books.run("2024-02-29")
    assert books.value("mrr", "2024-02") == 5000
    books.run("2024-02-29", past_due_grace_days=14)      # the open invoice dates from Feb 1: MRR until Feb 15
    assert books.value("mrr", "2024-02") == 0
    assert books.value("mrr", "2024-01") == 5000
    books.run("2024-02-14", past_due_grace_days=14)
    assert books.value("mrr", "2024-02") == 5000


def test_paused_carries_zero(books):
    sub = books.sub("a", status="paused", current_period_start="2024-03-01T00:00:00Z")
    books.monthly("a", sub, "2024-01", 3, 5000)
    books.run("2024-03-31")
    assert books.series("mrr") == {"2024-01": 5000, "2024-02": 5000, "2024-03": 0}


def test_eur_is_converted_at_the_configured_rate(books):
    sub = books.sub("a", currency="EUR")
    books.line("a", sub, "2024-01-01", "2024-02-01", 10000, currency="EUR")
    books.run("2024-01-31")
    assert books.value("mrr", "2024-01") == A(10800)


def test_a_currency_without_a_rate_is_a_one_line_failure(books):
    sub = books.sub("a", currency="GBP")
    books.line("a", sub, "2024-01-01", "2024-02-01", 10000, currency="GBP")
    result = books.run("2024-01-31")
    assert result.status == "failed"
    assert "GBP" in result.reason and "\n" not in result.reason and "fx_rates" in result.reason


def test_month_holding_as_of_is_to_date(books):
    sub = books.sub("a")
    books.line("a", sub, "2024-01-01", "2024-02-01", 5000)
    books.line("a", sub, "2024-02-01", "2024-03-01", 6000)
    sub2 = books.sub("b")
    books.line("b", sub2, "2024-02-20", "2024-03-20", 3000)
    books.run("2024-02-10")
    assert books.series("mrr") == {"2024-01": 5000, "2024-02": 6000}
    assert books.row("mrr", "2024-02")["period_end"] == "2024-02-10"


def test_subscription_state_is_used_only_for_a_source_without_lines(books):
    # A spreadsheet source: no lines at all, so its subscriptions' state gives MRR over their life.
    books.add("subscriptions", source="sheet", account="s1", status="active", interval="year", amount=120000,
              quantity=2, currency="USD", started_at="2024-01-10T00:00:00Z")
    books.add("subscriptions", source="sheet", account="s2", status="canceled", interval="month", mrr=4000,
              currency="EUR", started_at="2024-01-05T00:00:00Z", ended_at="2024-02-15T00:00:00Z")
    # The billing source has lines; its subscription state (mrr=99999) is ignored.
    sub = books.sub("b1", mrr=99999, amount=99999, currency="USD")
    books.line("b1", sub, "2024-01-01", "2024-02-01", 5000)
    books.run("2024-02-29")
    assert books.value("mrr", "2024-01") == A(120000 * 2 / 12 + 4000 * 1.08 + 5000)
    assert books.value("mrr", "2024-02") == A(120000 * 2 / 12)


def test_negative_account_total_counts_as_zero(books):
    sub = books.sub("a")
    books.line("a", sub, "2024-01-10", "2024-02-10", -3000, kind="proration", invoice=None)
    books.run("2024-01-31")
    assert books.value("mrr", "2024-01") == 0
    assert books.value("customers", "2024-01") == 0


def test_accounts_resolve_through_the_subscription_or_the_source_account(books):
    sub = books.sub("acct-9")
    books.add("invoice_lines", source_account_id="cus_9", invoice_id=None, subscription_id=sub, kind="subscription",
              amount=5000, currency="USD", period_start=month_start("2024-01"), period_end=month_start("2024-02"),
              interval="month")
    books.add("invoice_lines", source_account_id="cus_7", invoice_id=None, kind="subscription",
              amount=700, currency="USD", period_start=month_start("2024-01"), period_end=month_start("2024-02"),
              interval="month")
    books.run("2024-01-31")
    assert books.account_mrr("acct-9", "2024-01") == 5000
    assert books.account_mrr("bill:cus_7", "2024-01") == 700
