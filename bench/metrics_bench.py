"""`metrics run` on a large generated company: wall time, CPU time and peak memory per pack.

    python bench/metrics_bench.py                      # scales 1 and 2 (see below); about an hour
    python bench/metrics_bench.py --scales 0.005       # 100 accounts: a few seconds (CI)
    python bench/metrics_bench.py --scales 1 --dir /tmp/mb --keep   # keep (and reuse) the database

Scale 1 is issue 8's large company: 20,000 accounts over 3 years, about 2 million invoice
lines, 10 million usage_daily rows, 300,000 tickets, 60,000 survey answers and 200,000
activities; scale 2 doubles every count. The canonical tables are written straight into a
csconnect database (already linked: account_id set), with `executemany` in primary-key order:

- billing: the revenue pack's own seeded generator (metric_packs/revenue/tests/revenue_fakes.py,
  8 items per invoice: subscriptions, invoices, invoice lines, renewal deals, accounts);
- usage_daily, tickets, survey_responses and activities: generated here, seeded.

Then every pack runs through the library (`Project.run_metrics`), each in its own process in
dependency order (revenue, support, usage, then health, which reads their outputs), measured
from outside with wait4 (bench/measure.py): wall seconds, CPU seconds (user + system) and peak RSS.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from measure import loadavg, timed  # noqa: E402

PACKS = ("revenue", "support", "usage", "health")
BASE = {"accounts": 20_000, "usage_daily": 10_000_000, "tickets": 300_000, "survey_responses": 60_000,
        "activities": 200_000}
MONTHS, ITEMS, FIRST = 36, 8, "2022-01"      # revenue_fakes: ~100 lines per account with 8 items
SYNCED = "2025-01-01T00:00:00Z"
FEATURES = [json.dumps([f"feature_{i:02d}" for i in range(k, k + n)], separators=(",", ":"))
            for k in range(0, 20, 3) for n in (0, 1, 2, 3)]
CHANNELS, PRIORITIES = ("email", "web", "chat", "phone"), ("low", "normal", "normal", "high", "urgent")


def ts(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(db: Path, scale: float, seed: int = 7) -> dict[str, Any]:
    """Write the company; returns the row counts and the as-of day."""
    sys.path.insert(0, str(ROOT / "metric_packs" / "revenue" / "tests"))
    from csconnect.model import TABLES
    from csconnect.store import Store
    from revenue_fakes import generate as billing

    n_accounts = max(10, round(BASE["accounts"] * scale))
    rng = random.Random(seed)
    store = Store(db)
    conn = store.conn
    conn.execute("PRAGMA cache_size=-200000")       # 200 MB page cache while loading
    with store.transaction():
        meta = billing(conn, n_accounts, MONTHS, items=ITEMS, seed=seed, first=FIRST)
    as_of = datetime.strptime(meta["as_of"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    accounts = [(a, datetime.strptime(c, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc))
                for a, c in conn.execute("SELECT account_id, created_at FROM accounts ORDER BY account_id")]
    # every account gets seats (the usage and health packs use them)
    with store.transaction():
        conn.executemany("UPDATE accounts SET seats = ? WHERE account_id = ?",
                         [(rng.choice((5, 10, 20, 50, 100)), a) for a, _ in accounts])

    def insert(table: str, rows: list[tuple]) -> None:
        cols = TABLES[table].column_names
        with store.transaction():
            conn.executemany(f"INSERT INTO [{table}] ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                             rows)

    weights = [rng.lognormvariate(0, 0.8) for _ in accounts]     # some accounts are much bigger
    total_w = sum(weights)

    def share(kind: str, i: int) -> float:
        return BASE[kind] * scale * weights[i] / total_w

    # usage_daily: per account some users, each active on some days of the account's life
    first_day = (as_of - timedelta(days=3 * 365)).date()
    n_usage, batch = 0, []
    for i, (acct, created) in enumerate(accounts):
        start = max(first_day, created.date())
        span = (as_of.date() - start).days + 1
        want = share("usage_daily", i)
        users = max(1, min(200, round(want / max(1, span * 0.35))))
        per_user = max(1, min(span, round(want / users)))
        for u in range(users):
            uid = f"u{u:03d}"
            for d in sorted(rng.sample(range(span), min(span, max(1, round(per_user * rng.uniform(0.5, 1.5)))))):
                day = (start + timedelta(days=d)).isoformat()
                sessions = rng.randint(1, 4)
                sid = f"{acct}:{uid}:{day}"
                batch.append((f"mix:{sid}", "mix", sid, acct, acct, "events", SYNCED, uid, day,
                              rng.randint(1, 80), sessions, sessions * rng.randint(60, 1800), rng.choice(FEATURES)))
        if len(batch) >= 200_000:
            insert("usage_daily", batch)
            n_usage += len(batch)
            batch = []
    insert("usage_daily", batch)
    n_usage += len(batch)

    # tickets (+ CSAT answers on some of them) and NPS answers, activities
    span_s = (as_of - datetime.fromisoformat(f"{FIRST}-01T00:00:00+00:00")).total_seconds()
    t0 = as_of - timedelta(seconds=span_s)
    tickets, answers, acts, n = [], [], [], 0
    for i, (acct, created) in enumerate(accounts):
        life = max(86400.0, (as_of - max(created, t0)).total_seconds())
        since = max(created, t0)
        for _ in range(round(share("tickets", i))):
            n += 1
            at = since + timedelta(seconds=rng.random() * life)
            roll = rng.random()
            status = "solved" if roll < 0.7 else "closed" if roll < 0.85 else rng.choice(("new", "open", "pending"))
            reply = at + timedelta(seconds=rng.expovariate(1 / 3600)) if rng.random() < 0.9 else None
            solved = at + timedelta(seconds=rng.expovariate(1 / 86400)) if status in ("solved", "closed") else None
            tid = f"t{n:08d}"
            tickets.append((f"zd:{tid}", "zd", tid, acct, acct, "tickets", SYNCED, f"req{n % 5000}",
                            rng.choice(CHANNELS), None, status, status, rng.choice(PRIORITIES), None, f"Help {n}",
                            ts(at), ts(reply) if reply else None, ts(solved) if solved else None,
                            rng.choice((0, 1, 1, 2, 3)), rng.choice((0, 0, 0, 1)), f"agent{n % 80}", "Support",
                            rng.choice(('[]', '["billing"]', '["bug"]', '["escalated","vip"]')),
                            rng.choice((None, 0, 0, 1))))
            if solved and rng.random() < 0.2:
                answers.append((f"zd:csat{n:08d}", "zd", f"csat{n:08d}", acct, acct, "satisfaction", SYNCED, "csat",
                                None, rng.choice((0, 1, 1, 1)), 0, 1, None, None, None, f"zd:{tid}", "email",
                                ts(solved + timedelta(hours=2))))
        for k in range(round(share("activities", i))):
            aid = f"{acct}:{k:05d}"
            acts.append((f"crm:{aid}", "crm", aid, acct, acct, "engagements", SYNCED,
                         rng.choice(("call", "email", "meeting", "note")), None,
                         ts(since + timedelta(seconds=rng.random() * life)), rng.choice((None, 900, 1800)),
                         f"owner{i % 12}", None, None))
        if len(tickets) >= 100_000:
            insert("tickets", tickets)
            tickets = []
    insert("tickets", tickets)
    insert("activities", acts)
    n_nps = max(0, round(BASE["survey_responses"] * scale) - len(answers))
    for k in range(n_nps):
        acct, created = accounts[rng.randrange(len(accounts))]
        at = max(created, t0) + timedelta(seconds=rng.random() * (as_of - max(created, t0)).total_seconds())
        answers.append((f"sv:nps{k:08d}", "sv", f"nps{k:08d}", acct, acct, "responses", SYNCED, "nps", None,
                        rng.randint(0, 10), 0, 10, None, None, f"contact{k % 9000}", None, "email", ts(at)))
    answers.sort()
    insert("survey_responses", answers)
    conn.execute("ANALYZE")
    counts = {t: store.count(t) for t in ("accounts", "subscriptions", "invoices", "invoice_lines", "usage_daily",
                                          "tickets", "survey_responses", "activities")}
    store.close()
    return {"as_of": meta["as_of"][:10], "counts": counts}


def run_pack(folder: Path, pack: str, as_of: str) -> None:
    """In a child process: one pack through the library; prints its result as JSON."""
    from csconnect import Project
    started, cpu = time.perf_counter(), time.process_time()
    with Project(folder / "csconnect.toml") as project:
        [result] = project.run_metrics([pack], as_of=as_of)
    print(json.dumps({"status": result.status, "reason": result.reason, "values": result.values,
                      "account_values": result.account_values, "run_seconds": round(time.perf_counter() - started, 2),
                      "run_cpu": round(time.process_time() - cpu, 2)}))


def run_child(folder: Path, pack: str, as_of: str) -> dict[str, Any]:
    r = timed([sys.executable, __file__, "--child", str(folder), pack, as_of])
    return {**json.loads(r.pop("stdout").strip().splitlines()[-1]), **{k: v for k, v in r.items() if k != "stderr"}}


def bench_scale(scale: float, folder: Path, packs: list[str]) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "csconnect.db"
    info_file = folder / "bench-data.json"
    if db.exists() and info_file.exists():
        info = json.loads(info_file.read_text())
        print(f"scale {scale}: reusing {db}")
    else:
        for stale in folder.glob("csconnect.db*"):
            stale.unlink()
        started, load = time.perf_counter(), loadavg()
        info = generate(db, scale)
        info["generate_seconds"] = round(time.perf_counter() - started, 1)
        info["generate_load"] = f"{load} → {loadavg()}"
        info_file.write_text(json.dumps(info))
    info["db_mb"] = round(sum(p.stat().st_size for p in folder.glob("csconnect.db*")) / 2**20)
    print(f"scale {scale}: {json.dumps(info)}", flush=True)
    (folder / "csconnect.toml").write_text('database = "csconnect.db"\n[fx_rates]\nEUR = 1.08\n')
    results = {}
    for pack in packs:
        r = results[pack] = run_child(folder, pack, info["as_of"])
        print(f"  {pack:8} {r['status']:7} wall {r['seconds']:7.1f} s  CPU {r['cpu_seconds']:7.1f} s  "
              f"peak {r['peak_mb']:5.0f} MB  values {r['values']:>9,}  account values {r['account_values']:>9,}  "
              f"load {r['load']}" + (f"  ({r['reason']})" if r["reason"] else ""), flush=True)
        if r["status"] != "ok":
            raise SystemExit(f"pack {pack} did not run: {r['reason']}")
    return {"scale": scale, **info, "packs": results}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default="1,2", help="company sizes, 1 = 20,000 accounts (default 1,2)")
    ap.add_argument("--packs", default=",".join(PACKS))
    ap.add_argument("--dir", type=Path, help="keep each scale's database under DIR/scale-S (reused if there)")
    ap.add_argument("--keep", action="store_true", help="keep the generated databases")
    ap.add_argument("--json", type=Path, help="also write every figure to this file")
    ap.add_argument("--child", nargs=3, metavar=("FOLDER", "PACK", "AS_OF"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_pack(Path(args.child[0]), args.child[1], args.child[2])
        return
    packs = [p.strip() for p in args.packs.split(",") if p.strip()]
    unknown = set(packs) - set(PACKS)
    if unknown:
        ap.error(f"unknown pack {', '.join(sorted(unknown))} (packs: {', '.join(PACKS)})")
    base = args.dir or Path(tempfile.mkdtemp(prefix="metrics-bench-"))
    figures = []
    try:
        for scale in (float(s) for s in args.scales.split(",")):
            figures.append(bench_scale(scale, base / f"scale-{scale:g}", packs))
    finally:
        if not (args.keep or args.dir):
            shutil.rmtree(base, ignore_errors=True)
    if len(figures) > 1:
        a, b = figures[0], figures[-1]
        print(f"growth from scale {a['scale']:g} to {b['scale']:g} (data × {b['scale'] / a['scale']:g}):")
        for pack in packs:
            pa, pb = a["packs"][pack], b["packs"][pack]
            print(f"  {pack:8} wall × {pb['seconds'] / max(pa['seconds'], 0.01):.2f}  "
                  f"CPU × {pb['cpu_seconds'] / max(pa['cpu_seconds'], 0.01):.2f}  "
                  f"peak memory × {pb['peak_mb'] / max(pa['peak_mb'], 1):.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
