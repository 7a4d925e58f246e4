"""The optional abstractive generator: any OpenAI-compatible ``/chat/completions`` endpoint
(a local vLLM, llama.cpp or Ollama server). Off by default; the extractive path is complete
without it. Whatever it writes still goes through every guardrail, and its citations are the
retrieved passages, never its own claims.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit, urlunsplit

from supportflow.assist.config import GeneratorConfig

SYSTEM = (
    "You rewrite customer-support reply drafts. Keep every fact, link and step from the draft "
    "and the sources; add no promises, amounts or dates that are not in them. Plain language, "
    "short sentences, end with the next step. Reply with the rewritten message only."
)


class GeneratorError(RuntimeError):
    """The endpoint failed or answered something unusable; callers fall back to the draft."""


def shown(url: str) -> str:
    """``url`` fit to print: without user, password, query or fragment (where keys hide)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class Generator:
    """``api_key``: sent as ``Authorization: Bearer`` (from ``SUPPORTFLOW_GENERATOR_API_KEY``,
    never from the config file); messages name the endpoint without credentials."""

    def __init__(self, config: GeneratorConfig, api_key: str | None = None):
        if not config.url:
            raise ValueError("generator.url is not set")
        self.url = config.url.rstrip("/") + "/chat/completions"
        self.shown_url = shown(self.url)
        self.model = config.model
        self.timeout = config.timeout_s
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"

    def rewrite(self, draft: str, ticket_text: str, sources: str) -> str:
        body = {
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Ticket:\n{ticket_text}\n\nSources:\n{sources}\n\n"
                                            f"Draft:\n{draft}"},
            ],
        }  # fmt: skip
        request = urllib.request.Request(self.url, json.dumps(body).encode(), self.headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read())
            text = payload["choices"][0]["message"]["content"].strip()
        except (OSError, urllib.error.URLError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise GeneratorError(f"generator at {self.shown_url} failed: {exc}") from None
        if not text:
            raise GeneratorError(f"generator at {self.shown_url} returned an empty reply")
        return text
