"""Sync N Stripe-shaped customers from a local server: csconnect vs a hand-written loop vs dlt.

    python bench/sync_bench.py [--records 1000000] [--variants plain,csconnect,dlt] [--no-resync]

Each variant is its own process (so wall time, CPU time and peak RSS are its own, read with
wait4 by bench/measure.py), against a fresh server process (bench/stripe_server.py) that counts the requests it
answers:

- `csconnect`: the real command, `csconnect sync --no-link`, with the real Stripe connector
  (all six streams; five are empty lists here), `rate_limit = 0` (unthrottled) and the key
  in STRIPE_API_KEY;
- `plain`: the fastest honest loop written by hand (`--child-plain`): one keep-alive httpx
  client, `json`, `executemany` of raw + two canonical tables, one commit per page;
- `dlt-parquet`, `dlt`, `dlt-append`: bench/dlt_stripe.py in its own environment (.venv-bench,
  which `make bench` creates): `write_disposition="merge"` (an upsert, as csconnect does) with
  parquet load files, the same with dlt's default load files (insert_values: much slower), and
  `append` with parquet (dlt's fastest). Skipped with a note when .venv-bench is missing.

After csconnect's full sync a second `csconnect sync` runs on the same database against a fresh
server: the re-sync with nothing changed, with the requests it made per path.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from measure import timed  # noqa: E402

ROOT = HERE.parent
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
DLT = {"dlt": ["--write-disposition", "merge"],                    # dlt's defaults (insert_values files)
       "dlt-parquet": ["--write-disposition", "merge", "--loader-file-format", "parquet"],
       "dlt-append": ["--write-disposition", "append", "--loader-file-format", "parquet"]}
API_KEY = "rk_test_benchmark_key"


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
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {API_KEY}"}) as client:
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


class Server:
    """bench/stripe_server.py in its own process; `requests()` is what it has answered."""

    def __init__(self, records: int):
        self.proc = subprocess.Popen([sys.executable, str(HERE / "stripe_server.py"), str(records)],
                                     stdout=subprocess.PIPE, text=True)
        self.url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}"

    def requests(self) -> dict[str, int]:
        import httpx
        return httpx.get(f"{self.url}/_bench/requests").json()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def variant_command(variant: str, url: str, folder: Path) -> tuple[list[str], dict[str, str]]:
    if variant == "plain":
        return [sys.executable, __file__, "--child-plain", url, str(folder / "plain.db")], {}
    if variant == "csconnect":
        write_config(folder, url)
        return [str(Path(sys.executable).parent / "csconnect"), "--config", str(folder / "csconnect.toml"),
                "sync", "--no-link", "--format", "json"], {"STRIPE_API_KEY": API_KEY}
    return [str(BENCH_PYTHON), str(HERE / "dlt_stripe.py"), url, str(folder / "dlt"), *DLT[variant]], {}


def write_config(folder: Path, url: str) -> None:
    (folder / "csconnect.toml").write_text(
        f'[connections.stripe]\nconnector = "stripe"\nbase_url = "{url}"\nrate_limit = 0   # unthrottled\n')


def rows_written(variant: str, folder: Path, stdout: str) -> int:
    if variant == "plain":
        db = folder / "plain.db"
        table = "accounts"
    elif variant == "csconnect":
        db = folder / "csconnect.db"
        table = "source_accounts"
    else:
        return int(json.loads(stdout.strip().splitlines()[-1])["rows"])
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def measure(variant: str, records: int, folder: Path) -> dict:
    server = Server(records)
    try:
        cmd, env = variant_command(variant, server.url, folder)
        result = timed(cmd, env)
        result["requests"] = server.requests()
    finally:
        server.stop()
    result["rows"] = rows_written(variant, folder, result["stdout"])
    if result["rows"] != records:
        raise RuntimeError(f"{variant}: {result['rows']} rows in the database, expected {records}")
    return result


def resync(records: int, folder: Path) -> dict:
    """A second `csconnect sync` on the database of the first: nothing changed at the source."""
    server = Server(records)
    try:
        cmd, env = variant_command("csconnect", server.url, folder)
        result = timed(cmd, env)
        result["requests"] = server.requests()
    finally:
        server.stop()
    streams = json.loads(result["stdout"])
    failed = [f"{r['stream']}: {r['status']} {r.get('error') or ''}" for r in streams if r["status"] != "ok"]
    if failed:
        raise RuntimeError("the re-sync did not complete: " + "; ".join(failed))
    result["streams"] = {r["stream"]: r["records"] for r in streams}
    return result


def show(records: int, variant: str, r: dict) -> None:
    print(f"{records:>9,} {variant:>10} {r['seconds']:>8.1f} {r['cpu_seconds']:>7.1f} "
          f"{records / r['seconds']:>10,.0f} {records / r['cpu_seconds']:>10,.0f} {r['peak_mb']:>8.1f} "
          f"{sum(v for k, v in r['requests'].items() if '?' not in k):>8,}   {r['load']}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", "--sizes", default="1000000",
                        help="records to sync; several sizes comma-separated (default 1000000)")
    parser.add_argument("--variants", default="plain,csconnect,dlt-parquet",
                        help="any of plain,csconnect,dlt-parquet,dlt,dlt-append (default plain,csconnect,dlt-parquet)")
    parser.add_argument("--no-resync", action="store_true", help="skip the re-sync with nothing changed")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--child-plain", nargs=2, metavar=("BASE_URL", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_plain:
        print(run_plain(args.child_plain[0], Path(args.child_plain[1])))
        return
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(variants) - {"plain", "csconnect", *DLT}
    if unknown:
        parser.error(f"unknown variant {', '.join(sorted(unknown))} "
                     f"(variants: plain, csconnect, {', '.join(DLT)})")
    if any(v.startswith("dlt") for v in variants) and not BENCH_PYTHON.exists():
        print(f"note: {BENCH_PYTHON.relative_to(ROOT)} is missing (`make bench` creates it): dlt skipped")
        variants = [v for v in variants if not v.startswith("dlt")]
    figures: list[dict] = []
    print(f"{'records':>9} {'variant':>10} {'wall s':>8} {'CPU s':>7} {'rows/s':>10} {'rows/CPU s':>10} "
          f"{'peak MB':>8} {'requests':>8}   load average before → after")
    for records in (int(s) for s in args.records.split(",")):
        results = {}
        for variant in variants:
            folder = Path(tempfile.mkdtemp(prefix=f"sync-bench-{variant}-"))
            try:
                results[variant] = r = measure(variant, records, folder)
                show(records, variant, r)
                if variant == "csconnect" and not args.no_resync:
                    results["csconnect re-sync"] = again = resync(records, folder)
                    print(f"{records:>9,} {'re-sync':>10} {again['seconds']:>8.1f} {again['cpu_seconds']:>7.1f} "
                          f"{'':>10} {'':>10} {again['peak_mb']:>8.1f} "
                          f"{sum(v for k, v in again['requests'].items() if '?' not in k):>8,}   {again['load']}")
                    paths = {k: v for k, v in again["requests"].items() if "?" not in k}
                    per_stream = sorted(v for k, v in again["requests"].items() if "?" in k)
                    print(f"{'':>9} re-sync: {len(again['streams'])} streams, {sum(again['streams'].values())} "
                          f"records; requests by path {json.dumps(paths, sort_keys=True)}; "
                          f"/v1/events requests per stream: {per_stream}")
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        for other in ("plain", *DLT):
            if "csconnect" in results and other in results:
                wall = results[other]["seconds"] / results["csconnect"]["seconds"]
                cpu = results[other]["cpu_seconds"] / results["csconnect"]["cpu_seconds"]
                print(f"{records:>9,} csconnect's rows/s = {wall:.2f} × {other}'s (per CPU second: {cpu:.2f} ×)")
        figures.append({"records": records, **{k: {f: v for f, v in r.items() if f not in ("stdout", "stderr")}
                                               for k, r in results.items()}})
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
