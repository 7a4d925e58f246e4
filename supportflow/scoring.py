"""Incremental batch scoring: every version holding a rollout phase scores the tickets it has
not scored yet; predictions and routing decisions land together, one partition per transaction.

Computing a partition is pure (texts → rows) so it can run on Dask workers; only the caller
writes to DuckDB (one writer per file).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from models.triage import drift
from models.triage.config import LABEL_FIELDS
from supportflow.knowledge.ticket_vectors import TEXT_HASH
from supportflow.rollout.config import ScoringConfig
from supportflow.rollout.registry import client, deployed
from supportflow.rollout.routing import routing_action
from supportflow.rollout.targets import Target, scoring_targets
from supportflow.settings import Settings
from supportflow.warehouse import connect, transaction

log = logging.getLogger("supportflow.score")
PROGRESS_CHUNK = 1000  # texts per predict call inside a partition: progress between calls
# landing.ticket_texts carries the text the model was trained on (dbt: stg_landing__tickets
# .ticket_text) for steps like this one that run before the nightly dbt build.
# Tickets with text that a version (parameters: model name, version) has not scored yet.
PENDING = """t.has_text AND NOT EXISTS (
    SELECT 1 FROM ml.predictions p
    WHERE p.ticket_id = t.ticket_id AND p.model_name = ? AND p.model_version = ?)"""


class ScoringError(RuntimeError):
    """The model cannot score these tickets (label fields unknown to the warehouse, …)."""


@dataclass
class RunSummary:
    model_name: str
    version: int
    phase: str
    scored: int = 0
    empty_text: int = 0
    partitions: int = 0
    drift: dict[str, dict] = field(default_factory=dict)
    # tickets whose frozen-encoder vector was read from ml.ticket_vectors, not embedded again
    stored_vectors: int = 0


@lru_cache(maxsize=4)
def predictor(folder: str, threads: int = 2):
    """One Predictor per model folder per process (Dask workers keep theirs between tasks)."""
    from models.triage.predict import Predictor

    return Predictor(Path(folder), threads=threads)


def pending(con, target: Target, limit: int, encoder: str | None = None) -> pd.DataFrame:
    """Up to ``limit`` tickets with text that this version has not scored, oldest first
    (``ticket_id``, ``text``), with ``embedding``: the ticket's stored vector of ``encoder``
    for its current text (``knowledge.ticket_vectors``), None where there is none."""
    return con.execute(
        f"""
        SELECT t.ticket_id, t.ticket_text AS text, v.embedding
        FROM landing.ticket_texts t
        LEFT JOIN ml.ticket_vectors v ON v.ticket_id = t.ticket_id AND v.encoder = ?
             AND v.text_hash = {TEXT_HASH}
        WHERE {PENDING} ORDER BY t.created_at, t.ticket_id LIMIT ?
        """,
        [encoder, target.model_name, target.version, limit],
    ).df()


def stored_vectors(column: pd.Series) -> np.ndarray | None:
    """(n, d) float32 of a ``pending`` frame's ``embedding`` column, NaN rows where None; None
    when no row has one."""
    rows = [v if isinstance(v, list | np.ndarray) else None for v in column]  # NULL: None/NaN
    known = next((v for v in rows if v is not None), None)
    if known is None:
        return None
    out = np.full((len(rows), len(known)), np.nan, dtype=np.float32)
    for i, v in enumerate(rows):
        if v is not None:
            out[i] = v
    return out


def count_empty(con) -> int:
    return con.execute("SELECT count(*) FROM landing.ticket_texts WHERE NOT has_text").fetchone()[0]


def check_fields(fields: list[str], target: Target) -> None:
    unknown = sorted(set(fields) - set(LABEL_FIELDS))
    if unknown:
        raise ScoringError(
            f"{target.decided_by} predicts {unknown}, which landing.tickets has no column for "
            f"(known label fields: {', '.join(LABEL_FIELDS)})"
        )


def score_partition(
    target: Target,
    ticket_ids: list[str],
    texts: list[str],
    config: ScoringConfig,
    threads: int = 2,
    on_rows: Callable[[int], None] | None = None,
    vectors: np.ndarray | None = None,
) -> pd.DataFrame:
    """Pure compute: one row per ticket × field with label, confidence, top-3 and the action.
    Texts are predicted ``PROGRESS_CHUNK`` at a time (the same cut in process and on Dask
    workers, so both batch alike); ``on_rows(texts done)`` follows them. ``vectors``: the
    tickets' stored frozen-encoder vectors (``stored_vectors``), reused instead of a second
    encoder pass."""
    model = predictor(str(target.folder), threads)
    predictions = []
    for start in range(0, len(texts), PROGRESS_CHUNK):
        known = None if vectors is None else vectors[start : start + PROGRESS_CHUNK]
        predictions += model.predict(texts[start : start + PROGRESS_CHUNK], vectors=known)
        if on_rows is not None:
            on_rows(len(predictions))
    rows = []
    for ticket_id, fields in zip(ticket_ids, predictions, strict=True):
        for name, p in fields.items():
            rows.append(
                (
                    ticket_id,
                    name,
                    p.label,
                    p.confidence,
                    json.dumps([[label, round(c, 4)] for label, c in p.top3]),
                    p.abstained,
                    routing_action(target.phase, name, p, config.auto_route_fields),
                )
            )
    return pd.DataFrame(
        rows, columns=["ticket_id", "field", "label", "confidence", "top3", "abstained", "action"]
    )


def write_partition(
    con, target: Target, scored: pd.DataFrame, flow_run_id: str, at: datetime
) -> None:
    """Predictions and routing decisions of one partition, in one transaction."""
    con.register("scored_partition", scored)
    try:
        with transaction(con):
            params = [target.model_name, target.version, target.phase, at, flow_run_id]
            con.execute(
                """
                INSERT INTO ml.predictions
                SELECT ticket_id, ?, ?, ?, field, label, confidence, top3::JSON, abstained, ?, ?
                FROM scored_partition
                """,
                params,
            )
            con.execute(
                """
                INSERT INTO ml.routing_decisions
                SELECT ticket_id, ?, ?, ?, field, action,
                       CASE WHEN action = 'needs_human' THEN NULL ELSE label END,
                       confidence, ?, ?, ?
                FROM scored_partition
                """,
                [*params[:3], target.decided_by, at, flow_run_id],
            )
    finally:
        con.unregister("scored_partition")


def drift_rows(
    target: Target, scored: list[pd.DataFrame], config: ScoringConfig
) -> dict[str, dict]:
    """Per field: tickets, mean confidence, PSI of labels and confidences against training."""
    model = predictor(str(target.folder))
    reference = model.meta.extra.get("reference", {})
    frame = pd.concat(scored) if scored else pd.DataFrame(columns=["field", "label", "confidence"])
    out = {}
    for name, head in model.meta.heads.items():
        part = frame[frame["field"] == name]
        row = {"tickets": len(part), "mean_confidence": None, "psi_label": None}
        row.update({"psi_confidence": None, "drifted": False})
        if len(part):
            row["mean_confidence"] = float(part["confidence"].mean())
        if name in reference and len(part) >= config.drift_min_tickets:
            batch = drift.profile(
                part["label"].tolist(), np.asarray(part["confidence"]), head.labels
            )
            label_psi, confidence_psi = drift.compare(reference[name], batch)
            row.update(
                psi_label=label_psi,
                psi_confidence=confidence_psi,
                drifted=max(label_psi, confidence_psi) > config.drift_psi,
            )
        out[name] = row
    return out


def write_run(
    con, target: Target, summary: RunSummary, flow_run_id: str, started: datetime
) -> None:
    finished = datetime.now(UTC)
    for name, row in summary.drift.items():
        con.execute(
            "INSERT INTO ops.scoring_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                flow_run_id,
                target.model_name,
                target.version,
                target.phase,
                name,
                row["tickets"],
                row["mean_confidence"],
                row["psi_label"],
                row["psi_confidence"],
                row["drifted"],
                started,
                finished,
            ],
        )


# (version, ticket ids, texts, stored vectors or None)
Partition = tuple[Target, list[str], list[str], np.ndarray | None]


def count_pending(con, target: Target) -> int:
    return con.execute(
        f"SELECT count(*) FROM landing.ticket_texts t WHERE {PENDING}",
        [target.model_name, target.version],
    ).fetchone()[0]


def score_target(
    con,
    target: Target,
    config: ScoringConfig,
    flow_run_id: str,
    compute,
    *,
    window: int = 1,
    on_progress=None,
) -> RunSummary:
    """Score everything ``target`` has not scored yet.

    ``compute(partitions, on_rows)`` maps a list of partitions to their scored frames (in
    process, or on Dask workers), calling ``on_rows(texts done in this call)`` if it can;
    ``window`` partitions are computed at a time. Each partition is written in its own
    transaction, so a crash leaves only whole partitions and a re-run picks up the rest.
    """
    model = predictor(str(target.folder))
    check_fields(list(model.meta.heads), target)
    encoder = model.ticket_vector_encoder  # its frozen vectors are these stored ones
    started = datetime.now(UTC)
    summary = RunSummary(target.model_name, target.version, target.phase)
    summary.empty_text = count_empty(con)
    total = count_pending(con, target)
    log.info("%s (%s): %d tickets to score", target.decided_by, target.phase, total)
    scored_frames = []
    while True:
        batch = pending(con, target, config.partition_size * window, encoder)
        if batch.empty:
            break
        partitions: list[Partition] = [
            (
                target,
                batch["ticket_id"].iloc[i : i + config.partition_size].tolist(),
                batch["text"].iloc[i : i + config.partition_size].tolist(),
                stored_vectors(batch["embedding"].iloc[i : i + config.partition_size]),
            )
            for i in range(0, len(batch), config.partition_size)
        ]
        base = summary.scored
        summary.stored_vectors += sum(
            0 if p[3] is None else int((~np.isnan(p[3]).any(axis=1)).sum()) for p in partitions
        )

        def on_rows(done: int, base: int = base) -> None:
            if on_progress:
                on_progress(base + done, total)

        for scored in compute(partitions, on_rows):
            write_partition(con, target, scored, flow_run_id, datetime.now(UTC))
            scored_frames.append(scored[["field", "label", "confidence"]])
            summary.scored += scored["ticket_id"].nunique()
            summary.partitions += 1
            if on_progress:
                on_progress(summary.scored, total)
    if encoder:
        log.info(
            "%s: %d of %d tickets read their stored ticket vectors (%s), the rest were embedded",
            target.decided_by, summary.stored_vectors, summary.scored, encoder,
        )  # fmt: skip
    summary.drift = drift_rows(target, scored_frames, config)
    if summary.scored:
        write_run(con, target, summary, flow_run_id, started)
    return summary


def compute_in_process(
    partitions: list[Partition],
    config: ScoringConfig,
    on_rows: Callable[[int], None] | None = None,
) -> list[pd.DataFrame]:
    """Every partition's scored frame, computed here; ``on_rows(texts done)`` across them."""
    out, done = [], 0
    for target, ids, texts, vectors in partitions:
        step = None if on_rows is None else (lambda n, done=done: on_rows(done + n))
        out.append(score_partition(target, ids, texts, config, on_rows=step, vectors=vectors))
        done += len(texts)
    return out


def score_deployed(
    settings: Settings,
    model_name: str,
    config: ScoringConfig,
    run_id: str,
    compute: Callable[..., list[pd.DataFrame]],
    *,
    window: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[RunSummary]:
    """Score new tickets with every version of ``model_name`` holding a rollout phase, one
    ``RunSummary`` per version; an empty list when no version holds one."""
    mlc = client(settings.mlflow_tracking_uri)
    if not deployed(mlc, model_name):
        return []
    targets = scoring_targets(mlc, model_name)
    with connect(settings) as con:
        return [
            score_target(con, t, config, run_id, compute, window=window, on_progress=on_progress)
            for t in targets
        ]
