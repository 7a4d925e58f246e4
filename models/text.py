"""What an encoder reads of a ticket: its subject and the newest message of its body, without the
quoted history ("On … wrote:" and its "> " lines, "-----Original Message-----" blocks) and the
signature below it. Real support e-mails carry both, and they are what makes a ticket long (a
classifier or a search needs the customer's own words, not the thread they replied to).

The markers come from ``mail-parser-reply`` (MIT, pure Python), which knows the reply headers
of English, German, Spanish, French, Italian, Dutch and other mail clients; our own code only
decides what to keep when the newest message is too short to stand alone (a forward: "see
below"). The warehouse always keeps the whole text; this is only an encoder's input.

Every reader of a ticket goes through ``read_ticket`` (its ``subject\nbody`` text, as
``landing.ticket_texts.ticket_text`` holds it): ticket vectors, article suggestions, assist, and
a triage model whose recipe says ``data.text_view: newest_message`` (the default) — training and
scoring both, the view saved in the model's ``triage.json``. One definition means a model's
frozen-encoder vector of a ticket is the ticket vector the knowledge step already stored.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

TextView = Literal["whole", "newest_message"]

# mail-parser-reply's language codes for the ticket languages ingest detects, Portuguese aside
# (the library has no Portuguese markers; its generic separators still apply).
MARKER_LANGUAGES = ("en", "de", "es", "fr", "it", "nl")
MIN_WORDS = 12  # a forward's note shorter than this ("FYI, see below") takes the next one too
# Subject prefixes mail clients put on a forward: Fwd/Fw (en), WG (de "Weitergeleitet"), RV (es
# "reenviado"), TR (fr "transféré"), Doorst (nl "doorgestuurd"), Enc (pt "encaminhado"). A short
# reply without one ("Still charged twice. Please fix.") is the customer's whole message.
FORWARD = re.compile(
    r"^\s*(?:(?:re|aw|fwd?|wg|rv|tr|doorst|enc)\s*:\s*)*(?:fwd?|wg|rv|tr|doorst|enc)\s*:", re.I
)
MAX_CHARS = 2000  # what MiniLM's 128 and the classifier's 256 tokens can read, with room
# The parser's regexes cost grows with the text (one core: a 2,800-character e-mail parses at
# ~250/s, its first 2,000 characters at ~430/s), so only the first MAX_CHARS are parsed.
READ_CACHE = 1 << 15  # texts whose reading is remembered (a night's new tickets fit)


@lru_cache(maxsize=1)
def _parser():
    from mailparser_reply import EmailReplyParser

    return EmailReplyParser(languages=list(MARKER_LANGUAGES))


@lru_cache(maxsize=1)
def _patterns() -> dict:
    """The parser's three compiled patterns, built once: ``EmailReplyParser.read`` makes a new
    ``EmailMessage`` per text, which rebuilds each pattern's source (and formats a debug line
    of it) every time — about a third of reading a short ticket."""
    from mailparser_reply.parser import EmailMessage

    probe = EmailMessage(text="", languages=list(_parser().languages))
    return {"_header_regex": probe.HEADER_REGEX, "_disclaimers_regex": probe.DISCLAIMERS_REGEX,
            "_signature_regex": probe.SIGNATURE_REGEX}  # fmt: skip


def _replies(text: str) -> list:
    """``EmailReplyParser.read(text).replies`` with the patterns compiled once."""
    from mailparser_reply.parser import EmailMessage

    languages = list(_parser().languages)
    return EmailMessage(text=text, languages=languages, **_patterns()).read().replies


def newest_message(body: str, min_words: int = MIN_WORDS) -> str:
    """The newest message of an e-mail ``body``: quoted replies and signatures dropped; when it
    has fewer than ``min_words`` words the next (older) messages are added until it has (a
    forward's content is the forwarded mail). Text without markers comes back unchanged (but
    stripped); text the parser would empty comes back whole."""
    text = body.strip()
    if not text:
        return ""
    replies = _replies(text)
    kept: list[str] = []
    for reply in replies:
        part = (reply.body or "").strip()
        if part:
            kept.append(part)
        if len(" ".join(kept).split()) >= min_words:
            break
    return "\n\n".join(kept) or text


def is_forward(subject: str | None) -> bool:
    """Whether ``subject`` carries a forward prefix (``FORWARD``: Fwd:, WG:, RV:, TR: …)."""
    return bool(FORWARD.match(subject or ""))


def encoder_text(subject: str | None, body: str | None, max_chars: int = MAX_CHARS) -> str:
    """``subject`` and the newest message of ``body`` (``newest_message``), one per line,
    cut to ``max_chars`` characters (at a word boundary when there is one). Only a forward
    (``is_forward``) whose note is shorter than ``MIN_WORDS`` words takes the forwarded mail
    too; any other reply keeps just its own words, however short."""
    words = MIN_WORDS if is_forward(subject) else 1
    text = "\n".join(p for p in ((subject or "").strip(), newest_message(body or "", words)) if p)
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    return cut.rsplit(None, 1)[0] if " " in cut[max_chars // 2 :] else cut


@lru_cache(maxsize=READ_CACHE)
def read_ticket(text: str | None, max_chars: int = MAX_CHARS) -> str:
    """What an encoder reads of a ticket's ``text`` (``subject\\nbody``): its first line (the
    subject) and the newest message of the rest (``encoder_text``), parsed from the first
    ``max_chars`` characters. A text without a subject line reads its first line as one.
    Remembered for the last ``READ_CACHE`` texts: a night's new tickets are read by the ticket
    vectors, the suggestions and assist in turn (0.24 ms each on one core)."""
    first, _, rest = (text or "")[:max_chars].partition("\n")
    return encoder_text(first, rest, max_chars)


def model_texts(texts: list[str], view: TextView) -> list[str]:
    """What a triage model reads of each text: ``whole`` returns ``texts`` unchanged;
    ``newest_message`` reads each through ``read_ticket``. Same length as ``texts``."""
    if view == "whole":
        return list(texts)
    return [read_ticket(t) for t in texts]
