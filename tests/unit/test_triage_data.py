"""Training data: config parsing, the minimum-data gate, leakage-free splits, fingerprints."""

import random

import pytest

from models.triage.config import TrainConfig, load_config
from models.triage.data import (
    DataError,
    Examples,
    check_minimum,
    fingerprint,
    load_csv,
    near_duplicate_groups,
    split,
)
from tests.conftest import BANKING77

WORDS = [
    "refund",
    "login",
    "invoice",
    "board",
    "export",
    "share",
    "invite",
    "card",
    "error",
    "slack",
    "webhook",
    "dark",
    "mode",
]


def examples(n: int, classes=("a", "b")) -> Examples:
    rng = random.Random(n)
    texts = [" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(n)]
    return Examples(
        [str(i) for i in range(n)],
        texts,
        {"category": [classes[i % len(classes)] for i in range(n)]},
    )


def test_config_typos_are_errors(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("optim:\n  epohcs: 3\n")
    with pytest.raises(ValueError, match="epohcs"):
        load_config(path)
    path.write_text("data:\n  source: csv\n")
    with pytest.raises(ValueError, match="csv_path"):
        load_config(path)


def test_command_line_data_completes_a_csv_config_before_it_is_validated(tmp_path):
    """``train -e x.yaml --data y.csv``: a config that says ``source: csv`` without a path is
    complete once the command line gives the file."""
    path = tmp_path / "exp.yaml"
    path.write_text("data:\n  source: csv\n  label_fields: [category]\n")
    config = load_config(path, {"data": {"csv_path": str(tmp_path / "l.csv")}})
    assert config.data.csv_path == tmp_path / "l.csv"
    assert config.data.label_fields == ["category"]


def test_config_name_defaults_to_file_stem(tmp_path):
    path = tmp_path / "quick-run.yaml"
    path.write_text("optim: {epochs: 1}\n")
    assert load_config(path) == TrainConfig(name="quick-run", optim={"epochs": 1})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (examples(10), "10 examples, fewer than the minimum of 50"),
        (examples(60, classes=("a",)), "has 1 class(es)"),
        (Examples(["1"] * 60, [""] + ["x"] * 59, {"category": ["a", "b"] * 30}), "empty text"),
    ],
)
def test_gate_refuses_with_a_reason(data, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_minimum(data, min_examples=50, min_per_class=5)


def test_gate_names_the_rare_classes():
    data = examples(100)
    data.labels["category"][:3] = ["rare", "rare", "odd"]
    with pytest.raises(DataError) as error:
        check_minimum(data, min_examples=50, min_per_class=5)
    assert "2 of 4 classes under the minimum of 5 examples" in str(error.value)
    assert "'odd' has 1 (needs 4 more), 'rare' has 2 (needs 3 more)" in str(error.value)
    # per field: the same data passes when this field's floor is lowered
    check_minimum(data, min_examples=50, min_per_class={"category": 1})
    # every failing field is named at once
    data.labels["team"] = ["x"] * 98 + ["y", "y"]
    with pytest.raises(DataError) as both:
        check_minimum(data, min_examples=50, min_per_class={"category": 5, "team": 3})
    assert "'category': 2 of 4" in str(both.value) and "'y' has 2 (needs 1 more)" in str(both.value)


def test_min_per_class_is_set_per_field_and_names_only_label_fields():
    from models.triage.config import DataConfig

    config = DataConfig(label_fields=["intent", "urgent"], min_per_class={"urgent": 100})
    assert config.minimum_per_class() == {"intent": 20, "urgent": 100}
    with pytest.raises(ValueError, match=r"not in data\.label_fields"):
        DataConfig(label_fields=["intent"], min_per_class={"priority": 5})


def test_near_duplicates_share_a_group():
    base = "none of our boards load we get a 503 error and the whole team is blocked"
    texts = [
        f"Hi, {base}. Thanks",
        f"Hello team, {base}! Cheers",
        f"{base} this is unacceptable",
        "how do i share a board with a guest who has no paid seat in our workspace",
    ]
    groups = near_duplicate_groups(texts)
    assert groups[0] == groups[1] == groups[2] != groups[3]


def test_split_is_deterministic_and_keeps_groups_together():
    data = examples(600)
    data.texts[:20] = ["the very same incident text repeated for everyone on the team"] * 20
    one, two = split(data, 0.15, 0.15, seed=1), split(data, 0.15, 0.15, seed=1)
    assert one.test.ids == two.test.ids and one.validation.ids == two.validation.ids
    sides = [set(one.train.ids), set(one.validation.ids), set(one.test.ids)]
    assert sum(len(s) for s in sides) == 600 and not (sides[0] & sides[1] or sides[1] & sides[2])
    dup_ids = {str(i) for i in range(20)}
    assert sum(bool(dup_ids & s) for s in sides) == 1
    assert 0.08 < len(one.test) / 600 < 0.25
    assert split(data, 0.15, 0.15, seed=2).test.ids != one.test.ids


def test_fingerprint_follows_ids_and_labels():
    data = examples(50)
    same = examples(50)
    assert fingerprint(data) == fingerprint(same)
    same.labels["category"][0] = "b"
    assert fingerprint(data) != fingerprint(same)


def test_unknown_label_column_is_named(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,intent\nhello,a\n")
    with pytest.raises(DataError, match=r"\['category'\] not found"):
        load_csv(path, "text", ["category"])


@pytest.mark.skipif(
    not BANKING77.exists(), reason="Banking77 not found at ../shared/data/banking77"
)
def test_banking77_loads_and_passes_the_gate():
    data = load_csv(BANKING77 / "train.csv", "text", ["category"])
    check_minimum(data, min_examples=1000, min_per_class=20)
    assert len(set(data.labels["category"])) == 77


def test_templated_data_falls_back_to_exact_duplicates():
    template = "please cancel our subscription at the end of the billing period {} {}"
    texts = [template.format(a, b) for a in WORDS[:10] for b in WORDS[:10]] * 3
    data = Examples([str(i) for i in range(300)], texts, {"category": ["a", "b", "c"] * 100})
    parts = split(data, 0.2, 0.2, seed=3)
    assert len(parts.validation) > 0 and len(parts.train) > 0
    for side in (parts.train, parts.validation, parts.test):  # exact duplicates stay together
        others = [s for s in (parts.train, parts.validation, parts.test) if s is not side]
        assert not set(side.texts) & {t for o in others for t in o.texts}


def test_behaviour_perturbations_change_only_what_they_should():
    from models.triage.behaviour import add_typos, change_numbers, swap_names

    rng = random.Random(0)
    text = "Invoice 12345 was charged twice on 2026-03-01"
    assert swap_names(text, rng).startswith(text)
    changed = change_numbers(text, rng)
    assert changed != text and changed.split()[0] == "Invoice"
    typo = add_typos("the quick brown fox jumps over the lazy dog", rng)
    assert sorted(typo) == sorted("the quick brown fox jumps over the lazy dog") and typo != (
        "the quick brown fox jumps over the lazy dog"
    )


def test_adding_examples_keeps_order_and_fills_missing_fields_with_none():
    from models.triage.data import Examples

    a = Examples(["1", "2"], ["x", "y"], {"queue": ["q1", "q2"]})
    b = Examples(["3"], ["z"], {"queue": ["q3"], "priority": ["high"]})
    both = a + b
    assert (both.ids, both.texts) == (["1", "2", "3"], ["x", "y", "z"])
    assert both.labels == {"queue": ["q1", "q2", "q3"], "priority": [None, None, "high"]}


def test_the_split_groups_what_the_model_reads_not_the_quoted_thread(caplog):
    """E-mails quoting the same long thread are not one family, and two replies with the same
    newest message (under different quoted threads) always land on the same side."""
    from models.text import model_texts

    words = ["invoice", "refund", "export", "login", "password", "board", "plan", "seat", "token"]
    threads = [
        "\n\nOn Mon, Nov 2, 2026 at 10:00 AM Support <s@x.example> wrote:\n"
        + f"> we reset your {topic} and the team confirmed the change on our side today\n" * 6
        for topic in ("password", "invoice")
    ]
    texts, ids = [], []
    for i in range(80):
        own = " ".join(random.Random(i).sample(words, 8)) + f" case {i}"
        for j, thread in enumerate(threads):
            texts.append(f"Ticket {i}\n{own}{thread}")
            ids.append(f"{i}-{j}")
    data = Examples(ids, texts, {"category": ["a", "b"] * 80})
    parts = split(data, 0.2, 0.2, seed=3, group_texts=model_texts(texts, "newest_message"))
    assert "too large to split" not in caplog.text
    sides = (parts.train, parts.validation, parts.test)
    side = {i: n for n, part in enumerate(sides) for i in part.ids}
    assert all(side[f"{i}-0"] == side[f"{i}-1"] for i in range(80))
    assert len(parts.validation) and len(parts.test)
