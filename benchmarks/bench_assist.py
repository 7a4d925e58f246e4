"""Agent-assist benchmark.

- Guardrails: precision and recall per check on the labelled replies
  (tests/data/guardrails_labelled.yaml); ``guardrail_precision``/``guardrail_recall`` are the
  lowest over the checks.
- Incidents: precision and recall of detected incidents against the generator's planted ones
  (its own plan: outage tickets inside each incident window), plus ticket-level link figures.
- Throughput: ``run_assist`` over every ticket of the 100k-ticket warehouse the nightly benchmark
  built (summaries, drafts, guardrails, related tickets, incidents, writes). Ticket vectors are
  already there, so embedding is not in this figure; bench-nightly times it (its embed step).

    make bench-nightly   # first: builds benchmarks/data/nightly_home_100000
    python -m benchmarks.bench_assist
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from benchmarks.common import DATA, write_result

LABELLED = Path(__file__).resolve().parents[1] / "tests" / "data" / "guardrails_labelled.yaml"
TICKETS, DAYS, SEED = 100_000, 365, 1  # benchmarks/data/tickets_100000 (see its manifest)


def guardrail_figures() -> dict:
    from supportflow.assist.config import load_assist_config
    from supportflow.assist.labelled import CHECKS, evaluate, load_cases

    scores = evaluate(load_cases(LABELLED), load_assist_config().guardrails)
    figures = {}
    for check in CHECKS:
        figures[f"guardrail_{check}_precision"] = scores[check]["precision"]
        figures[f"guardrail_{check}_recall"] = scores[check]["recall"]
        figures[f"guardrail_{check}_cases"] = [
            scores[check]["positives"],
            scores[check]["negatives"],
        ]
    figures["guardrail_precision"] = min(scores[c]["precision"] for c in CHECKS)
    figures["guardrail_recall"] = min(scores[c]["recall"] for c in CHECKS)
    return figures


def assist_figures(home: Path) -> dict:
    os.environ["SUPPORTFLOW_HOME"] = str(home)
    os.environ.setdefault("SUPPORTFLOW_PII_SALT", "bench")
    from supportflow.assist.batch import run_assist
    from supportflow.assist.config import load_assist_config
    from supportflow.assist.labelled import incident_scores, planted_incidents
    from supportflow.assist.macros import load_macros
    from supportflow.knowledge.config import load_knowledge_config
    from supportflow.knowledge.search import KnowledgeIndex
    from supportflow.settings import Settings
    from supportflow.warehouse import connect

    config, knowledge = load_assist_config(), load_knowledge_config()
    with connect(Settings()) as con:
        con.execute("DELETE FROM ml.assist_outputs")
        index = KnowledgeIndex.load(con, knowledge.index.encoder, knowledge.index.language_encoders)
        started = time.perf_counter()
        result = run_assist(con, config, knowledge, index, load_macros(config.macros))
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        rerun = run_assist(con, config, knowledge, index, load_macros(config.macros))
        rerun_seconds = time.perf_counter() - started
        truth = planted_incidents(con, SEED, TICKETS, DAYS)
        links = con.execute(
            "SELECT incident_id, list(ticket_id) FROM ml.ticket_incidents GROUP BY 1"
        ).fetchall()
    return {
        "assist_tickets": result.assisted,
        "assist_s": round(seconds, 1),
        "assist_tickets_per_s": round(result.assisted / seconds, 1),
        "assist_needs_rewrite_share": round(result.needs_rewrite / max(result.assisted, 1), 4),
        "assist_rerun_s": round(rerun_seconds, 2),
        "assist_rerun_tickets": rerun.assisted,
        **incident_scores(links, truth),
    }


def main() -> None:
    home = DATA / f"nightly_home_{TICKETS}"
    if not (home / "warehouse.duckdb").exists():
        raise SystemExit(f"{home} is missing: run `make bench-nightly` first")
    figures = {**guardrail_figures(), **assist_figures(home)}
    result = write_result(
        "assist",
        {"tickets": TICKETS, "days": DAYS, "seed": SEED, "labelled_set": str(LABELLED.name),
         "threads": 2},
        figures,
        {"guardrail_precision": [">=", 0.9], "guardrail_recall": [">=", 0.9],
         "incident_precision": [">=", 0.8], "incident_recall": [">=", 0.8]},
    )  # fmt: skip
    print(json.dumps({k: v for k, v in result["figures"].items() if "_cases" not in k}, indent=2))


if __name__ == "__main__":
    main()
