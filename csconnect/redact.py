"""Secrets never reach a log line, an error message or the database."""
from __future__ import annotations

import logging
import re
import threading

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

# Query parameters and headers whose values are secret whatever their value.
_SECRET_PARAMS = re.compile(
    r"(?i)\b((?:api[_-]?key|access[_-]?token|token|secret|password|client[_-]?secret|authorization)=)([^&\s\"']+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")


def add_secret(value: object) -> None:
    """Remember a secret value so that redact() hides it everywhere from now on."""
    global _pattern
    if not isinstance(value, str) or len(value) < 4:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: object) -> str:
    """Return text with every known secret and every credential-looking value masked."""
    out = str(text)
    pattern = _pattern
    if pattern is not None:
        out = pattern.sub(MASK, out)
    out = _SECRET_PARAMS.sub(lambda m: m.group(1) + MASK, out)
    out = _BEARER.sub(lambda m: m.group(1) + " " + MASK, out)
    return out


def known_secrets() -> frozenset[str]:
    return frozenset(_secrets)


class RedactingFilter(logging.Filter):
    """A logging filter that renders the message, then masks secrets in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string still must not leak
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_text is None and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
