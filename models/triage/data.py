"""Labelled examples: load (warehouse mart or CSV), gate, split without leakage, fingerprint."""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from models.triage.config import LABEL_FIELDS, DataConfig
from models.triage.graph import connected

log = logging.getLogger("supportflow.train")


class DataError(ValueError):
    """The data cannot train a model; the message says what is missing."""


@dataclass
class Examples:
    """Texts with one label list per field (None where a ticket has no value for that field)."""

    ids: list[str]
    texts: list[str]
    labels: dict[str, list[str | None]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, index: list[int]) -> Examples:
        return Examples(
            [self.ids[i] for i in index],
            [self.texts[i] for i in index],
            {f: [v[i] for i in index] for f, v in self.labels.items()},
        )

    def viewed(self, view: Callable[[list[str]], list[str]]) -> Examples:
        """The same examples with ``view(texts)`` as their texts (what a model reads)."""
        return Examples(self.ids, view(self.texts), self.labels)

    def __add__(self, other: Examples) -> Examples:
        """Both sets, ``self`` first; a field only one of them has is None for the other's."""
        fields = list(dict.fromkeys([*self.labels, *other.labels]))
        return Examples(
            self.ids + other.ids,
            self.texts + other.texts,
            {
                f: list(self.labels.get(f, [None] * len(self)))
                + list(other.labels.get(f, [None] * len(other)))
                for f in fields
            },
        )


def from_rows(
    rows: list[dict], text_column: str, label_fields: list[str], id_column: str | None = None
) -> Examples:
    """Examples from dict rows; empty texts are refused by ``check_minimum``, not dropped here."""
    if rows:
        missing = [c for c in (text_column, *label_fields) if c not in rows[0]]
        if missing:
            raise DataError(f"column(s) {missing} not found; available: {sorted(rows[0])}")
    ids = [str(r[id_column]) if id_column else str(i + 1) for i, r in enumerate(rows)]
    texts = [(r[text_column] or "").strip() for r in rows]
    labels = {
        f: [(str(r[f]).strip() or None) if r[f] is not None else None for r in rows]
        for f in label_fields
    }
    return Examples(ids, texts, labels)


def load_csv(path: Path, text_column: str, label_fields: list[str]) -> Examples:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise DataError(f"{path} holds no rows")
    return from_rows(rows, text_column, label_fields)


def load_warehouse(warehouse: Path, label_fields: list[str]) -> Examples:
    """Settled tickets from the ``marts.fct_triage_examples`` mart (built by dbt)."""
    import duckdb

    unknown = [f for f in label_fields if f not in LABEL_FIELDS]
    if unknown:
        raise DataError(
            f"unknown label field(s) {unknown}; the warehouse has {', '.join(LABEL_FIELDS)}"
        )
    if warehouse is None or not warehouse.exists():
        raise DataError(f"no warehouse at {warehouse}: run `supportflow ingest` first")
    try:  # read-write config: dbt in this process may hold the file open the same way
        con = duckdb.connect(str(warehouse))
    except duckdb.IOException as exc:
        raise DataError(f"cannot open the warehouse {warehouse}: {exc}") from exc
    try:
        cursor = con.execute(
            f"SELECT ticket_id, text, {', '.join(label_fields)} "
            "FROM marts.fct_triage_examples ORDER BY ticket_id"
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    except duckdb.CatalogException as exc:
        raise DataError(
            "marts.fct_triage_examples does not exist: run `supportflow ingest` "
            "and `supportflow build-metrics` first"
        ) from exc
    finally:
        con.close()
    return from_rows(rows, "text", label_fields, id_column="ticket_id")


def load_examples(config: DataConfig, warehouse: Path | None = None) -> Examples:
    if config.source == "csv":
        examples = load_csv(config.csv_path, config.text_column, config.label_fields)
    else:
        examples = load_warehouse(warehouse, config.label_fields)
    if config.max_examples and len(examples) > config.max_examples:
        examples = examples.subset(list(range(config.max_examples)))
    return examples


def check_minimum(
    examples: Examples, min_examples: int, min_per_class: int | dict[str, int]
) -> None:
    """Refuse to train, naming the problem, on too little or one-class data.

    ``min_per_class`` is one floor for every field or ``{field: floor}``. Every field with
    classes under its floor is named in one ``DataError``, with each such class, its count and
    how many more it needs."""
    empty = sum(1 for t in examples.texts if not t)
    if empty:
        raise DataError(f"{empty} example(s) have an empty text; clean or drop them first")
    if len(examples) < min_examples:
        raise DataError(
            f"{len(examples)} examples, fewer than the minimum of {min_examples} "
            "(data.min_examples in the recipe)"
        )
    problems = []
    for name, values in examples.labels.items():
        floor = min_per_class if isinstance(min_per_class, int) else min_per_class.get(name, 1)
        counts = Counter(v for v in values if v is not None)
        if len(counts) < 2:
            problems.append(f"label field {name!r} has {len(counts)} class(es); need at least 2")
            continue
        rare = sorted((n, c) for c, n in counts.items() if n < floor)
        if rare:
            shown = ", ".join(f"{c!r} has {n} (needs {floor - n} more)" for n, c in rare[:10])
            more = f" and {len(rare) - 10} more" if len(rare) > 10 else ""
            problems.append(
                f"label field {name!r}: {len(rare)} of {len(counts)} classes under the minimum "
                f"of {floor} examples: {shown}{more}"
            )
    if problems:
        raise DataError(
            "; ".join(problems) + "; add examples, merge or relabel those classes, or lower "
            "data.min_per_class for the field"
        )


WORD = re.compile(r"[a-z]+")


def near_duplicate_groups(texts: list[str], shingle: int = 5, hashes: int = 3) -> list[int]:
    """A group id per text; texts sharing a min-hash of their word shingles share a group.

    Support tickets repeat (incident bursts, templates with a different greeting). Putting such
    near-duplicates on one side of the split keeps validation and test scores honest.
    """
    first_seen: dict[tuple[int, int], int] = {}
    pairs = []
    for i, text in enumerate(texts):
        words = WORD.findall(text.lower())
        grams = {" ".join(words[j : j + shingle]) for j in range(max(1, len(words) - shingle + 1))}
        for k in range(hashes):
            key = (k, min(_hash(f"{k}:{g}") for g in grams))
            pairs.append((i, first_seen.setdefault(key, i)))
    return connected(len(texts), pairs).tolist()


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


@dataclass
class Split:
    train: Examples
    validation: Examples
    test: Examples

    def viewed(self, view: Callable[[list[str]], list[str]]) -> Split:
        """Each side's texts through ``view`` (``TriageMeta.model_texts``)."""
        return Split(self.train.viewed(view), self.validation.viewed(view), self.test.viewed(view))


def exact_groups(texts: list[str]) -> list[int]:
    """Group ids of texts equal after lower-casing and dropping digits and punctuation."""
    first: dict[str, int] = {}
    return [first.setdefault(" ".join(WORD.findall(t.lower())), i) for i, t in enumerate(texts)]


MAX_GROUP_SHARE = 0.2


def split(
    examples: Examples,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
    group_texts: list[str] | None = None,
) -> Split:
    """Deterministic group split: a group goes wholly to train, validation or test by a hash of
    its members' ids and the seed (stable when unrelated examples are added). Groups are formed
    over ``group_texts`` (default: the texts) — what the model reads of each example, so a
    quoted thread or signature shared by many e-mails does not chain them into one family and
    two e-mails with the same newest message never sit on both sides.

    Heavily templated data (one near-duplicate family above 20 % of the examples, as in the demo
    generator) cannot be split by families; it falls back to exact duplicates after
    normalisation, with a warning, rather than to an empty validation set.
    """
    texts = examples.texts if group_texts is None else group_texts
    groups = near_duplicate_groups(texts)
    if examples.ids and max(Counter(groups).values()) > MAX_GROUP_SHARE * len(examples):
        log.warning(
            "near-duplicate families are too large to split by (templated data?); "
            "keeping only exact duplicates together"
        )
        groups = exact_groups(texts)
    members: dict[int, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    parts: dict[str, list[int]] = {"train": [], "validation": [], "test": []}
    for index in members.values():
        u = _hash(f"{seed}:{min(examples.ids[i] for i in index)}") / 2**64
        side = (
            "test"
            if u < test_fraction
            else "validation"
            if u < test_fraction + validation_fraction
            else "train"
        )
        parts[side].extend(index)
    return Split(*(examples.subset(sorted(parts[k])) for k in ("train", "validation", "test")))


def fingerprint(examples: Examples) -> str:
    """sha256 over ids and labels: the same data gives the same fingerprint in MLflow."""
    digest = hashlib.sha256()
    for i, ident in enumerate(examples.ids):
        labels = "|".join(f"{f}={examples.labels[f][i]}" for f in sorted(examples.labels))
        digest.update(f"{ident}\t{labels}\n".encode())
    return digest.hexdigest()
