import pytest

from models.triage.config import TrainConfig


@pytest.fixture(scope="session")
def labelled_csv(tmp_path_factory, demo_export):
    """~300 labelled demo tickets as a CSV (text, category, priority)."""
    import csv

    rows = list(csv.DictReader((demo_export / "tickets.csv").open()))
    path = tmp_path_factory.mktemp("labelled") / "labelled.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category", "priority"])
        for r in rows[:320]:
            writer.writerow([r["body"], r["category"], r["priority"]])
    return path


def tiny_config(csv_path, **optim) -> TrainConfig:
    """A fine-tune of the packaged MiniLM on the labelled CSV small enough for tests."""
    return TrainConfig.model_validate(
        {
            "name": "tiny",
            "data": {
                "source": "csv",
                "csv_path": str(csv_path),
                "text_column": "text",
                "label_fields": ["category", "priority"],
                "min_examples": 100,
                "min_per_class": 3,
            },
            "optim": {
                "epochs": 3,
                "batch_size": 16,
                "max_length": 48,
                "max_steps": 36,
                "learning_rate": 3e-4,
                **optim,
            },
        }
    )


@pytest.fixture(scope="session")
def trained(labelled_csv, tmp_path_factory):
    """The tiny model trained, tracked and registered once per session: (info, uri, home)."""
    from models.triage.pipeline import run_training

    home = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{home}/mlflow.db"
    info = run_training(
        tiny_config(labelled_csv),
        warehouse=None,
        tracking_uri=uri,
        artifact_root=home / "artifacts",
    )
    return info, uri, home
