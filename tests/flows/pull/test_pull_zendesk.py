"""`supportflow pull zendesk` against a real local HTTP server (pytest-httpserver) serving
Zendesk-shaped pages: cursor pages to end_of_stream, an empty page, 429 + Retry-After, 5xx, and
resume after a crash with no duplicate and no gap. DuckDB and Prefect are real."""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from supportflow.ingest.pull import (
    EVENTS,
    EVENTS_PATH,
    TEMP_FOLDER,
    TICKETS,
    TICKETS_PATH,
    PullConfig,
    PullError,
    pull_incremental,
)
from supportflow.warehouse import connect
from tests.flows.pull.zendesk_api import (
    ALL_IDS,
    EMAIL,
    EVENT_PAGES,
    REPO,
    START_TS,
    TICKET_PAGES,
    TOKEN,
    config,
    landing_ids,
    page,
    quarantined,
    requests_to,
    serve_events,
    serve_tickets,
    stored,
)

# ── the stream ───────────────────────────────────────────────────────────────────────────────


def test_cursor_pages_to_end_of_stream_then_an_empty_hourly_page(
    httpserver, creds, settings, caplog
):
    serve_tickets(httpserver, TICKET_PAGES)
    caplog.set_level(logging.INFO, logger="supportflow.pull")
    result = pull_incremental(config(httpserver), settings=settings)

    (tickets,) = result.streams
    assert (tickets.pages, tickets.received, tickets.records_in) == (4, 11, 11)
    assert tickets.records_in == (
        tickets.records_loaded + tickets.records_updated + tickets.records_unchanged
        + tickets.records_quarantined
    )  # fmt: skip
    ids = landing_ids(settings)
    assert len(ids) == len(set(ids)), "a ticket landed twice"
    assert set(ids) == ALL_IDS and quarantined(settings) == 0
    assert (tickets.records_loaded, tickets.records_updated) == (10, 1)  # 1002 again on page 3
    with connect(settings) as con:
        status = con.execute("SELECT status FROM landing.tickets WHERE ticket_id = 'zendesk:1002'")
        assert status.fetchone()[0] == "solved"  # the newer copy won
    last_cursor = page("tickets_page4.json")["after_cursor"]
    assert stored(settings, TICKETS) == last_cursor == tickets.position

    sent = requests_to(httpserver, TICKETS_PATH)
    assert sent[0] == {"start_time": str(START_TS), "include": "users"}
    assert [r.get("cursor") for r in sent[1:]] == [
        page(n)["after_cursor"] for n in TICKET_PAGES[:-1]
    ]  # the cursor, not the after_url: that names acme.zendesk.com, the base URL is ours
    auth = httpserver.log[0][0].headers["Authorization"]
    assert auth == "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()

    lines = [r.getMessage() for r in caplog.records if r.name == "supportflow.pull"]
    per_page = [line for line in lines if " tickets page " in line]
    assert len(per_page) == 4 and "page 4: 2 tickets" in per_page[-1]
    assert "4 pages, 11 tickets in" in per_page[-1]
    assert not list((settings.home / TEMP_FOLDER).iterdir()), "a raw page stayed on disk"

    # An hour later nothing changed: Zendesk answers the stored cursor with an empty last page.
    httpserver.clear()
    httpserver.expect_request(
        TICKETS_PATH, query_string={"cursor": last_cursor, "include": "users"}
    ).respond_with_json(page("tickets_empty.json"))
    again = pull_incremental(config(httpserver, start=None), settings=settings).streams[0]
    assert (again.pages, again.received, again.records_in) == (1, 0, 0)
    assert stored(settings, TICKETS) == last_cursor and sorted(landing_ids(settings)) == sorted(ids)


def test_a_first_empty_page_keeps_the_start_for_the_next_run(httpserver, creds, settings):
    httpserver.expect_request(
        TICKETS_PATH, query_string={"start_time": str(START_TS), "include": "users"}
    ).respond_with_json(page("tickets_empty.json"))
    result = pull_incremental(config(httpserver), settings=settings).streams[0]
    assert (result.pages, result.received) == (1, 0)
    assert stored(settings, TICKETS) == f"start_time:{START_TS}"
    # the next run needs no --start: it asks from the same start_time again
    again = pull_incremental(config(httpserver, start=None), settings=settings).streams[0]
    assert again.pages == 1 and requests_to(httpserver, TICKETS_PATH)[-1]["start_time"] == str(
        START_TS
    )


def test_ticket_events_walk_end_time_and_land_as_comments(httpserver, creds, settings):
    serve_tickets(httpserver, TICKET_PAGES)
    serve_events(httpserver)
    result = pull_incremental(config(httpserver, events=True), settings=settings)
    _, events = result.streams
    assert events.stream == EVENTS and (events.pages, events.received) == (2, 6)
    assert events.records_in == (
        events.records_loaded + events.records_updated + events.records_unchanged
        + events.records_quarantined
    )  # fmt: skip
    assert stored(settings, EVENTS) == str(page(EVENT_PAGES[-1])["end_time"])
    sent = requests_to(httpserver, EVENTS_PATH)
    assert [r["start_time"] for r in sent] == [str(START_TS), str(page(EVENT_PAGES[0])["end_time"])]
    assert all(r["include"] == "comment_events" for r in sent)
    assert not list((settings.home / TEMP_FOLDER).iterdir())

    # the reader turns child Comment events into landing.ticket_events (redacted, with roles)
    with connect(settings) as con:
        comments = con.execute(
            "SELECT ticket_id, author_role, public, body FROM landing.ticket_events "
            "WHERE kind = 'comment' ORDER BY created_at"
        ).fetchall()
    bodies = " ".join(str(c[3]) for c in comments)
    assert len(comments) >= 6 and "reset links now last 24 hours" in bodies
    assert ("zendesk:1003", "agent", False) in {c[:3] for c in comments}  # internal note
    assert "415 555 0142" not in bodies  # redacted before it was stored


# ── retries ──────────────────────────────────────────────────────────────────────────────────


def test_429_waits_retry_after_then_succeeds(httpserver, creds, settings, caplog):
    httpserver.expect_oneshot_request(TICKETS_PATH).respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_request(TICKETS_PATH).respond_with_json(page("tickets_page4.json"))
    caplog.set_level(logging.INFO, logger="supportflow.pull")
    began = time.monotonic()
    result = pull_incremental(config(httpserver), settings=settings).streams[0]
    assert time.monotonic() - began >= 1.0, "Retry-After: 1 was not honoured"
    assert result.records_in == 2 and len(httpserver.log) == 2
    assert any("HTTP 429" in r.getMessage() and "1.0 s" in r.getMessage() for r in caplog.records)


def test_5xx_and_a_cut_short_body_are_retried(httpserver, creds, settings):
    httpserver.expect_oneshot_request(TICKETS_PATH).respond_with_data("oops", status=500)
    httpserver.expect_oneshot_request(TICKETS_PATH).respond_with_data('{"tickets": [', status=200)
    httpserver.expect_request(TICKETS_PATH).respond_with_json(page("tickets_page4.json"))
    result = pull_incremental(config(httpserver, max_tries=3), settings=settings).streams[0]
    assert result.records_in == 2 and len(httpserver.log) == 3


def test_gives_up_after_n_tries_with_one_readable_line(httpserver, creds, settings):
    httpserver.expect_request(TICKETS_PATH).respond_with_data("down", status=503)
    with pytest.raises(PullError) as info:
        pull_incremental(config(httpserver, max_tries=3), settings=settings)
    message = str(info.value)
    assert "\n" not in message and info.value.transient
    assert "failed 3 times" in message and "HTTP 503" in message
    assert len(httpserver.log) == 3 and stored(settings, TICKETS) is None


def test_connection_refused_is_a_one_line_error(creds, settings):
    with HTTPServer() as closed:  # start and stop: nothing listens on the port any more
        url = closed.url_for("/")
    cfg = PullConfig(subdomain="acme", start=START_TS, base_url=url, events=False, max_tries=2,
                     backoff_s=0.01, backoff_cap_s=0.01)  # fmt: skip
    with pytest.raises(PullError, match=r"failed 2 times; last: connection failed"):
        pull_incremental(cfg, settings=settings)


# ── resume ───────────────────────────────────────────────────────────────────────────────────


def test_resume_after_a_crash_on_page_3_no_duplicate_no_gap(httpserver, creds, settings):
    serve_tickets(httpserver, TICKET_PAGES, skip={3})
    third = page("tickets_page2.json")["after_cursor"]
    httpserver.expect_request(
        TICKETS_PATH, query_string={"cursor": third, "include": "users"}
    ).respond_with_data("upstream broke", status=502)
    with pytest.raises(PullError, match="HTTP 502"):
        pull_incremental(config(httpserver), settings=settings)
    first_two = {f"zendesk:{n}" for n in range(1001, 1007)}
    loaded = landing_ids(settings)
    assert set(loaded) <= first_two and len(loaded) + quarantined(settings) >= 6
    assert stored(settings, TICKETS) == third, "the cursor must point at page 3"

    httpserver.clear()
    serve_tickets(httpserver, TICKET_PAGES)
    rerun = pull_incremental(config(httpserver, start=None), settings=settings).streams[0]
    assert rerun.pages == 2 and rerun.received == 5  # pages 3 and 4 only
    assert requests_to(httpserver, TICKETS_PATH)[0] == {"cursor": third, "include": "users"}
    ids = landing_ids(settings)
    assert len(ids) == len(set(ids)), "duplicate ticket after resume"
    assert set(ids) <= ALL_IDS and len(ids) + quarantined(settings) >= 10
    assert set(ids) >= set(loaded), "a ticket loaded before the crash went missing"

    # Killed after page 2 was committed but before its cursor was stored: page 2 comes again
    # and the loader recognises it; pages 3-4 (same bytes) too. Nothing new, nothing lost.
    with connect(settings) as con:
        con.execute(
            "UPDATE landing.pull_state SET cursor = ? WHERE stream = 'tickets'",
            [page("tickets_page1.json")["after_cursor"]],
        )
        batches = con.execute("SELECT count(*) FROM landing.ingest_batches").fetchone()[0]
    replay = pull_incremental(config(httpserver, start=None), settings=settings).streams[0]
    assert replay.pages == 3 and replay.pages_already_loaded == 3
    assert replay.records_loaded == replay.records_updated == 0
    assert sorted(landing_ids(settings)) == sorted(ids)
    with connect(settings) as con:
        assert con.execute("SELECT count(*) FROM landing.ingest_batches").fetchone()[0] == batches


def test_a_killed_process_resumes_from_the_stored_cursor(creds, settings, tmp_path):
    """SIGKILL while page 3 is in flight; the next run loads pages 3-4 only."""
    release = threading.Event()
    third = page("tickets_page2.json")["after_cursor"]

    def slow_third(request):
        release.wait(30)
        return Response(json.dumps(page("tickets_page3.json")), content_type="application/json")

    with HTTPServer(threaded=True) as server:
        serve_tickets(server, TICKET_PAGES, skip={3})
        server.expect_request(
            TICKETS_PATH, query_string={"cursor": third, "include": "users"}
        ).respond_with_handler(slow_third)
        child = subprocess.Popen(
            [sys.executable, "-c",
             "import sys; from supportflow.ingest.pull import PullConfig, pull_incremental\n"
             "pull_incremental(PullConfig(subdomain='acme', start=1767225600, events=False,"
             " base_url=sys.argv[1]))", server.url_for("/")],
            cwd=REPO, env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not any(r.args.get("cursor") == third for r, _ in server.log):
                assert child.poll() is None, child.stdout.read().decode()
                assert time.monotonic() < deadline, "page 3 was never requested"
                time.sleep(0.05)
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        finally:
            release.set()
            if child.poll() is None:
                child.kill()
        assert stored(settings, TICKETS) == third
        before = landing_ids(settings)
        rerun = pull_incremental(
            PullConfig(subdomain="acme", base_url=server.url_for("/"), events=False),
            settings=settings,
        ).streams[0]
    assert rerun.pages == 2
    ids = landing_ids(settings)
    assert len(ids) == len(set(ids)) and set(before) <= set(ids) <= ALL_IDS
    assert len(ids) + quarantined(settings) >= 10


def test_page_files_left_by_a_killed_run_are_removed(httpserver, creds, settings):
    folder = settings.home / TEMP_FOLDER
    folder.mkdir(parents=True)
    (folder / "zendesk-tickets-p00003-abc.json").write_text('{"tickets": [{"description": "x"}]}')
    httpserver.expect_request(TICKETS_PATH).respond_with_json(page("tickets_empty.json"))
    pull_incremental(config(httpserver), settings=settings)
    assert not list(folder.iterdir())
    assert folder.stat().st_mode & 0o077 == 0, "page folder readable by others"
