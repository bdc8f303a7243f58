"""The shared HTTP toolkit every connector uses: never write a retry loop in a connector.

The rules HttpClient applies to every request:

- **Timeouts**: read/write/pool `timeout` seconds (default 30), connect at most 10 s.
- **Retries** (tenacity, at most `max_attempts` attempts in all) on transport errors (connect
  errors, timeouts, dropped connections) and on HTTP 429, 500, 502, 503, 504. Not retried:
  errors no retry can heal (unsupported URL scheme, TLS certificate failure). csconnect only
  reads, so POSTs (search endpoints, token requests) are retried like GETs.
- **Waits**: a `Retry-After` header (seconds or HTTP-date) is honoured even above `backoff_max`;
  one of zero, negative or in the past waits `backoff_initial` (never a hot loop); one longer
  than 15 minutes stops at once with an error saying so (waiting that long in a sync is worse
  than failing with "try again later"). Otherwise exponential backoff with *equal jitter*: after
  attempt n the step is `backoff_initial * 2**(n-1)` capped at `backoff_max`, and the wait is
  uniformly random in [step/2, step]. Every wait goes through the injected `sleep` and is
  appended to `client.waits`.
- **classify(response)** may override the decision for any response: `RetryDecision(retry=False,
  message=...)` stops with that message (a quota stop), `RetryDecision(retry=True, wait=x)`
  retries after x seconds even on statuses not retried by default. None keeps the default rules.
- **Errors** are one line starting with the connection name: 401/403 raise AuthError naming
  `auth_hint`; other failures raise HttpError (`status_code` set) with the vendor's message
  (`error_message(response)` or the common envelopes, cut to 200 characters). Redirects are not
  followed (a redirect is an error that points at base_url).
- **Bodies that are not JSON**: `get_json`, `post_json` and `paginate` retry a 2xx whose body is
  not JSON once (gateways and proxies sometimes answer with a transient HTML page), then raise
  MalformedResponse naming the content type and size. A body of the wrong shape (records path
  missing or not a list) raises MalformedResponse at once.
- **Secrets**: values in `secrets`, the basic-auth pair and credential headers are registered
  with csconnect.redact; every log line (logger "csconnect.http": DEBUG per request, WARNING per
  retry) and every error message is redacted. Headers are never logged.
- **Hosts**: base_url must be https unless its host is loopback or `allow_insecure` is set.
  Every URL, including next-page URLs and Link headers, must be on base_url's scheme, host and
  port, or the request is refused. Relative URLs join onto base_url: absolute URLs are used as
  they are; a path already under base_url's path (`/v1/customers` with base
  `https://api.stripe.com/v1`) is taken from the host root; any other path (`customers` or
  `/customers`) is appended to base_url's path.
- **Rate limit**: `rate_limiter.acquire()` runs before every attempt, retries included.
"""
from __future__ import annotations

from .client import HttpClient, PageResult
from .paginators import (
    CursorPaginator,
    LinkHeaderPaginator,
    NextUrlPaginator,
    OffsetPaginator,
    PageRequest,
    Paginator,
)
from .ratelimit import RateLimiter
from .retry import RetryDecision, parse_retry_after

__all__ = [
    "CursorPaginator",
    "HttpClient",
    "LinkHeaderPaginator",
    "NextUrlPaginator",
    "OffsetPaginator",
    "PageRequest",
    "PageResult",
    "Paginator",
    "RateLimiter",
    "RetryDecision",
    "parse_retry_after",
]
