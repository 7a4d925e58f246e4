"""The Prefect API a command's flows report to: a configured server, or a temporary one that
cannot outlive the command.

With no ``PREFECT_API_URL`` (environment or Prefect profile), Prefect 3 starts a temporary API
server in a child process and stops it at exit (``prefect.server.api.server.
SubprocessASGIServer``, via ``atexit``). A command killed with SIGKILL never runs ``atexit``, so
that server lived on, holding its port and the Prefect database. Here the command starts the
same server (the same uvicorn factory, the same ephemeral-mode variables) itself, with the
kernel told to send it SIGTERM when the command dies (Linux ``prctl(PR_SET_PDEATHSIG)``), and
points Prefect at it. Where ``prctl`` is missing (macOS), Prefect's own server is left to start.

Four things keep that start lean (measured on 2 cores, ``make bench-first-run``): the server is
launched before the command imports its own modules (``launch_early``); a fresh home's Prefect
database is copied from a migrated template instead of running Prefect's ~15 s of migrations
again (``template_database``; the first home on a machine makes the template); a database
already migrated by this Prefect version skips the migration check (``migrated_marker``); and
the command imports its flow while the server imports its app (``_warm``).
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("supportflow.prefect")

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


def template_database(version: str) -> Path:
    """Where the migrated, empty Prefect database of Prefect ``version`` is kept for new homes:
    ``$XDG_CACHE_HOME/supportflow/prefect/<version>/prefect.db`` (``~/.cache`` by default)."""
    from models.cache import cache_root

    return cache_root() / "prefect" / version / "prefect.db"


def sqlite_path(connection_url: str) -> Path | None:
    """The file of a ``sqlite+aiosqlite:///…`` database URL; None for any other database."""
    prefix = "sqlite+aiosqlite:///"
    return Path(connection_url[len(prefix) :]) if connection_url.startswith(prefix) else None


def _copy_database(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's online backup (safe while a server writes to
    ``source``), written beside ``target`` and renamed into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    src, dst = sqlite3.connect(source), sqlite3.connect(partial)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    os.replace(partial, target)


@dataclass
class Launched:
    """A temporary server that is starting: its process, API URL and database."""

    proc: subprocess.Popen
    url: str
    database: Path | None  # the SQLite file it serves, when known
    template: Path | None  # where to keep the database once migrated (fresh homes only)
    version: str = ""  # the Prefect version whose migrations it runs, for the marker


def migrated_marker(database: Path) -> Path:
    """The file beside a Prefect database naming the Prefect version it was last migrated to."""
    return database.with_name(database.name + ".migrated")


def launch(database: Path | None = None, version: str = "") -> Launched:
    """Start Prefect's API app on a free local port as a child that dies with this process,
    without waiting for it.

    For a SQLite ``database`` (the home's file) and Prefect ``version``: a missing database is
    copied from ``template_database(version)`` when one exists (else ``wait_healthy`` keeps the
    new one as the template once migrated); a database whose ``migrated_marker`` names
    ``version`` starts without Prefect's migration check (2.4 s of the 10.5 s start)."""
    env = {**os.environ, **EPHEMERAL_ENV}
    template = template_database(version) if database is not None and version else None
    fresh = database is not None and not database.exists()
    if fresh and template is not None and template.exists():
        _copy_database(template, database)
        migrated_marker(database).write_text(version)
        fresh = False
    marker = migrated_marker(database) if database is not None else None
    if version and marker is not None and marker.exists() and marker.read_text() == version:
        env["PREFECT_SERVER_DATABASE_MIGRATE_ON_START"] = "false"
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"],
        env=env,
        preexec_fn=_die_with_parent,
    )  # fmt: skip
    atexit.register(_stop, proc)
    url = f"http://127.0.0.1:{port}/api"
    return Launched(proc, url, database, template if fresh else None, version)


def wait_healthy(server: Launched, timeout_s: float) -> str:
    """The API URL once ``/health`` answers (then the database's ``migrated_marker`` is written
    and a freshly migrated database is kept as the template). Raises ``RuntimeError`` (one
    line) when the server exits or does not answer within ``timeout_s`` seconds."""
    import httpx

    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise RuntimeError(
                    f"the temporary Prefect server exited ({server.proc.returncode})"
                )
            try:
                if client.get(f"{server.url}/health").status_code == 200:
                    if server.database is not None and server.version:
                        migrated_marker(server.database).write_text(server.version)
                    if server.template is not None and server.database is not None:
                        _keep_template(server.database, server.template)
                    return server.url
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    _stop(server.proc)
    raise RuntimeError(f"the temporary Prefect server did not answer within {timeout_s:.0f} s")


DATABASE_URL_VARIABLES = ("PREFECT_SERVER_DATABASE_CONNECTION_URL",
                          "PREFECT_API_DATABASE_CONNECTION_URL")  # fmt: skip


def launch_early() -> Launched | None:
    """Launch the temporary server before Prefect is even imported (its app takes ~10 s to
    import and start on 2 cores; the command imports its own modules meanwhile), on the
    database Prefect uses by default under ``PREFECT_HOME``. None when ``PREFECT_API_URL`` is
    in the environment, a database URL is configured, or not on Linux: ``ensure_api`` then
    decides with Prefect's full settings (and stops this one if a profile names an API)."""
    if not sys.platform.startswith("linux") or os.environ.get("PREFECT_API_URL"):
        return None
    if any(os.environ.get(name) for name in DATABASE_URL_VARIABLES):
        return None
    from importlib.metadata import version

    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    return launch(home / "prefect.db", version("prefect"))


def _keep_template(database: Path, template: Path) -> None:
    """Copy a just-migrated database to ``template``; a failure only costs the next home the
    migrations, so it is logged, not raised."""
    try:
        _copy_database(database, template)
    except (OSError, sqlite3.Error) as exc:
        log.debug("could not keep the Prefect database template: %s", exc)


WARM_MODULES = ("duckdb", "pyarrow", "pandas", "prefect.flow_engine", "prefect.task_engine")


def _warm(modules: tuple[str, ...]) -> None:
    """Import what running the command's flow will import (``WARM_MODULES`` are every flow's:
    Prefect's engines, DuckDB, Arrow and pandas, which DuckDB imports to read Arrow), while
    the server starts in the other process."""
    import importlib

    for name in (*WARM_MODULES, *modules):
        importlib.import_module(name)


def ensure_api(early: Launched | None = None, warm: tuple[str, ...] = ()) -> str | None:
    """Point this process's flows at an API: the configured one (``PREFECT_API_URL`` in the
    environment or the active Prefect profile, or a test harness's) is kept and ``None``
    returned (an ``early`` server is stopped); otherwise the temporary server — ``early``
    when it serves the database Prefect's settings name, else a new one (``launch``; a fresh
    SQLite database from the migrated template) — is waited for (startup timeout
    ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``) and its URL returned. The ``warm``
    modules (the command's flow) are imported while it starts."""
    import prefect
    from prefect.context import refresh_global_settings_context
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    if settings.api.url or not sys.platform.startswith("linux"):
        if early is not None:
            _stop(early.proc)
        return None
    database = sqlite_path(settings.server.database.connection_url.get_secret_value())
    if early is None or early.database != database:
        if early is not None:
            _stop(early.proc)
        early = launch(database, prefect.__version__)
    _warm(warm)
    url = wait_healthy(early, float(settings.server.ephemeral.startup_timeout_seconds))
    os.environ["PREFECT_API_URL"] = url  # for this process's settings and its children
    refresh_global_settings_context()
    return url
