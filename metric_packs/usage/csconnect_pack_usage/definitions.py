"""The usage pack's parameters and metrics; each definition is a template filled with the active parameters."""
from __future__ import annotations

from typing import Any, Mapping

from csconnect import Metric, Option

PARAMETERS = (
    Option("customers_from", str, "auto", choices=("auto", "revenue", "billing", "usage"),
           help="customer accounts at month end: `revenue` = the revenue pack's account MRR > 0; `billing` = "
                "accounts with a paying subscription line in service; `usage` = accounts with any usage so "
                "far; `auto` = revenue when it has run, else billing when there is billing data, else usage"),
    Option("seat_plans", list, [],
           help="plan ids (or product ids) billed per seat; empty = every plan some line or subscription "
                "bills with quantity > 1"),
    Option("account_seats_fallback", bool, True,
           help="use accounts.seats for a customer with no seat-priced line in service"),
    Option("active_min_events", int, 1, min=1,
           help="events a user needs on a day to be active that day (a row without an event count counts)"),
    Option("usage_rate_min_users", int, 3, min=1, help="weekly threshold: distinct active users in the ISO week"),
    Option("usage_rate_min_days", int, 3, min=1, max=7,
           help="weekly threshold: days in the ISO week with any active user"),
    Option("usage_rate_rule", str, "users_or_days", choices=("users_or_days", "users", "days", "users_and_days"),
           help="how the two weekly thresholds combine"),
    Option("activation_start", str, "first_mrr", choices=("first_mrr", "first_payment"),
           help="an account's first paid instant: the start of its first paying subscription line, or "
                "its first invoice paid with amount_paid > 0"),
    Option("usage_trend_days", int, 30, min=30, max=366, help="window of the usage trend, in days (at least 30)"),
)

DEFAULTS = {o.name: o.default for o in PARAMETERS}

_USER = ("A user is a user_id within an account (usage rows with no resolved account count in product-wide "
         "figures and in the `(none)` segment); a user is active on a day with >= {active_min_events} events "
         "(active_min_events; a row with no event count counts).")
_WEEKS = ("The month's weeks are the ISO weeks whose Thursday falls in the month and that have fully elapsed "
          "at the as-of instant (all seven days count).")
_SEATS = ("Seats = Σ quantity of seat-priced subscription lines in service at month end (a proration credit "
          "subtracts); seat-priced = {seat_plans}{fallback}.")

TEMPLATES: dict[str, tuple[str, str, str, str]] = {
    # name: (title, unit, direction, definition template)
    "dau": ("Daily active users", "count", "up",
            "Mean over the month's days (to date: through the as-of day) of the distinct users active that day. "
            f"{_USER} A segment's DAU is the sum of its accounts' DAU."),
    "wau": ("Weekly active users", "count", "up",
            f"Mean over the month's weeks of the distinct users active in the week. {_WEEKS} NULL when none "
            "has elapsed yet."),
    "mau": ("Monthly active users", "count", "up",
            f"Distinct users active on at least one day of the month (to date: through the as-of day). {_USER}"),
    "dau_mau": ("Stickiness (DAU/MAU)", "percent", "up",
                "DAU / MAU of the month: numerator Σ DAU, denominator Σ MAU over the segment's accounts."),
    "wau_mau": ("Stickiness (WAU/MAU)", "percent", "up",
                "WAU / MAU of the month: numerator Σ WAU, denominator Σ MAU over the segment's accounts."),
    "seats": ("Seats", "count", "up",
              "Σ seats over customer accounts at month end (per account too). {customers} " + _SEATS),
    "seat_utilisation": ("Seat utilisation", "percent", "up",
                         "Σ MAU / Σ seats over customer accounts with seats at month end (per account too). "
                         "{customers} " + _SEATS),
    "adoption_rate": ("User adoption rate", "percent", "up",
                      "Users active in the month / users with any active day up to the month end (to date: the "
                      "as-of day)."),
    "feature_adoption": ("Feature adoption", "percent", "up",
                         "Per feature (segment_by `feature`): accounts with an active user-day listing the "
                         "feature in the month / accounts with an active user in the month. The `all` row: "
                         "accounts that used any tracked feature / active accounts."),
    "avg_session_seconds": ("Average session length", "seconds", "up",
                            "Σ active_seconds / Σ sessions over the month's active user-days that report both "
                            "(sessions > 0)."),
    "usage_rate": ("Usage rate", "percent", "up",
                   "Share of customer accounts (at month end) meeting the weekly activity threshold, averaged "
                   "over the month's weeks: numerator = account-weeks meeting it, denominator = accounts × "
                   "weeks. An account meets it in a week with {rule}. " + _WEEKS + " {customers}"),
    **{f"activation_week_{k}": (
        f"Activation, week {k}", "percent", "up",
        f"Cohort by the month of the account's first paid day: accounts with an active user in week {k} after "
        f"it (days {7 * (k - 1)}-{7 * k - 1} counted from the first paid day) / accounts of the cohort whose "
        f"week {k} has fully elapsed. First paid = {{activation}}. Accounts first paid before usage data "
        "begins are left out.") for k in (1, 4, 12)},
    "usage_trend": ("Usage trend ({usage_trend_days} days)", "ratio", "up",
                    "Per account (account_metrics, grain `week` as of each week's last day, grain `day` at the "
                    "as-of date): distinct users active in the last {usage_trend_days} days / in the "
                    "{usage_trend_days} days before; NULL when the earlier window had none. By month "
                    "(metric_values): Σ last / Σ previous over accounts, as of the month end (to date: the "
                    "as-of day)."),
}

_CUSTOMERS = {
    "auto": "Customer accounts: account MRR > 0 at month end from the revenue pack when it has run, else "
            "accounts with a paying subscription line in service, else accounts with usage so far "
            "(customers_from = auto).",
    "revenue": "Customer accounts: account MRR > 0 at month end from the revenue pack (customers_from = revenue).",
    "billing": "Customer accounts: accounts with a paying subscription line in service at month end "
               "(customers_from = billing).",
    "usage": "Customer accounts: accounts with any usage up to the month end (customers_from = usage).",
}
_RULE = {"users_or_days": "{u}+ distinct active users or {d}+ days with an active user",
         "users": "{u}+ distinct active users", "days": "{d}+ days with an active user",
         "users_and_days": "{u}+ distinct active users and {d}+ days with an active user"}


def definition(name: str, params: Mapping[str, Any]) -> str:
    p = {**DEFAULTS, **params}
    plans = [str(x) for x in p["seat_plans"] or ()]
    fill = dict(
        p,
        customers=_CUSTOMERS[p["customers_from"]],
        seat_plans=(f"the plans {', '.join(plans)} (seat_plans)" if plans else
                    "a plan some line or subscription bills with quantity > 1"),
        fallback=("; a customer without one falls back to accounts.seats" if p["account_seats_fallback"]
                  else ""),
        rule=_RULE[p["usage_rate_rule"]].format(u=p["usage_rate_min_users"], d=p["usage_rate_min_days"])
        + f" (usage_rate_rule = {p['usage_rate_rule']})",
        activation=("the start of its first paying subscription line (activation_start = first_mrr)"
                    if p["activation_start"] == "first_mrr" else
                    "its first invoice paid with amount_paid > 0 (activation_start = first_payment)"),
    )
    return TEMPLATES[name][3].format(**fill)


def title(name: str, params: Mapping[str, Any]) -> str:
    return TEMPLATES[name][0].format(**{**DEFAULTS, **params})


def metrics(params: Mapping[str, Any]) -> tuple[Metric, ...]:
    return tuple(Metric(name, title(name, params), t[1], t[2], definition(name, params))
                 for name, t in TEMPLATES.items())


# The class attribute carries the defaults (what `csconnect metrics list` shows before a run);
# `UsagePack.definitions()` states the active values.
METRICS = metrics({})
