"""The pack's parameters, checked and turned into one typed policy object."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from csconnect import MetricsError, Option

POLARITIES = ("higher_better", "lower_better")
_SCALE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:-|–|\.\.)\s*(-?\d+(?:\.\d+)?)\s*(higher_better|lower_better)?\s*$")

GRAINS = ("day", "week", "month", "quarter")

PARAMETERS = (
    Option("grains", list, ["month", "week"], "period grains to compute: any of day, week (ISO), month, quarter"),
    Option("account_grains", list, ["month"], "grains (of those in `grains`) also written per account "
           "to account_metrics"),
    Option("ticket_sources", list, [], "connection names whose tickets count (empty = every connection); "
           "survey answers tied to a ticket of another connection are left out too"),
    Option("survey_sources", list, [], "connection names whose survey answers count (empty = every connection)"),
    Option("solved_statuses", list, ["solved", "closed"], "ticket statuses that mean solved"),
    Option("escalation_tag", str, "escalated", "tag that marks a ticket escalated when its source has no "
           "escalation flag (matched case-insensitively)"),
    Option("fcr_zero_reply", str, "denominator", "tickets solved with no agent reply: `denominator` (count as not "
           "resolved on first contact) or `exclude` (left out of FCR)", choices=("denominator", "exclude")),
    Option("csat_top_two_box", bool, True, "true: satisfied = the top two points of a scale of 5 or more points "
           "and the top point of a shorter one; false: the top point only"),
    Option("csat_default_scale", str, "1-5", "CSAT scale assumed for answers that do not state theirs"),
    Option("csat_latest_per_ticket", bool, True, "a ticket's rating counts once, with its latest answer"),
    Option("nps_latest_per_contact", bool, True, "each contact's latest NPS answer in a period counts once"),
    Option("nps_small_sample", int, 30, "NPS rows with fewer respondents are flagged small_sample in nps_detail"),
    Option("ces_default_scale", str, "1-7", "CES scale assumed for answers that do not state theirs"),
    Option("ces_default_polarity", str, "higher_better", "CES polarity assumed for answers that do not state "
           "theirs", choices=POLARITIES),
    Option("ces_headline_scale", str, "auto", "the one CES scale the `all` and dimension rows use, e.g. "
           "\"1-7\" or \"1-5 lower_better\"; `auto` = the scale with the most answers (every scale also has "
           "segment_by = scale rows)"),
)


def scale_label(lo: float, hi: float, polarity: str) -> str:
    return f"{lo:g}-{hi:g} {polarity}"


def parse_scale(key: str, text: Any, polarity: str | None = None) -> tuple[float, float, str | None]:
    m = _SCALE.match(str(text))
    if not m or float(m.group(1)) >= float(m.group(2)):
        raise MetricsError(f"packs.support.{key}: {text!r} is not a scale such as \"1-7\" or \"1-5 lower_better\"")
    return float(m.group(1)), float(m.group(2)), m.group(3) or polarity


def _names(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not all(isinstance(v, str) and v for v in value):
        raise MetricsError(f"packs.support.{key}: must be a list of names, got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class Policy:
    grains: tuple[str, ...]
    account_grains: tuple[str, ...]
    ticket_sources: tuple[str, ...]
    survey_sources: tuple[str, ...]
    solved_statuses: tuple[str, ...]
    escalation_tag: str
    fcr_zero_reply: str
    csat_top_two_box: bool
    csat_scale: tuple[float, float]
    csat_latest_per_ticket: bool
    nps_latest_per_contact: bool
    nps_small_sample: int
    ces_scale: tuple[float, float]
    ces_polarity: str
    ces_headline: str | None            # a scale label, or None for auto

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "Policy":
        p = {o.name: params.get(o.name, o.default) for o in PARAMETERS}
        csat_lo, csat_hi, _ = parse_scale("csat_default_scale", p["csat_default_scale"])
        ces_lo, ces_hi, _ = parse_scale("ces_default_scale", p["ces_default_scale"])
        headline = None
        if str(p["ces_headline_scale"]).strip().lower() != "auto":
            h_lo, h_hi, h_pol = parse_scale("ces_headline_scale", p["ces_headline_scale"], p["ces_default_polarity"])
            headline = scale_label(h_lo, h_hi, h_pol or "higher_better")
        if p["nps_small_sample"] < 0:
            raise MetricsError("packs.support.nps_small_sample: must be 0 or more")
        statuses = tuple(s.lower() for s in _names("solved_statuses", p["solved_statuses"]))
        if not statuses:
            raise MetricsError("packs.support.solved_statuses: name at least one status (default: solved, closed)")
        grains = _names("grains", p["grains"])
        bad = [g for g in grains if g not in GRAINS]
        if bad or not grains:
            raise MetricsError(f"packs.support.grains: {', '.join(bad) or 'empty'}: choose from {', '.join(GRAINS)}")
        account_grains = _names("account_grains", p["account_grains"])
        bad = [g for g in account_grains if g not in GRAINS]
        if bad:
            raise MetricsError(f"packs.support.account_grains: {', '.join(bad)}: choose from {', '.join(GRAINS)}")
        return cls(
            grains=tuple(g for g in GRAINS if g in grains),
            account_grains=tuple(g for g in account_grains if g in grains),
            ticket_sources=_names("ticket_sources", p["ticket_sources"]),
            survey_sources=_names("survey_sources", p["survey_sources"]),
            solved_statuses=statuses,
            escalation_tag=str(p["escalation_tag"]),
            fcr_zero_reply=p["fcr_zero_reply"],
            csat_top_two_box=bool(p["csat_top_two_box"]),
            csat_scale=(csat_lo, csat_hi),
            csat_latest_per_ticket=bool(p["csat_latest_per_ticket"]),
            nps_latest_per_contact=bool(p["nps_latest_per_contact"]),
            nps_small_sample=int(p["nps_small_sample"]),
            ces_scale=(ces_lo, ces_hi),
            ces_polarity=p["ces_default_polarity"],
            ces_headline=headline,
        )
