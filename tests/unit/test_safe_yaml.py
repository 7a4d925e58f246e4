"""Every user-supplied YAML goes through one bounded loader: aliases capped by the values they
expand to, size capped, one line naming the file (../shared/cases/24: a 485-byte alias bomb
exhausted memory)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from supportflow.safe_yaml import MAX_BYTES, describe, load_yaml

BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdef", "bcdefg", strict=True)
)  # 9**7 values: far past the cap
CASE_24 = Path(__file__).resolve().parents[3] / "shared" / "cases" / "24-yaml-alias-bomb"


def test_an_alias_bomb_is_refused_at_once_and_plain_aliases_load():
    started = time.perf_counter()
    with pytest.raises(yaml.YAMLError) as caught:
        load_yaml(BOMB)
    assert time.perf_counter() - started < 1  # counted, never expanded
    assert describe(caught.value) == "its aliases expand to 6,053,451 values; the limit is 200,000"
    shared = {"min_tickets": 50}  # what a dumper writes for a repeated mapping: &id001 / *id001
    assert load_yaml(yaml.safe_dump({"assist": shared, "auto_route": shared})) == {
        "assist": shared,
        "auto_route": shared,
    }


def test_plain_yaml_and_oversized_documents():
    assert load_yaml("version: v1\nrules: [{id: a}]\n") == {"version": "v1", "rules": [{"id": "a"}]}
    assert load_yaml("") is None
    with pytest.raises(yaml.YAMLError, match="limit"):
        load_yaml("x" * (MAX_BYTES + 1))


def test_every_loader_refuses_the_bomb_in_one_line(tmp_path, settings):
    from supportflow.escalation.rules import RuleError, load_rules
    from supportflow.ingest.mapping import load_mapping
    from supportflow.knowledge.articles import read_source
    from supportflow.knowledge.config import load_knowledge_config

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB)
    with pytest.raises(RuleError, match=r"^.*bomb\.yaml: not valid YAML \(its aliases") as rules:
        load_rules(bomb)
    with pytest.raises(ValueError, match=r"mapping .*bomb\.yaml: not valid YAML") as mapping:
        load_mapping(bomb)
    with pytest.raises(ValueError, match=r"bomb\.yaml: not valid YAML") as config:
        load_knowledge_config(bomb)
    for caught in (rules, mapping, config):
        assert "\n" not in str(caught.value)
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "bad.md").write_text(f"---\n{BOMB}---\n# Bad\nbody\n")
    (kb / "good.md").write_text("# Good\nA fine article.\n")
    read = read_source(kb)  # one bad article is skipped with its reason; the others are read
    assert [a.title for a in read.articles] == ["Good"]
    assert "its aliases expand to" in read.problems[0].reason


@pytest.mark.skipif(not CASE_24.exists(), reason="../shared/cases/24 is not on this machine")
def test_case_24_rules_bomb_is_one_line_within_a_second():
    from supportflow.escalation.rules import RuleError, load_rules

    started = time.perf_counter()
    with pytest.raises(RuleError, match="aliases expand to") as caught:
        load_rules(CASE_24 / "rules.yaml")
    assert time.perf_counter() - started < 1 and "\n" not in str(caught.value)
