"""Zendesk Support API bodies, field for field as the API sends them (objects and envelopes)."""
from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Any

SUBDOMAIN = "northwind"
HOST = f"{SUBDOMAIN}.zendesk.com"
BASE = f"https://{HOST}"


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def minutes(calendar: int | None, business: int | None = None) -> dict[str, Any]:
    return {"calendar": calendar, "business": calendar if business is None and calendar is not None else business}


# -- objects ------------------------------------------------------------------------------------
def organization(org_id: int, name: str, *, created: int, updated: int | None = None,
                 domain_names: list[str] | None = None, external_id: str | None = None, group_id: int | None = None,
                 tags: list[str] | None = None, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "url": f"{BASE}/api/v2/organizations/{org_id}.json", "id": org_id, "name": name,
        "shared_tickets": False, "shared_comments": False, "external_id": external_id,
        "created_at": iso(created), "updated_at": iso(updated or created),
        "domain_names": list(domain_names or []), "details": "", "notes": "", "group_id": group_id,
        "tags": list(tags or []), "organization_fields": dict(fields or {}),
    }


def user(user_id: int, name: str, email: str | None, *, created: int, updated: int | None = None,
         role: str = "end-user", organization_id: int | None = None, active: bool = True) -> dict[str, Any]:
    return {
        "id": user_id, "url": f"{BASE}/api/v2/users/{user_id}.json", "name": name, "email": email,
        "created_at": iso(created), "updated_at": iso(updated or created), "time_zone": "Eastern Time (US & Canada)",
        "iana_time_zone": "America/New_York", "phone": None, "shared_phone_number": None, "photo": None,
        "locale_id": 1, "locale": "en-US", "organization_id": organization_id, "role": role, "verified": True,
        "external_id": None, "tags": [], "alias": "", "active": active, "shared": False, "shared_agent": False,
        "last_login_at": None, "two_factor_auth_enabled": None, "signature": None, "details": "", "notes": "",
        "role_type": None if role == "end-user" else 0, "custom_role_id": None, "moderator": role != "end-user",
        "ticket_restriction": "requested" if role == "end-user" else None, "only_private_comments": False,
        "restricted_agent": role == "end-user", "suspended": False, "default_group_id": None,
        "report_csv": role == "admin", "user_fields": {},
    }


def group(group_id: int, name: str, *, created: int) -> dict[str, Any]:
    return {"url": f"{BASE}/api/v2/groups/{group_id}.json", "id": group_id, "is_public": True, "name": name,
            "description": "", "default": False, "deleted": False, "created_at": iso(created),
            "updated_at": iso(created)}


def ticket(ticket_id: int, *, created: int, updated: int | None = None, status: str = "open",
           channel: str = "email", requester_id: int | None = None, organization_id: int | None = None,
           assignee_id: int | None = None, group_id: int | None = None, priority: str | None = "normal",
           kind: str | None = "question", subject: str | None = None, tags: list[str] | None = None,
           rating: dict[str, Any] | None = None, generated: int | None = None) -> dict[str, Any]:
    updated = updated or created
    subject = subject if subject is not None else f"Ticket {ticket_id}"
    return {
        "url": f"{BASE}/api/v2/tickets/{ticket_id}.json", "id": ticket_id, "external_id": None,
        "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": iso(created), "updated_at": iso(updated), "generated_timestamp": generated or updated,
        "type": kind, "subject": subject, "raw_subject": subject, "description": f"{subject}: details",
        "priority": priority, "status": status, "recipient": f"support@{HOST}", "requester_id": requester_id,
        "submitter_id": requester_id, "assignee_id": assignee_id, "organization_id": organization_id,
        "group_id": group_id, "collaborator_ids": [], "follower_ids": [], "email_cc_ids": [],
        "forum_topic_id": None, "problem_id": None, "has_incidents": False, "is_public": True, "due_at": None,
        "tags": list(tags or []), "custom_fields": [{"id": 360001, "value": None}],
        "satisfaction_rating": rating if rating is not None else {"score": "unoffered"},
        "sharing_agreement_ids": [], "custom_status_id": 1, "fields": [{"id": 360001, "value": None}],
        "followup_ids": [], "ticket_form_id": 360000001, "brand_id": 360000002, "allow_channelback": False,
        "allow_attachments": True, "from_messaging_channel": channel == "native_messaging",
    }


def deleted_ticket(base: dict[str, Any], *, at: int) -> dict[str, Any]:
    """How the export shows a deleted ticket: status `deleted`, a new generated_timestamp."""
    return {**base, "status": "deleted", "updated_at": iso(at), "generated_timestamp": at}


def metric_set(ticket_id: int, *, created: int, updated: int | None = None, replies: int = 0, reopens: int = 0,
               reply_minutes: int | None = None, solved: int | None = None, assigned: int | None = None,
               metric_id: int | None = None) -> dict[str, Any]:
    updated = updated or created
    full = (solved - created) // 60 if solved else None
    return {
        "url": f"{BASE}/api/v2/ticket_metrics/{metric_id or ticket_id + 50000}.json",
        "id": metric_id or ticket_id + 50000, "ticket_id": ticket_id, "created_at": iso(created),
        "updated_at": iso(updated), "group_stations": 1, "assignee_stations": 1 if assigned else 0,
        "reopens": reopens, "replies": replies,
        "assignee_updated_at": iso(assigned) if assigned else None, "requester_updated_at": iso(created),
        "status_updated_at": iso(updated), "initially_assigned_at": iso(assigned) if assigned else None,
        "assigned_at": iso(assigned) if assigned else None, "solved_at": iso(solved) if solved else None,
        "latest_comment_added_at": iso(updated),
        "reply_time_in_minutes": minutes(reply_minutes),
        "first_resolution_time_in_minutes": minutes(full), "full_resolution_time_in_minutes": minutes(full),
        "agent_wait_time_in_minutes": minutes(reply_minutes), "requester_wait_time_in_minutes": minutes(0),
        "on_hold_time_in_minutes": minutes(0),
    }


def rating(rating_id: int, ticket_id: int, requester_id: int, score: str, *, created: int,
           updated: int | None = None, comment: str | None = None, assignee_id: int | None = None,
           group_id: int | None = None) -> dict[str, Any]:
    return {
        "url": f"{BASE}/api/v2/satisfaction_ratings/{rating_id}.json", "id": rating_id,
        "assignee_id": assignee_id, "group_id": group_id, "requester_id": requester_id, "ticket_id": ticket_id,
        "score": score, "created_at": iso(created), "updated_at": iso(updated or created), "comment": comment,
        "reason": None if score != "bad" else "No reason provided", "reason_id": None,
        "reason_code": None if score != "bad" else 0,
    }


# -- envelopes ------------------------------------------------------------------------------------
def cursor_token(*parts: Any) -> str:
    """Opaque cursors as Zendesk's look: base64 of its position."""
    return base64.urlsafe_b64encode("||".join(map(str, parts)).encode()).decode().rstrip("=")


def read_token(token: str) -> list[str]:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split("||")


def cursor_export(path: str, key: str, items: list[dict], after: str | None, end: bool,
                  **sideloads: list[dict]) -> dict[str, Any]:
    return {key: items, **sideloads,
            "after_url": f"{BASE}{path}?cursor={after}" if after else None, "after_cursor": after,
            "before_url": None, "before_cursor": None, "end_of_stream": end}


def time_export(path: str, key: str, items: list[dict], end_time: int, end: bool) -> dict[str, Any]:
    return {key: items, "count": len(items), "end_of_stream": end, "end_time": end_time,
            "next_page": f"{BASE}{path}?start_time={end_time}"}


def cursor_list(path: str, key: str, items: list[dict], has_more: bool, after: str | None,
                before: str | None) -> dict[str, Any]:
    return {key: items, "meta": {"has_more": has_more, "after_cursor": after, "before_cursor": before},
            "links": {"prev": f"{BASE}{path}?page%5Bbefore%5D={before}" if before else None,
                      "next": f"{BASE}{path}?page%5Bafter%5D={after}" if after else None}}


def error(error: str, description: str | None = None) -> dict[str, Any]:
    return {"error": error, **({"description": description} if description else {})}


UNAUTHORIZED = error("Couldn't authenticate you")
FORBIDDEN = error("Forbidden", "You do not have access to this page. Please contact the account owner of this "
                               "help desk for further help.")
EXPORT_LIMITED = error("APIRateLimitExceeded", "Number of allowed incremental export API requests per minute "
                                               "exceeded")


def no_help_desk(host: str) -> dict[str, Any]:
    return {"error": {"title": f"No help desk at {host}",
                      "message": "There is no help desk configured at this address. This means that the address "
                                 "is available and that you can claim it at http://www.zendesk.com/signup"}}
