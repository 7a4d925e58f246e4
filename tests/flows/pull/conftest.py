"""Fixtures of the Zendesk pull tests (the helpers are in ``zendesk_api.py``)."""

from __future__ import annotations

import logging

import pytest

from tests.flows.pull.zendesk_api import EMAIL, TOKEN


@pytest.fixture(autouse=True)
def _logs_reach_caplog(monkeypatch):
    """`supportflow` CLI commands stop propagation to the root logger; caplog listens there."""
    monkeypatch.setattr(logging.getLogger("supportflow"), "propagate", True)


@pytest.fixture
def creds(monkeypatch):
    monkeypatch.setenv("ZENDESK_API_TOKEN", TOKEN)
    monkeypatch.setenv("ZENDESK_EMAIL", EMAIL)
    monkeypatch.delenv("ZENDESK_OAUTH_TOKEN", raising=False)
    monkeypatch.delenv("ZENDESK_SUBDOMAIN", raising=False)
