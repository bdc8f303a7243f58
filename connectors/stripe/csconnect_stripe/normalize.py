"""Stripe objects -> canonical rows, for the pinned API version and the shapes before it.

Records come from list endpoints (rendered in the pinned `Stripe-Version`) and from
event payloads (rendered in whatever version was the account default when the event
was created). Where 2025-03-31.basil moved a field, every accessor here reads the
basil place first and the older place second:

- subscription `current_period_start/end` -> each `items.data[]`;
- invoice `subscription` -> `parent.subscription_details.subscription`;
- line `price`/`plan` -> `pricing.price_details.price` (+ `.product`),
  line `type`/`proration`/`invoice_item`/`subscription` -> `parent.<type>` details,
  line `tax_amounts[].inclusive` -> `taxes[].tax_behavior`;
- invoice `tax`/`total_tax_amounts` -> `total_taxes`;
- invoice item `price`/`subscription` -> `pricing.price_details.price` / `parent.subscription_details`.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable, Mapping

from csconnect import FREE_MAIL_DOMAINS, RejectError, Row, normalize_domain

Ref = Callable[[Any], "str | None"]

# Stripe subscription status -> canonical status. `unpaid` is past due with retries
# exhausted; `incomplete` is a first payment still outstanding (Stripe voids its invoice
# when it expires); `incomplete_expired` never started, so it ended rather than churned.
STATUS = {
    "trialing": "trialing", "active": "active", "past_due": "past_due", "unpaid": "past_due",
    "paused": "paused", "canceled": "canceled", "incomplete": "past_due", "incomplete_expired": "ended",
}
MRR_STATUSES = frozenset({"active", "past_due", "unpaid"})   # source statuses that carry MRR
MONTHLY = {"month": Decimal(1), "year": Decimal(1) / 12, "week": Decimal(52) / 12, "day": Decimal(365) / 12}

# Metadata keys that hold another system's id for the customer -> the external_ids key.
EXTERNAL_ID_KEYS = {
    "hubspot_company_id": "hubspot", "hubspot_id": "hubspot",
    "salesforce_account_id": "salesforce", "salesforce_id": "salesforce", "sfdc_account_id": "salesforce",
    "sfdc_id": "salesforce", "zendesk_organization_id": "zendesk", "intercom_company_id": "intercom",
    "crm_id": "crm",
}
ATTRIBUTE_KEYS = ("segment", "industry", "owner", "lifecycle_stage", "seats")   # taken from metadata


def oid(value: Any) -> str | None:
    """The id of an expandable field: the string itself, or the expanded object's id."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def _sum(items: Any, amount: str = "amount", keep: Callable[[dict], bool] = lambda item: True) -> int:
    return sum(int(i.get(amount) or 0) for i in items or () if isinstance(i, dict) and keep(i))


def _upper(code: Any) -> Any:
    return code.upper() if isinstance(code, str) else code


# -- customers ---------------------------------------------------------------------------

def email_domain(email: Any) -> str | None:
    """The customer's company domain from its billing email; None for free mail (gmail.com …)."""
    if not isinstance(email, str) or "@" not in email:
        return None
    domain = normalize_domain(email)
    return None if domain in FREE_MAIL_DOMAINS else domain


def customer_rows(rec: Mapping[str, Any], key_map: Mapping[str, str] = EXTERNAL_ID_KEYS) -> list[Row]:
    cid = rec["id"]
    email = rec.get("email") or None
    metadata = rec.get("metadata") or {}
    external = {}
    for key, value in sorted(metadata.items()):
        target = key_map.get(key.lower())
        if target and value not in (None, ""):
            external[target] = str(value).strip()
    attributes: dict[str, Any] = {k: metadata[k] for k in ATTRIBUTE_KEYS if metadata.get(k) not in (None, "")}
    address = rec.get("address") or {}
    attributes.update({k: v for k, v in {
        "country": address.get("country"), "currency": _upper(rec.get("currency")),
        "delinquent": rec.get("delinquent"), "deleted": True if rec.get("deleted") else None,
    }.items() if v is not None})
    rows: list[Row] = [("source_accounts", {
        "source_id": cid, "source_account_id": cid,
        "name": rec.get("name") or rec.get("description") or email,
        "domain": email_domain(email), "external_ids": external or None,
        "created_at": rec.get("created"), "attributes": attributes or None,
    })]
    if email:
        rows.append(("contacts", {"source_id": cid, "source_account_id": cid, "email": email.strip().lower(),
                                  "created_at": rec.get("created")}))
    return rows


# -- prices and subscriptions --------------------------------------------------------------

def unit_amount(price: Mapping[str, Any] | None) -> Decimal | None:
    """A price's (or legacy plan's) amount per unit in minor units; None when tiered."""
    if not price:
        return None
    for whole, decimal in (("unit_amount", "unit_amount_decimal"), ("amount", "amount_decimal")):
        if price.get(whole) is not None:
            return Decimal(int(price[whole]))
        if price.get(decimal):
            try:
                return Decimal(str(price[decimal]))
            except InvalidOperation:
                return None
    return None


def recurring(price: Mapping[str, Any] | None, plan: Mapping[str, Any] | None = None) -> tuple[Any, Any, Any]:
    """(interval, interval_count, usage_type) of a price (or a legacy plan)."""
    rec = (price or {}).get("recurring")
    if isinstance(rec, dict):
        return rec.get("interval"), rec.get("interval_count") or 1, rec.get("usage_type")
    if isinstance(plan, dict) and plan.get("interval"):
        return plan["interval"], plan.get("interval_count") or 1, plan.get("usage_type")
    return None, None, None


def monthly(amount: Decimal | int | None, interval: Any, count: Any) -> int | None:
    if amount is None or interval not in MONTHLY:
        return None
    return int((Decimal(amount) * MONTHLY[interval] / Decimal(int(count or 1))).to_integral_value())


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def subscription_rows(rec: Mapping[str, Any]) -> list[Row]:
    items = [i for i in ((rec.get("items") or {}).get("data") or []) if isinstance(i, dict)]
    source_status = rec.get("status")
    if source_status not in STATUS:
        raise RejectError(f"subscriptions.status: unknown Stripe status {source_status!r}")
    # the plan of the subscription is its largest licensed item (a seat price, not an add-on)
    main, best, total, priced = (items[0] if items else None), None, Decimal(0), False
    for item in items:
        price = _dict(item.get("price")) or _dict(item.get("plan"))
        unit = unit_amount(price)
        if recurring(price, _dict(item.get("plan")))[2] == "metered" or unit is None:
            continue
        value = unit * int(item.get("quantity") or 0)
        total, priced = total + value, True
        if best is None or value > best:
            main, best = item, value
    main = main or {}
    price = _dict(main.get("price")) or _dict(main.get("plan"))
    interval, count, _ = recurring(price, _dict(main.get("plan")))
    product = price.get("product")
    name = price.get("nickname") or (product.get("name") if isinstance(product, dict) else None) \
        or price.get("lookup_key")
    amount = int(total.to_integral_value()) if priced else None
    starts = [i["current_period_start"] for i in items if i.get("current_period_start")]
    ends = [i["current_period_end"] for i in items if i.get("current_period_end")]
    return [("subscriptions", {
        "source_id": rec["id"], "source_account_id": oid(rec.get("customer")),
        "status": STATUS[source_status], "source_status": source_status,
        "plan_id": oid(price) if price else None, "plan_name": name, "product": oid(product),
        "interval": interval, "interval_count": count,
        "quantity": main.get("quantity"), "currency": _upper(rec.get("currency")),
        "amount": amount,
        "mrr": (monthly(amount, interval, count) or 0) if source_status in MRR_STATUSES else 0,
        "started_at": rec.get("start_date") or rec.get("created"),
        "trial_start": rec.get("trial_start"), "trial_end": rec.get("trial_end"),
        # pinned (basil) shape: per item; events rendered before basil: on the subscription
        "current_period_start": rec.get("current_period_start") or (min(starts) if starts else None),
        "current_period_end": rec.get("current_period_end") or (max(ends) if ends else None),
        "cancel_at_period_end": rec.get("cancel_at_period_end"), "canceled_at": rec.get("canceled_at"),
        "ended_at": rec.get("ended_at"),
    })]


# -- invoices and their lines ---------------------------------------------------------------

def invoice_subscription(rec: Mapping[str, Any]) -> str | None:
    details = ((rec.get("parent") or {}).get("subscription_details") or {})
    return oid(details.get("subscription")) or oid(rec.get("subscription"))


def _line_parent(line: Mapping[str, Any]) -> tuple[str | None, dict]:
    parent = line.get("parent") or {}
    kind = parent.get("type")
    details = parent.get(kind) if kind else None
    if not isinstance(details, dict):
        for kind in ("subscription_item_details", "invoice_item_details"):
            if isinstance(parent.get(kind), dict):
                return kind, parent[kind]
        return None, {}
    return kind, details


def line_price(line: Mapping[str, Any]) -> dict | None:
    """The line's price object: basil `pricing.price_details.price` (expanded by the connector) or `price`."""
    details = ((line.get("pricing") or {}).get("price_details") or {})
    for value in (details.get("price"), line.get("price")):
        if isinstance(value, dict):
            return value
    return None


def line_price_id(line: Mapping[str, Any]) -> str | None:
    details = ((line.get("pricing") or {}).get("price_details") or {})
    return oid(details.get("price")) or oid(line.get("price")) or oid(line.get("plan"))


def line_product(line: Mapping[str, Any]) -> str | None:
    details = ((line.get("pricing") or {}).get("price_details") or {})
    price = line_price(line) or {}
    plan = line.get("plan") if isinstance(line.get("plan"), dict) else {}
    return oid(details.get("product")) or oid(price.get("product")) or oid(plan.get("product"))


def line_invoice_item(line: Mapping[str, Any]) -> str | None:
    """The invoice item behind a line (prorations and one-off items), in either shape."""
    _, details = _line_parent(line)
    found = oid(details.get("invoice_item")) or oid(line.get("invoice_item"))
    if not found and line.get("type") == "invoiceitem" and str(line.get("id", "")).startswith("ii_"):
        found = line["id"]      # before 2019-12-03 such a line's id was the invoice item's
    return found


def line_kind(line: Mapping[str, Any]) -> str:
    parent_kind, details = _line_parent(line)
    proration = line["proration"] if "proration" in line else details.get("proration")
    if proration:
        return "proration"
    if parent_kind == "subscription_item_details" or line.get("type") == "subscription":
        return "subscription"
    return "one_off"


def net_amount(line: Mapping[str, Any]) -> int:
    """Amount after discounts, before tax: `amount` less discount amounts and inclusive taxes."""
    if line.get("amount") is None:
        raise RejectError("invoice_lines.amount: the line has no amount")
    discounts = line.get("discount_amounts")
    off = _sum(discounts) if discounts is not None else _sum(
        line.get("pretax_credit_amounts"), keep=lambda c: c.get("type") == "discount")
    inclusive = _sum(line.get("taxes"), keep=lambda t: t.get("tax_behavior") == "inclusive") \
        + _sum(line.get("tax_amounts"), keep=lambda t: bool(t.get("inclusive")))
    return int(line["amount"]) - off - inclusive


def line_source_id(line: Mapping[str, Any], invoice_id: str) -> str:
    """One id per billed line, the same whether it is pending (an invoice item) or invoiced."""
    item = line_invoice_item(line)
    if item:
        return item
    lid = str(line.get("id") or "")
    if not lid:
        raise RejectError("invoice_lines: a line has no id")
    # before 2019-12-03 a subscription line carried the subscription's (or item's) id
    return f"{invoice_id}:{lid}" if lid.startswith(("sub_", "si_")) else lid


def _line_row(line: Mapping[str, Any], source_id: str, *, invoice_ref: str | None, customer: Any,
              subscription: str | None, ref: Ref, kind: str, amount: int, currency: Any) -> Row:
    price = line_price(line)
    interval, count, _ = recurring(price, line.get("plan") if isinstance(line.get("plan"), dict) else None)
    period = line.get("period") or {}
    return ("invoice_lines", {
        "source_id": source_id, "source_account_id": oid(customer), "invoice_id": invoice_ref,
        "subscription_id": ref(subscription), "kind": kind, "plan_id": line_price_id(line),
        "product": line_product(line), "quantity": line.get("quantity"), "amount": amount,
        "currency": _upper(line.get("currency") or currency),
        "period_start": period.get("start"), "period_end": period.get("end"),
        "interval": interval, "interval_count": count if interval else None,
    })


def invoice_rows(rec: Mapping[str, Any], ref: Ref) -> list[Row]:
    iid = rec["id"]
    status = rec.get("status")
    source_status = status
    if rec.get("deleted"):              # a deleted draft: nothing was billed
        status, source_status = "void", "deleted"
    subscription = invoice_subscription(rec)
    if rec.get("total_taxes") is not None:           # basil
        tax = _sum(rec["total_taxes"])
    elif rec.get("tax") is not None or rec.get("total_tax_amounts") is None:
        tax = rec.get("tax")
    else:
        tax = _sum(rec["total_tax_amounts"])
    rows: list[Row] = [("invoices", {
        "source_id": iid, "source_account_id": oid(rec.get("customer")), "subscription_id": ref(subscription),
        "status": status, "source_status": source_status, "currency": _upper(rec.get("currency")),
        "subtotal": rec.get("subtotal"), "discount": _sum(rec.get("total_discount_amounts")),
        "tax": tax, "total": rec.get("total"), "amount_paid": rec.get("amount_paid"),
        "created_at": rec.get("created"), "paid_at": (rec.get("status_transitions") or {}).get("paid_at"),
    })]
    for line in (rec.get("lines") or {}).get("data") or []:
        _, details = _line_parent(line)
        own = oid(details.get("subscription")) or oid(line.get("subscription"))
        rows.append(_line_row(line, line_source_id(line, iid), invoice_ref=ref(iid), customer=rec.get("customer"),
                              subscription=own or subscription, ref=ref, kind=line_kind(line),
                              amount=net_amount(line), currency=rec.get("currency")))
    return rows


def invoiceitem_rows(rec: Mapping[str, Any], ref: Ref) -> list[Row]:
    """A pending invoice item -> an invoice line without an invoice.

    Once invoiced, the invoice's own line (same source id) carries it, so nothing is
    written here; a deleted pending item is kept with amount 0 so that it stops counting.
    """
    if rec.get("invoice"):
        return []
    details = ((rec.get("parent") or {}).get("subscription_details") or {})
    subscription = oid(details.get("subscription")) or oid(rec.get("subscription"))
    amount = 0 if rec.get("deleted") else rec.get("amount")
    if amount is None:
        raise RejectError("invoice_lines.amount: the invoice item has no amount")
    return [_line_row(rec, rec["id"], invoice_ref=None, customer=rec.get("customer"), subscription=subscription,
                      ref=ref, kind="proration" if rec.get("proration") else "one_off", amount=int(amount),
                      currency=rec.get("currency"))]


def rows_of(kind: str, rec: Mapping[str, Any], ref: Ref, key_map: Mapping[str, str]) -> Iterable[Row]:
    if kind == "customer":
        return customer_rows(rec, key_map)
    if kind == "subscription":
        return subscription_rows(rec)
    if kind == "invoice":
        return invoice_rows(rec, ref)
    if kind == "invoiceitem":
        return invoiceitem_rows(rec, ref)
    return ()
