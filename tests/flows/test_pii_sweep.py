"""The PII sweep (issue 16): after a whole run over a corpus full of personal data, no raw value is
in any warehouse table, Prefect's database (logs, states, parameters), MLflow's store and
artifacts, any file under the home, or anything a command printed.

The corpus is written from Zendesk's public API reference (Incremental Ticket Export with the
``users`` sideload: ``via.source.from``, ``recipient``, ``satisfaction_rating.comment``,
comments, ``custom_fields``), plus a flat CSV, broken files whose broken part holds personal
data, and a labelled CSV for ``train --data``. Every command runs as a user runs it: the CLI in
its own process, against the session's Prefect API.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL, PREFECT_API_URL

from supportflow.settings import Settings
from supportflow.warehouse import open_warehouse

REPO = Path(__file__).resolve().parents[2]
HELP_CENTER = REPO / "tests" / "data" / "help_center" / "docs"

# Values that appear nowhere else in the repo or its fixtures, so any hit is this run's leak.
EMAILS = ["quillon.vardamir@pii-sweep.example", "rosa.ketterby@pii-sweep.example",
          "odo.farnaby@pii-sweep.example"]  # fmt: skip
PHONES = ["+1 212 555 0199", "+49 30 9876 1234"]
CARD = "4539 1488 0343 6467"  # passes Luhn
IBAN = "GB33 BUKB 2020 1555 5555 55"
STREET = "221 Quillon Lane"
USER_NAMES = ["Quillon Vardamir", "Rosa Ketterby"]  # the users sideload; never stored
REQUESTER_IDS = [918273645501, 918273645502, 918273645503]
RAW_VALUES = [*EMAILS, *PHONES, CARD, IBAN, STREET, *USER_NAMES, *map(str, REQUESTER_IDS)]

TOPICS = [
    ("billing", "Refund for double charge", "I was charged twice for my plan, please refund."),
    ("account", "Cannot log in", "The password reset link expired, I cannot log in."),
    ("technical", "App crashes on start", "The mobile app crashes when I open the dashboard."),
]


def zendesk_page(n: int = 24) -> dict:
    """An Incremental Ticket Export page (cursor-based) with comments and the users sideload."""
    tickets = []
    for i in range(n):
        category, subject, body = TOPICS[i % 3]
        requester = REQUESTER_IDS[i % 3]
        at = f"2026-10-{1 + i % 20:02d}T09:{i % 60:02d}:00Z"
        pii = f"Reach me at {EMAILS[i % 3]} or {PHONES[i % 2]}; card {CARD}; IBAN {IBAN}."
        tickets.append({
            "id": 5000 + i, "url": f"https://acme.zendesk.com/api/v2/tickets/{5000 + i}.json",
            "created_at": at, "updated_at": at, "type": "question", "status": "open",
            "priority": "normal", "subject": f"{subject} ({EMAILS[i % 3]})",
            "description": f"{body} {pii} I live at {STREET}.",
            "recipient": EMAILS[(i + 1) % 3],
            "requester_id": requester, "submitter_id": requester, "assignee_id": 700001,
            "collaborator_ids": [REQUESTER_IDS[(i + 1) % 3]], "email_cc_ids": [requester],
            "tags": [category, f"from_{EMAILS[i % 3]}"],
            "custom_fields": [{"id": 360001234511, "value": category},
                              {"id": 360001234599, "value": f"callback {PHONES[i % 2]}"}],
            "via": {"channel": "email", "source": {
                "from": {"address": EMAILS[i % 3], "name": USER_NAMES[i % 2]},
                "to": {"address": "support@acme.example", "name": "Acme"}, "rel": None}},
            "satisfaction_rating": {"score": "bad", "comment": f"Call {PHONES[i % 2]} now"},
            "comments": [
                {"id": 90000 + i, "type": "Comment", "author_id": requester, "public": True,
                 "body": f"{body} {pii}", "created_at": at},
                {"id": 91000 + i, "type": "Comment", "author_id": 700001, "public": True,
                 "body": f"Hi {USER_NAMES[i % 2]}, we are on it.",
                 "created_at": at.replace("T09", "T10")},
            ],
        })  # fmt: skip
    users = [
        {"id": rid, "name": USER_NAMES[k % 2], "email": EMAILS[k], "phone": PHONES[k % 2],
         "role": "end-user", "locale": "en-US"}
        for k, rid in enumerate(REQUESTER_IDS)
    ] + [{"id": 700001, "name": "Agent Smith", "email": "agent@acme.example", "role": "agent",
          "locale": "en-US"}]  # fmt: skip
    return {"tickets": tickets, "users": users, "end_of_stream": True,
            "after_cursor": "MTU3NjYxMzUzOS4wfHw0Njd8", "after_url": None}  # fmt: skip


def write_corpus(root: Path) -> dict[str, Path]:
    """The inputs: a Zendesk page, a flat CSV with a bad row, broken JSON/JSONL whose broken part
    quotes personal data, and a labelled CSV for training."""
    root.mkdir(parents=True, exist_ok=True)
    page = root / "zendesk" / "tickets_page1.json"
    page.parent.mkdir()
    page.write_text(json.dumps(zendesk_page()))
    flat = root / "flat" / "tickets.csv"
    flat.parent.mkdir()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["id", "created_at", "subject", "body", "status", "customer_id"])
    for i in range(9):
        _, subject, body = TOPICS[i % 3]
        created = "not a date" if i == 8 else f"2026-10-{1 + i:02d}T08:00:00Z"
        writer.writerow([f"C-{i}", created, subject, f"{body} mail {EMAILS[i % 3]} {STREET}",
                         f"pending {PHONES[i % 2]}", str(REQUESTER_IDS[i % 3])])  # fmt: skip
    flat.write_text(buf.getvalue())
    broken = root / "broken"
    broken.mkdir()
    good = {"id": "B-1", "created_at": "2026-10-02T08:00:00Z", "subject": "Hello",
            "body": f"Please help, {EMAILS[0]}"}  # fmt: skip
    (broken / "truncated.jsonl").write_text(
        json.dumps(good) + "\n" + f'{{"id": "B-2", "body": "call {PHONES[0]} or {EMAILS[1]}'
    )
    (broken / "page.json").write_text(f'{{"tickets": [{{"id": 1, "description": "{EMAILS[2]}"')
    (broken / "header.csv").write_text(f"ticket,{EMAILS[1]}\n1,{PHONES[1]}\n")  # no text column
    labelled = root / "labelled.csv"
    with labelled.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        for i in range(60):
            category, subject, body = TOPICS[i % 3]
            writer.writerow([f"{subject}. {body} From {USER_NAMES[i % 2]} <{EMAILS[i % 3]}>, "
                             f"{PHONES[i % 2]}, card {CARD}, IBAN {IBAN}", category])  # fmt: skip
    experiment = root / "pii_tfidf.yaml"
    experiment.write_text(
        "kind: tfidf\nmodel_name: triage-classifier\n"
        "data:\n  source: csv\n  label_fields: [category]\n  min_examples: 30\n"
        "  min_per_class: 5\n"
    )
    return {"page": page, "flat": flat, "broken": broken, "labelled": labelled,
            "experiment": experiment}  # fmt: skip


def environment(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(SUPPORTFLOW_HOME=str(home), SUPPORTFLOW_PII_SALT="sweep-salt", COLUMNS="200")
    env.pop("SUPPORTFLOW_WAREHOUSE_PATH", None)
    api = PREFECT_API_URL.value()  # the session's test server: its database is swept below
    if api:
        env["PREFECT_API_URL"] = api
    return env


def file_texts(path: Path) -> list[tuple[str, str]]:
    """(name, text) of a file, and of each member when it is a zip (model packages)."""
    data = path.read_bytes()
    out = [(str(path), data.decode("utf-8", errors="replace"))]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                text = archive.read(name).decode("utf-8", errors="replace")
                out.append((f"{path}!{name}", text))
    return out


def warehouse_texts(home: Path) -> list[tuple[str, str]]:
    """Every table and view of every schema, all columns cast to text."""
    con = open_warehouse(home / "warehouse.duckdb", read_only=True, settings=Settings(home=home))
    try:
        relations = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_catalog = current_database()"
        ).fetchall()
        out = []
        for schema, table in relations:
            rows = con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
            out.append((f"{schema}.{table}", repr(rows)))
        return out
    finally:
        con.close()


def prefect_texts() -> list[tuple[str, str]]:
    """Every text of the session's Prefect database: logs, states, parameters, artifacts."""
    url = PREFECT_API_DATABASE_CONNECTION_URL.value() or ""
    path = url.split(":///", 1)[-1]
    if not url.startswith("sqlite") or not Path(path).exists():
        pytest.fail(f"the Prefect test database is not a sqlite file here: {url!r}")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [(f"prefect.{t}", repr(db.execute(f'SELECT * FROM "{t}"').fetchall()))
                for t in tables]  # fmt: skip
    finally:
        db.close()


@pytest.fixture(scope="module")
def swept_run(tmp_path_factory):
    """Run the pipeline over the PII corpus through the CLI; (home, outputs, prefect log count)."""
    root = tmp_path_factory.mktemp("pii")
    home = root / "home"
    corpus = write_corpus(root / "in")
    env = environment(home)
    steps = [
        ["ingest", str(corpus["page"].parent), "--format", "zendesk", "--source", "zd"],
        ["ingest", str(corpus["flat"]), "--source", "flat"],
        ["ingest", str(corpus["broken"] / "truncated.jsonl")],
        ["ingest", str(corpus["broken"] / "page.json"), "--format", "zendesk"],
        ["ingest", str(corpus["broken"] / "header.csv")],
        ["train", "-e", str(corpus["experiment"]), "--data", str(corpus["labelled"]),
         "--text-column", "text", "--label-column", "category"],
        ["promote", "triage-classifier", "--version", "1", "--to", "shadow"],
        ["score"],
        ["escalate"],
        ["reindex", str(HELP_CENTER)],
        ["assist-batch"],
        ["qa-sample"],
        ["build-metrics"],
        ["report", "--out", str(home / "reports" / "scorecard.html")],
        ["status"],
    ]  # fmt: skip
    outputs = []
    for args in steps:
        done = subprocess.run(
            [sys.executable, "-m", "supportflow.cli", *args],
            env=env, capture_output=True, text=True, timeout=900, cwd=REPO,
        )  # fmt: skip
        outputs.append((args, done))
    return home, outputs


def test_the_run_over_the_pii_corpus_did_its_work(swept_run):
    """The sweep means something only when each step ran: failures are the broken files'."""
    home, outputs = swept_run
    for args, done in outputs:
        expect_fail = args[0] == "ingest" and args[1].endswith(("page.json", "header.csv"))
        assert (done.returncode != 0) == expect_fail, (args, done.stdout[-2000:], done.stderr)
    con = open_warehouse(home / "warehouse.duckdb", read_only=True, settings=Settings(home=home))
    try:
        counts = dict(con.execute(
            "SELECT 'tickets', count(*) FROM landing.tickets UNION ALL "
            "SELECT 'quarantine', count(*) FROM landing.quarantine UNION ALL "
            "SELECT 'scores', count(*) FROM ml.predictions"
        ).fetchall())  # fmt: skip
    finally:
        con.close()
    assert counts["tickets"] >= 24 + 8 + 1 and counts["quarantine"] >= 2 and counts["scores"] > 0
    assert any(h in "".join(t for _, t in warehouse_texts(home)) for h in ("[EMAIL]", "[PHONE]"))


def test_no_raw_personal_value_anywhere_after_the_run(swept_run):
    home, outputs = swept_run
    places: list[tuple[str, str]] = []
    for args, done in outputs:
        places.append((f"`supportflow {' '.join(args[:1])}` output", done.stdout + done.stderr))
    places += warehouse_texts(home)
    places += prefect_texts()
    for path in sorted(home.rglob("*")):
        if path.is_file() and path.suffix not in {".duckdb", ".wal"}:
            places += file_texts(path)
    assert len(places) > 50
    leaks = sorted(
        {(where, value) for where, text in places for value in RAW_VALUES if value in text}
    )
    assert not leaks, leaks[:20]
