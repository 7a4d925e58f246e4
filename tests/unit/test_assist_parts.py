"""The pure parts of agent assist: macro libraries (YAML and Zendesk JSON), drafts, summaries,
missing-information prompts, and the optional generator against a real local HTTP server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from supportflow.assist.config import GeneratorConfig, RequiredField, load_assist_config
from supportflow.assist.drafts import HOLDING_LINE, compose
from supportflow.assist.generator import Generator, GeneratorError
from supportflow.assist.macros import CANNOT_RENDER, MacroLibraryError, html_to_text, load_macros
from supportflow.assist.missing_info import missing_fields, request_line
from supportflow.assist.summary import summarise
from supportflow.knowledge.search import Hit

HIT = Hit(1, "kb-1", "kb-1#0", "Sharing boards", "https://help.example/kb-1", None, "public",
          "published", "Sharing boards\nClick Share and choose View only.", 0.1, 0.8)  # fmt: skip


def test_the_shipped_macro_library_loads_and_covers_every_demo_category():
    from supportflow.demo.catalog import CATEGORIES

    library = load_macros(load_assist_config().macros)
    assert library.problems == []
    assert all(library.pick(c.name) is not None for c in CATEGORIES)
    assert library.pick("something_new").id == "generic"


def test_bad_macros_are_reported_per_item_and_bad_files_fail_whole(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        "macros:\n"
        "  - {id: ok, categories: [refund], body: 'Hi {{customer_name}}, {{article_steps}}'}\n"
        "  - {id: typo, categories: [refund], body: 'Hi {{custmer_name}}'}\n"
        "  - {id: empty, categories: [refund], body: ''}\n"
    )
    library = load_macros(path)
    assert [m.id for m in library.macros] == ["ok"]
    assert any("typo" in p and "custmer_name" in p for p in library.problems)
    assert any("empty" in p for p in library.problems)
    path.write_text("macros:\n  - {id: broken, body: 'unclosed\n")
    with pytest.raises(MacroLibraryError, match=r"m\.yaml: not valid YAML"):
        load_macros(path)
    with pytest.raises(MacroLibraryError, match="does not exist"):
        load_macros(tmp_path / "missing.yaml")


def test_zendesk_macro_exports_map_their_placeholders(tmp_path):
    path = tmp_path / "macros.json"
    path.write_text(json.dumps({"macros": [{
        "id": 360001, "title": "Billing::Refund approved",
        "actions": [{"field": "comment_value",
                     "value": "Hi {{ticket.requester.first_name}}, about #{{ticket.id}}: done."},
                    {"field": "set_tags", "value": "refund"}],
    }]}))  # fmt: skip
    macro = load_macros(path).pick("refund")
    assert macro.categories == ("refund", "billing")
    text = macro.fill({"customer_name": "Ana", "ticket_id": "zendesk:7"})
    assert text == "Hi Ana, about #zendesk:7: done."


def test_drafts_cite_the_passage_used_or_hold_without_one():
    library = load_macros(load_assist_config().macros)
    ticket = {"ticket_id": "t1", "subject": "Share", "category": "how_to"}
    draft = compose(ticket, HIT, library.pick("how_to"), "")
    assert (
        "Click Share and choose View only." in draft.text and "Sharing boards\n" not in draft.text
    )
    assert draft.citations[0]["article_id"] == "kb-1" and "{{" not in draft.text
    held = compose(ticket, None, library.pick("refund"), "Could you send the invoice number?")
    assert HOLDING_LINE in held.text and held.citations == []
    assert "Could you send the invoice number?" in held.text and "()" not in held.text


def test_summary_picks_problem_attempts_state_open_questions_and_history():
    at = datetime(2026, 11, 1, tzinfo=UTC)
    ticket = {"subject": "Export", "status": "open", "body": "Hi team, The PDF export is empty. "
              "I already cleared the cache. Thanks"}  # fmt: skip
    events = [
        {"author_role": "customer", "kind": "comment", "public": True, "body": ticket["body"]},
        {"author_role": "agent", "kind": "comment", "public": True, "body": "Which browser?"},
        {"author_role": "customer", "kind": "comment", "public": True,
         "body": "Chrome. I tried Firefox too. When will this be fixed?"},
    ]  # fmt: skip
    history = [{"created_at": at, "category": "bug_report", "subject": "Lag", "status": "solved"}]
    s = summarise(ticket, events, history)
    assert s.problem.startswith("The PDF export is empty.")
    assert s.tried == ["I tried Firefox too."]
    assert s.open_questions == ["When will this be fixed?"]
    assert s.state == "open; last public message from the customer (waiting on us)"
    assert s.history == ["2026-11-01 bug_report: Lag (solved)"]


def test_missing_fields_are_asked_for_by_category():
    required = {"bug_report": [
        RequiredField(name="app_version", prompt="the app version", pattern=r"\d+\.\d+"),
        RequiredField(name="device", prompt="the browser", pattern=r"chrome|firefox"),
    ]}  # fmt: skip
    missing = missing_fields("bug_report", "Export broken since 4.2 on my laptop", required)
    assert [f.name for f in missing] == ["device"]
    assert request_line(missing) == "To help me look into this, could you send me the browser?"
    assert missing_fields("how_to", "anything", required) == []


def test_the_generator_talks_to_an_openai_compatible_server(httpserver):
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_json(
        {"choices": [{"message": {"role": "assistant", "content": " Rewritten reply. "}}]}
    )
    gen = Generator(GeneratorConfig(url=httpserver.url_for("/v1"), model="tiny"))
    assert gen.rewrite("draft", "ticket", "sources") == "Rewritten reply."
    sent = json.loads(httpserver.log[0][0].data)
    assert sent["model"] == "tiny" and "draft" in sent["messages"][1]["content"]


def test_a_broken_generator_raises_a_clear_error(httpserver):
    httpserver.expect_request("/v1/chat/completions").respond_with_data("oops", status=500)
    gen = Generator(GeneratorConfig(url=httpserver.url_for("/v1"), timeout_s=5))
    with pytest.raises(GeneratorError, match=r"generator at .* failed"):
        gen.rewrite("draft", "ticket", "sources")


CASES = Path(__file__).resolve().parents[1] / "data"
VALUES = {"customer_name": "Dana", "agent_name": "Sam", "ticket_id": "zendesk:7",
          "subject": "Copy of my invoice", "article_steps": "", "missing_info": ""}  # fmt: skip


def test_case_11_rich_text_macro_is_used_and_the_retired_one_is_not():
    """Case 11: the live macro has only comment_value_html; the old one is inactive."""
    library = load_macros(CASES / "cases" / "11" / "macros.json")
    assert [m.id for m in library.macros] == ["360202", "360203"]
    assert "macro 360201: inactive (active: false), not used for drafts" in library.problems
    (liquid,) = [p for p in library.problems if p.startswith("macro 360204")]
    assert CANNOT_RENDER in liquid and "ticket.requester.language" in liquid
    assert "ticket.assignee.first_name" in liquid  # unknown placeholders still reported
    refund = library.pick("billing")
    assert refund.id == "360202"
    assert refund.fill(VALUES) == "Hi Dana,\n\nRefunds are possible within 14 days of purchase."
    login = library.pick("login")  # the ["channel:all", text] form
    assert login.fill(VALUES) == (
        "Hi Dana, please sign out of your identity provider and try again. Ticket zendesk:7."
    )
    assert all("{%" not in m.fill(VALUES) and "{{" not in m.fill(VALUES) for m in library.macros)


def test_case_11_liquid_on_an_unknown_variable_is_reported_not_drafted():
    library = load_macros(CASES / "cases" / "11" / "macros_liquid_only.json")
    assert library.macros == []
    (problem,) = library.problems
    assert problem.startswith(f"macro 360205: {CANNOT_RENDER}")


def test_zendesk_rich_text_macros_render_html_and_simple_liquid():
    """A page written from the Zendesk Macros API and Actions reference (tests/data/)."""
    library = load_macros(CASES / "zendesk_macros" / "macros_rich_text.json")
    assert [m.id for m in library.macros] == ["9100001", "9100004"]
    problems = "\n".join(library.problems)
    assert "macro 9100002: inactive" in problems
    assert f"macro 9100003: {CANNOT_RENDER}: {{% for %}}" in problems
    invoice = library.pick("invoice")
    assert invoice.categories == ("invoice", "billing_copy", "invoices")
    tail = "\n\n- Open Settings → Billing\n- Pick the month & click Download\n\nSam"
    head = "Hello Dana,\nthanks for writing in.\n\n"
    assert invoice.fill(VALUES) == head + "Here is how to get a copy:" + tail
    asked = VALUES | {"missing_info": "Could you send the invoice number?"}
    assert invoice.fill(asked) == head + "Could you send the invoice number?" + tail
    vat = VALUES | {"subject": "VAT missing on invoice", "missing_info": "ignored"}
    assert invoice.fill(vat) == head + "Every invoice lists VAT on its own line." + tail
    still = library.pick("status")  # a Liquid filter on a mapped placeholder
    assert still.fill(VALUES | {"customer_name": "dana"}) == (
        "Hi Dana, we are still looking into #zendesk:7."
    )


def test_yaml_macros_with_liquid_and_inactive_flag(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        "macros:\n"
        "  - id: cond\n    categories: [refund]\n    body: |\n"
        "      Hi {{customer_name}},\n"
        "      {% if missing_info != '' %}\n      {{missing_info}}\n      {% endif %}\n"
        "      See {{article_url}}.\n"
        "  - {id: old, categories: [refund], active: false, body: 'Hi {{customer_name}}'}\n"
        "  - {id: assign, categories: [x], body: '{% assign n = 1 %}Hi {{customer_name}}'}\n"
        "  - {id: raw, categories: [x], body: '{% raw %}{% if %}{% endraw %}'}\n"
        "  - {id: broken, categories: [x], body: '{% if customer_name %}Hi'}\n"
        "  - {id: same_line, categories: [x],"
        "     body: '{% if customer_name %}{{article_url}}{% endif %}'}\n"
    )  # fmt: skip
    library = load_macros(path)
    assert [m.id for m in library.macros] == ["cond"]
    reasons = {p.split(":")[0]: p for p in library.problems}
    assert "inactive" in reasons["macro old"]
    for macro_id in ("assign", "raw", "broken", "same_line"):
        assert CANNOT_RENDER in reasons[f"macro {macro_id}"], macro_id
    cond = library.macros[0]
    assert cond.fill({"customer_name": "Ana", "article_url": "u"}) == "Hi Ana,\n\nSee u."
    asked = cond.fill({"customer_name": "Ana", "missing_info": "Which browser?"})
    assert asked == "Hi Ana,\n\nWhich browser?\n\nSee ."
    # drafts drop the article lines when nothing is cited: the conditional still renders
    held = compose({"ticket_id": "t1", "customer_name": "Ana"}, None, cond, "Which browser?")
    assert held.text == "Hi Ana,\n\nWhich browser?" and "{%" not in held.text


def test_html_to_text_keeps_paragraphs_breaks_and_entities():
    html = "<p>Hi&nbsp;there,</p><p>Line one<br/>line two &amp; more</p><script>x()</script>"
    assert html_to_text(html) == "Hi there,\n\nLine one\nline two & more"


def test_the_generator_key_is_a_header_and_never_printed(httpserver):
    """The key comes from SUPPORTFLOW_GENERATOR_API_KEY (Settings), sent as a bearer token; an
    endpoint URL with credentials or a key in its query is never shown in a message."""
    httpserver.expect_request("/v1/chat/completions").respond_with_data("oops", status=500)
    gen = Generator(GeneratorConfig(url=httpserver.url_for("/v1"), timeout_s=5), api_key="sk-1")
    with pytest.raises(GeneratorError) as caught:
        gen.rewrite("draft", "ticket", "sources")
    assert httpserver.log[0][0].headers["Authorization"] == "Bearer sk-1"
    assert "sk-1" not in str(caught.value)
    leaky = httpserver.url_for("/v1").replace("http://", "http://user:s3cret@") + "?key=s3cret"
    with pytest.raises(GeneratorError) as caught:
        Generator(GeneratorConfig(url=leaky, timeout_s=5)).rewrite("draft", "ticket", "sources")
    assert "s3cret" not in str(caught.value) and "generator at http://" in str(caught.value)


def test_related_tickets_rank_by_similarity_then_time_within_the_window():
    import numpy as np

    from supportflow.assist.config import RelatedConfig
    from supportflow.assist.related import DAY, Tickets, related_tickets

    def unit(*v):
        x = np.array(v, dtype=np.float32)
        return x / np.linalg.norm(x)

    same, close, other = unit(1, 0, 0), unit(0.9, 0.3, 0), unit(0, 0, 1)
    rows = [  # id, day, customer, status, vector
        ("t1", 0, "c1", "solved", same), ("t2", 1, "c2", "open", same),
        ("t3", 2, "c3", "open", close), ("t4", 3, "c1", "open", same),
        ("t5", 4, "c4", "open", other), ("t6", 30, "c5", "open", same),
        ("t7", 5, "c6", "open", same),
    ]  # fmt: skip
    rows.sort(key=lambda r: r[1])
    t = Tickets(
        ids=[r[0] for r in rows], times=np.array([r[1] * DAY for r in rows], dtype=np.float64),
        customers=[r[2] for r in rows], statuses=[r[3] for r in rows],
        subjects=[None] * len(rows), vectors=np.stack([r[4] for r in rows]),
    )  # fmt: skip
    config = RelatedConfig(window_days=14, max_related=2)
    found = related_tickets(t, {"t4", "t5"}, config)
    assert set(found) == {"t4", "t5"}
    assert [d for d, _ in found["t4"].duplicates] == ["t1"]  # same customer, near-identical
    # equal scores in time order, cut at max_related; t6 is outside the window, t3 scores less
    assert [r for r, _ in found["t4"].related_open] == ["t2", "t7"]
    assert found["t5"].duplicates == found["t5"].related_open == []
    wide = related_tickets(t, {"t4"}, RelatedConfig(window_days=14, max_related=5))
    assert [r for r, _ in wide["t4"].related_open] == ["t2", "t7", "t3"]


def _clustered_tickets():
    """1,500 tickets over 20 days in 6 topics, with a planted burst of topic 0 on day 15, and an
    incident config that finds it."""
    import numpy as np

    from supportflow.assist.config import IncidentConfig
    from supportflow.assist.related import DAY, HOUR, Tickets

    rng = np.random.default_rng(3)
    topics = rng.normal(size=(6, 16))
    n = 1500
    times = np.sort(rng.uniform(0, 20 * DAY, n))
    topic = rng.integers(0, 6, n)
    burst = (times > 15 * DAY) & (times < 15 * DAY + 2 * HOUR) & (rng.random(n) < 0.9)
    topic[burst] = 0
    vectors = topics[topic] + 0.35 * rng.normal(size=(n, 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    t = Tickets([str(i) for i in range(n)], times, [None] * n, [None] * n, [None] * n,
                vectors.astype(np.float32))  # fmt: skip
    return t, IncidentConfig(similarity=0.8, min_tickets=4, burst_factor=3.0)


def test_burst_rows_finds_exactly_the_tickets_the_definition_names():
    """``burst_rows`` prunes before comparing with the baseline; a brute-force reading of the
    definition (module docstring of supportflow/assist/related.py) over every pair must agree,
    on clustered random tickets with a planted burst."""
    import numpy as np

    from supportflow.assist.related import DAY, HOUR, burst_rows

    t, config = _clustered_tickets()
    n, times = len(t), t.times
    w, span = config.window_hours * HOUR, config.baseline_days * DAY
    close = t.vectors @ t.vectors.T >= config.similarity
    expected = []
    for i in range(n):
        dt = times - times[i]
        local = np.count_nonzero(close[i] & (np.abs(dt) <= w))
        history = min(span, times[i] - w - times[0])
        before = np.count_nonzero(close[i] & (dt < -w) & (dt >= -span))
        if (
            local >= config.min_tickets
            and history >= DAY
            and local >= config.burst_factor * max(before * 2 * w / history, 1.0)
        ):
            expected.append(i)
    found = burst_rows(t, config).tolist()
    assert found == expected and len(found) >= 4


def test_a_changed_day_moves_seeds_only_on_the_days_it_reaches():
    """Incremental incident detection: after the tickets of one day change (here: removed),
    the seeds outside ``reached_days`` of it stay as they were, and recomputing only the
    reached days (``burst_rows(only=…)``) plus the kept seeds gives exactly a full recompute."""
    import numpy as np

    from supportflow.assist.related import Tickets, burst_rows, day_of, reached_days

    t, config = _clustered_tickets()
    before = {t.ids[r] for r in burst_rows(t, config)}
    moved = 0
    for gone in (3, 9, 12, 15):
        keep = day_of(t.times) != gone
        after_t = Tickets([i for i, k in zip(t.ids, keep, strict=True) if k], t.times[keep],
                          [None] * int(keep.sum()), [None] * int(keep.sum()),
                          [None] * int(keep.sum()), t.vectors[keep])  # fmt: skip
        reached = reached_days({gone}, config)
        days = day_of(after_t.times)
        full = {after_t.ids[r] for r in burst_rows(after_t, config)}
        only = np.isin(days, sorted(reached))
        redone = {after_t.ids[r] for r in burst_rows(after_t, config, only)}
        day = dict(zip(t.ids, day_of(t.times).tolist(), strict=True))
        kept = {i for i in before if day[i] not in reached}
        assert {i for i in full if day[i] not in reached} == kept
        assert redone | kept == full
        moved += len(full ^ before) > 0
    assert moved >= 2  # the changes did move seeds (the burst day and its baseline)
    assert reached_days({10}, config) == set(range(9, 18))  # 3 h back, 7 days ahead


def test_seed_pairs_in_blocks_are_the_dense_pairs():
    """``seed_pairs`` compares blocks of seeds only with the seeds within reach after them; on
    the clustered tickets (every 3rd ticket a seed) it finds exactly the pairs of the dense
    seeds × seeds reading, whatever the block size."""
    import numpy as np

    from supportflow.assist.related import HOUR, seed_pairs

    t, config = _clustered_tickets()
    seeds = np.arange(0, len(t), 3)
    v, times = t.vectors[seeds], t.times[seeds]
    dense = (v @ v.T >= config.similarity) & (
        np.abs(times[:, None] - times[None, :]) <= 2 * config.window_hours * HOUR
    )
    expected = np.argwhere(np.triu(dense, 1)).tolist()
    for block in (1, 7, 64, 5000):
        assert sorted(seed_pairs(t, seeds, config, block).tolist()) == expected
    assert len(expected) > 100
