"""A local HTTP server that serves Stripe-shaped `/v1/customers` pages, for benchmarks and fault tests.

Records are generated on request from their index, so the server holds nothing in
memory whatever the record count. Run it in its own process: `python bench/stripe_server.py N`.
"""
from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

EPOCH = 1_700_000_000


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


def make_handler(total: int):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            if url.path != "/v1/customers":
                self.send_error(404)
                return
            q = parse_qs(url.query)
            limit = min(int(q.get("limit", ["10"])[0]), 100)
            start = int(q["starting_after"][0][4:]) + 1 if "starting_after" in q else 0
            end = min(start + limit, total)
            body = json.dumps({"object": "list", "url": "/v1/customers", "has_more": end < total,
                               "data": [customer(i) for i in range(start, end)]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def serve(total: int, port: int = 0) -> ThreadingHTTPServer:
    return ThreadingHTTPServer(("127.0.0.1", port), make_handler(total))


if __name__ == "__main__":
    server = serve(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    print(server.server_address[1], flush=True)
    server.serve_forever()
