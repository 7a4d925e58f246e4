"""One rule definition, two evaluators: compiled to DuckDB SQL for new tickets and backfills
over millions of rows, and interpreted in Python for single tickets (tests, explanations).

Both follow the same semantics: a comparison on a missing value (NULL / None) is false, text
comparisons ignore case, ``contains_any`` on a list matches whole elements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from supportflow.escalation.rules import FIELDS, PRIORITIES, All, AnyOf, Condition, Not, RuleSet

# The features every rule sees, one row per ticket (the SQL evaluator's FROM).
FEATURES_SQL = """
WITH picked AS (
    SELECT * FROM landing.ticket_texts
    WHERE created_at >= CAST(? AS TIMESTAMPTZ) AND created_at < CAST(? AS TIMESTAMPTZ)
), events AS (
    SELECT e.ticket_id,
        count(*) FILTER (WHERE e.kind = 'comment' AND e.author_role = 'customer') AS customer_messages,
        count(*) FILTER (WHERE e.kind = 'comment' AND e.author_role = 'bot') AS bot_replies,
        count(*) FILTER (WHERE e.kind = 'self_service'
                         AND coalesce(e.detail->>'outcome', '') <> 'resolved') AS failed_self_service,
        count(*) FILTER (WHERE e.kind = 'reopen') AS reopens
    FROM landing.ticket_events e SEMI JOIN picked p ON e.ticket_id = p.ticket_id
    GROUP BY e.ticket_id
), latest AS (
    SELECT p.ticket_id, p.field, p.label, p.confidence, p.abstained
    FROM ml.predictions p SEMI JOIN picked t ON p.ticket_id = t.ticket_id
    QUALIFY row_number() OVER (PARTITION BY p.ticket_id, p.field
                               ORDER BY p.scored_at DESC, p.model_version DESC) = 1
), model AS (
    SELECT ticket_id,
        any_value(label) FILTER (WHERE field = 'category') AS predicted_category,
        any_value(label) FILTER (WHERE field = 'priority') AS predicted_priority,
        any_value(label) FILTER (WHERE field = 'sentiment') AS predicted_sentiment,
        any_value(confidence) FILTER (WHERE field = 'sentiment') AS sentiment_confidence,
        bool_or(abstained) AS model_abstained
    FROM latest GROUP BY ticket_id
), knowledge AS (
    SELECT s.ticket_id, max(s.similarity) FILTER (WHERE s.audience = 'public') AS kb_public_similarity
    FROM ml.article_suggestions s SEMI JOIN picked t ON s.ticket_id = t.ticket_id
    GROUP BY s.ticket_id
)
SELECT t.ticket_id, t.created_at, t.channel, t.customer_tier, t.language, t.priority,
    t.category, t.queue, t.status, coalesce(t.tags, []) AS tags,
    coalesce(t.subject, '') AS subject, coalesce(t.body, '') AS body,
    t.ticket_text AS text,
    coalesce(e.customer_messages, 0) AS customer_messages,
    coalesce(e.bot_replies, 0) AS bot_replies,
    coalesce(e.failed_self_service, 0) AS failed_self_service,
    coalesce(e.failed_self_service, 0) + coalesce(e.bot_replies, 0) AS failed_attempts,
    coalesce(e.reopens, 0) AS reopens,
    m.predicted_category, m.predicted_priority, m.predicted_sentiment, m.sentiment_confidence,
    m.model_abstained, k.kb_public_similarity
FROM picked t
LEFT JOIN events e USING (ticket_id)
LEFT JOIN model m USING (ticket_id)
LEFT JOIN knowledge k USING (ticket_id)
"""


# --- SQL ------------------------------------------------------------------------------------


def literal(value) -> str:
    """A SQL literal from a validated rule value (str, int, float, bool only)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def to_sql(cond: Condition) -> str:
    """A boolean SQL expression over the feature columns; never NULL."""
    if isinstance(cond, All):
        return "(" + " AND ".join(to_sql(c) for c in cond.all) + ")"
    if isinstance(cond, AnyOf):
        return "(" + " OR ".join(to_sql(c) for c in cond.any) + ")"
    if isinstance(cond, Not):
        return f"(NOT {to_sql(cond.not_)})"
    col, op, v = cond.field, cond.op, cond.value
    if op == "eq":
        expr = f"{col} = {literal(v)}"
    elif op == "in":
        expr = f"{col} IN ({', '.join(literal(x) for x in v)})"
    elif op == "gte":
        expr = f"{col} >= {literal(v)}"
    elif op == "lte":
        expr = f"{col} <= {literal(v)}"
    elif op == "matches":
        expr = f"regexp_matches({col}, {literal(v)}, 'i')"
    elif FIELDS[col] == "list":
        wanted = ", ".join(literal(str(x).lower()) for x in v)
        expr = f"list_has_any(list_transform({col}, lambda x: lower(x)), [{wanted}])"
    else:
        expr = " OR ".join(f"contains(lower({col}), {literal(str(x).lower())})" for x in v)
    return f"coalesce(({expr}), false)"


def decisions_sql(rules: RuleSet) -> str:
    """SELECT over FEATURES_SQL: ticket_id, created_at, escalate, triggers, queue, priority."""
    fired = [(r, to_sql(r.when)) for r in rules.rules]
    triggers = ", ".join(f"CASE WHEN {sql} THEN {literal(r.id)} END" for r, sql in fired)
    queue = " ".join(f"WHEN {sql} THEN {literal(r.action.escalate_to)}" for r, sql in fired)
    ranks = [
        f"CASE WHEN {sql} THEN {PRIORITIES.index(r.action.raise_priority) + 1} ELSE 0 END"
        for r, sql in fired
        if r.action.raise_priority
    ]
    level = f"greatest({', '.join(ranks)})" if ranks else "0"
    names = " ".join(f"WHEN {n + 1} THEN {literal(p)}" for n, p in enumerate(PRIORITIES))
    return f"""
    WITH features AS ({FEATURES_SQL}),
    fired AS (
        SELECT ticket_id, created_at,
            list_filter([{triggers}], lambda x: x IS NOT NULL) AS triggers,
            CASE {queue} END AS queue,
            {level} AS level
        FROM features
    )
    SELECT ticket_id, created_at, len(triggers) > 0 AS escalate, triggers, queue,
        CASE level {names} END AS priority
    FROM fired
    """


# --- Python ---------------------------------------------------------------------------------


def holds(cond: Condition, ticket: dict) -> bool:
    """The same condition on one ticket's features (a dict with the FEATURES_SQL columns)."""
    if isinstance(cond, All):
        return all(holds(c, ticket) for c in cond.all)
    if isinstance(cond, AnyOf):
        return any(holds(c, ticket) for c in cond.any)
    if isinstance(cond, Not):
        return not holds(cond.not_, ticket)
    x, op, v = ticket.get(cond.field), cond.op, cond.value
    if x is None:
        return False
    if op == "eq":
        return x == v
    if op == "in":
        return x in v
    if op == "gte":
        return x >= v
    if op == "lte":
        return x <= v
    if op == "matches":
        return re.search(v, x, re.IGNORECASE) is not None
    if isinstance(x, list):
        wanted = {str(p).lower() for p in v}
        return any(str(item).lower() in wanted for item in x)
    low = x.lower()
    return any(str(p).lower() in low for p in v)


@dataclass(frozen=True)
class Decision:
    escalate: bool
    triggers: list[str]
    queue: str | None
    priority: str | None


def decide(rules: RuleSet, ticket: dict) -> Decision:
    """Which rules fire on one ticket, and the resulting queue and priority."""
    fired = [r for r in rules.rules if holds(r.when, ticket)]
    raised = [PRIORITIES.index(r.action.raise_priority) for r in fired if r.action.raise_priority]
    return Decision(
        escalate=bool(fired),
        triggers=[r.id for r in fired],
        queue=fired[0].action.escalate_to if fired else None,
        priority=PRIORITIES[max(raised)] if raised else None,
    )
