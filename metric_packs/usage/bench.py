"""Benchmark the usage pack on a generated company: prints rows, seconds and peak memory.

    python metric_packs/usage/bench.py                      # ~1.5M usage_daily rows in a temp folder
    python metric_packs/usage/bench.py --accounts 2000 --days 540 --dir /tmp/usage-bench

The data is written through the store's canonical upsert, like a sync and link
would: accounts with segments, monthly seat-priced and flat subscription lines
with their invoices, and one usage_daily row per active user and day. The
metrics run happens in a child process so its peak memory is measured alone.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterator

FEATURES = [f"feature_{i:02d}" for i in range(25)]
SYNCED = "2026-01-01T00:00:00Z"


def _row(table: str, values: dict[str, Any]) -> tuple[Any, ...]:
    from csconnect.model import TABLES
    return tuple(values.get(c) for c in TABLES[table].column_names)


def _months(first: date, last: date) -> Iterator[tuple[date, date]]:
    d = first.replace(day=1)
    while d <= last:
        nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1)
        yield d, nxt
        d = nxt


def generate(db_path: Path, accounts: int, days: int, users_mean: float, seed: int) -> dict[str, Any]:
    from csconnect.store import Store

    rng = random.Random(seed)
    store = Store(db_path)
    conn = store.conn
    end = date(2025, 12, 31)
    start = end - timedelta(days=days - 1)
    sigma = 0.8
    mu = math.log(users_mean) - sigma * sigma / 2
    plans: list[dict[str, Any]] = []
    with store.transaction():
        for a in range(accounts):
            acc = f"acct_{a:05d}"
            created = start + timedelta(days=rng.randrange(0, days // 2))
            conn.execute("INSERT OR REPLACE INTO accounts (account_id, name, segment, lifecycle_stage, country, "
                         "owner, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (acc, f"Account {a}", rng.choice(["smb", "mid_market", "enterprise"]), "customer",
                          rng.choice(["US", "DE", "FR", "GB"]), f"owner_{a % 12}", f"{created}T00:00:00Z"))
            n_users = max(1, int(rng.lognormvariate(mu, sigma)))
            churn = created + timedelta(days=rng.randrange(120, 900)) if rng.random() < 0.3 else None
            plans.append({"acc": acc, "users": n_users, "created": created, "churn": churn,
                          "engagement": rng.uniform(0.05, 0.7), "seat": rng.random() < 0.7,
                          "seats": max(1, int(n_users * rng.uniform(1.0, 1.8)))})
        lines = 0
        for p in plans:
            last = min(end, p["churn"] or end)
            for i, (m0, m1) in enumerate(_months(p["created"], last)):
                qty = p["seats"] if p["seat"] else 1
                inv = f"bill:in_{p['acc']}_{i}"
                conn.execute(store.upsert_sql("invoices"), _row("invoices", {
                    "id": inv, "source": "bill", "source_id": inv[5:], "source_account_id": p["acc"],
                    "account_id": p["acc"], "synced_at": SYNCED, "status": "paid", "currency": "USD",
                    "total": qty * 1000, "amount_paid": qty * 1000, "created_at": f"{m0}T00:00:00Z",
                    "paid_at": f"{m0}T01:00:00Z"}))
                conn.execute(store.upsert_sql("invoice_lines"), _row("invoice_lines", {
                    "id": f"{inv}_l", "source": "bill", "source_id": f"{inv[5:]}_l", "source_account_id": p["acc"],
                    "account_id": p["acc"], "synced_at": SYNCED, "invoice_id": inv,
                    "subscription_id": f"bill:sub_{p['acc']}", "kind": "subscription",
                    "plan_id": "seat_plan" if p["seat"] else "flat_plan", "quantity": qty,
                    "amount": qty * 1000, "currency": "USD", "period_start": f"{m0}T00:00:00Z",
                    "period_end": f"{m1}T00:00:00Z", "interval": "month", "interval_count": 1}))
                lines += 1
    sql = store.upsert_sql("usage_daily")
    rows = 0
    batch: list[tuple[Any, ...]] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        weekend = day.weekday() >= 5
        ds = day.isoformat()
        for p in plans:
            if day < p["created"] - timedelta(days=14) or (p["churn"] and day > p["churn"]):
                continue
            rate = p["engagement"] * (0.25 if weekend else 1.0)
            acc = p["acc"]
            for u in range(p["users"]):
                if rng.random() >= rate * (0.4 + (u % 5) * 0.3):
                    continue
                sessions = rng.randint(1, 4)
                uid = f"{acc}_u{u}"
                feats = rng.sample(FEATURES[: 5 + (u % 20)], rng.randint(0, 3))
                batch.append((f"mix:{uid}:{ds}", "mix", f"{uid}:{ds}", acc, acc, "events", SYNCED, uid, ds,
                              rng.randint(1, 60), sessions, sessions * rng.randint(60, 1800),
                              json.dumps(feats, separators=(",", ":"))))
        if len(batch) >= 50_000 or offset == days - 1:
            with store.transaction():
                conn.executemany(sql, batch)
            rows += len(batch)
            batch = []
    store.close()
    return {"accounts": accounts, "users": sum(p["users"] for p in plans), "usage_rows": rows,
            "invoice_lines": lines, "first_day": start.isoformat(), "last_day": end.isoformat()}


def run_metrics_child(db_path: Path, as_of: str) -> None:
    """In a child process: run the usage pack, print JSON with seconds and peak RSS."""
    from csconnect.metrics import run_metrics
    from csconnect.testing import Workspace
    from csconnect_pack_usage.pack import UsagePack

    ws = Workspace(db_path.parent, UsagePack)       # its database is <folder>/csconnect.db
    started, cpu = time.perf_counter(), time.process_time()
    results = run_metrics(ws.store, ws.config, ws.registry, ["usage"], as_of=as_of)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = results[0]
    print(json.dumps({"status": r.status, "reason": r.reason, "values": r.values,
                      "account_values": r.account_values, "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
                      "peak_rss_mb": round(peak_kb / 1024, 1)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1500)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--users-mean", type=float, default=14.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--as-of", default="2025-12-31")
    ap.add_argument("--dir", help="folder for csconnect.db (reused when it exists)")
    ap.add_argument("--keep", action="store_true", help="keep the generated database")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_metrics_child(Path(args.child), args.as_of)
        return
    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="usage-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "csconnect.db"
    if db_path.exists():
        from csconnect.store import Store
        store = Store(db_path)
        info = {"usage_rows": store.count("usage_daily"), "reused": str(db_path)}
        store.close()
    else:
        t0 = time.perf_counter()
        info = generate(db_path, args.accounts, args.days, args.users_mean, args.seed)
        info["generate_seconds"] = round(time.perf_counter() - t0, 1)
    print("data:", json.dumps(info))
    out = subprocess.run([sys.executable, __file__, "--child", str(db_path), "--as-of", args.as_of],
                         capture_output=True, text=True, check=False)
    if out.returncode:
        sys.stderr.write(out.stderr)
        sys.exit(out.returncode)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    rate = info["usage_rows"] / result["seconds"] if result["seconds"] else 0
    print("metrics:", json.dumps(result))
    print(f"usage_daily rows: {info['usage_rows']:,}  seconds: {result['seconds']} (cpu {result['cpu_seconds']})  "
          f"rows/s: {rate:,.0f}  peak memory: {result['peak_rss_mb']} MB")
    if not args.keep and not args.dir:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
