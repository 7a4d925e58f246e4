"""Flow: the demo — generate seeded demo data (once), run the nightly flow on its Zendesk export
and help center, retrain a quick triage model into shadow, score with it, rebuild the metrics and
render the scorecard. ``supportflow demo run`` (``make demo``) runs it and prints the result."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from flows.build_metrics import build_metrics
from flows.ingest_tickets import IngestParams
from flows.nightly import NightlyParams, NightlyResult, nightly
from flows.publish_scorecard import Scorecard, publish_scorecard
from flows.reindex_knowledge import ReindexParams
from flows.retrain_weekly import RetrainParams, RetrainResult, retrain_weekly
from flows.score_tickets import ScoreParams, run_scoring
from supportflow.dbt_runner import DbtRunSummary
from supportflow.demo import DEMO_DAYS, DEMO_TICKETS
from supportflow.progress import timed
from supportflow.scoring import RunSummary
from supportflow.settings import Settings
from supportflow.yaml_config import config_file, shipped_dir


class DemoParams(BaseModel):
    tickets: int = Field(default=DEMO_TICKETS, ge=1)
    days: int = Field(default=DEMO_DAYS, ge=1)
    seed: int = 7
    train: bool = Field(default=True, description="Also retrain a quick triage model.")


RESCORED = "source:ml+"  # the dbt nodes downstream of the ml.* tables scoring writes


@dataclass
class DemoResult:
    data: Path
    nightly: NightlyResult
    retrain: RetrainResult | None = None
    scored: list[RunSummary] = field(default_factory=list)
    dbt: DbtRunSummary | None = None  # the rebuild after the new version scored
    scorecard: Scorecard | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # step → wall-clock seconds


def same_demo(manifest: Path, params: DemoParams) -> bool:
    """Whether the data at ``manifest`` was generated with these tickets, days and seed."""
    if not manifest.exists():
        return False
    kept = json.loads(manifest.read_text()).get("params", {})
    return kept == {"tickets": params.tickets, "days": params.days, "seed": params.seed}


@task(cache_policy=NO_CACHE)
def generate(params: DemoParams, out: Path) -> Path:
    """Write the demo data into ``out`` unless the same data is already there."""
    from supportflow.demo.write import write_demo

    logger = get_run_logger()
    if not same_demo(out / "manifest.json", params):
        logger.info("generating %s demo tickets into %s", f"{params.tickets:,}", out)
        write_demo(
            out, tickets=params.tickets, days=params.days, seed=params.seed, workers=2,
            progress=lambda done: logger.info("generated %s tickets", f"{done:,}"),
        )  # fmt: skip
    return out


@flow(name="demo")
def demo(params: DemoParams) -> DemoResult:
    """Generate → nightly → retrain into shadow → score → dbt build → scorecard (+ PNG)."""
    seconds: dict[str, float] = {}
    with timed(seconds, "generate"):
        out = generate(params, Settings().home.resolve() / "demo_data")
    with timed(seconds, "nightly"):
        night = nightly(
            NightlyParams(
                ingest=IngestParams(paths=[out / "zendesk"]),
                knowledge=ReindexParams(path=out / "kb"),
            )
        )
    result = DemoResult(out, night)
    seconds |= {f"nightly · {step}": s for step, s in night.seconds.items()}
    if params.train:
        # looser ECE gate for shadow: the quick model is checked on ~200 test tickets
        with timed(seconds, "retrain"):
            result.retrain = retrain_weekly(
                RetrainParams(
                    experiment=shipped_dir("experiments") / "demo_quick.yaml",
                    rollout_config=config_file("rollout_demo.yaml"),  # rollout.yaml, looser ECE
                )
            )
        if result.retrain.shadow.passed:
            name = result.retrain.training["model_name"]
            with timed(seconds, "shadow scoring"):
                result.scored = run_scoring(ScoreParams(model_name=name))
            with timed(seconds, "dbt build"):  # what reads the model's outputs, again
                result.dbt = build_metrics(select=RESCORED)
    with timed(seconds, "scorecard"):
        result.scorecard = publish_scorecard(with_png=True)
    result.seconds = seconds
    return result
