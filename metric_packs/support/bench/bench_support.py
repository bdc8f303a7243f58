"""Time the support pack on synthetic data: python bench/bench_support.py [TICKETS] [--grains month,week].

Builds a throwaway database (5,000 accounts, 60 assignees, 3 years, one survey answer per five
tickets) in a temporary folder, runs the pack as of 2026-06-30 and prints wall time and peak memory.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from csconnect.config import Config
from csconnect.metrics import run_metrics
from csconnect.model import TABLES
from csconnect.plugins import build_registry
from csconnect.store import Store

import csconnect_pack_support.plugin as plugin

START = datetime(2023, 7, 1, tzinfo=timezone.utc)
SPAN = (datetime(2026, 6, 30, tzinfo=timezone.utc) - START).total_seconds()
ACCOUNTS = 5000


def ts(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def build(store: Store, n: int, rng: random.Random) -> None:
    with store.transaction() as c:
        c.executemany(
            "INSERT INTO accounts (account_id, name, segment, lifecycle_stage, country, owner, seats, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(f"a{i}", f"A{i}", rng.choice(["smb", "mid", "enterprise"]), "customer",
              rng.choice(["US", "DE", "FR", "GB", "JP"]), f"o{i % 40}", rng.choice([None, 5, 10, 50, 200]),
              ts(START - timedelta(days=rng.randint(0, 900)))) for i in range(ACCOUNTS)])
    cols, batch = TABLES["tickets"].column_names, []
    for i in range(n):
        created = START + timedelta(seconds=rng.random() * SPAN)
        roll = rng.random()
        status = "solved" if roll < 0.7 else "closed" if roll < 0.85 else rng.choice(["new", "open", "pending"])
        reply = created + timedelta(seconds=rng.expovariate(1 / 3600)) if rng.random() < 0.9 else None
        solved = created + timedelta(seconds=rng.expovariate(1 / 86400)) if status in ("solved", "closed") else None
        row = dict(id=f"zd:{i}", source=rng.choice(["zd", "zd", "zd", "hs"]), source_id=str(i),
                   account_id=f"a{rng.randrange(ACCOUNTS)}" if rng.random() < 0.95 else None,
                   synced_at="2026-06-30T00:00:00Z", channel=rng.choice(["email", "chat", "web", "phone"]),
                   status=status, priority=rng.choice(["low", "normal", "high", "urgent"]), subject=f"Help {i}",
                   created_at=ts(created), first_reply_at=ts(reply) if reply else None,
                   solved_at=ts(solved) if solved else None, agent_replies=rng.choice([0, 1, 1, 1, 2, 3]),
                   reopens=rng.choice([0, 0, 0, 0, 1]), assignee=f"agent{rng.randrange(60)}",
                   tags=json.dumps(rng.choice([[], ["billing"], ["escalated", "vip"], ["bug"]])),
                   escalated=rng.choice([None, None, 0, 1]))
        batch.append([row.get(c) for c in cols])
        if len(batch) == 50_000 or i == n - 1:
            with store.transaction() as c:
                c.executemany(store.upsert_sql("tickets"), batch)
            batch = []
    cols, batch = TABLES["survey_responses"].column_names, []
    for i in range(n // 5):
        kind = rng.choice(["csat", "nps", "ces"])
        lo, hi = {"csat": rng.choice([(1, 5), (0, 2), (0, 1)]), "nps": (0, 10),
                  "ces": rng.choice([(1, 7), (1, 7), (1, 5)])}[kind]
        row = dict(id=f"sv:{i}", source="sv", source_id=str(i), account_id=f"a{rng.randrange(ACCOUNTS)}",
                   synced_at="2026-06-30T00:00:00Z", kind=kind, score=rng.randint(lo, hi), scale_min=lo,
                   scale_max=hi, contact_id=f"c{rng.randrange(40_000)}", responded_at=ts(
                       START + timedelta(seconds=rng.random() * SPAN)),
                   ticket_id=f"zd:{rng.randrange(n)}" if kind == "csat" else None)
        batch.append([row.get(c) for c in cols])
    with store.transaction() as c:
        c.executemany(store.upsert_sql("survey_responses"), batch)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tickets", type=int, nargs="?", default=100_000)
    parser.add_argument("--grains", default="month,week")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        store = Store(path)
        started = time.monotonic()
        build(store, args.tickets, random.Random(42))
        print(f"built {args.tickets:,} tickets in {time.monotonic() - started:.1f} s")
        config = Config(None, Path(tmp), path, env={})
        config.packs = {"support": {"grains": args.grains.split(",")}}
        registry = build_registry([plugin], entry_points=False)
        started, cpu = time.monotonic(), time.process_time()
        [result] = run_metrics(store, config, registry, ["support"], as_of="2026-06-30")
        print(f"{result.status}: {result.values:,} metric values, {result.account_values:,} account values; "
              f"{time.monotonic() - started:.1f} s wall, {time.process_time() - cpu:.1f} s CPU, peak RSS "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
        store.close()


if __name__ == "__main__":
    main()
