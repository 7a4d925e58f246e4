"""Large-record benchmark: peak memory of ingesting one 50 MB record, per reader and shape.

Each file holds a good ticket, one ~50 MB record and another good ticket: a Zendesk API page
(``{"tickets": [...]}``) whose ticket has a 50 MB ``description``, the same ticket as a line of the
account export (``tickets.json``, NDJSON), a canonical JSONL line with a 50 MB ``body``, a CSV row
with a 50 MB ``body`` cell, and Zendesk pages whose ticket carries 50 MB of ``tags``, of
``custom_fields`` or of a nested ``via`` object. One more case is a record that loads: a ticket
with ~7.5 MB of comments (under ``max_record_chars``, 8 MiB): about the largest record the
defaults load.

Each ingest runs in a fresh process (``ingest_paths``, default settings), so its peak RSS is its
own (``VmHWM``: Linux's ``ru_maxrss`` of a child starts from its parent's, which wrote the
files); ``baseline`` is the same process on a file of one small ticket. With ``--before REF`` the
same files are also ingested by the code of git ref ``REF`` (checked out into a temporary
worktree, removed afterwards), for the before/after figures. Usage:
    python -m benchmarks.bench_large_record [--mb 50] [--before 31c791c]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import write_result

REPO = Path(__file__).resolve().parents[1]
MB = 1 << 20
AT = "2026-10-20T10:00:00Z"
TARGET_PEAK_RSS_MB = 500

CHILD = """
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
try:
    from supportflow.ingest.runner import ingest_paths
    outcome = ingest_paths([Path(sys.argv[1])])
    error = "; ".join(str(f)[-200:] for f in outcome.failures) or None
    reports = [r.as_dict() for r in outcome.reports]
except Exception as exc:  # the code before the fix ran out of memory in DuckDB
    error, reports = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}", []
seconds = time.perf_counter() - started
try:  # this process's own peak: ru_maxrss keeps the parent's across fork and exec
    status = Path("/proc/self/status").read_text()
    rss_mb = int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1]) / 1024
except (OSError, StopIteration):
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
r = reports[0] if reports else {}
print(json.dumps({"seconds": seconds, "rss_mb": rss_mb, "error": error,
                  "records_in": r.get("records_in"), "loaded": r.get("records_loaded"),
                  "quarantined": r.get("records_quarantined"), "events": r.get("events_loaded"),
                  "reasons": r.get("quarantine_reasons"), "notes": r.get("notes")}))
"""

SENTENCES = (
    "Hello team, my order {n} has not arrived yet and the tracking page shows nothing. ",
    "I tried to log in again but the app keeps saying my password is wrong. ",
    "Please call me back or write to jane.doe{n}@example.com when you know more. ",
    "The invoice for March was charged twice, could you refund the second payment? ",
    "Danke für die schnelle Antwort, aber das Problem besteht weiterhin. ",
)


def support_text(chars: int) -> str:
    """Support-desk prose of ``chars`` characters (e-mails included, so redaction has work)."""
    parts, size, n = [], 0, 0
    while size < chars:
        sentence = SENTENCES[n % len(SENTENCES)].format(n=n)
        parts.append(sentence)
        size += len(sentence)
        n += 1
    return "".join(parts)[:chars]


def ticket(i: int, **extra) -> dict:
    """A Zendesk API ticket (Tickets reference) with its usual keys."""
    return {
        "id": i,
        "created_at": AT,
        "updated_at": AT,
        "subject": f"Ticket {i}",
        "description": f"Please help with order {i}",
        "status": "open",
        "requester_id": 100 + i,
        "via": {"channel": "email"},
        "tags": ["billing"],
        "custom_fields": [],
        **extra,
    }


def canonical(i: int, **extra) -> dict:
    return {"id": i, "created_at": AT, "subject": f"Ticket {i}", "body": f"Help {i}"} | extra


def write_page(path: Path, big: dict) -> Path:
    path.write_text(json.dumps({"tickets": [ticket(1), big, ticket(3)], "end_of_stream": True}))
    return path


def write_lines(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def write_csv(path: Path, body: str) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "created_at", "subject", "body"])
        for i, text in ((1, "Help 1"), (2, body), (3, "Help 3")):
            writer.writerow([i, AT, f"Ticket {i}", text])
    return path


def cases(mb: int) -> dict[str, Callable[[Path], Path]]:
    """Case name → writer of its file in a folder (each case in its own folder)."""
    size = mb * MB
    comments = [
        {"id": n, "author_id": 7, "body": support_text(4_900), "public": True, "created_at": AT}
        for n in range((7 * MB + MB // 2) // 5_000)  # ~7.5 MB: under max_record_chars (8 MiB)
    ]
    return {
        "baseline": lambda d: write_page(d / "page.json", ticket(2)),
        "zendesk_json": lambda d: write_page(
            d / "page.json", ticket(2, description=support_text(size))
        ),
        "zendesk_export": lambda d: write_lines(
            d / "tickets.json", [ticket(1), ticket(2, description=support_text(size)), ticket(3)]
        ),
        "jsonl": lambda d: write_lines(
            d / "tickets.jsonl", [canonical(1), canonical(2, body=support_text(size)), canonical(3)]
        ),
        "csv": lambda d: write_csv(d / "tickets.csv", support_text(size)),
        "zendesk_tags": lambda d: write_page(
            d / "page.json", ticket(2, tags=[f"tag{n:07d}" for n in range(size // 13)])
        ),
        "zendesk_custom_fields": lambda d: write_page(
            d / "page.json",
            ticket(
                2,
                custom_fields=[
                    {"id": 360_000_000 + n, "value": "v" * 10} for n in range(size // 40)
                ],
            ),
        ),
        "zendesk_via": lambda d: write_page(
            d / "page.json",
            ticket(
                2,
                via={
                    "channel": "email",
                    "source": {"from": {f"k{n}": "x" * 16 for n in range(size // 26)}},
                },
            ),
        ),
        "zendesk_comments_loads": lambda d: write_page(
            d / "page.json", ticket(2, comments=comments)
        ),
    }


def ingest_in_child(path: Path, home: Path, code: Path) -> dict:
    """Ingest ``path`` with the package at ``code`` in a fresh process; its figures."""
    env = {**os.environ, "SUPPORTFLOW_HOME": str(home), "PYTHONPATH": str(code)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=code,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        tail = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return {"seconds": None, "rss_mb": None, "error": tail[0][:200]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def checkout(ref: str, folder: Path) -> Path:
    """A detached worktree of ``ref`` in ``folder`` (the code to measure "before")."""
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(folder), ref],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return folder


def outcome(run: dict) -> str:
    """One line: what became of the file's records (or the error)."""
    if run.get("error"):
        return f"failed: {run['error']}"
    text = f"{run['loaded']} loaded, {run['quarantined']} quarantined"
    if run.get("reasons"):
        text += " (" + ", ".join(f"{k} ×{v}" for k, v in run["reasons"].items()) + ")"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=50, help="size of the large record, in MiB")
    parser.add_argument("--before", help="git ref whose code to measure too (e.g. 31c791c)")
    args = parser.parse_args()
    figures: dict = {}
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-large-record-") as tmp:
        work = Path(tmp)
        before_code = checkout(args.before, work / "before") if args.before else None
        try:
            for name, write in cases(args.mb).items():
                folder = work / name
                folder.mkdir()
                started = time.perf_counter()
                path = write(folder)
                size_mb = path.stat().st_size / MB
                print(f"{name}: {size_mb:.1f} MB written in {time.perf_counter() - started:.1f} s")
                runs[name] = {"file_mb": round(size_mb, 1)}
                for label, code in (("after", REPO), ("before", before_code)):
                    if code is None:
                        continue
                    run = ingest_in_child(path, work / f"home-{name}-{label}", code)
                    runs[name][label] = run
                    print(f"  {label}: {run.get('rss_mb') or 0:.0f} MB, {outcome(run)}")
                path.unlink()
        finally:
            if before_code is not None:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(before_code)],
                    cwd=REPO,
                    check=False,
                    capture_output=True,
                )
    key = f"large_record_{args.mb}mb"
    for name, run in runs.items():
        prefix = "baseline" if name == "baseline" else f"{key}_{name}"
        after = run["after"]
        figures[f"{prefix}_peak_rss_mb"] = round(after["rss_mb"], 1) if after["rss_mb"] else None
        figures[f"{prefix}_seconds"] = round(after["seconds"], 2) if after["seconds"] else None
        figures[f"{prefix}_outcome"] = outcome(after)
        if "before" in run:
            before = run["before"]
            figures[f"{prefix}_peak_rss_mb_before"] = (
                round(before["rss_mb"], 1) if before["rss_mb"] else None
            )
            figures[f"{prefix}_seconds_before"] = (
                round(before["seconds"], 2) if before["seconds"] else None
            )
            figures[f"{prefix}_outcome_before"] = outcome(before)
    large = [n for n in runs if n != "baseline"]
    figures[f"{key}_peak_rss_mb"] = max(figures[f"{key}_{n}_peak_rss_mb"] or 1e9 for n in large)
    targets = {  # a run that left no figure fails the headline target (its peak counts as 1e9)
        f"{key}_{n}_peak_rss_mb": ("<=", TARGET_PEAK_RSS_MB)
        for n in large
        if figures[f"{key}_{n}_peak_rss_mb"] is not None
    }
    targets[f"{key}_peak_rss_mb"] = ("<=", TARGET_PEAK_RSS_MB)
    command = "python -m benchmarks.bench_large_record --mb {}{}".format(
        args.mb, f" --before {args.before}" if args.before else ""
    )
    write_result(
        "large_record",
        {
            "record_mb": args.mb,
            "file_mb": {name: run["file_mb"] for name, run in runs.items()},
            "settings": "defaults (max_body_chars 200,000; max_record_chars 8 MiB; 1GB DuckDB)",
            "before": args.before,
            "command": command,
            "make": "make bench-large-record",
        },
        figures,
        targets,
    )


if __name__ == "__main__":
    main()
