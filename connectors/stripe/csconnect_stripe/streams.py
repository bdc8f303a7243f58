"""Stripe streams: a resumable backfill from each list endpoint, then its changes from /v1/events.

State of every stream (one JSON object in `_csconnect_state`):

- `{"phase": "backfill", "since": T, "after": "<last id>"}` while the list endpoint is read
  (newest first, `starting_after`); a crash resumes after the last committed page and keeps
  T, the server time when this backfill began, so nothing changed meanwhile is lost;
- `{"phase": "events", "since": T}` afterwards. A sync reads `/v1/events` for this stream's
  event types with `created[gt]=T-LOOKBACK`, newest first, keeps the newest version of
  each object, and commits the new T only with the window's last page: a crash mid-window
  re-reads the whole window (idempotent upserts), so an older payload can never overwrite a
  newer one. Stripe keeps events 30 days; an older T starts a fresh backfill, with a warning.
"""
from __future__ import annotations

import logging
import time
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Iterable, Iterator
from urllib.parse import quote

from csconnect import HttpError, Page, Replace, Row, Stream, utc_timestamp
from csconnect.http import CursorPaginator

from . import normalize as nz

log = logging.getLogger("csconnect.stripe")
RETENTION = 30 * 86400     # Stripe lets you list the events of the last 30 days
SAFETY = 3600              # start over an hour before the cursor falls off that edge
LOOKBACK = 300             # re-read events this many seconds before the cursor (late arrivals)


def server_time(response: Any) -> int:
    """Stripe's clock (the `Date` header), so a skewed local clock cannot skip events."""
    try:
        return int(parsedate_to_datetime(response.headers["Date"]).timestamp())
    except (KeyError, TypeError, ValueError, IndexError):
        return int(time.time())


def _pages() -> CursorPaginator:
    return CursorPaginator("starting_after", has_more="has_more")


class StripeStream(Stream):
    """A Stripe object type: backfilled from `path`, then kept current from its events."""

    path: ClassVar[str]
    object_name: ClassVar[str]
    list_params: ClassVar[dict[str, Any]] = {}
    event_types: ClassVar[tuple[str, ...]] = ()
    deleted_event: ClassVar[str | None] = None   # the event after which the object is gone
    primary_key = "id"
    cursor_field = "created"
    incremental = True

    @property
    def http(self) -> Any:
        return self.connector.http

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        state = dict(state or {})
        since = state.get("since")
        if not isinstance(since, (int, float)):
            state = {}
        elif since - LOOKBACK < time.time() - RETENTION + SAFETY:
            log.warning("%s.%s: the saved position (%s) is older than the 30 days of events Stripe keeps; "
                        "reading all %s again", self.connection, self.name, utc_timestamp(since), self.name)
            state = {}
        if state.get("phase") == "events":
            yield from self._changes(int(state["since"]))
        else:
            yield from self._backfill(state)

    def _backfill(self, state: dict[str, Any]) -> Iterator[Page]:
        since = state.get("since")
        for result in self._listing({"cursor": state["after"]} if state.get("after") else None):
            if since is None:
                since = server_time(result.response)
            after = (result.state or {}).get("cursor")
            yield Page(self.prepare(result.records),
                       state={"phase": "backfill", "since": since, "after": after} if after
                       else {"phase": "events", "since": since})

    def _listing(self, start: dict[str, Any] | None) -> Iterator[Any]:
        params = {"limit": self.connector.page_size, **self.list_params}
        pages = self.http.paginate(self.path, _pages(), params=params, records="data", start=start)
        try:
            first = next(pages, None)
        except HttpError as exc:
            if start is None or exc.status_code not in (400, 404) or "resource_missing" not in str(exc):
                raise
            # the object the saved position points at was deleted meanwhile: read from the top
            log.warning("%s.%s: the saved position %s no longer exists in Stripe; reading %s from the start",
                        self.connection, self.name, start["cursor"], self.name)
            pages = self.http.paginate(self.path, _pages(), params=params, records="data")
            first = next(pages, None)
        if first is not None:
            yield first
            yield from pages

    def _changes(self, since: int) -> Iterator[Page]:
        params = {"limit": self.connector.page_size, "types[]": list(self.event_types),
                  "created[gt]": since - LOOKBACK}
        seen: set[Any] = set()
        until: int | None = None
        for result in self.http.paginate("/v1/events", _pages(), params=params, records="data"):
            until = max(until or server_time(result.response), since)
            batch = []
            for event in result.records:
                obj = (event.get("data") or {}).get("object") if isinstance(event, dict) else None
                if not isinstance(obj, dict) or obj.get("object") != self.object_name:
                    continue
                until = max(until, int(event.get("created") or 0))
                if obj.get("id") in seen:          # newest first: an older version of a seen object
                    continue
                seen.add(obj.get("id"))
                record = self.from_event(event, dict(obj))
                if record is not None:
                    batch.append(record)
            yield Page(self.prepare(batch), state=None if result.state else {"phase": "events", "since": until})

    def from_event(self, event: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any] | None:
        """The record an event stands for: its object, as rendered when the event was created."""
        if self.deleted_event and event.get("type") == self.deleted_event:
            obj["deleted"] = True          # Stripe's own mark for a deleted object
        return obj

    def prepare(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Complete records before they are stored raw (paged sub-lists, expanded prices)."""
        return records

    def normalize(self, record: dict[str, Any]) -> Iterable[Row]:
        return nz.rows_of(self.object_name, record, self.ref, self.connector.external_id_keys)

    def _all(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for result in self.http.paginate(path, _pages(), params={"limit": self.connector.page_size, **(params or {})},
                                         records="data"):
            out.extend(result.records)
        return out

    def _expand_price(self, holder: Any) -> None:
        """Basil names a line's price by id only (`pricing.price_details.price`): expand it."""
        details = ((holder.get("pricing") or {}).get("price_details") if isinstance(holder, dict) else None)
        if isinstance(details, dict) and isinstance(details.get("price"), str):
            price = self.connector.catalog.get("price", details["price"])
            if price is not None:
                details["price"] = price


class CustomersStream(StripeStream):
    name = "customers"
    path = "/v1/customers"
    object_name = "customer"
    tables = ("source_accounts", "contacts")
    event_types = ("customer.created", "customer.updated", "customer.deleted")
    deleted_event = "customer.deleted"


class ProductsStream(StripeStream):
    """Kept raw only: names the products of subscriptions and lines."""

    name = "products"
    path = "/v1/products"
    object_name = "product"
    event_types = ("product.created", "product.updated", "product.deleted")
    deleted_event = "product.deleted"

    def prepare(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for record in records:
            self.connector.catalog.remember("product", record)
        return records


class PricesStream(StripeStream):
    """Kept raw only: the interval and product behind each plan id."""

    name = "prices"
    path = "/v1/prices"
    object_name = "price"
    event_types = ("price.created", "price.updated", "price.deleted")
    deleted_event = "price.deleted"

    def prepare(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for record in records:
            self.connector.catalog.remember("price", record)
        return records


class SubscriptionsStream(StripeStream):
    name = "subscriptions"
    path = "/v1/subscriptions"
    object_name = "subscription"
    list_params = {"status": "all"}      # without it Stripe leaves canceled subscriptions out
    tables = ("subscriptions",)
    event_types = ("customer.subscription.created", "customer.subscription.updated",
                   "customer.subscription.deleted", "customer.subscription.paused",
                   "customer.subscription.resumed", "customer.subscription.pending_update_applied",
                   "customer.subscription.pending_update_expired")

    def prepare(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for record in records:
            items = record.get("items")
            if not isinstance(items, dict):
                continue
            if items.get("has_more") and record.get("id"):
                items["data"] = self._all("/v1/subscription_items", {"subscription": record["id"]})
                items["has_more"] = False
            for item in items.get("data") or []:
                price = item.get("price") if isinstance(item, dict) else None
                if isinstance(price, dict) and isinstance(price.get("product"), str):
                    product = self.connector.catalog.get("product", price["product"])
                    if product is not None:
                        price["product"] = product   # as `expand[]=items.data.price.product` would give
        return records


class InvoiceItemsStream(StripeStream):
    """Pending invoice items (prorations not yet invoiced) -> invoice lines without an invoice."""

    name = "invoiceitems"
    path = "/v1/invoiceitems"
    object_name = "invoiceitem"
    list_params = {"pending": "true"}
    tables = ("invoice_lines",)
    event_types = ("invoiceitem.created", "invoiceitem.deleted")
    deleted_event = "invoiceitem.deleted"

    def from_event(self, event: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any] | None:
        # An item stops being pending when it is invoiced, which sends no invoiceitem event:
        # read its current state, so a pending copy never races the invoice's own line.
        if event.get("type") != self.deleted_event and obj.get("id"):
            try:
                current = self.http.get_json(f"/v1/invoiceitems/{quote(str(obj['id']), safe='')}")
                if isinstance(current, dict):
                    return current
            except HttpError as exc:
                if exc.status_code != 404:
                    raise
        obj["deleted"] = True
        return obj

    def prepare(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for record in records:
            self._expand_price(record)
        return records


class InvoicesStream(StripeStream):
    """Invoices with every line (an invoice holds at most 10 inline; the rest are paged).

    Each read of an invoice replaces all its lines, so a line removed from a draft disappears.
    """

    name = "invoices"
    path = "/v1/invoices"
    object_name = "invoice"
    tables = ("invoices", "invoice_lines")
    event_types = ("invoice.created", "invoice.updated", "invoice.deleted", "invoice.finalized",
                   "invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed", "invoice.voided",
                   "invoice.marked_uncollectible")
    deleted_event = "invoice.deleted"

    def prepare(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for record in records:
            lines = record.get("lines")
            if not isinstance(lines, dict):
                continue
            if lines.get("has_more") and record.get("id") and not record.get("deleted"):
                lines["data"] = self._all(f"/v1/invoices/{quote(str(record['id']), safe='')}/lines")
                lines["has_more"] = False
            for line in lines.get("data") or []:
                self._expand_price(line)
        return records

    def normalize(self, record: dict[str, Any]) -> Iterable[Row | Replace]:
        # When the record holds every line of the invoice (prepare pages them in), drop the lines
        # stored for it before, in the same transaction, so lines removed from a draft go too. A
        # payload without its complete line list replaces nothing.
        lines = record.get("lines")
        if isinstance(lines, dict) and isinstance(lines.get("data"), list) and not lines.get("has_more"):
            yield Replace("invoice_lines", "invoice_id", self.ref(record["id"]))
        yield from super().normalize(record)
