"""The dashboard page: one HTML file with its data, styles, script and charting library inside.

Plotly's JavaScript comes from the installed `plotly` Python package (it ships plotly.min.js),
so nothing is downloaded, now or when the page opens; a Content-Security-Policy in the page
forbids any request to anywhere.
"""
from __future__ import annotations

import json
import math
from html import escape
from importlib import resources
from typing import Any

from .. import __version__
from .data import has_data

# The page may load nothing from anywhere: inline scripts and styles, data:/blob: images only.
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; "
       "font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'")

# Runs first: every script error, rejected promise, console.error and blocked request is counted,
# so a headless browser's DOM dump (body data-errors) tells whether the page rendered cleanly.
HEALTH_JS = """(function () {
  var errs = window.__reportErrors = [];
  function note(msg) {
    errs.push(String(msg));
    if (document.body) {
      document.body.setAttribute('data-errors', String(errs.length));
      var box = document.getElementById('errors');
      if (box) {
        box.hidden = false;
        box.textContent = errs.length + ' problem(s) while drawing this page: ' + errs.join(' | ');
      }
    }
  }
  window.addEventListener('error', function (e) { note('script error: ' + (e.message || e)); });
  window.addEventListener('unhandledrejection', function (e) {
    note('unhandled rejection: ' + ((e.reason && e.reason.message) || e.reason));
  });
  document.addEventListener('securitypolicyviolation', function (e) { note('blocked request: ' + e.blockedURI); });
  var original = console.error;
  console.error = function () {
    note(Array.prototype.join.call(arguments, ' '));
    return original.apply(console, arguments);
  };
})();"""

ABOUT = {
    "kpis": "The latest month and its change from the month before (green: better, red: worse, by each metric's "
            "direction). Hover a tile for the metric's name.",
    "mrr": "Monthly recurring revenue (mrr) and what moved it: new, expansion and reactivation above the line, "
           "contraction and churn below (mrr_new, mrr_expansion, mrr_reactivation, mrr_contraction, mrr_churn).",
    "retention": "Customer churn rate, gross and net MRR churn rate (monthly); net and gross revenue retention "
                 "over 12 months (nrr, grr).",
    "satisfaction": "NPS (−100…100, with its 95% interval), CSAT (share of satisfied answers) and CES (mean score "
                    "on its own scale), by month of the answer.",
    "support": "First reply and resolution times (median, dotted: 90th percentile) and the first-contact "
               "resolution rate, by month.",
    "usage": "Stickiness (dau_mau), seat utilisation, and daily / monthly active users (dau, mau).",
    "health": "How many accounts are green, yellow and red at each month's end (accounts_green, accounts_yellow, "
              "accounts_red) and the mean health score (health_score_mean).",
    "at_risk": "Accounts in the red or yellow band now, lowest score first, with the reasons behind the score "
               "(account_health).",
    "renewals": "Subscription terms and open renewal deals that end in the next 90 days (renewal_pipeline).",
    "scorecard": "Each KPI target for the latest period: on track, at risk or off track (scorecard).",
    "alerts": "Alerts raised by the rules in csconnect.toml that are still open, newest first (alerts).",
}
CHARTS = {
    "mrr": ["chart-mrr"], "retention": ["chart-churn", "chart-nrr"],
    "satisfaction": ["chart-nps", "chart-csat", "chart-ces"], "support": ["chart-times", "chart-fcr"],
    "usage": ["chart-stickiness", "chart-users"], "health": ["chart-health"],
}
TABLES = {"at_risk": "table-at-risk", "renewals": "table-renewals", "scorecard": "table-scorecard",
          "alerts": "table-alerts"}
HALF: set[str] = set()  # sections that take half the width (none now)


def _finite(value: Any) -> Any:
    """The value with every NaN or infinity (which JSON cannot hold) turned into null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def json_for_script(value: Any) -> str:
    """JSON that is safe inside <script>: no '<', '>' or '&' can end the element or open a comment."""
    text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _plotly() -> tuple[str, str]:
    import plotly
    from plotly.offline import get_plotlyjs
    return get_plotlyjs(), plotly.__version__


def _section(spec: dict[str, Any], data: dict[str, Any]) -> str:
    sid = spec["id"]
    has = has_data(data, sid)
    if sid == "kpis":
        body = '<div class="tiles" id="tiles"></div>'
    elif sid in CHARTS:
        body = '<div class="charts">' + "".join(
            f'<div class="chart-box"><div class="chart" id="{c}"></div>'
            f'<p class="chart-empty" hidden>no data for this chart</p></div>' for c in CHARTS[sid]) + "</div>"
    else:
        body = f'<div class="table-wrap"><table id="{TABLES[sid]}"></table></div>'
    cls = "" if sid in HALF else ' class="wide"'
    return (f'<section id="section-{sid}" data-section="{sid}" data-has-data="{int(has)}"{cls}>'
            f'<h2>{escape(spec["title"])}</h2><p class="about">{escape(ABOUT[sid])}</p>'
            f'<div class="body"{"" if has else " hidden"}>{body}</div>'
            f'<p class="empty"{" hidden" if has else ""}>{escape(spec["empty"])}</p></section>')


def render_html(data: dict[str, Any]) -> str:
    """The whole page for `data` (from report_data)."""
    plotly_js, plotly_version = _plotly()
    meta = data["meta"]
    as_of = meta["as_of"] or "no metrics computed yet"
    facts = (f'As of <b>{escape(as_of)}</b> · amounts in <b>{escape(meta["currency"])}</b> · '
             f'generated <b>{escape(meta["generated_at"])}</b>'
             + (f' · metrics computed {escape(str(meta["computed_at"]))}' if meta["computed_at"] else ""))
    sections = "\n".join(_section(s, data) for s in data["sections"])
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="csconnect {escape(__version__)}">
<title>{escape(meta["title"])} — as of {escape(as_of)}</title>
<script>{HEALTH_JS}</script>
<style>{_asset("report.css")}</style>
</head>
<body data-render="pending" data-errors="0">
<header>
<div><h1>{escape(meta["title"])}</h1><p class="meta" id="facts">{facts}</p></div>
<div class="filter"><label for="segment">Segment</label><select id="segment"><option value="">All segments</option></select><span id="segment-note"></span></div>
</header>
<noscript><p class="empty">This report draws its charts and tables with JavaScript; allow scripts for this file to see them.</p></noscript>
<div id="errors" hidden></div>
<main>
{sections}
</main>
<footer>Written by csconnect {escape(__version__)} from {escape(meta.get("database") or "the project database")}; charts by Plotly {escape(plotly_version)}, embedded in this file. Nothing is loaded from the network.</footer>
<script type="application/json" id="report-data">{json_for_script(data)}</script>
<script>{plotly_js}</script>
<script>{_asset("report.js")}</script>
</body>
</html>
"""
