"""Quiet by default, loud on request: progress lines for long steps, and the known-harmless
third-party messages silenced at their source while every other warning still shows."""

from __future__ import annotations

import logging
import warnings

import pytest
import torch

from models.triage.fastpath import quiet_export
from models.triage.registry import _quiet_pyfunc
from supportflow.progress import step_progress


def test_a_step_logs_one_line_per_tenth_of_its_work_and_one_at_the_end(caplog):
    caplog.set_level(logging.INFO, logger="supportflow.progress")
    report = step_progress("embedding tickets")
    for done in range(0, 1001, 7):
        report(done, 1000)
    report(1000, 1000)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 10  # 10 %, 20 %, … 90 % and the end, which a repeat does not log again
    assert lines[0].startswith("embedding tickets: 105 of 1,000 (10%), ")
    assert lines[-1].startswith("embedding tickets: 1,000 of 1,000 (100%), ") and lines[
        -1
    ].endswith(" s")
    caplog.clear()
    step_progress("nothing")(0, 0)
    big = step_progress("scoring")
    big(990, 1000)  # a first call far along logs once, then waits for the next tenth
    big(995, 1000)
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["scoring"]


def test_on_a_terminal_a_step_draws_a_rich_bar_instead_of_lines(caplog):
    import io

    from rich.console import Console

    from supportflow.progress import use_terminal

    caplog.set_level(logging.INFO, logger="supportflow.progress")
    screen = io.StringIO()
    use_terminal(Console(file=screen, force_terminal=True, width=100))
    try:
        report = step_progress("embedding tickets")
        for done in range(0, 1001, 250):
            report(done, 1000)
    finally:
        use_terminal(None)
    drawn = screen.getvalue()
    assert "embedding tickets" in drawn and "1000/1000" in drawn and "100%" in drawn
    assert "\x1b[" in drawn  # drawn with terminal control codes, redrawn in place
    assert caplog.records == []  # no log lines on top of the bar
    step_progress("after")(1, 1)  # the terminal is forgotten: log lines again
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["after"]


class _Branchy(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 0:  # a tensor to Python bool: torch's tracer warns (TracerWarning)
            return x * 2
        return x


def _export(path):
    torch.onnx.export(_Branchy(), (torch.ones(2, 3),), str(path), dynamo=False)


def test_export_warnings_are_silenced_at_their_source_and_others_still_show(tmp_path, caplog):
    with pytest.warns(torch.jit.TracerWarning):
        _export(tmp_path / "loud.onnx")  # the control: the export does warn
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with quiet_export():
            _export(tmp_path / "quiet.onnx")
            logging.getLogger().warning("Please consider to run pre-processing before quantization")
            logging.getLogger().warning("something else")
            warnings.warn("a warning we did not vouch for", UserWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["a warning we did not vouch for"]
    assert [r.getMessage() for r in caplog.records] == ["something else"]
    logging.getLogger().warning("Please consider it")  # the filter is gone afterwards
    assert caplog.records[-1].getMessage() == "Please consider it"


def test_mlflows_notes_on_logging_the_model_are_dropped_and_its_errors_kept(caplog):
    caplog.set_level(logging.INFO)
    pyfunc = logging.getLogger("mlflow.pyfunc")
    with _quiet_pyfunc():
        pyfunc.info("Validating input example against model signature")
        pyfunc.warning("Passing a Python object as `python_model` causes it to be serialized "
                       "using CloudPickle")  # fmt: skip
        pyfunc.warning("the artifact store is nearly full")
        pyfunc.error("could not register the model")
    assert [r.getMessage() for r in caplog.records] == [
        "the artifact store is nearly full",
        "could not register the model",
    ]


def test_mlflows_registration_prints_are_dropped_and_its_other_output_kept(capsys):
    from mlflow.utils.logging_utils import eprint

    with _quiet_pyfunc():
        eprint("Successfully registered model 'triage-classifier'.")
        eprint("Registered model 'triage-classifier' already exists. Creating a new version…")
        eprint("Created version '2' of model 'triage-classifier'.")
        eprint("the artifact store is nearly full")
    eprint("Created version '3' of model 'x'.")  # outside: MLflow's stream is itself again
    assert capsys.readouterr().err.splitlines() == [
        "the artifact store is nearly full",
        "Created version '3' of model 'x'.",
    ]


def test_third_party_progress_bars_are_off_in_the_tool_environment():
    from supportflow.settings import Settings

    env = Settings().tool_environment()
    assert env["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"
    assert env["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] == "false"


def test_the_demo_ends_with_its_step_times_and_the_commands_to_open_what_it_built(tmp_path):
    import shlex
    import shutil

    from rich.console import Console

    from supportflow.cli.demo import print_step_times, tool, what_to_open
    from supportflow.settings import Settings

    console = Console(record=True, width=120)
    times = {"generate": 7.0, "nightly": 230.5, "nightly · ingest": 15.0, "retrain": 232.1}
    print_step_times(times, console)
    text = console.export_text()
    assert "Step times" in text and "\n│   ingest" in text.replace("┃", "│")
    assert "469.6" in text  # the total counts the top-level steps, not nightly's parts again
    settings = Settings(home=tmp_path / "my home")
    lines = "\n".join(what_to_open(settings, tmp_path / "scorecard.html"))
    assert str(tmp_path / "scorecard.html") in lines
    uri = shlex.quote(settings.mlflow_tracking_uri)  # the home has a space: quoted for a shell
    assert f"mlflow ui --backend-store-uri {uri}" in lines
    prefect = tool("prefect")
    assert f"PREFECT_HOME='{tmp_path / 'my home' / 'prefect'}' {prefect} server start" in lines
    for name in ("mlflow", "prefect"):  # runnable as printed, activated environment or not
        assert shutil.which(tool(name)) is not None, tool(name)
