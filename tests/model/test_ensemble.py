"""The calibrated ensemble: fine-tuned MiniLM mixed with TF-IDF, embedding and kNN members."""

import numpy as np
import pytest

from models.triage.config import TrainConfig
from models.triage.data import load_csv, split
from models.triage.predict import Predictor
from models.triage.train import train_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ensemble(labelled_csv, tmp_path_factory):
    config = TrainConfig.model_validate(
        {
            "name": "tiny-ensemble",
            "data": {"source": "csv", "csv_path": str(labelled_csv), "label_fields": ["category"]},
            "optim": {"epochs": 1, "batch_size": 16, "max_length": 48, "max_steps": 12},
            "combine": {"members": ["tfidf", "embedding", "knn"], "weight_step": 0.25},
            "serving": {"fast_path": "none"},  # compared exactly with the fp32 evaluation
        }
    )
    examples = load_csv(labelled_csv, "text", ["category"])
    parts = split(examples, 0.2, 0.2, seed=3)
    folder = tmp_path_factory.mktemp("ensemble") / "model"
    return train_model(config, parts, folder), parts


def test_weights_are_chosen_on_validation_and_saved(ensemble):
    result, _ = ensemble
    weights = result.meta.extra["ensemble"]["weights"]["category"]
    assert set(weights) == {"transformer", "tfidf", "embedding", "knn"}
    assert sum(weights.values()) == pytest.approx(1.0)
    # a 12-step fine-tune barely learns; the fitted members must carry weight
    assert weights["tfidf"] + weights["embedding"] + weights["knn"] > 0
    assert (result.folder / "members.joblib").exists()
    assert (result.folder / "base_encoder" / "config.json").exists()


def test_members_are_refitted_on_training_and_validation_after_calibration(ensemble):
    result, parts = ensemble
    assert result.meta.extra["ensemble"]["fitted_on"] == "train+validation"
    knn = Predictor(result.folder).members.fitted["knn"]
    assert len(knn.vectors) == len(parts.train) + len(parts.validation)
    # the validation report (and every threshold) came before the refit: members fitted on the
    # training side only, so validation is still held out for them
    assert result.reports["validation"]["category"].accuracy < 1.0


def test_members_and_the_out_of_scope_score_share_one_frozen_encoder(ensemble):
    result, _ = ensemble
    predictor = Predictor(result.folder)
    embedders = {id(m.embedder) for n, m in predictor.members.fitted.items() if n != "tfidf"}
    assert embedders == {id(predictor.embedder)}


def test_the_saved_ensemble_predicts_what_was_evaluated(ensemble):
    result, parts = ensemble
    predictions = Predictor(result.folder).predict(parts.test.texts)
    accuracy = np.mean(
        [
            p["category"].label == t
            for p, t in zip(predictions, parts.test.labels["category"], strict=True)
        ]
    )
    assert accuracy == pytest.approx(result.reports["test"]["category"].accuracy)
    assert accuracy > 0.5  # 13 categories: chance is < 0.1


def test_combine_is_refused_for_the_tfidf_kind():
    with pytest.raises(ValueError, match=r"combine\.members only applies to kind: transformer"):
        TrainConfig.model_validate(
            {"name": "x", "kind": "tfidf", "combine": {"members": ["tfidf"]}}
        )
