"""Pagination strategies: small objects that set up each request and read where the next page is.

Every paginator has four steps, called by HttpClient.paginate:

- `init_request(request)` resets it and sets up the first request;
- `update(response, body, records)` reads the next-page position from a page;
- `state()` is that position as a small JSON-able dict (None when there is no next page);
- `apply(request, state)` points a request at the page a state describes.

`paginate` moves from page to page with `apply(request, state())`, and resuming a saved state is
the very same `apply(request, start)` — so a resumed run asks exactly what the crashed run would
have asked next.

Where a paginator takes a "path" it is a dotted path into the JSON body (`paging.next.after`;
integer parts index lists, `data.-1.id` is the id of the last item) or a callable
`(body, records) -> value`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Union

import httpx

Path = Union[str, Callable[[Any, list], Any]]


class PaginationError(ValueError):
    """A page (or a saved state) does not have the shape the paginator expects."""


@dataclass
class PageRequest:
    """The parts of a page request a paginator may change."""

    url: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None


def dig(body: Any, path: str) -> Any:
    """The value at a dotted path, or None when any part is missing."""
    value = body
    for part in path.split(".") if path else ():
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and _is_int(part):
            try:
                value = value[int(part)]
            except IndexError:
                return None
        else:
            return None
    return value


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def getter(path: Path) -> Callable[[Any, list], Any]:
    """A dotted path or callable as a callable (body, records) -> value."""
    if callable(path):
        return path
    return lambda body, records: dig(body, path)


def set_path(target: Any, path: str, value: Any) -> dict:
    """Set a dotted path in a JSON object, creating the dicts on the way; returns the object."""
    root = target if isinstance(target, dict) else {}
    node = root
    *parents, last = path.split(".")
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[last] = value
    return root


def records_at(body: Any, records: Path) -> list:
    """The list of records in a page body; `records=""` means the body is the list."""
    if callable(records):
        found = records(body)
        label = "the records"
    else:
        found = dig(body, records) if records else body
        label = f"'{records}'" if records else "the body"
    if isinstance(found, list):
        return found
    if found is None and isinstance(body, dict):
        keys = ", ".join(list(body)[:8]) or "none"
        raise PaginationError(f"returned JSON without a {label} list (keys: {keys})")
    raise PaginationError(f"returned JSON where {label} is {_kind(found)}, not a list")


def _kind(value: Any) -> str:
    names = {dict: "an object", str: "a string", bool: "a boolean", type(None): "missing"}
    return names.get(type(value), f"a {type(value).__name__}")


def _require(state: dict, key: str) -> Any:
    if not isinstance(state, dict) or state.get(key) in (None, ""):
        raise PaginationError(f"the saved page state {state!r} has no '{key}'")
    return state[key]


def _last_id(body: Any, records: list) -> Any:
    last = records[-1] if records else None
    return last.get("id") if isinstance(last, dict) else None


class Paginator(ABC):
    """Base of every pagination strategy (see the module docstring for the four steps)."""

    def init_request(self, request: PageRequest) -> None:
        """Reset and set up the first request (default: leave it as the caller built it)."""

    @abstractmethod
    def update(self, response: httpx.Response, body: Any, records: list) -> None:
        """Read the next-page position from this page."""

    @abstractmethod
    def state(self) -> dict | None:
        """The resume point after the last page read; None when it was the last page."""

    @abstractmethod
    def apply(self, request: PageRequest, state: dict) -> None:
        """Point `request` at the page `state` describes."""


class CursorPaginator(Paginator):
    """Send a cursor read from each page as `param` (a query parameter, or a body path if in_body).

    `cursor` defaults to the id of the last record (Stripe). With `has_more` the stream ends when
    it is falsy; without it, when there is no cursor. Examples: Stripe
    `CursorPaginator("starting_after", has_more="has_more")`; HubSpot
    `CursorPaginator("after", cursor="paging.next.after")`; Zendesk
    `CursorPaginator("page[after]", cursor="meta.after_cursor", has_more="meta.has_more")`;
    Intercom search `CursorPaginator("pagination.starting_after",
    cursor="pages.next.starting_after", in_body=True)`.
    """

    def __init__(
        self,
        param: str = "starting_after",
        cursor: Path | None = None,
        has_more: Path | None = None,
        in_body: bool = False,
    ):
        self.param = param
        self.in_body = in_body
        self._cursor = getter(cursor) if cursor is not None else _last_id
        self._has_more = getter(has_more) if has_more is not None else None
        self._next: Any = None

    def init_request(self, request: PageRequest) -> None:
        self._next = None

    def update(self, response: httpx.Response, body: Any, records: list) -> None:
        cursor = self._cursor(body, records)
        more = cursor not in (None, "")
        if self._has_more is not None:
            more = bool(self._has_more(body, records))
            if more and cursor in (None, ""):
                raise PaginationError("says there are more pages but gives no cursor for the next one")
        self._next = cursor if more else None

    def state(self) -> dict | None:
        return None if self._next is None else {"cursor": self._next}

    def apply(self, request: PageRequest, state: dict) -> None:
        cursor = _require(state, "cursor")
        if self.in_body:
            request.json = set_path(request.json, self.param, cursor)
        else:
            request.params[self.param] = cursor


class OffsetPaginator(Paginator):
    """Page with `limit` and an offset that grows by the records received.

    Ends on an empty page; when `total` (a path to the total count) is given and present, when
    offset >= total; otherwise on a short page (fewer than `limit` records), so `limit` must not
    exceed the API's maximum page size.
    """

    def __init__(
        self,
        limit: int,
        offset_param: str = "offset",
        limit_param: str = "limit",
        total: Path | None = None,
        offset: int = 0,
    ):
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit!r}")
        self.limit = limit
        self.offset_param = offset_param
        self.limit_param = limit_param
        self.initial_offset = offset
        self._total = getter(total) if total is not None else None
        self._offset = offset
        self._done = False

    @staticmethod
    def opaque(next_path: Path = "next_offset", param: str = "offset") -> CursorPaginator:
        """An opaque server-issued offset (Chargebee `next_offset`): absent means the last page."""
        return CursorPaginator(param=param, cursor=next_path)

    def init_request(self, request: PageRequest) -> None:
        self._offset = self.initial_offset
        self._done = False
        request.params[self.limit_param] = self.limit
        request.params[self.offset_param] = self._offset

    def update(self, response: httpx.Response, body: Any, records: list) -> None:
        self._offset += len(records)
        total = self._total(body, records) if self._total is not None else None
        if not records:
            self._done = True
        elif total is not None:
            self._done = self._offset >= _as_int(total)
        else:
            self._done = len(records) < self.limit

    def state(self) -> dict | None:
        return None if self._done else {"offset": self._offset}

    def apply(self, request: PageRequest, state: dict) -> None:
        self._offset = _as_int(_require(state, "offset"))
        request.params[self.limit_param] = self.limit
        request.params[self.offset_param] = self._offset


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise PaginationError(f"has a count or offset that is not a number: {value!r}") from None


class _UrlPaginator(Paginator):
    """Follow a next-page URL; the URL carries the whole query, so the first params are dropped."""

    _url: str | None = None

    def init_request(self, request: PageRequest) -> None:
        self._url = None

    def state(self) -> dict | None:
        return None if not self._url else {"next_url": self._url}

    def apply(self, request: PageRequest, state: dict) -> None:
        request.url = str(_require(state, "next_url"))
        request.params = {}


class NextUrlPaginator(_UrlPaginator):
    """Follow an absolute or relative next URL found in the body at `next`.

    `stop` (a path or callable) says the stream ended even if a next URL is present. Examples:
    PostHog `NextUrlPaginator("next")`; Salesforce `NextUrlPaginator("nextRecordsUrl",
    stop="done")`; Zendesk incremental `NextUrlPaginator("after_url", stop="end_of_stream")`.
    """

    def __init__(self, next: Path = "next", stop: Path | None = None):  # noqa: A002 - the API's word
        self._next = getter(next)
        self._stop = getter(stop) if stop is not None else None

    def update(self, response: httpx.Response, body: Any, records: list) -> None:
        stopped = self._stop is not None and bool(self._stop(body, records))
        url = None if stopped else self._next(body, records)
        self._url = str(url) if url else None


class LinkHeaderPaginator(_UrlPaginator):
    """Follow the RFC 8288 `Link` header entry with relation `rel`."""

    def __init__(self, rel: str = "next"):
        self.rel = rel

    def update(self, response: httpx.Response, body: Any, records: list) -> None:
        link = response.links.get(self.rel) or {}
        self._url = link.get("url") or None
