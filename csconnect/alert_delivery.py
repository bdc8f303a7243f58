"""Sending alerts through the outbox `_csconnect_alert_deliveries`.

A new alert gets one `pending` row per sink that wants it, in the transaction that records the
alert. Delivery sends the pending ones in batches and marks each batch `sent` right after the
sink accepted it (autocommit), so a later run never sends it again. A failed batch stays
`pending` (attempts and the redacted error recorded) and is retried by the next run or by
`csconnect alerts send`; an error no retry can heal (a revoked webhook: HTTP 4xx) marks it
`failed`, which only `csconnect alerts send` retries. Nothing is ever deleted, so no alert is
lost. If the process dies between a sink's success and the commit, that batch is sent again
next time: delivery is at least once.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

from .alert_sinks import Alert, AlertSink
from .alerts import AlertsConfig, SinkConfig, parse_alerts, row_to_alert
from .config import Config, resolve_options
from .errors import CsconnectError
from .redact import redact
from .store import Store, now_iso

log = logging.getLogger("csconnect.alerts")


@dataclass
class DeliveryResult:
    sink: str
    sent: int = 0
    failed: int = 0          # marked failed for good this time (4xx)
    pending: int = 0         # still waiting for a retry
    error: str | None = None

    def line(self) -> str:
        if not (self.sent or self.failed or self.pending):
            return ""
        parts = [f"sent {self.sent} to {self.sink}"] if self.sent else []
        if self.pending:
            parts.append(f"{self.pending} pending for {self.sink} (retried next run or by `csconnect alerts send`)")
        if self.failed:
            parts.append(f"{self.failed} failed for {self.sink}")
        if self.error:
            parts.append(f"error: {self.error}")
        return ", ".join(parts)


def make_sink(config: Config, registry: Any, sink: SinkConfig, *,
              sleep: Callable[[float], None] = time.sleep) -> AlertSink:
    """The configured sink, its options resolved (secrets registered for redaction); one-line errors."""
    try:
        cls = registry.sink(sink.type)
    except CsconnectError as exc:
        raise config.error(f"alerts.sinks.{sink.name}.type", str(exc)) from None
    settings = resolve_options(config, f"alerts.sinks.{sink.name}", tuple(cls.options), sink.options,
                               f"alert sink {sink.type}")
    try:
        return cls(sink.name, settings, sleep=sleep)
    except CsconnectError as exc:
        raise config.error(f"alerts.sinks.{sink.name}", redact(str(exc))) from None


def _pending(store: Store, sink: str, statuses: tuple[str, ...]) -> list[Alert]:
    marks = ", ".join("?" * len(statuses))
    has_accounts = store.db["accounts"].exists()
    name = "(SELECT name FROM accounts WHERE account_id = a.account_id)" if has_accounts else "NULL"
    rows = store.query(
        f"SELECT a.*, {name} AS account FROM alerts a JOIN _csconnect_alert_deliveries d ON d.alert_id = a.id "
        f"WHERE d.sink = ? AND d.status IN ({marks}) ORDER BY a.id", [sink, *statuses])
    return [row_to_alert(r) for r in rows]


def deliver(store: Store, config: Config, registry: Any, *, settings: AlertsConfig | None = None,
            sinks: list[str] | None = None, include_failed: bool = False,
            sleep: Callable[[float], None] = time.sleep) -> list[DeliveryResult]:
    """Send every pending delivery (and failed ones too with include_failed) to its configured sink."""
    settings = settings or parse_alerts(config)
    statuses = ("pending", "failed") if include_failed else ("pending",)
    results = []
    for name in sinks or sorted(settings.sinks):
        if name not in settings.sinks:
            known = ", ".join(sorted(settings.sinks)) or "none configured"
            raise config.error(f"alerts.sinks.{name}", f"no such sink (sinks: {known})")
        result = DeliveryResult(name)
        results.append(result)
        alerts = _pending(store, name, statuses)
        if not alerts:
            continue
        try:
            sink = make_sink(config, registry, settings.sinks[name], sleep=sleep)
        except CsconnectError as exc:
            result.error = redact(str(exc))
            result.pending = len(alerts)
            _record(store, name, [a.id for a in alerts], "pending", result.error, attempt=False)
            log.warning("alerts: cannot send to %s: %s", name, result.error)
            continue
        try:
            _send_all(store, sink, alerts, result)
        finally:
            sink.close()
    return results


def _send_all(store: Store, sink: AlertSink, alerts: list[Alert], result: DeliveryResult) -> None:
    for i in range(0, len(alerts), sink.batch_size):
        batch = alerts[i:i + sink.batch_size]
        ids = [a.id for a in batch]
        try:
            sink.send(batch)
        except Exception as exc:  # a sink's failure never loses alerts nor stops the run
            error = redact(" ".join(f"{exc}".split()) or type(exc).__name__)
            permanent = bool(getattr(exc, "permanent", False))
            _record(store, sink.sink, ids, "failed" if permanent else "pending", error)
            rest = len(alerts) - i
            if permanent:
                result.failed += len(batch)
                result.pending += rest - len(batch)
            else:
                result.pending += rest
            result.error = error
            log.warning("alerts: sending to %s failed: %s", sink.sink, error)
            return
        _record(store, sink.sink, ids, "sent", None)
        result.sent += len(batch)


def _record(store: Store, sink: str, ids: list[Any], status: str, error: str | None, attempt: bool = True) -> None:
    """Update the outbox rows of one batch, committed at once (the store is in autocommit mode)."""
    now = now_iso()
    with store.transaction() as conn:
        conn.executemany(
            "UPDATE _csconnect_alert_deliveries SET status = ?, last_error = ?, "
            "attempts = attempts + ?, last_attempt_at = CASE WHEN ? THEN ? ELSE last_attempt_at END, "
            "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE alert_id = ? AND sink = ?",
            [(status, error, int(attempt), int(attempt), now, status, now, i, sink) for i in ids])


def outbox(store: Store) -> list[dict[str, Any]]:
    """Deliveries per sink and status."""
    return store.query("SELECT sink, status, COUNT(*) AS alerts, MAX(last_attempt_at) AS last_attempt, "
                       "MAX(last_error) AS last_error FROM _csconnect_alert_deliveries GROUP BY sink, status "
                       "ORDER BY sink, status")


def send_test(config: Config, registry: Any, name: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
    """Post one test alert to a configured sink (nothing is written to the database)."""
    settings = parse_alerts(config)
    if name not in settings.sinks:
        known = ", ".join(sorted(settings.sinks)) or "none configured"
        raise config.error(f"alerts.sinks.{name}", f"no such sink (sinks: {known}); add [alerts.sinks.{name}]")
    sink = make_sink(config, registry, settings.sinks[name], sleep=sleep)
    stamp = now_iso()
    alert = Alert(None, "test", "test", "test", None, None, "info",
                  f"csconnect test alert for sink {name}: if you can read this, alerts will arrive here", {},
                  stamp, stamp)
    try:
        sink.send([alert])
    except CsconnectError as exc:
        raise CsconnectError(redact(f"alerts: the test alert was not delivered to {name}: {exc}")) from None
    except Exception as exc:
        raise CsconnectError(redact(f"alerts: the test alert was not delivered to {name}: "
                                    f"{type(exc).__name__}: {exc}")) from None
    finally:
        sink.close()
