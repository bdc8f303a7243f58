"""A real local HTTP server in front of a FakeStripe, for tests that run csconnect as a user does.

    with StripeServer(fake) as server:         # 127.0.0.1, a free port, served from a thread
        toml = f'base_url = "{server.base_url}"'

The server only moves bytes: every request goes to `FakeStripe.handle`, the same code the respx
tests use, so the routing, pagination, the API key and `Stripe-Version` checks and the error
envelopes are the ones the rest of the Stripe tests rely on.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

from csconnect.testing import LocalServer

from stripe_fake import FakeStripe


@dataclass(frozen=True)
class Served:
    """One request the server answered."""

    method: str
    path: str                  # without the query
    query: str
    status: int
    headers: dict[str, str]    # the request's headers, as sent

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"           # keep-alive, as api.stripe.com; every reply has a Content-Length
    timeout = 10                            # an idle kept-alive connection lets its thread go

    def _serve(self) -> None:
        url = urlsplit(self.path)
        size = int(self.headers.get("Content-Length") or 0)
        if size:
            self.rfile.read(size)
        status, body, headers = self.server.fake.handle(self.command, url.path, url.query, self.headers)
        payload = json.dumps(body).encode()
        self.server.served.append(Served(self.command, url.path, url.query, status, dict(self.headers.items())))
        self.send_response(status)           # also sends Date, which the connector reads as Stripe's clock
        for name, value in {**headers, "Content-Type": "application/json",
                            "Content-Length": str(len(payload))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:   # quiet: pytest shows failures, not traffic
        pass


class StripeServer:
    """`fake` served on http://127.0.0.1:<free port> from a background thread until `stop()`."""

    def __init__(self, fake: FakeStripe | None = None):
        self.fake = fake if fake is not None else FakeStripe()
        self._local: LocalServer | None = None

    def start(self) -> "StripeServer":
        self._local = LocalServer(_Handler, name="fake-stripe", fake=self.fake, served=[]).start()
        return self

    def stop(self) -> None:
        if self._local is not None:
            self._local.stop()
            self._local = None

    @property
    def port(self) -> int:
        assert self._local is not None, "the server is not running"
        return self._local.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def served(self) -> list[Served]:
        return self._local.httpd.served if self._local is not None else []

    def targets(self, path: str | None = None) -> list[str]:
        """`path?query` of every request served (only those to `path` when given), in order."""
        return [s.target for s in self.served if path is None or s.path == path]

    def __enter__(self) -> "StripeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@pytest.fixture
def stripe_server() -> Iterator[StripeServer]:
    """An empty FakeStripe on a real local port (fill `stripe_server.fake`); stopped after the test."""
    server = StripeServer().start()
    try:
        yield server
    finally:
        server.stop()
