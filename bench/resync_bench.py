"""A re-sync with nothing changed, for Stripe, HubSpot and Zendesk: requests per path and time.

    python bench/resync_bench.py [--vendors stripe,hubspot,zendesk]

Each vendor's account is the fault tests' one (tests/faults/vendors.py: a few dozen records
per stream, small pages), served over real HTTP by tests/faults/fault_server.py with no faults.
`csconnect sync --no-link` runs twice as a subprocess; the server counts what the second run
asks for. (bench/sync_bench.py does the same for Stripe after a sync of a million customers.)
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from measure import timed  # noqa: E402

CLI = Path(sys.executable).with_name("csconnect")


def shape(path: str) -> str:
    """/api/v2/tickets/17/metrics -> /api/v2/tickets/{id}/metrics (ids of any vendor)."""
    return re.sub(r"/(?:\d+|(?:cus|in|sub|ii|prod|price|si|il)_[A-Za-z0-9_]+)(?=/|$)", "/{id}", path)


def resync(vendor_name: str) -> dict:
    from tests.faults.fault_server import FaultServer
    from tests.faults.vendors import VENDORS

    vendor = VENDORS[vendor_name]()
    with tempfile.TemporaryDirectory() as tmp, FaultServer(vendor.handler, vendor.name) as server:
        config = Path(tmp) / "csconnect.toml"
        config.write_text(vendor.toml(server.base_url))
        cmd = [str(CLI), "--config", str(config), "sync", "--no-link", "--format", "json"]
        first = timed(cmd, vendor.env)
        first_requests = len(server.arrivals)
        server.reset()
        again = timed(cmd, vendor.env)
        by_path = Counter(shape(a.path) for a in server.arrivals)
        streams = json.loads(again["stdout"])
    return {"vendor": vendor_name, "streams": len(streams), "records_first": sum(r["records"] for r in
                                                                                  json.loads(first["stdout"])),
            "requests_first": first_requests, "seconds_first": round(first["seconds"], 2),
            "requests": sum(by_path.values()), "records": sum(r["records"] for r in streams),
            "seconds": round(again["seconds"], 2), "cpu_seconds": round(again["cpu_seconds"], 2),
            "by_path": dict(sorted(by_path.items())), "load": again["load"],
            "statuses": sorted({r["status"] for r in streams})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vendors", default="stripe,hubspot,zendesk")
    args = ap.parse_args()
    for name in args.vendors.split(","):
        r = resync(name.strip())
        print(f"{r['vendor']}: first sync {r['records_first']} records, {r['requests_first']} requests, "
              f"{r['seconds_first']} s; re-sync {r['streams']} streams, {r['records']} records, "
              f"{r['requests']} requests, {r['seconds']} s wall, {r['cpu_seconds']} s CPU "
              f"(status {', '.join(r['statuses'])}; load {r['load']})")
        for path, n in r["by_path"].items():
            print(f"    {n:4} {path}")


if __name__ == "__main__":
    main()
