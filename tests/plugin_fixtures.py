"""Plugin objects for tests: loaded by fake entry points or registered directly."""
from __future__ import annotations

from typing import Any, Iterator

import click

from csconnect import Connector, Metric, MetricPack, Option, Page, RejectError, Stream, hookimpl
from csconnect.alert_sinks import AlertSink


class AccountsStream(Stream):
    """Three pages of accounts; a failure can be injected after page `fail_after`."""

    name = "accounts"
    tables = ("source_accounts", "contacts")
    pages_total = 3
    per_page = 4

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        start = (state or {}).get("page", 0)
        fail_after = self.connector.settings.get("fail_after")
        for p in range(start, self.pages_total):
            if fail_after is not None and p == fail_after:
                raise RuntimeError(f"injected crash before page {p}")
            records = [{"id": f"acc{p}{i}", "name": f"Company {p}{i}", "domain": f"c{p}{i}.example.com",
                        "email": f"ops@c{p}{i}.example.com", "created": 1_700_000_000 + p * 100 + i}
                       for i in range(self.per_page)]
            yield Page(records, {"page": p + 1})

    def normalize(self, r: dict[str, Any]):
        if r.get("bad"):
            raise RejectError(f"account {r['id']} is marked bad")
        yield "source_accounts", {"source_id": r["id"], "source_account_id": r["id"], "name": r["name"],
                                  "domain": r["domain"], "created_at": r["created"]}
        yield "contacts", {"source_id": f"c-{r['id']}", "source_account_id": r["id"], "email": r["email"]}


def mark_first_record_bad(monkeypatch: Any) -> None:
    """Make the first account of every page one that normalize rejects."""
    original = AccountsStream.pages

    def with_bad(self: AccountsStream, state: dict[str, Any] | None) -> Iterator[Page]:
        for page in original(self, state):
            page.records[0]["bad"] = True
            yield page

    monkeypatch.setattr(AccountsStream, "pages", with_bad)


class TicketsStream(Stream):
    """Incremental on `updated`; serves tickets from the connector's `tickets` list."""

    name = "tickets"
    tables = ("tickets",)
    incremental = True
    cursor_field = "updated"

    def pages(self, state: dict[str, Any] | None) -> Iterator[Page]:
        since = (state or {}).get("updated", 0)
        rows = sorted((t for t in self.connector.tickets if t["updated"] > since), key=lambda t: t["updated"])
        for i in range(0, len(rows), 2):
            chunk = rows[i:i + 2]
            yield Page(chunk, {"updated": chunk[-1]["updated"]})

    def normalize(self, r: dict[str, Any]):
        yield "tickets", {"source_id": r["id"], "source_account_id": r["org"], "status": r["status"],
                          "created_at": r["created"], "channel": r.get("channel")}


class FakeConnector(Connector):
    name = "fake"
    title = "Fake source"
    category = "crm"
    options = (
        Option("token", str, help="API token", secret=True, env="FAKE_TOKEN"),
        Option("fail_after", int, None, "inject a crash before this page"),
        Option("region", str, "us", "data centre", choices=("us", "eu")),
    )
    streams = (AccountsStream, TicketsStream)
    tickets: list[dict[str, Any]] = [
        {"id": f"t{i}", "org": f"acc0{i % 4}", "status": "open" if i % 2 else "solved",
         "created": f"2026-01-0{i + 1}T10:00:00Z", "updated": i + 1} for i in range(5)]

    def check(self) -> str:
        return "fake ok"


class RevenueLikePack(MetricPack):
    name = "alpha"
    title = "Counts accounts"
    requires = ("source_accounts",)
    parameters = (Option("multiplier", int, 1, "scale the count"),)
    metrics = (Metric("account_count", "Accounts", "count", "up", "count of accounts × multiplier"),)

    def run(self, ctx: Any) -> None:
        n = ctx.query("SELECT count(*) AS n FROM accounts")[0]["n"]
        for period in ctx.periods("month", ctx.as_of.date().replace(day=1)):
            ctx.write_value("account_count", period, n * self.params["multiplier"])


class DependentPack(MetricPack):
    name = "beta"
    title = "Needs alpha"
    requires_packs = ("alpha",)
    metrics = (Metric("account_count_doubled", "Accounts × 2", "count", "up", "2 × account_count"),)

    def run(self, ctx: Any) -> None:
        for r in ctx.query("SELECT period_start, value FROM metric_values WHERE metric='account_count' "
                           "AND segment_by='all'"):
            from csconnect.metrics import periods
            from datetime import date
            p = periods("month", date.fromisoformat(r["period_start"]), date.fromisoformat(r["period_start"]))[0]
            ctx.write_value("account_count_doubled", p, 2 * r["value"])


class good:  # noqa: N801 - a plugin module stand-in
    @staticmethod
    @hookimpl
    def register_connectors(register: Any) -> None:
        register(FakeConnector)

    @staticmethod
    @hookimpl
    def register_metric_packs(register: Any) -> None:
        register(RevenueLikePack)
        register(DependentPack)

    @staticmethod
    @hookimpl
    def register_commands(cli: Any) -> None:
        @cli.command("fake-hello")
        def fake_hello() -> None:
            """Say hello from a plugin."""
            click.echo("hello from a plugin")


class clone:  # noqa: N801 - registers a connector under a name already taken
    @staticmethod
    @hookimpl
    def register_connectors(register: Any) -> None:
        class Other(FakeConnector):
            pass
        register(Other)


class broken:  # noqa: N801 - its hook raises
    @staticmethod
    @hookimpl
    def register_connectors(register: Any) -> None:
        raise RuntimeError("boom in register_connectors")


class misspelled:  # noqa: N801 - a hook name that does not exist
    @staticmethod
    @hookimpl
    def register_conectors(register: Any) -> None:
        pass


class EchoSink(AlertSink):
    """An alert sink that keeps what it is sent."""

    name = "echo"
    options = (Option("prefix", str, "", "put before each message"),)
    sent: list[str] = []

    def send(self, alerts: list[Any]) -> None:
        EchoSink.sent += [self.settings["prefix"] + a.message for a in alerts]


class sinks:  # noqa: N801 - registers an alert sink
    @staticmethod
    @hookimpl
    def register_alert_sinks(register: Any) -> None:
        register(EchoSink)


class sinks_clone:  # noqa: N801 - registers an alert sink under a name already taken
    @staticmethod
    @hookimpl
    def register_alert_sinks(register: Any) -> None:
        class OtherEcho(EchoSink):
            pass
        register(OtherEcho)
