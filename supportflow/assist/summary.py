"""Extractive ticket summaries: the customer's problem, what was tried, the current state and
open questions, picked from the ticket's own sentences (offline, CPU, no model). For customers
with several tickets, a short history.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|hallo|hola|bonjour|guten tag)\b[^.!?]*$|"
    r"^\s*(?:thanks|thank you|cheers|regards|best|br|kind regards|gracias|danke|merci)\W*$",
    re.IGNORECASE,
)
TRIED = re.compile(
    r"\b(?:tried|already|restarted|reinstalled|cleared|followed|still|again|"
    r"attempt\w*|switched|updated|checked)\b",
    re.IGNORECASE,
)
WAITING_ON = {
    "customer": "waiting on us",
    "agent": "waiting on the customer",
    "bot": "waiting on us",
}


@dataclass
class Summary:
    problem: str
    tried: list[str] = field(default_factory=list)
    state: str = ""
    open_questions: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def sentences(text: str | None) -> list[str]:
    """Content sentences: greetings and sign-offs dropped."""
    out = []
    for part in SENTENCE.findall(text or ""):
        part = re.sub(r"^\s*(?:hi|hello|hey|dear)\b[^,]*,\s*", "", part.strip(), flags=re.I)
        if part and not GREETING.match(part) and re.search(r"\w{3}", part):
            out.append(part.strip())
    return out


def summarise(ticket: dict, events: list[dict], history: list[dict] | None = None) -> Summary:
    """``ticket``: subject, body, status, is_settled, category (a ``landing.ticket_texts`` row);
    ``events``: the ticket's comments in time
    order (author_role, kind, public, body); ``history``: the customer's other tickets."""
    body = sentences(ticket.get("body"))
    problem = " ".join(body[:2]) or (ticket.get("subject") or "").strip()
    comments = [e for e in events if e.get("kind") == "comment" and e.get("body")]
    customer = body + [s for e in comments if e["author_role"] == "customer"
                       for s in sentences(e["body"])]  # fmt: skip
    said = set(body[:2])  # the problem statement is not an attempt
    tried = [s for s in dict.fromkeys(customer) if TRIED.search(s) and s not in said][:3]
    public = [e for e in comments if e.get("public", True)]
    last_agent = max((i for i, e in enumerate(public) if e["author_role"] == "agent"), default=-1)
    unanswered = body if last_agent < 0 else []
    for e in public[last_agent + 1 :]:
        if e["author_role"] == "customer":
            unanswered += sentences(e["body"])
    questions = [s for s in dict.fromkeys(unanswered) if s.endswith("?")][:3]
    status = ticket.get("status") or "unknown"
    state = f"{status}"
    if public:
        last = public[-1]
        state += f"; last public message from the {last['author_role']}"
        if not ticket.get("is_settled"):
            state += f" ({WAITING_ON.get(last['author_role'], 'waiting')})"
    else:
        state += "; no reply yet"
    past = [
        f"{h['created_at']:%Y-%m-%d} {h.get('category') or 'uncategorised'}: "
        f"{(h.get('subject') or '').strip()} ({h.get('status')})"
        for h in (history or [])[:3]
    ]
    return Summary(problem, tried, state, questions, past)
