"""The Zendesk connector: options, authentication, errors, rate limits and the paced export reader."""
from __future__ import annotations

import logging
import re
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, ClassVar, Iterator, Mapping

from csconnect import AuthError, ConfigError, Connector, HttpError, Option, utc_timestamp
from csconnect.http import PageResult, Paginator, RateLimiter, RetryDecision, parse_retry_after

from .streams import STREAMS, list_paginator

log = logging.getLogger("csconnect.zendesk")

# Zendesk's account-wide limit is per minute and per plan: Team 200, Growth/Professional 400,
# Enterprise 700, High Volume add-on 2,500 - shared by every integration of the account (the
# customer's own apps, the Zendesk marketplace apps, other ETL tools). 1.6/s (96/min) is under half
# of the smallest plan, so a sync never starves the account's other integrations. Almost all of this
# connector's reading goes through the incremental exports, which have their own, much lower
# limit (below), so the account rate only paces the satisfaction ratings and two small lookups.
DEFAULT_RATE_LIMIT = 1.6               # requests per second (96 a minute)
# Incremental exports allow 10 requests per minute (30 with the High Volume API add-on).
DEFAULT_EXPORT_RATE = 10.0             # requests per minute, shared by the three export streams
DEFAULT_HISTORY_DAYS = 730             # first sync: two years back unless start_date says otherwise
EXCLUDED_SECONDS = 60                  # exports leave out the last minute; start_time must be older
DEFAULT_THROTTLE_WAIT = 60.0           # a 429 without Retry-After: Zendesk's windows are one minute
LONGEST_WAIT = 15 * 60.0               # the HTTP client stops on a longer Retry-After; so do we
_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_SUBDOMAIN_IN_URL = re.compile(r"^(?:https?://)?([^./]+)\.zendesk\.com/?$")


class Lookups:
    """Group and agent names by id: read once per sync, shared by the streams."""

    def __init__(self, connector: "ZendeskConnector"):
        self.connector = connector
        self._lock = threading.Lock()
        self._groups: dict[str, dict] | None = None
        self._agents: dict[str, dict] | None = None

    def group_name(self, group_id: Any) -> str | None:
        if group_id in (None, ""):
            return None
        with self._lock:
            if self._groups is None:
                self._groups = self._read("groups", "/api/v2/groups.json", {})
            group = self._groups.get(str(group_id))
        return (group or {}).get("name") or None

    def agent_name(self, user_id: Any) -> str | None:
        if user_id in (None, ""):
            return None
        with self._lock:
            if self._agents is None:
                self._agents = self._read("users", "/api/v2/users.json", {"role[]": ["agent", "admin"]})
            agent = self._agents.get(str(user_id))
        return (agent or {}).get("name") or None

    def _read(self, key: str, path: str, params: dict[str, Any]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        try:
            for result in self.connector.pages(path, list_paginator(), params={**params, "page[size]": 100},
                                               records=key):
                found.update({str(r.get("id")): r for r in result.records if isinstance(r, dict)})
        except (AuthError, HttpError) as exc:
            if not isinstance(exc, AuthError) and exc.status_code != 404:
                raise      # a quota or a timeout fails the stream: no record is saved half-resolved
            log.warning("%s: %s unreadable, tickets keep ids instead of names (%s)",
                        self.connector.connection, key, exc)
        return found


class ZendeskConnector(Connector):
    """Zendesk Support: organizations, users, tickets with their metric sets, CSAT ratings."""

    name = "zendesk"
    title = "Zendesk Support"
    category = "helpdesk"
    # Only marks this as an HTTP connector: the real base URL comes from `subdomain` (or base_url).
    default_base_url = "https://{subdomain}.zendesk.com"
    default_rate_limit = DEFAULT_RATE_LIMIT
    options: ClassVar[tuple[Option, ...]] = (
        Option("subdomain", str, help="the account's subdomain: acme for https://acme.zendesk.com"),
        Option("email", str, "", "sign-in email of the admin whose API token is used", env="ZENDESK_EMAIL"),
        Option("api_token", str, None, "an admin's API token (Admin Center > Apps and integrations > "
                                       "Zendesk API); use with email", secret=True, env="ZENDESK_API_TOKEN"),
        Option("oauth_token", str, None, "an admin's OAuth access token with the read scope, instead of "
                                         "email + api_token", secret=True, env="ZENDESK_OAUTH_TOKEN"),
        Option("start_date", str, None, "the first sync reads what changed since this date (YYYY-MM-DD; "
                                        "default: two years ago)"),
        Option("base_url", str, None, "API base URL (default: https://{subdomain}.zendesk.com)"),
        # Declared here so that the default applies (see DEFAULT_RATE_LIMIT for the choice).
        Option("rate_limit", float, DEFAULT_RATE_LIMIT, "requests per second for all streams (Zendesk allows "
                                                        "200-2,500 per minute by plan, shared by all apps)", min=0),
        Option("export_rate_limit", float, DEFAULT_EXPORT_RATE, "incremental-export requests per minute "
                                                                "(10; 30 with the High Volume add-on)",
               min=0.1, max=600),
        Option("csat_lookback_days", int, 28, "re-read satisfaction ratings made this many days before the "
                                              "last sync's newest (a customer can change a rating until the "
                                              "ticket closes)", min=0, max=365),
        Option("external_id_system", str, None, "the connection or connector whose account id organizations "
                                                "keep in external_id (e.g. hubspot)"),
        Option("organization_fields", dict, {}, "organization field keys for identity attributes, e.g. "
                                                "{ segment = \"tier\", owner = \"csm\" }"),
    )
    streams = STREAMS

    def __init__(self, connection: str, settings: Mapping[str, Any], *,
                 sleep: Callable[[float], None] = time.sleep, **kw: Any):
        super().__init__(connection, settings, sleep=sleep, **kw)
        key = f"connections.{connection}"
        s = self.settings
        self.subdomain = _subdomain(key, s.get("subdomain"))
        self.derived_base = not s.get("base_url")
        if self.derived_base:
            s["base_url"] = f"https://{self.subdomain}.zendesk.com"
        self.oauth = bool(s.get("oauth_token"))
        if self.oauth and s.get("api_token"):
            raise ConfigError(f"{key}: give either email + api_token or oauth_token, not both")
        if not self.oauth and not s.get("api_token"):
            raise ConfigError(f"{key}.api_token: is required (with email), or set oauth_token instead; "
                              "or set the environment variable ZENDESK_API_TOKEN")
        if not self.oauth and not s.get("email"):
            raise ConfigError(f"{key}.email: is required with api_token (the admin's sign-in email)")
        self.auth_hint = ("check oauth_token (an admin's OAuth access token with the read scope)" if self.oauth
                          else "check email and api_token (an admin's API token, with token access enabled "
                               "in Admin Center > Apps and integrations > Zendesk API)")
        self.start_time = _start_time(key, s.get("start_date"))
        for name, value in (s.get("organization_fields") or {}).items():
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{key}.organization_fields.{name}: must be an organization field key, "
                                  f"got {value!r}")
        self.sleep = sleep
        pace = time.sleep if sleep is time.sleep else (lambda seconds: None)   # as the core's limiter
        per_minute = float(s.get("export_rate_limit") or DEFAULT_EXPORT_RATE)
        self.export_limiter = RateLimiter(per_minute / 60, burst=1, sleep=pace)
        self.lookups = Lookups(self)

    # -- HTTP ----------------------------------------------------------------------------------
    def headers(self) -> dict[str, str]:
        out = {"Accept": "application/json"}
        if self.oauth:
            out["Authorization"] = f"Bearer {self.settings['oauth_token']}"
        return out

    def auth(self) -> Any:
        if self.oauth:
            return None
        return (f"{self.settings['email']}/token", str(self.settings["api_token"]))

    def classify(self, response: Any) -> RetryDecision | None:
        """429: wait what Retry-After says; 403 on an export: not an admin; 404/3xx: wrong subdomain."""
        status = response.status_code
        if status < 300:
            return None
        path = response.request.url.path
        if status == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            wait = DEFAULT_THROTTLE_WAIT if wait is None else wait
            return RetryDecision(retry=True, wait=wait, throttled=True)   # never uses up attempts
        said = self.error_message(response)
        if status == 403 and "/incremental/" in path:
            text = ("incremental exports need an admin: use an admin's API token or OAuth token"
                    + (f" (Zendesk said: {said})" if said else ""))
            return RetryDecision(retry=False, message=text)
        if status == 404 and self.derived_base:
            text = f"no Zendesk account at {self.settings['base_url']}: check subdomain ({self.subdomain!r})"
            return RetryDecision(retry=False, message=text + (f" (Zendesk said: {said})" if said else ""))
        if 300 <= status < 400 and self.derived_base:
            where = response.headers.get("Location", "elsewhere")
            return RetryDecision(retry=False, message=f"{self.settings['base_url']} redirects to {where}: is "
                                                      f"{self.subdomain!r} the right subdomain?")
        return None

    def error_message(self, response: Any) -> str | None:
        """`{"error": "...", "description": "..."}` or `{"error": {"title", "message"}}` -> one text."""
        try:
            body = response.json()
        except Exception:  # not JSON, or a body not read: no Zendesk message
            return None
        if not isinstance(body, dict):
            return None
        error = body.get("error")
        if isinstance(error, dict):
            parts = [str(error[k]) for k in ("title", "message") if error.get(k)]
            return ": ".join(parts) or None
        if isinstance(error, str) and error:
            description = body.get("description")
            return f"{error}: {description}" if description else error
        return None

    def pages(self, path: str, paginator: Paginator, *, params: dict[str, Any], records: str,
              start: dict[str, Any] | None = None, export: bool = False) -> Iterator[PageResult]:
        """`http.paginate`, with export requests paced by the shared export limiter.

        A 429 waits what its Retry-After says and never uses up the client's attempts
        (classify marks it throttled), so a long export at 10 requests a minute completes.
        """
        results = self.http.paginate(path, paginator, params=params, records=records, start=start)
        while True:
            if export:
                self.export_limiter.acquire()      # one acquire per request: the last page ends the loop
            result = next(results, None)
            if result is None:
                return
            yield result
            if result.state is None:
                return

    def first_start(self) -> int:
        """The start_time of a first export, never within the last minute (Zendesk refuses those)."""
        return self.clamp(self.start_time)

    @staticmethod
    def clamp(start_time: Any) -> int:
        return max(0, min(int(start_time), int(time.time()) - EXCLUDED_SECONDS))

    # -- contract ---------------------------------------------------------------------------------
    def check(self) -> str | None:
        base = self.settings["base_url"]
        try:
            body = self.http.get_json("/api/v2/users/me.json")
        except AuthError:
            raise
        except HttpError as exc:
            if "host not found" in str(exc) or "connection refused" in str(exc):
                kind = "host not found" if "host not found" in str(exc) else "connection refused"
                raise HttpError(f"{self.connection}: cannot reach {base} ({kind}): check subdomain "
                                f"({self.subdomain!r})", exc.status_code) from None
            raise
        user = (body or {}).get("user") if isinstance(body, dict) else None
        if not isinstance(user, dict) or user.get("id") is None:
            raise AuthError(f"{self.connection}: Zendesk answered as an anonymous user, so the credentials were "
                            f"not accepted (401): {self.auth_hint}", 401)
        role = user.get("role")
        if role != "admin":
            raise AuthError(f"{self.connection}: {user.get('email') or 'the user'} is {role or 'not an admin'}, "
                            "but incremental exports need an admin (403): use an admin's API token", 403)
        return f"{user.get('name') or user.get('email')} (admin) on {base}"


def _subdomain(key: str, value: Any) -> str:
    text = str(value or "").strip().lower()
    found = _SUBDOMAIN_IN_URL.match(text)
    if found:
        text = found.group(1)
    if not _SUBDOMAIN.match(text):
        raise ConfigError(f"{key}.subdomain: must be the account's subdomain (acme for https://acme.zendesk.com), "
                          f"got {value!r}")
    return text


def _start_time(key: str, value: Any) -> int:
    if value in (None, ""):
        return int(time.time()) - DEFAULT_HISTORY_DAYS * 86400
    try:
        text = utc_timestamp(value)
    except ValueError:
        text = None
    if text is None:
        raise ConfigError(f"{key}.start_date: must be a date (YYYY-MM-DD) or an ISO 8601 time, got {value!r}")
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())
