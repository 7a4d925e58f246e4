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
    # demo tickets are ~10 % German/Spanish/French: "auto" keeps the model's own base encoder
    frozen = result.meta.extra["frozen_encoder"]
    assert frozen["encoder"] == "fine-tuned model's base encoder"
    assert frozen["non_english_share"] < 0.2


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
    # members read the vectors: fp32 torch (int8 costs the embedding member 0.42 pt, Banking77)
    assert type(predictor.embedder).__name__ == "Embedder"
    assert "backend" not in result.meta.extra["frozen_encoder"]


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


# Hand-written tickets in three languages, as a German/Spanish desk writes them.
MULTILINGUAL = {
    "billing": [
        "I was charged twice for {x}, please refund one payment.",
        "Ich wurde für {x} zweimal belastet, bitte erstatten Sie eine Zahlung.",
        "Me cobraron dos veces por {x}, por favor devuelvan un pago.",
        "Die Rechnung für {x} ist falsch, der Betrag stimmt nicht.",
    ],
    "login": [
        "I cannot log in to {x}, the password reset link has expired.",
        "Ich kann mich nicht bei {x} anmelden, der Link zum Zurücksetzen ist abgelaufen.",
        "No puedo iniciar sesión en {x}, el enlace para restablecer la contraseña caducó.",
        "Mein Konto bei {x} ist gesperrt, ich komme nicht mehr hinein.",
    ],
    "export": [
        "Exporting the report from {x} to CSV fails with an error.",
        "Der Export des Berichts aus {x} als CSV schlägt mit einem Fehler fehl.",
        "La exportación del informe de {x} a CSV falla con un error.",
        "Die Datei aus {x} lässt sich nicht herunterladen, der Export bricht ab.",
    ],
}
PRODUCTS = ["the mobile app", "the web portal", "the team plan", "the API", "the desktop client"]


def test_a_mostly_german_and_spanish_training_set_gets_multilingual_members(tmp_path):
    import csv

    path = tmp_path / "tickets.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        for category, templates in MULTILINGUAL.items():
            for template in templates:
                for product in PRODUCTS:
                    writer.writerow([template.format(x=product), category])
    config = TrainConfig.model_validate(
        {
            "name": "tiny-multilingual",
            "data": {"source": "csv", "csv_path": str(path), "label_fields": ["category"],
                     "min_examples": 30, "min_per_class": 5},
            "optim": {"epochs": 1, "batch_size": 16, "max_length": 48, "max_steps": 4},
            "combine": {"members": ["embedding", "knn"], "weight_step": 0.25},
            "serving": {"fast_path": "none"},
        }
    )  # fmt: skip
    parts = split(load_csv(path, "text", ["category"]), 0.2, 0.2, seed=3)
    result = train_model(config, parts, tmp_path / "model")
    chosen = result.meta.extra["frozen_encoder"]
    assert chosen["encoder"] == "use:multilingual-v3"
    assert chosen["non_english_share"] > 0.5  # 3 of 4 templates are German or Spanish
    predictor = Predictor(result.folder)  # the saved model reads with the same encoder
    assert {type(m.embedder).__name__ for m in predictor.members.fitted.values()} == {"UseEmbedder"}
    german = "Der Link zum Zurücksetzen meines Passworts für das Portal ist abgelaufen."
    assert predictor.predict([german])[0]["category"].label == "login"
