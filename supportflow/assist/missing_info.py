"""Missing-information prompts: per category, the fields an agent needs (order id, account
e-mail, error message, device…) that the ticket's customer messages do not contain."""

from __future__ import annotations

import re

from supportflow.assist.config import RequiredField


def missing_fields(
    category: str | None, customer_text: str, required: dict[str, list[RequiredField]]
) -> list[RequiredField]:
    return [
        f
        for f in required.get(category or "", [])
        if not re.search(f.pattern, customer_text, re.IGNORECASE)
    ]


def request_line(missing: list[RequiredField]) -> str:
    """One sentence asking for the missing fields ('' when none)."""
    if not missing:
        return ""
    prompts = [f.prompt for f in missing]
    listed = prompts[0] if len(prompts) == 1 else ", ".join(prompts[:-1]) + " and " + prompts[-1]
    return f"To help me look into this, could you send me {listed}?"
