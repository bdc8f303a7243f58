"""Stripe API objects, shaped like the real API at 2025-08-27.basil (and at 2024-06-20 where marked).

Field names and nesting follow Stripe's published OpenAPI spec and fixtures
(github.com/stripe/openapi); the values are made up.
"""
from __future__ import annotations

from typing import Any

LIVEMODE = False
T0 = 1_735_689_600          # 2025-01-01T00:00:00Z
DAY = 86_400


def listing(url: str, data: list[dict], has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def error(message: str, type_: str = "invalid_request_error", code: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "type": type_}
    if code:
        body["code"] = code
        body["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    return {"error": body}


def customer(cid: str, *, email: str | None = None, name: str | None = None, created: int = T0,
             metadata: dict | None = None, country: str | None = None, currency: str | None = "usd",
             delinquent: bool = False) -> dict[str, Any]:
    return {
        "id": cid, "object": "customer",
        "address": None if country is None else {"city": None, "country": country, "line1": None, "line2": None,
                                                 "postal_code": None, "state": None},
        "balance": 0, "created": created, "currency": currency, "default_source": None, "delinquent": delinquent,
        "description": None, "discount": None, "email": email, "invoice_prefix": cid[-7:].upper(),
        "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                             "rendering_options": None},
        "livemode": LIVEMODE, "metadata": metadata or {}, "name": name, "next_invoice_sequence": 1,
        "phone": None, "preferred_locales": [], "shipping": None, "tax_exempt": "none", "test_clock": None,
    }


def product(pid: str, name: str, *, created: int = T0, default_price: str | None = None) -> dict[str, Any]:
    return {
        "id": pid, "object": "product", "active": True, "created": created, "default_price": default_price,
        "description": None, "images": [], "livemode": LIVEMODE, "marketing_features": [], "metadata": {},
        "name": name, "package_dimensions": None, "shippable": None, "statement_descriptor": None,
        "tax_code": None, "type": "service", "unit_label": None, "updated": created, "url": None,
    }


def price(pid: str, product_id: str, unit_amount: int, *, currency: str = "usd", interval: str | None = "month",
          interval_count: int = 1, nickname: str | None = None, created: int = T0,
          usage_type: str = "licensed") -> dict[str, Any]:
    return {
        "id": pid, "object": "price", "active": True, "billing_scheme": "per_unit", "created": created,
        "currency": currency, "custom_unit_amount": None, "livemode": LIVEMODE, "lookup_key": None,
        "metadata": {}, "nickname": nickname, "product": product_id,
        "recurring": None if interval is None else {"interval": interval, "interval_count": interval_count,
                                                    "meter": None, "trial_period_days": None,
                                                    "usage_type": usage_type},
        "tax_behavior": "exclusive", "tiers_mode": None, "transform_quantity": None,
        "type": "one_time" if interval is None else "recurring",
        "unit_amount": unit_amount, "unit_amount_decimal": str(unit_amount),
    }


def plan_of(p: dict[str, Any]) -> dict[str, Any]:
    """The legacy `plan` Stripe still renders beside a recurring `price`."""
    rec = p["recurring"] or {}
    return {
        "id": p["id"], "object": "plan", "active": p["active"], "amount": p["unit_amount"],
        "amount_decimal": p["unit_amount_decimal"], "billing_scheme": p["billing_scheme"], "created": p["created"],
        "currency": p["currency"], "interval": rec.get("interval"), "interval_count": rec.get("interval_count"),
        "livemode": LIVEMODE, "metadata": {}, "meter": None, "nickname": p["nickname"], "product": p["product"],
        "tiers_mode": None, "transform_usage": None, "trial_period_days": None,
        "usage_type": rec.get("usage_type", "licensed"),
    }


def subscription_item(siid: str, sub_id: str, p: dict[str, Any], *, quantity: int = 1, start: int = T0,
                      end: int = T0 + 31 * DAY, created: int = T0, basil: bool = True) -> dict[str, Any]:
    item = {
        "id": siid, "object": "subscription_item", "billing_thresholds": None, "created": created,
        "discounts": [], "metadata": {}, "plan": plan_of(p), "price": dict(p), "quantity": quantity,
        "subscription": sub_id, "tax_rates": [],
    }
    if basil:
        item.update(current_period_start=start, current_period_end=end)
    return item


def subscription(sid: str, customer_id: str, items: list[dict], *, status: str = "active", created: int = T0,
                 currency: str = "usd", start: int = T0, end: int = T0 + 31 * DAY, trial_start: int | None = None,
                 trial_end: int | None = None, cancel_at_period_end: bool = False, canceled_at: int | None = None,
                 ended_at: int | None = None, basil: bool = True, items_has_more: bool = False) -> dict[str, Any]:
    sub = {
        "id": sid, "object": "subscription", "application": None, "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": start, "billing_cycle_anchor_config": None, "billing_mode": {"type": "classic"},
        "billing_thresholds": None, "cancel_at": None, "cancel_at_period_end": cancel_at_period_end,
        "canceled_at": canceled_at, "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically", "created": created, "currency": currency,
        "customer": customer_id, "days_until_due": None, "default_payment_method": None, "default_source": None,
        "default_tax_rates": [], "description": None, "discounts": [], "ended_at": ended_at,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": listing(f"/v1/subscription_items?subscription={sid}", items, items_has_more),
        "latest_invoice": None, "livemode": LIVEMODE, "metadata": {}, "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None, "pause_collection": None,
        "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                             "save_default_payment_method": "off"},
        "pending_invoice_item_interval": None, "pending_setup_intent": None, "pending_update": None,
        "schedule": None, "start_date": created, "status": status, "test_clock": None, "transfer_data": None,
        "trial_end": trial_end, "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": trial_start,
    }
    if not basil:           # 2024-06-20: periods on the subscription, plus `plan`/`quantity`, `discount`
        del sub["billing_mode"]
        sub.update(current_period_start=start, current_period_end=end, discount=None,
                   plan=items[0]["plan"] if len(items) == 1 else None,
                   quantity=items[0]["quantity"] if len(items) == 1 else None)
    return sub


def _details(proration: bool, credited: dict | None) -> dict[str, Any] | None:
    return {"credited_items": credited} if proration and credited else None


def line(lid: str, invoice_id: str, p: dict[str, Any], amount: int, *, quantity: int = 1, start: int = T0,
         end: int = T0 + 31 * DAY, subscription: str | None = None, subscription_item: str | None = None,
         invoice_item: str | None = None, proration: bool = False, discounts: list[tuple[str, int]] = (),
         description: str | None = None, credited: dict | None = None, inclusive_tax: int = 0) -> dict[str, Any]:
    """A basil invoice line: `parent` says what made it, `pricing` names the price by id."""
    if subscription_item:
        parent = {"invoice_item_details": None, "type": "subscription_item_details",
                  "subscription_item_details": {"invoice_item": invoice_item, "proration": proration,
                                                "proration_details": _details(proration, credited),
                                                "subscription": subscription, "subscription_item": subscription_item}}
    else:
        parent = {"invoice_item_details": {"invoice_item": invoice_item, "proration": proration,
                                           "proration_details": _details(proration, credited),
                                           "subscription": subscription},
                  "subscription_item_details": None, "type": "invoice_item_details"}
    return {
        "id": lid, "object": "line_item", "amount": amount, "currency": p["currency"],
        "description": description, "discount_amounts": [{"amount": a, "discount": d} for d, a in discounts],
        "discountable": not proration, "discounts": [d for d, _ in discounts], "invoice": invoice_id,
        "livemode": LIVEMODE, "metadata": {}, "parent": parent, "period": {"end": end, "start": start},
        "pretax_credit_amounts": [{"amount": a, "credit_balance_transaction": None, "discount": d,
                                   "type": "discount"} for d, a in discounts],
        "pricing": {"price_details": {"price": p["id"], "product": p["product"]}, "type": "price_details",
                    "unit_amount_decimal": p["unit_amount_decimal"]},
        "quantity": quantity, "subscription": subscription,
        "taxes": [{"amount": inclusive_tax, "tax_behavior": "inclusive",
                   "tax_rate_details": {"tax_rate": "txr_incl"}, "taxability_reason": "standard_rated",
                   "taxable_amount": amount - inclusive_tax, "type": "tax_rate_details"}] if inclusive_tax else [],
    }


def line_pre_basil(lid: str, invoice_id: str, p: dict[str, Any], amount: int, *, quantity: int = 1,
                   start: int = T0, end: int = T0 + 31 * DAY, subscription: str | None = None,
                   subscription_item: str | None = None, invoice_item: str | None = None,
                   proration: bool = False, discounts: list[tuple[str, int]] = ()) -> dict[str, Any]:
    """A 2024-06-20 invoice line: the full `price`, `type`, `proration`, `tax_amounts`."""
    return {
        "id": lid, "object": "line_item", "amount": amount, "amount_excluding_tax": amount,
        "currency": p["currency"], "description": None,
        "discount_amounts": [{"amount": a, "discount": d} for d, a in discounts], "discountable": not proration,
        "discounts": [d for d, _ in discounts], "invoice": invoice_id, "invoice_item": invoice_item,
        "livemode": LIVEMODE, "metadata": {}, "period": {"end": end, "start": start},
        "plan": plan_of(p) if p["recurring"] else None, "price": dict(p), "proration": proration,
        "proration_details": {"credited_items": None}, "quantity": quantity, "subscription": subscription,
        "subscription_item": subscription_item, "tax_amounts": [], "tax_rates": [],
        "type": "invoiceitem" if invoice_item else "subscription",
        "unit_amount_excluding_tax": str(p["unit_amount"]),
    }


def invoice(iid: str, customer_id: str, lines: list[dict], *, status: str = "paid", created: int = T0,
            currency: str = "usd", subscription: str | None = None, paid_at: int | None = None,
            basil: bool = True, lines_total: int | None = None, billing_reason: str = "subscription_cycle"
            ) -> dict[str, Any]:
    """An invoice; `lines` is what the API inlines (at most 10; `lines_total` says how many exist)."""
    subtotal = sum(li["amount"] for li in lines)
    discount = sum(d["amount"] for li in lines for d in li["discount_amounts"])
    total = subtotal - discount
    paid = total if status == "paid" else 0
    inv = {
        "id": iid, "object": "invoice", "account_country": "US", "account_name": "Example SaaS Inc.",
        "account_tax_ids": None, "amount_due": total, "amount_overpaid": 0, "amount_paid": paid,
        "amount_remaining": total - paid, "amount_shipping": 0, "application": None, "attempt_count": 1,
        "attempted": status != "draft", "auto_advance": status == "draft",
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None, "provider": None,
                          "status": None},
        "automatically_finalizes_at": created + 3600 if status == "draft" else None,
        "billing_reason": billing_reason, "collection_method": "charge_automatically",
        "confirmation_secret": None, "created": created, "currency": currency, "custom_fields": None,
        "customer": customer_id, "customer_address": None, "customer_email": None, "customer_name": None,
        "customer_phone": None, "customer_shipping": None, "customer_tax_exempt": "none", "customer_tax_ids": [],
        "default_payment_method": None, "default_source": None, "default_tax_rates": [], "description": None,
        "discounts": [], "due_date": None, "effective_at": None if status == "draft" else created,
        "ending_balance": None if status == "draft" else 0, "footer": None, "from_invoice": None,
        "hosted_invoice_url": None, "invoice_pdf": None, "issuer": {"type": "self"},
        "last_finalization_error": None, "latest_revision": None,
        "lines": listing(f"/v1/invoices/{iid}/lines", lines,
                         has_more=lines_total is not None and lines_total > len(lines)),
        "livemode": LIVEMODE, "metadata": {}, "next_payment_attempt": None,
        "number": None if status == "draft" else f"{iid[-6:].upper()}-0001", "on_behalf_of": None,
        "parent": None if subscription is None else {
            "quote_details": None, "type": "subscription_details",
            "subscription_details": {"metadata": {}, "subscription": subscription}},
        "payment_settings": {"default_mandate": None, "payment_method_options": None, "payment_method_types": None},
        "period_end": created, "period_start": created, "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0, "receipt_number": None, "rendering": None, "shipping_cost": None,
        "shipping_details": None, "starting_balance": 0, "statement_descriptor": None, "status": status,
        "status_transitions": {"finalized_at": None if status == "draft" else created,
                               "marked_uncollectible_at": None, "paid_at": paid_at,
                               "voided_at": created if status == "void" else None},
        "subtotal": subtotal, "subtotal_excluding_tax": subtotal, "test_clock": None, "total": total,
        "total_discount_amounts": [{"amount": d["amount"], "discount": d["discount"]}
                                   for li in lines for d in li["discount_amounts"]],
        "total_excluding_tax": total, "total_pretax_credit_amounts": [], "total_taxes": [],
        "webhooks_delivered_at": created,
    }
    if not basil:           # 2024-06-20: `subscription`, `tax`, `paid`, `charge` … instead of `parent`
        for key in ("parent", "amount_overpaid", "total_pretax_credit_amounts", "total_taxes",
                    "confirmation_secret"):
            del inv[key]
        inv.update(application_fee_amount=None, charge=None, discount=None, paid=status == "paid",
                   paid_out_of_band=False, payment_intent=None, quote=None, subscription=subscription,
                   subscription_details={"metadata": {}}, subscription_proration_date=None, tax=None,
                   total_tax_amounts=[], transfer_data=None)
    return inv


def invoiceitem(iid: str, customer_id: str, p: dict[str, Any], amount: int, *, quantity: int = 1,
                start: int = T0, end: int = T0 + 31 * DAY, subscription: str | None = None,
                subscription_item: str | None = None, proration: bool = False, invoice_id: str | None = None,
                created: int = T0, description: str | None = None) -> dict[str, Any]:
    return {
        "id": iid, "object": "invoiceitem", "amount": amount, "currency": p["currency"], "customer": customer_id,
        "date": created, "description": description, "discountable": not proration, "discounts": [],
        "invoice": invoice_id, "livemode": LIVEMODE, "metadata": {},
        "parent": None if subscription is None else {
            "type": "subscription_details",
            "subscription_details": {"subscription": subscription, "subscription_item": subscription_item}},
        "period": {"end": end, "start": start},
        "pricing": {"price_details": {"price": p["id"], "product": p["product"]}, "type": "price_details",
                    "unit_amount_decimal": p["unit_amount_decimal"]},
        "proration": proration, "quantity": quantity, "tax_rates": [], "test_clock": None,
    }


def event(eid: str, type_: str, obj: dict[str, Any], created: int, *, api_version: str = "2025-08-27.basil",
          previous: dict | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {"id": eid, "object": "event", "api_version": api_version, "created": created, "data": data,
            "livemode": LIVEMODE, "pending_webhooks": 0, "request": {"id": None, "idempotency_key": None},
            "type": type_}
