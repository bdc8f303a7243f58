"""Alert sinks: where new alerts go. The built-in `webhook` sink is registered like any plugin's.

A sink class declares `name`, `options` (typed, secrets marked, like a connector's) and
`send(alerts)`, which raises when the alerts were not delivered. csconnect keeps an outbox
(`_csconnect_alert_deliveries`), so an alert whose delivery failed is retried later, never lost.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, ClassVar, Mapping

from .connector import NAME_RE, Option
from .errors import DeliveryError
from .hookspecs import hookimpl
from .redact import add_secret

SEVERITIES = ("info", "warning", "critical")
_EMOJI = {"info": ":large_blue_circle:", "warning": ":large_orange_circle:", "critical": ":red_circle:"}
SECTION_LIMIT = 2900      # Slack: a section's text is at most 3,000 characters
BLOCK_LIMIT = 45          # Slack: at most 50 blocks per message


@dataclass
class Alert:
    """One alert as a sink receives it (a row of the `alerts` table, plus the account's name)."""

    id: int | None
    key: str
    rule: str
    kind: str
    account_id: str | None
    account_name: str | None
    severity: str
    message: str
    values: dict[str, Any] = field(default_factory=dict)
    first_seen: str = ""
    last_seen: str = ""
    resolved_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class AlertSink:
    """Where alerts go. `sink` is the configured name ([alerts.sinks.<sink>]), `settings` its resolved options."""

    name: ClassVar[str]
    title: ClassVar[str] = ""
    options: ClassVar[tuple[Option, ...]] = ()
    batch_size: ClassVar[int] = 20      # at most this many alerts per send() call

    def __init__(self, sink: str, settings: Mapping[str, Any], *, sleep: Callable[[float], None] = time.sleep):
        self.sink = sink
        self.settings = dict(settings)
        self._sleep = sleep

    def send(self, alerts: list[Alert]) -> None:
        """Deliver these alerts; raise (DeliveryError ideally) when they were not delivered."""
        raise NotImplementedError(f"{type(self).__name__}.send")

    def close(self) -> None:
        """Release what the sink holds (HTTP clients …); called after each delivery round."""


def validate_sink_class(cls: Any) -> None:
    """Raise ValueError saying what is wrong with a registered sink class."""
    if not (isinstance(cls, type) and issubclass(cls, AlertSink)):
        raise ValueError(f"{cls!r} is not a csconnect AlertSink subclass")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError(f"alert sink {cls.__name__} needs a `name` of lower-case letters, digits and _")
    if not isinstance(cls.options, tuple) or not all(isinstance(o, Option) for o in cls.options):
        raise ValueError(f"alert sink {name}: `options` must be a tuple of csconnect.Option")
    if cls.send is AlertSink.send:
        raise ValueError(f"alert sink {name} does not implement send(alerts)")
    if not isinstance(cls.batch_size, int) or cls.batch_size < 1:
        raise ValueError(f"alert sink {name}: batch_size must be a positive whole number")


# -- the built-in webhook sink ---------------------------------------------------------------------

def _escape(text: str) -> str:
    """Slack reads &, < and > as markup (<!channel> would ping everyone): escape them."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _line(alert: Alert) -> str:
    resolved = " (resolved since)" if alert.resolved_at else ""
    return f"[{alert.severity}] {alert.message}{resolved}"


def slack_body(alerts: list[Alert]) -> dict[str, Any]:
    """A Slack incoming-webhook body: `text` (the notification and fallback) plus Block Kit blocks."""
    n = len(alerts)
    head = f"csconnect: {n} new alert{'s' if n != 1 else ''}"
    text = head + "\n" + "\n".join("• " + _escape(_line(a)) for a in alerts)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": head[:150]}}]
    for a in alerts[:BLOCK_LIMIT]:
        body = f"{_EMOJI.get(a.severity, '')} *{_escape(a.rule)}* · {_escape(_line(a))}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:SECTION_LIMIT]}})
    if n > BLOCK_LIMIT:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"and {n - BLOCK_LIMIT} more: `csconnect alerts`"}]})
    return {"text": text, "blocks": blocks}


class WebhookSink(AlertSink):
    """POST new alerts as JSON to a URL: a Slack incoming-webhook body, or plain JSON for other receivers."""

    name = "webhook"
    title = "Webhook (Slack-compatible)"
    options = (
        Option("url", str, help="the webhook URL (a credential: put it in the environment)", secret=True),
        Option("format", str, "slack", "slack: {text, blocks} for Slack incoming webhooks; json: {text, alerts}",
               choices=("slack", "json")),
        Option("timeout", float, 10.0, "seconds before one POST times out", min=1, max=300),
        Option("max_attempts", int, 4, "attempts per POST (5xx, 429, dropped connections) in one run", min=1,
               max=10),
        Option("allow_insecure", bool, False, "allow an http:// URL that is not on this machine"),
    )

    def __init__(self, sink: str, settings: Mapping[str, Any], *, sleep: Callable[[float], None] = time.sleep):
        super().__init__(sink, settings, sleep=sleep)
        from .http import HttpClient   # imported when a webhook is used, not when plugins load
        import httpx

        url = str(self.settings["url"])
        add_secret(url)
        try:
            parsed = httpx.URL(url)
            add_secret(parsed.path)                    # the token is in the path (Slack: /services/T…/B…/…)
            add_secret(parsed.raw_path.decode("ascii", "replace"))
        except Exception:  # HttpClient names the bad URL (redacted) below
            pass
        self.url = url
        self.http = HttpClient(name=f"alert sink {sink}", base_url=url, secrets=[url],
                               timeout=self.settings["timeout"], max_attempts=self.settings["max_attempts"],
                               backoff_initial=1.0, backoff_max=30.0, sleep=sleep,
                               allow_insecure=self.settings["allow_insecure"],
                               auth_hint="the webhook URL was refused; check it (Slack: is the app still "
                                         "installed and the channel not archived?)")

    def body(self, alerts: list[Alert]) -> dict[str, Any]:
        if self.settings["format"] == "json":
            text = "\n".join(_line(a) for a in alerts)
            return {"text": text, "alerts": [a.to_dict() for a in alerts]}
        return slack_body(alerts)

    def send(self, alerts: list[Alert]) -> None:
        try:
            self.http.post(self.url, json=json.loads(json.dumps(self.body(alerts), default=str)))
        except Exception as exc:
            status = getattr(exc, "status_code", None)
            permanent = status is not None and 400 <= status < 500 and status not in (408, 429)
            raise DeliveryError(str(exc), permanent=permanent) from None

    def close(self) -> None:
        self.http.close()


@hookimpl
def register_alert_sinks(register: Callable[[type], None]) -> None:
    """The built-in sinks, registered like a plugin's."""
    register(WebhookSink)
