"""The third-party path, end to end: plugins built as wheels, installed into a fresh virtualenv.

Exactly what a stranger does: build `csconnect`, `csconnect-example-connector` and
`csconnect-pack-example` wheels, `pip install` them into a new virtualenv, then run that
environment's `csconnect` against a local Feedback Board API (a tiny HTTP server thread).
One virtualenv serves the whole module.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from csconnect.testing import LocalServer

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = {"csconnect-example-connector": ROOT / "plugins" / "example_connector",
           "csconnect-pack-example": ROOT / "plugins" / "example_pack"}
TOKEN = "fb-live-0123456789abcdef"
IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", ".pytest_cache", "*.db*")


def _version(dist: str) -> tuple[int, ...] | None:
    """The installed version of a distribution as (major, minor), or None."""
    try:
        return tuple(int(p) for p in metadata.version(dist).split(".")[:2])
    except (metadata.PackageNotFoundError, ValueError):
        return None


def _can_build_without_isolation() -> bool:
    """True when this environment's setuptools can build a wheel by itself."""
    setuptools = _version("setuptools")
    return setuptools is not None and (setuptools >= (70, 1) or _version("wheel") is not None)


def _run(cmd: list[str], timeout: float = 180, **kw: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _pip_supports_python_option() -> bool:
    """pip >= 22.3 can install into another interpreter's environment (`pip --python`)."""
    return (_version("pip") or (0,)) >= (22, 3)


def _build_wheels(sources: list[Path], out: Path, scratch: Path) -> None:
    """Wheels of the sources with one build environment (pip's isolation would make one per wheel)."""
    cmd = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out),
           *map(str, sources)]
    if _can_build_without_isolation():
        _run(cmd)
        return
    tools = scratch / "build-tools"     # this environment's setuptools cannot build a wheel alone
    _run([sys.executable, "-m", "pip", "install", "-q", "--no-compile", "--target", str(tools), "setuptools>=70.1"])
    _run(cmd, env={**os.environ, "PYTHONPATH": str(tools)})


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtualenv with the core and both example plugins installed from wheels."""
    started = time.monotonic()
    base = tmp_path_factory.mktemp("third_party")
    src, wheels = base / "src", base / "wheels"
    # Build from copies, so the repository gets no build/ or *.egg-info folders.
    core = src / "csconnect"
    core.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, core / name)
    shutil.copytree(ROOT / "csconnect", core / "csconnect", ignore=IGNORE)
    for dist, folder in PLUGINS.items():
        shutil.copytree(folder, src / dist, ignore=IGNORE)
    _build_wheels([core, *(src / d for d in PLUGINS)], wheels, base)
    built = sorted(wheels.glob("*.whl"))
    assert [w.name.split("-")[0] for w in built] == ["csconnect", "csconnect_example_connector",
                                                     "csconnect_pack_example"], built
    env_dir = base / "venv"
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    # The wheels by path (so no other `csconnect` can be picked); their dependencies from the index.
    install = ["install", "-q", "--no-compile", *map(str, built)]
    if _pip_supports_python_option():   # skip ensurepip: this pip installs into the new environment
        _run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)])
        _run([sys.executable, "-m", "pip", "--python", str(python), *install], timeout=300)
    else:
        _run([sys.executable, "-m", "venv", str(env_dir)])
        _run([str(python), "-m", "pip", *install], timeout=300)
    print(f"\nthird-party venv ready in {time.monotonic() - started:.1f}s")
    yield env_dir


def csconnect(venv: Path, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
              check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the fresh environment's `csconnect`, with nothing of this test process leaking in."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not k.startswith("CSCONNECT_")}
    exe = venv / ("Scripts" if os.name == "nt" else "bin") / "csconnect"
    result = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=60, cwd=cwd,
                            env={**clean, **(env or {})})
    if check:
        assert result.returncode == 0, f"csconnect {' '.join(args)}: {result.stdout}\n{result.stderr}"
    return result


# -- a local Feedback Board ---------------------------------------------------------------------


def _response(n: int, company: str, kind: str, score: int, day: str) -> dict[str, Any]:
    return {"id": f"r_{n}", "survey": {"id": f"s_{kind}", "kind": kind}, "score": score, "channel": "email",
            "company_id": company, "respondent": {"id": f"p_{n}", "email": f"p{n}@{company}.example"},
            "answered_at": f"{day}T10:00:00Z", "updated_at": f"{day}T10:00:00Z"}


class FeedbackBoard:
    """The Feedback Board API on 127.0.0.1: Bearer auth, cursor pages, inclusive updated_since."""

    def __init__(self) -> None:
        self.companies = [
            {"id": "c_1", "name": "Acme", "domain": "acme.example", "segment": "enterprise", "seats": 40},
            {"id": "c_2", "name": "Globex", "domain": "globex.example", "segment": "smb", "seats": 8},
            {"id": "c_3", "name": "Initech", "domain": "initech.example", "segment": "smb", "seats": 5},
        ]
        self.responses = [
            _response(1, "c_1", "nps", 10, "2026-01-05"), _response(2, "c_1", "nps", 6, "2026-01-20"),
            _response(3, "c_2", "nps", 9, "2026-01-25"), _response(4, "c_2", "csat", 5, "2026-02-03"),
            _response(5, "c_3", "nps", 9, "2026-02-10"), _response(6, "c_2", "nps", 3, "2026-02-15"),
        ]
        self.requests: list[tuple[str, dict[str, str]]] = []
        board = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                url = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(url.query).items()}
                board.requests.append((url.path, params))
                status, body = board.answer(url.path, params, self.headers.get("Authorization"))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = LocalServer(Handler, name="feedback-board").start()

    @property
    def url(self) -> str:
        return self.server.base_url

    def answer(self, path: str, params: dict[str, str], auth: str | None) -> tuple[int, Any]:
        if auth != f"Bearer {TOKEN}":
            return 401, {"error": {"message": "invalid token"}}
        if path == "/v1/me":
            return 200, {"workspace": {"id": "w_1", "name": "Acme feedback"}}
        if path == "/v1/companies":
            rows = self.companies
        elif path == "/v1/responses":
            since = params.get("updated_since", "")
            rows = sorted((r for r in self.responses if r["updated_at"] >= since),
                          key=lambda r: (r["updated_at"], r["id"]))
        else:
            return 404, {"error": {"message": f"no route {path}"}}
        start, limit = int(params.get("cursor") or 0), min(int(params.get("limit") or 100), 100)
        more = start + limit < len(rows)
        return 200, {"data": rows[start:start + limit], "next_cursor": str(start + limit) if more else None}

    def close(self) -> None:
        self.server.stop()


@pytest.fixture
def board() -> Iterator[FeedbackBoard]:
    server = FeedbackBoard()
    yield server
    server.close()


@pytest.fixture
def project(tmp_path: Path, board: FeedbackBoard) -> Path:
    (tmp_path / "csconnect.toml").write_text(f"""
database = "cs.db"

[connections.feedback]
connector = "example_connector"
api_token = "${{EXAMPLE_CONNECTOR_TOKEN}}"
base_url = "{board.url}"
page_size = 2
""")
    (tmp_path / ".env").write_text(f"EXAMPLE_CONNECTOR_TOKEN={TOKEN}\n")   # as a user keeps secrets
    return tmp_path


# -- the tests ------------------------------------------------------------------------------------


def test_both_plugins_are_listed_with_distribution_and_version(venv: Path) -> None:
    rows = json.loads(csconnect(venv, "plugins", "--format", "json").stdout)
    by_dist = {r["distribution"]: r for r in rows}
    assert set(by_dist) == {"csconnect-example-connector", "csconnect-pack-example"}
    connector, pack = by_dist["csconnect-example-connector"], by_dist["csconnect-pack-example"]
    assert (connector["plugin"], connector["version"], connector["connectors"]) == (
        "example_connector", "0.1.0", ["example_connector"])
    assert (pack["plugin"], pack["version"], pack["packs"]) == ("example", "0.1.0", ["example"])
    assert all(r["status"] == "ok" for r in rows)


def test_the_allow_list_loads_only_the_plugins_named(venv: Path) -> None:
    only = csconnect(venv, "plugins", "--format", "json", env={"CSCONNECT_LOAD_PLUGINS": "csconnect-pack-example"})
    assert [r["distribution"] for r in json.loads(only.stdout)] == ["csconnect-pack-example"]
    none = csconnect(venv, "plugins", "--format", "json", env={"CSCONNECT_LOAD_PLUGINS": ""})
    assert json.loads(none.stdout) == []


def kpis(venv: Path, project: Path, *args: str) -> dict[tuple[str, str, str], tuple]:
    rows = json.loads(csconnect(venv, "kpi", "survey_responses_count", "nps_promoter_share", *args,
                                "--format", "json", cwd=project).stdout)
    return {(r["metric"], r["period_start"], r["segment"]): (r["value"], r["numerator"], r["denominator"])
            for r in rows}


def test_sync_then_metrics_then_kpi(venv: Path, project: Path, board: FeedbackBoard) -> None:
    checked = csconnect(venv, "check", cwd=project)
    assert checked.stdout.strip() == "feedback: ok (workspace Acme feedback)"

    synced = json.loads(csconnect(venv, "sync", "--format", "json", cwd=project).stdout)
    assert {(r["stream"], r["status"], r["records"], r["rejects"]) for r in synced} == {
        ("companies", "ok", 3, 0), ("responses", "ok", 6, 0)}
    assert {r["stream"]: r["pages"] for r in synced} == {"companies": 2, "responses": 3}

    ran = json.loads(csconnect(venv, "metrics", "run", "--as-of", "2026-02-28", "--format", "json",
                               cwd=project).stdout)
    assert [(r["pack"], r["status"]) for r in ran] == [("example", "ok")]
    assert kpis(venv, project) == {
        ("survey_responses_count", "2026-01-01", "all"): (3, None, None),
        ("nps_promoter_share", "2026-01-01", "all"): (pytest.approx(2 / 3), 2, 3),
        ("survey_responses_count", "2026-02-01", "all"): (3, None, None),
        ("nps_promoter_share", "2026-02-01", "all"): (0.5, 1, 2),
    }
    assert kpis(venv, project, "--by", "segment") == {
        ("survey_responses_count", "2026-01-01", "enterprise"): (2, None, None),
        ("nps_promoter_share", "2026-01-01", "enterprise"): (0.5, 1, 2),
        ("survey_responses_count", "2026-01-01", "smb"): (1, None, None),
        ("nps_promoter_share", "2026-01-01", "smb"): (1.0, 1, 1),
        ("survey_responses_count", "2026-02-01", "smb"): (3, None, None),
        ("nps_promoter_share", "2026-02-01", "smb"): (0.5, 1, 2),
    }

    # One new answer: the next sync asks only for what changed (plus the inclusive overlap of one).
    board.responses.append(_response(7, "c_1", "nps", 9, "2026-02-20"))
    board.requests.clear()
    again = json.loads(csconnect(venv, "sync", "feedback", "--stream", "responses", "--format", "json",
                                 cwd=project).stdout)
    assert [(r["stream"], r["records"]) for r in again] == [("responses", 2)]
    assert board.requests[0] == ("/v1/responses", {"limit": "2", "updated_since": "2026-02-15T10:00:00Z"})
    csconnect(venv, "metrics", "run", "example", "--as-of", "2026-02-28", cwd=project)
    feb = kpis(venv, project)
    assert feb[("survey_responses_count", "2026-02-01", "all")] == (4, None, None)
    assert feb[("nps_promoter_share", "2026-02-01", "all")] == (pytest.approx(2 / 3), 2, 3)


def test_a_rejected_token_is_one_line_without_the_secret(venv: Path, project: Path) -> None:
    wrong = "fb-live-wrong-token-42"
    result = csconnect(venv, "check", cwd=project, env={"EXAMPLE_CONNECTOR_TOKEN": wrong}, check=False)
    assert result.returncode == 1
    line = result.stderr.strip()
    assert line.startswith("feedback: the credentials were rejected (401)") and "\n" not in line
    assert "invalid token" in line and wrong not in result.stdout + result.stderr


def test_the_installed_core_ships_the_scaffold_templates(venv: Path, tmp_path: Path) -> None:
    csconnect(venv, "new", "pack", "renewals", "--dir", str(tmp_path))
    folder = tmp_path / "csconnect-pack-renewals"
    assert (folder / "csconnect_pack_renewals" / "pack.py").exists()
    assert (folder / "tests" / "test_csconnect_pack_renewals.py").exists()
