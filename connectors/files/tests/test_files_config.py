"""Configuration mistakes are one-line ConfigErrors naming the connection, the entry and the key."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from csconnect import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib
from csconnect.testing import Workspace, plugin_for, registered

from csconnect_files import FilesConnector
from files_testdata import ACCOUNT, COST, NPS, settings, write_standard


def entry(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = {k: v for k, v in base.items() if changes.get(k, 0) is not None}
    out.update({k: v for k, v in changes.items() if v is not None})
    return out


def error_of(*entries: dict[str, Any], **options: Any) -> str:
    with pytest.raises(ConfigError) as info:
        FilesConnector("surveys", settings(*entries, **options))
    text = str(info.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize("changes, expected", [
    ({"columns": dict(NPS["columns"], scroe="Score")},
     "connections.surveys.files[nps].columns.scroe: survey_responses has no column 'scroe' (did you mean 'score'?)"),
    ({"table": "survey_response"},
     "connections.surveys.files[nps].table: unknown table 'survey_response' (did you mean 'survey_responses'?)"),
    ({"columns": {"score": "Score"}},
     "connections.surveys.files[nps].columns: survey_responses needs responded_at: map it in columns or set it "
     "in values"),
    ({"columns": dict(NPS["columns"], source_id="Response ID")},
     "connections.surveys.files[nps].columns.source_id: the connector sets source_id: the record id comes from "
     "the entry's `id` key"),
    ({"values": dict(NPS["values"], kind="nsp")},
     "connections.surveys.files[nps].values.kind: 'nsp' is not one of nps, csat, ces, other"),
    ({"values": dict(NPS["values"], comment="x")} | {"columns": dict(NPS["columns"])},
     "connections.surveys.files[nps].values.comment: comment is also in columns; give it one source"),
    ({"delimter": ";"}, "connections.surveys.files[nps].delimter: unknown key (did you mean 'delimiter'?)"),
    ({"id": 7}, "connections.surveys.files[nps].id: must be text or a list, got 7"),
    ({"path": "nps.json"}, "connections.surveys.files[nps].format: cannot tell the format of 'nps.json'"),
    ({"format": "jsonl", "delimiter": ";"},
     "connections.surveys.files[nps].delimiter: applies to csv files only (this entry reads jsonl)"),
    ({"encoding": "utf-16"}, "connections.surveys.files[nps].encoding: 'utf-16' is not supported"),
    ({"encoding": "klingon"}, "connections.surveys.files[nps].encoding: unknown encoding 'klingon'"),
    ({"timezone": "Mars/Olympus"}, "connections.surveys.files[nps].timezone: unknown time zone 'Mars/Olympus'"),
    ({"date_format": "MM/DD/YYYY"}, "connections.surveys.files[nps].date_format: must be a strptime format"),
    ({"money": "cents"}, "connections.surveys.files[nps].money: must be 'major' or 'minor', got 'cents'"),
    ({"value_map": {"kind": {"NPS": "nps"}}},
     "connections.surveys.files[nps].value_map.kind: kind is not mapped in columns"),
    ({"refs": {"contact_id": "Zendesk"}}, "connections.surveys.files[nps].refs.contact_id: must be a connection name"),
    ({"refs": {"score": "zendesk"}},
     "connections.surveys.files[nps].refs.score: not a reference column of survey_responses (contact_id, ticket_id)"),
    ({"name": "NPS"}, "connections.surveys.files[NPS].name: 'NPS' must be lower-case letters"),
    ({"name": None}, "connections.surveys.files (entry 1).name: is required"),
])
def test_entry_mistakes_name_the_entry_and_the_key(changes: dict[str, Any], expected: str) -> None:
    assert error_of(entry(NPS, **changes)).startswith(expected)


def test_connection_level_mistakes() -> None:
    assert error_of(NPS, NPS).startswith("connections.surveys.files[nps].name: two entries are named 'nps'")
    assert error_of(NPS, page_size=0) == "connections.surveys.page_size: must be 1 or more, got 0"
    with pytest.raises(ConfigError, match=r"^connections.surveys: no files configured; add a "
                                          r"\[\[connections.surveys.files\]\] table"):
        FilesConnector("surveys", {"files": []})


def test_json_columns_take_a_table_of_keys_and_others_do_not() -> None:
    FilesConnector("c", settings(ACCOUNT, COST))
    assert error_of(entry(NPS, columns=dict(NPS["columns"], comment={"a": "Why?"}))).startswith(
        "connections.surveys.files[nps].columns.comment: must name a source column, got {'a': 'Why?'}")


def test_a_config_error_surfaces_as_one_line_from_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from csconnect.cli import main
    write_standard(tmp_path / "imports")
    (tmp_path / "csconnect.toml").write_text('''
[connections.surveys]
connector = "files"
base_dir = "imports"

[[connections.surveys.files]]
name = "nps"
path = "nps-*.csv"
table = "survey_responses"
id = "Response ID"
date_format = "%m/%d/%Y %H:%M"
values = { kind = "nps", scale_min = 0, scale_max = 10, polarity = "higher_better" }

[connections.surveys.files.columns]
scroe = "Score"
responded_at = "Submitted At"
''', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with registered(plugin_for(FilesConnector)):
        with pytest.raises(SystemExit) as exit_:
            main(["sync", "--no-link"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err == ("error: connections.surveys.files[nps].columns.scroe: survey_responses has no column 'scroe' "
                   "(did you mean 'score'?)"), err


def test_the_documented_toml_syncs_from_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from csconnect.cli import main
    write_standard(tmp_path / "imports")
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    toml = readme.split("```toml\n", 1)[1].split("```", 1)[0]         # the first example in the README
    (tmp_path / "csconnect.toml").write_text(toml, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with registered(plugin_for(FilesConnector)):
        with pytest.raises(SystemExit) as exit_:
            main(["check"])
        assert exit_.value.code == 0, capsys.readouterr().err
        assert capsys.readouterr().out.strip() == "cs_files: ok (3 files, 3 streams)"
        with pytest.raises(SystemExit) as exit_:
            main(["sync", "--no-link", "--format", "json"])
        assert exit_.value.code == 0, capsys.readouterr()
    ws = Workspace(tmp_path, FilesConnector)
    assert len(ws.rows("survey_responses")) == 3 and len(ws.rows("costs")) == 3
    assert len(ws.rows("source_accounts")) == 2


def test_every_readme_example_is_a_valid_configuration() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in readme.split("```toml\n")[1:]]
    assert len(blocks) >= 4
    seen = 0
    for block in blocks:
        for name, table in tomllib.loads(block)["connections"].items():
            given = {k: v for k, v in table.items() if k != "connector"}
            seen += len(FilesConnector(name, given).get_streams())
    assert seen >= 8
