"""Guardrail checks on a labelled set of agent replies (tests/data/guardrails_labelled.yaml,
written in real support phrasing before the checks existed), and their contract: spans point
into the reply, blocking findings mark a draft for rewrite, checksums and sources are honoured."""

from __future__ import annotations

from pathlib import Path

import pytest

from supportflow.assist.config import GuardrailConfig, load_assist_config
from supportflow.assist.guardrails import (
    check_reply,
    internal_grams,
    needs_rewrite,
    private_data,
    reading_ease,
)
from supportflow.assist.labelled import CHECKS, evaluate, load_cases

LABELLED = Path(__file__).resolve().parents[1] / "data" / "guardrails_labelled.yaml"


@pytest.fixture(scope="module")
def scores():
    return evaluate(load_cases(LABELLED), load_assist_config().guardrails)


@pytest.mark.parametrize("check", CHECKS)
def test_each_check_has_enough_cases_and_meets_precision_and_recall(scores, check):
    s = scores[check]
    assert s["positives"] >= 30 and s["negatives"] >= 30
    assert s["precision"] >= 0.9, s["false_positives"]
    assert s["recall"] >= 0.9, s["false_negatives"]


def test_findings_carry_a_code_message_and_a_span_into_the_reply():
    reply = "I guarantee a refund of $900 by Friday. Email me at jo.bloggs@example.com."
    findings = check_reply(
        reply, category="refund", sources="", config=load_assist_config().guardrails
    )
    spans = {f.code: reply[f.start : f.end] for f in findings}
    assert {f.code for f in findings} >= {"unsupported_promise", "private_data", "policy_reminder"}
    assert "jo.bloggs@example.com" in [reply[f.start : f.end] for f in findings]
    assert spans["unsupported_promise"] in ("guarantee", "$900", "by Friday")
    assert needs_rewrite(findings)


def test_sources_support_amounts_and_timeframes():
    reply = "The Team plan is $12 per user. Refunds reach your card within 10 business days."
    sources = "Team plan: $12 per user per month. Refunds take 5 to 10 business days."
    reply += " Reply here if it does not arrive."
    assert check_reply(reply, sources=sources) == []
    assert {f.code for f in check_reply(reply, sources="")} == {"unsupported_promise"}


def test_numbers_that_fail_checksums_and_redaction_tokens_are_not_pii():
    reply = "Your order 4111 1111 1111 1112 is noted; we wrote to [EMAIL]. Please reply if needed."
    assert [f for f in check_reply(reply) if f.code == "private_data"] == []


def test_readability_is_the_flesch_score():
    assert reading_ease("Click Share. Pick view only.") > 60
    hard = (
        "Consequent upon infrastructure modernization, authentication reinitialization "
        "necessitates administrative intervention by organizational administrators."
    )
    assert reading_ease(hard) < 0
    assert [f.code for f in check_reply(hard + " Please ask them.", config=GuardrailConfig())] == [
        "readability"
    ]


def test_a_clean_reply_is_not_held():
    reply = "Thanks! Open the board, click Share and pick View only. Let me know if it works."
    findings = check_reply(reply, sources="Click Share and choose View only.")
    assert findings == [] and not needs_rewrite(findings)


def test_eight_words_copied_from_an_internal_article_are_found_where_they_stand():
    internal = "Escalate refunds above 500 euros to finance before you tell the customer."
    grams = internal_grams([internal])
    reply = "Hello! We escalate refunds above 500 EUROS to finance before you hear back."
    (finding,) = private_data(reply, "", grams)
    assert finding.message == "text copied from an internal-only article"
    copied = reply[finding.start : finding.end]
    assert copied == "escalate refunds above 500 EUROS to finance before"
    seven = "We escalate refunds above 500 euros to finance, then reply."  # a word short
    assert private_data(seven, "", grams) == private_data(seven, "", frozenset()) == []
    assert private_data(reply, "", [internal]) == [finding]  # texts or their grams alike
