"""`csconnect`'s own command line, with test hooks set by environment variables.

    python tests/faults/hooked_cli.py --config csconnect.toml sync     # as `csconnect ...`

- FAULTS_KILL_IN_WRITE=n   SIGKILL this process inside the writer's n-th page transaction, after the
                           page's rows, rejects and state are written and before COMMIT;
- FAULTS_KILL_AFTER_STREAM=n  SIGKILL it right after the n-th stream is recorded as finished;
- FAULTS_BACKOFF_INITIAL=s  the HTTP client's first backoff step in seconds (1 s in production), so
                           the fault tests retry 5xx and dropped connections quickly. Waits a server
                           asks for (Retry-After) are untouched.

Without these variables it is exactly `csconnect`.
"""
from __future__ import annotations

import os
import signal


def _install() -> None:
    from csconnect.store import Store

    in_write = int(os.environ.get("FAULTS_KILL_IN_WRITE") or 0)
    if in_write:
        write_page, calls = Store.write_page, [0]

        def killing_write_page(self: Store, **kw: object) -> None:
            calls[0] += 1
            with self.transaction():               # the sync's own transaction holds it: no COMMIT here
                write_page(self, **kw)
                if calls[0] == in_write:
                    os.kill(os.getpid(), signal.SIGKILL)

        Store.write_page = killing_write_page      # type: ignore[method-assign]

    after_stream = int(os.environ.get("FAULTS_KILL_AFTER_STREAM") or 0)
    if after_stream:
        finish_run, finished = Store.finish_run, [0]

        def killing_finish_run(self: Store, run_id: int, status: str, error: str | None = None) -> None:
            finish_run(self, run_id, status, error)
            finished[0] += status == "ok"
            if status == "ok" and finished[0] == after_stream:
                os.kill(os.getpid(), signal.SIGKILL)

        Store.finish_run = killing_finish_run      # type: ignore[method-assign]

    backoff = os.environ.get("FAULTS_BACKOFF_INITIAL")
    if backoff:
        from csconnect.http import client
        client.HttpClient.__init__.__kwdefaults__["backoff_initial"] = float(backoff)


if __name__ == "__main__":
    _install()
    from csconnect.cli import main
    main()
