"""Ticket metrics: volume, backlog, reply and resolution times, FCR, reopens, escalations."""
from __future__ import annotations

from csconnect import MetricContext, Period

from .engine import Aggregator, Key, Output
from .policy import Policy
from .sql import seconds_sql, tickets_sql

Counts = dict[str, dict[Key, float]]       # period key -> segment -> count


def run_tickets(ctx: MetricContext, agg: Aggregator, policy: Policy) -> bool:
    """Write every ticket metric for every grain; False when no ticket counts."""
    base = tickets_sql(policy, ctx.as_of_ts)
    sql, params = base
    first = ctx.db.execute(f"WITH base AS ({sql}) SELECT min(created_at) FROM base", params).fetchone()[0]
    if first is None:
        return False
    seat_totals: dict[Key, float] = {}
    for account_id, seats in ctx.db.execute("SELECT account_id, seats FROM accounts WHERE seats > 0"):
        for key in agg.account_keys(account_id):
            seat_totals[key] = seat_totals.get(key, 0.0) + seats
    solved = "solved_at IS NOT NULL"
    fcr_den = f"{solved} AND agent_replies IS NOT NULL" + (
        " AND agent_replies > 0" if policy.fcr_zero_reply == "exclude" else "")
    for grain in policy.grains:
        periods = ctx.periods(grain, first)
        created: Counts = {}
        left: Counts = {}

        def on_created(period: Period, segments: dict[Key, list[float]]) -> None:
            created[period.key] = {key: s[0] for key, s in segments.items()}
            ctx.write_values(("tickets_per_100_seats", period, 100.0 * segments.get(key, [0, 0, 0])[2] / seats,
                              segments.get(key, [0, 0, 0])[2], seats, *key) for key, seats in seat_totals.items())

        def on_left(period: Period, segments: dict[Key, list[float]]) -> None:
            left[period.key] = {key: s[5] for key, s in segments.items()}

        by_account = agg.sums(base, "created_at", ["1", "escalated", "seated"],
                              [Output("tickets_created", 0), Output("escalation_rate", 1, 0)], grain, periods,
                              name="created", on_segments=on_created)
        if grain in agg.account_grains:
            agg.insert_account_metrics(
                f"SELECT g.account_id, 'tickets_per_100_seats', ?, g.p, 100.0 * g.s0 / a.seats FROM {by_account} g "
                "JOIN accounts a ON a.account_id = g.account_id WHERE a.seats > 0", [grain], "tickets_per_100_seats")
        # by the period a ticket left the backlog (its solve time; see sql.tickets_sql)
        left_by_account = agg.sums(
            base, "left_at",
            [solved, f"{solved} AND agent_replies = 1 AND coalesce(reopens, 0) = 0", fcr_den,
             f"{solved} AND reopens > 0", f"{solved} AND reopens IS NOT NULL", "1"],
            [Output("tickets_solved", 0, per_account=False), Output("first_contact_resolution_rate", 1, 2),
             Output("reopen_rate", 3, 4)], grain, periods, name="left", on_segments=on_left)
        write_backlog(ctx, periods, created, left)
        if grain in agg.account_grains:
            account_backlog(ctx, agg, grain, periods, by_account, left_by_account)
        agg.quantiles(base, "created_at", "first_reply_seconds", grain, periods,
                      "first_reply_seconds_median", "first_reply_seconds_p90")
        agg.quantiles(base, "solved_at", seconds_sql("created_at", "solved_at"), grain, periods,
                      "resolution_seconds_median", "resolution_seconds_p90")
    return True


def write_backlog(ctx: MetricContext, periods: list[Period], created: Counts, left: Counts) -> None:
    """Backlog at each period's end = tickets created by then − tickets that left by then, per segment."""
    totals: dict[Key, float] = {("all", "all"): 0.0}
    for period in periods:
        for key, n in created.get(period.key, {}).items():
            totals[key] = totals.get(key, 0.0) + n
        for key, n in left.get(period.key, {}).items():
            totals[key] = totals.get(key, 0.0) - n
        ctx.write_values(("backlog", period, n, None, None, *key) for key, n in totals.items())


def account_backlog(ctx: MetricContext, agg: Aggregator, grain: str, periods: list[Period], created: str,
                    left: str) -> None:
    """Open tickets per account at each period's end, for accounts with any (no row = none open)."""
    table = "temp.support_period_keys"
    ctx.db.execute(f"DROP TABLE IF EXISTS {table}")
    ctx.db.execute(f"CREATE TABLE {table} (p TEXT PRIMARY KEY)")
    ctx.db.executemany(f"INSERT INTO {table} VALUES (?)", [(p.key,) for p in periods])
    agg.temp_tables.append(table)
    agg.insert_account_metrics(f"""
        WITH ev AS (SELECT p, account_id, s0 AS d FROM {created} WHERE account_id IS NOT NULL
                    UNION ALL SELECT p, account_id, -s5 FROM {left} WHERE account_id IS NOT NULL),
             acc AS (SELECT account_id, p, sum(d) AS d FROM ev GROUP BY 1, 2),
             run AS (SELECT account_id, p, sum(d) OVER w AS open, lead(p) OVER w AS next_p FROM acc
                     WINDOW w AS (PARTITION BY account_id ORDER BY p))
        SELECT r.account_id, 'backlog', ?, k.p, r.open FROM run r
        JOIN {table} k ON k.p >= r.p AND (r.next_p IS NULL OR k.p < r.next_p)
        WHERE r.open <> 0""", [grain], "backlog")
