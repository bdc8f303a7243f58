"""Tests for csconnect.http: retries, errors, redaction, host rules, rate limiting, pagination."""
from __future__ import annotations

import base64
import json
import logging
import socket
import sys
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest
import respx

from csconnect.errors import AuthError, ConnectorError, HttpError, MalformedResponse
from csconnect.http import (
    CursorPaginator,
    HttpClient,
    LinkHeaderPaginator,
    NextUrlPaginator,
    OffsetPaginator,
    RateLimiter,
    RetryDecision,
    parse_retry_after,
)
from csconnect.http.paginators import dig
from csconnect.http.retry import backoff

STRIPE = "https://api.stripe.com/v1"
CUSTOMERS = f"{STRIPE}/customers"
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def make(name: str = "stripe", base_url: str = STRIPE, **kw) -> HttpClient:
    kw.setdefault("sleep", lambda seconds: None)
    return HttpClient(name=name, base_url=base_url, **kw)


def customer(n: int) -> dict:
    return {"id": f"cus_{n:04d}", "object": "customer", "email": f"ops{n}@acme.example", "created": 1767225600 + n}


def stripe_list(ids: range, has_more: bool) -> dict:
    return {"object": "list", "url": "/v1/customers", "has_more": has_more, "data": [customer(i) for i in ids]}


def ok(body: object = None, **kw) -> httpx.Response:
    return httpx.Response(200, json=stripe_list(range(1, 3), False) if body is None else body, **kw)


def params_of(route: respx.Route) -> list[dict]:
    return [dict(call.request.url.params) for call in route.calls]


# -- requests ------------------------------------------------------------------------------------


@respx.mock
def test_user_agent_version_and_request_headers_are_sent():
    route = respx.get(CUSTOMERS).mock(return_value=ok())
    client = make(headers={"Stripe-Version": "2026-09-30.endive"}, user_agent="csconnect/0.1 stripe")
    client.get("customers", headers={"X-Trace": "t-1"})
    sent = route.calls.last.request.headers
    assert sent["User-Agent"] == "csconnect/0.1 stripe"
    assert sent["Stripe-Version"] == "2026-09-30.endive"
    assert sent["X-Trace"] == "t-1"
    assert make().get("customers").request.headers["User-Agent"] == "csconnect"


@respx.mock
@pytest.mark.parametrize("timeout, expected_connect", [(30.0, 10.0), (5.0, 5.0)])
def test_every_request_carries_timeouts(timeout, expected_connect):
    route = respx.get(CUSTOMERS).mock(return_value=ok())
    make(timeout=timeout).get("customers")
    assert route.calls.last.request.extensions["timeout"] == {
        "connect": expected_connect, "read": timeout, "write": timeout, "pool": timeout,
    }


@respx.mock
@pytest.mark.parametrize(
    "url", ["customers", "/v1/customers", "/customers", CUSTOMERS, "https://API.stripe.com:443/v1/customers"]
)
def test_relative_urls_join_onto_the_base_path(url):
    route = respx.get(CUSTOMERS).mock(return_value=ok())
    make().get(url)
    assert route.call_count == 1


@respx.mock
def test_base_url_without_path_and_query_in_url_merge_with_params():
    route = respx.get("https://api.hubapi.com/crm/v3/objects/companies").mock(return_value=ok({"results": []}))
    client = make("hubspot", "https://api.hubapi.com/")
    client.get_json("crm/v3/objects/companies?archived=false", params={"limit": 100})
    assert params_of(route) == [{"archived": "false", "limit": "100"}]


@respx.mock
def test_post_json_and_form_data():
    search = respx.post("https://api.intercom.io/conversations/search").mock(
        return_value=httpx.Response(200, json={"type": "conversation.list", "conversations": []})
    )
    token = respx.post("https://api.intercom.io/oauth/token").mock(
        return_value=httpx.Response(200, json={"access_token": "x"})
    )
    client = make("intercom", "https://api.intercom.io")
    query = {"query": {"field": "updated_at", "operator": ">", "value": 1}}
    body = client.post_json("/conversations/search", json=query)
    client.post("oauth/token", data={"grant_type": "account_credentials"})
    assert body["type"] == "conversation.list"
    assert search.calls.last.request.read() == b'{"query":{"field":"updated_at","operator":">","value":1}}'
    assert token.calls.last.request.read() == b"grant_type=account_credentials"


def test_close_and_context_manager():
    with make() as client:
        assert not client._client.is_closed
    assert client._client.is_closed


# -- retries -------------------------------------------------------------------------------------


@respx.mock
def test_zendesk_429_honours_retry_after_and_logs_the_retry(caplog):
    url = "https://acme.zendesk.com/api/v2/tickets.json"
    limited = httpx.Response(
        429,
        headers={"Retry-After": "7"},
        json={"error": "APIRateLimitExceeded", "description": "Number of allowed API requests per minute exceeded"},
    )
    route = respx.get(url).mock(side_effect=[limited, ok({"tickets": []})])
    slept: list[float] = []
    client = make("zendesk", "https://acme.zendesk.com/api/v2", sleep=slept.append)
    with caplog.at_level(logging.WARNING, logger="csconnect.http"):
        assert client.get_json("tickets.json") == {"tickets": []}
    assert route.call_count == 2
    assert client.waits == slept == [7.0]
    assert caplog.messages == ["zendesk: HTTP 429 on GET /api/v2/tickets.json; retrying in 7.0 s (attempt 2 of 6)"]


@respx.mock
def test_503_until_the_attempts_run_out_then_one_line_error():
    route = respx.get(CUSTOMERS).mock(return_value=httpx.Response(503))
    slept: list[float] = []
    client = make(sleep=slept.append)
    with pytest.raises(HttpError) as err:
        client.get("customers")
    assert str(err.value) == "stripe: GET /v1/customers failed after 6 attempts: HTTP 503 Service Unavailable"
    assert err.value.status_code == 503
    assert route.call_count == 6
    assert slept == client.waits and len(client.waits) == 5
    for attempt, wait in enumerate(client.waits, start=1):
        step = 2.0 ** (attempt - 1)
        assert step / 2 <= wait <= step


@respx.mock
def test_backoff_is_capped_at_backoff_max():
    respx.get(CUSTOMERS).mock(return_value=httpx.Response(502))
    client = make(backoff_initial=10.0, backoff_max=15.0, max_attempts=5)
    with pytest.raises(HttpError):
        client.get("customers")
    assert 5.0 <= client.waits[0] <= 10.0
    assert all(7.5 <= wait <= 15.0 for wait in client.waits[1:])
    assert len(client.waits) == 4


def test_backoff_uses_equal_jitter():
    waits = [backoff(3, 1.0, 60.0) for _ in range(200)]
    assert all(2.0 <= wait <= 4.0 for wait in waits)
    assert len(set(waits)) > 100  # jittered, not a constant
    assert backoff(40, 1.0, 60.0) <= 60.0


@respx.mock
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried(status):
    route = respx.get(CUSTOMERS).mock(side_effect=[httpx.Response(status), ok()])
    client = make()
    assert client.get_json("customers")["object"] == "list"
    assert route.call_count == 2
    assert len(client.waits) == 1


@respx.mock
@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_other_client_errors_are_not_retried(status):
    route = respx.get(CUSTOMERS).mock(return_value=httpx.Response(status))
    client = make()
    with pytest.raises(HttpError) as err:
        client.get("customers")
    assert route.call_count == 1
    assert client.waits == []
    assert err.value.status_code == status


@respx.mock
@pytest.mark.parametrize(
    "retry_after",
    ["0", "-5", format_datetime(datetime.now(timezone.utc) - timedelta(minutes=5), usegmt=True)],
)
def test_retry_after_zero_negative_or_past_waits_the_minimum_backoff(retry_after):
    respx.get(CUSTOMERS).mock(side_effect=[httpx.Response(429, headers={"Retry-After": retry_after}), ok()])
    client = make(backoff_initial=2.0)
    client.get("customers")
    assert client.waits == [2.0]


@respx.mock
def test_retry_after_above_backoff_max_is_honoured():
    respx.get(CUSTOMERS).mock(side_effect=[httpx.Response(503, headers={"Retry-After": "120"}), ok()])
    client = make(backoff_max=60.0)
    client.get("customers")
    assert client.waits == [120.0]


@respx.mock
def test_retry_after_http_date_in_the_future():
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=90), usegmt=True)
    respx.get(CUSTOMERS).mock(side_effect=[httpx.Response(429, headers={"Retry-After": when}), ok()])
    client = make()
    client.get("customers")
    assert 85.0 <= client.waits[0] <= 90.0


@respx.mock
def test_retry_after_over_fifteen_minutes_stops_at_once():
    daily = {
        "status": "error", "message": "You have reached your daily limit.", "errorType": "RATE_LIMIT",
        "policyName": "DAILY",
    }
    url = "https://api.hubapi.com/crm/v3/objects/deals"
    route = respx.get(url).mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}, json=daily))
    client = make("hubspot", "https://api.hubapi.com")
    with pytest.raises(HttpError) as err:
        client.get("/crm/v3/objects/deals")
    assert str(err.value) == (
        "hubspot: GET /crm/v3/objects/deals failed: HTTP 429: You have reached your daily limit. "
        "(the server asked to wait 3600 s, more than the 15-minute limit; try again later)"
    )
    assert route.call_count == 1 and client.waits == []


@respx.mock
def test_transport_error_is_retried_then_succeeds():
    route = respx.get(CUSTOMERS).mock(side_effect=[httpx.ConnectError("[Errno 111] Connection refused"), ok()])
    client = make()
    assert client.get_json("customers")["has_more"] is False
    assert route.call_count == 2 and len(client.waits) == 1


@respx.mock
@pytest.mark.parametrize(
    "error, kind",
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection refused"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), "host not found"),
        (httpx.ConnectTimeout("timed out"), "connection timed out"),
        (httpx.ReadTimeout("The read operation timed out"), "read timed out"),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."),
         "connection closed by the server"),
        (httpx.ReadError("[Errno 104] Connection reset by peer"), "connection reset"),
    ],
)
def test_transport_errors_name_their_kind_after_the_attempts(error, kind):
    route = respx.get(CUSTOMERS).mock(side_effect=error)
    client = make(max_attempts=3)
    with pytest.raises(HttpError) as err:
        client.get("customers")
    assert str(err.value) == f"stripe: GET /v1/customers failed after 3 attempts: {kind}"
    assert route.call_count == 3 and len(client.waits) == 2


def test_a_real_refused_connection_is_retried_and_reported():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    client = make("posthog", f"http://127.0.0.1:{port}", max_attempts=2)
    with pytest.raises(HttpError) as err:
        client.get("/api/projects/1/persons/")
    assert str(err.value) == "posthog: GET /api/projects/1/persons/ failed after 2 attempts: connection refused"
    assert len(client.waits) == 1


@respx.mock
def test_certificate_failures_are_not_retried():
    error = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate")
    route = respx.get(CUSTOMERS).mock(side_effect=error)
    client = make()
    with pytest.raises(HttpError) as err:
        client.get("customers")
    assert str(err.value) == "stripe: GET /v1/customers failed: TLS certificate verification failed"
    assert route.call_count == 1 and client.waits == []


class CountingLimiter(RateLimiter):
    def __init__(self) -> None:
        super().__init__(rate=1000.0, burst=1000)
        self.acquired = 0

    def acquire(self) -> None:
        self.acquired += 1


@respx.mock
def test_rate_limiter_is_acquired_before_every_attempt():
    respx.get(CUSTOMERS).mock(side_effect=[httpx.Response(503), httpx.ConnectError("refused"), ok()])
    limiter = CountingLimiter()
    make(rate_limiter=limiter).get("customers")
    assert limiter.acquired == 3


# -- classify ------------------------------------------------------------------------------------


def stripe_classify(response: httpx.Response) -> RetryDecision | None:
    if response.headers.get("Stripe-Should-Retry") == "false":
        return RetryDecision(retry=False, message="Stripe says this request must not be retried")
    return None


@respx.mock
def test_classify_stops_a_retry_stripe_should_retry_false():
    route = respx.post(f"{STRIPE}/invoices/in_1/pay").mock(
        return_value=httpx.Response(500, headers={"Stripe-Should-Retry": "false"})
    )
    client = make(classify=stripe_classify)
    with pytest.raises(HttpError) as err:
        client.post("invoices/in_1/pay")
    assert str(err.value) == (
        "stripe: POST /v1/invoices/in_1/pay failed: HTTP 500: Stripe says this request must not be retried"
    )
    assert route.call_count == 1 and client.waits == []


def salesforce_classify(response: httpx.Response) -> RetryDecision | None:
    if response.status_code == 403 and "REQUEST_LIMIT_EXCEEDED" in response.text:
        message = "the org's 24-hour API request limit is used up (REQUEST_LIMIT_EXCEEDED)"
        return RetryDecision(retry=False, message=message)
    return None


@respx.mock
def test_classify_turns_salesforce_403_quota_into_a_stop_not_an_auth_error():
    base = "https://acme.my.salesforce.com/services/data/v66.0"
    body = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    route = respx.get(f"{base}/query").mock(return_value=httpx.Response(403, json=body))
    client = make("salesforce", base, classify=salesforce_classify)
    with pytest.raises(HttpError) as err:
        client.get("query", params={"q": "SELECT Id FROM Account"})
    assert not isinstance(err.value, AuthError)
    assert err.value.status_code == 403
    assert str(err.value) == (
        "salesforce: GET /services/data/v66.0/query failed: HTTP 403: "
        "the org's 24-hour API request limit is used up (REQUEST_LIMIT_EXCEEDED)"
    )
    assert route.call_count == 1


@respx.mock
def test_classify_waits_until_intercom_rate_limit_reset():
    def intercom_classify(response: httpx.Response) -> RetryDecision | None:
        if response.status_code == 429 and "X-RateLimit-Reset" in response.headers:
            return RetryDecision(retry=True, wait=int(response.headers["X-RateLimit-Reset"]) - NOW.timestamp())
        return None

    reset = str(int(NOW.timestamp()) + 12)
    limited = httpx.Response(
        429,
        headers={"X-RateLimit-Limit": "1666", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
        json={"type": "error.list", "errors": [{"code": "rate_limit_exceeded", "message": "Exceeded rate limit"}]},
    )
    route = respx.get("https://api.intercom.io/contacts").mock(side_effect=[limited, ok({"type": "list", "data": []})])
    client = make("intercom", "https://api.intercom.io", classify=intercom_classify)
    client.get("contacts")
    assert route.call_count == 2
    assert client.waits == [12.0]


@respx.mock
def test_classify_retries_a_status_the_default_would_not_and_hubspot_window():
    hubspot_429 = {
        "status": "error", "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT", "correlationId": "c0ffee00-0000-4000-8000-000000000001",
        "policyName": "TEN_SECONDLY_ROLLING",
    }

    def hubspot_classify(response: httpx.Response) -> RetryDecision | None:
        if response.status_code in (408, 429):
            return RetryDecision(retry=True, wait=10.0)
        return None

    url = "https://api.hubapi.com/crm/v3/objects/companies"
    route = respx.get(url).mock(side_effect=[httpx.Response(408), httpx.Response(429, json=hubspot_429)] * 2)
    client = make("hubspot", "https://api.hubapi.com", classify=hubspot_classify, max_attempts=4)
    with pytest.raises(HttpError) as err:
        client.get("/crm/v3/objects/companies")
    assert route.call_count == 4
    assert client.waits == [10.0, 10.0, 10.0]
    assert str(err.value) == (
        "hubspot: GET /crm/v3/objects/companies failed after 4 attempts: "
        "HTTP 429 Too Many Requests: You have reached your ten_secondly_rolling limit."
    )


@respx.mock
def test_classify_returning_none_keeps_the_default_rules():
    route = respx.get(CUSTOMERS).mock(side_effect=[httpx.Response(503), httpx.Response(404)])
    client = make(classify=lambda response: None)
    with pytest.raises(HttpError) as err:
        client.get("customers")
    assert route.call_count == 2 and err.value.status_code == 404


# -- errors --------------------------------------------------------------------------------------

STRIPE_BAD_KEY = {"error": {"message": "Invalid API Key provided: sk_test_****1234", "type": "invalid_request_error"}}


@respx.mock
def test_401_is_an_auth_error_with_the_hint():
    route = respx.get(CUSTOMERS).mock(return_value=httpx.Response(401, json=STRIPE_BAD_KEY))
    client = make(auth_hint="check api_key (STRIPE_API_KEY); a restricted key needs read access")
    with pytest.raises(AuthError) as err:
        client.get("customers")
    assert str(err.value) == (
        "stripe: the credentials were rejected (401): check api_key (STRIPE_API_KEY); a restricted key needs "
        "read access (the server said: Invalid API Key provided: sk_test_****1234)"
    )
    assert route.call_count == 1


@respx.mock
def test_403_is_an_auth_error_and_prefers_hubspot_top_level_message():
    body = {
        "status": "error", "message": "This app hasn't been granted all required scopes to make this call.",
        "correlationId": "c0ffee00", "errors": [{"message": "One or more of the following scopes are required."}],
        "category": "MISSING_SCOPES",
    }
    respx.get("https://api.hubapi.com/crm/v3/owners").mock(return_value=httpx.Response(403, json=body))
    with pytest.raises(AuthError) as err:
        make("hubspot", "https://api.hubapi.com").get("/crm/v3/owners")
    assert str(err.value) == (
        "hubspot: the credentials were rejected (403): check the credentials "
        "(the server said: This app hasn't been granted all required scopes to make this call.)"
    )


@respx.mock
@pytest.mark.parametrize(
    "response, expected",
    [
        (httpx.Response(400, json={"error": {"message": "No such customer: 'cus_x'", "code": "resource_missing"}}),
         "HTTP 400: No such customer: 'cus_x' (resource_missing)"),
        (httpx.Response(400, json={"status": "error", "message": "Property values were not valid",
                                   "category": "VALIDATION_ERROR"}),
         "HTTP 400: Property values were not valid"),
        (httpx.Response(400, json={"type": "error.list",
                                   "errors": [{"code": "parameter_invalid", "message": "per_page must be <= 150"}]}),
         "HTTP 400: per_page must be <= 150 (parameter_invalid)"),
        (httpx.Response(422, json={"error": "RecordInvalid", "description": "Record validation errors"}),
         "HTTP 422: RecordInvalid: Record validation errors"),
        (httpx.Response(400, json=[{"message": "unexpected token: FROM", "errorCode": "MALFORMED_QUERY"}]),
         "HTTP 400: unexpected token: FROM (MALFORMED_QUERY)"),
        (httpx.Response(404, json={"type": "invalid_request", "code": "not_found", "detail": "Not found.",
                                   "attr": None}),
         "HTTP 404: Not found. (not_found)"),
        (httpx.Response(400, text="Bad Request: missing from_date\n", headers={"Content-Type": "text/plain"}),
         "HTTP 400: Bad Request: missing from_date"),
        (httpx.Response(400, html="<html><body><h1>400</h1></body></html>"), "HTTP 400 Bad Request"),
    ],
)
def test_other_4xx_give_one_line_with_the_vendor_message(response, expected):
    respx.get(CUSTOMERS).mock(return_value=response)
    with pytest.raises(HttpError) as err:
        make().get("customers")
    assert str(err.value) == f"stripe: GET /v1/customers failed: {expected}"


@respx.mock
def test_long_vendor_messages_are_cut_and_flattened():
    message = "first line\nsecond line\t" + "x" * 500
    respx.get(CUSTOMERS).mock(return_value=httpx.Response(400, json={"error": {"message": message}}))
    with pytest.raises(HttpError) as err:
        make().get("customers")
    vendor = str(err.value).split("HTTP 400: ", 1)[1]
    assert vendor.startswith("first line second line xxx")
    assert len(vendor) == 200 and vendor.endswith("…")
    assert "\n" not in str(err.value)


@respx.mock
def test_error_message_hook_overrides_the_default_extraction():
    body = {"api_error_code": "param_wrong_value", "message": "limit : invalid", "error_param": "limit"}
    respx.get("https://acme.chargebee.com/api/v2/subscriptions").mock(return_value=httpx.Response(400, json=body))
    client = make("chargebee", "https://acme.chargebee.com/api/v2",
                  error_message=lambda r: f"{r.json()['error_param']}: {r.json()['message']}")
    with pytest.raises(HttpError) as err:
        client.get("subscriptions")
    assert str(err.value) == "chargebee: GET /api/v2/subscriptions failed: HTTP 400: limit: limit : invalid"


@pytest.mark.respx(assert_all_called=False)
def test_redirects_are_not_followed(respx_mock):
    moved = httpx.Response(301, headers={"Location": "https://login.example.com/sso?token=abc"})
    respx_mock.get(CUSTOMERS).mock(return_value=moved)
    elsewhere = respx_mock.get("https://login.example.com/sso").mock(return_value=ok())
    with pytest.raises(HttpError) as err:
        make().get("customers")
    assert str(err.value) == (
        "stripe: GET /v1/customers failed: HTTP 301 Moved Permanently: the server redirects to "
        "https://login.example.com/sso; csconnect does not follow redirects, check base_url"
    )
    assert elsewhere.call_count == 0


# -- bodies that are not JSON --------------------------------------------------------------------

HTML_PAGE = "<html><head><title>Maintenance</title></head><body>" + "." * 1150 + "</body></html>"


@respx.mock
def test_non_json_200_is_retried_once_then_malformed():
    route = respx.get(CUSTOMERS).mock(return_value=httpx.Response(200, html=HTML_PAGE))
    client = make()
    with pytest.raises(MalformedResponse) as err:
        client.get_json("customers")
    assert str(err.value) == "stripe: GET /v1/customers returned a body that is not JSON (text/html, 1.2 kB)"
    assert route.call_count == 2 and len(client.waits) == 1


@respx.mock
def test_non_json_200_then_json_succeeds(caplog):
    route = respx.get(CUSTOMERS).mock(side_effect=[httpx.Response(200, text="{\"object\": \"li"), ok()])
    client = make()
    with caplog.at_level(logging.WARNING, logger="csconnect.http"):
        assert client.get_json("customers")["object"] == "list"
    assert route.call_count == 2
    assert "stripe: a body that is not JSON (text/plain, 14 B) on GET /v1/customers; retrying in" in caplog.text


@respx.mock
def test_non_json_on_the_last_attempt_is_malformed_not_http_error():
    respx.get(CUSTOMERS).mock(side_effect=[httpx.Response(503), httpx.Response(200, text="")])
    with pytest.raises(MalformedResponse, match=r"not JSON \(text/plain, 0 B\)"):
        make(max_attempts=2).get_json("customers")


@respx.mock
def test_plain_request_does_not_parse_and_204_is_none():
    respx.get(CUSTOMERS).mock(return_value=httpx.Response(200, html=HTML_PAGE))
    respx.get(f"{STRIPE}/customers/cus_1/discount").mock(return_value=httpx.Response(204))
    client = make()
    assert client.get("customers").text == HTML_PAGE
    assert client.get_json("customers/cus_1/discount") is None


@respx.mock
@pytest.mark.parametrize(
    "body, problem",
    [
        ({"object": "list", "url": "/v1/customers", "has_more": False},
         "returned JSON without a 'data' list (keys: object, url, has_more)"),
        ({"object": "list", "data": {"id": "cus_1"}}, "returned JSON where 'data' is an object, not a list"),
        (["cus_1"], "returned JSON where 'data' is missing, not a list"),
    ],
)
def test_paginate_rejects_a_body_of_the_wrong_shape(body, problem):
    route = respx.get(CUSTOMERS).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(MalformedResponse) as err:
        list(make().paginate("customers", CursorPaginator(has_more="has_more")))
    assert str(err.value) == f"stripe: GET /v1/customers {problem}"
    assert route.call_count == 1


# -- secrets -------------------------------------------------------------------------------------

SECRET = "zq7-secret-value-4f9d1c"


@respx.mock
def test_secrets_in_query_and_headers_never_reach_logs_or_errors(caplog):
    echo = {"error": {"message": f"Invalid key {SECRET} for this account"}}
    respx.get(CUSTOMERS).mock(side_effect=[httpx.Response(503), httpx.Response(400, json=echo)])
    client = make(secrets=[SECRET], headers={"X-Custom-Token": SECRET}, auth=("sk_test_fake_basic_auth_key", ""))
    with caplog.at_level(logging.DEBUG, logger="csconnect.http"), pytest.raises(HttpError) as err:
        client.get(f"customers?key={SECRET}")
    basic = base64.b64encode(b"sk_test_fake_basic_auth_key:").decode()
    logged = caplog.text
    assert "GET https://api.stripe.com/v1/customers?key=*** -> 503" in logged  # the URL is logged, masked
    for leaked in (SECRET, "sk_test_fake_basic_auth_key", basic):
        assert leaked not in logged
        assert leaked not in str(err.value)
    assert str(err.value) == "stripe: GET /v1/customers failed: HTTP 400: Invalid key *** for this account"


@respx.mock
def test_per_request_authorization_header_value_is_registered_as_a_secret():
    token = "pat-na1-0c4d1e2f-aaaa-bbbb"
    body = {"status": "error", "message": f"token {token} expired"}
    respx.get("https://api.hubapi.com/crm/v3/owners").mock(return_value=httpx.Response(400, json=body))
    client = make("hubspot", "https://api.hubapi.com")
    with pytest.raises(HttpError) as err:
        client.get("/crm/v3/owners", headers={"Authorization": f"Bearer {token}"})
    assert token not in str(err.value) and "token *** expired" in str(err.value)


# -- hosts and schemes ---------------------------------------------------------------------------


def test_plain_http_base_url_is_refused_with_the_option_to_set():
    with pytest.raises(ConnectorError) as err:
        make("posthog", "http://posthog.acme.example/api")
    assert str(err.value) == (
        "posthog: base_url http://posthog.acme.example is not https, so the credentials would travel unencrypted; "
        "use https, or set allow_insecure = true on this connection if you really mean it"
    )


@pytest.mark.parametrize(
    "base_url, allow_insecure",
    [("http://localhost:8080", False), ("http://127.0.0.5:9000/api", False), ("http://[::1]:8000", False),
     ("http://stripe-mock.localhost:12111/v1", False), ("http://proxy.internal:3128/v1", True)],
)
def test_loopback_or_allow_insecure_may_use_http(base_url, allow_insecure):
    assert make(base_url=base_url, allow_insecure=allow_insecure).base_url.startswith("http://")


@pytest.mark.parametrize("base_url", ["ftp://files.acme.example", "api.stripe.com/v1", "https://"])
def test_a_base_url_that_is_not_http_is_refused(base_url):
    with pytest.raises(ConnectorError, match="base_url"):
        make(base_url=base_url)


@pytest.mark.respx(assert_all_called=False)
@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example.com/api/projects/1/persons/?cursor=2", "https://us.posthog.com:8443/api/projects/1/persons/",
     "http://us.posthog.com/api/projects/1/persons/?cursor=2"],
)
def test_next_url_to_another_host_port_or_scheme_is_refused(respx_mock, next_url):
    first = respx_mock.get("https://us.posthog.com/api/projects/1/persons/").mock(
        return_value=httpx.Response(200, json={"next": next_url, "previous": None, "results": [{"id": 1}]})
    )
    elsewhere = respx_mock.route(url__startswith=next_url.split("/api")[0]).mock(return_value=ok())
    pages = make("posthog", "https://us.posthog.com").paginate(
        "/api/projects/1/persons/", NextUrlPaginator("next"), records="results"
    )
    assert next(pages).records == [{"id": 1}]
    with pytest.raises(ConnectorError) as err:
        next(pages)
    assert "posthog: refusing to send a request to" in str(err.value)
    assert "it is not the connection's host (https://us.posthog.com)" in str(err.value)
    assert first.call_count == 1 and elsewhere.call_count == 0


@pytest.mark.respx(assert_all_called=False)
@pytest.mark.parametrize("url", ["https://attacker.example/v1/customers", "//attacker.example/v1/customers"])
def test_a_request_to_another_host_is_refused(respx_mock, url):
    elsewhere = respx_mock.route(host="attacker.example").mock(return_value=ok())
    with pytest.raises(ConnectorError, match="refusing to send a request to https://attacker.example"):
        make("hubspot", "https://api.hubapi.com").get(url)
    assert elsewhere.call_count == 0


# -- rate limiter --------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_token_bucket_allows_a_burst_then_paces_at_the_rate():
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=2, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        limiter.acquire()
    assert clock.slept == [0.5, 0.5, 0.5]
    clock.now += 60.0  # idle: the bucket refills, but only up to the burst
    for _ in range(3):
        limiter.acquire()
    assert clock.slept == [0.5, 0.5, 0.5, 0.5]


def test_token_bucket_is_thread_safe():
    slept: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            slept.append(seconds)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible to provoke races
    try:
        limiter = RateLimiter(rate=10.0, burst=1, clock=lambda: 0.0, sleep=record)  # time stands still
        start = threading.Barrier(16)

        def worker() -> None:
            start.wait()
            for _ in range(250):
                limiter.acquire()

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    # every reservation queues behind all earlier ones: waits 0.1, 0.2, ... 399.9, none lost or doubled
    assert [round(s, 6) for s in sorted(slept)] == [round(0.1 * i, 6) for i in range(1, 4000)]


@pytest.mark.parametrize("rate, burst", [(0, 1), (-1.0, 1), (1.0, 0)])
def test_rate_limiter_rejects_nonsense(rate, burst):
    with pytest.raises(ValueError):
        RateLimiter(rate, burst)


# -- pagination ----------------------------------------------------------------------------------


def stripe_pages() -> list[httpx.Response]:
    return [httpx.Response(200, json=stripe_list(range(2 * i + 1, 2 * i + 3), i < 2)) for i in range(3)]


@respx.mock
def test_stripe_cursor_pagination_and_states():
    route = respx.get(CUSTOMERS).mock(side_effect=stripe_pages())
    paginator = CursorPaginator("starting_after", has_more="has_more")
    pages = list(make().paginate("customers", paginator, params={"limit": 2}))
    assert [[r["id"] for r in page.records] for page in pages] == [
        ["cus_0001", "cus_0002"], ["cus_0003", "cus_0004"], ["cus_0005", "cus_0006"],
    ]
    assert [page.state for page in pages] == [{"cursor": "cus_0002"}, {"cursor": "cus_0004"}, None]
    assert params_of(route) == [
        {"limit": "2"}, {"limit": "2", "starting_after": "cus_0002"}, {"limit": "2", "starting_after": "cus_0004"},
    ]
    assert pages[0].body["object"] == "list" and pages[0].response.status_code == 200


@respx.mock
def test_resume_from_page_one_state_fetches_pages_two_and_three_only():
    first_run = respx.get(CUSTOMERS).mock(side_effect=stripe_pages())
    paginator = CursorPaginator("starting_after", cursor="data.-1.id", has_more="has_more")
    saved = next(make().paginate("customers", paginator, params={"limit": 2})).state  # "crash" after page 1
    first_run.reset()
    first_run.side_effect = stripe_pages()[1:]
    pages = list(make().paginate("customers", paginator, params={"limit": 2}, start=saved))
    assert [r["id"] for page in pages for r in page.records] == ["cus_0003", "cus_0004", "cus_0005", "cus_0006"]
    assert params_of(first_run) == [
        {"limit": "2", "starting_after": "cus_0002"}, {"limit": "2", "starting_after": "cus_0004"},
    ]


@respx.mock
def test_hubspot_after_cursor_stops_without_paging():
    url = "https://api.hubapi.com/crm/v3/objects/companies"
    company = {"id": "101", "properties": {"name": "Acme"}, "createdAt": "2026-01-01T00:00:00.000Z", "archived": False}
    route = respx.get(url).mock(side_effect=[
        httpx.Response(200, json={"results": [company],
                                  "paging": {"next": {"after": "102", "link": f"{url}?after=102"}}}),
        httpx.Response(200, json={"results": [dict(company, id="102")]}),
    ])
    pages = list(make("hubspot", "https://api.hubapi.com").paginate(
        "/crm/v3/objects/companies", CursorPaginator("after", cursor="paging.next.after"), records="results"))
    assert [page.state for page in pages] == [{"cursor": "102"}, None]
    assert params_of(route) == [{}, {"after": "102"}]


@respx.mock
def test_zendesk_cursor_pagination_with_meta():
    url = "https://acme.zendesk.com/api/v2/organizations"
    route = respx.get(url).mock(side_effect=[
        httpx.Response(200, json={"organizations": [{"id": 1}],
                                  "meta": {"has_more": True, "after_cursor": "xN1", "before_cursor": None}}),
        httpx.Response(200, json={"organizations": [{"id": 2}], "meta": {"has_more": False, "after_cursor": "xN2"}}),
    ])
    paginator = CursorPaginator("page[after]", cursor="meta.after_cursor", has_more="meta.has_more")
    pages = list(make("zendesk", "https://acme.zendesk.com/api/v2").paginate(
        "organizations", paginator, params={"page[size]": 100}, records="organizations"))
    assert [page.state for page in pages] == [{"cursor": "xN1"}, None]
    assert params_of(route) == [{"page[size]": "100"}, {"page[size]": "100", "page[after]": "xN1"}]


@respx.mock
def test_has_more_without_a_cursor_is_malformed():
    respx.get(CUSTOMERS).mock(return_value=httpx.Response(200, json={"object": "list", "has_more": True, "data": []}))
    with pytest.raises(MalformedResponse) as err:
        list(make().paginate("customers", CursorPaginator(has_more="has_more")))
    assert str(err.value) == "stripe: GET /v1/customers says there are more pages but gives no cursor for the next one"


@respx.mock
def test_intercom_search_cursor_in_the_json_body():
    url = "https://api.intercom.io/conversations/search"
    page = {"type": "conversation.list", "total_count": 2, "conversations": [{"id": "1"}],
            "pages": {"type": "pages", "page": 1, "per_page": 1, "total_pages": 2,
                      "next": {"starting_after": "WzE3MF0="}}}
    last = {"type": "conversation.list", "conversations": [{"id": "2"}], "pages": {"type": "pages", "page": 2}}
    route = respx.post(url).mock(side_effect=[httpx.Response(200, json=page), httpx.Response(200, json=last)])
    query = {"query": {"field": "updated_at", "operator": ">", "value": 1767225600}, "pagination": {"per_page": 1}}
    paginator = CursorPaginator("pagination.starting_after", cursor="pages.next.starting_after", in_body=True)
    pages = list(make("intercom", "https://api.intercom.io").paginate(
        "/conversations/search", paginator, method="POST", json=query, records="conversations"))
    sent = [json.loads(call.request.read()) for call in route.calls]
    assert sent[0] == query
    assert sent[1] == {**query, "pagination": {"per_page": 1, "starting_after": "WzE3MF0="}}
    assert query["pagination"] == {"per_page": 1}  # the caller's body is not modified
    assert [p.state for p in pages] == [{"cursor": "WzE3MF0="}, None]


@respx.mock
def test_offset_pagination_stops_on_a_short_page_and_resumes():
    url = "https://acme.zendesk.com/api/v2/satisfaction_ratings"
    sizes = ((1, 2), (2, 2), (3, 1))
    route = respx.get(url).mock(side_effect=[httpx.Response(200, json={"data": [{"id": i}] * n}) for i, n in sizes])
    client = make("zendesk", "https://acme.zendesk.com/api/v2")
    pages = list(client.paginate("satisfaction_ratings", OffsetPaginator(limit=2)))
    assert [p.state for p in pages] == [{"offset": 2}, {"offset": 4}, None]
    assert params_of(route) == [
        {"limit": "2", "offset": "0"}, {"limit": "2", "offset": "2"}, {"limit": "2", "offset": "4"},
    ]
    route.reset()
    route.side_effect = [httpx.Response(200, json={"data": [{"id": 9}]})]
    resumed = list(client.paginate("satisfaction_ratings", OffsetPaginator(limit=2), start={"offset": 4}))
    assert params_of(route) == [{"limit": "2", "offset": "4"}] and resumed[0].state is None


@respx.mock
def test_offset_pagination_with_total_stops_at_the_total():
    url = "https://acme.zendesk.com/api/v2/users"
    route = respx.get(url).mock(side_effect=[httpx.Response(200, json={"users": [{"id": 1}] * 100, "count": 200})] * 2)
    pages = list(make("zendesk", "https://acme.zendesk.com/api/v2").paginate(
        "users", OffsetPaginator(limit=500, offset_param="skip", limit_param="take", total="count"), records="users"))
    assert [p.state for p in pages] == [{"offset": 100}, None]  # a server-capped page (100 < 500) does not end it
    assert params_of(route)[1] == {"take": "500", "skip": "100"}


@respx.mock
def test_chargebee_opaque_next_offset():
    url = "https://acme.chargebee.com/api/v2/subscriptions"
    first = {
        "list": [{"subscription": {"id": "sub_1"}, "customer": {"id": "c1"}}],
        "next_offset": '["1767225600000","sub_1"]',
    }
    route = respx.get(url).mock(side_effect=[httpx.Response(200, json=first),
                                             httpx.Response(200, json={"list": [{"subscription": {"id": "sub_2"}}]})])
    pages = list(make("chargebee", "https://acme.chargebee.com/api/v2").paginate(
        "subscriptions", OffsetPaginator.opaque(), params={"limit": 100}, records="list"))
    assert [p.state for p in pages] == [{"cursor": '["1767225600000","sub_1"]'}, None]
    assert params_of(route) == [{"limit": "100"}, {"limit": "100", "offset": '["1767225600000","sub_1"]'}]


@respx.mock
def test_posthog_absolute_next_url():
    base = "https://eu.posthog.com/api/projects/7/persons/"
    route = respx.get(base).mock(side_effect=[
        httpx.Response(200, json={"next": f"{base}?cursor=cD0y&limit=1", "previous": None, "results": [{"uuid": "a"}]}),
        httpx.Response(200, json={"next": None, "previous": f"{base}?limit=1", "results": [{"uuid": "b"}]}),
    ])
    pages = list(make("posthog", "https://eu.posthog.com").paginate(
        "/api/projects/7/persons/", NextUrlPaginator("next"), params={"limit": 1}, records="results"))
    assert [r["uuid"] for p in pages for r in p.records] == ["a", "b"]
    assert params_of(route) == [{"limit": "1"}, {"cursor": "cD0y", "limit": "1"}]
    assert pages[0].state == {"next_url": f"{base}?cursor=cD0y&limit=1"}


@respx.mock
def test_salesforce_relative_next_records_url_until_done():
    base = "https://acme.my.salesforce.com/services/data/v66.0"
    query = respx.get(f"{base}/query").mock(return_value=httpx.Response(200, json={
        "totalSize": 3, "done": False, "nextRecordsUrl": "/services/data/v66.0/query/01gD0000002HU6KIAW-2000",
        "records": [{"attributes": {"type": "Account"}, "Id": "001A"}]}))
    more = respx.get(f"{base}/query/01gD0000002HU6KIAW-2000").mock(return_value=httpx.Response(200, json={
        "totalSize": 3, "done": True, "records": [{"Id": "001B"}, {"Id": "001C"}]}))
    paginator = NextUrlPaginator("nextRecordsUrl", stop="done")
    pages = list(make("salesforce", base).paginate(
        "query", paginator, params={"q": "SELECT Id FROM Account"}, records="records"))
    assert [len(p.records) for p in pages] == [1, 2] and pages[-1].state is None
    assert query.call_count == 1 and more.call_count == 1
    assert params_of(more) == [{}]


@respx.mock
def test_zendesk_incremental_stops_at_end_of_stream_despite_after_url():
    base = "https://acme.zendesk.com/api/v2/incremental/tickets/cursor.json"
    route = respx.get(base).mock(side_effect=[
        httpx.Response(200, json={"tickets": [{"id": 1}], "after_cursor": "MTU3", "after_url": f"{base}?cursor=MTU3",
                                  "end_of_stream": False}),
        httpx.Response(200, json={"tickets": [], "after_cursor": "MTU4", "after_url": f"{base}?cursor=MTU4",
                                  "end_of_stream": True}),
    ])
    pages = list(make("zendesk", "https://acme.zendesk.com/api/v2").paginate(
        "incremental/tickets/cursor.json", NextUrlPaginator("after_url", stop="end_of_stream"),
        params={"start_time": 1767225600}, records="tickets"))
    assert [p.state for p in pages] == [{"next_url": f"{base}?cursor=MTU3"}, None]
    assert pages[-1].body["after_cursor"] == "MTU4"  # what the connector saves for the next run
    assert params_of(route) == [{"start_time": "1767225600"}, {"cursor": "MTU3"}]


@respx.mock
def test_link_header_pagination_absolute_and_relative():
    base = "https://api.example-helpdesk.com/v1"
    route = respx.get(f"{base}/tickets").mock(side_effect=[
        httpx.Response(200, json=[{"id": 1}],
                       headers={"Link": f'<{base}/tickets?page=2>; rel="next", <{base}/tickets?page=3>; rel="last"'}),
        httpx.Response(200, json=[{"id": 2}], headers={"Link": '</v1/tickets?page=3>; rel="next"'}),
        httpx.Response(200, json=[{"id": 3}], headers={"Link": '</v1/tickets?page=1>; rel="first"'}),
    ])
    pages = list(make("helpdesk", base).paginate("tickets", LinkHeaderPaginator(), records=""))
    assert [p.records for p in pages] == [[{"id": 1}], [{"id": 2}], [{"id": 3}]]
    assert params_of(route) == [{}, {"page": "2"}, {"page": "3"}]


@pytest.mark.respx(assert_all_called=False)
def test_link_header_to_another_host_is_refused(respx_mock):
    respx_mock.get(f"{STRIPE}/tickets").mock(return_value=httpx.Response(
        200, json=[{"id": 1}], headers={"Link": '<https://evil.example.com/v1/tickets?page=2>; rel="next"'}))
    with pytest.raises(ConnectorError, match="refusing to send a request to https://evil.example.com"):
        list(make().paginate("tickets", LinkHeaderPaginator(), records=""))


@respx.mock
def test_a_cursor_that_does_not_move_stops_the_loop():
    same = {"results": [{"id": "1"}], "paging": {"next": {"after": "1"}}}
    route = respx.get("https://api.hubapi.com/crm/v3/owners").mock(
        side_effect=[httpx.Response(200, json=same) for _ in range(3)])  # finite: a regression fails, never hangs
    with pytest.raises(MalformedResponse, match="gave the same next-page position twice"):
        list(make("hubspot", "https://api.hubapi.com").paginate(
            "/crm/v3/owners", CursorPaginator("after", cursor="paging.next.after"), records="results"))
    assert route.call_count == 2


def test_a_saved_state_from_another_paginator_is_refused():
    with pytest.raises(ConnectorError) as err:
        list(make().paginate("customers", CursorPaginator(), start={"offset": 200}))
    assert str(err.value) == (
        "stripe: cannot resume GET /v1/customers: the saved page state {'offset': 200} has no 'cursor'"
    )


@respx.mock
def test_records_may_be_a_callable():
    body = {"object": "list", "has_more": False, "data": [{"id": "a"}, {"id": "b"}]}
    respx.get(CUSTOMERS).mock(return_value=httpx.Response(200, json=body))
    paginator = CursorPaginator(has_more="has_more")
    pages = list(make().paginate("customers", paginator, records=lambda body: body["data"][:1]))
    assert pages[0].records == [{"id": "a"}]


def test_dig_follows_dotted_paths_and_list_indexes():
    body = {"data": [{"id": "a"}, {"id": "b"}], "paging": {"next": {"after": "9"}}}
    assert dig(body, "data.-1.id") == "b"
    assert dig(body, "paging.next.after") == "9"
    assert dig(body, "paging.prev.before") is None
    assert dig(body, "data.7.id") is None


# -- streaming -----------------------------------------------------------------------------------

MIXPANEL = "https://data.mixpanel.com/api/2.0"


@respx.mock
def test_stream_retries_the_status_line_then_streams_jsonl():
    lines = b"".join(
        b'{"event":"Signed In","properties":{"time":1767225600,"distinct_id":"u%d","$insert_id":"i%d"}}\n' % (i, i)
        for i in range(3)
    )
    route = respx.get(f"{MIXPANEL}/export").mock(side_effect=[httpx.Response(503), httpx.Response(200, content=lines)])
    client = make("mixpanel", MIXPANEL, auth=("svc.user", "mp-service-secret-123"))
    params = {"from_date": "2026-03-01", "to_date": "2026-03-01", "project_id": 42}
    with client.stream("GET", "export", params=params) as response:
        events = [line for line in response.iter_lines() if line]
    assert len(events) == 3 and '"distinct_id":"u2"' in events[2]
    assert route.call_count == 2 and len(client.waits) == 1
    assert route.calls.last.request.url.params["project_id"] == "42"


@respx.mock
def test_stream_401_is_an_auth_error():
    denied = httpx.Response(401, json={"error": "Invalid credentials", "status": "error"})
    respx.get(f"{MIXPANEL}/export").mock(return_value=denied)
    client = make("mixpanel", MIXPANEL, auth_hint="check service_account_user and service_account_secret")
    with pytest.raises(AuthError) as err, client.stream("GET", "export"):
        pass
    assert str(err.value) == (
        "mixpanel: the credentials were rejected (401): check service_account_user and service_account_secret "
        "(the server said: Invalid credentials)"
    )


# -- parse_retry_after ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("7", 7.0), (" 120 ", 120.0), ("0", 0.0), ("-3", -3.0), ("1.5", 1.5),
        (None, None), ("", None), ("soon", None),
        ("Sun, 01 Mar 2026 12:00:30 GMT", 30.0), ("Sun, 01 Mar 2026 11:59:00 GMT", -60.0),
        ("2026-03-01T12:01:00Z", 60.0), (str(int(NOW.timestamp()) + 45), 45.0),
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, now=NOW) == expected


ZENDESK = "https://acme.zendesk.com"


@respx.mock
def test_waits_the_server_asked_for_do_not_use_up_attempts():
    """An export limited to 10 requests a minute answers 429 + Retry-After many times in a row."""
    limited = [httpx.Response(429, headers={"Retry-After": str(s)}, json={"error": "APIRateLimitExceeded"})
               for s in (7, 13, 21, 30, 45, 60, 5, 9)]
    route = respx.get(f"{ZENDESK}/api/v2/incremental/tickets/cursor.json").mock(
        side_effect=limited + [ok({"tickets": [], "end_of_stream": True})])
    client = make("zendesk", ZENDESK, max_attempts=3)
    assert client.get_json("/api/v2/incremental/tickets/cursor.json") == {"tickets": [], "end_of_stream": True}
    assert route.call_count == 9
    assert client.waits == [7, 13, 21, 30, 45, 60, 5, 9]


@respx.mock
def test_throttling_stops_past_max_throttle_seconds():
    respx.get(f"{ZENDESK}/api/v2/tickets.json").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "600"}, json={"error": "APIRateLimitExceeded"}))
    client = make("zendesk", ZENDESK, max_attempts=2, max_throttle_seconds=1500)
    with pytest.raises(HttpError) as info:
        client.get_json("/api/v2/tickets.json")
    assert info.value.status_code == 429
    # two waits fit in 1,500 s of throttling; then two ordinary attempts' worth of backoff
    assert client.waits[:2] == [600, 600] and len(client.waits) == 3
