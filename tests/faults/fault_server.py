"""A real local HTTP server in front of any in-memory vendor fake, with faults on demand.

    server = FaultServer(fake.handle, "hubspot").start()   # http://127.0.0.1:<free port>
    ...
    server.stop()

The fakes (connectors/*/tests/*_fake.py) answer an `httpx.Request` with an `httpx.Response`
and know no transport; this server only moves bytes between a socket and them, so the
routing, paging and error envelopes are the ones the connectors' own tests rely on.

It records every request with its arrival time (`arrivals`), can call `on_served` after each
answer (the kill tests send SIGKILL from there), and with a `FaultPlan` answers a share of
the requests with a throttle, a server error or a dropped connection instead.
"""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Sequence

import httpx

from csconnect.testing import LocalServer

Handler = Callable[[httpx.Request], httpx.Response]
_HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding", "date", "server"}


@dataclass(frozen=True)
class Fault:
    """What the server does instead of answering: send `action` (a response), or "drop" (close
    the connection without a word) or "cut" (send the headers and half the body, then close).
    `wait` is the least wait it asks of the client (Retry-After, or what the vendor's 429 body
    implies); None: the client's own backoff applies."""

    kind: str
    action: "httpx.Response | str"
    wait: float | None = None


@dataclass
class Arrival:
    """One request the server received, and what it did with it."""

    seq: int                    # 1-based, in arrival order
    at: float                   # time.monotonic() when the request was read
    method: str
    path: str
    query: str
    body: bytes
    status: int = 0             # what was answered (0: the connection was dropped)
    fault: str | None = None    # the fault injected instead of the real answer
    wait: float | None = None   # the least wait the fault asks of the client (None: its backoff)
    answered: float = 0.0       # time.monotonic() just before the answer (or the drop)
    attempt: int = 1            # how many times this exact request had arrived, this one included

    @property
    def key(self) -> tuple[str, str, str, bytes]:
        return self.method, self.path, self.query, self.body

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass
class FaultPlan:
    """Which requests fail, decided by a hash of (seed, request, its attempt number).

    Whether a request fails does not depend on the order in which concurrent streams send
    their requests, so one seed fails the same requests on every run. An identical request
    fails at most `max_in_a_row` times in a row, so the client's attempts (6 by default) are
    never used up. `faults(arrival, turn)` makes the fault; the kinds take turns.
    """

    seed: int | str
    rate: float
    faults: Callable[[Arrival, int], Fault]
    max_in_a_row: int = 2
    injected: int = 0

    def decide(self, arrival: Arrival) -> Fault | None:
        if arrival.attempt > self.max_in_a_row:
            return None
        digest = hashlib.sha256(repr((self.seed, arrival.key, arrival.attempt)).encode()).digest()
        if int.from_bytes(digest[:8], "big") / 2 ** 64 >= self.rate:
            return None
        self.injected += 1          # the kinds take turns, so a short sync still meets every one
        return self.faults(arrival, self.injected - 1)


def pick(choices: Sequence[Callable[[], Fault]], turn: int) -> Fault:
    """The fault whose turn it is among `choices` (functions making one)."""
    return choices[turn % len(choices)]()


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"      # keep-alive, as the real APIs; every answer has a Content-Length
    timeout = 10                       # an idle kept-alive connection lets its thread go

    def _serve(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(size) if size else b""
        owner = self.server.owner
        arrival = owner._arrive(self.command, self.path, body)
        request = httpx.Request(self.command, f"{owner.base_url}{self.path}",
                                headers=[(k, v) for k, v in self.headers.items()], content=body)
        fault = owner.plan.decide(arrival) if owner.plan is not None else None
        if fault is not None:
            arrival.fault, arrival.wait = fault.kind, fault.wait
            if isinstance(fault.action, str):
                self._break(arrival, fault.action, request)
                return
            response = fault.action
        else:
            response = owner.handler(request)
        self._answer(arrival, response)
        owner._served(arrival)

    def _answer(self, arrival: Arrival, response: httpx.Response, cut: bool = False) -> None:
        payload = response.content
        arrival.status = response.status_code
        arrival.answered = time.monotonic()
        self.send_response(response.status_code)      # also sends Date (Stripe's clock for the connector)
        for name, value in response.headers.multi_items():
            if name.lower() not in _HOP_HEADERS:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if cut:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2] if cut else payload)
        self.wfile.flush()

    def _break(self, arrival: Arrival, how: str, request: httpx.Request) -> None:
        """"drop": close without a word; "cut": send the headers and half the body, then close."""
        self.close_connection = True
        if how == "cut":
            self._answer(arrival, self.server.owner.handler(request), cut=True)
            arrival.status = 0
        else:
            arrival.answered = time.monotonic()
        self.server.owner._served(arrival)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:    # quiet: the tests report what matters
        pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request (the kill tests) breaks the pipe: not the server's problem."""
        import sys
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class FaultServer:
    """`handler` served on http://127.0.0.1:<free port> from a background thread until `stop()`."""

    def __init__(self, handler: Handler, name: str = "fake", plan: FaultPlan | None = None):
        self.handler = handler
        self.name = name
        self.plan = plan
        self.arrivals: list[Arrival] = []
        self.on_served: Callable[[Arrival], None] | None = None
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str, str, bytes], int] = {}
        self._local: LocalServer | None = None
        self.base_url = ""

    def start(self) -> "FaultServer":
        self._local = LocalServer(_RequestHandler, name=f"fault-server-{self.name}", server_class=_Server,
                                  owner=self).start()
        self.base_url = self._local.base_url
        return self

    def stop(self) -> None:
        if self._local is not None:
            self._local.stop()
            self._local = None

    def __enter__(self) -> "FaultServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget the requests served so far (the attempt counts of the fault plan too)."""
        with self._lock:
            self.arrivals.clear()
            self._seen.clear()

    def _arrive(self, method: str, raw_path: str, body: bytes) -> Arrival:
        path, _, query = raw_path.partition("?")
        with self._lock:
            key = (method, path, query, body)
            self._seen[key] = self._seen.get(key, 0) + 1
            arrival = Arrival(len(self.arrivals) + 1, time.monotonic(), method, path, query, body,
                              attempt=self._seen[key])
            self.arrivals.append(arrival)
            return arrival

    def _served(self, arrival: Arrival) -> None:
        if arrival.fault is None and 200 <= arrival.status < 300:
            with self._lock:       # the next identical request is a new one, not a retry of this
                self._seen.pop(arrival.key, None)
        if self.on_served is not None:
            self.on_served(arrival)


@dataclass
class Killer:
    """Sends SIGKILL to `pid` when `trigger(arrival)` says so (once)."""

    trigger: Callable[[Arrival], bool]
    pid: int | None = None
    fired: list[Arrival] = field(default_factory=list)

    def __call__(self, arrival: Arrival) -> None:
        import os
        import signal
        if self.pid is not None and not self.fired and self.trigger(arrival):
            self.fired.append(arrival)
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
