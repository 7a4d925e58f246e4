"""The command line: instant help, readable errors, the ingest command end to end."""

import subprocess
import sys

from typer.testing import CliRunner

from supportflow.cli import app

runner = CliRunner()


def test_help_lists_commands():
    # Fast help is asserted by what it imports (next test), not by a wall-clock bound that a
    # loaded CI machine breaks.
    proc = subprocess.run(
        [sys.executable, "-m", "supportflow.cli", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    for command in ("ingest", "build-metrics", "status", "demo"):
        assert command in proc.stdout


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from supportflow.cli import app; "
        "print(sorted(m for m in ('prefect', 'dbt', 'duckdb', 'torch', 'mlflow') "
        "if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "[]"


def test_unknown_format_is_refused(home, tmp_path):
    result = runner.invoke(app, ["ingest", str(tmp_path), "--format", "xml"])
    assert result.exit_code == 2
    assert "xml" in result.output


def test_generate_rejects_unknown_output_format(home, tmp_path):
    result = runner.invoke(app, ["demo", "generate", "--out", str(tmp_path), "--formats", "xlsx"])
    assert result.exit_code == 1 and "xlsx" in result.output


def test_errors_go_to_stderr_and_an_empty_day_is_not_every_day(home):
    """``error:`` lines are on stderr (a pipe of results never carries them); ``qa-sample
    --day=`` with an empty value is refused, not read as every day."""
    done = subprocess.run(
        [sys.executable, "-m", "supportflow.cli", "qa-sample", "--day="],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == "" and done.stderr.startswith("error: --day '' is not a date")


def test_a_bad_option_value_is_one_error_line_naming_the_help():
    """A usage error (a bad value, an unknown option or command) is one ``error:`` line on
    stderr that names the command's ``--help``, with click's exit code 2 — no usage box."""
    for args, says in (
        (["assist-batch", "--dask-workers", "-1"], "Invalid value for '--dask-workers'"),
        (["score", "--batch-size", "8"], "No such option: --batch-size"),
        (["scor"], "No such command 'scor'. Did you mean 'score'?"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "supportflow.cli", *args],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2 and done.stdout == ""
        (line,) = done.stderr.splitlines()
        assert line.startswith(f"error: {says}") and line.endswith("--help`)")
