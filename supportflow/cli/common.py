"""The Typer apps and the helpers every command shares (settings, console, errors)."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

app = typer.Typer(
    help="Support-ticket pipelines: ingest exports, build metrics, inspect the warehouse.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
demo_app = typer.Typer(help="Generate demo data and run the demo pipeline.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")

VERBOSE_HELP = "Also show library warnings and progress bars, and full tracebacks on errors."
DEVICE_HELP = (
    "Where torch fine-tunes, scores and embeds: auto (a CUDA GPU when torch sees one, bf16; "
    "else the CPU), cpu or cuda[:N]. Default: $SUPPORTFLOW_DEVICE, else auto."
)


DaskWorkers = Annotated[
    int,
    typer.Option(
        min=0,
        help="Split the work into partitions computed on N local Dask worker processes "
        "(0: all in this process).",
    ),
]
DaskAddress = Annotated[
    str | None,
    typer.Option(
        help="Compute the partitions on a running Dask cluster instead (tcp://host:8786); "
        "this command still writes the results."
    ),
]


@app.callback()
def _root(
    device: Annotated[str | None, typer.Option("--device", help=DEVICE_HELP)] = None,
    verbose: Annotated[  # read by ``main`` before Typer parses anything
        bool, typer.Option("--verbose", "-v", help="Full tracebacks on errors (any command).")
    ] = False,
) -> None:
    """Support-ticket pipelines: ingest exports, build metrics, inspect the warehouse."""
    if device is not None:
        from models.device import DeviceError, check_name

        try:
            os.environ["SUPPORTFLOW_DEVICE"] = check_name(device.strip().lower())
        except DeviceError as exc:
            raise typer.BadParameter(str(exc), param_hint="--device") from None


def _setup(verbose: bool = False, api: bool = False, warm: tuple[str, ...] = ()):
    """Load settings, point Prefect/dbt/MLflow at the local home and configure logging; with
    ``api``, for commands that run flows, make sure Prefect has an API (``prefect_api``),
    importing the ``warm`` modules (the command's flow) while a temporary one starts."""
    from rich.logging import RichHandler

    from supportflow.settings import Settings

    settings = Settings()
    if verbose:  # third-party progress bars and notes too (tool_environment turns them off)
        for key, value in (("HF_HUB_DISABLE_PROGRESS_BARS", "0"),
                           ("TRANSFORMERS_VERBOSITY", "info"),
                           ("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "true")):  # fmt: skip
            os.environ.setdefault(key, value)
    settings.apply_environment()
    early = None
    if api:  # the temporary Prefect server imports and starts while this command imports
        from supportflow.prefect_api import launch_early

        early = launch_early()
    console = _console()
    handler = RichHandler(console=console, show_path=False, show_time=False, markup=False)
    if console.is_terminal:  # progress as bars on a terminal, as lines in logs and pipes
        from supportflow.progress import use_terminal

        use_terminal(console)
    log = logging.getLogger("supportflow")
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False
    # MLflow's SQLite store announces its table setup and migrations at INFO on every fresh home.
    for name in ("mlflow.store.db.utils", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if api:
        from supportflow.prefect_api import ensure_api

        ensure_api(early, warm)
    return settings


def _console(stderr: bool = False):
    """Rich console on stdout (results) or ``stderr`` (errors, so a pipe of the results never
    carries them)."""
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Logs and CI capture output without a terminal; rich would then wrap at 80 columns.
    return Console(stderr=stderr, width=None if stream.isatty() else 140)


def _redacted(message: str) -> str:
    """``message`` through the ingest redaction (a file's header or a value it quotes may hold
    an e-mail or a phone number; errors reach terminals and schedulers' logs)."""
    from supportflow.ingest.redact import redact_texts

    return redact_texts([message])[0]


def _fail(message: str) -> None:
    """Print ``error: message`` on stderr (one line, redacted, shown as written) and exit 1."""
    from rich.markup import escape

    text = escape(_redacted(message))
    _console(stderr=True).print(f"[bold red]error:[/] {text}", soft_wrap=True)  # never wrapped
    raise typer.Exit(1)


class _quiet_prefect_failures:
    """Keep Prefect from printing a traceback for a failure this command reports in one line.

    A filter, not a level: Prefect configures its loggers (``logging.config.dictConfig``) when a
    command first imports it, which resets levels set before but keeps filters."""

    NAMES = ("prefect.task_runs", "prefect.flow_runs", "prefect.engine")

    @staticmethod
    def _below_error(record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR

    def __enter__(self):
        for name in self.NAMES:
            logging.getLogger(name).addFilter(self._below_error)
        return self

    def __exit__(self, *exc_info) -> None:
        for name in self.NAMES:
            logging.getLogger(name).removeFilter(self._below_error)


def one_line(exc: BaseException) -> str:
    """The first line of an error; for invalid settings (pydantic), each variable and why."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError) and exc.title == "Settings":
        return "invalid settings: " + "; ".join(
            f"SUPPORTFLOW_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def main() -> None:
    """The ``supportflow`` entry point: the Typer app, with every failure a user can cause ending
    in one line. Commands report their own errors; what escapes them (a warehouse another
    process holds, anything unexpected) is one ``error:`` line here, and the full traceback
    only with ``--verbose`` / ``-v``."""
    import sys

    # Typer bundles its own click: its ClickException is the base of the public BadParameter
    usage = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
    verbose = any(arg in ("--verbose", "-v") for arg in sys.argv[1:])
    try:
        if verbose:
            code = app(standalone_mode=False)
        else:
            with _quiet_prefect_failures():
                code = app(standalone_mode=False)
    except SystemExit:
        raise
    except usage as exc:  # a bad option or value: one line, click's exit code
        raise SystemExit(_usage_error(exc)) from None
    except Exception as exc:
        if verbose:
            raise
        message = one_line(exc)
        errors = _console(stderr=True)
        errors.print(f"[bold red]error:[/] {_escape(_redacted(message))}", soft_wrap=True)
        if type(exc).__name__ != "WarehouseLockedError":
            errors.print("(run again as `supportflow --verbose …` for the full traceback)")
        raise SystemExit(1) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def _usage_error(exc) -> int:
    """Print a click usage error (unknown option or command, bad value) as one ``error:`` line
    on stderr that names the command's ``--help``; returns click's exit code (2). Asking for
    help by giving no arguments prints the help, as click does."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # click printed the help already
        return exc.exit_code
    ctx = getattr(exc, "ctx", None)
    hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    message = " ".join(exc.format_message().split())
    _console(stderr=True).print(
        f"[bold red]error:[/] {_escape(_redacted(message))}{hint}", soft_wrap=True
    )
    return exc.exit_code


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
