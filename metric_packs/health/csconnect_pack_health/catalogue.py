"""The known inputs of the health score: what each measures, where it comes from, its default rule.

This table is the single source of the scoring rules; the README's table is generated from it
(`python -m csconnect_pack_health.catalogue` prints it, and a test keeps the two the same).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .rules import Bands, Linear, Rule, nps_rule


def pct(x: float) -> str:
    return f"{x * 100:g}%"


def plain(x: float) -> str:
    return f"{x:g}"


def times(x: float) -> str:
    return f"{x:g}×"


def days(x: float) -> str:
    return f"{x:g} d"


@dataclass(frozen=True)
class Input:
    name: str
    group: str                 # default group
    weight: float              # default weight inside that group
    label: str                 # how drivers name it
    higher_better: bool
    rule: Rule
    raw: str                   # what the raw value is
    source: str                # where it is read from
    fmt: Callable[[float], str] = plain
    nps: bool = False
    cap: float | None = None   # default cap: while the input scores 0, the account scores at most this
    why: str = ""              # the reasoning behind the default rule, weight and cap


INPUTS: tuple[Input, ...] = (
    Input("seat_utilisation", "usage", 40, "seat utilisation", True, Linear(0.25, 0.85),
          "MAU / seats of the latest complete month",
          "usage pack: account_metrics `seat_utilisation`, `mau`, `seats` (month)", pct, cap=79,
          why="the clearest adoption signal, so the largest weight; under half the paid seats active is the "
              "usual shelfware warning (50% scores 42), 85% or more is full adoption; a quarter or less "
              "of the seats in use is shelfware and keeps the account out of green"),
    Input("usage_trend", "usage", 30, "usage trend", True, Linear(0.6, 1.0),
          "active users in the last 30 days / in the 30 days before",
          "usage pack: account_metrics `usage_trend` (day at as-of, week for history)", times, cap=79,
          why="a change signal: steady or growing use is healthy (100); a 20% drop in a month scores 50; "
              "losing 40% of active users in 30 days is a collapse that keeps the account out of green "
              "whatever its level"),
    Input("feature_breadth", "usage", 30, "feature breadth", True, Linear(0.1, 0.7),
          "features the account used in the last 30 days / features any account used then",
          "`usage_daily.features` (active user-days)", pct,
          why="accounts using more of the product are stickier; using 70% of what the customer base uses "
              "is full breadth, 10% (one corner of the product) scores 0"),
    Input("csat", "support", 35, "CSAT", True, Linear(0.6, 0.95),
          "mean of the account's monthly CSAT over the last `csat_months` months",
          "support pack: account_metrics `csat` (month)", pct,
          why="the customer's own verdict on support, so the largest support weight; 95% satisfied is "
              "excellent, 60% or less is a support relationship in trouble"),
    Input("open_escalations", "support", 10, "open escalations", False, Bands(False, ((0, 100), (1, 40)), 0),
          "escalated tickets open at the instant",
          "`tickets` (escalated flag, else the support pack's `escalation_tag`)", plain, cap=69,
          why="a risk flag: nearly every account has none (100), so it carries little weight in the average "
              "and acts through its cap instead: two or more open escalations keep the score at 69 or below"),
    Input("ticket_volume", "support", 30, "ticket volume", False, Linear(3.0, 1.0),
          "tickets per seat in the last `window_days` days / the same rate over its peers",
          "`tickets` created, seats (usage pack `seats`, else `accounts.seats`)", times,
          why="friction relative to similar accounts: at or below the peers' rate is normal (100), twice it "
              "scores 50, three times 0"),
    Input("reopen_rate", "support", 25, "reopen rate", False, Linear(0.25, 0.05),
          "tickets solved in the last `window_days` days that were reopened / those solved",
          "`tickets` (solved_at, reopens)", pct,
          why="problems that come back; 5% is a typical helpdesk's rate (100), one in four reopened scores 0"),
    Input("mrr_trend", "business", 35, "MRR trend", True, Linear(-0.25, 0.05),
          "MRR now / MRR `mrr_trend_months` month ends earlier − 1",
          "revenue pack: account_metrics `mrr` (month)", pct, cap=79,
          why="contraction is the commercial signal of a customer pulling back: flat scores 83, growth of 5% "
              "100; losing a quarter of the MRR in 3 months keeps the account out of green"),
    Input("payment_status", "business", 10, "payment status", False,
          Bands(False, ((0, 100), (30, 50), (60, 20)), 0),
          "days the oldest unpaid invoice is past due (0: nothing past due)",
          "`invoices` open or uncollectible, or paid later, `payment_due_days` after creation", days, cap=49,
          why="a risk flag: almost every account pays on time, so a small weight; an invoice more than 60 days "
              "past due is a collections problem and puts the account in red (cap 49)"),
    Input("nps_category", "business", 30, "NPS", True, nps_rule(100, 60, 0),
          "the account's latest NPS answer (0-10) in the last `nps_max_age_days` days",
          "`survey_responses` kind nps", plain, nps=True,
          why="the customer's stated loyalty: promoters 100, passives 60 (satisfied but open to a competitor), "
              "detractors 0"),
    Input("days_since_touch", "business", 25, "last touch", False,
          Bands(False, ((30, 100), (60, 70), (90, 40)), 0),
          "days since the latest activity of a `touch_kinds` kind (or since the account was created)",
          "`activities`", days,
          why="relationship coverage: a touch within a month is normal cadence, a quarter without one "
              "leaves the account unattended (0)"),
)
BY_NAME = {i.name: i for i in INPUTS}
DEFAULT_CAPS = {i.name: float(i.cap) for i in INPUTS if i.cap is not None}
GROUP_WEIGHTS = {"usage": 40.0, "support": 30.0, "business": 30.0}
DEFAULT_GROUPS: dict[str, tuple[float, dict[str, float]]] = {
    g: (w, {i.name: float(i.weight) for i in INPUTS if i.group == g}) for g, w in GROUP_WEIGHTS.items()}


def rule_text(inp: Input, rule: Rule) -> str:
    if inp.nps:
        return (f"promoter (9-10) → {rule.score(10):g}, passive (7-8) → {rule.score(7.5):g}, "
                f"detractor (0-6) → {rule.score(0):g}")
    return rule.describe(inp.fmt)


def markdown_table() -> str:
    """The README's table of inputs and default rules."""
    lines = ["| input | group (weight) | raw value | default rule | cap | why | from |",
             "|---|---|---|---|---|---|---|"]
    for i in INPUTS:
        cap = f"{i.cap:g}" if i.cap is not None else "—"
        lines.append(f"| `{i.name}` | {i.group} ({i.weight:g}) | {i.raw} | {rule_text(i, i.rule)} | {cap} | "
                     f"{i.why} | {i.source} |")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(markdown_table())
