"""A local HTTP server that speaks enough of Stripe's API for the sync benchmark.

    python bench/stripe_server.py N [PORT]      # prints the port, then serves until killed

- `/v1/customers` lists N Stripe-shaped customers in pages (`limit` ≤ 100, `starting_after`,
  `has_more`), rendered on request from their index, so memory stays flat whatever N is;
- `/v1/products`, `/v1/prices`, `/v1/subscriptions`, `/v1/invoiceitems`, `/v1/invoices` and
  `/v1/events` are empty lists (the real Stripe connector reads them too; a re-sync with
  nothing changed reads only `/v1/events`);
- `GET /_bench/requests` answers the requests served so far, by path and by `types[]` of the
  events requests (so a benchmark counts requests per stream on the server's side).

Every reply carries a `Date` header (the connector reads Stripe's clock from it). Run it in its
own process so that its CPU does not count as the syncing process's.
"""
from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

EPOCH = 1_700_000_000
EMPTY_LISTS = ("/v1/products", "/v1/prices", "/v1/subscriptions", "/v1/invoiceitems", "/v1/invoices", "/v1/events")


def customer(i: int) -> dict:
    cid = f"cus_{i:010d}"
    return {
        "id": cid, "object": "customer",
        "address": {"city": "Berlin", "country": "DE", "line1": f"{i} Main St", "line2": None,
                    "postal_code": "10115", "state": None},
        "balance": 0, "created": EPOCH + i, "currency": "eur", "default_source": None, "delinquent": False,
        "description": f"Customer {i}", "discount": None, "email": f"billing@company{i}.example",
        "invoice_prefix": f"{i:08X}", "invoice_settings": {"custom_fields": None, "default_payment_method": None,
                                                          "footer": None, "rendering_options": None},
        "livemode": False, "metadata": {"hubspot_company_id": str(100000 + i)}, "name": f"Company {i} GmbH",
        "next_invoice_sequence": 1, "phone": None, "preferred_locales": ["de"], "shipping": None,
        "tax_exempt": "none", "test_clock": None,
    }


# customer(i) as JSON text with the index left open: the server renders a page by string
# formatting, so that its own CPU (it shares the machine with the client) stays small.
_TEMPLATE = json.dumps(customer(123456789)).replace("%", "%%")
for _old, _new in (("cus_0123456789", "cus_%(i)010d"), ('"created": 1823456789', '"created": %(created)d'),
                   ('"123456789 Main St"', '"%(i)d Main St"'), ('"Customer 123456789"', '"Customer %(i)d"'),
                   ("company123456789.example", "company%(i)d.example"), ('"075BCD15"', '"%(i)08X"'),
                   ('"123556789"', '"%(hub)d"'), ('"Company 123456789 GmbH"', '"Company %(i)d GmbH"')):
    _TEMPLATE = _TEMPLATE.replace(_old, _new)
assert "123456789" not in _TEMPLATE, _TEMPLATE


def customer_json(i: int) -> str:
    return _TEMPLATE % {"i": i, "created": EPOCH + i, "hub": 100000 + i}


def make_handler(total: int, counts: Counter, lock: threading.Lock):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            q = parse_qs(url.query)
            if url.path == "/_bench/requests":
                with lock:
                    return self._reply(json.dumps(dict(counts)))
            with lock:
                counts[url.path] += 1
                if url.path == "/v1/events":
                    counts["/v1/events?types[]=" + ",".join(sorted(q.get("types[]", [])))] += 1
            if url.path in EMPTY_LISTS:
                return self._reply(json.dumps({"object": "list", "url": url.path, "has_more": False, "data": []}))
            if url.path != "/v1/customers":
                body = json.dumps({"error": {"type": "invalid_request_error", "message": f"no route {url.path}"}})
                return self._reply(body, 404)
            limit = min(int(q.get("limit", ["10"])[0]), 100)
            start = int(q["starting_after"][0][4:]) + 1 if "starting_after" in q else 0
            end = min(start + limit, total)
            data = ",".join(customer_json(i) for i in range(start, end))
            self._reply(f'{{"object": "list", "url": "/v1/customers", "has_more": {str(end < total).lower()}, '
                        f'"data": [{data}]}}')

        def _reply(self, text: str, status: int = 200) -> None:
            body = text.encode()
            self.send_response(status)            # also sends Date: Stripe's clock for the connector
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def serve(total: int, port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(total, Counter(), threading.Lock()))
    server.daemon_threads = True
    return server


if __name__ == "__main__":
    server = serve(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    print(server.server_address[1], flush=True)
    server.serve_forever()
