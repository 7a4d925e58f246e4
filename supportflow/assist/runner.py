"""The agent-assist steps as library entry points: each takes ``Settings`` and the config
paths, opens the warehouse itself and returns a typed result."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from supportflow.assist.batch import AssistResult, Compute, compute_in_process, run_assist
from supportflow.assist.config import load_assist_config
from supportflow.assist.macros import MacroLibrary, load_macros
from supportflow.assist.qa import top_up_samples
from supportflow.knowledge.config import answer_configs, load_knowledge_config
from supportflow.knowledge.search import KnowledgeIndex
from supportflow.settings import Settings
from supportflow.warehouse import connect

log = logging.getLogger("supportflow.assist")


def macro_library(path: Path | None) -> MacroLibrary:
    """The configured macro library (empty without one); each macro left out is a warning."""
    library = load_macros(path) if path else MacroLibrary([])
    for problem in library.problems:
        log.warning("macro skipped: %s", problem)
    return library


def assist_pending(
    settings: Settings,
    config_path: Path | None = None,
    knowledge_config_path: Path | None = None,
    *,
    ticket_ids: list[str] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    compute: Compute = compute_in_process,
    chunks: int = 1,
) -> AssistResult:
    """Assist outputs for every ticket of the working set that needs them (or only
    ``ticket_ids``; ``batch.pending``), each batch in ``chunks`` chunks through ``compute``
    (``batch.Compute``: this process, or Dask workers); raises ``EmptyIndexError`` while
    nothing is indexed (drafts cite articles)."""
    knowledge = load_knowledge_config(knowledge_config_path)
    config = load_assist_config(config_path, encoder=knowledge.index.encoder)
    library = macro_library(config.macros)
    thresholds = answer_configs(knowledge, knowledge_config_path)
    with connect(settings) as con:

        def index() -> KnowledgeIndex:
            routes = knowledge.index.language_encoders
            return KnowledgeIndex.load(con, knowledge.index.encoder, routes)

        key = settings.generator_api_key
        return run_assist(
            con, config, knowledge, index, library, ticket_ids=ticket_ids,
            on_progress=on_progress, generator_key=key.get_secret_value() if key else None,
            answer_thresholds={e: c.min_similarity for e, c in thresholds.items()},
            compute=compute, chunks=chunks,
        )  # fmt: skip


def sample_for_qa(
    settings: Settings,
    config_path: Path | None = None,
    knowledge_config_path: Path | None = None,
) -> dict[str, int]:
    """Top up the stratified QA sample (``assist.qa.top_up_samples``); samples added per kind."""
    per_stratum = load_assist_config(config_path).qa.per_stratum
    threshold = load_knowledge_config(knowledge_config_path).answer.min_similarity
    with connect(settings) as con:
        return top_up_samples(con, per_stratum, threshold)
