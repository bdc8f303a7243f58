"""Golden tests: movements and the monthly rates built on them, worked out by hand."""
from __future__ import annotations

import pytest
from revenue_testkit import Books

A = pytest.approx


@pytest.fixture
def books(tmp_path):
    b = Books(tmp_path)
    yield b
    b.ws.close()


def _start_100(books: Books) -> None:
    """End of Jan: A 50, B 10, C 20, D 20 (= $100). Feb: B churns, C contracts by 10, D expands by 10."""
    for acct, jan, feb in (("A", 5000, 5000), ("B", 1000, None), ("C", 2000, 1000), ("D", 2000, 3000)):
        books.account(acct, segment="smb" if acct in "AB" else "enterprise")
        sub = books.sub(acct, plan_id=f"plan_{acct}", plan_name=f"Plan {acct}")
        books.line(acct, sub, "2024-01-01", "2024-02-01", jan)
        if feb:
            books.line(acct, sub, "2024-02-01", "2024-03-01", feb)


def test_gross_and_net_mrr_churn(books):
    _start_100(books)
    books.run("2024-02-29")
    assert books.value("mrr", "2024-01") == 10000
    assert books.value("mrr", "2024-02") == 9000
    assert books.movements("2024-02") == {"B": ("churn", 1000), "C": ("contraction", 1000),
                                          "D": ("expansion", 1000)}
    assert books.value("gross_mrr_churn_rate", "2024-02") == A(0.20)      # (10 + 10) / 100
    assert books.value("net_mrr_churn_rate", "2024-02") == A(0.10)        # (10 + 10 − 10) / 100
    row = books.row("gross_mrr_churn_rate", "2024-02")
    assert (row["numerator"], row["denominator"]) == (2000, 10000)
    assert books.value("customer_churn_rate", "2024-02") == A(0.25)
    assert books.value("customer_retention_rate", "2024-02") == A(0.75)
    assert books.value("quick_ratio", "2024-02") == A(1000 / 2000)
    assert books.value("nrr_monthly", "2024-02") == A(9000 / 10000)
    assert books.value("grr_monthly", "2024-02") == A(8000 / 10000)
    assert books.value("net_new_mrr", "2024-02") == -1000
    assert books.value("customers_churned", "2024-02") == 1
    assert books.value("arpa", "2024-02") == A(3000)
    # January: all four are new.
    assert books.value("mrr_new", "2024-01") == 10000
    assert books.value("customers_new", "2024-01") == 4
    assert books.row("customer_churn_rate", "2024-01")["value"] is None   # no customers at start


def test_breakdowns_keep_numerator_and_denominator(books):
    _start_100(books)
    books.line("X", None, "2024-02-01", "2024-03-01", 700)                # an account with no accounts row
    books.run("2024-02-29")
    assert books.value("mrr", "2024-02", "segment", "smb") == 5000
    assert books.value("mrr", "2024-02", "segment", "enterprise") == 4000
    assert books.value("mrr", "2024-02", "segment", "(none)") == 700
    smb = books.row("gross_mrr_churn_rate", "2024-02", "segment", "smb")
    assert (smb["value"], smb["numerator"], smb["denominator"]) == (A(1000 / 6000), 1000, 6000)
    ent = books.row("net_mrr_churn_rate", "2024-02", "segment", "enterprise")
    assert (ent["numerator"], ent["denominator"]) == (0, 4000)
    assert books.value("mrr", "2024-02", "plan", "Plan D") == 3000        # plan named from the subscription
    assert books.value("mrr", "2024-02", "cohort", "2023-06") == 9000
    assert books.value("customers", "2024-02", "lifecycle_stage", "(none)") == 4
    # Every sum over one dimension's segments adds up to `all`.
    for metric in ("mrr", "mrr_churn", "customers", "mrr_expansion"):
        for dim in ("segment", "plan", "cohort", "owner", "country", "lifecycle_stage"):
            parts = books.ws.store.query("SELECT TOTAL(value) AS v FROM metric_values WHERE metric = ? AND "
                                         "segment_by = ? AND period_start = '2024-02-01'", [metric, dim])
            assert parts[0]["v"] == A(books.value(metric, "2024-02")), (metric, dim)


def test_reactivation_after_a_gap_is_not_expansion(books):
    sub = books.sub("R")
    books.monthly("R", sub, "2024-01", 2, 4000)
    sub2 = books.sub("R")
    books.monthly("R", sub2, "2024-05", 1, 6000)
    books.run("2024-05-31")
    assert books.movements() == {"R@2024-01": ("new", 4000), "R@2024-03": ("churn", 4000),
                                 "R@2024-05": ("reactivation", 6000)}
    assert books.value("mrr_reactivation", "2024-05") == 6000
    assert books.value("customers_reactivated", "2024-05") == 1
    assert books.value("mrr_new", "2024-05") == 0
    assert books.value("mrr_expansion", "2024-05") == 0


def test_joining_and_churning_in_one_month_is_in_neither_side(books):
    _start_100(books)
    sub = books.sub("F", status="canceled", ended_at="2024-02-20T00:00:00Z")
    books.line("F", sub, "2024-02-05", "2024-03-05", 9900)
    books.run("2024-02-29")
    row = books.row("customer_churn_rate", "2024-02")
    assert (row["numerator"], row["denominator"], row["value"]) == (1, 4, 0.25)
    assert "F" not in books.movements("2024-02")
    books.run("2024-02-29", same_period_new_churn="include")
    row = books.row("customer_churn_rate", "2024-02")
    assert (row["numerator"], row["denominator"], row["value"]) == (2, 5, A(0.4))
    assert books.value("customer_retention_rate", "2024-02") == A(0.6)


def test_quick_ratio_is_null_without_losses(books):
    sub = books.sub("A")
    books.line("A", sub, "2024-01-01", "2024-02-01", 1000)
    books.line("A", sub, "2024-02-01", "2024-03-01", 3000)
    sub = books.sub("B")
    books.line("B", sub, "2024-02-01", "2024-03-01", 500)
    books.run("2024-02-29")
    row = books.row("quick_ratio", "2024-02")
    assert (row["value"], row["numerator"], row["denominator"]) == (None, 2500, 0)


def test_quick_ratio_reactivation_parameter(books):
    _start_100(books)
    sub = books.sub("R")
    books.line("R", sub, "2023-11-01", "2023-12-01", 4000)
    books.line("R", sub, "2024-02-01", "2024-03-01", 4000)
    books.run("2024-02-29")
    assert books.value("quick_ratio", "2024-02") == A((1000 + 4000) / 2000)
    books.run("2024-02-29", quick_ratio_include_reactivation=False)
    assert books.value("quick_ratio", "2024-02") == A(1000 / 2000)
    definition = books.ws.store.query("SELECT definition FROM metric_definitions WHERE metric = 'quick_ratio'")
    assert "(new + expansion) /" in definition[0]["definition"]


def test_account_metrics_hold_mrr_per_account_and_month(books):
    _start_100(books)
    books.run("2024-02-29")
    assert books.account_mrr("C", "2024-01") == 2000
    assert books.account_mrr("C", "2024-02") == 1000
    assert books.account_mrr("B", "2024-02") == 0          # the churn month
