"""HttpClient: one connection's httpx client with retries, rate limiting, pagination and redaction."""
from __future__ import annotations

import base64
import copy
import ipaddress
import json
import logging
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import httpx
import tenacity

from csconnect.errors import AuthError, ConnectorError, HttpError, MalformedResponse
from csconnect.redact import add_secret, redact

from .messages import describe_body, one_line, vendor_message
from .paginators import PageRequest, PaginationError, Paginator, Path, records_at
from .ratelimit import RateLimiter
from .retry import MAX_SERVER_WAIT, RetryDecision, backoff, default_decision, is_retryable, transport_error_kind

logger = logging.getLogger("csconnect.http")

CONNECT_TIMEOUT = 10.0
_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "apikey", "x-auth-token", "private-token",
     "cookie"}
)


@dataclass
class PageResult:
    """One page: its records, the response, the parsed body, and the resume state after it."""

    records: list[dict]
    response: httpx.Response
    body: Any
    state: dict | None


@dataclass
class _Outcome:
    """One attempt's result as the retry loop sees it."""

    response: httpx.Response
    decision: RetryDecision | None = None
    body: Any = None
    malformed: str | None = None


@dataclass
class _Exhausted:
    attempts: int
    outcome: tenacity.Future


class HttpClient:
    """The HTTP client every connector uses; see the csconnect.http docstring for the rules."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        headers: dict | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        secrets: Iterable[str] = (),
        timeout: float = 30.0,
        max_attempts: int = 6,
        max_throttle_seconds: float = 3600.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        rate_limiter: RateLimiter | None = None,
        classify: Callable[[httpx.Response], RetryDecision | None] | None = None,
        error_message: Callable[[httpx.Response], str | None] | None = None,
        auth_hint: str = "check the credentials",
        allow_insecure: bool = False,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = "csconnect",
    ):
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts!r}")
        self.name = name
        self.waits: list[float] = []
        self.max_attempts = max_attempts
        self.max_throttle_seconds = max_throttle_seconds
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.rate_limiter = rate_limiter
        self.auth_hint = auth_hint
        self._classify = classify
        self._error_message = error_message
        self._sleep = sleep
        for secret in secrets:
            add_secret(secret)
        if isinstance(auth, tuple):
            for part in auth:
                add_secret(part)
            add_secret(base64.b64encode(":".join(map(str, auth)).encode()).decode())   # the header's form
            auth = httpx.BasicAuth(*auth)
        self._base = self._check_base_url(base_url, allow_insecure)
        self.base_url = str(self._base)
        default_headers = {"User-Agent": user_agent, **(headers or {})}
        _register_header_secrets(default_headers)
        self._client = httpx.Client(
            headers=default_headers,
            auth=auth,
            timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)),
            transport=transport,
            follow_redirects=False,
        )

    # -- public API -------------------------------------------------------------------------

    def request(self, method: str, url: str, *, params=None, json=None, data=None, headers=None) -> httpx.Response:
        """Send a request with the retry policy; return the 2xx response or raise a one-line error."""
        kw = _kwargs(params, json, data, headers)
        return self._send(method, url, **kw).response

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def get_json(self, url: str, **kw: Any) -> Any:
        """GET and return the parsed JSON body (None for 204 No Content)."""
        return self._send("GET", url, parse=True, **_kwargs(**kw)).body

    def post_json(self, url: str, **kw: Any) -> Any:
        """POST and return the parsed JSON body (None for 204 No Content)."""
        return self._send("POST", url, parse=True, **_kwargs(**kw)).body

    @contextmanager
    def stream(self, method: str, url: str, **kw: Any) -> Iterator[httpx.Response]:
        """Send with the retry policy for the status line; yield the response with its body unread.

        Errors while reading the body are not retried (the caller restarts its unit of work).
        """
        response = self._send(method, url, stream=True, **_kwargs(**kw)).response
        try:
            yield response
        finally:
            response.close()

    def paginate(
        self,
        url: str,
        paginator: Paginator,
        *,
        method: str = "GET",
        params: dict | None = None,
        json: Any = None,
        records: Path = "data",
        start: dict | None = None,
    ) -> Iterator[PageResult]:
        """Yield every page from `url` on (or from the saved `start` state on)."""
        method = method.upper()
        request = PageRequest(url=url, params=dict(params or {}), json=copy.deepcopy(json))
        paginator.init_request(request)
        previous = start
        visited = {_state_key(start)} if start is not None else set()
        if start is not None:
            try:
                paginator.apply(request, start)
            except PaginationError as exc:
                raise self._error(ConnectorError, f"cannot resume {method} {self._path(url)}: {exc}") from None
        while True:
            outcome = self._send(method, request.url, parse=True, params=request.params or None, json=request.json)
            what = f"{method} {outcome.response.request.url.path}"
            try:
                page = records_at(outcome.body, records)
                paginator.update(outcome.response, outcome.body, page)
            except PaginationError as exc:
                raise self._error(MalformedResponse, f"{what} {exc}") from None
            state = paginator.state()
            if state is not None and (state == previous or _state_key(state) in visited):
                said = "the same next-page position twice" if state == previous else \
                    "a next-page position it had given before"
                text = f"{what} gave {said} ({state}); stopping to avoid an endless loop"
                raise self._error(MalformedResponse, text)
            yield PageResult(records=page, response=outcome.response, body=outcome.body, state=state)
            if state is None:
                return
            paginator.apply(request, state)
            visited.add(_state_key(state))      # a page that leads back to an earlier one is a cycle
            previous = state

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- URLs ---------------------------------------------------------------------------------

    def _check_base_url(self, base_url: str, allow_insecure: bool) -> httpx.URL:
        try:
            url = httpx.URL(base_url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise self._error(ConnectorError, f"base_url {base_url!r} is not a valid URL ({exc})") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise self._error(ConnectorError, f"base_url {base_url!r} must be an https:// URL with a host")
        if url.scheme == "http" and not allow_insecure and not _is_loopback(url.host):
            text = (
                f"base_url {url.scheme}://{url.netloc.decode()} is not https, so the credentials would travel "
                "unencrypted; use https, or set allow_insecure = true on this connection if you really mean it"
            )
            raise self._error(ConnectorError, text)
        return url.copy_with(query=None, fragment=None)

    def _resolve(self, url: str | httpx.URL) -> httpx.URL:
        """Join a URL onto base_url and refuse any URL on another host.

        Absolute URLs are used as they are. A path that already starts with base_url's path
        (`/v1/customers` on `https://api.stripe.com/v1`) is taken from the host root; any other
        path, with or without a leading slash (`customers`, `/customers`), is appended to
        base_url's path.
        """
        raw = str(url)
        target = httpx.URL(raw)
        if not target.is_absolute_url:
            base_path = self._base.path.rstrip("/")
            if raw.startswith("//"):  # protocol-relative: another host, refused below
                path = raw
            elif not raw:
                path = self._base.path
            elif raw.startswith("/") and base_path and _under(raw, base_path):
                path = raw
            else:
                path = base_path + "/" + raw.lstrip("/")
            target = self._base.join(path)
        if _origin(target) != _origin(self._base):
            text = (
                f"refusing to send a request to {_show_origin(target)}: it is not the connection's host "
                f"({_show_origin(self._base)}), and credentials never leave it"
            )
            raise self._error(ConnectorError, text)
        return target

    def _path(self, url: str) -> str:
        try:
            return self._resolve(url).path
        except ConnectorError:
            return "?"

    # -- the retry loop -------------------------------------------------------------------------

    def _send(
        self, method: str, url: str | httpx.URL, *, stream: bool = False, parse: bool = False, **kw: Any
    ) -> _Outcome:
        method = method.upper()
        target = self._resolve(url)
        if kw.get("params"):  # merged into the URL's own query (httpx would replace it)
            target = target.copy_merge_params(kw.pop("params"))
        kw.pop("params", None)
        what = f"{method} {target.path}"
        _register_header_secrets(kw.get("headers"))
        seen = {"malformed": 0, "throttled": 0, "throttle_wait": 0.0}
        retrying = tenacity.Retrying(
            stop=lambda state: self._should_stop(state, seen),
            retry=self._should_retry,
            wait=self._wait,
            sleep=self._sleep_and_record,
            before_sleep=lambda state: self._log_retry(what, state),
            retry_error_callback=lambda state: _Exhausted(state.attempt_number, state.outcome),
        )
        try:
            result = retrying(self._attempt, method, target, kw, stream, parse, seen)
        except httpx.RequestError as exc:
            raise self._error(HttpError, f"{what} failed: {transport_error_kind(exc)}") from exc
        if isinstance(result, _Exhausted):
            self._raise_exhausted(what, result)
        self._raise_for(what, result)
        return result

    def _attempt(self, method: str, target: httpx.URL, kw: dict, stream: bool, parse: bool, seen: dict) -> _Outcome:
        if self.rate_limiter is not None:
            self.rate_limiter.acquire()
        started = time.monotonic()
        response = self._client.send(self._client.build_request(method, target, **kw), stream=stream)
        self._log_response(method, target, response, time.monotonic() - started)
        if stream and not response.is_success:
            _read_quietly(response)
        outcome = _Outcome(response, self._decide(response))
        if parse and outcome.decision is None and response.is_success:
            self._parse(outcome, seen)
        if stream and outcome.decision is not None:
            response.close()
        return outcome

    def _decide(self, response: httpx.Response) -> RetryDecision | None:
        decision = self._classify(response) if self._classify is not None else None
        if decision is None:
            decision = default_decision(response)
        if decision is not None and decision.retry and decision.wait is not None and decision.wait > MAX_SERVER_WAIT:
            vendor = self._vendor(response)
            text = (
                f"the server asked to wait {decision.wait:.0f} s, more than the {MAX_SERVER_WAIT / 60:.0f}-minute "
                "limit; try again later"
            )
            return RetryDecision(retry=False, message=f"{vendor} ({text})" if vendor else text)
        return decision

    def _parse(self, outcome: _Outcome, seen: dict) -> None:
        """Parse a 2xx JSON body; the first body that is not JSON is retried once, the second fails."""
        response = outcome.response
        if response.status_code == 204:
            return
        try:
            outcome.body = _json_body(response, self.name)
        except ValueError:
            seen["malformed"] += 1
            outcome.malformed = f"returned a body that is not JSON {describe_body(response)}"
            if seen["malformed"] == 1:
                outcome.decision = RetryDecision(retry=True)

    def _should_retry(self, state: tenacity.RetryCallState) -> bool:
        if state.outcome.failed:
            return is_retryable(state.outcome.exception())
        decision = state.outcome.result().decision
        return decision is not None and decision.retry

    def _should_stop(self, state: tenacity.RetryCallState, seen: dict) -> bool:
        """Stop after max_attempts, not counting waits the server asked for (up to max_throttle_seconds)."""
        if not state.outcome.failed:
            decision = state.outcome.result().decision
            if decision is not None and decision.throttled and decision.wait is not None:
                if seen["throttle_wait"] + decision.wait <= self.max_throttle_seconds:
                    seen["throttled"] += 1
                    seen["throttle_wait"] += max(decision.wait, self.backoff_initial)
                    return False
        return state.attempt_number - seen["throttled"] >= self.max_attempts

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """The server's wait when it gave one (a zero or past one waits backoff_initial), else backoff."""
        if not state.outcome.failed:
            decision = state.outcome.result().decision
            if decision is not None and decision.wait is not None:
                return decision.wait if decision.wait > 0 else self.backoff_initial
        return backoff(state.attempt_number, self.backoff_initial, self.backoff_max)

    def _sleep_and_record(self, seconds: float) -> None:
        self.waits.append(seconds)
        self._sleep(seconds)

    # -- errors -----------------------------------------------------------------------------------

    def _raise_exhausted(self, what: str, result: _Exhausted) -> None:
        prefix = f"{what} failed after {result.attempts} attempts"
        if result.outcome.failed:
            exc = result.outcome.exception()
            raise self._error(HttpError, f"{prefix}: {transport_error_kind(exc)}") from exc
        outcome: _Outcome = result.outcome.result()
        if outcome.malformed:
            raise self._error(MalformedResponse, f"{what} {outcome.malformed}")
        response = outcome.response
        vendor = self._vendor(response)
        status = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
        raise self._error(HttpError, f"{prefix}: {status}" + (f": {vendor}" if vendor else ""), response.status_code)

    def _raise_for(self, what: str, outcome: _Outcome) -> None:
        response, decision = outcome.response, outcome.decision
        code = response.status_code
        if outcome.malformed:
            raise self._error(MalformedResponse, f"{what} {outcome.malformed}")
        if decision is not None and not decision.retry and decision.message:
            raise self._error(HttpError, f"{what} failed: HTTP {code}: {one_line(decision.message)}", code)
        if response.is_success:
            return
        if response.is_redirect:
            location = httpx.URL(response.headers["Location"])
            text = (
                f"{what} failed: HTTP {code} {response.reason_phrase}: the server redirects to "
                f"{_show_origin(location) if location.is_absolute_url else ''}{location.path}; "
                "csconnect does not follow redirects, check base_url"
            )
            raise self._error(HttpError, text, code)
        vendor = self._vendor(response)
        if code in (401, 403):
            said = f" (the server said: {vendor})" if vendor else ""
            raise self._error(AuthError, f"the credentials were rejected ({code}): {self.auth_hint}{said}", code)
        detail = f": {vendor}" if vendor else f" {response.reason_phrase}".rstrip()
        raise self._error(HttpError, f"{what} failed: HTTP {code}{detail}", code)

    def _vendor(self, response: httpx.Response) -> str | None:
        if self._error_message is not None:
            try:
                custom = self._error_message(response)
            except Exception:  # a connector's helper must not hide the real HTTP error
                custom = None
            if custom:
                return one_line(custom)
        try:
            return vendor_message(response)
        except httpx.ResponseNotRead:
            return None

    def _error(self, cls: type[ConnectorError], text: str, status: int | None = None) -> ConnectorError:
        return cls(redact(f"{self.name}: {text}"), status)

    # -- logging ----------------------------------------------------------------------------------

    def _log_response(self, method: str, target: httpx.URL, response: httpx.Response, elapsed: float) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            status = f"{response.status_code} {response.reason_phrase}".rstrip()
            logger.debug("%s", redact(f"{self.name}: {method} {target} -> {status} ({elapsed:.2f} s)"))

    def _log_retry(self, what: str, state: tenacity.RetryCallState) -> None:
        if state.outcome.failed:
            reason = transport_error_kind(state.outcome.exception())
        else:
            outcome: _Outcome = state.outcome.result()
            if outcome.malformed:
                reason = f"a body that is not JSON {describe_body(outcome.response)}"
            else:
                reason = f"HTTP {outcome.response.status_code}"
        wait = state.next_action.sleep if state.next_action else 0.0
        attempt = f"attempt {state.attempt_number + 1} of {self.max_attempts}"
        text = f"{self.name}: {reason} on {what}; retrying in {wait:.1f} s ({attempt})"
        logger.warning("%s", redact(text))


def _kwargs(params=None, json=None, data=None, headers=None) -> dict:
    """The request keyword arguments that were actually given (httpx rejects json=None with data)."""
    given = {"params": params, "json": json, "data": data, "headers": headers}
    return {key: value for key, value in given.items() if value is not None}


def _register_header_secrets(headers: dict | None) -> None:
    for key, value in (headers or {}).items():
        if str(key).lower() in _SECRET_HEADERS and isinstance(value, str):
            add_secret(value)
            scheme, _, credential = value.partition(" ")
            if credential:
                add_secret(credential)


def _state_key(state: Any) -> str:
    return json.dumps(state, sort_keys=True, default=str)


_LONE_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _json_body(response: httpx.Response, name: str) -> Any:
    """The parsed JSON body. Bytes that are not UTF-8 and lone surrogate escapes (`\\ud800`, which
    SQLite cannot store) become U+FFFD, with a warning, so one bad character cannot stop a sync."""
    content = response.content
    try:
        body = json.loads(content)
    except UnicodeDecodeError:
        body = json.loads(content.decode("utf-8", errors="replace"))
        logger.warning("%s", redact(f"{name}: {response.request.url.path} sent text that is not UTF-8; "
                                    "each bad byte is kept as the replacement character U+FFFD"))
    if _LONE_SURROGATE_ESCAPE.search(content):
        body = _without_lone_surrogates(body)
    return body


def _without_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


def _read_quietly(response: httpx.Response) -> None:
    try:
        response.read()
    except httpx.HTTPError:
        response.close()


def _is_loopback(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _under(path: str, base_path: str) -> bool:
    return path == base_path or path.startswith((base_path + "/", base_path + "?"))


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host.lower(), url.port or default


def _show_origin(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"
