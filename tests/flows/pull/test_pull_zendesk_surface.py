"""`supportflow pull zendesk` from the outside: the token never leaves the process, bad settings
fail before any request, and the command runs through the Prefect flow."""

from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys

import pytest
from typer.testing import CliRunner
from werkzeug import Response

from supportflow.ingest.pull import (
    TICKETS,
    TICKETS_PATH,
    PullConfig,
    PullError,
    ZendeskApi,
    ZendeskCredentials,
    parse_start,
    pull_incremental,
)
from supportflow.settings import Settings
from supportflow.warehouse import connect
from tests.flows.pull.zendesk_api import (
    REPO,
    START,
    START_TS,
    TICKET_PAGES,
    TOKEN,
    assert_no_secret,
    config,
    page,
    secret_forms,
    serve_tickets,
    stored,
)

# ── the token ────────────────────────────────────────────────────────────────────────────────


def test_the_token_never_appears_in_logs_errors_reprs_or_the_warehouse(
    httpserver, creds, settings, caplog, capsys
):
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    credentials = ZendeskCredentials.from_environment()
    for text in (
        repr(credentials),
        str(credentials),
        repr(ZendeskApi(config(httpserver), credentials)),
    ):
        assert_no_secret(text)
    with pytest.raises(TypeError):
        pickle.dumps(credentials)

    # a server that echoes the Authorization header back in its error body
    def echo(request):
        return Response(
            json.dumps({"error": "Forbidden", "description": request.headers["Authorization"]}),
            status=403, content_type="application/json",
        )  # fmt: skip

    httpserver.expect_oneshot_request(TICKETS_PATH).respond_with_handler(echo)
    with pytest.raises(PullError) as forbidden:
        pull_incremental(config(httpserver), settings=settings)
    assert "needs an admin" in str(forbidden.value)
    httpserver.expect_request(TICKETS_PATH).respond_with_data("no", status=500)
    with pytest.raises(PullError) as failed:
        pull_incremental(config(httpserver, max_tries=2), settings=settings)
    httpserver.clear()
    serve_tickets(httpserver, TICKET_PAGES)
    pull_incremental(config(httpserver), settings=settings)

    captured = capsys.readouterr()
    for text in (
        str(forbidden.value), repr(forbidden.value), str(failed.value), repr(failed.value),
        caplog.text, captured.out, captured.err,
    ):  # fmt: skip
        assert_no_secret(text)
    assert any(r.name.startswith("httpx") for r in caplog.records), "httpx logs were not captured"
    with connect(settings) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            assert_no_secret(str(con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()))
    raw = settings.warehouse.read_bytes()
    assert all(form.encode() not in raw for form in secret_forms())


def test_bearer_token_and_missing_credentials(httpserver, monkeypatch, settings):
    monkeypatch.delenv("ZENDESK_API_TOKEN", raising=False)
    monkeypatch.delenv("ZENDESK_EMAIL", raising=False)
    monkeypatch.delenv("ZENDESK_OAUTH_TOKEN", raising=False)
    with pytest.raises(PullError, match="no Zendesk credentials"):
        pull_incremental(config(httpserver), settings=settings)
    monkeypatch.setenv("ZENDESK_API_TOKEN", TOKEN)
    with pytest.raises(PullError, match="needs the agent's email"):
        pull_incremental(config(httpserver), settings=settings)
    monkeypatch.delenv("ZENDESK_API_TOKEN")
    monkeypatch.setenv("ZENDESK_OAUTH_TOKEN", TOKEN)
    httpserver.expect_request(TICKETS_PATH).respond_with_json(page("tickets_empty.json"))
    pull_incremental(config(httpserver), settings=settings)
    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"subdomain": "acme corp"}, "is not a Zendesk subdomain"),
        ({"base_url": "https://me:pw@proxy.example"}, "must not carry credentials"),
        ({"base_url": "ftp://proxy.example"}, "is not an http"),
    ],
)
def test_bad_settings_fail_before_any_request(overrides, message):
    with pytest.raises(PullError, match=message):
        PullConfig(**{"subdomain": "acme", **overrides})


def test_start_must_be_a_past_time():
    assert parse_start("2026-01-01") == parse_start("2026-01-01T00:00:00Z") == START_TS
    assert parse_start(str(START_TS)) == START_TS
    with pytest.raises(PullError, match="at least a minute in the past"):
        parse_start("2999-01-01")
    with pytest.raises(PullError, match="neither a date"):
        parse_start("last tuesday")


# ── the command and the flow ─────────────────────────────────────────────────────────────────


def test_cli_pulls_through_the_flow(httpserver, creds, home):
    from supportflow.cli import app

    serve_tickets(httpserver, TICKET_PAGES)
    args = ["pull", "zendesk", "--subdomain", "acme", "--base-url", httpserver.url_for("/"),
            "--no-events"]  # fmt: skip
    first = CliRunner().invoke(app, [*args, "--start", START])
    assert first.exit_code == 0, first.output
    assert "tickets: 4 page(s), 11 tickets served; 11 in = " in first.output
    assert stored(Settings(), TICKETS) == page("tickets_page4.json")["after_cursor"]
    assert_no_secret(first.output)

    no_start = CliRunner().invoke(app, [*args, "--restart"])
    assert no_start.exit_code == 1 and "--restart needs --start" in no_start.output


def test_cli_failure_is_one_line_without_traceback_or_token(httpserver, creds, home):
    """In a real process (what a person sees): a 401 ends in one `error:` line, exit code 1."""
    httpserver.expect_request(TICKETS_PATH).respond_with_data("Couldn't authenticate you", 401)
    done = subprocess.run(
        [sys.executable, "-m", "supportflow.cli", "pull", "zendesk", "--subdomain", "acme",
         "--base-url", httpserver.url_for("/"), "--start", START],
        cwd=REPO, env={**os.environ, "COLUMNS": "200"}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: Zendesk refused the credentials (HTTP 401 UNAUTHORIZED); check ZENDESK_EMAIL "
        "and ZENDESK_API_TOKEN, or ZENDESK_OAUTH_TOKEN"
    ], output
    assert "Traceback" not in output
    assert_no_secret(output)


def test_the_flow_task_retries_only_what_may_pass_later():
    from prefect.states import Failed

    from flows.pull_zendesk import _worth_retrying
    from supportflow.warehouse import WarehouseLockedError

    def retried(exc: Exception) -> bool:
        return _worth_retrying(None, None, Failed(data=exc))

    assert retried(PullError("GET … failed 5 times; last: HTTP 503", transient=True))
    assert retried(WarehouseLockedError("another writer"))
    assert not retried(PullError("Zendesk refused the credentials (HTTP 401)"))
    assert not retried(ValueError("a bug"))
