"""Golden tests: NRR/GRR, CLV, trial conversion, renewals, repeat purchases, the renewal pipeline."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from revenue_testkit import Books, month_start

A = pytest.approx


@pytest.fixture
def books(tmp_path):
    b = Books(tmp_path, fx_rates={"EUR": 1.08})
    yield b
    b.ws.close()


def test_nrr_and_grr_on_a_13_month_cohort(books):
    # (account, first month, months, amount) runs of monthly lines.
    runs = [("A", "2023-01", 6, 10000), ("A", "2023-07", 7, 15000),       # expands in July
            ("B", "2023-01", 8, 20000),                                   # churns in September
            ("C", "2023-01", 3, 30000), ("C", "2023-04", 10, 25000),      # contracts in April
            ("E", "2023-01", 5, 10000), ("E", "2023-12", 2, 12000),       # churns, returns in December
            ("D", "2023-05", 9, 50000)]                                   # new after the cohort month: excluded
    for acct, first, months, amount in runs:
        books.monthly(acct, books.sub(acct), first, months, amount)
    books.run("2024-01-31")
    nrr = books.row("nrr", "2024-01")
    assert (nrr["numerator"], nrr["denominator"]) == (15000 + 0 + 25000 + 12000, 70000)
    assert nrr["value"] == A(52000 / 70000)
    grr = books.row("grr", "2024-01")
    assert (grr["numerator"], grr["denominator"]) == (10000 + 0 + 25000 + 10000, 70000)
    assert grr["value"] == A(45000 / 70000)
    assert books.value("nrr", "2023-12") is None                         # its cohort month precedes the data
    books.run("2024-01-31", nrr_window=1)
    assert books.value("nrr", "2024-01") == A(books.value("nrr_monthly", "2024-01"))
    title = books.ws.store.query("SELECT title, definition FROM metric_definitions WHERE metric = 'nrr'")[0]
    assert "1-month" in title["title"] and "m−1" in title["definition"]


def test_clv_from_six_known_churn_rates(books):
    # 10 customers at each month start; churned per month Jan–Jun 2023: 1, 2, 0, 1, 1, 1 (replaced by new ones).
    # Rates 0.1, 0.2, 0, 0.1, 0.1, 0.1 -> mean 0.1; in July ARPA = $100 -> CLV $1,000, lifetime 10 months.
    churn_per_month = [1, 2, 0, 1, 1, 1]
    last = {f"a{i}": 7 for i in range(10)}                                # month index 0 = 2022-12
    pool = list(last)
    first = dict.fromkeys(last, 0)
    for k, churned in enumerate(churn_per_month, start=1):
        for _ in range(churned):
            gone = pool.pop(0)
            last[gone] = k - 1
            new = f"n{k}_{_}"
            first[new], last[new] = k, 7
            pool.append(new)
    for acct in first:
        books.monthly(acct, books.sub(acct), month_start("2022-12", first[acct])[:7], last[acct] - first[acct] + 1,
                      10000)
    books.run("2023-07-31")
    rates = [books.value("customer_churn_rate", f"2023-0{m}") for m in range(1, 7)]
    assert rates == A([0.1, 0.2, 0.0, 0.1, 0.1, 0.1])
    clv = books.row("clv", "2023-07")
    assert clv["value"] == A(100000) and clv["numerator"] == A(10000) and clv["denominator"] == A(0.1)
    assert books.value("expected_lifetime_months", "2023-07") == A(10)
    assert books.value("clv", "2023-06") is None        # 2022-12 has no churn rate (no customers at its start)
    books.run("2023-07-31", clv_churn_months=3)         # mean of 0.1, 0.1, 0.1
    assert books.value("clv", "2023-07") == A(100000)
    assert books.value("clv", "2023-04") == A(10000 / (0.3 / 3))


def test_trial_conversion_by_trial_start_month(books):
    def trial(acct, start, end, paid_from=None):
        sub = books.sub(acct, trial_start=f"{start}T00:00:00Z", trial_end=f"{end}T00:00:00Z",
                        status="active" if paid_from else "canceled",
                        ended_at=None if paid_from else f"{end}T00:00:00Z")
        books.line(acct, sub, start, end, 0)
        if paid_from:
            books.line(acct, sub, paid_from, str(date.fromisoformat(paid_from) + timedelta(days=30)), 4900)

    trial("T1", "2024-01-05", "2024-01-19", "2024-01-29")      # pays 10 days after trial end
    trial("T2", "2024-01-10", "2024-01-24", "2024-03-04")      # 40 days after: not within 30
    trial("T3", "2024-01-15", "2024-01-29")                    # never pays
    trial("T4", "2024-02-01", "2024-02-15", "2024-02-15")
    books.run("2024-03-31")
    jan = books.row("trial_conversion_rate", "2024-01")
    assert (jan["numerator"], jan["denominator"]) == (1, 3)
    assert books.value("trial_conversion_rate", "2024-02") == 1
    books.run("2024-03-31", trial_conversion_days=45)
    assert books.value("trial_conversion_rate", "2024-01") == A(2 / 3)


def _renewals(books: Books) -> None:
    r1 = books.sub("R1", interval="year")
    books.line("R1", r1, "2023-03-10", "2024-03-10", 120000, interval="year")
    books.line("R1", r1, "2024-03-10", "2025-03-10", 120000, interval="year")
    r2 = books.sub("R2", interval="year", status="canceled", cancel_at_period_end=1,
                   ended_at="2024-03-15T00:00:00Z")
    books.line("R2", r2, "2023-03-15", "2024-03-15", 120000, interval="year")
    r3 = books.sub("R3", interval="year", status="canceled", ended_at="2023-09-01T00:00:00Z")
    books.line("R3", r3, "2023-03-20", "2024-03-20", 120000, interval="year")     # cut short: no term end
    r4 = books.sub("R4")
    books.line("R4", r4, "2024-02-20", "2024-03-20", 5000)                           # monthly: not a renewal
    r5 = books.sub("R5", interval="year")
    books.line("R5", r5, "2023-03-25", "2024-03-25", 240000, interval="year")     # still active, next not billed
    r6 = books.sub("R6", interval="year", cancel_at_period_end=1)
    books.line("R6", r6, "2023-05-01", "2024-05-01", 60000, interval="year")
    for acct, won, closed in (("R1", 1, 1), ("R2", 0, 1), ("R5", 1, 1)):
        books.add("deals", account=acct, kind="renewal", is_closed=closed, is_won=won, close_date="2024-03-12",
                  amount=100000, currency="USD")
    books.add("deals", source="crm", account="R6", kind="renewal", is_closed=0, is_won=0, close_date="2024-05-15",
              amount=120000, currency="EUR", stage="negotiation")
    books.add("deals", source="crm", account="R6", kind="renewal", is_closed=0, close_date="2024-08-15",
              amount=1, currency="USD")                                            # beyond 90 days


def test_renewal_rate_from_subscriptions_and_deals(books):
    _renewals(books)
    books.run("2024-03-31")
    row = books.row("renewal_rate", "2024-03")
    assert (row["numerator"], row["denominator"]) == (2, 3)                        # R1, R5 of R1, R2, R5
    assert books.row("renewal_rate", "2024-03", "source", "subscriptions")["value"] == A(2 / 3)
    assert books.row("renewal_rate", "2024-03", "source", "deals")["value"] == A(2 / 3)
    books.run("2024-03-31", renewal_rate_basis="deals")
    assert books.value("renewal_rate", "2024-03") == A(2 / 3)
    assert books.row("renewal_rate", "2024-03")["denominator"] == 3


def test_renewal_pipeline_table(books):
    _renewals(books)
    books.run("2024-03-31")
    rows = books.ws.store.query("SELECT * FROM renewal_pipeline ORDER BY kind")
    assert [r["kind"] for r in rows] == ["deal", "subscription"]
    deal, sub = rows
    assert sub["account_id"] == "R6" and sub["term_end"] == "2024-05-01T00:00:00Z"
    assert sub["mrr"] == A(5000) and sub["cancel_at_period_end"] == 1
    assert sub["days_to_term_end"] == A(30, abs=0.01)                    # from 2024-03-31 23:59:59
    assert deal["account_id"] == "R6" and deal["deal_amount"] == A(120000 * 1.08)
    assert deal["mrr"] == A(5000) and deal["status"] == "negotiation"


def test_repeat_purchase_ratio(books):
    books.sub("P1")                                  # the pack needs billing rows; invoices alone are the input here
    paid = [("P1", "2024-01-05"), ("P1", "2024-02-05"), ("P2", "2024-01-07"), ("P4", "2024-01-09"),
            ("P4", "2024-03-09")]
    for acct, day in paid:
        books.invoice(acct, status="paid", amount_paid=1000, created_at=f"{day}T00:00:00Z",
                      paid_at=f"{day}T01:00:00Z")
    books.invoice("P3", status="paid", amount_paid=0, created_at="2024-01-10T00:00:00Z")     # nothing paid
    books.invoice("P3", status="open", amount_paid=0, created_at="2024-02-10T00:00:00Z")
    books.run("2024-03-31")
    assert books.series("repeat_purchase_ratio") == A({"2024-01": 0, "2024-02": 1 / 3, "2024-03": 2 / 3})
    row = books.row("repeat_purchase_ratio", "2024-03")
    assert (row["numerator"], row["denominator"]) == (2, 3)
