"""Guardrail checks for a reply draft (or any agent reply) before a customer sees it.

Each finding has a code, a message, a character span and whether it blocks: a draft with a
blocking finding is marked ``needs_rewrite``. The checks are deliberately explainable (patterns
and one readability formula, not a model) so an agent can see why a draft was held.

- ``unsupported_promise``: guarantees and certainty words; amounts, percentages, dates and time
  commitments that the sources (ticket + cited articles) do not contain.
- ``private_data``: PII of anyone (e-mail, card with Luhn, IBAN with mod-97, phone, national id,
  street address) and internal-only content (internal notes, trackers, chat channels, other
  customers, text copied from internal articles).
- ``over_apology``: two or more apologies and no resolution step.
- ``missing_next_step``: nothing the customer can do and nothing we will do.
- ``readability``: Flesch reading ease below the limit (standard band: < 30 is "very difficult").
- ``policy_reminder``: category rules from the assist config (refunds over a limit need approval,
  account changes need identity verification).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache

from supportflow.assist.config import GuardrailConfig, PolicyRule
from supportflow.ingest import redact

BLOCKING = frozenset({"unsupported_promise", "private_data", "missing_next_step"})
IC = re.IGNORECASE


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    start: int
    end: int
    blocking: bool

    def as_dict(self) -> dict:
        return asdict(self)


def _find(code: str, message: str, match: re.Match) -> Finding:
    return Finding(code, message, match.start(), match.end(), code in BLOCKING)


# ------------------------------------------------------------------ unsupported promises
CERTAINTY = re.compile(
    r"\b(guarantee[sd]?|(?:i|we)(?: can)? promise|promise you|100\s?%|definitely|certainly|"
    r"for sure|rest assured|assured me|i'?m confident|consider it done|absolutely|"
    r"no questions asked|for good|never (?:happen|affect|be charged|charged|again)\w*|"
    r"free of charge|for free|entitled to|zero downtime)\b",
    IC,
)
AMOUNT = re.compile(
    r"[$€£]\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*(?:\.\d+)?\s?(?:usd|eur|gbp|dollars|euros)\b|"
    r"\b\d+(?:\.\d+)?\s?%",
    IC,
)
NUMBER_WORDS = r"one|two|three|four|five|ten|fifteen|twenty|thirty|sixty"
UNIT = r"(?:minutes?|mins?|hours?|hrs?|(?:business |working )?days?|weeks?|months?)"
TIME = re.compile(
    rf"\b(?:by|within|in|before|until|for(?: the next)?)\s+(?:\d+|{NUMBER_WORDS})\s*{UNIT}|"
    r"\b(?:by|within|before|until)\s+(?:the )?(?:end of (?:the )?(?:day|week|month)|hour|"
    r"today|tonight|tomorrow|noon)\b|\btomorrow (?:morning|afternoon|evening)\b|"
    r"\b(?:next|on|by|this)\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"release)\b|\b\d{1,2}\s?(?:am|pm)\b|\b\d{4}-\d{2}-\d{2}\b|"
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b|\bq[1-4]\b",
    IC,
)


CONCESSION = re.compile(
    r"\b(?:waive\w*|discount\w*|compensat\w*|free upgrade|upgrade you|extend your trial|"
    r"price match\w*)\b",
    IC,
)


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "").removesuffix(".00") for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


def _supported(fragment: str, sources: str) -> bool:
    """An amount or time phrase is supported when the sources state the same numbers (and
    unit), or, for phrases without numbers, the phrase itself."""
    numbers = _numbers(fragment)
    if numbers:
        unit = re.search(UNIT, fragment, IC)
        root = unit.group(0).lower().rstrip("s")[:4] if unit else ""
        return numbers <= _numbers(sources) and root in sources.lower()
    phrase = re.sub(r"^(?:by|within|in|before|until|on|next|this)\s+", "", fragment.lower())
    return phrase in sources.lower()


def unsupported_promises(reply: str, sources: str) -> list[Finding]:
    out = [_find("unsupported_promise", f"promises certainty: {m.group(0)!r}", m)
           for m in CERTAINTY.finditer(reply)]  # fmt: skip
    out += [
        _find("unsupported_promise", f"concession the sources do not offer: {m.group(0)!r}", m)
        for m in CONCESSION.finditer(reply)
        if m.group(0).lower()[:6] not in sources.lower()
    ]
    for pattern, what in ((AMOUNT, "amount"), (TIME, "date or time commitment")):
        out += [
            _find("unsupported_promise", f"{what} not in the sources: {m.group(0)!r}", m)
            for m in pattern.finditer(reply)
            if not _supported(m.group(0), sources)
        ]
    return out


# ------------------------------------------------------------------ private data
def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return len(digits) >= 13 and total % 10 == 0


def _iban(text: str) -> bool:
    s = text.replace(" ", "")
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


PII = [
    (re.compile(redact.EMAIL), "an e-mail address", None),
    (re.compile(redact.IBAN), "a bank account (IBAN)", _iban),
    (re.compile(redact.CARD), "a card number", lambda s: _luhn(re.sub(r"\D", "", s))),
    (re.compile(redact.NATIONAL_ID), "a national id number", None),
    (re.compile(redact.PHONE), "a phone number", None),
    (re.compile(redact.STREET), "a street address", None),
]
INTERNAL = re.compile(  # words case-insensitive; priorities and company names case-sensitive
    r"(?i:\binternal(?:ly)?\b|\bconfidential\b|do not share|staff[- ]only|\bbetween us\b|"
    r"off the record|not public yet|\b(?:on|in) slack\b|slack channel|\bjira\b|\bcrm\b|"
    r"\brunbook\b|\bwiki\b|"
    r"(?:admin|sales team|account manager)(?:'s)? notes?|\bnotes from\b|\bour notes\b|"
    r"team lead said|churn[- ]risk|\bfraud\b|difficult customer)|#[a-z][a-z0-9-]{2,}|"
    r"\bP[0-4]\b|\b[A-Z][a-z]+ (?:Corp|Inc|Ltd|GmbH|LLC)\b|"
    r"(?:other|another) customers?\b",
)
TRACKER_KEY = re.compile(r"\b[A-Z][A-Z0-9]{1,9}-\d{2,6}\b")


def private_data(reply: str, sources: str, internal_texts: Iterable[str] = ()) -> list[Finding]:
    out = []
    for pattern, what, valid in PII:
        for m in pattern.finditer(reply):
            if "[" in m.group(0) or (valid is not None and not valid(m.group(0))):
                continue  # a redaction token, or digits that fail the checksum
            out.append(_find("private_data", f"contains {what}", m))
    out += [_find("private_data", f"internal-only content: {m.group(0)!r}", m)
            for m in INTERNAL.finditer(reply)]  # fmt: skip
    out += [
        _find("private_data", f"internal tracker reference {m.group(0)!r}", m)
        for m in TRACKER_KEY.finditer(reply)
        if m.group(0) not in sources  # the customer's own invoice or order number is fine
    ]
    out += _copied_from_internal(reply, internal_texts)
    return out


WORD = re.compile(r"\w+")
COPY_WORDS = 8  # this many words in a row shared with an internal article count as a copy


def internal_grams(texts: Iterable[str], n: int = COPY_WORDS) -> frozenset[tuple[str, ...]]:
    """Every run of ``n`` words in the internal-only texts (lower case), built once per run and
    passed to ``check_reply`` as ``internal_texts`` for each reply."""
    grams: set[tuple[str, ...]] = set()
    for text in texts:
        tokens = re.findall(r"\w+", text.lower())
        grams.update(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return frozenset(grams)


def _copied_from_internal(
    reply: str, internal_texts: Iterable[str] | frozenset, n: int = COPY_WORDS
) -> list[Finding]:
    """Eight words in a row that also appear in an internal-only article (``internal_texts``:
    the texts, or their ``internal_grams``)."""
    known = (
        internal_texts
        if isinstance(internal_texts, frozenset)
        else internal_grams(internal_texts, n)
    )
    if not known:
        return []
    spans = [m.span() for m in WORD.finditer(reply)]
    lowered = [reply[a:b].lower() for a, b in spans]
    runs = zip(*(lowered[k:] for k in range(n)), strict=False)  # each run of n words
    for i, gram in enumerate(runs):
        if gram in known:
            start, end = spans[i][0], spans[i + n - 1][1]
            message = "text copied from an internal-only article"
            return [Finding("private_data", message, start, end, True)]
    return []


# ------------------------------------------------------------------ next step, apology
APOLOGY = re.compile(r"\b(sorry|apolog\w*|regret\w*|forgive)\b", IC)
NOT_ACTIONS = r"(?!read\b|noted\b|note\b|received\b|seen\b|understood\b|heard\b|appreciate)"
ACTION = re.compile(
    r"(?:^|[.!?;]\s*|,\s+|\bthen\s+|\band\s+)(?:open|go|click|select|choose|try|reply|send|check|"
    r"update|clear|sign|log|visit|follow|use|ask|request|pick|type|enter|refresh|reload|"
    r"restart|reinstall|reconnect|contact|call|email|switch|add|remove|download|confirm|"
    r"provide|share|keep|review|monitor|subscribe|migrate|verify|coordinate|continue|"
    r"furnish|communicate|reduce|examine|reauthenticate|reinitialize|wait)\b|"
    r"\bplease (?!accept\b)\w+|\b(?:could|can|would) you\b|\byou (?:can|could|should|need to|"
    r"will|'ll|won't)\b|\byou'll\b|\b(?:i|we)(?:'ve| have| will|'ll| am going to| can)\s+"
    rf"{NOT_ACTIONS}\w+|\blet (?:me|us) know\b|\bget back to you\b|\bkeep you posted\b|"
    r"\bfollow up\b|\bescalat\w+|\bforwarded\b|\b(?:i'?d|we) (?:suggest|recommend)\b|"
    r"\b(?:accessible|available) (?:through|via|from|in)\b|\bwho can\b|"
    r"\b(?:can|administrators? can) (?:enable|change|reset|reconfigure|be (?:downloaded|found|"
    r"changed))\b|\b(?:i|we) (?:just )?(?:issued|refunded|applied|credited|reset|fixed|updated|"
    r"changed|moved|made|disabled|removed|turned|bypassed|switched|reversed|processed|sent|"
    r"merged|restored|unlocked|reactivated)\b|\b(?:has|have) been (?:sent|processed|issued|"
    r"refunded|applied|approved|fixed|resolved)\b|\bis on its way\b|\bis going back\b|\?",
    IC | re.MULTILINE,
)


def has_next_step(reply: str) -> bool:
    body = re.sub(r"^\s*(?:hi|hello|hey|dear)\b[^,!.\n]*[,!.]\s*", "", reply, flags=IC)
    return ACTION.search(body) is not None


def next_step_findings(reply: str) -> list[Finding]:
    if has_next_step(reply):
        return []
    apologies = list(APOLOGY.finditer(reply))
    out = [Finding("missing_next_step", "no next step for the customer and no escalation path",
                   0, len(reply), True)]  # fmt: skip
    if len(apologies) >= 2:
        out.append(
            Finding(
                "over_apology",
                f"{len(apologies)} apologies and no resolution step",
                apologies[0].start(),
                apologies[-1].end(),
                False,
            )
        )
    return out


# ------------------------------------------------------------------ readability
VOWEL_GROUP = re.compile(r"[aeiouy]+")
LATIN_WORD = re.compile(r"[A-Za-z]+")
SENTENCE_END = re.compile(r"[.!?;]+(?:\s|$)")


@lru_cache(maxsize=1 << 16)  # replies repeat their words: a night checks thousands
def syllables(word: str) -> int:
    word = word.lower()
    groups = VOWEL_GROUP.findall(word)
    count = len(groups) - (1 if word.endswith("e") and len(groups) > 1 else 0)
    return max(count, 1)


def reading_ease(text: str) -> float:
    """Flesch reading ease: 206.835 − 1.015 × words/sentence − 84.6 × syllables/word."""
    words = LATIN_WORD.findall(text)
    sentences = max(len(SENTENCE_END.findall(text)), 1)
    if not words:
        return 100.0
    per_word = sum(syllables(w) for w in words) / len(words)
    return 206.835 - 1.015 * len(words) / sentences - 84.6 * per_word


def readability(reply: str, config: GuardrailConfig) -> list[Finding]:
    if len(re.findall(r"[A-Za-z]+", reply)) < config.readability_min_words:
        return []
    score = reading_ease(reply)
    if score >= config.min_reading_ease:
        return []
    message = f"hard to read: reading ease {score:.0f} (aim for ≥ {config.min_reading_ease:.0f})"
    return [Finding("readability", message, 0, len(reply), False)]


# ------------------------------------------------------------------ policy reminders
def policy_reminders(reply: str, category: str | None, rules: list[PolicyRule]) -> list[Finding]:
    out = []
    for rule in rules:
        if category not in rule.categories or re.search(rule.unless, reply, IC):
            continue
        for m in re.finditer(rule.when, reply, IC):
            amounts = [float(n) for n in _numbers(m.group(0))]
            if rule.min_amount is None or any(a > rule.min_amount for a in amounts):
                out.append(_find("policy_reminder", rule.message, m))
                break
    return out


def check_reply(
    reply: str,
    *,
    category: str | None = None,
    sources: str = "",
    config: GuardrailConfig | None = None,
    internal_texts: Iterable[str] = (),
) -> list[Finding]:
    """Every finding for one reply, in text order."""
    config = config or GuardrailConfig()
    findings = (
        unsupported_promises(reply, sources)
        + private_data(reply, sources, internal_texts)
        + next_step_findings(reply)
        + readability(reply, config)
        + policy_reminders(reply, category, config.policies)
    )
    return sorted(findings, key=lambda f: (f.start, f.code))


def needs_rewrite(findings: Iterable[Finding]) -> bool:
    return any(f.blocking for f in findings)
