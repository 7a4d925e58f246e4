"""The int8 ONNX fast path: exported at training, measured against fp32, used by the predictor."""

import numpy as np
import pytest

from models.triage.config import TrainConfig
from models.triage.data import load_csv, split
from models.triage.fastpath import ONNX_INT8, accuracy_delta
from models.triage.predict import Predictor
from models.triage.train import train_model

pytestmark = pytest.mark.slow


def test_int8_onnx_is_measured_kept_and_used(labelled_csv, tmp_path):
    config = TrainConfig.model_validate(
        {
            "name": "tiny-fast",
            "data": {"source": "csv", "csv_path": str(labelled_csv), "label_fields": ["category"]},
            "optim": {
                "epochs": 1,
                "batch_size": 16,
                "max_length": 48,
                "max_steps": 20,
                "learning_rate": 3e-4,
            },
            # a tiny validation split: one flipped answer is > 1 pt, so accept any loss here
            "serving": {"fast_path": "onnx_int8", "max_accuracy_loss": 1.0},
        }
    )
    parts = split(load_csv(labelled_csv, "text", ["category"]), 0.2, 0.0, seed=3)
    result = train_model(config, parts, tmp_path / "model")
    fast_path = result.meta.extra["fast_path"]
    assert fast_path["kind"] == "onnx-int8" and "category" in fast_path["accuracy_delta"]
    assert (tmp_path / "model" / ONNX_INT8).exists()
    assert not (tmp_path / "model" / "triage.fp32.onnx").exists()

    fast = Predictor(tmp_path / "model")
    assert fast.fast is not None
    texts = parts.validation.texts
    got = [p["category"].label for p in fast.predict(texts)]
    fast.fast = None  # the same folder through torch fp32
    want = [p["category"].label for p in fast.predict(texts)]
    agreement = np.mean([a == b for a, b in zip(got, want, strict=True)])
    assert agreement >= 0.9
    assert abs(fast_path["accuracy_delta"]["category"]) <= 1 - agreement + 1e-9


def test_accuracy_delta_is_fast_minus_reference_per_field():
    targets = {"queue": np.array([0, 1, 1, -1])}  # -1: unlabelled, ignored
    reference = {"queue": np.array([[2.0, 0], [0, 2], [0, 2], [2, 0]])}  # 3/3 right
    fast = {"queue": np.array([[2.0, 0], [2, 0], [0, 2], [0, 2]])}  # 2/3 right
    assert accuracy_delta(fast, reference, targets) == {"queue": pytest.approx(-1 / 3)}
