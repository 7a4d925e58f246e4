"""Reply drafts: the team's macro for the ticket's category, filled with ticket context and the
best approved public passage, with the citation used, then checked by every guardrail.

Only public, published articles are searched for drafts, so a draft can never cite internal or
draft content. With no approved passage above the answer threshold, the draft says it is
checking instead of guessing, and cites nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from supportflow.assist.guardrails import Finding
from supportflow.assist.macros import Macro
from supportflow.knowledge.search import Hit

ARTICLE_REF = re.compile(r"\{\{\s*article_(?:title|url)\s*\}\}")
HOLDING_LINE = "I'm checking this with our team and will get back to you here."


@dataclass
class Draft:
    text: str
    macro_id: str | None
    citations: list[dict]
    findings: list[Finding] = field(default_factory=list)
    generator: str = "macro"

    @property
    def needs_rewrite(self) -> bool:
        return any(f.blocking for f in self.findings)

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "macro_id": self.macro_id,
            "citations": self.citations,
            "findings": [f.as_dict() for f in self.findings],
            "needs_rewrite": self.needs_rewrite,
            "generator": self.generator,
        }


def passage_body(hit: Hit) -> str:
    """The passage without the title/heading line the index prefixes for retrieval."""
    lines = hit.text.split("\n")
    return "\n".join(lines[1:]).strip() or hit.text.strip()


def compose(
    ticket: dict,
    hit: Hit | None,
    macro: Macro | None,
    missing_line: str,
    agent_name: str = "The support team",
) -> Draft:
    citations = []
    if hit is not None:
        citations = [
            {
                "article_id": hit.article_id,
                "chunk_id": hit.chunk_id,
                "title": hit.title,
                "url": hit.url,
                "similarity": round(hit.similarity, 4),
            }
        ]
    values = {
        "customer_name": ticket.get("customer_name") or "there",
        "agent_name": agent_name,
        "ticket_id": ticket["ticket_id"],
        "subject": ticket.get("subject") or "",
        "article_title": hit.title if hit else "our help center",
        "article_url": (hit.url or "") if hit else "",
        "article_steps": passage_body(hit) if hit else HOLDING_LINE,
        "missing_info": missing_line,
    }
    if macro is None:
        parts = (f"Hi {values['customer_name']},", values["article_steps"], missing_line,
                 "Reply here if anything is unclear.")  # fmt: skip
        text = "\n\n".join(part for part in parts if part)
        return Draft(text, None, citations)
    if hit is None:  # nothing cited: drop the macro's lines that point at the article
        lines = macro.body.split("\n")
        kept = [line for line in lines if not ARTICLE_REF.search(line)]
        macro = replace(macro, body="\n".join(kept))
    return Draft(macro.fill(values), macro.id, citations)
