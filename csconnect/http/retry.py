"""The retry policy: which outcomes are retried, and how long to wait before the next attempt."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_SERVER_WAIT = 15 * 60.0  # a server-asked wait longer than this stops the request instead

_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_EPOCH_FLOOR = 1e9  # a "delta" this large (31 years) is really a unix timestamp
_DNS_FAILURES = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo failed",
    "temporary failure in name resolution",
    "no address associated",
)


@dataclass
class RetryDecision:
    """What to do with one response: retry (after `wait` seconds, None = default backoff) or stop.

    `message` is the reason shown in the final error when `retry` is False. `throttled` marks
    a wait the server asked for (a 429 with Retry-After, a rate-limit reset): such attempts do
    not count toward `max_attempts`, only toward the client's `max_throttle_seconds`.
    """

    retry: bool
    wait: float | None = None
    message: str | None = None
    throttled: bool = False


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None if absent or unreadable.

    The result may be zero or negative (a date in the past); the caller decides the floor.
    ISO 8601 timestamps and unix timestamps (some APIs send those) are understood too.
    """
    text = (value or "").strip()
    if not text:
        return None
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    if _NUMBER.match(text):
        number = float(text)
        return number - now.timestamp() if number >= _EPOCH_FLOOR else number
    when = _parse_date(text)
    return None if when is None else (when - now).total_seconds()


def _parse_date(text: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def backoff(attempt: int, initial: float, maximum: float) -> float:
    """The wait after failed attempt number `attempt` (1-based), with equal jitter.

    The step is `initial * 2**(attempt-1)` capped at `maximum`; the wait is half the step plus a
    random share of the other half, so retries spread out but never wait less than half a step.
    """
    step = min(maximum, initial * 2 ** min(attempt - 1, 64))
    return step / 2 + random.random() * step / 2


def default_decision(response: httpx.Response) -> RetryDecision | None:
    """Retry 429 and 5xx gateway errors (honouring Retry-After); None for everything else."""
    if response.status_code not in RETRY_STATUSES:
        return None
    wait = parse_retry_after(response.headers.get("Retry-After"))
    return RetryDecision(retry=True, wait=wait, throttled=response.status_code == 429 and wait is not None)


def is_retryable(exc: BaseException) -> bool:
    """Transport errors are retried, except those no retry can heal (bad scheme, bad certificate)."""
    if not isinstance(exc, httpx.TransportError):
        return False
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.LocalProtocolError)):
        return False
    return not _is_certificate_failure(exc)


def _is_certificate_failure(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "certificate_verify_failed" in text or "certificate verify failed" in text


def transport_error_kind(exc: httpx.RequestError) -> str:
    """A few words a user understands for a failed request: "connection refused", "read timed out"."""
    text = " ".join(str(exc).split())
    lower = text.lower()
    if isinstance(exc, httpx.TimeoutException):
        return _TIMEOUTS.get(type(exc), "timed out")
    if _is_certificate_failure(exc):
        return "TLS certificate verification failed"
    if "refused" in lower:
        return "connection refused"
    if any(marker in lower for marker in _DNS_FAILURES):
        return "host not found"
    if "reset" in lower:
        return "connection reset"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection closed by the server"
    if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.CloseError)):
        return "connection dropped"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "unsupported URL scheme"
    if isinstance(exc, httpx.DecodingError):
        return "the response body could not be decoded"
    label = _LABELS.get(type(exc), type(exc).__name__)
    return f"{label} ({text[:120]})" if text else label


_TIMEOUTS = {
    httpx.ConnectTimeout: "connection timed out",
    httpx.ReadTimeout: "read timed out",
    httpx.WriteTimeout: "write timed out",
    httpx.PoolTimeout: "timed out waiting for a free connection",
}
_LABELS = {httpx.ConnectError: "connection failed", httpx.ProxyError: "proxy error"}
