"""Benchmark the health pack: generate a company's canonical rows and the other packs' outputs, time a run.

    python metric_packs/health/bench/bench_health.py --accounts 300            # ~2 years of history
    python metric_packs/health/bench/bench_health.py --accounts 20000 --dir /tmp/health-bench

The other packs' per-account outputs (`mrr`, `seat_utilisation`, `mau`, `seats`, `csat`, `usage_trend`)
are written straight into account_metrics, as revenue/support/usage would leave them; tickets,
invoices, NPS answers, activities and usage_daily (with feature lists) go into the canonical tables.
The pack runs in a child process so its time and peak memory are measured alone.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

SYNCED = "2026-06-30T23:00:00Z"
AS_OF = "2026-06-30"
FEATURES = [f"feature_{i:02d}" for i in range(12)]
SEGMENTS = (("smb", 0.6, (3, 20)), ("mid_market", 0.3, (20, 150)), ("enterprise", 0.1, (150, 1500)))


def _months(first: date, n: int) -> list[date]:
    out, d = [], first
    for _ in range(n):
        out.append(d)
        d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return out


def _ins(conn: Any, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                     [tuple(r[c] for c in cols) for r in rows])


def generate(db_path: Path, accounts: int, months: int, usage_days: int, seed: int) -> dict[str, int]:
    from csconnect.store import Store

    rng = random.Random(seed)
    store = Store(db_path)
    conn = store.conn
    y, m0 = divmod(2026 * 12 + 5 - (months - 1), 12)        # months ending with June 2026
    month_list = _months(date(y, m0 + 1, 1), months)
    counts = {"accounts": accounts, "usage_daily": 0, "tickets": 0, "invoices": 0, "activities": 0, "nps": 0,
              "account_metrics": 0}
    n = 0

    def common(a: str, kind: str) -> dict[str, Any]:
        nonlocal n
        n += 1
        return {"id": f"bench:{kind}{n}", "source": "bench", "source_id": f"{kind}{n}", "account_id": a,
                "synced_at": SYNCED}

    for i in range(accounts):
        a = f"acct_{i:05d}"
        seg, seats_range = next((s, r) for s, p, r in SEGMENTS if rng.random() < p or s == "enterprise")
        seats = rng.randint(*seats_range)
        health = rng.betavariate(5, 2)
        start = rng.randrange(0, months // 2)
        am, usage, tickets, invoices, acts, nps = [], [], [], [], [], []
        mrr = seats * rng.randint(2_000, 6_000)
        with store.transaction():
            conn.execute("INSERT INTO accounts (account_id, name, segment, seats, created_at) VALUES (?, ?, ?, ?, ?)",
                         (a, a, seg, seats, f"{month_list[start].isoformat()}T00:00:00Z"))
            users = max(1, int(seats * (0.2 + 0.7 * health)))
            for k, m in enumerate(month_list[start:], start=start):
                ms = m.isoformat()
                mrr = max(0, mrr * (1 + rng.gauss(0.01 * (health - 0.5), 0.03)))
                mau = min(seats, max(0, int(users * rng.uniform(0.6, 1.0))))
                am += [(a, "mrr", "month", ms, mrr), (a, "seats", "month", ms, seats),
                       (a, "mau", "month", ms, mau), (a, "seat_utilisation", "month", ms, mau / seats)]
                if rng.random() < 0.5:
                    am.append((a, "csat", "month", ms, min(1.0, max(0.0, rng.gauss(health, 0.15)))))
                for w in range(4):
                    am.append((a, "usage_trend", "week", (m + timedelta(days=7 * w)).isoformat(),
                               rng.uniform(0.6, 1.3)))
                for _ in range(min(users, 5)):
                    user = f"u{rng.randrange(users)}"
                    for day in rng.sample(range(28), usage_days):
                        usage.append({**common(a, "u"), "user_id": user, "day": (m + timedelta(days=day)).isoformat(),
                                      "events": rng.randint(1, 40),
                                      "features": json.dumps(rng.sample(FEATURES, rng.randint(1, 3)))})
                for _ in range(rng.choice((0, 1, 1, 2, 3))):
                    created = m + timedelta(days=rng.randrange(28), seconds=rng.randrange(86400))
                    solved = created + timedelta(days=rng.randint(0, 6))
                    tickets.append({**common(a, "t"), "created_at": created.isoformat() + "T09:00:00Z",
                                    "status": "solved", "solved_at": solved.isoformat() + "T15:00:00Z",
                                    "reopens": int(rng.random() < 0.1), "escalated": int(rng.random() < 0.05)})
                paid = rng.random() < 0.97
                invoices.append({**common(a, "i"), "status": "paid" if paid else "open", "currency": "USD",
                                 "total": int(mrr), "created_at": ms + "T00:00:00Z",
                                 "paid_at": (m + timedelta(days=rng.randint(0, 20))).isoformat() + "T00:00:00Z"
                                 if paid else None})
                for _ in range(rng.choice((0, 1, 2, 3))):
                    acts.append({**common(a, "a"), "kind": rng.choice(("call", "email", "meeting", "note")),
                                 "occurred_at": (m + timedelta(days=rng.randrange(28))).isoformat() + "T10:00:00Z"})
                if rng.random() < 0.15:
                    score = min(10, max(0, round(rng.gauss(10 * health, 2))))
                    nps.append({**common(a, "n"), "kind": "nps", "score": score, "scale_min": 0, "scale_max": 10,
                                "responded_at": ms + "T12:00:00Z"})
            conn.executemany("INSERT INTO account_metrics VALUES (?, ?, ?, ?, ?)", am)
            conn.execute("INSERT INTO account_metrics VALUES (?, 'usage_trend', 'day', ?, ?)", (a, AS_OF, 0.9))
            _ins(conn, "usage_daily", usage)
            _ins(conn, "tickets", tickets)
            _ins(conn, "invoices", invoices)
            _ins(conn, "activities", acts)
            _ins(conn, "survey_responses", nps)
        for key, rows in (("account_metrics", am), ("usage_daily", usage), ("tickets", tickets),
                          ("invoices", invoices), ("activities", acts), ("nps", nps)):
            counts[key] += len(rows)
    store.close()
    return counts


def run_child(db_path: Path) -> None:
    from csconnect.config import Config
    from csconnect.metrics import run_metrics
    from csconnect.plugins import build_registry
    from csconnect.store import Store
    import csconnect_pack_health.plugin as plugin

    store = Store(db_path)
    config = Config(None, db_path.parent, db_path)
    started, cpu = time.monotonic(), time.process_time()
    [result] = run_metrics(store, config, build_registry([plugin], entry_points=False), ["health"], as_of=AS_OF)
    wall, cpu = time.monotonic() - started, time.process_time() - cpu
    scored = store.count("account_health")
    history = store.count("account_health_history")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"status": result.status, "reason": result.reason, "wall": round(wall, 1), "cpu": round(cpu, 1),
                      "peak_mb": round(peak), "account_health": scored, "history_rows": history}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=300)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--usage-days", type=int, default=4, help="active days per user and month (≤ 5 users)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dir", help="keep the database here (reused when it exists)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_child(Path(args.child))
        return
    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="health-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "csconnect.db"
    if not db.exists():
        started = time.monotonic()
        counts = generate(db, args.accounts, args.months, args.usage_days, args.seed)
        print(f"generated in {time.monotonic() - started:.0f}s: {counts}")
    out = subprocess.run([sys.executable, __file__, "--child", str(db)], capture_output=True, text=True)
    print(out.stdout.strip() or out.stderr[-2000:])
    if not args.dir:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
