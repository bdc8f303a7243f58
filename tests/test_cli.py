"""The command line as a user meets it: output, formats, one-line errors, exit codes."""
from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

import plugin_fixtures as pf
from csconnect.cli import build_cli, main
from csconnect.plugins import build_registry, set_registry


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FAKE_TOKEN", "tok-secret-999")
    set_registry(build_registry([pf.good], entry_points=False))
    (tmp_path / "csconnect.toml").write_text('[connections.fake]\ntoken = "${FAKE_TOKEN}"\n')
    return tmp_path


def run(*args):
    result = CliRunner().invoke(build_cli(), list(args), catch_exceptions=False)
    return result


def run_main(capsys, *args):
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_sync_prints_a_summary_and_links(project):
    result = run("sync", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {r["stream"]: r for r in json.loads(result.stdout)}
    assert rows["accounts"]["records"] == 12 and rows["tickets"]["status"] == "ok"
    result = run("accounts", "--format", "json")
    assert len(json.loads(result.stdout)) == 12


def test_sync_table_output_and_runs(project):
    result = run("sync")
    assert "accounts" in result.stdout and "tickets" in result.stdout
    assert "linked 12 source accounts into 12 accounts" in result.stderr
    runs = json.loads(run("runs", "--format", "json").stdout)
    assert {r["stream"] for r in runs} == {"accounts", "tickets"}


def test_state_show_and_reset(project):
    run("sync")
    shown = json.loads(run("state", "show", "--format", "json").stdout)
    assert shown == [{"connection": "fake", "stream": "tickets", "state": {"updated": 5},
                      "updated_at": shown[0]["updated_at"]}]
    assert "reset the state of 1 stream(s)" in run("state", "reset", "fake").stdout
    assert json.loads(run("state", "show", "--format", "json").stdout) == []


def test_check_reports_each_connection(project):
    result = run("check")
    assert result.exit_code == 0 and result.stdout == "fake: ok (fake ok)\n"


def test_metrics_and_kpi_in_three_formats(project):
    run("sync")
    result = run("metrics", "run", "--as-of", "2026-03-15", "--format", "json")
    assert [r["status"] for r in json.loads(result.stdout)] == ["ok", "ok"]
    table = run("kpi", "account_count", "account_count_doubled").stdout
    assert "2026-03" in table and "12" in table and "24" in table
    as_json = json.loads(run("kpi", "account_count", "--format", "json").stdout)
    assert as_json[0]["value"] == 12 and as_json[0]["unit"] == "count"
    as_csv = list(csv.DictReader(io.StringIO(run("kpi", "account_count", "--format", "csv").stdout)))
    assert as_csv[0]["metric"] == "account_count" and float(as_csv[0]["value"]) == 12


def test_schema_and_connectors(project):
    assert "survey_responses" in run("schema").stdout
    model = json.loads(run("schema", "tickets", "--format", "json").stdout)
    assert model[0]["table"] == "tickets"
    detail = json.loads(run("connectors", "fake", "--format", "json").stdout)[0]
    assert [o["option"] for o in detail["options"]] == ["token", "fail_after", "region"]
    assert detail["streams"][1] == {"stream": "tickets", "primary_key": "id", "incremental": True,
                                    "cursor": "updated", "tables": "tickets", "keeps_raw": True}


def test_init_writes_a_commented_config(project, capsys):
    (project / "csconnect.toml").unlink()
    assert run("init").exit_code == 0
    text = (project / "csconnect.toml").read_text()
    assert "# [connections.fake]" in text and '# token = "${FAKE_TOKEN}"' in text
    code, _, err = run_main(capsys, "init")
    assert code == 2 and err == "error: csconnect.toml already exists; use --force to overwrite it\n"


def test_errors_are_one_line_without_traceback(project, capsys):
    (project / "csconnect.toml").write_text('[connections.fake]\ntoken = "${MISSING_TOKEN}"\n')
    code, out, err = run_main(capsys, "sync")
    assert code == 1
    assert err == ("error: csconnect.toml: connections.fake.token: needs the environment variable MISSING_TOKEN, "
                   "which is not set (export it, or put MISSING_TOKEN=… in .env beside csconnect.toml)\n")


def test_usage_errors_exit_2(project, capsys):
    code, _, err = run_main(capsys, "sync", "nope")
    assert code == 2 and err.startswith("error: no connection named 'nope'")
    code, _, err = run_main(capsys, "kpi", "--grain", "decade")
    assert code == 2 and "Invalid value for '--grain'" in err


def test_unexpected_errors_are_one_line_unless_debug(project, capsys, monkeypatch):
    def explode(self):
        raise ValueError("tok-secret-999 is in this message")

    monkeypatch.setattr(pf.FakeConnector, "check", explode)
    code, out, err = run_main(capsys, "check")
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "unexpected ValueError" in err and "--debug" in err and "tok-secret-999" not in err
    code, out, err = run_main(capsys, "--debug", "check")
    assert "Traceback" in err and "tok-secret-999" not in err


def test_a_failed_stream_makes_sync_exit_1(project):
    (project / "csconnect.toml").write_text('[connections.fake]\ntoken = "${FAKE_TOKEN}"\nfail_after = 1\n')
    result = run("sync")
    assert result.exit_code == 1
    assert "failed: fake.accounts: RuntimeError: injected crash before page 1" in result.stderr


def test_rejects_command(project, monkeypatch):
    pf.mark_first_record_bad(monkeypatch)
    result = run("sync")
    assert "3 record(s) rejected; see `csconnect rejects`" in result.stderr
    rows = json.loads(run("rejects", "--format", "json").stdout)
    assert len(rows) == 3 and rows[0]["reason"].endswith("is marked bad")


def test_every_command_has_help():
    cli = build_cli()

    def walk(group, prefix=""):
        for name, cmd in group.commands.items():
            assert cmd.help, f"`csconnect {prefix}{name}` has no help text"
            if hasattr(cmd, "commands"):
                walk(cmd, f"{prefix}{name} ")

    walk(cli)


def test_commands_that_only_read_the_database_need_no_secrets(project, monkeypatch, capsys):
    run("sync")
    monkeypatch.delenv("FAKE_TOKEN")
    code, out, err = run_main(capsys, "metrics", "run", "--as-of", "2026-03-15", "--format", "json")
    assert code == 0, err
    code, out, err = run_main(capsys, "kpi", "account_count", "--format", "json")
    assert code == 0 and json.loads(out)[0]["value"] == 12
    code, out, err = run_main(capsys, "sync")                 # a sync does need it
    assert code == 1 and "FAKE_TOKEN" in err


def test_check_validates_the_configured_packs_too(project, monkeypatch):
    def validate(cls, params):
        if params["multiplier"] > 10:
            exc = ValueError("too large; use at most 10")
            exc.key = "multiplier"
            raise exc

    monkeypatch.setattr(pf.RevenueLikePack, "validate", classmethod(validate))
    config = project / "csconnect.toml"
    config.write_text(config.read_text() + "\n[packs.alpha]\nmultiplier = 3\n")
    result = run("check")
    assert result.exit_code == 0 and result.stdout == "packs.alpha: ok\nfake: ok (fake ok)\n"
    config.write_text(config.read_text().replace("multiplier = 3", "multiplier = 30"))
    result = run("check")
    assert result.exit_code == 1 and result.stdout == "fake: ok (fake ok)\n"
    assert result.stderr == "csconnect.toml: packs.alpha.multiplier: too large; use at most 10\n"


def test_check_validates_the_kpi_targets_strictly(project):
    config = project / "csconnect.toml"
    config.write_text(config.read_text() + '\n[targets]\naccount_count = ">= 10"\n')
    result = run("check")
    assert result.exit_code == 0 and result.stdout == "targets: ok (1 KPI target)\nfake: ok (fake ok)\n"
    config.write_text(config.read_text().replace("account_count =", "acount_count ="))
    result = run("check")
    assert result.exit_code == 1
    assert result.stderr.startswith("csconnect.toml: targets.acount_count: unknown metric; did you mean "
                                    "account_count or account_count_doubled?")
