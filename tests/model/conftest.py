import pytest


@pytest.fixture(scope="module")
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
