"""The Prefect API a command's flows report to: a configured server, or a temporary one that
cannot outlive the command.

With no ``PREFECT_API_URL`` (environment or Prefect profile), Prefect 3 starts a temporary API
server in a child process and stops it at exit (``prefect.server.api.server.
SubprocessASGIServer``, via ``atexit``). A command killed with SIGKILL never runs ``atexit``, so
that server lived on, holding its port and the Prefect database. Here the command starts the
same server (the same uvicorn factory, the same ephemeral-mode variables) itself, with the
kernel told to send it SIGTERM when the command dies (Linux ``prctl(PR_SET_PDEATHSIG)``), and
points Prefect at it. Where ``prctl`` is missing (macOS), Prefect's own server is left to start.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
EPHEMERAL_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                 "PREFECT__SERVER_FINAL": "1"}  # fmt: skip  # as Prefect sets them


def _die_with_parent() -> None:  # runs in the child between fork and exec
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_server(timeout_s: float) -> tuple[subprocess.Popen, str]:
    """Start Prefect's API app on a free local port as a child that dies with this process;
    returns (process, API URL) once ``/health`` answers. Raises ``RuntimeError`` (one line)
    when it exits or does not answer within ``timeout_s`` seconds."""
    import httpx

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"],
        env={**os.environ, **EPHEMERAL_ENV},
        preexec_fn=_die_with_parent,
    )  # fmt: skip
    atexit.register(_stop, proc)
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the temporary Prefect server exited ({proc.returncode})")
            try:
                if client.get(f"{url}/health").status_code == 200:
                    return proc, url
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    _stop(proc)
    raise RuntimeError(f"the temporary Prefect server did not answer within {timeout_s:.0f} s")


def ensure_api() -> str | None:
    """Point this process's flows at an API: the configured one (``PREFECT_API_URL`` in the
    environment or the active Prefect profile, or a test harness's) is kept and ``None``
    returned; otherwise a temporary server is started (``start_server``; startup timeout
    ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``) and its URL returned."""
    from prefect.context import refresh_global_settings_context
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    if settings.api.url or not sys.platform.startswith("linux"):
        return None
    _, url = start_server(float(settings.server.ephemeral.startup_timeout_seconds))
    os.environ["PREFECT_API_URL"] = url  # for this process's settings and its children
    refresh_global_settings_context()
    return url
