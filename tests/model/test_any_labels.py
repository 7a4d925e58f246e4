"""A user's own label set: three heads unlike the demo's (40 intents, a 2-class flag, 5 teams),
trained end to end on the real packaged encoder, tracked and registered in MLflow."""

from __future__ import annotations

import csv
import random

import mlflow
import numpy as np
import pytest

from models.triage.config import TrainConfig
from models.triage.pipeline import last_run_status, run_training
from models.triage.registry import load_model
from models.triage.steps import TrainingError

THINGS = [
    *("printer", "scanner", "laptop", "monitor", "keyboard", "mouse", "headset", "badge"),
    *("locker", "parking", "vpn", "wifi", "mailbox", "calendar", "payroll", "expense"),
    *("invoice", "contract", "visa", "laptop-bag", "desk", "chair", "phone", "license"),
    *("backup", "server", "database", "firewall", "antivirus", "tablet", "projector"),
    *("camera", "toner", "ticket", "budget", "travel", "training", "onboarding"),
    *("offboarding", "password", "token"),
]
ACTIONS = ("broken", "request", "question")


def rows(per_class: int = 6, seed: int = 5) -> list[dict]:
    """Texts for 40 intents (``thing_action``-like names, none of the demo's), each with a
    2-class ``urgent`` flag and one of 5 ``team`` values."""
    rng = random.Random(seed)
    out = []
    for i, thing in enumerate(THINGS[:40]):
        for j in range(per_class):
            urgent = "yes" if j % 2 else "no"
            words = [rng.choice(("hello", "hi", "dear team", "good morning")), "my", thing]
            words += [rng.choice(("is not working", "needs attention", "has an issue")), "."]
            if urgent == "yes":
                words += ["This blocks all my work, please fix it today!"]
            words += [f"ref {rng.randint(100, 999)}"]
            out.append(
                {
                    "text": " ".join(words),
                    "intent": f"it_{thing}_{ACTIONS[i % 3]}",
                    "urgent": urgent,
                    "team": f"team-{i % 5}",
                }
            )
    rng.shuffle(out)
    return out


@pytest.fixture(scope="module")
def own_labels_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("own") / "own_labels.csv"
    data = rows()
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(data[0]))
        writer.writeheader()
        writer.writerows(data)
    return path


def own_config(path, **serving) -> TrainConfig:
    return TrainConfig.model_validate(
        {
            "name": "own-labels",
            "model_name": "own-labels",
            "data": {
                "source": "csv",
                "csv_path": str(path),
                "label_fields": ["intent", "urgent", "team"],
                "min_examples": 100,
                "min_per_class": {"intent": 3, "urgent": 20, "team": 20},
            },
            "optim": {"epochs": 2, "batch_size": 16, "max_length": 32, "max_steps": 16},
            "serving": serving or {"fast_path": "none"},
        }
    )


@pytest.fixture(scope="module")
def trained_own(own_labels_csv, tmp_path_factory):
    home = tmp_path_factory.mktemp("own-mlflow")
    uri = f"sqlite:///{home}/mlflow.db"
    info = run_training(
        own_config(own_labels_csv), warehouse=None, tracking_uri=uri, artifact_root=home / "a"
    )
    return info, uri


def test_three_heads_of_own_labels_train_evaluate_and_register(trained_own):
    info, uri = trained_own
    assert info["version"] == 1
    assert set(info["metrics"]["validation"]) == {"intent", "urgent", "team"}
    model = load_model(info["model_uri"], uri)
    folder = model.unwrap_python_model().predictor.meta
    sizes = {f: len(h.labels) for f, h in folder.heads.items()}
    assert sizes["urgent"] == 2 and sizes["team"] == 5 and 30 <= sizes["intent"] <= 40
    import pandas as pd

    scored = model.predict(pd.DataFrame({"text": ["hi my vpn is not working ."]}))
    assert scored.loc[0, "urgent_label"] in {"yes", "no"}
    assert scored.loc[0, "intent_label"].startswith("it_")


def test_behavioural_checks_run_only_where_they_apply(trained_own):
    behaviour = trained_own[0]["behaviour"]
    # invariance applies to every head; the priority direction and the demo's
    # minimum-functionality tickets apply to none of these fields
    for field in ("intent", "urgent", "team"):
        for perturbation in ("names", "numbers", "typos"):
            assert 0.0 <= behaviour[f"behaviour_{field}_invariance_{perturbation}"] <= 1.0
    assert not any("direction" in k or "mft" in k for k in behaviour)


def test_a_failure_after_fine_tuning_keeps_the_model_and_names_the_step(
    own_labels_csv, tmp_path, monkeypatch
):
    import models.triage.pipeline as pipeline

    def broken_check(result, parts):  # a fault injected into our own step, not a stand-in
        raise RuntimeError("the behaviour sample could not be scored")

    monkeypatch.setattr(pipeline, "check_behaviour", broken_check)
    uri = f"sqlite:///{tmp_path}/m.db"
    with pytest.raises(TrainingError, match="at step 'behaviour checks'") as error:
        run_training(
            own_config(own_labels_csv), warehouse=None, tracking_uri=uri,
            artifact_root=tmp_path / "a",
        )  # fmt: skip
    assert "partial_model" in str(error.value)
    assert last_run_status("own-labels", uri) == "FAILED"
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient()
    run = client.get_run(error.value.run_id)
    assert run.data.tags["failed_step"] == "behaviour checks"
    kept = {a.path for a in client.list_artifacts(run.info.run_id, "partial_model")}
    assert {"partial_model/triage.json", "partial_model/heads.pt"} <= kept
    assert client.search_registered_models() == []


def test_requests_of_a_kind_never_trained_are_out_of_scope(trained_own):
    info, uri = trained_own
    calibration = info["unknown"]
    assert calibration["intent"]["threshold"] is not None
    assert calibration["intent"]["auroc"] > 0.75
    assert "urgent" not in calibration  # a 2-class flag has no unknown intents
    predictor = load_model(info["model_uri"], uri).unwrap_python_model().predictor
    known = [r["text"] for r in rows(per_class=1, seed=99)]
    new = [
        f"hi my {thing} {state} . ref {n}"
        for n, thing in enumerate(("scooter", "aquarium", "telescope", "piano", "drone", "kayak"))
        for state in ("is not working", "has an issue")
    ]
    flagged = [p["intent"].out_of_scope for p in predictor.predict(known + new)]
    in_scope, unknown = np.mean(flagged[: len(known)]), np.mean(flagged[len(known) :])
    assert unknown >= 0.5 and in_scope <= 0.35 and unknown > in_scope + 0.3
    # an out-of-scope request is never auto-applied and always goes to a human
    for p in predictor.predict(new):
        assert not p["intent"].out_of_scope or (
            p["intent"].abstained and not p["intent"].auto_apply
        )
