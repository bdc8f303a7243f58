"""The pack's metrics, with definitions that state the active groups, weights, bands and population."""
from __future__ import annotations

from csconnect import Metric

from .settings import Profile, Settings


def _groups(p: Profile) -> str:
    return "; ".join(f"{g.name} {g.weight:g} ({', '.join(f'{n} {w:g}' for n, w in g.inputs)})" for g in p.groups)


def _caps(p: Profile) -> str:
    return ", ".join(f"{n} {c:g}" for n, c in p.active_caps()) or "none"


def _population(settings: Settings) -> str:
    return {"customers": "customers (MRR > 0 per the revenue pack)", "all": "every account",
            "auto": "customers (MRR > 0 per the revenue pack), or every account when there is no MRR"}[
        settings.params["population"]]


def metrics(settings: Settings) -> tuple[Metric, ...]:
    d = settings.default
    profiles = "".join(
        f" Segment profile {p.name}: {_groups(p)}; green ≥ {p.green:g}, yellow ≥ {p.yellow:g}."
        for p in settings.profiles.values())
    formula = (f"An account's score (0-100) = Σ W_g·S_g / Σ W_g over the groups with data (a group without "
               f"data has its weight re-distributed), S_g = Σ wᵢ·sᵢ / Σ wᵢ over the group's inputs with data, "
               f"each input's raw value scored 0-100 by its rule (see account_health.components); then capped: while "
               f"an input with a cap scores 0, the score is at most the cap ({_caps(d)}). Groups and "
               f"weights: {_groups(d)}.{profiles} Scored accounts: {_population(settings)}.")
    at = ("at the month's end (23:59:59 UTC of its last day; the current month: the as-of instant)")
    bands = f"green ≥ {d.green:g}, yellow ≥ {d.yellow:g}, red below"
    return (
        Metric("health_score_mean", "Mean health score", "score", "up",
               f"Mean health score of the scored accounts {at}: numerator Σ scores, denominator the number of "
               f"scored accounts. {formula} Per account: account_health (now, with trend, components and "
               f"drivers) and account_health_history (weekly)."),
        Metric("accounts_green", "Accounts in the green band", "count", "up",
               f"Scored accounts whose health score {at} is in the green band ({bands}). {formula}"),
        Metric("accounts_yellow", "Accounts in the yellow band", "count", "down",
               f"Scored accounts whose health score {at} is in the yellow band ({bands}). {formula}"),
        Metric("accounts_red", "Accounts in the red band", "count", "down",
               f"Scored accounts whose health score {at} is in the red band ({bands}). {formula}"),
    )
