"""The PostHog connector: options, authentication, the query API, errors and retries."""
from __future__ import annotations

import re
import threading
from datetime import date
from typing import Any, ClassVar, Mapping

from csconnect import AuthError, ConfigError, Connector, MalformedResponse, Option
from csconnect.http import RetryDecision

from .hogql import DEFAULT_EXCLUDED, MAX_LIMIT, PROBE, AccountSource
from .streams import GroupsStream, PersonsStream, UsageStream

SCOPES = "query:read and person:read"
# PostHog's query API allows 240 requests a minute and 2,400 an hour per project, 3 at once
# (some older projects: 120 an hour). 2/s keeps a short sync well inside the minute limit;
# a long backfill meets the hourly one, and then waits as PostHog's Retry-After says.
DEFAULT_RATE_LIMIT = 2.0
# A query may wait up to 30 s in PostHog's queue when the project's 3 concurrent slots are
# taken, then run for up to 10 s: 30 s of read timeout would cut healthy requests.
DEFAULT_TIMEOUT = 60.0
_SCOPE = re.compile(r"missing required scope '([a-z_]+:[a-z]+)'")
_TIMEOUT_WORDS = ("max execution time", "timeout exceeded", "query timeout", "timed out", "too_slow",
                  "estimated query execution time")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _region(base_url: str) -> str:
    return base_url.rstrip("/")


class PostHogConnector(Connector):
    """PostHog product analytics: daily usage per user, persons as contacts, groups as accounts."""

    name = "posthog"
    title = "PostHog"
    category = "product_analytics"
    default_base_url = "https://us.posthog.com"
    default_rate_limit = DEFAULT_RATE_LIMIT
    auth_hint = (f"check api_key: a personal API key (phx_…) with the scopes {SCOPES}, created in the "
                 "same region as base_url (https://us.posthog.com or https://eu.posthog.com)")
    options: ClassVar[tuple[Option, ...]] = (
        Option("api_key", str, help=f"personal API key (phx_…) with the scopes {SCOPES}", secret=True,
               env="POSTHOG_API_KEY"),
        Option("project_id", int, help="the project's numeric id (PostHog → Settings → Project → Project ID)",
               min=1),
        Option("start_date", str, None, "first UTC day to read on the first sync, \"YYYY-MM-DD\" "
                                        "(default: 90 days ago)"),
        Option("lookback_days", int, 3, "complete days re-read on every sync for late and backdated events",
               min=0, max=60),
        Option("account_property", str, "$group_0",
               "where a user's customer account comes from: $group_0 … $group_4 (a group type), "
               "person.NAME or NAME (a person property), event.NAME (an event property); \"\" for none"),
        Option("account_id_source", str, None, "the connection or connector whose account ids the account "
                                               "property holds (e.g. \"hubspot\"), so `csconnect link` joins them"),
        Option("feature_events", list, None, "events that count as features (default: every event whose name "
                                             "does not start with $)"),
        Option("exclude_events", list, list(DEFAULT_EXCLUDED), "events that are not user activity"),
        Option("anonymous_users", bool, False, "count the events of anonymous (person-less) visitors too"),
        Option("page_size", int, 10_000, f"rows per query (HogQL LIMIT, at most {MAX_LIMIT:,})", min=1,
               max=MAX_LIMIT),
        Option("days_per_query", int, 1, "UTC days one usage query covers (PostHog stops queries after 10 s)",
               min=1, max=31),
        Option("persons_page_size", int, 500, "persons per request of the persons list", min=1, max=1000),
        Option("timeout", float, DEFAULT_TIMEOUT, "seconds before one request times out (PostHog may queue a "
                                                  "query for 30 s)", min=1),
    )
    streams = (UsageStream, PersonsStream, GroupsStream)

    def __init__(self, connection: str, settings: Mapping[str, Any], **kw: Any):
        super().__init__(connection, settings, **kw)
        s = self.settings
        key = f"connections.{connection}"
        api_key = str(s.get("api_key") or "")
        if api_key.startswith("phc_"):
            raise ConfigError(f"{key}.api_key: this is a project API key (phc_…), which can only send events; "
                              f"create a personal API key (phx_…) with the scopes {SCOPES}")
        try:
            self.account = AccountSource.parse(s.get("account_property", "$group_0"))
        except ValueError as exc:
            raise ConfigError(f"{key}.account_property: {exc}") from None
        start = s.get("start_date")
        if start is not None:
            if not (isinstance(start, str) and _DAY.match(start)):
                raise ConfigError(f"{key}.start_date: must be a day written \"YYYY-MM-DD\", got {start!r}")
            try:
                date.fromisoformat(start)
            except ValueError:
                raise ConfigError(f"{key}.start_date: {start!r} is not a real day") from None
        for name in ("feature_events", "exclude_events"):
            values = s.get(name)
            if values is not None and not all(isinstance(v, str) and v for v in values):
                raise ConfigError(f"{key}.{name}: must be a list of event names, got {values!r}")
        self._errors = threading.local()

    # -- settings -----------------------------------------------------------------------
    @property
    def project_id(self) -> int:
        return int(self.settings["project_id"])

    @property
    def project_path(self) -> str:
        return f"/api/projects/{self.project_id}"

    def setting(self, name: str) -> Any:
        if name in self.settings:
            return self.settings[name]
        return next(o.default for o in self.all_options() if o.name == name)

    def get_streams(self) -> list:
        chosen = [UsageStream, PersonsStream] + ([GroupsStream] if self.account.kind == "group" else [])
        return [s(self) for s in chosen]

    # -- HTTP -----------------------------------------------------------------------------
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings['api_key']}"}

    def query(self, hogql: str, name: str) -> dict[str, Any]:
        """Run one HogQL query synchronously, bypassing PostHog's result cache; return the body."""
        body = self.http.post_json(f"{self.project_path}/query/", json={
            "query": {"kind": "HogQLQuery", "query": hogql}, "refresh": "force_blocking", "name": name})
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            shape = sorted(body) if isinstance(body, dict) else type(body).__name__
            raise MalformedResponse(f"{self.connection}: the query API answered without a results list "
                                    f"(got {shape})")
        columns = body.get("columns")
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise MalformedResponse(f"{self.connection}: the query API answered without its column names")
        return body

    def classify(self, response: Any) -> RetryDecision | None:
        """Stop at once on a wrong project id and on PostHog's query time limit; else the default rules."""
        status = response.status_code
        if status < 400 or status in (401, 403, 429):
            return None
        detail = self._detail(response)
        if status == 404 and response.request.url.path.startswith(self.project_path + "/"):
            return RetryDecision(retry=False, message=(
                f"project {self.project_id} was not found at {_region(self.settings['base_url'])} "
                f"({detail or 'not found'}); check project_id (PostHog → Settings → Project) and the region"))
        lowered = (detail or "").lower()
        if status in (400, 500, 504) and any(word in lowered for word in _TIMEOUT_WORDS):
            said = detail if len(detail or "") <= 60 else (detail or "")[:59].rstrip() + "…"
            return RetryDecision(retry=False, message=(
                "PostHog stopped the query at its execution time limit; lower days_per_query or page_size, "
                f"or use PostHog batch exports for a project this large (PostHog said: {said})"))
        return None

    def _detail(self, response: Any) -> str | None:
        try:
            body = response.json()
        except Exception:  # not JSON, or not read
            return None
        if not isinstance(body, dict):
            return None
        for key in ("detail", "error", "message"):
            if isinstance(body.get(key), str) and body[key].strip():
                return body[key].strip()
        return None

    def error_message(self, response: Any) -> str | None:
        """PostHog's `{"type", "code", "detail", "attr"}` -> "detail (code) [attr]"; a missing scope named."""
        detail = self._detail(response)
        if detail is None:
            return None
        scope = _SCOPE.search(detail)
        if scope:
            text = (f"the API key lacks the scope {scope.group(1)}; add it to the key under PostHog → "
                    "Settings → Personal API keys")
        else:
            try:
                body = response.json()
            except Exception:
                body = {}
            code, attr = body.get("code"), body.get("attr")
            text = detail + (f" ({code})" if isinstance(code, str) and code and code not in detail else "")
            text += f" [{attr}]" if isinstance(attr, str) and attr else ""
        self._errors.last = (response.status_code, text)
        return text

    def check(self) -> str | None:
        self._errors.last = None
        try:
            self.query(PROBE, "csconnect check")
        except AuthError as exc:
            last = getattr(self._errors, "last", None)
            code = last[0] if last else (403 if "(403)" in str(exc) else 401)
            said = last[1] if last else "no reason given"
            region = _region(self.settings["base_url"])
            if code == 401:
                raise AuthError(f"{self.connection}: the API key was rejected (401): {said}; use a personal API "
                                f"key (phx_…) created in the region of {region}", 401) from None
            if "lacks the scope" not in said:
                said += f"; the key needs the scopes {SCOPES} and access to project {self.project_id}"
            raise AuthError(f"{self.connection}: the API key was refused (403): {said}", 403) from None
        return (f"project {self.project_id} at {_region(self.settings['base_url'])}; accounts from "
                f"{self.account.describe()}")
