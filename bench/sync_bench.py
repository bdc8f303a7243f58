"""Sync N Stripe-shaped customers from a local server: csconnect vs a hand-written loop.

    python bench/sync_bench.py [--sizes 20000,200000]

Each variant runs in its own process (so peak memory is its own) against a server in
a third process. Prints records/s and peak RSS per variant and size.
"""
from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_csconnect(base_url: str, db: Path) -> int:
    from csconnect import Connector, Option, Page, Stream
    from csconnect.http import CursorPaginator
    from csconnect.testing import Workspace

    class Customers(Stream):
        name = "customers"
        tables = ("source_accounts", "contacts")

        def pages(self, state):
            paginator = CursorPaginator(param="starting_after", cursor=lambda body, recs: recs[-1]["id"],
                                        has_more="has_more")
            for page in self.connector.http.paginate("/v1/customers", paginator, params={"limit": 100},
                                                     records="data", start=state):
                yield Page(page.records, page.state)

        def normalize(self, r):
            yield "source_accounts", {"source_id": r["id"], "source_account_id": r["id"], "name": r["name"],
                                      "created_at": r["created"], "external_ids": r["metadata"]}
            yield "contacts", {"source_id": r["id"], "source_account_id": r["id"], "email": r["email"],
                               "name": r["name"], "created_at": r["created"]}

    class BenchStripe(Connector):
        name = "benchstripe"
        category = "billing"
        default_base_url = "https://api.stripe.com"
        options = (Option("api_key", str, secret=True),)
        streams = (Customers,)

        def headers(self):
            return {"Authorization": f"Bearer {self.settings['api_key']}"}

    ws = Workspace(db.parent, BenchStripe, connections={"stripe": {"connector": "benchstripe", "api_key": "sk_x",
                                                                   "base_url": base_url, "rate_limit": 0}})
    report = ws.sync()
    assert report.ok, report.results
    return report.results[0].records


def run_plain(base_url: str, db: Path) -> int:
    """The fastest honest loop: keep-alive client, executemany of raw and canonical rows, a commit per page."""
    import httpx
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE raw (id TEXT PRIMARY KEY, data TEXT, synced_at TEXT)")
    conn.execute("CREATE TABLE accounts (id TEXT PRIMARY KEY, name TEXT, created_at TEXT, external_ids TEXT)")
    conn.execute("CREATE TABLE contacts (id TEXT PRIMARY KEY, account TEXT, email TEXT, name TEXT, created_at TEXT)")
    fmt = time.strftime
    n, after = 0, None
    with httpx.Client(base_url=base_url, headers={"Authorization": "Bearer sk_x"}) as client:
        while True:
            params = {"limit": 100} | ({"starting_after": after} if after else {})
            body = client.get("/v1/customers", params=params).json()
            data = body["data"]
            now = fmt("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO raw VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET data=excluded.data",
                             [(r["id"], json.dumps(r), now) for r in data])
            conn.executemany("INSERT OR REPLACE INTO accounts VALUES (?, ?, ?, ?)",
                             [(r["id"], r["name"], fmt("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r["created"])),
                               json.dumps(r["metadata"])) for r in data])
            conn.executemany("INSERT OR REPLACE INTO contacts VALUES (?, ?, ?, ?, ?)",
                             [(r["id"], r["id"], r["email"], r["name"],
                               fmt("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r["created"]))) for r in data])
            conn.execute("COMMIT")
            n += len(data)
            if not body["has_more"]:
                break
            after = data[-1]["id"]
    return n


def child(variant: str, base_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        n = (run_csconnect if variant == "csconnect" else run_plain)(base_url, Path(tmp) / "bench.db")
        seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"variant": variant, "records": n, "seconds": round(seconds, 2),
                      "records_per_s": round(n / seconds), "peak_mb": round(peak_mb, 1)}))


def measure(variant: str, size: int) -> dict:
    server = subprocess.Popen([sys.executable, str(HERE / "stripe_server.py"), str(size)], stdout=subprocess.PIPE,
                              text=True)
    try:
        port = int(server.stdout.readline())
        out = subprocess.run([sys.executable, __file__, "--child", variant, f"http://127.0.0.1:{port}"],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="20000,200000")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "BASE_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(f"{'records':>9} {'variant':>10} {'seconds':>8} {'records/s':>10} {'peak MB':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        results = {v: measure(v, size) for v in ("plain", "csconnect")}
        for r in results.values():
            print(f"{size:>9} {r['variant']:>10} {r['seconds']:>8} {r['records_per_s']:>10} {r['peak_mb']:>8}")
        ratio = results["csconnect"]["records_per_s"] / results["plain"]["records_per_s"]
        print(f"{size:>9} csconnect runs at {ratio:.0%} of the plain loop's speed")


if __name__ == "__main__":
    main()
