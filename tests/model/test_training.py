"""A real fine-tune of the packaged MiniLM on tiny data, tracked and registered in real MLflow."""

import json
import os
import subprocess
import sys

import pytest

from models.triage.data import DataError
from models.triage.pipeline import last_run_status, run_training
from models.triage.steps import TrainingError
from tests.model.conftest import tiny_config as config

pytestmark = pytest.mark.slow


def test_training_learns_and_registers_a_version(trained):
    info, uri, _ = trained
    assert info["version"] == 1 and info["model_uri"] == "models:/triage-classifier/1"
    import mlflow

    mlflow.set_tracking_uri(uri)
    run = mlflow.get_run(info["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.tags["data_fingerprint"] and run.data.params["data.label_fields"]
    import torch

    assert run.data.tags["train_device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    csv_param = run.data.params.get("data.csv_path", "None")
    assert "/" not in csv_param and os.sep not in csv_param  # a file name, no user folders
    losses = [
        m.value for m in mlflow.MlflowClient().get_metric_history(info["run_id"], "train_loss")
    ]
    assert len(losses) >= 2 and losses[-1] < losses[0]  # the loss falls
    metrics = info["metrics"]["validation"]["category"]
    assert metrics["validation_accuracy"] > 0.3  # 13 classes: chance is ~8 %
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(info["run_id"])}
    assert {"label_maps.json", "thresholds.json", "evaluation"} <= artifacts
    version = mlflow.MlflowClient().get_model_version("triage-classifier", "1")
    assert version.tags["label_fields"] == "category,priority"
    behaviour = info["behaviour"]
    assert (
        run.data.metrics["behaviour_category_invariance_names"]
        == behaviour["behaviour_category_invariance_names"]
    )
    assert behaviour["behaviour_category_invariance_names"] >= 0.6
    assert 0 <= behaviour["behaviour_priority_direction_violations"] <= 1
    assert 0 <= behaviour["behaviour_category_mft_pass_rate"] <= 1


def test_thresholds_meet_their_precision_on_validation(trained):
    info, _, _ = trained
    for name, m in info["metrics"]["validation"].items():
        if m["validation_suggest_coverage"] > 0:
            assert m["validation_suggest_precision"] >= 0.90, name
        if m["validation_auto_apply_coverage"] > 0:
            assert m["validation_auto_apply_precision"] >= 0.97, name


def test_reloads_by_alias_in_a_fresh_process_with_identical_predictions(trained):
    _, uri, home = trained
    import mlflow
    import pandas as pd

    from models.triage.registry import load_model

    mlflow.set_tracking_uri(uri)
    mlflow.MlflowClient().set_registered_model_alias("triage-classifier", "shadow", "1")
    texts = ["I was charged twice this month", "Cannot log in, reset link expired"]
    here = load_model("models:/triage-classifier/1", uri).predict(pd.DataFrame({"text": texts}))
    code = (
        "import json, sys, pandas as pd\n"
        "from models.triage.registry import load_model\n"
        f"m = load_model('models:/triage-classifier@shadow', {uri!r})\n"
        f"print(json.dumps(m.predict(pd.DataFrame({{'text': {texts!r}}})).to_dict('records')))"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=home, check=True
    )
    there = json.loads(proc.stdout.strip().splitlines()[-1])
    assert there == json.loads(here.to_json(orient="records"))
    assert "out_of_scope_score" in here.columns  # the saved int8 graph scored them, both times


def test_the_out_of_scope_score_alone_runs_its_frozen_encoder_as_int8(trained):
    """No member reads the frozen vectors, so the out-of-scope score's encoder is the int8
    graph (bench: same held-out-intent figures at ~10x the speed), saved in the model folder
    and loaded from it."""
    info, uri, _ = trained
    from models.triage.embedding import SAVED_INT8, OnnxEmbedder
    from models.triage.registry import load_model

    predictor = load_model(info["model_uri"], uri).unwrap_python_model().predictor
    assert predictor.meta.extra["frozen_encoder"]["backend"] == "onnx-int8"
    assert isinstance(predictor.embedder, OnnxEmbedder)
    assert predictor.embedder.graph.name == SAVED_INT8
    assert predictor.embedder.graph.parent.name == "base_encoder"


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a CUDA GPU")
def test_a_gpu_asked_for_but_absent_fails_before_training_and_scoring(
    trained, labelled_csv, tmp_path
):
    from models.device import DeviceError
    from models.triage.predict import Predictor
    from models.triage.registry import load_model

    info, uri, _ = trained
    folder = load_model(info["model_uri"], uri).unwrap_python_model().predictor.folder
    on_gpu = config(labelled_csv, device="cuda")
    uri = f"sqlite:///{tmp_path}/m.db"
    with pytest.raises(TrainingError, match="at step 'fine-tune': device 'cuda' asked for"):
        run_training(on_gpu, warehouse=None, tracking_uri=uri, artifact_root=tmp_path / "a")
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        Predictor(folder, device="cuda")


def test_the_gate_refuses_too_little_data(labelled_csv, tmp_path):
    small = config(labelled_csv).model_copy(
        update={"data": config(labelled_csv).data.model_copy(update={"min_examples": 10_000})}
    )
    with pytest.raises(DataError, match="fewer than the minimum of 10000"):
        run_training(
            small,
            warehouse=None,
            tracking_uri=f"sqlite:///{tmp_path}/m.db",
            artifact_root=tmp_path / "a",
        )


def test_a_failed_run_is_marked_failed_and_not_registered(labelled_csv, tmp_path):
    broken = config(labelled_csv).model_copy(update={"encoder": str(tmp_path / "no-encoder")})
    uri = f"sqlite:///{tmp_path}/m.db"
    failed = r"at step 'fine-tune': encoder folder .* no config\.json"
    with pytest.raises(TrainingError, match=failed):
        run_training(broken, warehouse=None, tracking_uri=uri, artifact_root=tmp_path / "a")
    assert last_run_status("tiny", uri) == "FAILED"
    import mlflow

    mlflow.set_tracking_uri(uri)
    assert mlflow.MlflowClient().search_registered_models() == []


def test_the_tfidf_baseline_takes_the_same_path(labelled_csv, tmp_path):
    import pandas as pd

    from models.triage.registry import load_model

    baseline = config(labelled_csv).model_copy(update={"kind": "tfidf", "name": "baseline"})
    uri = f"sqlite:///{tmp_path}/m.db"
    info = run_training(baseline, warehouse=None, tracking_uri=uri, artifact_root=tmp_path / "a")
    assert info["version"] == 1
    assert info["metrics"]["validation"]["category"]["validation_accuracy"] > 0.5
    scored = load_model(info["model_uri"], uri).predict(
        pd.DataFrame({"text": ["Please refund my subscription, we never used it"]})
    )
    assert set(scored.columns) >= {"category_label", "category_confidence", "category_abstained"}


def test_predict_command_writes_labels_confidences_and_abstentions(trained, tmp_path, monkeypatch):
    import csv

    from typer.testing import CliRunner

    from supportflow.cli import app

    _, uri, _ = trained
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    data = tmp_path / "in.csv"
    data.write_text(
        "text,truth\nI was charged twice,billing_dispute\nCannot log in,account_access\n"
    )
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app,
        [
            "predict",
            "--model",
            "models:/triage-classifier/1",
            "--data",
            str(data),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2 and rows[0]["truth"] == "billing_dispute"
    assert {"category_label", "category_confidence", "category_abstained", "priority_label"} <= set(
        rows[0]
    )
    missing = CliRunner().invoke(
        app,
        [
            "predict",
            "--model",
            "models:/triage-classifier/1",
            "--data",
            str(data),
            "--out",
            str(out),
            "--text-column",
            "body",
        ],
    )
    assert missing.exit_code == 1 and "no column 'body'" in missing.output


def test_labels_unseen_in_training_are_a_clear_error():
    from models.triage.data import Examples, Split
    from models.triage.finetune import label_maps

    train = Examples(["1", "2"], ["a", "b"], {"category": ["x", "y"]})
    val = Examples(["3"], ["c"], {"category": ["z"]})
    with pytest.raises(DataError, match=r"validation has category labels never seen.*\['z'\]"):
        label_maps(Split(train, val, Examples([], [], {"category": []})))


def test_train_errors_are_one_line_without_prefect_tracebacks(labelled_csv, home, tmp_path):
    """A per-field minimum for a field --label-column leaves out is not an error; a column the
    CSV lacks is one ``error:`` line, with no Prefect task-failure traceback before it."""
    experiment = tmp_path / "exp.yaml"
    experiment.write_text(
        "data:\n  label_fields: [category, priority]\n  min_per_class: {category: 5, priority: 5}\n"
    )
    env = {**os.environ, "SUPPORTFLOW_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "supportflow.cli", "train", "-e", str(experiment),
         "--data", str(labelled_csv), "--label-column", "team"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output and "ERROR" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines[-1].startswith("error: column(s) ['team'] not found"), output
    assert "min_per_class" not in output


def test_label_columns_keep_the_per_field_minimums_of_the_fields_named(labelled_csv):
    from models.triage.config import DEFAULT_MIN_PER_CLASS

    base = config(labelled_csv)
    data = base.data.model_copy(update={"min_per_class": {"category": 5, "priority": 7}})
    written = base.model_copy(update={"data": data})
    assert written.with_label_fields(["priority"]).data.minimum_per_class() == {"priority": 7}
    other = written.with_label_fields(["team"]).data
    assert other.label_fields == ["team"] and other.min_per_class == DEFAULT_MIN_PER_CLASS


REPLY = (  # a customer's reply above the thread Gmail quotes, and a signature
    "\n\nThanks,\nAnna Schmidt\nHead of Ops | Acme GmbH\n\n"
    "On Mon, Nov 2, 2026 at 10:00 AM Nimbus Support <support@nimbus.example> wrote:\n"
    + "> Hello Anna, we upgraded your plan and refunded the invoice; anything else?\n"
    * 20
)


def test_scoring_reads_a_ticket_as_training_did_without_its_quoted_thread(trained, tmp_path):
    """The recipe's ``data.text_view`` (newest_message by default) is saved in triage.json and
    applied by the predictor: a ticket with a long quoted thread and a signature scores exactly
    as its own words do; a model saved before the setting reads texts whole."""
    import shutil

    from models.triage.modeling import META_FILE
    from models.triage.predict import Predictor
    from models.triage.registry import load_model

    info, uri, _ = trained
    predictor = load_model(info["model_uri"], uri).unwrap_python_model().predictor
    saved = json.loads((predictor.folder / META_FILE).read_text())
    assert saved["text_view"] == "newest_message" == predictor.meta.text_view
    own = ["Refund\nWe were charged twice for the Business plan this month, please refund one."]
    with_thread = [own[0] + REPLY]
    assert predictor.predict(with_thread) == predictor.predict(own)

    old = tmp_path / "old"
    shutil.copytree(predictor.folder, old)
    saved.pop("text_view")
    (old / META_FILE).write_text(json.dumps(saved))
    assert Predictor(old).meta.text_view == "whole"
    assert Predictor(old).meta.model_texts(with_thread) == with_thread
