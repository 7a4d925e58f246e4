"""The support metrics marts on the generated export, checked against the same figures computed
independently in Python from the raw Zendesk JSON (real ingest, real dbt)."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timedelta

import pytest

from flows.build_metrics import build_metrics
from flows.ingest_tickets import IngestParams, ingest_tickets
from supportflow.report.browser import find_chromium, headless_args, screenshot
from supportflow.settings import Settings
from supportflow.warehouse import connect
from tests.flows.conftest import own_home

pytestmark = pytest.mark.slow


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def expected(folder) -> dict[str, dict]:
    """Per ticket, from the export itself: first public agent reply, reopens, escalation, FCR
    (solved by an agent, no customer message after the first agent reply, never reopened).
    Roles come from the users file, as a data engineer would join them; deleted tickets are
    not expected at all."""
    users = json.loads((folder / "users.json").read_text())["users"]
    agents = {u["id"] for u in users if u["role"] in ("agent", "admin")}
    out = {}
    for line in (folder / "tickets.json").read_text().splitlines():
        t = json.loads(line)
        if t["status"] == "deleted":
            continue
        replies = sorted(ts(c["created_at"]) for c in t["comments"]
                         if c["author_id"] in agents and c["public"])  # fmt: skip
        events = [(a, e) for a in t["audits"] for e in a["events"]]
        reopens = sum(
            1 for _, e in events
            if e.get("field_name") == "status" and e.get("previous_value") in ("solved", "closed")
            and e.get("value") not in ("solved", "closed")
        )  # fmt: skip
        solved = t["status"] in ("solved", "closed")
        followups = [c for c in t["comments"] if c["author_id"] == t["requester_id"]
                     and replies and ts(c["created_at"]) > replies[0]]  # fmt: skip
        out[f"zendesk:{t['id']}"] = {
            "first_reply_at": replies[0] if replies else None,
            "reopen_count": reopens,
            "is_escalated": any(
                e.get("field_name") == "tags"
                and "escalated" in (e.get("value") or [])
                and "escalated" not in (e.get("previous_value") or [])
                for _, e in events
            ),
            "is_fcr": solved and bool(replies) and not followups and reopens == 0,
        }
    return out


@pytest.fixture(scope="module")
def marts(tmp_path_factory, demo_export):
    root = tmp_path_factory.mktemp("metrics")
    with own_home(root):
        ingest_tickets(IngestParams(paths=[demo_export / "zendesk"]))
        build_metrics()
        with connect(Settings()) as con:
            cur = con.execute(
                "SELECT ticket_id, first_reply_at, reopen_count, is_escalated,"
                " is_first_contact_resolution, first_reply_minutes, first_reply_business_minutes,"
                " self_service_resolved, self_service_attempted FROM marts.fct_tickets"
            )
            names = [d[0] for d in cur.description]
            tickets = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
            daily = con.execute(
                "SELECT sum(tickets_created), min(fcr_rate), max(fcr_rate), max(deflection_rate),"
                " min(backlog_end_of_day) FROM marts.fct_support_daily"
            ).fetchall()[0]
            deleted = con.execute(
                "SELECT count(*) FROM landing.tickets WHERE is_deleted"
            ).fetchall()[0][0]
            # the derived facts, as Python (landing view) and dbt (staging) say them
            facts = con.execute(
                "SELECT count(*), count(*) FILTER (WHERE l.ticket_text IS NOT DISTINCT FROM"
                " s.ticket_text AND l.has_text IS NOT DISTINCT FROM s.has_text"
                " AND l.is_settled IS NOT DISTINCT FROM s.is_settled),"
                " count(*) FILTER (WHERE s.is_settled), count(*) FILTER (WHERE NOT s.has_text)"
                " FROM staging.stg_landing__tickets s JOIN landing.ticket_texts l USING (ticket_id)"
            ).fetchall()[0]
            # the same tickets: both leave deleted ones out (migration 9)
            kept = con.execute(
                "SELECT count(*) FROM landing.ticket_texts"
                " UNION ALL SELECT count(*) FROM landing.tickets WHERE NOT is_deleted"
            ).fetchall()
            assert kept[0] == kept[1] and deleted > 0
            kept = kept[0][0]
        yield {"tickets": tickets, "daily": daily, "deleted": deleted, "facts": facts, "kept": kept}


def test_fct_tickets_matches_the_export(marts, demo_export):
    truth = expected(demo_export / "zendesk")
    got = marts["tickets"]
    assert set(got) == set(truth)
    for ticket_id, want in truth.items():
        row = got[ticket_id]
        assert row["first_reply_at"] == want["first_reply_at"], ticket_id
        assert row["reopen_count"] == want["reopen_count"], ticket_id
        assert row["is_escalated"] == want["is_escalated"], ticket_id
        assert row["is_first_contact_resolution"] == want["is_fcr"], ticket_id
    assert any(t["is_first_contact_resolution"] for t in got.values())
    assert any(t["reopen_count"] for t in got.values())


def test_ticket_facts_are_the_same_before_and_after_dbt(marts):
    """landing.ticket_texts (for scoring, knowledge, escalation, assist, which run before dbt)
    and staging.stg_landing__tickets say ticket_text, has_text and is_settled alike."""
    rows, same, settled, _without_text = marts["facts"]
    assert rows == len(marts["tickets"]) == marts["kept"] and same == rows
    assert 0 < settled < rows  # both values of is_settled occur


def test_business_minutes_never_exceed_calendar_minutes(marts):
    replied = [t for t in marts["tickets"].values() if t["first_reply_at"] is not None]
    assert replied
    assert all(0 <= t["first_reply_business_minutes"] <= t["first_reply_minutes"] + 1e-9
               for t in replied)  # fmt: skip
    assert any(t["first_reply_business_minutes"] < t["first_reply_minutes"] for t in replied)


def test_daily_rollup_adds_up(marts):
    total, fcr_lo, fcr_hi, deflection_hi, backlog_lo = marts["daily"]
    assert total == len(marts["tickets"]) == 600 - marts["deleted"]
    assert 0 <= fcr_lo <= fcr_hi <= 1 and 0 <= deflection_hi <= 1 and backlog_lo >= 0
    attempted = [t for t in marts["tickets"].values() if t["self_service_attempted"]]
    assert attempted and all(
        t["self_service_attempted"] for t in marts["tickets"].values() if t["self_service_resolved"]
    )


def test_scorecard_is_one_offline_html_file_with_charts(marts, tmp_path):
    from html.parser import HTMLParser

    from supportflow.report.scorecard import write_scorecard

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags: list[str] = []
            self.sources: list[str] = []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            self.sources += [v for k, v in attrs if k in ("src", "href") and v]

    path = write_scorecard(Settings(), tmp_path / "scorecard.html")
    page = path.read_text()
    parser = Tags()
    parser.feed(page)
    assert parser.tags.count("polyline") >= 2  # volume and headline metric charts
    # AI impact, queues, KB health and themes have rows; nothing was scored or escalated here:
    # said, not hidden
    assert parser.tags.count("table") == 4 and page.count("No data yet.") == 2
    assert "script" not in parser.tags
    assert parser.sources == []  # nothing fetched: works offline
    assert "First-contact resolution" in page and "None" not in page
    # every chart has labelled axes: a y title, its range in the metric's unit, the first and
    # last week on the x axis
    assert page.count("week starting</text>") == parser.tags.count("polyline")
    assert "percent</text>" in page and "minutes</text>" in page  # y titles: the unit
    assert "tickets created</text>" in page
    # human labels only: no raw column name as a table header
    headers = re.findall(r"<th>([^<]*)</th>", page)
    assert headers and not [h for h in headers if "_" in h], headers
    for mart in (
        "fct_support_weekly",
        "fct_ai_impact_weekly",
        "fct_queue_weekly",
        "fct_model_quality",
        "fct_kb_health_summary",
        "fct_voc_themes",
    ):
        assert f"Source: <code>marts.{mart}</code>" in page, mart


def test_scorecard_headlines_decide_target_and_format_in_the_mart(marts, tmp_path):
    from supportflow.report.scorecard import write_scorecard

    with connect(Settings()) as con:
        heads = {r[0]: r[1:] for r in con.execute(
            "SELECT metric, direction, target, latest_value, is_on_target, format"
            " FROM marts.fct_scorecard_headlines").fetchall()}  # fmt: skip
        weekly = con.execute("SELECT * FROM marts.fct_support_weekly ORDER BY week_start")
        names = [d[0] for d in weekly.description]
        weeks = [dict(zip(names, r, strict=True)) for r in weekly.fetchall()]
    assert heads["median_first_reply_business_minutes"][4] == "minutes"
    assert heads["fcr_rate"][4] == heads["reopen_rate"][4] == "percent"
    page = write_scorecard(Settings(), tmp_path / "scorecard.html").read_text()
    for metric, (direction, target, latest, on_target, fmt) in heads.items():
        want = next(w[metric] for w in reversed(weeks) if w[metric] is not None)
        assert latest == want, metric
        assert on_target == (latest >= target if direction == "above" else latest <= target)
        unit = {"minutes": " min", "hours": " h"}.get(fmt, "")
        shown = f"{latest:.1%}" if fmt == "percent" else f"{latest:,.1f}{unit}"
        assert f"<p class='value'>{shown}</p>" in page, metric
    assert {h[3] for h in heads.values()} == {True, False}  # the demo has both kinds of card
    # week over week: the value of the calendar week before the latest, and the change shown
    with connect(Settings()) as con:
        changes = con.execute(
            "SELECT metric, latest_week_start, previous_value, change_vs_previous_week, format"
            " FROM marts.fct_scorecard_headlines").fetchall()  # fmt: skip
    by_week = {w["week_start"]: w for w in weeks}
    compared = 0
    for metric, latest_week, previous, change, fmt in changes:
        before = by_week.get(latest_week - timedelta(days=7), {}).get(metric)
        assert previous == before, metric
        if previous is not None:
            compared += 1
            unit = {"minutes": " min", "hours": " h"}.get(fmt, "")
            want = f"{change * 100:+.1f} pts" if fmt == "percent" else f"{change:+,.1f}{unit}"
            assert f"{want} vs week before" in page, metric
    assert compared >= 4


def test_scorecard_says_what_the_ai_changed_and_breaks_down_by_queue(marts, tmp_path):
    from supportflow.report.scorecard import write_scorecard

    with connect(Settings()) as con:
        impact = con.execute(
            "SELECT week_start, tickets, self_service_resolutions, auto_routed_tickets,"
            " agent_minutes_saved, minutes_per_self_service_resolution"
            " FROM marts.fct_ai_impact_weekly ORDER BY week_start").fetchall()  # fmt: skip
        independent = dict(
            con.execute(
                "SELECT date_trunc('week', created_date)::date, count(*) FILTER"
                " (WHERE self_service_resolved) FROM marts.fct_tickets GROUP BY 1"
            ).fetchall()
        )
        queues = con.execute(
            "SELECT queue, tickets FROM marts.fct_queue_weekly WHERE week_start ="
            " (SELECT max(week_start) FROM marts.fct_queue_weekly)"
        ).fetchall()
        total = con.execute("SELECT count(*) FROM marts.fct_tickets").fetchone()[0]
    assert sum(row[1] for row in impact) == total
    assert {row[0]: row[2] for row in impact} == independent
    assert sum(independent.values()) > 0  # the demo's help center resolves some tickets
    # nothing was scored: no auto-routing, so the minutes are self-service resolutions only
    for _, _, resolutions, routed, minutes, per_resolution in impact:
        assert routed == 0 and minutes == resolutions * per_resolution
    page = write_scorecard(Settings(), tmp_path / "scorecard.html").read_text()
    section = page[page.index("<h2>AI impact</h2>") : page.index("By queue")]
    assert "Tickets resolved by self-service that did not come back" in section
    assert f"<td>{impact[-1][2]:,}</td>" in section
    assert "min per self-service resolution" in section and "ai_impact_assumptions" in section
    assert "no draft was followed by an agent reply yet" in section
    table = page[page.index("By queue") : page.index("Model quality")]
    assert len(queues) >= 2 and table.count("<tr>") == len(queues) + 1
    for queue, tickets in queues:
        assert f"<td>{queue}</td><td>{tickets:,}</td>" in table


CHROMEDRIVER = shutil.which("chromedriver")


@pytest.mark.skipif(
    not (CHROMEDRIVER and find_chromium()),
    reason="needs Debian chromium + chromium-driver (make test installs them when run as root)",
)
def test_scorecard_renders_in_headless_chromium_without_console_errors(marts, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from supportflow.report.scorecard import write_scorecard

    path = write_scorecard(Settings(), tmp_path / "scorecard.html")
    options = webdriver.ChromeOptions()
    options.binary_location = find_chromium()
    for arg in headless_args():
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.get(path.resolve().as_uri())
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        charts = driver.execute_script(
            "return [...document.querySelectorAll('svg')].map(s => s.getBoundingClientRect())"
            ".map(r => [r.width, r.height])"
        )
        title = driver.title
        # a page with a broken script would log an error: plant one to prove the check can fail
        driver.execute_script("setTimeout(() => { throw new Error('planted'); }, 0)")
        driver.execute_script("return 1")
        planted = [e for e in driver.get_log("browser") if "planted" in e["message"]]
    finally:
        driver.quit()
    assert errors == [] and planted, errors
    assert "scorecard" in title.lower()
    assert len(charts) >= 2 and all(w > 50 and h > 10 for w, h in charts), charts
    png = screenshot(path, tmp_path / "scorecard.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_dbt_docs_generate_works_offline(marts):
    from supportflow.dbt_runner import run_dbt

    settings = Settings()
    run_dbt(["docs", "generate"], settings)
    catalog = json.loads((settings.home.resolve() / "dbt" / "target" / "catalog.json").read_text())
    assert "model.supportflow.fct_support_daily" in catalog["nodes"]
