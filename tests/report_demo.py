"""The demo company at a small size, run once per test session for the report tests."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ACCOUNTS = 60
END_MONTH = "2026-10"
_RUNS: dict[str, tuple[Path, str]] = {}


def demo_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(demo folder, what `csconnect demo` printed on stdout); the real CLI with the installed plugins."""
    if "demo" not in _RUNS:
        pytest.importorskip("csconnect_demo", reason="the demo connector (connectors/demo) is not installed")
        root = tmp_path_factory.mktemp("report-demo") / "demo"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CSCONNECT_")}
        proc = subprocess.run(
            [sys.executable, "-c", "from csconnect.cli import main; main()", "demo", "--dir", str(root),
             "--accounts", str(ACCOUNTS), "--end-month", END_MONTH],
            capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        _RUNS["demo"] = (root, proc.stdout)
    return _RUNS["demo"]
