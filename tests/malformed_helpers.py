"""What the malformed-input tests of every connector ask of a sync's outcome."""
from __future__ import annotations

from typing import Any

from csconnect.testing import Workspace


def results(report: Any) -> dict[str, Any]:
    """Stream name -> its StreamResult."""
    return {r.stream: r for r in report.results}


def by_id(ws: Workspace, table: str) -> dict[str, dict]:
    """A canonical table's rows by source id."""
    return {r["source_id"]: r for r in ws.rows(table)}


def ids(ws: Workspace, table: str) -> set[str]:
    return set(by_id(ws, table))


def one_line(text: str | None) -> str:
    """The message exists, is one line, and is not a traceback."""
    assert text and "\n" not in text and "Traceback" not in text, text
    return text
