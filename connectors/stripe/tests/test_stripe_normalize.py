"""Stripe objects -> canonical rows: money, prorations, discounts, statuses, both API shapes."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from csconnect import RejectError
from csconnect_stripe import normalize as nz

import stripe_payloads as sp
import stripe_scenario
from stripe_fake import FakeStripe
from stripe_scenario import DAY, P, T0
from test_stripe_sync import workspace
from test_stripe_suite import API_KEY

FEB1, MAR1, JAN16 = T0 + 31 * DAY, T0 + 59 * DAY, T0 + 15 * DAY


def ref(source_id: Any) -> str | None:
    return f"c:{source_id}" if source_id else None


def expanded(line: dict) -> dict:
    """A basil line as the connector stores it: its price expanded from the catalog."""
    details = line["pricing"]["price_details"]
    details["price"] = P[details["price"]]
    return line


def lines_of(invoice: dict) -> dict[str, dict]:
    return {row["source_id"]: row for table, row in nz.invoice_rows(invoice, ref) if table == "invoice_lines"}


def test_a_discounted_line_counts_after_the_discount_and_before_tax() -> None:
    line = expanded(sp.line("il_1", "in_1", P["price_pro"], 10_000, quantity=2, subscription="sub_1",
                            subscription_item="si_1", discounts=[("di_a", 1_500), ("di_b", 500)], inclusive_tax=1_000))
    row = lines_of(sp.invoice("in_1", "cus_1", [line], subscription="sub_1"))["il_1"]
    assert row["amount"] == 10_000 - 2_000 - 1_000
    assert (row["kind"], row["plan_id"], row["product"], row["interval"], row["interval_count"]) == (
        "subscription", "price_pro", "prod_pro", "month", 1)
    no_discount_amounts = dict(line, discount_amounts=None)       # newer shapes: pretax credit amounts
    assert nz.net_amount(no_discount_amounts) == 7_000


def test_jpy_is_kept_in_whole_yen_and_upper_cased() -> None:
    line = expanded(sp.line("il_jp", "in_jp", P["price_jpy"], 5_000, subscription="sub_jp", subscription_item="si_jp"))
    rows = dict(nz.invoice_rows(sp.invoice("in_jp", "cus_jp", [line], currency="jpy", subscription="sub_jp"), ref))
    assert (rows["invoices"]["currency"], rows["invoices"]["total"]) == ("JPY", 5_000)
    assert (rows["invoice_lines"]["currency"], rows["invoice_lines"]["amount"]) == ("JPY", 5_000)


def test_an_upgrade_mid_period_gives_old_line_credit_and_charge() -> None:
    """Basic (10.00/month) -> Pro (30.00/month) on Jan 16: Stripe credits 16/31 of Basic, charges 16/31 of Pro."""
    old = expanded(sp.line("il_jan", "in_jan", P["price_basic"], 1_000, subscription="sub_1", subscription_item="si_b"))
    credited = {"invoice": "in_jan", "invoice_line_items": ["il_jan"]}
    credit = expanded(sp.line("il_credit", "in_feb", P["price_basic"], -516, subscription="sub_1", subscription_item="si_b",
                              invoice_item="ii_credit", proration=True, start=JAN16, end=FEB1, credited=credited,
                              description="Unused time on Basic after 16 Jan 2025"))
    charge = expanded(sp.line("il_charge", "in_feb", P["price_pro"], 1_548, subscription="sub_1", subscription_item="si_p",
                              invoice_item="ii_charge", proration=True, start=JAN16, end=FEB1,
                              description="Remaining time on Pro after 16 Jan 2025"))
    renewal = expanded(sp.line("il_feb", "in_feb", P["price_pro"], 3_000, subscription="sub_1", subscription_item="si_p",
                               start=FEB1, end=MAR1))
    rows = {**lines_of(sp.invoice("in_jan", "cus_1", [old], subscription="sub_1")),
            **lines_of(sp.invoice("in_feb", "cus_1", [credit, charge, renewal], subscription="sub_1", created=FEB1))}
    assert {k: (r["kind"], r["amount"], r["invoice_id"]) for k, r in rows.items()} == {
        "il_jan": ("subscription", 1_000, "c:in_jan"), "ii_credit": ("proration", -516, "c:in_feb"),
        "ii_charge": ("proration", 1_548, "c:in_feb"), "il_feb": ("subscription", 3_000, "c:in_feb")}
    assert all(r["subscription_id"] == "c:sub_1" and r["interval"] == "month" for r in rows.values())
    # the revenue pack's rule (METRICS.md): scale a proration to its full interval, sum what covers t
    t = T0 + 19 * DAY
    month = FEB1 - T0
    mrr = 0.0
    for r in rows.values():
        start, end = r["period_start"], r["period_end"]            # unix seconds until validated
        if start <= t < end:
            mrr += r["amount"] * (month / (end - start) if r["kind"] == "proration" else 1)
    assert mrr == pytest.approx(3_000, abs=1)


def test_pending_prorations_become_the_invoices_lines(tmp_path: Path, respx_mock: Any) -> None:
    fake = stripe_scenario.populate(FakeStripe(respx_mock, API_KEY))
    credit = sp.invoiceitem("ii_credit", "cus_acme", P["price_basic"], -516, proration=True, subscription="sub_acme",
                            subscription_item="si_acme", start=JAN16, end=FEB1, created=JAN16)
    fake.add("invoiceitems", credit)
    ws = workspace(tmp_path)
    assert ws.sync().ok
    pending = ws.rows("invoice_lines", "source_id = 'ii_credit'")[0]
    assert (pending["invoice_id"], pending["kind"], pending["amount"], pending["interval"]) == (
        None, "proration", -516, "month")
    now = int(time.time())
    line = sp.line("il_x", "in_next", P["price_basic"], -516, subscription="sub_acme", subscription_item="si_acme",
                   invoice_item="ii_credit", proration=True, start=JAN16, end=FEB1)
    inv = fake.add_invoice(sp.invoice("in_next", "cus_acme", [line], status="draft", subscription="sub_acme",
                                      created=now))
    fake.add("invoiceitems", dict(credit, invoice="in_next"))
    fake.emit(sp.event("evt_inv", "invoice.created", inv, now + 1))
    assert ws.sync().ok
    (row,) = ws.rows("invoice_lines", "source_id = 'ii_credit'")
    assert (row["invoice_id"], row["amount"], row["source_stream"]) == ("stripe:in_next", -516, "invoices")
    before = ws.snapshot()
    ws.normalize()
    assert ws.snapshot() == before


@pytest.mark.parametrize("stripe_status,status,mrr", [
    ("active", "active", 15_000), ("past_due", "past_due", 15_000), ("unpaid", "past_due", 15_000),
    ("trialing", "trialing", 0), ("paused", "paused", 0), ("canceled", "canceled", 0),
    ("incomplete", "past_due", 0), ("incomplete_expired", "ended", 0)])
def test_subscription_statuses(stripe_status: str, status: str, mrr: int) -> None:
    sub = sp.subscription("sub_1", "cus_1", [sp.subscription_item("si_1", "sub_1", P["price_pro"], quantity=5)],
                          status=stripe_status)
    (table, row), = nz.subscription_rows(sub)
    assert (row["status"], row["source_status"], row["mrr"], row["amount"]) == (status, stripe_status, mrr, 15_000)


def test_an_unknown_subscription_status_is_a_reject() -> None:
    sub = sp.subscription("sub_1", "cus_1", [], status="frozen")
    with pytest.raises(RejectError, match="unknown Stripe status 'frozen'"):
        nz.subscription_rows(sub)


def test_subscription_plan_is_its_largest_licensed_item_and_metered_items_carry_no_amount() -> None:
    seats = sp.subscription_item("si_seats", "sub_1", P["price_pro_year"], quantity=10, end=T0 + 365 * DAY)
    addon = sp.subscription_item("si_addon", "sub_1", sp.price("price_addon", "prod_addon", 12_000, interval="year"),
                                 end=T0 + 365 * DAY)
    usage = sp.subscription_item("si_usage", "sub_1", sp.price("price_api", "prod_api", 2, interval="year",
                                                               usage_type="metered"), quantity=0)
    seats["price"]["product"] = sp.product("prod_pro", "Pro")       # expanded by the connector
    (_, row), = nz.subscription_rows(sp.subscription("sub_1", "cus_1", [addon, seats, usage]))
    assert (row["plan_id"], row["plan_name"], row["product"], row["quantity"]) == ("price_pro_year", "Pro",
                                                                                   "prod_pro", 10)
    assert (row["interval"], row["amount"], row["mrr"]) == ("year", 312_000, 26_000)
    assert (row["current_period_start"], row["current_period_end"]) == (T0, T0 + 365 * DAY)


def test_customers_give_account_contact_domain_and_external_ids() -> None:
    rows = nz.customer_rows(sp.customer("cus_1", email="Pat@Example.COM", name="Example GmbH", country="DE",
                                        metadata={"hubspot_company_id": "42", "crm_id": "x1", "owner": "kim"}),
                            {**nz.EXTERNAL_ID_KEYS, "crm_id": "salesforce"})
    (_, account), (_, contact) = rows
    assert (account["domain"], account["external_ids"]) == ("example.com", {"hubspot": "42", "salesforce": "x1"})
    assert account["attributes"] == {"country": "DE", "currency": "USD", "delinquent": False, "owner": "kim"}
    assert (contact["email"], contact["source_account_id"]) == ("pat@example.com", "cus_1")
    free = nz.customer_rows(sp.customer("cus_2", email="someone@gmail.com"))
    assert free[0][1]["domain"] is None and free[0][1]["name"] == "someone@gmail.com"
    assert len(nz.customer_rows(sp.customer("cus_3", name="No Mail Ltd"))) == 1


def test_a_pre_basil_invoice_reads_subscription_type_and_taxes_from_their_old_places() -> None:
    line = sp.line_pre_basil("il_1", "in_1", P["price_pro"], 3_000, subscription="sub_1", subscription_item="si_1")
    item = sp.line_pre_basil("il_2", "in_1", P["price_setup"], 5_000, invoice_item="ii_setup")
    prorate = sp.line_pre_basil("il_3", "in_1", P["price_pro"], 700, subscription="sub_1", invoice_item="ii_p",
                                proration=True)
    inv = sp.invoice("in_1", "cus_1", [line, item, prorate], subscription="sub_1", basil=False)
    inv["tax"] = 870
    rows = nz.invoice_rows(inv, ref)
    assert rows[0][1]["subscription_id"] == "c:sub_1" and rows[0][1]["tax"] == 870
    got = {r["source_id"]: (r["kind"], r["interval"], r["subscription_id"]) for t, r in rows[1:]}
    assert got == {"il_1": ("subscription", "month", "c:sub_1"), "ii_setup": ("one_off", None, "c:sub_1"),
                   "ii_p": ("proration", "month", "c:sub_1")}


def test_old_subscription_line_ids_are_made_unique_per_invoice() -> None:
    line = sp.line_pre_basil("sub_1", "in_1", P["price_pro"], 3_000, subscription="sub_1")
    assert nz.line_source_id(line, "in_1") == "in_1:sub_1"


def test_a_basil_line_whose_price_could_not_be_expanded_still_has_plan_and_product() -> None:
    line = sp.line("il_1", "in_1", P["price_pro"], 3_000, subscription="sub_1", subscription_item="si_1")
    row = lines_of(sp.invoice("in_1", "cus_1", [line], subscription="sub_1"))["il_1"]
    assert (row["plan_id"], row["product"], row["interval"]) == ("price_pro", "prod_pro", None)


def test_deleted_drafts_are_void_and_deleted_pending_items_count_nothing() -> None:
    inv = dict(sp.invoice("in_1", "cus_1", [], status="draft"), deleted=True)
    assert nz.invoice_rows(inv, ref)[0][1]["status"] == "void"
    assert nz.invoice_rows(inv, ref)[0][1]["source_status"] == "deleted"
    item = dict(sp.invoiceitem("ii_1", "cus_1", P["price_setup"], 5_000), deleted=True)
    assert nz.invoiceitem_rows(item, ref)[0][1]["amount"] == 0
    assert nz.invoiceitem_rows(dict(item, invoice="in_1", deleted=False), ref) == []

