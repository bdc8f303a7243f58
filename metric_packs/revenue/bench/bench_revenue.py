"""Time the revenue pack on a generated history and report its peak memory.

    python metric_packs/revenue/bench/bench_revenue.py --accounts 20000 --months 36 --items 3

Generation runs in one process, the pack in a fresh one (so its peak RSS is the pack's own).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def generate(db: Path, accounts: int, months: int, items: int) -> dict:
    from csconnect.store import Store
    from revenue_fakes import generate as fake
    store = Store(db)
    started = time.monotonic()
    with store.transaction():
        meta = fake(store.conn, accounts, months, items=items)
    counts = {t: store.count(t) for t in ("invoice_lines", "invoices", "subscriptions", "accounts", "deals")}
    store.close()
    return {**meta, "counts": counts, "generate_seconds": round(time.monotonic() - started, 1)}


def run(db: Path, as_of: str) -> dict:
    import logging

    import csconnect_pack_revenue.plugin as plugin
    from csconnect.config import Config
    from csconnect.metrics import run_metrics
    from csconnect.plugins import build_registry
    from csconnect.store import Store
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    store = Store(db)
    config = Config(None, db.parent, db, fx_rates={"EUR": 1.08})
    registry = build_registry([plugin], entry_points=False)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    result = run_metrics(store, config, registry, ["revenue"], as_of=as_of)[0]
    seconds = time.monotonic() - started
    out = {"status": result.status, "reason": result.reason, "seconds": round(seconds, 2),
           "values": result.values, "account_values": result.account_values,
           "movements": store.count("mrr_movements"), "pipeline": store.count("renewal_pipeline"),
           "rss_before_mb": rss_before // 1024,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--items", type=int, default=1)
    ap.add_argument("--db", type=Path)
    ap.add_argument("--run-only", metavar="AS_OF")
    args = ap.parse_args()
    if args.run_only:
        print(json.dumps(run(args.db, args.run_only)))
        return
    db = args.db or Path(tempfile.mkdtemp()) / "bench.db"
    meta = generate(db, args.accounts, args.months, args.items)
    print(json.dumps(meta))
    proc = subprocess.run([sys.executable, __file__, "--db", str(db), "--run-only", meta["as_of"]],
                          capture_output=True, text=True)
    sys.stderr.write(proc.stderr)
    print(proc.stdout.strip())


if __name__ == "__main__":
    main()
