"""Escalation rules: parsing and validation, and each default trigger on crafted tickets."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from supportflow.escalation.evaluate import decide, holds
from supportflow.escalation.rules import DEFAULT_RULES, RuleError, load_rules, parse_rules

TEN = {
    "asks_for_human", "repeated_failed_attempts", "high_negative_sentiment", "urgent_issue",
    "legal_or_financial_risk", "billing_dispute", "account_access", "vip_customer",
    "policy_exception", "ai_uncertain_or_missing_knowledge",
}  # fmt: skip
QUIET = {
    "channel": "email", "customer_tier": "free", "language": "en", "priority": "normal",
    "category": "how_to", "queue": "general", "status": "open", "tags": [],
    "subject": "Question", "body": "How do I share a board?", "text": "Question\nHow do I share a board?",
    "customer_messages": 1, "bot_replies": 0, "failed_self_service": 0, "failed_attempts": 0,
    "reopens": 0, "predicted_category": "how_to", "predicted_priority": "normal",
    "predicted_sentiment": "neutral", "sentiment_confidence": 0.9, "model_abstained": False,
    "kb_public_similarity": 0.7,
}  # fmt: skip


def ticket(**changes) -> dict:
    out = {**QUIET, **changes}
    if "body" in changes:
        out["text"] = f"{out['subject']}\n{out['body']}"
    return out


def test_default_rules_are_the_ten_triggers():
    rules = load_rules()
    assert {r.id for r in rules.rules} == TEN
    assert decide(rules, QUIET).escalate is False


@pytest.mark.parametrize(
    "rule_id, positive, negative",
    [
        ("asks_for_human", ticket(body="Ich möchte mit einem Menschen sprechen"),
         ticket(body="The human resources board is slow")),
        ("repeated_failed_attempts", ticket(failed_attempts=2), ticket(failed_attempts=1)),
        ("high_negative_sentiment",
         ticket(predicted_sentiment="negative", sentiment_confidence=0.85),
         ticket(predicted_sentiment="negative", sentiment_confidence=0.6)),
        ("urgent_issue", ticket(body="Production is down for all our users"),
         ticket(body="The export button is down the page")),
        ("legal_or_financial_risk", ticket(body="We will file a chargeback with our bank"),
         ticket(body="Please charge my new card")),
        ("billing_dispute", ticket(predicted_category="billing_dispute"),
         ticket(category="invoice_request", predicted_category="invoice_request")),
        ("account_access", ticket(category="account_access", customer_tier="pro"),
         ticket(category="account_access", customer_tier="free")),
        ("vip_customer", ticket(customer_tier="vip"), ticket(customer_tier="pro")),
        ("policy_exception", ticket(body="Could you make an exception for us this once?"),
         ticket(body="The app throws an error")),
        ("ai_uncertain_or_missing_knowledge", ticket(kb_public_similarity=0.2),
         ticket(kb_public_similarity=None, model_abstained=None)),
    ],
)  # fmt: skip
def test_each_default_trigger_fires_on_its_case_only(rule_id, positive, negative):
    rules = load_rules()
    rule = next(r for r in rules.rules if r.id == rule_id)
    assert holds(rule.when, positive), rule_id
    assert not holds(rule.when, negative), rule_id
    assert rule_id in decide(rules, positive).triggers


def test_decision_takes_first_queue_and_highest_priority():
    rules = load_rules()
    both = ticket(customer_tier="vip", body="Our lawyer will contact you")
    decision = decide(rules, both)
    assert decision.triggers == ["legal_or_financial_risk", "vip_customer"]
    assert (decision.queue, decision.priority) == ("legal", "urgent")


def raw_rules() -> dict:
    return copy.deepcopy(yaml.safe_load(DEFAULT_RULES.read_text()))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r["rules"][1]["when"].update(field="mood"), "'repeated_failed_attempts': unknown field 'mood'"),
        (lambda r: r["rules"][1]["when"].update(value="two"), "failed_attempts gte: expected int"),
        (lambda r: r["rules"][7]["when"].update(op="gte"), "operator 'gte' does not apply to 'customer_tier'"),
        (lambda r: r["rules"].append(copy.deepcopy(r["rules"][0])), "duplicate rule id 'asks_for_human'"),
        (lambda r: r["rules"][0]["when"].update(op="matches", value="(?=human)"), "lookarounds"),
        (lambda r: r["rules"][0]["when"].update(op="matches", value="(unclosed"), "Python and DuckDB"),
        (lambda r: r["rules"][0]["when"].update(op="matches", value="[[:digit:]]+"), "[:class:]"),
        (lambda r: r["rules"][0]["when"].update(op="matches", value="[[a]b]"), "nested set"),
        (lambda r: r["rules"][0]["when"].update(op="like"), "'asks_for_human'"),
        (lambda r: r["rules"][0]["action"].update(raise_priority="asap"), "'asks_for_human'"),
        (lambda r: r.pop("version"), "version"),
    ],
)  # fmt: skip
def test_bad_rule_files_are_rejected_with_the_rule_and_problem(mutate, message):
    raw = raw_rules()
    mutate(raw)
    with pytest.raises(RuleError, match=re.escape(message)):
        parse_rules(raw, "rules.yaml")


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(RuleError, match="does not exist"):
        load_rules(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [unclosed")
    with pytest.raises(RuleError, match="not valid YAML"):
        load_rules(bad)
    bad.write_text("- just a list")
    with pytest.raises(RuleError, match="expected a mapping"):
        load_rules(bad)


def test_content_hash_ignores_layout_but_not_meaning():
    raw = raw_rules()
    same = parse_rules(yaml.safe_load(yaml.safe_dump(raw, default_flow_style=True)))
    assert same.content_hash == load_rules().content_hash
    raw["rules"][1]["when"]["value"] = 3
    assert parse_rules(raw).content_hash != same.content_hash


def test_every_rule_field_is_a_column_of_the_features_sql(con):
    from supportflow.escalation.evaluate import FEATURES_SQL
    from supportflow.escalation.rules import FIELDS

    cursor = con.execute(FEATURES_SQL, ["2026-01-01", "2026-01-02"])
    columns = [d[0] for d in cursor.description]
    assert set(columns) - {"ticket_id", "created_at"} == set(FIELDS)


CASE_23 = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "cases"
    / "23-rules-valid-in-python-not-in-duckdb"
)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (r"refund\Z", r"\\Z"),  # Python only
        ("a++", "RE2"),  # possessive: RE2 refuses it
        ("(?P<x>a)(?P=x)", "backreferences"),
        ("a{,3}", "{,n}"),  # a repeat in Python, literal text in RE2
        (r"refund\s+now", r"\\s"),  # Unicode whitespace in Python, ASCII in RE2
    ],
)
def test_patterns_the_two_evaluators_read_differently_are_refused(value, why):
    raw = {"version": "v1", "rules": [{"id": "r", "description": "d", "action": {"escalate_to": "q"},
                                       "when": {"field": "subject", "op": "matches", "value": value}}]}  # fmt: skip
    with pytest.raises(RuleError, match=f"rule 'r'.*{why}"):
        parse_rules(raw)


@pytest.mark.parametrize("number", [float("inf"), float("-inf"), float("nan")])
def test_thresholds_must_be_finite(number):
    raw = {"version": "v1", "rules": [{"id": "r", "description": "d", "action": {"escalate_to": "q"},
                                       "when": {"field": "kb_public_similarity", "op": "lte",
                                                "value": number}}]}  # fmt: skip
    with pytest.raises(RuleError, match="finite"):
        parse_rules(raw)


@pytest.mark.skipif(not CASE_23.exists(), reason="../shared/cases/23 is not on this machine")
@pytest.mark.parametrize("name", ["rules_re2.yaml", "rules_inf.yaml"])
def test_case_23_refused_before_any_work_naming_the_rule(name):
    with pytest.raises(RuleError, match=r"rule '\w+': \w+ (matches|lte)"):
        load_rules(CASE_23 / name)


ATOMS = st.sampled_from(["a", "b", "x", " ", ".", "[a-c]", "[^a]", "[0-9]", "(a|b)", "\\.", "ab"])
PATTERNS = st.builds(
    lambda parts, anchor_start, anchor_end: (
        ("^" if anchor_start else "") + "".join(parts) + ("$" if anchor_end else "")
    ),
    st.lists(
        st.tuples(ATOMS, st.sampled_from(["", "*", "+", "?", "{1,2}", "{0,3}"])).map("".join),
        min_size=1,
        max_size=4,
    ),
    st.booleans(),
    st.booleans(),
)
TEXTS = st.text(alphabet="abcxAB .0129\t", max_size=12)


@settings(max_examples=200, deadline=None)
@given(pattern=PATTERNS, texts=st.lists(TEXTS, min_size=1, max_size=5))
def test_python_and_sql_evaluators_agree_on_every_accepted_pattern(pattern, texts):
    """The dialect a rule may use reads the same in both evaluators: for each generated pattern
    the rules accept, Python's ``holds`` and DuckDB's ``regexp_matches`` agree on every text."""
    import duckdb

    from supportflow.escalation.evaluate import holds
    from supportflow.escalation.rules import Comparison

    try:
        cond = Comparison(field="subject", op="matches", value=pattern)
    except ValueError:
        return  # refused: outside the dialect
    with duckdb.connect() as con:
        sql = con.execute(
            "SELECT regexp_matches(t, ?, 'i') FROM unnest(?::VARCHAR[]) AS u(t)",
            [pattern, texts],
        ).fetchall()
    assert [r[0] for r in sql] == [holds(cond, {"subject": t}) for t in texts], pattern
