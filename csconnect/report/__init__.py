"""The dashboard: `build_report(store, config, "report.html")` writes one self-contained HTML file.

    from csconnect import Project

    with Project("csconnect.toml") as project:
        project.report("report.html", segment="enterprise")

The file holds its data (JSON), its script and the charting library (Plotly, from the installed
`plotly` package), opens offline and requests nothing from the network. See docs/report.md.
"""
from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from ..config import Config
from ..errors import CsconnectError, UsageError
from ..store import Store
from .data import SECTIONS, has_data, report_data, segments
from .render import json_for_script, render_html

__all__ = ["SECTIONS", "build_report", "has_data", "json_for_script", "render_html", "report_data", "segments"]


def build_report(store: Store, config: Config | str | None, path: str | os.PathLike[str], *,
                 segment: str | None = None, months: int = 24, title: str | None = None,
                 generated_at: datetime | None = None) -> Path:
    """Write the dashboard for `store` to `path` and return its absolute path.

    `config` gives the reporting currency (a Config, or the ISO code itself); `segment` is the one
    the page shows first (the page can switch); `months` is how many months the charts show.
    """
    currency = config if isinstance(config, str) else (config.reporting_currency if config else "USD")
    if months < 1:
        raise UsageError(f"months must be 1 or more, not {months}")
    if segment is not None:
        known = segments(store)
        if segment not in known:
            raise UsageError(f"unknown segment {segment!r} (segments: {', '.join(known)})" if known else
                             f"unknown segment {segment!r}: the database has no segments yet "
                             "(accounts.segment is empty; sync a CRM and run csconnect metrics run)")
    data = report_data(store, currency, months=months, segment=segment, generated_at=generated_at,
                       **({"title": title} if title else {}))
    text = render_html(data)
    out = Path(path).expanduser().resolve()
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.touch(mode=0o600)          # owner-only, like the database: it holds customer data
        os.chmod(tmp, 0o600)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        if tmp.parent.exists():
            tmp.unlink(missing_ok=True)
        raise CsconnectError(f"cannot write the report to {out}: {exc.strerror or exc}") from None
    return out
