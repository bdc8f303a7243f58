"""Run one command and measure that process alone: wall seconds, CPU seconds, peak RSS.

Linux carries a process's peak RSS across fork and exec, so a child forked straight from a
large benchmark process would report the parent's size. The command is therefore started by a
small launcher (`python -S`, a few MB) that forks it and reads its resource usage with wait4.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_LAUNCHER = r"""
import json, os, sys, time
fd = int(sys.argv[1])
os.set_inheritable(fd, False)
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
os.write(fd, json.dumps({"seconds": time.perf_counter() - started, "cpu_seconds": ru.ru_utime + ru.ru_stime,
                         "peak_mb": ru.ru_maxrss / 1024, "code": os.waitstatus_to_exitcode(status)}).encode())
"""


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages, as text."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def timed(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run cmd to its end; its figures, stdout, stderr and the load average before → after.

    Raises RuntimeError (with the end of stderr) when it exits non-zero.
    """
    load = loadavg()
    read, write = os.pipe()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-S", "-c", _LAUNCHER, str(write), *cmd], stdout=out, stderr=err,
                                text=True, env={**os.environ, **(env or {})}, pass_fds=(write,))
        os.close(write)
        proc.wait()
        with os.fdopen(read) as pipe:
            text = pipe.read()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if not text:
        raise RuntimeError(f"could not start {cmd[0]}: {stderr[-2000:]}")
    figures = json.loads(text)
    if figures.pop("code"):
        raise RuntimeError(f"{' '.join(cmd[:4])} … failed:\n{stderr[-3000:]}")
    return {**figures, "stdout": stdout, "stderr": stderr, "load": f"{load} → {loadavg()}",
            "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
