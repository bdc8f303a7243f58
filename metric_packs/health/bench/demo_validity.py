"""How well the health score tracks the demo company's hidden account health (a check, not a tuning loop).

    csconnect demo --dir /tmp/demo-health --accounts 300
    python metric_packs/health/bench/demo_validity.py --dir /tmp/demo-health [--run] [--inputs]

The demo simulator (`connectors/demo/csconnect_demo/world.py`) gives every account a hidden health
per month (0-1) that drives its usage, tickets, CSAT, NPS, touches and churn, and sours it in the
months before a customer leaves. This script rebuilds that world from the project's csconnect.toml,
matches its accounts to the database's (through the billing customer id) and prints:

- the band counts and mean score of the last month (the pack's monthly metrics);
- Spearman's rank correlation between every weekly score and the hidden health of that month;
- the mean weekly score 30-60 days before a paid customer churned, against every other weekly score;
- how many churned customers were red or yellow in the 90 days before they left, and how early;
- with `--inputs`, each input's mean score and its rank correlation with the hidden health
  (over every weekly instant), to see which inputs saturate and which carry signal.

`--run` re-runs the health pack (as of the last simulated day) first, e.g. after changing its rules.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

DAY = 86_400


def ranks(xs: list[float]) -> list[float]:
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    out = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(xs: list[float], ys: list[float]) -> float:
    if len(xs) < 3:
        return float("nan")
    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    num = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    den = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return num / den if den else float("nan")


def unix(day: str) -> int:
    return int(datetime.fromisoformat(day[:10]).replace(tzinfo=timezone.utc).timestamp()) + DAY - 1


class _Capture:
    """A connection proxy that copies each chunk's per-input scores (temp.h_sc) before the pack drops them."""

    def __init__(self, conn: Any):
        self._conn = conn
        self.made = False

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.strip() == "DROP TABLE IF EXISTS temp.h_sc" and self._conn.execute(
                "SELECT 1 FROM temp.sqlite_master WHERE name = 'h_sc'").fetchone():
            if not self.made:
                self._conn.execute("DROP TABLE IF EXISTS temp.diag_sc")
                self._conn.execute("CREATE TEMP TABLE diag_sc AS SELECT h.*, t.label AS label FROM temp.h_sc h "
                                   "JOIN temp.h_at t ON t.t = h.t WHERE 0")
                self.made = True
            self._conn.execute("INSERT INTO temp.diag_sc SELECT h.*, t.label FROM temp.h_sc h "
                               "JOIN temp.h_at t ON t.t = h.t WHERE t.label IS NOT NULL")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="/tmp/demo-health", help="the demo project folder")
    ap.add_argument("--run", action="store_true", help="re-run the health pack first")
    ap.add_argument("--inputs", action="store_true", help="per-input figures (re-runs the pack)")
    args = ap.parse_args()

    from csconnect.project import Project
    from csconnect_demo.clock import DAY as WDAY
    from csconnect_demo.world import World
    assert WDAY == DAY

    project = Project(Path(args.dir) / "csconnect.toml")
    conn_cfg = next(iter(project.config.connections.values()))
    opts = conn_cfg.settings
    seed, n, end_month = int(opts.get("seed", 42)), int(opts.get("accounts", 300)), str(opts["end_month"])
    world = World(seed=seed, accounts=n, months=24, end_month=end_month)
    as_of = date.fromtimestamp(world.end - DAY).isoformat()
    db = project.store.conn

    if args.run or args.inputs:
        store = project.store
        cap = None
        if args.inputs:
            import csconnect_pack_health.engine as engine
            original = engine.Engine.__init__

            def init(self: Any, ctx: Any, *a: Any, **k: Any) -> None:
                nonlocal cap
                original(self, ctx, *a, **k)
                cap = self.db = _Capture(ctx.db)
            engine.Engine.__init__ = init  # type: ignore[method-assign]
        started = time.monotonic()
        [res] = project.run_metrics(["health"], as_of=as_of)
        print(f"health pack: {res.status} {res.reason or ''} in {time.monotonic() - started:.1f} s", file=sys.stderr)
        del store

    by_cus = {a.cus_id: a for a in world.accounts}
    acct = {}
    for account_id, source_id in db.execute(
            "SELECT account_id, source_id FROM source_accounts WHERE source = 'demo_billing' AND account_id IS NOT NULL"):
        if source_id in by_cus:
            acct[account_id] = by_cus[source_id]

    def hidden(a: Any, day: str) -> float:
        return a.health[world.month_index(unix(day))]

    # Churn events: a paid subscription that ended inside the window (trials that lapse are not churn).
    churn: dict[str, list[int]] = defaultdict(list)
    for account_id, a in acct.items():
        for s in a.subs:
            if s.end_kind and s.end_kind != "trial" and s.ended_at is not None and s.ended_at < world.end:
                churn[account_id].append(s.ended_at)

    hist = db.execute("SELECT account_id, as_of, score, band FROM account_health_history").fetchall()
    xs, ys = [], []
    before, others = [], []
    for account_id, day, score, band in hist:
        a = acct.get(account_id)
        if a is None:
            continue
        xs.append(score)
        ys.append(hidden(a, day))
        t = unix(day)
        if any(30 * DAY <= e - t <= 60 * DAY for e in churn.get(account_id, ())):
            before.append(score)
        else:
            others.append(score)

    last = end_month + "-01"
    mv = {r[0]: r[1] for r in db.execute(
        "SELECT metric, value FROM metric_values WHERE segment_by = 'all' AND period_start = ? AND metric IN "
        "('health_score_mean', 'accounts_green', 'accounts_yellow', 'accounts_red')", [last])}
    print(f"month {end_month}: mean {mv.get('health_score_mean', float('nan')):.1f}; green "
          f"{mv.get('accounts_green', 0):.0f}, yellow {mv.get('accounts_yellow', 0):.0f}, red "
          f"{mv.get('accounts_red', 0):.0f}")
    bands = defaultdict(int)
    for _, day, _, band in hist:
        bands[band] += 1
    total = sum(bands.values())
    print(f"weekly rows: {total}; " + ", ".join(f"{b} {bands[b] / total:.0%}" for b in ("green", "yellow", "red")))
    print(f"Spearman(weekly score, hidden health) = {spearman(xs, ys):.3f} over {len(xs)} rows")
    print(f"mean score 30-60 days before churn: {statistics.fmean(before):.1f} ({len(before)} rows) vs "
          f"{statistics.fmean(others):.1f} for every other row")

    by_account: dict[str, list[tuple[int, float, str]]] = defaultdict(list)
    for account_id, day, score, band in hist:
        by_account[account_id].append((unix(day), score, band))
    warned = red = 0
    leads = []
    events = [(aid, e) for aid, ends in churn.items() for e in ends]
    scored_events = 0
    for aid, e in events:
        rows = [(t, s, b) for t, s, b in by_account.get(aid, ()) if e - 90 * DAY <= t < e]
        if not rows:
            continue
        scored_events += 1
        flagged = [t for t, _, b in rows if b != "green"]
        if flagged:
            warned += 1
            leads.append((e - min(flagged)) / DAY)
        if any(b == "red" for _, _, b in rows):
            red += 1
    lead = f", median lead {statistics.median(leads):.0f} days" if leads else ""
    print(f"churned paid customers with weekly scores in their last 90 days: {scored_events}; red or yellow "
          f"beforehand: {warned} ({warned / max(1, scored_events):.0%}), red: {red}{lead}")
    # And the other way round: how often a non-green week is followed by churn within 90 days.
    follow = defaultdict(lambda: [0, 0])
    for aid, rows in by_account.items():
        ends = churn.get(aid, ())
        for t, _, b in rows:
            follow[b][0] += 1
            follow[b][1] += any(0 < e - t <= 90 * DAY for e in ends)
    print("weeks followed by churn within 90 days: " + ", ".join(
        f"{b} {follow[b][1] / max(1, follow[b][0]):.1%} of {follow[b][0]}" for b in ("green", "yellow", "red")))

    if args.inputs and cap is not None and cap.made:
        from csconnect_pack_health.catalogue import INPUTS
        cur = db.execute("SELECT * FROM temp.diag_sc")
        names = [c[0] for c in cur.description]
        rows = [dict(zip(names, r)) for r in cur]
        print(f"\nper input over {len(rows)} weekly (account, instant) rows:")
        print(f"{'input':18} {'has data':>8} {'mean':>6} {'=100':>6} {'=0':>6} {'rho':>6}")
        for i in INPUTS:
            s = [(r[f"s_{i.name}"], hidden(acct[r['account_id']], r["label"])) for r in rows
                 if r[f"s_{i.name}"] is not None and r["account_id"] in acct]
            if not s:
                print(f"{i.name:18} {'0':>8}")
                continue
            vals = [v for v, _ in s]
            print(f"{i.name:18} {len(s) / len(rows):8.0%} {statistics.fmean(vals):6.1f} "
                  f"{sum(v >= 99.995 for v in vals) / len(vals):6.0%} {sum(v <= 0.005 for v in vals) / len(vals):6.0%} "
                  f"{spearman(vals, [h for _, h in s]):6.2f}")
    project.close()


if __name__ == "__main__":
    main()
