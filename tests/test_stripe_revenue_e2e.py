"""End to end, as a user runs it: `csconnect sync stripe && csconnect metrics run && csconnect kpi …`
against a local HTTP server serving Stripe-shaped pages, with the numbers worked out by hand.

The Stripe account (all amounts in cents; months are UTC calendar months, as of 2026-02-28):

    A  Alpha   $100/month (price_team) from 2025-01-01, billed on the 1st, every month to the end.
               A duplicate March 2025 invoice was voided: its line must not count.
    B  Bravo   annual $2,640/year less a $240 coupon = $2,400/year = 20,000/month, from
               2025-02-01; renewed 2026-02-01 (a year of MRR per annual line, not a spike).
    C  Charlie $50/month from 2025-01-01; asked to cancel on 2025-05-20 (cancel at period end),
               so the subscription ended 2025-06-01: MRR 5,000 at the end of May, 0 at the end of
               June -> churn in June. A new subscription at $80/month from 2025-09-15 (billed on
               the 15th): reactivation in September.
    D  Delta   $300/month from 2025-03-01, plus a one-off $500 setup fee (no MRR). Upgraded to
               $450/month on 2025-05-16 00:00 with 16 of May's 31 days left: Stripe credits
               -30,000 x 16/31 = -15,484 and charges 45,000 x 16/31 = 23,226 (proration lines on
               the June invoice). Scaled to the full 31-day interval: -15,484 x 31/16 = -29,999.75
               and 23,226 x 31/16 = 45,000.375, which snap to the billed prices -30,000 and 45,000
               (within the rounding distance 0.5 x 31/16 + 0.5 = 1.47). So at the end of May
               30,000 - 30,000 + 45,000 = 45,000: expansion of 15,000 in May.
    E  Echo    EUR 300/month tax-inclusive (EUR 50 VAT) from 2025-04-01: EUR 250 net
               = 25,000 euro cents x 1.08 = 27,000 USD cents. Its February 2026 invoice is still
               a draft (it counts).

MRR at month end (cents):

    month     A       B       C       D       E      MRR   customers  movement
    2025-01 10000       0    5000       0       0   15000   2          new A 10000, C 5000
    2025-02 10000   20000    5000       0       0   35000   3          new B 20000
    2025-03 10000   20000    5000   30000       0   65000   4          new D 30000
    2025-04 10000   20000    5000   30000   27000   92000   5          new E 27000
    2025-05 10000   20000    5000   45000   27000  107000   5          expansion D 15000
    2025-06 10000   20000       0   45000   27000  102000   4          churn C 5000
    2025-07 .. 2025-08 unchanged                   102000   4
    2025-09 10000   20000    8000   45000   27000  110000   5          reactivation C 8000
    2025-10 .. 2026-02 unchanged                   110000   5

Customer churn rate = churned / customers at the start of the month: 2025-01 undefined (no
customers at the start), 2025-06 1/5 = 20%, every other month 0/n = 0%.

NRR (12-month) for month m = MRR now of the customers at the end of m-12 / their MRR then:
2026-02: cohort at the end of 2025-02 = A, B, C: then 10000 + 20000 + 5000 = 35000, now
10000 + 20000 + 8000 (C came back) = 38000 -> 38000/35000 = 108.571…%.
2026-01: cohort at the end of 2025-01 = A, C: (10000 + 8000) / 15000 = 120%.
Earlier months have no month m-12 in the history: undefined.

Movement identity each month: MRR_end = MRR_start + new + reactivation + expansion − contraction
− churn (e.g. June: 107000 + 0 + 0 + 0 − 0 − 5000 = 102000).
"""
from __future__ import annotations

import calendar
import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

STRIPE_TESTS = Path(__file__).resolve().parents[1] / "connectors" / "stripe" / "tests"
sys.path.insert(0, str(STRIPE_TESTS))           # the fakes are test helpers, not packages

import stripe_payloads as sp  # noqa: E402
from stripe_fake import FakeStripe  # noqa: E402
from stripe_server import StripeServer, stripe_server  # noqa: E402,F401  (fixture)

SECRET = "sk_test_e2e51NqLr8XW0h4kQv2Jt6Zs9aYbCdEf"
AS_OF = "2026-02-28"
EUR_RATE = 1.08
CLI = Path(sys.executable).with_name("csconnect")

MONTHS = [f"{y}-{m:02d}" for y, m in [(2025, m) for m in range(1, 13)] + [(2026, 1), (2026, 2)]]
MRR = dict(zip(MONTHS, [15000, 35000, 65000, 92000, 107000, 102000, 102000, 102000, 110000,
                        110000, 110000, 110000, 110000, 110000]))
CHURN_RATE = {m: (None if m == "2025-01" else 0.2 if m == "2025-06" else 0.0) for m in MONTHS}
NRR = {m: None for m in MONTHS} | {"2026-01": 18000 / 15000, "2026-02": 38000 / 35000}
MOVEMENTS = {("2025-01", "stripe:cus_a"): ("new", 10000), ("2025-01", "stripe:cus_c"): ("new", 5000),
             ("2025-02", "stripe:cus_b"): ("new", 20000), ("2025-03", "stripe:cus_d"): ("new", 30000),
             ("2025-04", "stripe:cus_e"): ("new", 27000), ("2025-05", "stripe:cus_d"): ("expansion", 15000),
             ("2025-06", "stripe:cus_c"): ("churn", 5000), ("2025-09", "stripe:cus_c"): ("reactivation", 8000)}
LAST_12 = MONTHS[-12:]


# -- the Stripe account ------------------------------------------------------------------------

def at(day: str) -> int:
    """'2025-05-16' -> unix seconds at 00:00 UTC."""
    return calendar.timegm(date.fromisoformat(day).timetuple())


def monthly_periods(first: str, count: int) -> list[tuple[str, str]]:
    """`count` monthly billing periods from `first` (same day of the month each time)."""
    y, m, d = map(int, first.split("-"))
    days = []
    for i in range(count + 1):
        yy, mm = divmod(m - 1 + i, 12)
        days.append(date(y + yy, mm + 1, d).isoformat())
    return list(zip(days, days[1:]))


PRICES = {
    "price_team": sp.price("price_team", "prod_team", 10_000, nickname="Team monthly"),
    "price_annual": sp.price("price_annual", "prod_team", 264_000, interval="year", nickname="Team annual"),
    "price_starter": sp.price("price_starter", "prod_starter", 5_000, nickname="Starter"),
    "price_starter_plus": sp.price("price_starter_plus", "prod_starter", 8_000, nickname="Starter plus"),
    "price_business": sp.price("price_business", "prod_business", 30_000, nickname="Business"),
    "price_business_plus": sp.price("price_business_plus", "prod_business", 45_000, nickname="Business plus"),
    "price_setup": sp.price("price_setup", "prod_business", 50_000, interval=None, nickname="Setup"),
    "price_team_eur": dict(sp.price("price_team_eur", "prod_team", 30_000, currency="eur", nickname="Team EU"),
                           tax_behavior="inclusive"),
}
P = PRICES


class Account:
    """Builds the account into a FakeStripe: invoices with their lines, invoice items, subscriptions."""

    def __init__(self, fake: FakeStripe):
        self.fake = fake

    def invoice(self, iid: str, cus: str, sub: str, lines: list[dict], created: int, *, status: str = "paid",
                currency: str = "usd", vat: int = 0) -> None:
        inv = sp.invoice(iid, cus, lines, status=status, created=created, currency=currency, subscription=sub,
                         paid_at=created + 60 if status == "paid" else None)
        if vat:
            inv["total_taxes"] = [{"amount": vat, "tax_behavior": "inclusive", "taxability_reason": "standard_rated",
                                   "taxable_amount": inv["total"] - vat, "type": "tax_rate_details",
                                   "tax_rate_details": {"tax_rate": "txr_de_vat"}}]
        self.fake.add_invoice(inv)

    def cycle(self, iid: str, cus: str, sub: str, si: str, price: str, amount: int, start: str, end: str,
              extra: tuple[dict, ...] = (), **kw: Any) -> None:
        """The invoice of one billing period: its subscription line (plus `extra` lines)."""
        line = sp.line(f"il_{iid[3:]}", iid, P[price], amount, start=at(start), end=at(end), subscription=sub,
                       subscription_item=si, discounts=kw.pop("discounts", ()),
                       inclusive_tax=kw.pop("inclusive_tax", 0))
        self.invoice(iid, cus, sub, [*extra, line], at(start) + 30, **kw)

    def build(self) -> FakeStripe:
        f = self.fake
        f.add("products", sp.product("prod_team", "Team"), sp.product("prod_starter", "Starter"),
              sp.product("prod_business", "Business"))
        f.add("prices", *PRICES.values())
        f.add("customers",
              sp.customer("cus_a", email="billing@alpha.example", name="Alpha Analytics", created=at("2025-01-01")),
              sp.customer("cus_c", email="ap@charlie.example", name="Charlie Health", created=at("2025-01-01") + 1),
              sp.customer("cus_b", email="finance@bravo.example", name="Bravo Logistics", created=at("2025-02-01")),
              sp.customer("cus_d", email="ops@delta.example", name="Delta Robotics", created=at("2025-03-01")),
              sp.customer("cus_e", email="buchhaltung@echo.example", name="Echo GmbH", created=at("2025-04-01"),
                          country="DE", currency="eur"))
        # A: $100 a month, 14 invoices, and a voided duplicate for March 2025
        for start, end in monthly_periods("2025-01-01", 14):
            self.cycle(f"in_a_{start[:7].replace('-', '')}", "cus_a", "sub_a", "si_a", "price_team", 10_000,
                       start, end)
        self.cycle("in_a_void", "cus_a", "sub_a", "si_a", "price_team", 10_000, "2025-03-01", "2025-04-01",
                   status="void")
        # B: a year at a time, with a $240 coupon
        for start, end in (("2025-02-01", "2026-02-01"), ("2026-02-01", "2027-02-01")):
            self.cycle(f"in_b_{start[:4]}", "cus_b", "sub_b", "si_b", "price_annual", 264_000, start, end,
                       discounts=[("di_b_launch", 24_000)])
        # C: $50 a month until it cancels at the end of May; back at $80 from 15 September
        for start, end in monthly_periods("2025-01-01", 5):
            self.cycle(f"in_c1_{start[:7].replace('-', '')}", "cus_c", "sub_c1", "si_c1", "price_starter", 5_000,
                       start, end)
        for start, end in monthly_periods("2025-09-15", 6):
            self.cycle(f"in_c2_{start[:7].replace('-', '')}", "cus_c", "sub_c2", "si_c2", "price_starter_plus",
                       8_000, start, end)
        # D: $300 a month with a $500 setup fee; upgraded to $450 on 16 May (prorations on June's invoice)
        setup = sp.line("il_d_setup", "in_d_202503", P["price_setup"], 50_000, invoice_item="ii_d_setup",
                        start=at("2025-03-01"), end=at("2025-03-01"))
        upgrade = at("2025-05-16")
        credit = sp.line("il_d_credit", "in_d_202506", P["price_business"], -15_484, subscription="sub_d",
                         subscription_item="si_d", invoice_item="ii_d_credit", proration=True, start=upgrade,
                         end=at("2025-06-01"), description="Unused time on Business after 16 May 2025",
                         credited={"invoice": "in_d_202505", "invoice_line_items": ["il_d_202505"]})
        charge = sp.line("il_d_charge", "in_d_202506", P["price_business_plus"], 23_226, subscription="sub_d",
                         subscription_item="si_d", invoice_item="ii_d_charge", proration=True, start=upgrade,
                         end=at("2025-06-01"), description="Remaining time on Business plus after 16 May 2025")
        for start, end in monthly_periods("2025-03-01", 12):
            key = start[:7].replace("-", "")
            plus = start >= "2025-06-01"
            extra = (setup,) if key == "202503" else (credit, charge) if key == "202506" else ()
            self.cycle(f"in_d_{key}", "cus_d", "sub_d", "si_d", "price_business_plus" if plus else "price_business",
                       45_000 if plus else 30_000, start, end, extra=extra)
        f.add("invoiceitems",       # already invoiced: the connector reads only pending ones
              sp.invoiceitem("ii_d_setup", "cus_d", P["price_setup"], 50_000, start=at("2025-03-01"),
                             end=at("2025-03-01"), invoice_id="in_d_202503", created=at("2025-03-01")),
              sp.invoiceitem("ii_d_credit", "cus_d", P["price_business"], -15_484, proration=True,
                             subscription="sub_d", subscription_item="si_d", start=upgrade, end=at("2025-06-01"),
                             invoice_id="in_d_202506", created=upgrade),
              sp.invoiceitem("ii_d_charge", "cus_d", P["price_business_plus"], 23_226, proration=True,
                             subscription="sub_d", subscription_item="si_d", start=upgrade, end=at("2025-06-01"),
                             invoice_id="in_d_202506", created=upgrade))
        # E: EUR 300 a month including EUR 50 VAT; the February 2026 invoice is still a draft
        for start, end in monthly_periods("2025-04-01", 11):
            self.cycle(f"in_e_{start[:7].replace('-', '')}", "cus_e", "sub_e", "si_e", "price_team_eur", 30_000,
                       start, end, currency="eur", inclusive_tax=5_000, vat=5_000,
                       status="draft" if start == "2026-02-01" else "paid")
        month = {"start": at("2026-02-01"), "end": at("2026-03-01")}

        def sub(sid: str, cus: str, si: str, price: str, created: str, start: int, end: int, **kw: Any) -> dict:
            item = sp.subscription_item(si, sid, P[price], start=start, end=end, created=at(created))
            return sp.subscription(sid, cus, [item], created=at(created), start=start, end=end, **kw)

        f.add("subscriptions",
              sub("sub_a", "cus_a", "si_a", "price_team", "2025-01-01", **month),
              sub("sub_c1", "cus_c", "si_c1", "price_starter", "2025-01-01", at("2025-05-01"), at("2025-06-01"),
                  status="canceled", cancel_at_period_end=True, canceled_at=at("2025-05-20"),
                  ended_at=at("2025-06-01")),
              sub("sub_b", "cus_b", "si_b", "price_annual", "2025-02-01", at("2026-02-01"), at("2027-02-01")),
              sub("sub_d", "cus_d", "si_d", "price_business_plus", "2025-03-01", **month),
              sub("sub_e", "cus_e", "si_e", "price_team_eur", "2025-04-01", currency="eur", **month),
              sub("sub_c2", "cus_c", "si_c2", "price_starter_plus", "2025-09-15", at("2026-02-15"),
                  at("2026-03-15")))
        return f


# -- running the command line ------------------------------------------------------------------

def csconnect(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`csconnect --config <project>/csconnect.toml ARGS`, in a subprocess, as a user types it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSCONNECT_")}
    env.update(STRIPE_API_KEY=SECRET, COLUMNS="120", PYTHONIOENCODING="utf-8",
               # only the two plugins this test is about, whatever else is installed beside them
               CSCONNECT_LOAD_PLUGINS="csconnect-stripe,csconnect-pack-revenue")
    result = subprocess.run([str(CLI), "--config", str(project / "csconnect.toml"), *args], capture_output=True,
                            text=True, env=env, cwd=project, timeout=120)
    assert result.returncode == 0, f"csconnect {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
    assert SECRET not in result.stdout and SECRET not in result.stderr
    return result


def table_rows(text: str) -> dict[str, list[str]]:
    """The rows of a printed table, by their first cell (a month), as cell texts."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line) if c.strip()]
        if cells and re.fullmatch(r"\d{4}-\d{2}", cells[0]):
            out[cells[0]] = cells[1:]
    return out


def money(cents: float) -> str:
    return f"${cents / 100:,.2f}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def test_sync_metrics_and_kpi_print_the_hand_worked_numbers(tmp_path: Path, stripe_server: StripeServer) -> None:
    Account(stripe_server.fake).build()
    stripe_server.fake.api_key = SECRET
    (tmp_path / "csconnect.toml").write_text(f"""\
database = "csconnect.db"
reporting_currency = "USD"

[fx_rates]
EUR = {EUR_RATE}

[connections.stripe]
connector = "stripe"
api_key = "${{STRIPE_API_KEY}}"
base_url = "{stripe_server.base_url}"
page_size = 20
""", encoding="utf-8")

    synced = csconnect(tmp_path, "sync", "stripe", "--format", "json")
    streams = {r["stream"]: r for r in json.loads(synced.stdout)}
    assert all(r["status"] == "ok" and r["rejects"] == 0 for r in streams.values()), streams
    assert streams["invoices"]["records"] == 51 and streams["invoices"]["pages"] == 3
    _, listed, _ = stripe_server.fake.handle("GET", "/v1/invoices", "limit=100", {
        "Authorization": f"Bearer {SECRET}", "Stripe-Version": "2025-08-27.basil"})
    newest_first = [inv["id"] for inv in listed["data"]]
    assert stripe_server.targets("/v1/invoices") == [          # three pages of 20, 20 and 11
        "/v1/invoices?limit=20", f"/v1/invoices?limit=20&starting_after={newest_first[19]}",
        f"/v1/invoices?limit=20&starting_after={newest_first[39]}"]
    assert all(s.headers["Authorization"] == f"Bearer {SECRET}" and s.headers["Stripe-Version"] == "2025-08-27.basil"
               for s in stripe_server.served)

    ran = csconnect(tmp_path, "metrics", "run", "revenue", "--as-of", AS_OF, "--format", "json")
    assert [(r["pack"], r["status"]) for r in json.loads(ran.stdout)] == [("revenue", "ok")]

    printed = csconnect(tmp_path, "kpi", "mrr", "nrr", "customer_churn_rate", "--last", "12", "--format", "json")
    values = {(r["metric"], r["period_start"][:7]): r for r in json.loads(printed.stdout)}
    assert sorted({month for _, month in values}) == LAST_12
    for month in LAST_12:
        assert values[("mrr", month)]["value"] == pytest.approx(MRR[month], abs=0.005), month
        churn = values[("customer_churn_rate", month)]
        assert churn["value"] == pytest.approx(CHURN_RATE[month], abs=1e-12), month
        nrr = values[("nrr", month)]
        assert nrr["value"] == (None if NRR[month] is None else pytest.approx(NRR[month], rel=1e-12)), month
    assert (values[("nrr", "2026-02")]["numerator"], values[("nrr", "2026-02")]["denominator"]) == (
        pytest.approx(38000), pytest.approx(35000))
    june = values[("customer_churn_rate", "2025-06")]
    assert (june["numerator"], june["denominator"]) == (1, 5)

    shown = table_rows(csconnect(tmp_path, "kpi", "mrr", "nrr", "customer_churn_rate", "--last", "12").stdout)
    assert shown == {m: [money(MRR[m]), percent(NRR[m]), percent(CHURN_RATE[m])] for m in LAST_12}
    assert shown["2026-02"] == ["$1,100.00", "108.6%", "0.0%"] and shown["2025-06"] == ["$1,020.00", "—", "20.0%"]

    db = sqlite3.connect(tmp_path / "csconnect.db")
    try:
        movements = {(m[:7], a): (k, amount) for a, m, k, amount in db.execute(
            "SELECT account_id, month, kind, amount FROM mrr_movements")}
        all_mrr = {p[:7]: v for p, v in db.execute(
            "SELECT period_start, value FROM metric_values WHERE metric = 'mrr' AND segment_by = 'all'")}
    finally:
        db.close()
    assert {k: (kind, pytest.approx(amount)) for k, (kind, amount) in MOVEMENTS.items()} == movements
    assert all_mrr == {m: pytest.approx(MRR[m]) for m in MONTHS}
    for name in os.listdir(tmp_path):                # the database (and its WAL) never holds the key
        if name.startswith("csconnect.db"):
            assert SECRET.encode() not in (tmp_path / name).read_bytes(), name
