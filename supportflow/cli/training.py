"""``supportflow train`` and ``predict``: fine-tune and register a model; predict on a CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supportflow.cli.common import VERBOSE_HELP, _console, _fail, _setup, app


@app.command()
def train(
    experiment: Annotated[Path, typer.Option("--experiment", "-e", help="experiments/<name>.yaml")],
    data: Annotated[
        Path | None, typer.Option(help="Labelled CSV instead of the warehouse.")
    ] = None,
    text_column: Annotated[str | None, typer.Option(help="Text column of --data.")] = None,
    label_column: Annotated[
        list[str] | None, typer.Option(help="Label column(s) of --data; repeat for several heads.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=VERBOSE_HELP)] = False,
) -> None:
    """Fine-tune, calibrate and register a triage model (one MLflow run, one new version)."""
    _setup(verbose, api=True)
    from flows.train_triage_model import TrainParams, train_triage_model
    from models.triage.data import DataError
    from models.triage.steps import TrainingError

    try:
        info = train_triage_model(
            TrainParams(
                experiment=experiment,
                data=data,
                text_column=text_column,
                label_columns=label_column or None,
            )
        )
    except (DataError, TrainingError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    print_training(info)


def print_training(info: dict) -> None:
    """The training run's summary (``run_training``): registered version, sizes, metrics."""
    from rich.table import Table

    console = _console()
    sizes = info["sizes"]
    console.print(
        f"[bold]Registered {info['model_uri']}[/] (experiment {info['experiment']}, "
        f"run {info['run_id']}); trained on {sizes['train']:,} examples in "
        f"{info['train_seconds']} s; validation {sizes['validation']:,}, "
        f"test {sizes['test']:,}"
    )
    side = "test" if "test" in info["metrics"] else "validation"
    table = Table(title=f"{side} metrics per field")
    for col in (
        "field",
        "accuracy",
        "macro-F1",
        "top-3",
        "ECE after",
        "suggest cov.",
        "suggest prec.",
        "auto cov.",
        "auto prec.",
    ):
        table.add_column(col, justify="left" if col == "field" else "right")
    for name, m in info["metrics"][side].items():
        keys = (
            "accuracy",
            "macro_f1",
            "top3_accuracy",
            "ece_after",
            "suggest_coverage",
            "suggest_precision",
            "auto_apply_coverage",
            "auto_apply_precision",
        )
        few = info.get("classes", {}).get(name, 4) <= 3  # top-3 of 2 or 3 classes is always 1
        table.add_row(
            name,
            *("—" if few and k == "top3_accuracy" else f"{m[f'{side}_{k}']:.3f}" for k in keys),
        )
    console.print(table)
    unknown = info.get("unknown", {})
    for name in info["metrics"][side] if unknown else ():
        if name not in unknown:
            console.print(f"unknown {name}: off (fewer than 3 classes: no unknown intents)")
    for name, c in unknown.items():
        state = (
            f"abstains beyond distance {c['threshold']:.3f}: catches "
            f"{c['pseudo_unknown_recall']:.0%} of left-out classes, keeps "
            f"{c['in_scope_kept']:.0%} of validation"
            if c["threshold"] is not None
            else "off (new classes of this field do not look new)"
        )
        console.print(
            f"unknown {name}: AUROC {c['auroc']:.3f}, FPR@95 {c['fpr_at_95']:.3f}; {state}"
        )


@app.command()
def predict(
    model: Annotated[str, typer.Option(help="models:/triage-classifier/<version> or @<alias>.")],
    data: Annotated[Path, typer.Option(help="CSV with a text column.")],
    out: Annotated[
        Path,
        typer.Option(
            help="CSV to write: per field <field>_label, _confidence, _abstained and "
            "_out_of_scope, plus out_of_scope_score (distance to the nearest training "
            "example), beside the input columns."
        ),
    ],
    text_column: Annotated[str, typer.Option(help="Text column of --data.")] = "text",
) -> None:
    """Predict with a registered model version on any CSV (to evaluate it on labelled files)."""
    settings = _setup()
    import pandas as pd

    from models.triage.registry import load_model

    if not data.exists():
        _fail(f"{data}: no such file")
    frame = pd.read_csv(data)
    if text_column not in frame.columns:
        _fail(f"{data}: no column {text_column!r}; columns are {list(frame.columns)}")
    try:
        loaded = load_model(model, settings.mlflow_tracking_uri)
    except Exception as exc:  # MLflow raises its own types for unknown models/aliases
        _fail(f"cannot load {model}: {exc}")
    result = loaded.predict(pd.DataFrame({"text": frame[text_column]}))
    result.drop(columns=["text"]).join(frame).to_csv(out, index=False)
    _console().print(f"wrote {len(result):,} predictions to {out}")
