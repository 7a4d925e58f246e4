"""GPU vs CPU (issue 18 item 4): the Banking77 fine-tune's seconds and test accuracy, and the
scoring throughput of the same model, per device (``models/device.py``).

    python -m benchmarks.bench_device [--devices cuda] [--epochs 5] [--smoke]

For each of ``--devices``: fine-tune the transformer alone (the bench-triage recipe, no members,
no out-of-scope calibration) with ``optim.device`` set, then score the official test set with
that device's ``Predictor`` (labels only, as ``supportflow score`` does for the fine-tuned
head). The CPU side of the fine-tune is the 2-core figure of ``make bench-triage``
(``triage.json``) — a 5-epoch fine-tune on 2 cores takes ~15 min, longer than one GPU-machine
call — so on a GPU machine run ``--devices cuda``; every model is also scored on the CPU
with 2 threads for the scoring ratio. ``--smoke`` runs 40 steps on 2,000 examples (a check
that the script works, not a figure). Results: ``benchmarks/results/device.json``.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.bench_triage import BANKING77, banking77_split, config
from benchmarks.common import write_result
from models import device as devices
from models.triage.predict import Predictor
from models.triage.train import train_model


def scoring_rate(folder: Path, texts: list[str], device: str, threads: int) -> tuple[float, list]:
    """(tickets/s, predictions) of one warm Predictor over ``texts`` on ``device``."""
    predictor = Predictor(folder, threads=threads, device=device)
    predictor.predict(texts[:64], out_of_scope=False)  # warm-up: kernels, allocator
    if devices.is_gpu(predictor.device):
        torch.cuda.synchronize()
    started = time.perf_counter()
    predictions = predictor.predict(texts, out_of_scope=False)
    return len(texts) / (time.perf_counter() - started), predictions


def measure(name: str, epochs: int, smoke: bool, tmp: Path) -> dict[str, float]:
    """Figures of one device: ``finetune_s_<d>``, ``test_accuracy_<d>``,
    ``scoring_tickets_per_s_<d>`` and ``scoring_tickets_per_s_cpu2_of_<d>_model``."""
    where = devices.resolve(name)
    label = where.type
    parts, test = banking77_split()
    if smoke:  # a seeded sample: train.csv is sorted by intent
        sample = random.Random(0).sample(range(len(parts.train.texts)), 2000)
        parts = type(parts)(parts.train.subset(sample), parts.validation, test)
    recipe = config("transformer", epochs).model_dump()
    recipe["optim"] |= {"device": name, "threads": 2 if label == "cpu" else 8}
    recipe["optim"]["max_steps"] = 40 if smoke else None
    recipe["calibration"] = {**recipe.get("calibration", {}), "unknown_recall": None}
    recipe = type(config("transformer", epochs)).model_validate(recipe)
    started = time.perf_counter()
    result = train_model(recipe, parts, tmp / label)
    seconds = time.perf_counter() - started
    rate, predictions = scoring_rate(result.folder, test.texts, name, threads=2)
    truth = test.labels["category"]
    hits = [p["category"].label == t for p, t in zip(predictions, truth, strict=True)]
    accuracy = float(np.mean(hits))
    figures = {
        f"finetune_s_{label}": round(seconds, 1),
        f"finetune_epochs_{label}": len(result.history),
        f"test_accuracy_{label}": round(accuracy, 4),
        f"scoring_tickets_per_s_{label}": round(rate, 1),
    }
    if label != "cpu":
        cpu_rate, _ = scoring_rate(result.folder, test.texts, "cpu", threads=2)
        figures[f"scoring_tickets_per_s_cpu2_of_{label}_model"] = round(cpu_rate, 1)
        figures[f"scoring_speedup_{label}_vs_cpu2"] = round(rate / cpu_rate, 2)
        figures["gpu_name"] = torch.cuda.get_device_name(where)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="auto", help="comma-separated: auto, cpu, cuda[:N]")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="40 steps on 2,000 examples")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not BANKING77.exists():
        sys.exit(f"skipped: Banking77 not found at {BANKING77}")
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-device-") as tmp:
        for name in dict.fromkeys(args.devices.split(",")):
            figures |= measure(name, args.epochs, args.smoke, Path(tmp))
    params = {"epochs": args.epochs, "smoke": args.smoke, "devices": args.devices}
    write_result("device_smoke" if args.smoke else "device", params, figures, {})


if __name__ == "__main__":
    main()
