"""The pack's base queries: the tickets and survey answers that count, with the policy applied.

Each builder returns (SELECT text, named parameters); callers wrap the text as a CTE `base`.
Timestamps are canonical ISO 8601 UTC text, so they compare as strings.
"""
from __future__ import annotations

from typing import Any, Sequence

from .policy import Policy

TICKET_DIMS = ("channel", "priority", "assignee")


def period_sql(grain: str, column: str) -> str:
    """The key (first day, YYYY-MM-DD) of the UTC day, ISO week, month or quarter holding a timestamp."""
    if grain == "day":
        return f"substr({column}, 1, 10)"
    if grain == "week":                     # Monday of the ISO week
        return f"date({column}, '-6 days', 'weekday 1')"
    if grain == "month":
        return f"(substr({column}, 1, 7) || '-01')"
    if grain == "quarter":
        return (f"(substr({column}, 1, 5) || printf('%02d', (CAST(substr({column}, 6, 2) AS INTEGER) - 1) / 3 * 3 + 1)"
                f" || '-01')")
    raise ValueError(f"support pack has no {grain!r} grain")


def seconds_sql(start: str, end: str) -> str:
    return f"(CAST(strftime('%s', {end}) AS INTEGER) - CAST(strftime('%s', {start}) AS INTEGER))"


def in_list(prefix: str, values: Sequence[str], params: dict[str, Any]) -> str:
    names = []
    for i, value in enumerate(values):
        params[f"{prefix}{i}"] = value
        names.append(f":{prefix}{i}")
    return ", ".join(names)


def tickets_sql(policy: Policy, as_of: str) -> tuple[str, dict[str, Any]]:
    """One row per ticket created by `as_of`, from the chosen connections.

    solved_at: the latest solve time when the status is a solved one (not after as_of; never before
    created_at). left_at: when the ticket left the backlog (solved_at; created_at for a solved ticket
    with no solve time, so it never sits in the backlog). escalated: the source's flag, else the tag.
    """
    params: dict[str, Any] = {"as_of": as_of, "tag": policy.escalation_tag.lower()}
    solved = in_list("st", policy.solved_statuses, params)
    where = "t.created_at <= :as_of"
    if policy.ticket_sources:
        where += f" AND t.source IN ({in_list('ts', policy.ticket_sources, params)})"
    is_solved = f"lower(t.status) IN ({solved})"
    sql = f"""
        SELECT t.id, t.account_id, t.created_at, t.channel, t.priority, t.assignee,
          CASE WHEN {is_solved} AND t.solved_at IS NOT NULL AND t.solved_at <= :as_of
               THEN max(t.solved_at, t.created_at) END AS solved_at,
          CASE WHEN {is_solved} AND t.solved_at IS NULL THEN t.created_at
               WHEN {is_solved} AND t.solved_at <= :as_of THEN max(t.solved_at, t.created_at) END AS left_at,
          CASE WHEN t.first_reply_at IS NOT NULL AND t.first_reply_at <= :as_of
                AND t.first_reply_at >= t.created_at
               THEN {seconds_sql('t.created_at', 't.first_reply_at')} END AS first_reply_seconds,
          t.agent_replies, t.reopens,
          coalesce((SELECT a.seats > 0 FROM accounts a WHERE a.account_id = t.account_id), 0) AS seated,
          coalesce(t.escalated, CASE WHEN json_valid(t.tags) THEN EXISTS (
              SELECT 1 FROM json_each(t.tags) j WHERE lower(j.value) = :tag) ELSE 0 END) AS escalated
        FROM tickets t
        WHERE {where}"""
    return sql, params


def _survey_where(policy: Policy, kind: str, params: dict[str, Any]) -> str:
    where = [f"s.kind = '{kind}'", "s.score IS NOT NULL", "s.responded_at <= :as_of"]
    if policy.survey_sources:
        where.append(f"s.source IN ({in_list('ss', policy.survey_sources, params)})")
    if policy.ticket_sources:
        # an answer about a ticket from a connection left out by ticket_sources is left out too
        where.append(f"(s.ticket_id IS NULL OR substr(s.ticket_id, 1, instr(s.ticket_id, ':') - 1) "
                     f"IN ({in_list('sts', policy.ticket_sources, params)}))")
    return " AND ".join(where)


_SURVEY_COLUMNS = """s.id, s.responded_at, coalesce(s.account_id, t.account_id) AS account_id,
          coalesce(t.channel, s.channel) AS channel, t.priority AS priority, t.assignee AS assignee"""


def csat_sql(policy: Policy, as_of: str) -> tuple[str, dict[str, Any]]:
    """Rated CSAT answers: the latest per ticket (answers with no ticket each count), with `satisfied`."""
    params: dict[str, Any] = {"as_of": as_of, "csat_lo": policy.csat_scale[0], "csat_hi": policy.csat_scale[1]}
    where = _survey_where(policy, "csat", params)
    key = "coalesce(s.ticket_id, s.id)" if policy.csat_latest_per_ticket else "s.id"
    lo, hi = "coalesce(s.scale_min, :csat_lo)", "coalesce(s.scale_max, :csat_hi)"
    box = f"(CASE WHEN {hi} - {lo} + 1 >= 5 THEN 1 ELSE 0 END)" if policy.csat_top_two_box else "0"
    sql = f"""
        SELECT {_SURVEY_COLUMNS},
          CASE WHEN s.polarity = 'lower_better' THEN s.score <= {lo} + {box}
               ELSE s.score >= {hi} - {box} END AS satisfied
        FROM (SELECT s.*, row_number() OVER (PARTITION BY {key} ORDER BY s.responded_at DESC, s.id DESC) AS rn
              FROM survey_responses s WHERE {where}) s
        LEFT JOIN tickets t ON t.id = s.ticket_id
        WHERE s.rn = 1"""
    return sql, params


def nps_sql(policy: Policy, as_of: str, grain: str) -> tuple[str, dict[str, Any]]:
    """NPS answers on 0–10: each contact's latest in the period (no contact: each counts), classified."""
    params: dict[str, Any] = {"as_of": as_of}
    where = _survey_where(policy, "nps", params)
    where += " AND coalesce(s.scale_min, 0) = 0 AND coalesce(s.scale_max, 10) = 10"
    key = "coalesce(s.contact_id, s.id)" if policy.nps_latest_per_contact else "s.id"
    period = period_sql(grain, "s.responded_at")
    sql = f"""
        SELECT {_SURVEY_COLUMNS},
          s.score >= 9 AS promoter, s.score > 6 AND s.score < 9 AS passive, s.score <= 6 AS detractor
        FROM (SELECT s.*, row_number() OVER (PARTITION BY {period}, {key}
                                             ORDER BY s.responded_at DESC, s.id DESC) AS rn
              FROM survey_responses s WHERE {where}) s
        LEFT JOIN tickets t ON t.id = s.ticket_id
        WHERE s.rn = 1"""
    return sql, params


def ces_sql(policy: Policy, as_of: str) -> tuple[str, dict[str, Any]]:
    """Every rated CES answer with its scale label ("1-7 higher_better") and `easy` (beyond the midpoint)."""
    params: dict[str, Any] = {"as_of": as_of, "ces_lo": policy.ces_scale[0], "ces_hi": policy.ces_scale[1],
                              "ces_pol": policy.ces_polarity}
    where = _survey_where(policy, "ces", params)
    sql = f"""
        SELECT id, responded_at, account_id, channel, priority, assignee, score,
          printf('%g-%g %s', lo, hi, pol) AS scale,
          CASE WHEN pol = 'lower_better' THEN score < (lo + hi) / 2.0 ELSE score > (lo + hi) / 2.0 END AS easy
        FROM (SELECT {_SURVEY_COLUMNS}, s.score,
                coalesce(s.scale_min, :ces_lo) AS lo, coalesce(s.scale_max, :ces_hi) AS hi,
                coalesce(s.polarity, :ces_pol) AS pol
              FROM survey_responses s LEFT JOIN tickets t ON t.id = s.ticket_id
              WHERE {where})"""
    return sql, params
