"""A flaky API: about 30 % of requests answered 429, 5xx or a dropped connection.

For each of Stripe, HubSpot and Zendesk, the account is synced once from a healthy server (the
reference) and once from the same server with a seeded FaultPlan (fault_server.py) that fails
about 30 % of the requests, each vendor in its own way (vendors.py): 429 with and without
Retry-After in the vendor's shape, 500/502/503 with the vendor's error envelope (or a load
balancer's HTML), connections closed before the answer and in the middle of the body. The sync
must succeed and the two databases must be equal row for row.

The server records when every request arrived, so the waits are checked too: the retry of a
request that was answered with Retry-After: N (or a HubSpot SECONDLY 429, whose window is one
second) arrives at least N seconds after that answer; any other retry waits at least the lower
bound of the client's backoff. The backoff's first step is shortened to 0.2 s for this test
(hooked_cli.py); the waits the server asks for are not.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from .fault_server import Arrival, FaultPlan, FaultServer
from .harness import Project, counts, differences, snapshot
from .vendors import VENDORS

RATE = 0.3
BACKOFF_INITIAL = 0.2
MASK = ("since",)
SEED = os.environ.get("FAULTS_SEED", "csconnect")     # another seed: other requests fail
FIGURES: dict[str, dict] = {}


def least_wait(fault: Arrival) -> float:
    """What the client must wait after this fault: what the server asked, else its backoff's floor."""
    if fault.wait is not None:
        return fault.wait
    return BACKOFF_INITIAL * 2 ** (fault.attempt - 1) / 2      # equal jitter: at least half a step


@pytest.mark.parametrize("name", ["stripe", "hubspot", "zendesk"])
def test_sync_through_a_flaky_api_equals_a_clean_sync_and_obeys_the_waits(name: str, tmp_path: Path) -> None:
    vendor = VENDORS[name]()
    kinds = {vendor.faults(Arrival(0, 0.0, "GET", "/", "", b""), turn).kind for turn in range(20)}
    with FaultServer(vendor.handler, name) as server:
        clean = Project(tmp_path / "clean", vendor, server.base_url)
        assert clean.run().returncode == 0
        server.reset()
        server.plan = FaultPlan(seed=f"{SEED}-{name}", rate=RATE, faults=vendor.faults)
        flaky = Project(tmp_path / "flaky", vendor, server.base_url)
        run = flaky.run(hooks={"FAULTS_BACKOFF_INITIAL": str(BACKOFF_INITIAL)})
        arrivals = list(server.arrivals)

    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert all(r["status"] == "ok" for r in flaky.streams(run).values())
    expected, got = snapshot(clean.db, mask_state=MASK), snapshot(flaky.db, mask_state=MASK)
    assert not differences(expected, got), "\n".join(differences(expected, got))
    assert counts(flaky.db, list(vendor.raw_counts)) == vendor.raw_counts

    faults = [a for a in arrivals if a.fault]
    injected = Counter(a.fault for a in faults)
    assert set(injected) == kinds, injected                 # every kind of fault was met (they take turns)
    assert 0.15 <= len(faults) / len(arrivals) <= 0.45, (len(faults), len(arrivals))   # 30 % of a few dozen

    answered_ok = Counter(a.key for a in arrivals if not a.fault and 200 <= a.status < 300)
    checked = []
    for fault in faults:
        retry = next((a for a in arrivals if a.seq > fault.seq and a.key == fault.key), None)
        assert retry is not None, f"{fault.method} {fault.target} was never retried after {fault.fault}"
        if answered_ok[fault.key] != 1:
            continue        # sent more than once by the sync itself: the next one may not be the retry
        waited = retry.at - fault.answered
        assert waited >= least_wait(fault) - 1e-3, (
            f"{fault.method} {fault.target}: retried {waited:.3f} s after {fault.fault} "
            f"(attempt {fault.attempt}), which asked for at least {least_wait(fault):.3f} s")
        checked.append(fault)
    assert len(checked) >= len(faults) / 2, (len(checked), len(faults))
    assert any(f.wait for f in checked), "no retry after a server-asked wait was timed"
    FIGURES[name] = {"requests": len(arrivals), "faults": dict(injected), "seconds": round(run.seconds, 1)}
