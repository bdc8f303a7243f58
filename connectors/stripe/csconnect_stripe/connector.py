"""The Stripe connector: options, authentication, the pinned API version, errors and retries."""
from __future__ import annotations

import re
import threading
from typing import Any, ClassVar, Mapping
from urllib.parse import quote

from csconnect import AuthError, Connector, HttpError, Option
from csconnect.http import RetryDecision

from .normalize import EXTERNAL_ID_KEYS
from .streams import (CustomersStream, InvoiceItemsStream, InvoicesStream, PricesStream, ProductsStream,
                      SubscriptionsStream)

# Pinned: the last monthly release of the basil line. Basil (2025-03-31) is the version that
# moved the fields this connector reads (subscription periods to items, invoice.subscription to
# parent.subscription_details, line price/proration to pricing/parent); 2025-08-27 adds only
# fields. The next major (2025-09-30.clover) changes discounts (`coupon` -> `source.coupon`) and
# later ones line amounts, which this connector has not been verified against.
STRIPE_VERSION = "2025-08-27.basil"
# Stripe allows 100 read requests/s in live mode and 25/s in test mode per account, and that
# budget is shared with the account's own integration (checkout, webhooks handlers, the
# dashboard). 20/s stays under the test-mode limit and leaves 80% of live capacity to the
# business: a 100-record page at 20 req/s still reads 2,000 objects a second.
DEFAULT_RATE_LIMIT = 20.0
READ_SCOPES = "Customers, Products, Prices, Subscriptions, Invoices and Events"
_KEY = re.compile(r"\b(sk|rk|pk)_(test|live)_[A-Za-z0-9_*]+")


def scrub_keys(text: str) -> str:
    """Stripe quotes (masked) keys in its errors; show none of it."""
    return _KEY.sub(lambda m: f"{m.group(1)}_{m.group(2)}_***", text)


class Catalog:
    """Prices and products by id, fetched once per sync and shared by the streams.

    Basil invoice lines and invoice items name their price only by id, and subscription
    items name their product only by id; the streams expand them from here (Stripe refuses
    such expansions on list endpoints: they are deeper than four levels).
    """

    MAX_ENTRIES = 20_000       # memory stays flat on accounts with a price per invoice (price_data)

    def __init__(self, connector: "StripeConnector"):
        self.connector = connector
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], dict | None] = {}

    def _keep(self, key: tuple[str, str], value: dict | None) -> None:
        with self._lock:
            self._cache.pop(key, None)
            self._cache[key] = value
            while len(self._cache) > self.MAX_ENTRIES:
                del self._cache[next(iter(self._cache))]

    def remember(self, kind: str, obj: Mapping[str, Any]) -> None:
        if isinstance(obj, Mapping) and obj.get("id"):
            self._keep((kind, obj["id"]), dict(obj))

    def get(self, kind: str, object_id: Any) -> dict | None:
        if not isinstance(object_id, str) or not object_id:
            return None
        key = (kind, object_id)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        try:
            found = self.connector.http.get_json(f"/v1/{kind}s/{quote(object_id, safe='')}")
        except HttpError as exc:
            if exc.status_code != 404:
                raise
            found = None
        found = found if isinstance(found, dict) else None
        self._keep(key, found)
        return found


class StripeConnector(Connector):
    """Stripe: customers, subscriptions, invoices with their lines, pending invoice items."""

    name = "stripe"
    title = "Stripe"
    category = "billing"
    default_base_url = "https://api.stripe.com"
    default_rate_limit = DEFAULT_RATE_LIMIT
    auth_hint = f"check api_key (a restricted rk_ key needs read access to {READ_SCOPES})"
    options: ClassVar[tuple[Option, ...]] = (
        Option("api_key", str, help=f"a restricted key (rk_…) with read access to {READ_SCOPES}",
               secret=True, env="STRIPE_API_KEY"),
        Option("page_size", int, 100, "objects per list request (1-100, Stripe's list limit)", min=1, max=100),
        Option("external_id_keys", dict, {}, "customer metadata keys holding another system's account id, "
                                             "e.g. { crm_id = \"hubspot\" }"),
    )
    streams = (CustomersStream, ProductsStream, PricesStream, SubscriptionsStream, InvoiceItemsStream,
               InvoicesStream)

    def __init__(self, connection: str, settings: Mapping[str, Any], **kw: Any):
        super().__init__(connection, settings, **kw)
        extra = self.settings.get("external_id_keys") or {}
        self.external_id_keys = {**EXTERNAL_ID_KEYS, **{str(k).lower(): str(v) for k, v in extra.items()}}
        self.catalog = Catalog(self)
        self._errors = threading.local()

    @property
    def page_size(self) -> int:
        return int(self.settings.get("page_size", 100))

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings['api_key']}", "Stripe-Version": STRIPE_VERSION}

    def classify(self, response: Any) -> RetryDecision | None:
        """Honour Stripe's `Stripe-Should-Retry` hint; otherwise the default rules."""
        hint = response.headers.get("Stripe-Should-Retry", "").strip().lower()
        status = response.status_code
        if hint == "false" and (status == 429 or status >= 500):
            said = self.error_message(response) or f"HTTP {status}"
            return RetryDecision(retry=False, message=f"{said}; Stripe says retrying will not help")
        if hint == "true" and status >= 400 and status not in (401, 403, 404):
            return RetryDecision(retry=True)
        return None

    def error_message(self, response: Any) -> str | None:
        """`{"error": {"message", "type", "code"}}` -> "message (code) [request id]", keys masked."""
        try:
            error = response.json().get("error")
        except Exception:  # not JSON, not an object, or a body not read: no Stripe message
            error = None
        if not isinstance(error, dict):
            return None
        message = str(error.get("message") or error.get("type") or "").strip()
        code = error.get("code") or error.get("decline_code") or error.get("type")
        text = message + (f" ({code})" if code and str(code) not in message else "")
        request_id = response.headers.get("Request-Id")
        text = scrub_keys(text + (f" [{request_id}]" if request_id else ""))
        self._errors.last = (response.status_code, text)
        return text or None

    def check(self) -> str | None:
        self._errors.last = None
        try:
            self.http.get_json("/v1/customers", params={"limit": 1})
        except AuthError as exc:
            last = getattr(self._errors, "last", None)
            code = exc.status_code or 401
            said = last[1] if last and last[0] == code else "no reason given"
            verb, hint = ("rejected", "check api_key") if code == 401 else (
                "refused", f"give the restricted key read access to {READ_SCOPES}")
            raise AuthError(f"{self.connection}: the API key was {verb} ({code}): {said}; {hint}") from None
        mode = "live" if "_live_" in str(self.settings.get("api_key")) else "test"
        return f"{mode} mode, Stripe API {STRIPE_VERSION}"
