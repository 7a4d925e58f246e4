"""Zendesk pull benchmark: N cursor pages of 1,000 tickets served by a local HTTP server.

Measures the whole path per page — HTTP GET, temp file, ``ingest_file`` (validate, redact,
merge), cursor stored, file deleted — against the same pages fetched over HTTP only, the same
tickets loaded as one file (what the per-page loader cost adds), and the hourly re-run when
nothing changed (one empty page). Zendesk serves at most 10 incremental-export
requests a minute (30 with the High Volume add-on), so the pipeline keeps up when it loads at
least 0.5 pages/s. Usage:
    python -m benchmarks.bench_pull [--pages 20] [--per-page 1000]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from benchmarks.common import write_result

START = datetime(2026, 1, 1, tzinfo=UTC)
WORDS = (
    "invoice", "refund", "charge", "card", "declined", "password", "reset", "login", "export",
    "report", "dashboard", "slow", "crash", "update", "android", "iphone", "billing", "address",
    "subscription", "cancel", "upgrade", "plan", "seats", "invite", "teammate", "workspace",
    "permissions", "error", "timeout", "webhook", "api", "key", "integration", "sync", "calendar",
)  # fmt: skip


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def make_pages(pages: int, per_page: int, seed: int = 7) -> list[bytes]:
    """Cursor-export pages as Zendesk writes them (tickets + users sideload), as bytes."""
    rng = random.Random(seed)
    out = []
    for p in range(pages):
        tickets, users = [], {}
        for i in range(per_page):
            n = p * per_page + i + 1
            created = START + timedelta(minutes=3 * n)
            updated = created + timedelta(minutes=rng.randint(1, 600))
            requester, agent = 500_000 + n % 20_000, 9_000 + n % 40
            users[requester] = {
                "id": requester,
                "name": f"Customer {requester}",
                "email": f"c{requester}@mail.example",
                "role": "end-user",
            }
            users[agent] = {
                "id": agent,
                "name": f"Agent {agent}",
                "email": f"a{agent}@acme.example",
                "role": "agent",
            }
            tickets.append({
                "url": f"https://acme.zendesk.com/api/v2/tickets/{n}.json", "id": n,
                "via": {"channel": rng.choice(["email", "web", "chat", "mobile"])},
                "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "updated_at": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "generated_timestamp": int(updated.timestamp()), "type": "question",
                "subject": _text(rng, 6), "description": _text(rng, 70),
                "priority": rng.choice(["low", "normal", "high", "urgent"]),
                "status": rng.choice(["new", "open", "pending", "solved"]),
                "requester_id": requester, "submitter_id": requester, "assignee_id": agent,
                "organization_id": 80_001, "group_id": 360_000_000_101, "tags": ["billing"],
                "custom_fields": [{"id": 360001234511, "value": "billing"}],
                "satisfaction_rating": {"score": "unoffered"},
            })  # fmt: skip
        last = p == pages - 1
        cursor = base64.b64encode(f"{tickets[-1]['generated_timestamp']}.0||{p}|".encode()).decode()
        doc = {
            "tickets": tickets,
            "users": list(users.values()),
            "after_url": f"https://acme.zendesk.com/api/v2/incremental/tickets/cursor.json?cursor={cursor}",
            "after_cursor": cursor,
            "before_url": None,
            "before_cursor": None,
            "end_of_stream": last,
        }
        out.append(json.dumps(doc).encode())
    return out


EMPTY = json.dumps(
    {"tickets": [], "users": [], "after_url": None, "after_cursor": None,
     "before_url": None, "before_cursor": None, "end_of_stream": True}
).encode()  # fmt: skip


def serve(pages: list[bytes]) -> ThreadingHTTPServer:
    """A local server: start_time → page 1, each page's after_cursor → the next page."""
    by_cursor = {}
    for before, after in zip(pages, [*pages[1:], EMPTY], strict=True):
        by_cursor[json.loads(before)["after_cursor"]] = after

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            query = parse_qs(urlsplit(self.path).query)
            body = by_cursor.get(query["cursor"][0]) if "cursor" in query else pages[0]
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--per-page", type=int, default=1000)
    args = parser.parse_args()
    pages = make_pages(args.pages, args.per_page)
    server = serve(pages)
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    start = int(START.timestamp())
    with tempfile.TemporaryDirectory(prefix="bench-pull-") as tmp:
        os.environ["SUPPORTFLOW_HOME"] = str(Path(tmp) / "home")
        os.environ.setdefault("ZENDESK_API_TOKEN", "bench-token")
        os.environ.setdefault("ZENDESK_EMAIL", "bench@acme.example")
        from supportflow.ingest.pull import (
            TICKETS_PATH,
            PullConfig,
            ZendeskApi,
            ZendeskCredentials,
            pull_incremental,
        )
        from supportflow.settings import Settings
        from supportflow.warehouse import connect

        config = PullConfig(subdomain="acme", start=start, base_url=base_url, events=False)
        settings = Settings()

        api = ZendeskApi(config, ZendeskCredentials.from_environment())
        began = time.perf_counter()
        params: dict = {"start_time": start, "include": "users"}
        fetched = 0
        while True:
            _, doc = api.get(TICKETS_PATH, params)
            fetched += 1
            if doc["end_of_stream"]:
                break
            params = {"cursor": doc["after_cursor"], "include": "users"}
        http_s = time.perf_counter() - began
        api.close()

        began = time.perf_counter()
        result = pull_incremental(config, settings=settings).streams[0]
        pull_s = time.perf_counter() - began
        began = time.perf_counter()
        again = pull_incremental(config, settings=settings).streams[0]
        noop_s = time.perf_counter() - began
        with connect(settings) as con:
            landed = con.execute("SELECT count(*) FROM landing.tickets").fetchone()[0]

        # Baseline: the same tickets as one file through the same loader (no per-page cost).
        from supportflow.ingest.load import ingest_file
        from supportflow.ingest.sources import Format

        one = {"tickets": [], "users": [], "end_of_stream": True}
        for body in pages:
            doc = json.loads(body)
            one["tickets"] += doc["tickets"]
            one["users"] += doc["users"]
        single = Path(tmp) / "all_pages.json"
        single.write_text(json.dumps(one))
        os.environ["SUPPORTFLOW_HOME"] = str(Path(tmp) / "home-single")
        settings = Settings()
        with connect(settings) as con:
            began = time.perf_counter()
            report = ingest_file(
                con, single, fmt=Format.zendesk, source="zendesk", settings=settings
            )
            single_s = time.perf_counter() - began
        assert report.records_in == len(one["tickets"]), report
    server.shutdown()
    tickets = args.pages * args.per_page
    assert fetched == args.pages and result.pages == args.pages, (fetched, result)
    assert result.records_in == tickets and again.pages == 1 and again.received == 0
    figures = {
        "pull_pages_per_s": round(args.pages / pull_s, 3),
        "pull_tickets_per_s": round(tickets / pull_s, 1),
        "pull_s": round(pull_s, 2),
        "http_only_pages_per_s": round(args.pages / http_s, 2),
        "load_share_of_pull": round(1 - http_s / pull_s, 3),
        "pull_noop_rerun_s": round(noop_s, 2),
        "one_file_tickets_per_s": round(tickets / single_s, 1),
        "pull_vs_one_file_ratio": round(pull_s / single_s, 2),
        "tickets_landed": landed,
        "tickets_quarantined": result.records_quarantined,
    }
    targets = {
        "pull_pages_per_s": (">=", 0.5),  # Zendesk's own ceiling with the High Volume add-on
        "pull_tickets_per_s": (">=", 500),
        "pull_noop_rerun_s": ("<=", 5),
    }
    write_result(
        "pull",
        {
            "pages": args.pages,
            "tickets_per_page": args.per_page,
            "page_mb": round(sum(map(len, pages)) / len(pages) / 2**20, 2),
            "server": "local http.server (ThreadingHTTPServer)",
        },
        figures,
        targets,
    )


if __name__ == "__main__":
    main()
