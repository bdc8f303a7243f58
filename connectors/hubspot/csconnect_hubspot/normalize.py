"""HubSpot objects -> canonical rows. Pure functions of the raw record (and the connection's options).

Each raw record is HubSpot's object as the search API returned it, plus `_csconnect`: what the
sync looked up for it — `company_id` (the associated company, primary first), `owner` (the
owner's email), `pipeline` and `stage` (with the stage's metadata), `currency` and `time_zone`
(the account's) — so that `csconnect normalize` can rebuild every row without a request.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping

from csconnect import RejectError, Row
from csconnect.money import to_minor

from .values import boolean, domain, first, millis, ms_to_iso, number, number_or_none, prop, text, timestamp

CHANNELS = {"EMAIL": "email", "CHAT": "chat", "PHONE": "phone", "FORM": "web", "WEB": "web",
            "FACEBOOK_MESSENGER": "social", "WHATSAPP": "social", "INSTAGRAM": "social", "API": "api"}
SURVEYS = {"NPS": ("nps", 0, 10), "CSAT": ("csat", 0, 2), "CES": ("ces", 1, 7)}   # HubSpot's scales
_PENDING = re.compile(r"waiting on (the )?(contact|customer)|pending|on hold", re.I)
_QBR = re.compile(r"\bqbr\b|business review", re.I)


def context(record: Mapping[str, Any]) -> dict[str, Any]:
    ctx = record.get("_csconnect")
    return ctx if isinstance(ctx, dict) else {}


def created(record: Mapping[str, Any], *names: str) -> str | None:
    return timestamp(first(record, *names, "createdate", "hs_createdate")) or timestamp(record.get("createdAt"))


def company(connector: Any, r: dict) -> Iterator[Row]:
    ctx, s = context(r), connector.settings
    segment = s.get("segment_property")
    employees = number_or_none(prop(r, "numberofemployees"))
    attributes = {
        "segment": prop(r, segment) if segment else None,
        "lifecycle_stage": (prop(r, "lifecyclestage") or "").lower() or None,
        "industry": prop(r, "industry"),
        "country": prop(r, "country"),
        "owner": ctx.get("owner"),
        "employees": int(employees) if employees is not None else None,
        "company_type": prop(r, "type"),
    }
    external = {str(system): prop(r, name) for name, system in (s.get("external_id_properties") or {}).items()}
    yield "source_accounts", {
        "source_id": r["id"], "source_account_id": r["id"], "name": prop(r, "name"),
        "domain": domain(prop(r, "domain")) or domain(prop(r, "website")),
        "external_ids": {k: v for k, v in external.items() if v} or None,
        "created_at": created(r),
        "attributes": {k: v for k, v in attributes.items() if v is not None},
    }


def contact(connector: Any, r: dict) -> Iterator[Row]:
    name = " ".join(p for p in (prop(r, "firstname"), prop(r, "lastname")) if p)
    yield "contacts", {
        "source_id": r["id"], "source_account_id": context(r).get("company_id"),
        "email": (prop(r, "email") or "").lower() or None, "name": name or None,
        "title": prop(r, "jobtitle"), "created_at": created(r),
    }


def deal(connector: Any, r: dict) -> Iterator[Row]:
    ctx = context(r)
    stage = ctx.get("stage") or {}
    meta = stage.get("metadata") or {}
    closed = boolean(meta.get("isClosed")) if text(meta.get("isClosed")) else boolean(prop(r, "hs_is_closed"))
    probability = number_or_none(meta.get("probability"))
    if closed is False:
        won: bool | None = False
    elif closed and probability is not None:
        won = probability >= 1
    else:
        won = boolean(prop(r, "hs_is_closed_won"))
        closed = True if won else closed
    currency = (prop(r, "deal_currency_code") or ctx.get("currency") or "").upper() or None
    amount = prop(r, "amount")
    if amount is not None and currency is None:
        raise RejectError("deal has an amount but no currency (deal_currency_code, default_currency or "
                          "the account's company currency)")
    type_value = prop(r, connector.settings.get("deal_type_property") or "dealtype")
    yield "deals", {
        "source_id": r["id"], "source_account_id": ctx.get("company_id"),
        "kind": deal_kind(connector, ctx.get("pipeline") or {}, type_value), "source_type": type_value,
        "stage": stage.get("label") or prop(r, "dealstage"),
        "amount": to_minor(number(amount), currency) if amount is not None else None, "currency": currency,
        "is_closed": closed, "is_won": won, "created_at": created(r),
        "close_date": local_date(prop(r, "closedate"), ctx.get("time_zone")), "owner": ctx.get("owner"),
    }


def deal_kind(connector: Any, pipeline: Mapping[str, Any], type_value: str | None) -> str | None:
    """Renewal/expansion pipelines first, then the deal-type property's value."""
    names = {str(pipeline.get("id") or "").lower(), str(pipeline.get("label") or "").strip().lower()} - {""}
    if names & connector.renewal_pipelines:
        return "renewal"
    if names & connector.expansion_pipelines:
        return "expansion"
    if type_value is None:
        return None
    return connector.deal_types.get(type_value.strip().lower(), type_value)   # unknown -> `other`


def ticket(connector: Any, r: dict) -> Iterator[Row]:
    ctx = context(r)
    stage = ctx.get("stage") or {}
    label = stage.get("label") or prop(r, "hs_pipeline_stage")
    state = str((stage.get("metadata") or {}).get("ticketState") or "").upper()
    if not state:
        state = "CLOSED" if prop(r, "closed_date") else "OPEN"
    if state == "CLOSED":
        status = "closed"
    elif label and re.search(r"\bnew\b", label, re.I):
        status = "new"
    elif label and _PENDING.search(label):
        status = "pending"
    else:
        status = "open"
    opened = created(r)
    source = prop(r, "source_type")
    yield "tickets", {
        "source_id": r["id"], "source_account_id": ctx.get("company_id"),
        "channel": CHANNELS.get((source or "").upper(), source.lower() if source else None), "source_type": source,
        "status": status, "source_status": label,
        "priority": (prop(r, "hs_ticket_priority") or "").lower() or None,
        "type": (prop(r, "hs_ticket_category") or "").lower() or None,
        "subject": prop(r, "subject"), "created_at": opened,
        "first_reply_at": timestamp(first(r, "first_agent_reply_date", "hs_first_agent_reply_date"))
        or _after(opened, prop(r, "time_to_first_agent_reply")),
        "solved_at": (timestamp(prop(r, "closed_date")) or _after(opened, prop(r, "time_to_close")))
        if status == "closed" else None,
        "assignee": ctx.get("owner"), "group_name": (ctx.get("pipeline") or {}).get("label"),
    }


def survey_response(connector: Any, r: dict) -> Iterator[Row]:
    survey = (prop(r, "hs_survey_type") or "").upper()
    kind, low, high = SURVEYS.get(survey, (survey.lower() or "other", None, None))
    score = number(first(r, "hs_value", "hs_response_value"))
    if score is not None and low is not None and not low <= score <= high:
        raise RejectError(f"{survey} answer {score} is outside HubSpot's {low}-{high} scale")
    channel = prop(r, "hs_survey_channel")
    yield "survey_responses", {
        "source_id": r["id"], "source_account_id": context(r).get("company_id"),
        "kind": kind, "source_type": prop(r, "hs_survey_type"),
        "score": float(score) if score is not None else None, "scale_min": low, "scale_max": high,
        "polarity": "higher_better" if low is not None else None, "comment": prop(r, "hs_content"),
        "contact_id": connector.ref(prop(r, "hs_contact_id")), "ticket_id": connector.ref(prop(r, "hs_ticket_id")),
        "channel": channel.lower() if channel else None,
        "responded_at": timestamp(prop(r, "hs_submission_timestamp")) or created(r),
    }


def meeting(connector: Any, r: dict) -> Iterator[Row]:
    start, end = millis(prop(r, "hs_meeting_start_time")), millis(prop(r, "hs_meeting_end_time"))
    title = prop(r, "hs_meeting_title")
    yield "activities", {
        "source_id": r["id"], "source_account_id": context(r).get("company_id"),
        "kind": "qbr" if title and _QBR.search(title) else "meeting", "source_type": prop(r, "hs_activity_type"),
        "occurred_at": timestamp(prop(r, "hs_timestamp")) or ms_to_iso(start) or created(r),
        "duration_seconds": (end - start) // 1000 if start is not None and end is not None and end >= start else None,
        "owner": context(r).get("owner"), "subject": title,
    }


def call(connector: Any, r: dict) -> Iterator[Row]:
    duration = number_or_none(prop(r, "hs_call_duration"))        # milliseconds
    yield "activities", {
        "source_id": r["id"], "source_account_id": context(r).get("company_id"),
        "kind": "call", "source_type": prop(r, "hs_call_direction"),
        "occurred_at": timestamp(prop(r, "hs_timestamp")) or created(r),
        "duration_seconds": round(duration / 1000) if duration is not None else None,
        "owner": context(r).get("owner"), "subject": prop(r, "hs_call_title"),
    }


def local_date(value: str | None, zone: str | None) -> str | None:
    """A HubSpot datetime as the calendar date it is in the account's time zone (UTC if unknown)."""
    ms = millis(value)
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    if zone:
        try:
            from zoneinfo import ZoneInfo
            moment = moment.astimezone(ZoneInfo(zone))
        except Exception:  # unknown zone or no tz database: UTC
            pass
    return moment.date().isoformat()


def _after(start: str | None, elapsed_ms: str | None) -> str | None:
    """`start` plus a duration in milliseconds (HubSpot's time_to_* properties)."""
    ms = number_or_none(elapsed_ms)
    begin = millis(start) if start else None
    return ms_to_iso(begin + int(ms)) if ms is not None and begin is not None else None
