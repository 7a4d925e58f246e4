"""Precision and recall of the guardrail checks on a labelled set of replies (the test data
``tests/data/guardrails_labelled.yaml``; ``make bench-assist`` reports the figures)."""

from __future__ import annotations

from pathlib import Path

from supportflow.assist.config import GuardrailConfig
from supportflow.assist.guardrails import check_reply
from supportflow.safe_yaml import load_yaml

CHECKS = ("unsupported_promise", "private_data", "over_apology", "missing_next_step",
          "readability", "policy_reminder")  # fmt: skip


def load_cases(path: Path) -> list[dict]:
    raw = load_yaml(Path(path).read_text())
    defaults = raw.get("defaults", {})
    return [{**defaults, "labels": [], **case} for case in raw["cases"]]


def evaluate(cases: list[dict], config: GuardrailConfig) -> dict[str, dict]:
    """Per check: positives, negatives, precision, recall, and the cases it got wrong."""
    found = [
        {f.code for f in check_reply(c["reply"], category=c["category"], sources=c["sources"],
                                     config=config)}
        for c in cases
    ]  # fmt: skip
    out = {}
    for check in CHECKS:
        tp = sum(check in f and check in c["labels"] for c, f in zip(cases, found, strict=True))
        fp = [c["reply"] for c, f in zip(cases, found, strict=True)
              if check in f and check not in c["labels"]]  # fmt: skip
        fn = [c["reply"] for c, f in zip(cases, found, strict=True)
              if check not in f and check in c["labels"]]  # fmt: skip
        positives = sum(check in c["labels"] for c in cases)
        out[check] = {
            "positives": positives,
            "negatives": len(cases) - positives,
            "precision": round(tp / (tp + len(fp)), 4) if tp + len(fp) else 0.0,
            "recall": round(tp / positives, 4) if positives else 0.0,
            "false_positives": fp,
            "false_negatives": fn,
        }
    return out


def planted_incidents(con, seed: int, tickets: int, days: int) -> dict[str, int]:
    """Ticket id → planted incident number, from the demo generator's own plan: outage tickets
    created inside an incident's window (all languages; the generator tags only English ones)."""
    from supportflow.demo.generator import Plan

    plan = Plan.make(seed, tickets, days)
    rows = con.execute(
        "SELECT ticket_id, epoch(created_at) FROM landing.tickets WHERE category = 'outage'"
    ).fetchall()
    truth = {}
    for ticket_id, at in rows:
        for n, inc in enumerate(plan.incidents):
            if inc.start - 1 <= at <= inc.start + inc.hours * 3600 + 1:
                truth[ticket_id] = n
    return truth


def incident_scores(found: list[tuple[str, list[str]]], truth: dict[str, int]) -> dict:
    """``found``: (incident id, linked ticket ids incl. members). An incident is correct when
    most of its tickets belong to one planted incident; a planted incident is recalled when a
    correct incident matches it. Ticket level: linked tickets vs planted incident tickets."""
    matched, correct = set(), 0
    for _, ids in found:
        votes: dict[int, int] = {}
        for i in ids:
            if i in truth:
                votes[truth[i]] = votes.get(truth[i], 0) + 1
        best = max(votes.items(), key=lambda kv: kv[1], default=(None, 0))
        if best[0] is not None and best[1] > len(ids) / 2:
            correct += 1
            matched.add(best[0])
    planted = set(truth.values())
    linked = {i for _, ids in found for i in ids}
    hits = len(linked & truth.keys())
    return {
        "planted_incidents": len(planted),
        "detected_incidents": len(found),
        "incident_precision": round(correct / len(found), 4) if found else 0.0,
        "incident_recall": round(len(matched) / len(planted), 4) if planted else 0.0,
        "ticket_link_precision": round(hits / len(linked), 4) if linked else 0.0,
        "ticket_link_recall": round(hits / len(truth), 4) if truth else 0.0,
    }
