"""Escalation end to end on real DuckDB, Prefect and dbt: the SQL and Python evaluators agree,
backfills are idempotent and resume after a crash, dry runs write nothing, the mart builds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.backfill_escalations import BackfillParams, backfill_escalations
from flows.build_metrics import build_metrics
from flows.ingest_tickets import IngestParams, ingest_tickets
from supportflow.escalation.backfill import BackfillError, apply_to_new, backfill, dry_run
from supportflow.escalation.evaluate import FEATURES_SQL, decide, decisions_sql
from supportflow.escalation.rules import FIELDS, RuleError, load_rules, parse_rules
from supportflow.settings import Settings
from supportflow.warehouse import apply_migrations, connect
from tests.flows.conftest import own_home

pytestmark = pytest.mark.slow
RULES = load_rules()
PHRASES = ["real person", "chargeback", "make an exception", "production is down", "dispute",
           "unacceptable", "Ich möchte mit einem Menschen sprechen", "hello", "board", "ÉCHEC"]  # fmt: skip


def features(con, lo: str, hi: str) -> list[dict]:
    cur = con.execute(f"SELECT * FROM ({FEATURES_SQL})", [lo, hi])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


# --- the two evaluators agree ----------------------------------------------------------------

tickets = st.lists(
    st.fixed_dictionaries(
        {
            "subject": st.sampled_from(["", "Help", "URGENT", "Refund"]),
            "body": st.lists(st.sampled_from(PHRASES), max_size=4).map(" ".join),
            "customer_tier": st.sampled_from([None, "free", "pro", "enterprise", "vip"]),
            "category": st.sampled_from([None, "account_access", "billing_dispute", "how_to"]),
            "priority": st.sampled_from([None, "normal", "urgent"]),
            "tags": st.lists(st.sampled_from(["vip", "incident", "Legal"]), max_size=2),
        }
    ),
    min_size=1,
    max_size=25,
)
leaf = st.one_of(
    st.builds(lambda v: {"field": "text", "op": "contains_any", "value": v},
              st.lists(st.sampled_from(["real", "DOWN", "é", "board"]), min_size=1, max_size=2)),
    st.builds(lambda v: {"field": "customer_tier", "op": "in", "value": v},
              st.lists(st.sampled_from(["pro", "vip"]), min_size=1, max_size=2)),
    st.builds(lambda v: {"field": "tags", "op": "contains_any", "value": v},
              st.lists(st.sampled_from(["legal", "VIP"]), min_size=1, max_size=2)),
    st.builds(lambda v: {"field": "priority", "op": "eq", "value": v}, st.sampled_from(["urgent", "normal"])),
    st.builds(lambda v: {"field": "text", "op": "matches", "value": v},
              st.sampled_from(["^urgent", "is (down|up)", "[0-9]+", "sprechen$"])),
)  # fmt: skip
conditions = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.builds(lambda c: {"all": c}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"any": c}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, inner),
    ),
    max_leaves=6,
)


def scratch(rows: list[dict]):
    con = duckdb.connect()
    apply_migrations(con)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    for n, r in enumerate(rows):
        con.execute(
            "INSERT INTO landing.tickets (ticket_id, source, external_id, created_at, updated_at,"
            " customer_tier, subject, body, priority, category, tags, content_hash, batch_id)"
            " VALUES (?, 'x', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'h', 'b')",
            [f"x:{n}", str(n), at, at, r["customer_tier"], r["subject"], r["body"],
             r["priority"], r["category"], r["tags"]],
        )  # fmt: skip
    return con


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=tickets, cond=conditions)
def test_sql_and_python_evaluators_agree(rows, cond):
    rules = parse_rules(
        {"version": "p", "rules": [
            {"id": "generated", "description": "random", "when": cond,
             "action": {"escalate_to": "q", "raise_priority": "high"}},
            *[r.model_dump(mode="json", by_alias=True) for r in RULES.rules],
        ]}
    )  # fmt: skip
    con = scratch(rows)
    bounds = ["2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"]
    sql = {
        t: (e, list(trig), q, p)
        for t, _, e, trig, q, p in con.execute(decisions_sql(rules), bounds).fetchall()
    }
    for feature_row in features(con, *bounds):
        d = decide(rules, feature_row)
        assert sql[feature_row["ticket_id"]] == (d.escalate, d.triggers, d.queue, d.priority)
    con.close()


def test_every_rule_field_has_a_feature_column():
    con = scratch([])
    cur = con.execute(f"SELECT * FROM ({FEATURES_SQL}) LIMIT 0", ["2026-01-01", "2026-01-02"])
    assert set(FIELDS) <= {d[0] for d in cur.description}


# --- backfill on the demo tickets ------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory, demo_export):
    root = tmp_path_factory.mktemp("escalation")
    with own_home(root):
        ingest_tickets(IngestParams(paths=[demo_export / "zendesk"]))
        with connect(Settings()) as con:
            lo, hi = con.execute(
                "SELECT min(created_at)::DATE, max(created_at)::DATE FROM landing.tickets"
            ).fetchall()[0]
        yield {"root": root, "since": lo, "until": hi}


@pytest.fixture
def here(world, monkeypatch):
    monkeypatch.setenv("SUPPORTFLOW_HOME", str(world["root"] / "home"))
    monkeypatch.setenv("SUPPORTFLOW_PII_SALT", "test-salt")
    return world


def decisions(con, version: str) -> dict:
    rows = con.execute(
        "SELECT ticket_id, escalate, triggers FROM ops.escalation_decisions WHERE rules_version = ?",
        [version],
    ).fetchall()
    return {t: (e, list(trig)) for t, e, trig in rows}


def test_backfill_resumes_after_a_crash_and_reruns_change_nothing(demo_live, here):
    since, until = here["since"], here["until"]

    class Crash(RuntimeError):
        pass

    def crash_after_the_first_transaction(done, total):
        raise Crash

    with connect(Settings()) as con:
        with pytest.raises(Crash):  # 3 days per transaction: the first three are committed
            backfill(con, RULES, since, until, on_progress=crash_after_the_first_transaction,
                     days_per_transaction=3)  # fmt: skip
        partial = con.execute("SELECT count(*) FROM ops.escalation_partitions").fetchall()[0][0]
        assert partial == 3
        resumed = backfill(con, RULES, since, until)
        assert resumed.days_skipped == 3 and resumed.days_done == resumed.days - 3
        first = decisions(con, RULES.version)
        again = backfill(con, RULES, since, until)
        assert again.days_done == 0 and again.days_skipped == again.days
        total, distinct = con.execute(
            "SELECT count(*), count(DISTINCT ticket_id) FROM ops.escalation_decisions"
        ).fetchall()[0]
        feats = features(con, f"{since}T00:00:00Z", f"{until + timedelta(days=1)}T00:00:00Z")
        assert apply_to_new(con, RULES) == 0  # every ticket already has a decision
    assert total == distinct == len(first) == demo_live
    assert decisions_equal_python(first, feats)


def decisions_equal_python(stored: dict, feats: list[dict]) -> bool:
    decisions = {f["ticket_id"]: decide(RULES, f) for f in feats}
    return all(stored[t] == (d.escalate, d.triggers) for t, d in decisions.items())


def test_dry_run_counts_changes_and_writes_nothing(demo_live, here):
    since, until = here["since"], here["until"]
    raw = RULES.model_dump(mode="json", by_alias=True)
    raw["version"] = "candidate"
    raw["rules"] = [r for r in raw["rules"] if r["id"] != "vip_customer"]
    candidate = parse_rules(raw)
    with connect(Settings()) as con:
        backfill(con, RULES, since, until)
        before = con.execute("SELECT count(*) FROM ops.escalation_decisions").fetchall()[0][0]
        vip_only = con.execute(
            "SELECT count(*) FROM ops.escalation_decisions WHERE triggers = ['vip_customer']"
        ).fetchall()[0][0]
        vip_any = con.execute(
            "SELECT count(*) FROM ops.escalation_decisions WHERE list_contains(triggers, 'vip_customer')"
        ).fetchall()[0][0]
        diff = dry_run(con, candidate, since, until)
        after = con.execute("SELECT count(*) FROM ops.escalation_decisions").fetchall()[0][0]
        versions = con.execute(
            "SELECT count(*) FROM ops.escalation_rule_versions WHERE rules_version = 'candidate'"
        ).fetchall()[0][0]
    assert diff.against == RULES.version and diff.tickets == demo_live
    assert (diff.newly_escalated, diff.no_longer_escalated) == (0, vip_only)
    assert diff.by_rule == {"vip_customer": (0, vip_any)}
    assert before == after and versions == 0


def test_bad_input_fails_before_any_write(here, tmp_path):
    bad = tmp_path / "rules.yaml"
    bad.write_text("version: x\nrules:\n  - {id: a, description: d, when: {field: mood, op: eq, "
                   "value: 1}, action: {escalate_to: q}}\n")  # fmt: skip
    with connect(Settings()) as con:
        count = con.execute("SELECT count(*) FROM ops.escalation_partitions").fetchall()[0][0]
    with pytest.raises(RuleError, match="unknown field 'mood'"):
        backfill_escalations(BackfillParams(rules=bad, since=here["since"], until=here["until"]))
    with pytest.raises(BackfillError, match="is before --since"):
        backfill_escalations(BackfillParams(since=date(2026, 5, 2), until=date(2026, 5, 1)))
    changed = RULES.model_dump(mode="json", by_alias=True)
    changed["rules"] = changed["rules"][:3]  # same version, different rules
    with connect(Settings()) as con:
        with pytest.raises(RuleError, match="already registered with different rules"):
            backfill(con, parse_rules(changed), here["since"], here["until"])
        with pytest.raises(BackfillError, match="no tickets were created"):
            backfill(con, parse_rules({**changed, "version": "empty"}), date(2001, 1, 1),
                     date(2001, 1, 2))  # fmt: skip
        assert (
            con.execute("SELECT count(*) FROM ops.escalation_partitions").fetchall()[0][0] == count
        )


def test_accuracy_mart_scores_each_rule_against_human_escalations(demo_live, here):
    with connect(Settings()) as con:
        backfill(con, RULES, here["since"], here["until"])
        humans = con.execute(
            "SELECT count(DISTINCT ticket_id) FROM landing.ticket_events WHERE kind = 'escalate'"
        ).fetchall()[0][0]
    build_metrics()
    with connect(Settings()) as con:  # read-write, as dbt opened it in this process
        rows = con.execute(
            "SELECT rule_id, tickets_evaluated, tickets_human_escalated, escalation_precision,"
            " escalation_recall FROM marts.fct_escalation_accuracy WHERE rules_version = ?",
            [RULES.version],
        ).fetchall()
    by_rule = {r[0]: r[1:] for r in rows}
    assert set(by_rule) == {r.id for r in RULES.rules} | {"any_rule"}
    assert all(n == demo_live and h == humans for n, h, _, _ in by_rule.values())
    assert humans > 0 and 0 < by_rule["any_rule"][3] <= 1
