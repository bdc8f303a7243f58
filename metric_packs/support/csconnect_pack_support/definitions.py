"""The pack's metrics, with definitions that state the formula under the active parameters."""
from __future__ import annotations

from csconnect import Metric

from .policy import Policy, scale_label

# name, title, unit, direction (the names are a contract: METRICS.md, "Names")
METRICS = (
    ("tickets_created", "Tickets created", "count", "down"),
    ("tickets_solved", "Tickets solved", "count", "up"),
    ("backlog", "Backlog (open tickets at period end)", "count", "down"),
    ("first_reply_seconds_median", "First reply time, median", "seconds", "down"),
    ("first_reply_seconds_p90", "First reply time, 90th percentile", "seconds", "down"),
    ("resolution_seconds_median", "Resolution time, median", "seconds", "down"),
    ("resolution_seconds_p90", "Resolution time, 90th percentile", "seconds", "down"),
    ("first_contact_resolution_rate", "First contact resolution rate", "percent", "up"),
    ("reopen_rate", "Reopen rate", "percent", "down"),
    ("escalation_rate", "Escalation rate", "percent", "down"),
    ("csat", "CSAT", "percent", "up"),
    ("nps", "NPS", "score", "up"),
    ("ces", "Customer effort score (mean)", "score", "up"),
    ("ces_easy_share", "CES: share of easy answers", "percent", "up"),
    ("self_service_rate", "Self-service rate", "percent", "up"),
    # an addition to the METRICS.md names, documented in the README
    ("tickets_per_100_seats", "Tickets per 100 seats", "ratio", "down"),
)


def _names(values: tuple[str, ...]) -> str:
    return ", ".join(values)


def texts(policy: Policy, ces_headline: str | None = None) -> dict[str, str]:
    src = (f"from connections {_names(policy.ticket_sources)} (ticket_sources)" if policy.ticket_sources
           else "from every connection")
    solved = "/".join(policy.solved_statuses)
    dims = ("By segment, lifecycle_stage, country, owner, cohort (account attributes) and channel, priority, "
            "assignee (ticket attributes).")
    survey_dims = ("By segment, lifecycle_stage, country, owner, cohort (account attributes) and channel, priority, "
                   "assignee (from the ticket an answer is about; channel falls back to the survey's).")
    per_account = "Also per account (account_metrics, grains in account_grains)."
    p90 = ("linear interpolation between ranks at position (n − 1) × 0.9 from 0 (numpy's default); "
           "computed for each segment directly.")
    median = "an even count gives the mean of the two middle values; computed for each segment directly."
    zero = ("tickets solved with no agent reply count in the denominator only"
            if policy.fcr_zero_reply == "denominator" else "tickets solved with no agent reply are left out")
    box = ("the top two points of a scale of five or more points (4–5 on 1–5, 9–10 on 0–10), the top point of "
           "a shorter one (2 on 0–2, 1 = good on 0–1)") if policy.csat_top_two_box else "the top point of the scale"
    csat_scale = f"{policy.csat_scale[0]:g}–{policy.csat_scale[1]:g}"
    ces_default = scale_label(*policy.ces_scale, policy.ces_polarity)
    if policy.ces_headline:
        headline = f"the scale {policy.ces_headline} (ces_headline_scale)"
    elif ces_headline:
        headline = f"the scale with the most answers, now {ces_headline} (ces_headline_scale = auto)"
    else:
        headline = "the scale with the most answers (ces_headline_scale = auto)"
    surveys = (f"Answers from connections {_names(policy.survey_sources)} (survey_sources)"
               if policy.survey_sources else "Answers from every connection")
    if policy.ticket_sources:
        surveys += ", except those about a ticket of a connection not in ticket_sources"
    surveys += "; unrated/offered rows (no score) are not answers."
    latest_ticket = ("a ticket's rating counts once, by its latest answer (a changed rating moves to the period "
                     "of the change); answers tied to no ticket each count" if policy.csat_latest_per_ticket
                     else "every answer counts")
    latest_contact = ("each contact's latest answer in the period counts once (answers with no contact each count)"
                      if policy.nps_latest_per_contact else "every answer counts")
    return {
        "tickets_created": f"Tickets created in the period (UTC), {src}. {per_account} {dims}",
        "tickets_solved": f"Tickets solved in the period: status {solved} (solved_statuses), counted once at its "
                          f"latest solve time (solved_at), {src}. {dims}",
        "backlog": f"Tickets open at the end of the period (at the as-of instant for the current period): created "
                   f"by then and not solved by then. A ticket is solved from its latest solve time while its status "
                   f"is {solved}; one with a solved status but no solve time never counts. {src[0].upper()}"
                   f"{src[1:]}. {per_account} {dims}",
        "first_reply_seconds_median": f"Median seconds from created_at to first_reply_at over tickets created in "
                                      f"the period with a first reply by the as-of instant (a reply stamped "
                                      f"before creation is ignored), {src}; {median} {dims}",
        "first_reply_seconds_p90": f"90th percentile of seconds from created_at to first_reply_at over tickets "
                                   f"created in the period with a first reply, {src}; {p90} {dims}",
        "resolution_seconds_median": f"Median seconds from created_at to the latest solve time over tickets "
                                     f"solved in the period, {src}; {median} {dims}",
        "resolution_seconds_p90": f"90th percentile of seconds from created_at to the latest solve time over "
                                  f"tickets solved in the period, {src}; {p90} {dims}",
        "first_contact_resolution_rate": f"Solved tickets (by solve period) with exactly one agent reply and no "
                                         f"reopen / solved tickets (one-touch), {src}; {zero}; tickets whose "
                                         f"source reports no reply count are left out (a missing reopen count "
                                         f"counts as none). {per_account} {dims}",
        "reopen_rate": f"Solved tickets (by solve period) reopened at least once / solved tickets whose source "
                       f"reports reopens, {src}. {per_account} {dims}",
        "escalation_rate": f"Escalated tickets / tickets created in the period, {src}. Escalated = the source's "
                           f"escalation flag; where it has none, the tag \"{policy.escalation_tag}\" "
                           f"(escalation_tag, any case). {per_account} {dims}",
        "csat": f"CSAT answers counted as satisfied / rated CSAT answers, by the time of the answer. Satisfied = "
                f"{box}; a lower-is-better scale is read from its other end; scales pool; an answer without a "
                f"scale is read as {csat_scale}. {latest_ticket[0].upper()}{latest_ticket[1:]}. {surveys} "
                f"{per_account} {survey_dims}",
        "nps": f"100 × (promoters − detractors) / respondents on the 0–10 scale (promoters 9–10, detractors "
               f"0–6); {latest_contact}; answers on another scale are ignored. Numerator 100 × (P − D), "
               f"denominator n. Every row's n, promoters, passives, detractors, SE = 100·√((p + d − (p − d)²)/n), "
               f"the 95 % interval NPS ± 1.96·SE (clamped to −100…100) and small_sample (n < "
               f"{policy.nps_small_sample}) are in table nps_detail. {surveys} {per_account} {survey_dims}",
        "ces": f"Mean CES score on its own scale with its polarity, scales never mixed: the `all` and dimension "
               f"rows use {headline}; every scale answered also has rows with segment_by = scale (segment like "
               f"\"1-7 higher_better\"). An answer without a scale is read as {ces_default}. Numerator Σ score, "
               f"denominator answers. {surveys} {per_account} {survey_dims}",
        "ces_easy_share": f"Share of CES answers on the easy side of their scale's midpoint (5–7 on 1–7 higher "
                          f"better; 1–3 on 1–7 lower better; 4–5 on 1–5), with the same scale rule as ces: the "
                          f"`all` and dimension rows use {headline}, segment_by = scale rows for every scale. "
                          f"{surveys} {per_account} {survey_dims}",
        "self_service_rate": "Self-service sessions / (self-service sessions + tickets created), when a source "
                             "supplies help-centre sessions. Not computed yet: the canonical model has no table "
                             "for help-centre sessions, so the pack writes no rows for this metric.",
        "tickets_per_100_seats": f"100 × tickets created in the period by accounts with seats / Σ seats of those "
                                 f"accounts (accounts.seats > 0 as known now, whether or not they opened a "
                                 f"ticket), {src}. {per_account} By segment, lifecycle_stage, country, owner, "
                                 f"cohort. An addition to the METRICS.md names.",
    }


def metrics(policy: Policy) -> tuple[Metric, ...]:
    text = texts(policy)
    return tuple(Metric(name, title, unit, direction, text[name]) for name, title, unit, direction in METRICS)
