"""Escalation rules: a versioned YAML file of rules whose conditions are a small structured
language (all / any / not over field comparisons) — parsed and validated here, never ``eval``-ed.

    version: "2026-11-29.1"
    rules:
      - id: asks_for_human
        description: The customer asks for a person.
        when: {field: text, op: contains_any, value: ["real person", "echte person"]}
        action: {escalate_to: tier2, raise_priority: high}
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, model_validator

from supportflow.yaml_config import CONFIG_HOME, StrictModel, read_yaml_config

# The config home's rule set (supportflow/yaml_config.py): an explicit file, else
# <Settings.config_dir>/escalation_rules.yaml, else the packaged one — whole, never merged.
RULES_NAME = "escalation_rules.yaml"
DEFAULT_RULES = CONFIG_HOME / RULES_NAME
PRIORITIES = ("low", "normal", "high", "urgent")

# Every field a rule may use, with its type. The SQL for each is a column of
# evaluate.FEATURES_SQL (tests/unit/test_escalation_rules.py pins the two to the same names).
FIELDS: dict[str, str] = {
    # the ticket as loaded
    "channel": "str", "customer_tier": "str", "language": "str", "priority": "str",
    "category": "str", "queue": "str", "status": "str", "tags": "list",
    "subject": "str", "body": "str", "text": "str",
    # aggregates over the ticket's events
    "customer_messages": "int", "bot_replies": "int", "failed_self_service": "int",
    "failed_attempts": "int", "reopens": "int",
    # model outputs (latest prediction per field) and knowledge (best public article passage)
    "predicted_category": "str", "predicted_priority": "str", "predicted_sentiment": "str",
    "sentiment_confidence": "float", "model_abstained": "bool", "kb_public_similarity": "float",
}  # fmt: skip
OPERATORS = {
    "eq": {"str", "int", "float", "bool"},
    "in": {"str", "int"},
    "gte": {"int", "float"},
    "lte": {"int", "float"},
    "contains_any": {"str", "list"},
    "matches": {"str"},
}
# The regex dialect a rule may use: what Python's re (the Python evaluator) and DuckDB's RE2 (the
# SQL evaluator) both accept AND read alike. Refused: lookarounds and backreferences (RE2 lacks
# them); \w \b \d \s and their negations (Unicode in Python, ASCII in RE2) — write [a-z0-9] and
# [ \t\r\n] instead; \Z (Python only; $ is the end of the text in both, as ingest trims it);
# {,n} (a repeat in Python, literal text in RE2) — write {0,n}; POSIX classes [[:digit:]] (RE2
# only). Each pattern is then compiled by both engines (``_check_regex``), Python's warnings
# (nested sets) counted as refusals.
UNSUPPORTED_REGEX = re.compile(r"\(\?[=!<P]|\\[1-9wWbBdDsSZ]|\{,|\[:[a-z]+:\]")


class RuleError(ValueError):
    """A rules file that cannot be used; the message names the rule and the problem."""


class Strict(StrictModel):
    model_config = ConfigDict(frozen=True)  # and extra="forbid", from StrictModel


class Comparison(Strict):
    field: str
    op: Literal["eq", "in", "gte", "lte", "contains_any", "matches"]
    value: Any

    @model_validator(mode="after")
    def _check(self) -> Comparison:
        kind = FIELDS.get(self.field)
        if kind is None:
            raise ValueError(f"unknown field {self.field!r} (known: {', '.join(sorted(FIELDS))})")
        if kind not in OPERATORS[self.op]:
            raise ValueError(f"operator {self.op!r} does not apply to {self.field!r} ({kind})")
        _check_value(self.field, kind, self.op, self.value)
        return self


class All(Strict):
    all: list[Condition] = Field(min_length=1)


class AnyOf(Strict):
    any: list[Condition] = Field(min_length=1)


class Not(Strict):
    not_: Condition = Field(alias="not")


Condition = Comparison | All | AnyOf | Not


class Action(Strict):
    escalate_to: str = Field(min_length=1, description="Queue that takes the ticket.")
    raise_priority: Literal["low", "normal", "high", "urgent"] | None = None


class Rule(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = Field(min_length=1)
    when: Condition
    action: Action


class RuleSet(Strict):
    version: str = Field(min_length=1, pattern=r"^[\w.\-]+$")
    rules: list[Rule] = Field(min_length=1)

    @property
    def content_hash(self) -> str:
        """Identifies what the rules say, whatever the YAML layout."""
        body = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:16]


def _check_value(field: str, kind: str, op: str, value: Any) -> None:
    def fail(expected: str):
        raise ValueError(f"{field} {op}: expected {expected}, got {value!r}")

    scalar = {"str": str, "int": int, "float": (int, float), "bool": bool}
    if op in ("in", "contains_any"):
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str | int) for v in value)
        ):
            fail("a non-empty list")
        if op == "in" and not all(isinstance(v, scalar[kind]) for v in value):
            fail(f"a list of {kind}")
        if op == "contains_any" and not all(isinstance(v, str) and v.strip() for v in value):
            fail("a list of non-empty strings")
    elif op == "matches":
        if not isinstance(value, str) or not value:
            fail("a regular expression")
        if UNSUPPORTED_REGEX.search(value):
            fail(
                "a regular expression without lookarounds, backreferences, \\w \\b \\d \\s, "
                "\\Z, {,n} or [:class:] (both evaluators must read it alike)"
            )
        if (problem := _check_regex(value)) is not None:
            fail(f"a regular expression both Python and DuckDB (RE2) accept ({problem})")
    elif (isinstance(value, bool) and kind != "bool") or not isinstance(value, scalar[kind]):
        fail(kind)
    elif isinstance(value, float) and not math.isfinite(value):
        fail(f"a finite {kind}")


@functools.cache
def _re2():
    """An in-memory DuckDB connection: its RE2 is the SQL evaluator's."""
    import duckdb

    return duckdb.connect()


def _check_regex(pattern: str) -> str | None:
    """Why Python's re or DuckDB's RE2 refuses ``pattern`` (None: both compile it)."""
    import warnings

    try:
        with warnings.catch_warnings():  # "possible nested set" and the like: read differently
            warnings.simplefilter("error")  # by RE2 ([[:digit:]] is a class there), so refused
            re.compile(pattern, re.IGNORECASE)
    except (re.error, FutureWarning, DeprecationWarning) as exc:
        return f"Python: {exc}"
    import duckdb

    try:
        _re2().execute("SELECT regexp_matches('', ?, 'i')", [pattern]).fetchall()
    except duckdb.Error as exc:
        return f"RE2: {str(exc).splitlines()[0]}"
    return None


def load_rules(path: Path | None = None) -> RuleSet:
    """The rule set at ``path`` (default: the config home's), validated; errors name the rule.

    A rule set is a versioned whole: the file is used as it is, not overlaid on the default."""
    try:
        raw, origin = read_yaml_config(path, "escalation rules", default=RULES_NAME, overlay=False)
    except (OSError, ValueError) as exc:
        raise RuleError(str(exc)) from None
    return parse_rules(raw, str(origin))


def parse_rules(raw: Any, origin: str = "rules") -> RuleSet:
    if not isinstance(raw, dict):
        raise RuleError(f"{origin}: expected a mapping with 'version' and 'rules'")
    rules = raw.get("rules")
    if isinstance(rules, list):
        seen: set[str] = set()
        for n, rule in enumerate(rules):
            rule_id = rule.get("id") if isinstance(rule, dict) else None
            if rule_id in seen:
                raise RuleError(f"{origin}: duplicate rule id {rule_id!r}")
            seen.add(rule_id)
            try:
                Rule.model_validate(rule)
            except ValidationError as exc:
                raise RuleError(
                    f"{origin}: rule {rule_id or f'#{n + 1}'!r}: {_first(exc)}"
                ) from None
    try:
        return RuleSet.model_validate(raw)
    except ValidationError as exc:
        raise RuleError(f"{origin}: {_first(exc)}") from None


def _first(exc: ValidationError) -> str:
    """The most specific message: the innermost comparison's, not pydantic's union noise."""
    errors = exc.errors()
    for err in errors:
        if err["type"] == "value_error":
            return str(err["msg"]).removeprefix("Value error, ")
    err = errors[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


for _model in (All, AnyOf, Not, Rule, RuleSet):
    _model.model_rebuild()
