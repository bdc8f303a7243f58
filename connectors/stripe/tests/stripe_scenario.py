"""The standard small Stripe account the tests sync: three customers, their plans and invoices."""
from __future__ import annotations

import time

import stripe_payloads as sp
from stripe_fake import FakeStripe

T0, DAY = sp.T0, sp.DAY
PRODUCTS = {
    "prod_basic": sp.product("prod_basic", "Basic"),
    "prod_pro": sp.product("prod_pro", "Pro", default_price="price_pro"),
    "prod_tokyo": sp.product("prod_tokyo", "Tokyo plan"),
}
PRICES = {
    "price_basic": sp.price("price_basic", "prod_basic", 1_000),
    "price_pro": sp.price("price_pro", "prod_pro", 3_000, nickname="Pro monthly"),
    "price_pro_year": sp.price("price_pro_year", "prod_pro", 30_000, interval="year"),
    "price_setup": sp.price("price_setup", "prod_pro", 5_000, interval=None),
    "price_jpy": sp.price("price_jpy", "prod_tokyo", 5_000, currency="jpy"),
    "price_jpy_setup": sp.price("price_jpy_setup", "prod_tokyo", 20_000, currency="jpy", interval=None),
}
P = PRICES


def populate(fake: FakeStripe) -> FakeStripe:
    fake.add("products", *PRODUCTS.values())
    fake.add("prices", *PRICES.values())
    fake.add("customers",
             sp.customer("cus_acme", email="Ops@Acme.io", name="Acme Corp", country="US", created=T0,
                         metadata={"hubspot_company_id": "1001", "segment": "mid-market"}),
             sp.customer("cus_solo", email="jane.doe@gmail.com", name="Jane Doe", created=T0 + 1),
             sp.customer("cus_tokyo", name="Tokyo KK", currency="jpy", country="JP", created=T0 + 2))
    fake.add("subscriptions",
             sp.subscription("sub_acme", "cus_acme", [sp.subscription_item("si_acme", "sub_acme", P["price_pro"],
                                                                            quantity=5)]),
             sp.subscription("sub_solo", "cus_solo", [sp.subscription_item("si_solo", "sub_solo", P["price_basic"])],
                             status="canceled", canceled_at=T0 + 10 * DAY, ended_at=T0 + 10 * DAY, created=T0 + 1),
             sp.subscription("sub_tokyo", "cus_tokyo",
                             [sp.subscription_item("si_tokyo", "sub_tokyo", P["price_jpy"])], status="trialing",
                             currency="jpy", trial_start=T0, trial_end=T0 + 14 * DAY, created=T0 + 2))
    fake.add_invoice(sp.invoice("in_acme_1", "cus_acme", [
        sp.line("il_acme_1", "in_acme_1", P["price_pro"], 15_000, quantity=5, subscription="sub_acme",
                subscription_item="si_acme", discounts=[("di_twenty", 3_000)])], subscription="sub_acme", paid_at=T0 + 60))
    fake.add_invoice(sp.invoice("in_solo_1", "cus_solo", [
        sp.line("il_solo_1", "in_solo_1", P["price_basic"], 1_000, subscription="sub_solo", subscription_item="si_solo")],
        subscription="sub_solo", paid_at=T0 + 61, created=T0 + 1))
    fake.add_invoice(sp.invoice("in_tokyo_1", "cus_tokyo", [
        sp.line("il_tokyo_1", "in_tokyo_1", P["price_jpy_setup"], 20_000, invoice_item="ii_tokyo_setup")],
        status="open", currency="jpy", created=T0 + 2, billing_reason="manual"))
    fake.add("invoiceitems",
             sp.invoiceitem("ii_tokyo_setup", "cus_tokyo", P["price_jpy_setup"], 20_000, invoice_id="in_tokyo_1",
                            created=T0 + 2),
             sp.invoiceitem("ii_acme_prorate", "cus_acme", P["price_pro"], 2_500, quantity=1, proration=True,
                            subscription="sub_acme", subscription_item="si_acme", start=T0 + 15 * DAY,
                            end=T0 + 31 * DAY, created=T0 + 15 * DAY))
    # an old event the incremental reads must never ask for
    fake.emit(sp.event("evt_old", "customer.updated", sp.customer("cus_solo", email="jane@gmail.com"), T0 + DAY))
    return fake


def add_changes(fake: FakeStripe) -> dict[str, int]:
    """Changes after the first sync, as Stripe reports them: objects updated and events emitted."""
    now = int(time.time())
    acme = sp.customer("cus_acme", email="ops@acme.io", name="Acme Corporation", country="US", created=T0,
                       metadata={"hubspot_company_id": "1001"})
    new = sp.customer("cus_new", email="cfo@newco.dev", name="NewCo", created=now + 2)
    sub = sp.subscription("sub_acme", "cus_acme", [sp.subscription_item("si_acme", "sub_acme", P["price_pro"],
                                                                         quantity=7)])
    draft = sp.invoice("in_acme_2", "cus_acme", [
        sp.line("il_acme_2", "in_acme_2", P["price_pro"], 21_000, quantity=7, subscription="sub_acme",
                subscription_item="si_acme", start=T0 + 31 * DAY, end=T0 + 59 * DAY)],
        status="draft", subscription="sub_acme", created=now + 4)
    fake.add("customers", acme, new)
    fake.add("subscriptions", sub)
    draft = fake.add_invoice(draft)
    for i, (kind, obj) in enumerate([("customer.updated", acme), ("customer.created", new),
                                     ("customer.subscription.updated", sub), ("invoice.created", draft)]):
        fake.emit(sp.event(f"evt_new_{i}", kind, obj, now + 1 + i))
    return {"customers": 2, "subscriptions": 1, "invoices": 1}
