"""Turning vendor responses into short, one-line text for error messages."""
from __future__ import annotations

from typing import Any

import httpx

MAX_MESSAGE = 200
_MESSAGE_KEYS = ("message", "detail", "description", "title")
_CODE_KEYS = ("errorCode", "code", "api_error_code")


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """Collapse whitespace and newlines, and cut to `limit` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def vendor_message(response: httpx.Response) -> str | None:
    """Best-effort error text from the common vendor error envelopes, or None.

    Understands Stripe `{"error": {"message"}}`, HubSpot/Zoom `{"message"}`, Intercom
    `{"errors": [{"code", "message"}]}`, Zendesk `{"error", "description"}`, Salesforce
    `[{"message", "errorCode"}]`, DRF/PostHog `{"detail"}`, and short plain-text bodies.
    """
    try:
        body = response.json()
    except ValueError:
        return _plain_text(response)
    message = _from_json(body)
    return one_line(message) if message else None


def _from_json(body: Any) -> str | None:
    if isinstance(body, list):
        return _describe(body[0]) if body else None
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        return _describe(error)
    if isinstance(error, str) and error:
        detail = _first_text(body, ("description", "error_description", "message"))
        return f"{error}: {detail}" if detail else error
    errors = body.get("errors")
    if not _first_text(body, _MESSAGE_KEYS) and isinstance(errors, list) and errors:
        return _describe(errors[0])
    return _describe(body)


def _describe(item: Any) -> str | None:
    if isinstance(item, str):
        return item or None
    if not isinstance(item, dict):
        return None
    message = _first_text(item, _MESSAGE_KEYS)
    code = _first_text(item, _CODE_KEYS)
    if message and code and code not in message:
        return f"{message} ({code})"
    return message or code


def _first_text(item: dict, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _plain_text(response: httpx.Response) -> str | None:
    kind = content_type(response)
    if kind not in ("text/plain", "no content type"):
        return None  # HTML error pages say nothing useful in one line
    try:
        text = response.text.strip()
    except (UnicodeDecodeError, LookupError):
        return None
    return one_line(text) if text else None


def content_type(response: httpx.Response) -> str:
    """The media type without parameters, e.g. "text/html"."""
    value = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return value or "no content type"


def human_size(size: int) -> str:
    """Bytes as "512 B", "1.2 kB", "3.4 MB" (decimal units)."""
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} kB"
    return f"{size / 1_000_000:.1f} MB"


def describe_body(response: httpx.Response) -> str:
    """"(text/html, 1.2 kB)": what a body was, without showing it."""
    return f"({content_type(response)}, {human_size(len(response.content))})"
