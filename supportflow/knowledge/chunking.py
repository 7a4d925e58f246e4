"""Split an article into retrievable passages: by Markdown headings, then packed by paragraph
and sentence within a token budget, each passage prefixed by its title and heading so that a
passage read alone still says what it is about.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")
SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    heading: str
    text: str  # the passage as stored and shown
    tokens: int


def sections(body: str) -> list[tuple[str, str]]:
    """(heading, text) pairs in document order; text before the first heading has heading ''."""
    found: list[tuple[str, list[str]]] = [("", [])]
    for line in body.splitlines():
        match = HEADING.match(line)
        if match:
            found.append((match.group(2), []))
        else:
            found[-1][1].append(line)
    return [(h, "\n".join(lines).strip()) for h, lines in found if "\n".join(lines).strip()]


def _pieces(text: str, budget: int, count: Callable[[str], int]) -> list[str]:
    """Paragraphs, and sentences of paragraphs over budget; a sentence over budget stays whole
    (the encoder truncates it) rather than being cut mid-sentence."""
    out = []
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        if not para:
            continue
        out.extend([para] if count(para) <= budget else SENTENCE.split(para))
    return out


def chunk_article(
    title: str, body: str, count_tokens: Callable[[str], int], budget: int = 120
) -> list[Chunk]:
    """Passages of at most ``budget`` tokens (title and heading included) wherever possible."""
    chunks: list[Chunk] = []
    for heading, text in sections(body) or [("", body.strip())]:
        label = title if not heading or heading == title else f"{title} — {heading}"
        room = max(budget - count_tokens(label), budget // 4)
        current: list[str] = []
        size = 0
        for piece in _pieces(text, room, count_tokens):
            n = count_tokens(piece)
            if current and size + n > room:
                chunks.append(_make(len(chunks), heading, label, current, count_tokens))
                current, size = [], 0
            current.append(piece)
            size += n
        if current:
            chunks.append(_make(len(chunks), heading, label, current, count_tokens))
    return chunks


def _make(ordinal: int, heading: str, label: str, pieces: list[str], count) -> Chunk:
    text = f"{label}\n" + "\n".join(pieces)
    return Chunk(ordinal, heading, text, count(text))
