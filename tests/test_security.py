"""Security: secrets leak nowhere, files are owner-only, credentials stay on their host, SQL is safe.

See docs/security.md for the model these tests hold csconnect to.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import stat
import sys
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from csconnect import Metric, MetricPack, Stream
from csconnect.cli import main
from csconnect.config import load_config
from csconnect.errors import ConfigError, CsconnectError, StoreError
from csconnect.plugins import build_registry, set_registry
from csconnect.redact import redact
from csconnect.store import quote, raw_table_name
from csconnect.sync import Normalizer
from csconnect.testing import Workspace, plugin_for

ROOT = Path(__file__).resolve().parents[1]
for folder in ("stripe", "hubspot", "zendesk", "files"):
    sys.path.insert(0, str(ROOT / f"connectors/{folder}/tests"))    # the fakes are test helpers, not packages

import hubspot_fake  # noqa: E402
import stripe_scenario  # noqa: E402
import zendesk_payloads as zp  # noqa: E402
import zendesk_scenario  # noqa: E402
from csconnect_hubspot import HubSpotConnector  # noqa: E402
from csconnect_stripe import StripeConnector  # noqa: E402
from csconnect_zendesk import ZendeskConnector  # noqa: E402
from stripe_fake import FakeStripe  # noqa: E402
from zendesk_fake import EMAIL, FakeZendesk  # noqa: E402

STRIPE_KEY = "sk_test_csconnect_fake_key"            # what FakeStripe accepts
WRONG_KEY = "sk_test_wrong_fake_key_77x9"             # a key it refuses (401)
HUBSPOT_TOKEN = hubspot_fake.TOKEN
ZENDESK_TOKEN = "zd-test-token-6f1c2b"
CLASSES = (StripeConnector, HubSpotConnector, ZendeskConnector)
CONFIG = f"""
[connections.stripe]
connector = "stripe"
api_key = "${{STRIPE_API_KEY}}"
rate_limit = 0

[connections.stripe_bad]
connector = "stripe"
api_key = "${{WRONG_KEY}}"

[connections.hs]
connector = "hubspot"
token = "${{HUBSPOT_TOKEN}}"
rate_limit = 0
search_rate_limit = 0

[connections.zd]
connector = "zendesk"
subdomain = "{zp.SUBDOMAIN}"
email = "{EMAIL}"
api_token = "${{ZENDESK_API_TOKEN}}"
start_date = "{zendesk_scenario.START_DATE}"
rate_limit = 0
export_rate_limit = 600
"""


def secret_forms() -> dict[str, bytes]:
    """Every secret, and the encodings in which it travels (Zendesk's Basic auth is base64)."""
    forms = {"stripe key": STRIPE_KEY, "wrong stripe key": WRONG_KEY, "hubspot token": HUBSPOT_TOKEN,
             "zendesk token": ZENDESK_TOKEN,
             "zendesk basic auth": base64.b64encode(f"{EMAIL}/token:{ZENDESK_TOKEN}".encode()).decode(),
             "zendesk token base64": base64.b64encode(ZENDESK_TOKEN.encode()).decode().rstrip("=")}
    return {name: value.encode() for name, value in forms.items()}


def assert_no_secret(where: str, data: bytes | str) -> None:
    blob = data.encode("utf-8", "replace") if isinstance(data, str) else data
    for name, secret in secret_forms().items():
        assert secret not in blob, f"the {name} appears in {where}"


def serve_everything(respx_mock: Any) -> None:
    stripe = stripe_scenario.populate(FakeStripe(respx_mock, STRIPE_KEY))

    def echo_the_key(request: httpx.Request) -> httpx.Response | None:
        # a vendor that quotes the credential back in an error message
        if request.url.path == "/v1/invoiceitems":
            said = f"Malformed request with header {request.headers.get('Authorization')}"
            return httpx.Response(400, json={"error": {"message": said, "type": "invalid_request_error"}})
        return None
    stripe.fail = echo_the_key
    hubspot_fake.standard(respx_mock)
    zendesk_scenario.populate(FakeZendesk(respx_mock))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: Any, respx_mock: Any) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    for name, value in {"STRIPE_API_KEY": STRIPE_KEY, "WRONG_KEY": WRONG_KEY, "HUBSPOT_TOKEN": HUBSPOT_TOKEN,
                        "ZENDESK_API_TOKEN": ZENDESK_TOKEN}.items():
        monkeypatch.setenv(name, value)
    set_registry(build_registry([plugin_for(*CLASSES)], entry_points=False))
    (tmp_path / "csconnect.toml").write_text(CONFIG, encoding="utf-8")
    serve_everything(respx_mock)
    yield tmp_path
    set_registry(None)


def run_main(capsys: Any, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


# -- secrets ---------------------------------------------------------------------------------------
def test_no_secret_in_output_errors_logs_or_files_with_and_without_debug(project: Path, capsys: Any) -> None:
    outputs = {}
    for args in (["sync"], ["--debug", "sync", "--full-refresh"], ["check"], ["--debug", "check", "stripe_bad"],
                 ["--debug", "-v", "sync", "stripe_bad"], ["--debug", "sync", "--stream", "nope"], ["runs"], ["rejects", "--payload"], ["state", "show"]):
        code, out, err = run_main(capsys, *args)
        outputs[" ".join(args)] = (code, out, err)
    # the runs really failed and were really debugged: otherwise this test proves nothing
    code, out, err = outputs["--debug check stripe_bad"]
    assert code == 1 and "DEBUG" in err and "the API key was rejected (401)" in err
    assert "Traceback" in outputs["--debug sync --stream nope"][2]
    code, out, err = outputs["sync"]
    assert code == 1 and "failed: stripe_bad: the credentials were rejected (401)" in err and "invoiceitems" in err
    assert "DEBUG" in outputs["--debug -v sync stripe_bad"][2]
    assert "Malformed request with header Bearer *" in outputs["sync"][2]      # the echo, masked
    for args, (_, out, err) in outputs.items():
        assert_no_secret(f"the output of `csconnect {args}`", out + err)
    files = [p for p in project.rglob("*") if p.is_file()]
    assert any(p.name == "csconnect.db" for p in files)
    for path in files:
        assert_no_secret(str(path.relative_to(project)), path.read_bytes())


def test_no_secret_in_the_database_or_its_wal_while_it_is_open(tmp_path: Path, respx_mock: Any,
                                                               caplog: Any) -> None:
    serve_everything(respx_mock)
    logging.getLogger("csconnect").addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.DEBUG, logger="csconnect"):
            ws = Workspace(tmp_path, *CLASSES, connections={
                "stripe": {"connector": "stripe", "api_key": STRIPE_KEY},
                "stripe_bad": {"connector": "stripe", "api_key": WRONG_KEY},
                "hs": {"connector": "hubspot", "token": HUBSPOT_TOKEN},
                "zd": {"connector": "zendesk", "subdomain": zp.SUBDOMAIN, "email": EMAIL, "api_token": ZENDESK_TOKEN,
                       "start_date": zendesk_scenario.START_DATE}})
            report = ws.sync()
    finally:
        logging.getLogger("csconnect").removeHandler(caplog.handler)
    errors = [r.error for r in report.results if r.error]
    assert any("(401)" in e for e in errors) and ws.rows("tickets") and ws.rows("deals")
    wal = tmp_path / "csconnect.db-wal"
    assert wal.exists() and wal.stat().st_size > 0
    for path in tmp_path.iterdir():
        assert_no_secret(path.name, path.read_bytes())
    assert_no_secret("the log records", "\n".join(r.getMessage() for r in caplog.records))
    assert_no_secret("the errors", "\n".join(errors))
    ws.close()


def test_redaction_covers_basic_auth_in_base64() -> None:
    from csconnect.http import HttpClient
    HttpClient(name="zd", base_url="https://northwind.zendesk.com", auth=(f"{EMAIL}/token", ZENDESK_TOKEN)).close()
    header = base64.b64encode(f"{EMAIL}/token:{ZENDESK_TOKEN}".encode()).decode()
    assert redact(f"sent Authorization: Basic {header}") == "sent Authorization: Basic ***"
    assert redact(f"the server echoed {header} back") == "the server echoed *** back"
    assert redact(f"token={ZENDESK_TOKEN}&x=1") == "token=***&x=1"


# -- files readable by the owner only --------------------------------------------------------------
@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)         # the usual umask: new files would be readable by everyone
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_the_database_its_wal_and_shm_are_owner_only(tmp_path: Path, respx_mock: Any, umask_022: None) -> None:
    stripe_scenario.populate(FakeStripe(respx_mock, STRIPE_KEY))
    ws = Workspace(tmp_path / "deep" / "folder", StripeConnector,
                   connections={"stripe": {"connector": "stripe", "api_key": STRIPE_KEY}})
    assert ws.sync().ok
    made = sorted(p.name for p in ws.path.iterdir())
    assert made == ["csconnect.db", "csconnect.db-shm", "csconnect.db-wal"]
    for name in made:
        assert mode(ws.path / name) == 0o600, f"{name} is {oct(mode(ws.path / name))}"
    ws.close()


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_init_and_report_write_owner_only_files(tmp_path: Path, monkeypatch: Any, capsys: Any,
                                                umask_022: None) -> None:
    monkeypatch.chdir(tmp_path)
    set_registry(build_registry([plugin_for(*CLASSES)], entry_points=False))
    code, _, err = run_main(capsys, "init")
    assert code == 0, err
    assert mode(tmp_path / "csconnect.toml") == 0o600
    code, out, err = run_main(capsys, "report", "-o", "dashboard.html")
    assert code == 0, err
    assert mode(tmp_path / "dashboard.html") == 0o600
    for path in tmp_path.iterdir():
        if path.is_file():
            assert mode(path) == 0o600, f"{path.name} is {oct(mode(path))}"
    set_registry(None)


def literal_config(tmp_path: Path, file_mode: int) -> Path:
    path = tmp_path / "csconnect.toml"
    path.write_text(f'[connections.stripe]\nconnector = "stripe"\napi_key = "{STRIPE_KEY}"\n', encoding="utf-8")
    path.chmod(file_mode)
    return path


def config_warnings(caplog: Any, path: Path) -> list[str]:
    log = logging.getLogger("csconnect.config")
    log.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger="csconnect.config"):
            load_config(path, registry=build_registry([plugin_for(StripeConnector)], entry_points=False), environ={})
    finally:
        log.removeHandler(caplog.handler)
    return sorted({r.getMessage() for r in caplog.records if r.name == "csconnect.config"})


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_literal_secret_in_a_file_others_can_read_warns_with_the_fix(tmp_path: Path, caplog: Any) -> None:
    path = literal_config(tmp_path, 0o644)
    warnings = config_warnings(caplog, path)
    [readable] = [w for w in warnings if "chmod 600" in w]
    assert "\n" not in readable and str(path) in readable and "connections.stripe.api_key" in readable
    assert "mode 644" in readable
    assert_no_secret("the warning", "\n".join(warnings))


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_literal_secret_in_an_owner_only_file_warns_only_about_the_literal(tmp_path: Path, caplog: Any) -> None:
    path = literal_config(tmp_path, 0o600)
    warnings = config_warnings(caplog, path)
    assert warnings and not [w for w in warnings if "chmod" in w]
    assert any("is written in the file" in w for w in warnings)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_readable_file_without_literal_secrets_does_not_warn(tmp_path: Path, caplog: Any) -> None:
    path = tmp_path / "csconnect.toml"
    path.write_text('[connections.stripe]\nconnector = "stripe"\napi_key = "${STRIPE_API_KEY:-sk_test_x}"\n')
    path.chmod(0o644)
    assert not config_warnings(caplog, path)


# -- https and hosts ----------------------------------------------------------------------------------
SETTINGS = {"stripe": {"api_key": STRIPE_KEY}, "hubspot": {"token": HUBSPOT_TOKEN},
            "zendesk": {"subdomain": zp.SUBDOMAIN, "email": EMAIL, "api_token": ZENDESK_TOKEN}}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
def test_a_plain_http_base_url_is_refused_before_any_request(cls: type, tmp_path: Path, respx_mock: Any) -> None:
    elsewhere = respx_mock.route(host="api.example.test").respond(200, json={})
    ws = Workspace(tmp_path, cls, connections={"c": {"connector": cls.name, **SETTINGS[cls.name],
                                                     "base_url": "http://api.example.test"}})
    report = ws.sync()
    assert report.results and not elsewhere.called
    for r in report.results:
        assert r.status == "failed" and "\n" not in r.error
        assert "is not https" in r.error and "allow_insecure = true" in r.error and r.error.startswith("c")


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
@pytest.mark.parametrize("base_url, allow", [("http://127.0.0.1:8765", False), ("http://localhost:8765", False),
                                             ("http://[::1]:8765", False), ("http://proxy.internal:8080", True)])
def test_loopback_or_an_explicit_opt_in_may_use_http(cls: type, base_url: str, allow: bool, tmp_path: Path) -> None:
    ws = Workspace(tmp_path, cls, connections={"c": {"connector": cls.name, **SETTINGS[cls.name],
                                                     "base_url": base_url, "allow_insecure": allow}})
    connector = cls("c", ws.config.connections["c"].settings, root=tmp_path)
    assert connector.http.base_url.startswith("http://")
    connector.close()


def test_hubspot_never_follows_a_paging_link_to_another_host(tmp_path: Path, respx_mock: Any) -> None:
    api = hubspot_fake.standard(respx_mock)
    evil = respx_mock.route(host="evil.example").respond(200, json={"results": []})
    first = {"results": api.owners[:1], "paging": {"next": {"after": "1",
                                                            "link": "https://evil.example/crm/v3/owners?after=1"}}}
    api.queued.append(("/crm/v3/owners", httpx.Response(200, json=first)))
    ws = Workspace(tmp_path, HubSpotConnector, connections={"hs": {"connector": "hubspot", "token": HUBSPOT_TOKEN}})
    assert ws.sync(streams=["owners"]).ok
    assert not evil.called
    assert {r["id"] for r in ws.rows("raw_hs__owners")} == {o["id"] for o in api.owners}


def test_zendesk_never_follows_next_page_or_after_url_to_another_host(tmp_path: Path, respx_mock: Any) -> None:
    fake = zendesk_scenario.populate(FakeZendesk(respx_mock))
    evil = respx_mock.route(host="evil.example").respond(200, json={})

    def hook(request: httpx.Request) -> httpx.Response | None:
        fake.fail = None
        try:
            answer = fake.handle(request)
        finally:
            fake.fail = hook
        if answer.status_code != 200:
            return answer
        body = answer.json()
        body.update(next_page="https://evil.example/api/v2/next.json", after_url="https://evil.example/after",
                    links={"next": "https://evil.example/links/next"})
        return httpx.Response(200, json=body)
    fake.fail = hook
    ws = Workspace(tmp_path, ZendeskConnector, connections={"zd": {"connector": "zendesk", **SETTINGS["zendesk"],
                                                                   "start_date": zendesk_scenario.START_DATE}})
    assert ws.sync().ok
    assert not evil.called and ws.rows("tickets")


# -- SQL identifiers -------------------------------------------------------------------------------------
HOSTILE = ["x]; DROP TABLE accounts; --", "accounts; DELETE FROM accounts", "a b", "Robert'); --", "x\"y", ""]


@pytest.mark.parametrize("name", HOSTILE)
def test_store_identifiers_refuse_hostile_names(name: str) -> None:
    with pytest.raises(StoreError) as info:
        quote(name)
    assert "\n" not in str(info.value)
    with pytest.raises(StoreError):
        raw_table_name(name or "x y", "customers")
    with pytest.raises(StoreError):
        raw_table_name("stripe", name or "x y")


def test_a_hostile_connection_name_in_the_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "csconnect.toml"
    path.write_text('[connections."x]; DROP TABLE accounts; --"]\nconnector = "stripe"\napi_key = "sk_test_x"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, registry=build_registry([plugin_for(StripeConnector)], entry_points=False), environ={})
    text = str(info.value)
    assert "\n" not in text and text.startswith("csconnect.toml: connections.x]; DROP") and "lower-case" in text


def test_a_hostile_connection_name_in_a_workspace_is_refused_by_the_store(tmp_path: Path, respx_mock: Any) -> None:
    stripe_scenario.populate(FakeStripe(respx_mock, STRIPE_KEY))
    ws = Workspace(tmp_path, StripeConnector, connections={"a; DROP TABLE accounts": {
        "connector": "stripe", "api_key": STRIPE_KEY}})
    with pytest.raises(CsconnectError, match="not a valid connection or stream name"):
        ws.sync()
    assert ws.store.db["accounts"].exists()


def test_a_files_column_mapping_to_a_hostile_column_is_refused(tmp_path: Path) -> None:
    import files_testdata as fd
    from csconnect_files import FilesConnector
    entry = dict(fd.ACCOUNT, columns={"name]; DROP TABLE accounts; --": "Company"})
    fd.write(tmp_path / "imports", "accounts.csv", fd.ACCOUNTS)
    with pytest.raises(ConfigError) as info:
        ws = Workspace(tmp_path, FilesConnector, connections={"f": {"connector": "files", **fd.settings(entry)}})
        FilesConnector("f", ws.config.connections["f"].settings, root=tmp_path).get_streams()
    assert "\n" not in str(info.value) and "DROP TABLE" in str(info.value)


def test_a_pack_with_a_hostile_metric_name_is_refused() -> None:
    class HostilePack(MetricPack):
        name = "hostile"
        title = "Hostile"
        metrics = (Metric("x'); DROP TABLE metric_values; --", "X", "count", "up", "a count"),)

        def run(self, ctx: Any) -> None:
            raise AssertionError("never runs")
    registry = build_registry([plugin_for(HostilePack)], entry_points=False)
    assert "hostile" not in registry.packs
    [problem] = registry.problems()
    assert "not a lower-case identifier" in problem and "\n" not in problem


def test_a_stream_writing_to_a_hostile_table_is_rejected_not_run(tmp_path: Path) -> None:
    class Hostile(Stream):
        name = "evil"
        tables = ("accounts",)

        def normalize(self, record: dict) -> Any:
            yield "accounts]; DROP TABLE accounts; --", {"source_id": record["id"]}

    class Conn:
        connection = "c"
    batch = Normalizer(Hostile(Conn())).batch([{"id": "1"}])  # type: ignore[arg-type]
    [reject] = batch.rejects
    assert "is not a canonical table a connector may write" in reject.reason and not batch.rows


@pytest.mark.parametrize("args", [["kpi", "--by", "segment; DROP TABLE accounts"],
                                  ["health", "--by", "segment) FROM accounts; --"]])
def test_kpi_and_health_by_refuse_a_hostile_dimension(args: list[str], tmp_path: Path, monkeypatch: Any,
                                                       capsys: Any) -> None:
    monkeypatch.chdir(tmp_path)
    set_registry(build_registry([plugin_for(StripeConnector)], entry_points=False))
    Workspace(tmp_path).close()                                    # an empty, migrated database
    code, out, err = run_main(capsys, *args)
    assert code == 2 and "--by" in err and "Traceback" not in err, err     # usage error, nothing ran
    assert not out
    set_registry(None)


def test_values_are_bound_parameters_even_when_they_look_like_sql(tmp_path: Path, respx_mock: Any) -> None:
    fake = stripe_scenario.populate(FakeStripe(respx_mock, STRIPE_KEY))
    evil = "Robert'); DROP TABLE source_accounts; --"
    fake.objects["customers"][0]["name"] = evil
    fake.objects["customers"][0]["metadata"]["segment"] = "x'||(SELECT 1)||'"
    ws = Workspace(tmp_path, StripeConnector, connections={"stripe": {"connector": "stripe", "api_key": STRIPE_KEY}})
    assert ws.sync().ok
    names = {r["name"] for r in ws.rows("source_accounts")}
    assert evil in names and len(names) == 3
    assert json.loads(ws.rows("source_accounts", "name = ?", [evil])[0]["attributes"])["segment"] == \
        "x'||(SELECT 1)||'"
