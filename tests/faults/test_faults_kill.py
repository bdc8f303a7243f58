"""SIGKILL `csconnect sync` at seeded random moments, resume it, and compare with an uninterrupted sync.

For each of Stripe, HubSpot and Zendesk: one project syncs the account once, uninterrupted (the
reference). A second project syncs the same account with the same command, killed with SIGKILL
again and again at moments drawn from a seeded random generator:

- after the server has answered the k-th request of the run (mid-backfill, mid-page);
- after the j-th request of a child list (Stripe invoice lines, HubSpot associations, Zendesk
  ratings pages);
- inside the writer's n-th page transaction, after its rows and state are written and before
  COMMIT (hooked_cli.py);
- right after a stream is recorded as finished, while the others run (between streams);
- after a random delay (anywhere: start-up, a fetch, a commit, the identity pass).

Each time the same command is run again; the last run completes. Then both databases must be
equal, table by table and row by row (harness.snapshot says which columns are left out and why):
raw tables, canonical tables, identity tables, rejects and the saved stream states.
"""
from __future__ import annotations

import os
import random
from collections import Counter
from pathlib import Path

import pytest

from .fault_server import Arrival, FaultServer, Killer
from .harness import Project, Run, counts, differences, runs, snapshot
from .vendors import VENDORS, Vendor

MASK = ("since",)          # Stripe's state: the server clock when its backfill began
SEED = os.environ.get("FAULTS_SEED", "csconnect")     # another seed: other kill points
KILLS: dict[str, Counter] = {}


def plan(rng: random.Random, vendor: Vendor, requests: int, reference_seconds: float) -> list[tuple[str, float]]:
    """The kill points of one series, in order. Each is sure to land (a run always makes a few
    requests, writes a page per stream and finishes a stream), but the delay. The child-list
    kills come first, while child lists are still to be read; request counts stay small (a
    tenth of the uninterrupted run's requests at most), so the series is still backfilling at
    its end."""
    k = max(2, requests // 10)
    return [("child", rng.randint(1, 2)), ("request", rng.randint(1, k)), ("child", rng.randint(1, 2)),
            ("write", rng.randint(1, 4)), ("request", rng.randint(1, k)), ("stream", 1),
            ("delay", rng.uniform(0.4, 0.8) * reference_seconds), ("write", rng.randint(1, 4)),
            ("request", rng.randint(1, k))]


def killed_run(project: Project, server: FaultServer, vendor: Vendor, how: str, n: float) -> Run:
    if how in ("request", "child"):
        seen = [0]

        def trigger(arrival: Arrival) -> bool:
            if how == "child" and vendor.child_path not in arrival.path:
                return False
            seen[0] += 1
            return seen[0] == n
        killer = Killer(trigger)
        server.on_served = killer
        try:
            return project.run(killer=killer)
        finally:
            server.on_served = None
    if how == "write":
        return project.run(hooks={"FAULTS_KILL_IN_WRITE": str(int(n))})
    if how == "stream":
        return project.run(hooks={"FAULTS_KILL_AFTER_STREAM": str(int(n))})
    return project.run(delay=n)


@pytest.mark.parametrize("name", ["stripe", "hubspot", "zendesk"])
def test_sigkill_and_resume_ends_equal_to_an_uninterrupted_sync(name: str, tmp_path: Path) -> None:
    vendor = VENDORS[name]()
    rng = random.Random(f"{SEED}-sigkill-{name}")
    with FaultServer(vendor.handler, name) as server:
        reference = Project(tmp_path / "uninterrupted", vendor, server.base_url)
        first = reference.run()
        assert first.returncode == 0, first.stderr
        requests = len(server.arrivals)

        # the reference itself holds the whole account, and rejects its one bad record
        assert counts(reference.db, list(vendor.raw_counts)) == vendor.raw_counts
        assert sum(r["rejects"] for r in reference.streams(first).values()) == vendor.rejects

        resumed = Project(tmp_path / "killed", vendor, server.base_url)
        kinds: Counter = Counter()
        for how, n in plan(rng, vendor, requests, first.seconds):
            run = killed_run(resumed, server, vendor, how, n)
            if run.killed:
                kinds[how] += 1
            else:   # only a delay may miss: the run finished first
                assert how == "delay" and run.returncode == 0, (how, n, run.returncode, run.stderr)
            assert "Traceback" not in run.stderr, run.stderr
        last = resumed.run()
        assert last.returncode == 0, last.stderr
        assert "Traceback" not in last.stderr

    assert sum(kinds.values()) >= 8, kinds          # every planned kill but the delayed one landed
    history = runs(resumed.db)
    assert {r["status"] for r in history} <= {"ok", "interrupted"}
    assert sum(r["status"] == "interrupted" for r in history) >= sum(kinds.values()) - kinds["delay"]

    expected, got = snapshot(reference.db, mask_state=MASK), snapshot(resumed.db, mask_state=MASK)
    assert not differences(expected, got), "\n".join(differences(expected, got))
    for table, rows in got.items():
        assert len(rows) == len(set(rows)), f"{table} holds duplicate rows"
    assert counts(resumed.db, list(vendor.raw_counts)) == vendor.raw_counts
    KILLS[name] = kinds
