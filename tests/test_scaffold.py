"""`csconnect new`: the plugins it writes pass their own tests before the author changes a line."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from csconnect.cli import main
from csconnect.errors import UsageError
from csconnect.scaffold import core_requirement, render, scaffold, template_values

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def run_generated_tests(folder: Path) -> subprocess.CompletedProcess[str]:
    """pytest on a generated plugin, in a subprocess, with the plugin importable from its folder."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("kind, name, dist, module", [
    ("connector", "acme_crm", "csconnect-acme-crm", "csconnect_acme_crm"),
    ("pack", "renewals", "csconnect-pack-renewals", "csconnect_pack_renewals"),
])
def test_a_new_plugin_passes_its_own_tests(tmp_path: Path, kind: str, name: str, dist: str, module: str) -> None:
    folder = scaffold(kind, name, tmp_path)
    assert folder == tmp_path / dist
    project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    assert project["name"] == dist
    assert project["entry-points"]["csconnect"] == {name: f"{module}.plugin"}
    assert project["dependencies"] == [f"csconnect{core_requirement()}"]
    assert (folder / module / "plugin.py").exists() and (folder / "README.md").exists()
    result = run_generated_tests(folder)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout


def test_templates_render_without_leftover_placeholders() -> None:
    for kind in ("connector", "pack"):
        files = render(kind, template_values(kind, "acme"))
        assert len(files) == 6
        for path, text in files.items():
            assert "__module__" not in path and "$" not in text.replace("${ACME_API_KEY}", ""), path


@pytest.mark.parametrize("name, message", [
    ("Acme", "must be a lower-case identifier"),
    ("acme-crm", "(try 'acme_crm')"),
    ("1acme", "starting with a letter"),
    ("acme__crm", "single underscores"),
    ("", "must be a lower-case identifier"),
    ("a" * 41, "keep it to 40"),
])
def test_bad_names_are_one_line_usage_errors(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        scaffold("connector", name, tmp_path)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not any(tmp_path.iterdir())


def test_pack_names_need_no_pack_prefix(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="try 'renewals'"):
        scaffold("pack", "pack_renewals", tmp_path)


def test_an_existing_folder_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "csconnect-acme").mkdir()
    (tmp_path / "csconnect-acme" / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="already exists"):
        scaffold("connector", "acme", tmp_path)
    assert [p.name for p in (tmp_path / "csconnect-acme").iterdir()] == ["keep.txt"]


def test_core_requirement_pins_the_minor_before_1_0() -> None:
    assert core_requirement("0.1.0") == ">=0.1,<0.2"
    assert core_requirement("0.12.3") == ">=0.12,<0.13"
    assert core_requirement("1.4.0") == ">=1.4,<2"


def test_cli_new_connector_and_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["new", "connector", "zendesk_like", "--dir", str(tmp_path), "--category", "helpdesk"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "csconnect-zendesk-like" in out and "pytest" in out
    text = (tmp_path / "csconnect-zendesk-like" / "csconnect_zendesk_like" / "connector.py").read_text()
    assert 'category = "helpdesk"' in text
    with pytest.raises(SystemExit) as done:
        main(["new", "pack", "renewals", "--dir", str(tmp_path)])
    assert done.value.code == 0 and (tmp_path / "csconnect-pack-renewals" / "tests").is_dir()


def test_cli_refuses_a_bad_name_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["new", "pack", "My Pack", "--dir", str(tmp_path)])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: pack name 'My Pack' must be a lower-case identifier") and "\n" not in err
