"""Mixed-length support e-mails for the scoring benchmark: demo tickets turned into the threads
real help desks receive, in the public shapes of mail clients.

A customer's reply carries their newest words on top, often a signature (RFC 3676's "-- "
separator or a plain sign-off block), and the thread below it: Gmail's attribution line
("On <date>, <name> <address> wrote:") followed by the quoted messages with "> " (one more ">"
per level), or Outlook's "-----Original Message-----" block with From/Sent/To/Subject headers.
The quoted history is the agent's earlier replies and the customer's own first message — the
same issue, as in a real thread — so the label stays the ticket's own.

Shares (seeded): 30 % plain tickets, 20 % with a signature only, 50 % threads of 1–3 quoted
messages, half of them Gmail-style and half Outlook-style.
"""

from __future__ import annotations

import random

AGENT_REPLIES = (
    "Hello {name},\n\nThank you for contacting Nimbus Support. I have looked into your account "
    "and I can see the issue you describe. Could you please confirm the workspace name, the "
    "browser and version you are using, and the approximate time when it last happened? A "
    "screenshot of the error would also help our engineers. In the meantime you can try "
    "clearing the cache and signing out and in again.\n\nKind regards,\n{agent}\nNimbus Support",
    "Hi {name},\n\nthanks for the details. I have passed this on to our second-level team, who "
    "will investigate it together with the logs from your workspace. This usually takes one to "
    "two business days; we will update this ticket as soon as we know more. If anything changes "
    "on your side, just reply to this e-mail.\n\nBest,\n{agent}\nCustomer Support Team",
    "Dear {name},\n\nWe are sorry for the inconvenience. Our records show that the change was "
    "applied on the date you mention. To make sure we fix the right thing, please send us the "
    "exact steps you followed, the user who was affected and whether other members of your team "
    "see the same behaviour.\n\nHave a great day,\n{agent}",
    "Hello {name},\n\nI just wanted to follow up on your request. Were you able to try the steps "
    "we sent earlier? If the problem persists, please let us know and we will schedule a call "
    "with a specialist. Our support hours are Monday to Friday, 8am to 6pm CET.\n\nRegards,\n"
    "{agent}\nNimbus Support | help.nimbus.example",
)
NAMES = ("Anna", "Carlos", "Marie", "Sam", "Priya", "Jonas", "Lucía", "Tom")
AGENTS = ("Kim from Nimbus", "Alex Berger", "Jordan Lee", "Support Bot")
SIGNATURES = (
    "Best regards,\n{name} Schmidt\nHead of Operations | Acme GmbH\nPhone: +49 30 0000 0000\n"
    "This e-mail and any attachments are confidential and intended solely for the addressee.",
    "-- \n{name} Lee\nCustomer Success Manager\nExample Corp · 1 Main Street · Springfield",
    "Thanks,\n{name}\n\nSent from my iPhone",
)


def _quote(text: str, depth: int) -> str:
    return "\n".join(">" * depth + (" " + line if line else "") for line in text.splitlines())


def _gmail(earlier: list[str], name: str, rng: random.Random) -> str:
    parts = []
    for depth, message in enumerate(earlier, start=1):
        who = f"{rng.choice(AGENTS)} <support@nimbus.example>" if depth % 2 else name
        header = (
            f"On Mon, Nov {rng.randint(2, 27)}, 2026 at 10:{rng.randint(10, 59)} AM {who} wrote:"
        )
        parts.append(_quote(header, depth - 1) if depth > 1 else header)
        parts.append(_quote(message, depth))
    return "\n".join(parts)


def _outlook(earlier: list[str], name: str, subject: str, rng: random.Random) -> str:
    parts = []
    for depth, message in enumerate(earlier, start=1):
        support, customer = "Nimbus Support <support@nimbus.example>", f"{name}@acme.example"
        sender, to = (support, customer) if depth % 2 else (customer, support)
        parts.append(
            "-----Original Message-----\n"
            f"From: {sender}\nSent: Monday, November {rng.randint(2, 27)}, 2026 10:00 AM\n"
            f"To: {to}\nSubject: RE: {subject}\n\n{message}"
        )
    return "\n\n".join(parts)


def mixed_email(subject: str, body: str, rng: random.Random) -> str:
    """One ticket's text (``subject\\nbody``, as landing.ticket_texts has it) as a plain ticket,
    a signed one, or a reply above a quoted thread of 1–3 earlier messages (agent replies and
    the customer's first message ``body``)."""
    roll = rng.random()
    name = rng.choice(NAMES)
    text = f"{subject}\n{body}"
    if roll < 0.3:
        return text
    signed = f"{text}\n\n{rng.choice(SIGNATURES).format(name=name)}"
    if roll < 0.5:
        return signed
    depth = rng.randint(1, 3)
    earlier = [
        rng.choice(AGENT_REPLIES).format(name=name, agent=rng.choice(AGENTS))
        if i % 2 == 0
        else body
        for i in range(depth)
    ]
    if rng.random() < 0.5:
        return f"{signed}\n\n{_gmail(earlier, name, rng)}"
    return f"{signed}\n\n{_outlook(earlier, name, subject, rng)}"


def mixed_emails(rows: list[tuple[str, str]], seed: int = 7) -> list[str]:
    """``mixed_email`` over (subject, body) rows, seeded; same order and length as ``rows``."""
    rng = random.Random(seed)
    return [mixed_email(subject or "", body or "", rng) for subject, body in rows]
