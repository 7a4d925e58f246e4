"""Scoring benchmark: the production path vs a naive ``transformers.pipeline``, and the flow.

Over one fine-tuned model and the same demo tickets (arrival order), in one run:
  naive         transformers.pipeline("text-classification", batch_size=64), fp32, arrival order
  torch_fp32    plain torch, length-sorted batches of 64
  torch_int8    torch dynamic int8 quantisation, length-sorted
  onnx_fp32     ONNX Runtime fp32, length-sorted
  onnx_int8     ONNX Runtime int8, length-sorted — the production path when it keeps accuracy
Then the same race over mixed-length e-mails (benchmarks/mixed_emails.py: the race's newest
tickets as plain, signed and quoted-thread replies in Gmail's and Outlook's shapes): the naive
pipeline reads the whole text up to the model's ``max_length`` (``naive_mixed``, the target's
reference) and up to the tokenizer's 512 (``naive_mixed_512``, what ``truncation=True`` gives);
the production path reads what the model was trained to read (``data.text_view``: subject and
newest message, models/text.py), length-sorted, int8. ``production`` is the nightly's path: the
knowledge step has stored the tickets' vectors, so the out-of-scope score reads them
(``Predictor.ticket_vector_encoder``) instead of a second encoder pass; ``production_cold`` is a
ticket scored before it has one (hourly scoring). ``tokens_per_s`` counts the tokens the
production classifier reads; ``int8_peak_share`` divides the int8 operations that implies (2 per
multiply-accumulate: the encoder's linear weights per token, plus QKᵀ and AV: 4·length·hidden
per layer) by the 2 cores' AVX-512 VNNI peak (2 ports × 64 int8 MACs per cycle, Intel's
optimisation manual) at the clock /proc/cpuinfo reports; ``int8_peak_share_amx`` by the AMX
peak (1,024 MACs per cycle per core) where the CPU has ``amx_int8``.
Then the incremental scoring flow over the whole ingested set (tickets/s, extrapolated to 1M),
and a re-run with nothing new.

    python -m benchmarks.bench_scoring [--tickets 10000] [--mixed-tickets 2000]
                                       [--flow-tickets 20000]
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.bench_ingest import demo_data
from benchmarks.common import write_result

log = logging.getLogger("bench")


def train_model(home: Path, data_csv: Path) -> dict:
    from models.triage.config import TrainConfig
    from models.triage.pipeline import run_training
    from supportflow.settings import Settings

    settings = Settings()
    config = TrainConfig.model_validate(
        {
            "name": "bench-scoring",
            "data": {
                "source": "csv",
                "csv_path": str(data_csv),
                "label_fields": ["category"],
                "test_fraction": 0.0,
            },
            "optim": {"epochs": 1, "batch_size": 32, "max_length": 96, "learning_rate": 1e-4},
        }
    )
    return run_training(
        config,
        warehouse=None,
        tracking_uri=settings.mlflow_tracking_uri,
        artifact_root=settings.mlflow_artifact_root,
    )


def naive_pipeline(folder: Path, texts: list[str], max_length: int | None = None) -> list[str]:
    """transformers.pipeline over the same fine-tuned model (a thin PreTrainedModel wrapper),
    reading each whole text up to ``max_length`` tokens (None: the model's own)."""
    from transformers import PreTrainedModel, pipeline
    from transformers.modeling_outputs import SequenceClassifierOutput

    from models.triage.modeling import load

    model, tokenizer, meta = load(folder)
    labels = meta.heads["category"].labels

    class CategoryHead(PreTrainedModel):
        config_class = type(model.encoder.config)
        _supports_sdpa = True
        _supports_attention_backend = True

        def __init__(self, config):
            super().__init__(config)
            self.triage = model

        def forward(self, input_ids=None, attention_mask=None, **_):
            logits = self.triage(input_ids=input_ids, attention_mask=attention_mask)["category"]
            return SequenceClassifierOutput(logits=logits)

    config = copy.deepcopy(model.encoder.config)
    config.id2label = dict(enumerate(labels))
    config.label2id = {label: i for i, label in enumerate(labels)}
    classify = pipeline(
        "text-classification",
        model=CategoryHead(config).eval(),
        tokenizer=tokenizer,
        batch_size=64,
        device=-1,
        truncation=True,
        max_length=max_length or meta.max_length,
    )
    return [row["label"] for row in classify(texts)]


def cpu_int8_peak_ops() -> dict[str, float]:
    """int8 operations per second of this machine's cores (2 per multiply-accumulate):
    {"vnni": AVX-512 VNNI (2 × 64 MACs per cycle), "amx": AMX-INT8 (1,024 MACs per cycle),
    present only where /proc/cpuinfo lists the flag}, at its reported clock."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    mhz = next((float(line.split(":")[1]) for line in info.splitlines() if "cpu MHz" in line), 0)
    cores = torch.get_num_threads()
    flags = set(
        next(
            (line.split(":")[1].split() for line in info.splitlines() if line.startswith("flags")),
            [],
        )
    )
    peak = {}
    if "avx512_vnni" in flags:
        peak["vnni"] = cores * mhz * 1e6 * 2 * 64 * 2
    if "amx_int8" in flags:
        peak["amx"] = cores * mhz * 1e6 * 1024 * 2
    return peak


def encoder_ops(folder: Path, lengths: list[int]) -> float:
    """int8-able operations of reading texts of ``lengths`` tokens with the model's encoder:
    per token 2 × its linear weights, plus 4 × length × hidden per layer for QKᵀ and AV."""
    from models.triage.modeling import load

    model, _, _ = load(folder)
    encoder = model.encoder
    linear = sum(m.weight.numel() for m in encoder.modules() if isinstance(m, torch.nn.Linear))
    hidden, layers = encoder.config.hidden_size, encoder.config.num_hidden_layers
    return float(sum(n * (2 * linear + 4 * n * hidden * layers) for n in lengths))


def sorted_paths(folder: Path, texts: list[str]) -> dict[str, list[str]]:
    """Labels from each length-sorted variant: {variant: labels}, timed by the caller."""
    from models.triage import batching
    from models.triage.evaluate import collect_logits
    from models.triage.fastpath import ONNX_FP32, OnnxLogits, export
    from models.triage.modeling import load

    model, tokenizer, meta = load(folder)
    labels = meta.heads["category"].labels
    ids = batching.encode(tokenizer, texts, meta.max_length)
    pad = tokenizer.pad_token_id
    if not (folder / ONNX_FP32).exists():
        export(folder)
    dynamic = torch.ao.quantization.quantize_dynamic(
        copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8
    )
    runners = {
        "torch_fp32": lambda: collect_logits(model, ids, pad),
        "torch_int8": lambda: collect_logits(dynamic, ids, pad),
        "onnx_fp32": lambda: OnnxLogits(folder / ONNX_FP32, ["category"])(ids, pad),
        "onnx_int8": lambda: OnnxLogits(folder / "triage.int8.onnx", ["category"])(ids, pad),
    }
    out = {}
    for name, run in runners.items():
        started = time.perf_counter()
        logits = run()["category"]
        out[name] = ([labels[i] for i in logits.argmax(1)], time.perf_counter() - started)
        log.info("%s: %.1f tickets/s", name, len(texts) / out[name][1])
    return out


def mixed_race(folder: Path, predictor, rows: list[tuple]) -> dict[str, float]:
    """Naive (whole text, model window and 512) vs production over ``rows`` as mixed-length
    e-mails (``mixed_emails``), with token counts and the int8 peak share."""
    from benchmarks.mixed_emails import mixed_emails

    texts = mixed_emails([(r[2], r[3]) for r in rows])
    truth = [r[1] for r in rows]
    tokenizer, meta = predictor.tokenizer, predictor.meta
    whole = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=512)["input_ids"]]
    read = [
        len(ids)
        for ids in tokenizer(meta.model_texts(texts), truncation=True, max_length=meta.max_length)[
            "input_ids"
        ]
    ]
    figures: dict[str, float] = {
        "mixed_tokens_whole_median": float(np.median(whole)),
        "mixed_tokens_whole_p90": float(np.percentile(whole, 90)),
        "mixed_tokens_read_mean": round(float(np.mean(read)), 1),
    }
    for name, window in (("naive_mixed", None), ("naive_mixed_512", 512)):
        started = time.perf_counter()
        labels = naive_pipeline(folder, texts, window)
        seconds = time.perf_counter() - started
        log.info("%s: %.1f tickets/s", name, len(texts) / seconds)
        figures[f"{name}_tickets_per_s"] = round(len(texts) / seconds, 1)
        figures[f"{name}_accuracy"] = accuracy(labels, truth)
    cold = production(predictor, texts, truth)
    figures["production_mixed_cold_tickets_per_s"], figures["production_mixed_cold_accuracy"] = cold
    figures["production_mixed_tickets_per_s"], figures["production_mixed_accuracy"] = production(
        predictor, texts, truth, stored_vectors(predictor, texts)
    )
    seconds = len(texts) / figures["production_mixed_tickets_per_s"]
    for name in ("naive_mixed", "naive_mixed_512"):
        reference = figures[f"{name}_tickets_per_s"]
        figures[f"speedup_vs_{name}"] = round(
            figures["production_mixed_tickets_per_s"] / reference, 2
        )
    figures["accuracy_loss_mixed_pt"] = round(
        100 * (figures["naive_mixed_accuracy"] - figures["production_mixed_accuracy"]), 2
    )
    figures["tokens_per_s"] = round(sum(read) / seconds, 0)
    ops_per_s = encoder_ops(folder, read) / seconds
    for kind, peak in cpu_int8_peak_ops().items():
        suffix = "" if kind == "vnni" else f"_{kind}"
        figures[f"int8_peak_share{suffix}"] = round(ops_per_s / peak, 4)
    return figures


def stored_vectors(predictor, texts: list[str]) -> np.ndarray | None:
    """What the nightly's knowledge step stores for these tickets before scoring reads it:
    their ticket vectors of ``predictor.ticket_vector_encoder`` (None: the model has none)."""
    from models.text import read_ticket
    from supportflow.knowledge import encoder as enc

    if predictor.ticket_vector_encoder is None:
        return None
    return enc.embed(predictor.ticket_vector_encoder, [read_ticket(t) for t in texts])


def production(predictor, texts: list[str], truth: list[str], vectors=None) -> tuple[float, float]:
    """(tickets/s, accuracy) of the production ``Predictor`` end to end, reading ``vectors``
    (stored ticket vectors) where given; the embedder's memo is emptied first."""
    if predictor.embedder is not None:
        predictor.embedder._recent.clear()
    started = time.perf_counter()
    labels = [p["category"].label for p in predictor.predict(texts, vectors=vectors)]
    seconds = time.perf_counter() - started
    log.info("production%s: %.1f tickets/s", "" if vectors is None else " (stored vectors)",
             len(texts) / seconds)  # fmt: skip
    return round(len(texts) / seconds, 1), accuracy(labels, truth)


def accuracy(labels: list[str], truth: list[str]) -> float:
    return round(float(np.mean([a == b for a, b in zip(labels, truth, strict=True)])), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=10_000, help="Tickets for the path race.")
    parser.add_argument(
        "--mixed-tickets", type=int, default=2_000, help="Mixed-length e-mails for the race."
    )
    parser.add_argument("--flow-tickets", type=int, default=20_000, help="Tickets for the flow.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    data, _ = demo_data(args.flow_tickets)
    with tempfile.TemporaryDirectory(prefix="bench-scoring-") as tmp:
        os.environ["SUPPORTFLOW_HOME"] = str(Path(tmp) / "home")
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        from supportflow.settings import Settings

        Settings().apply_environment()
        figures, params = run(Path(tmp), data, args)
    write_result(
        "scoring",
        params,
        figures,
        {
            "speedup_vs_naive_mixed": (">=", 8.0),
            "accuracy_loss_pt": ("<=", 0.5),
            "accuracy_loss_mixed_pt": ("<=", 0.5),
            "rerun_nothing_new_s": ("<=", 5.0),
        },
    )


def run(tmp: Path, data: Path, args) -> tuple[dict, dict]:
    from supportflow import scoring
    from supportflow.ingest.runner import ingest_paths
    from supportflow.rollout import promote, registry, targets
    from supportflow.rollout.config import load_rollout_config
    from supportflow.settings import Settings
    from supportflow.warehouse import connect

    settings = Settings()
    ingest_paths([data / "zendesk"], settings=settings)
    with connect(settings) as con:
        rows = con.execute(
            "SELECT ticket_text, category, subject, body FROM landing.ticket_texts"
            " WHERE category IS NOT NULL ORDER BY created_at, ticket_id"
        ).fetchall()
    train_rows, race = rows[:4000], rows[-args.tickets :]  # train on the oldest, race the newest
    train_csv = tmp / "train.csv"
    with train_csv.open("w", newline="") as handle:
        csv.writer(handle).writerows([("text", "category"), *(r[:2] for r in train_rows)])
    info = train_model(tmp, train_csv)
    mlc = registry.client(settings.mlflow_tracking_uri)
    folder = registry.model_folder(mlc, info["model_name"], info["version"])
    texts, truth = [r[0] for r in race], [r[1] for r in race]

    figures: dict[str, float] = {}
    started = time.perf_counter()
    naive = naive_pipeline(folder, texts)
    naive_s = time.perf_counter() - started
    log.info("naive pipeline: %.1f tickets/s", len(texts) / naive_s)
    figures["naive_tickets_per_s"] = round(len(texts) / naive_s, 1)
    figures["naive_accuracy"] = accuracy(naive, truth)
    work = tmp / "variants"
    shutil.copytree(folder, work)
    for name, (labels, seconds) in sorted_paths(work, texts).items():
        figures[f"{name}_tickets_per_s"] = round(len(texts) / seconds, 1)
        figures[f"{name}_accuracy"] = accuracy(labels, truth)
    # the production path end to end (tokenise, int8 ONNX if accepted, calibrate, thresholds)
    from models.triage.predict import Predictor

    fast_path = json.loads((folder / "triage.json").read_text())["extra"]["fast_path"]["kind"]
    predictor = Predictor(folder)
    figures["production_cold_tickets_per_s"], figures["production_cold_accuracy"] = production(
        predictor, texts, truth
    )
    figures["production_tickets_per_s"], figures["production_accuracy"] = production(
        predictor, texts, truth, stored_vectors(predictor, texts)
    )
    figures["speedup_vs_naive"] = round(
        figures["production_tickets_per_s"] / figures["naive_tickets_per_s"], 2
    )
    figures["accuracy_loss_pt"] = round(
        100 * (figures["naive_accuracy"] - figures["production_accuracy"]), 2
    )
    figures |= mixed_race(folder, predictor, race[-args.mixed_tickets :])

    # incremental scoring of every ingested ticket (the flow's library path, without Prefect's
    # start-up), then a re-run with nothing new
    config = load_rollout_config()
    with connect(settings) as con:
        promote.promote(
            con,
            mlc,
            info["model_name"],
            info["version"],
            "shadow",
            config,
            force=True,
            reason="benchmark",
        )
    (target,) = targets.scoring_targets(mlc, info["model_name"])

    def score_all():
        with connect(settings) as con:
            return scoring.score_target(
                con,
                target,
                config.scoring,
                "bench",
                lambda parts, on_rows=None: scoring.compute_in_process(parts, config.scoring),
                on_progress=lambda done, total: log.info("flow: %d of %d", done, total),
            )

    started = time.perf_counter()
    summary = score_all()
    flow_s = time.perf_counter() - started
    started = time.perf_counter()
    again = score_all()
    figures["rerun_nothing_new_s"] = round(time.perf_counter() - started, 2)
    figures["rerun_scored"] = again.scored
    figures["flow_tickets"] = summary.scored
    figures["flow_tickets_per_s"] = round(summary.scored / flow_s, 1)
    figures["score_1m_estimated_s"] = round(1_000_000 / figures["flow_tickets_per_s"], 0)
    # the nightly order: the knowledge step stores ticket vectors, then scoring reads them
    from supportflow.knowledge import ticket_vectors

    encoder = scoring.predictor(str(target.folder)).ticket_vector_encoder
    if encoder:
        with connect(settings) as con:
            started = time.perf_counter()
            ticket_vectors.refresh(con, encoder)
            figures["ticket_vectors_s"] = round(time.perf_counter() - started, 1)
            con.execute("DELETE FROM ml.routing_decisions")
            con.execute("DELETE FROM ml.predictions")
        started = time.perf_counter()
        again = score_all()
        figures["flow_stored_vectors_tickets_per_s"] = round(
            again.scored / (time.perf_counter() - started), 1
        )
    params = {
        "race_tickets": len(texts),
        "train_examples": len(train_rows),
        "max_length": 96,
        "threads": 2,
        "fast_path": fast_path,
        "mixed_tickets": min(args.mixed_tickets, len(race)),
        "text_view": predictor.meta.text_view,
        "ticket_vector_encoder": predictor.ticket_vector_encoder,
    }
    return figures, params


if __name__ == "__main__":
    main()
