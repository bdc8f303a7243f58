"""Zendesk records -> canonical rows (pure functions of one raw record, so `normalize` rebuilds them)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterator, Mapping

from csconnect import FREE_MAIL_DOMAINS, Delete, RejectError, Row, normalize_domain, utc_timestamp

# Ticket status -> canonical status; `hold` (waiting on a third party) is pending for the customer.
STATUSES = {"new": "new", "open": "open", "pending": "pending", "hold": "pending", "solved": "solved",
            "closed": "closed"}
# `via.channel` -> canonical channel; anything else is `other` (the original stays in source_type).
CHANNELS = {
    "email": "email",
    "web": "web", "web_form": "web", "help_center": "web", "web_widget": "web", "mobile": "web",
    "mobile_sdk": "web",
    "chat": "chat", "native_messaging": "chat", "messaging": "chat", "sms": "chat", "whatsapp": "chat",
    "line": "chat", "wechat": "chat",
    "voice": "phone", "phone": "phone",
    "api": "api", "web_service": "api",
    "twitter": "social", "twitter_dm": "social", "twitter_favorite": "social", "facebook": "social",
    "facebook_post": "social", "facebook_message": "social", "instagram_dm": "social",
}
SCORES = {"good": 1.0, "bad": 0.0}        # legacy CSAT: good/bad, stored on a 0-1 scale
UNRATED = {"offered", "unoffered"}         # a survey sent (or not): not a response
IDENTITY_ATTRIBUTES = ("segment", "lifecycle_stage", "industry", "country", "owner", "seats")


def context(record: Mapping[str, Any]) -> dict[str, Any]:
    """What the stream added beside the source record (names of groups and agents)."""
    ctx = record.get("_csconnect")
    return ctx if isinstance(ctx, dict) else {}


def text_id(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def organization(connector: Any, r: dict) -> Iterator[Row | Delete]:
    if r.get("deleted_at"):
        yield Delete("source_accounts", r["id"])
        return
    domains = [d for d in (normalize_domain(x) for x in r.get("domain_names") or []) if d]
    domain = next((d for d in domains if d not in FREE_MAIL_DOMAINS), domains[0] if domains else None)
    fields = r.get("organization_fields") if isinstance(r.get("organization_fields"), dict) else {}
    mapping = {name: name for name in IDENTITY_ATTRIBUTES if name in fields}
    mapping.update(connector.settings.get("organization_fields") or {})
    attributes: dict[str, Any] = {}
    for name, key in mapping.items():
        value = fields.get(key)
        if value not in (None, ""):
            attributes[name] = _seats(value) if name == "seats" else value
    if r.get("tags"):
        attributes["tags"] = list(r["tags"])
    if context(r).get("group"):
        attributes["group"] = context(r)["group"]
    system = connector.settings.get("external_id_system")
    external = text_id(r.get("external_id"))
    if external and not system:
        attributes["external_id"] = external
    yield "source_accounts", {
        "source_id": r["id"], "source_account_id": r["id"], "name": r.get("name"), "domain": domain,
        "external_ids": {system: external} if system and external else None,
        "created_at": r.get("created_at"), "attributes": attributes or None,
    }


def _seats(value: Any) -> Any:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return value


def user(connector: Any, r: dict) -> Iterator[Row | Delete]:
    """End-users are contacts; agents and admins (kept raw) and deleted users are not."""
    if r.get("role") != "end-user" or r.get("active") is False:
        yield Delete("contacts", r["id"])
        return
    yield "contacts", {
        "source_id": r["id"], "source_account_id": text_id(r.get("organization_id")),
        "email": (r.get("email") or "").strip().lower() or None, "name": r.get("name"),
        "created_at": r.get("created_at"),
    }


def ticket(connector: Any, r: dict) -> Iterator[Row | Delete]:
    status = r.get("status")
    if status == "deleted":
        yield Delete("tickets", r["id"])
        return
    if status not in STATUSES:
        raise RejectError(f"unknown ticket status {status!r} (expected {', '.join(STATUSES)} or deleted)")
    canonical = STATUSES[status]
    via = r.get("via") if isinstance(r.get("via"), dict) else {}
    source_channel = via.get("channel")
    metrics = r.get("metric_set") if isinstance(r.get("metric_set"), dict) else {}
    created = utc_timestamp(r.get("created_at"))
    ctx = context(r)
    assignee = r.get("assignee_id")
    yield "tickets", {
        "source_id": r["id"], "source_account_id": text_id(r.get("organization_id")),
        "requester_id": connector.ref(r.get("requester_id")),
        "channel": CHANNELS.get(str(source_channel or "").lower(), "other" if source_channel else None),
        "source_type": source_channel,
        "status": canonical, "source_status": status,
        "priority": r.get("priority"), "type": r.get("type"),
        "subject": r.get("subject") or r.get("raw_subject"), "created_at": created,
        "first_reply_at": _after(created, _calendar(metrics.get("reply_time_in_minutes"))),
        "solved_at": metrics.get("solved_at") if canonical in ("solved", "closed") else None,
        "agent_replies": metrics.get("replies"), "reopens": metrics.get("reopens"),
        "assignee": ctx.get("assignee") or text_id(assignee), "group_name": ctx.get("group"),
        "tags": list(r.get("tags") or []),
    }


def _calendar(metric: Any) -> Any:
    return metric.get("calendar") if isinstance(metric, dict) else None


def _after(start: str | None, minutes: Any) -> str | None:
    """created_at + reply_time_in_minutes.calendar: when the first agent reply was made."""
    if start is None or minutes is None:
        return None
    try:
        delta = timedelta(minutes=float(minutes))
    except (TypeError, ValueError):
        raise RejectError(f"metric_set.reply_time_in_minutes.calendar is not a number: {minutes!r}") from None
    begun = datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return (begun + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def satisfaction_rating(connector: Any, r: dict) -> Iterator[Row]:
    """good -> 1, bad -> 0 on a 0-1 scale; offered/unoffered ratings are not answers and make no row."""
    score = str(r.get("score") or "").lower()
    if score in UNRATED or not score:
        return
    if score not in SCORES:
        raise RejectError(f"unknown satisfaction score {r.get('score')!r} (expected good, bad, offered or unoffered)")
    yield "survey_responses", {
        "source_id": r["id"], "kind": "csat", "source_type": "satisfaction_rating",
        "score": SCORES[score], "scale_min": 0.0, "scale_max": 1.0, "polarity": "higher_better",
        "comment": r.get("comment") or None,
        "contact_id": connector.ref(r.get("requester_id")), "ticket_id": connector.ref(r.get("ticket_id")),
        "responded_at": r.get("updated_at") or r.get("created_at"),
    }
