"""A local Zendesk Incremental Export API for the pull tests: the pages (tests/data/zendesk_api,
written from the public API reference), credentials, and readers of what landed."""

from __future__ import annotations

import base64
import itertools
import json
from pathlib import Path

from pytest_httpserver import HTTPServer

from supportflow.ingest.pull import (
    EVENTS_PATH,
    TICKETS_PATH,
    PullConfig,
    parse_start,
)
from supportflow.settings import Settings
from supportflow.warehouse import connect

DATA = Path(__file__).resolve().parents[2] / "data" / "zendesk_api"
REPO = Path(__file__).resolve().parents[3]
TOKEN = "zdtok-7Rq2SECRETx9Lw4Vb8Nc1"
EMAIL = "admin@acme.example"
START = "2026-01-01"
START_TS = 1767225600
TICKET_PAGES = [
    "tickets_page1.json",
    "tickets_page2.json",
    "tickets_page3.json",
    "tickets_page4.json",
]
ALL_IDS = {f"zendesk:{n}" for n in range(1001, 1011)}
EVENT_PAGES = ["ticket_events_page1.json", "ticket_events_page2.json"]


def page(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def secret_forms() -> list[str]:
    basic = base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
    return [TOKEN, basic, TOKEN[5:20]]


def assert_no_secret(text: str) -> None:
    for form in secret_forms():
        assert form not in text, "the API token leaked"


def config(server: HTTPServer, **overrides) -> PullConfig:
    values = dict(
        subdomain="ACME", start=parse_start(START), base_url=server.url_for("/"), events=False,
        max_tries=3, backoff_s=0.05, backoff_cap_s=0.2,
    )  # fmt: skip
    values.update(overrides)
    return PullConfig(**values)


def serve_tickets(server: HTTPServer, names: list[str], *, skip: set[int] = frozenset()) -> None:
    """Page 1 answers start_time; page n+1 answers page n's after_cursor (unless skipped)."""
    pages = [page(n) for n in names]
    server.expect_request(
        TICKETS_PATH, query_string={"start_time": str(START_TS), "include": "users"}
    ).respond_with_json(pages[0])
    for number, (before, after) in enumerate(itertools.pairwise(pages), start=2):
        if number not in skip:
            server.expect_request(
                TICKETS_PATH, query_string={"cursor": before["after_cursor"], "include": "users"}
            ).respond_with_json(after)


def serve_events(server: HTTPServer) -> None:
    first, second = (page(n) for n in EVENT_PAGES)
    for start, body in ((START_TS, first), (first["end_time"], second)):
        server.expect_request(
            EVENTS_PATH, query_string={"start_time": str(start), "include": "comment_events"}
        ).respond_with_json(body)


def landing_ids(settings: Settings) -> list[str]:
    with connect(settings) as con:
        return [r[0] for r in con.execute("SELECT ticket_id FROM landing.tickets").fetchall()]


def quarantined(settings: Settings) -> int:
    with connect(settings) as con:
        return con.execute("SELECT count(*) FROM landing.quarantine").fetchone()[0]


def stored(settings: Settings, stream: str) -> str | None:
    with connect(settings) as con:
        row = con.execute(
            "SELECT cursor FROM landing.pull_state WHERE source = 'zendesk' AND stream = ?",
            [stream],
        ).fetchone()
    return row[0] if row else None


def requests_to(server: HTTPServer, path: str) -> list[dict]:
    return [dict(req.args) for req, _ in server.log if req.path == path]
