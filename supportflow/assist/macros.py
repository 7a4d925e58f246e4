"""The team's reply macros: a YAML library (``supportflow/config/macros.yaml``) or a Zendesk
macros export.

Placeholders are ``{{name}}``; Zendesk's own (``{{ticket.requester.first_name}}``…) map to ours.
A Zendesk macro's reply is its ``comment_value`` action or, when that is missing, its
``comment_value_html`` (rich-text editor) turned into plain text. Simple Liquid conditionals
(``{% if %}``/``{% elsif %}``/``{% else %}``/``{% endif %}``) are rendered with python-liquid when
every variable they use is a known placeholder.

Left out and reported by id in ``problems`` (never an error): an inactive macro (``active:
false``), an empty body, an unknown placeholder, and Liquid the drafts cannot render (another tag,
a variable outside the fill context, a filter Liquid does not know). So a draft never contains a
literal ``{% … %}``. A file that is not valid YAML/JSON fails as a whole with its path and the
parser's position.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import yaml
from liquid import Environment
from liquid.exceptions import LiquidError

from supportflow.safe_yaml import describe, load_yaml

PLACEHOLDERS = {
    "customer_name": "the customer's first name (or 'there')",
    "agent_name": "the agent's name",
    "ticket_id": "the ticket id",
    "subject": "the ticket subject",
    "article_title": "the cited article's title",
    "article_url": "the cited article's URL",
    "article_steps": "the cited passage (or a holding line when none is approved)",
    "missing_info": "a request for the missing fields (empty when none)",
}
ZENDESK = {
    "ticket.requester.first_name": "customer_name",
    "ticket.requester.name": "customer_name",
    "current_user.first_name": "agent_name",
    "current_user.name": "agent_name",
    "ticket.id": "ticket_id",
    "ticket.title": "subject",
}
PLACEHOLDER = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")
GENERIC = "generic"

# Liquid: only conditionals. ``drafts.compose`` drops the lines that name the cited article when
# there is none, so a tag must not share a line with one (the template would lose its endif).
LIQUID_TAG = re.compile(r"\{%-?\s*(\w*)(.*?)-?%\}", re.DOTALL)
LIQUID_STATEMENT = re.compile(r"\{\{.*?\}\}", re.DOTALL)
CONDITIONAL_TAGS = {"if", "elsif", "else", "endif"}
ARTICLE_LINE = re.compile(r"\{\{\s*article_(?:title|url)\s*\}\}")
CANNOT_RENDER = "uses Liquid the drafts cannot render"
_LIQUID = Environment()  # strict parsing; unknown filters fail at parse time


class MacroLibraryError(ValueError):
    """The macro file cannot be read at all (missing, not YAML/JSON, wrong shape)."""


def _is_liquid(body: str) -> bool:
    """Liquid beyond plain ``{{name}}`` placeholders: a tag, or a statement with a filter."""
    return "{%" in body or any(not PLACEHOLDER.fullmatch(s) for s in LIQUID_STATEMENT.findall(body))


@lru_cache(maxsize=512)
def _template(body: str):
    return _LIQUID.from_string(body)


def _context(values: dict[str, str]) -> dict:
    """Our placeholders by name plus Zendesk's dotted names as nested objects."""
    context: dict = {name: values.get(name, "") for name in PLACEHOLDERS}
    for dotted, ours in ZENDESK.items():
        node = context
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = values.get(ours, "")
    return context


@dataclass(frozen=True)
class Macro:
    """One reply template: ``id`` (Zendesk's numeric id as text), ``title``, the ticket
    ``categories`` it answers, and ``body`` with ``{{placeholders}}`` (and, after loading, only
    Liquid conditionals this module can render)."""

    id: str
    title: str
    categories: tuple[str, ...]
    body: str

    def fill(self, values: dict[str, str]) -> str:
        """The body with placeholders replaced by ``values`` (keys of ``PLACEHOLDERS``; a missing
        one is empty) and Liquid conditionals evaluated; runs of blank lines collapse to one.

        Raises ``ValueError`` when the body's Liquid cannot be rendered: ``load_macros`` never
        lets such a macro through, so this only concerns macros built by hand.
        """
        if _is_liquid(self.body):
            try:
                text = _template(self.body).render(**_context(values))
            except LiquidError as exc:
                raise ValueError(f"macro {self.id}: {CANNOT_RENDER}: {exc}") from None
        else:
            text = PLACEHOLDER.sub(lambda m: values.get(ZENDESK.get(m[1], m[1]), ""), self.body)
        return re.sub(r"\n{3,}", "\n\n", text).strip()


@dataclass
class MacroLibrary:
    """The usable macros in file order and one line per macro left out (``problems``)."""

    macros: list[Macro]
    problems: list[str] = field(default_factory=list)

    def pick(self, category: str | None) -> Macro | None:
        """The macro for this category, else the generic one (``categories: [generic]``)."""
        for wanted in (category, GENERIC):
            for macro in self.macros:
                if wanted in macro.categories:
                    return macro
        return None


def _known(name: str) -> bool:
    return ZENDESK.get(name, name) in PLACEHOLDERS


def _liquid_problems(body: str) -> tuple[str | None, set[str]]:
    """Why python-liquid cannot render this body for a draft (None when it can), and the
    unknown variables it outputs (``{{ x | filter }}`` statements included)."""
    for match in LIQUID_TAG.finditer(body):
        if match[1] not in CONDITIONAL_TAGS:
            return f"{{% {match[1] or '…'} %}} (only if/elsif/else/endif are rendered)", set()
    for line in body.splitlines():
        if ARTICLE_LINE.search(line) and LIQUID_TAG.search(line):
            return "a Liquid tag on the same line as {{article_title}}/{{article_url}}", set()
    try:
        template = _template(body)
        analysis = template.analyze()
    except LiquidError as exc:
        return str(exc).splitlines()[0], set()
    tags = [(m.start(), m.end()) for m in LIQUID_TAG.finditer(body)]
    tested, output = set(), set()
    for found in analysis.globals.values():
        for var in found:
            name = ".".join(str(s) for s in var.segments)
            in_tag = any(start <= var.span.index < end for start, end in tags)
            (tested if in_tag else output).add(name)
    unknown = sorted(name for name in tested if not _known(name))
    if unknown:
        return f"tests {', '.join(unknown)}, not in the fill context", set()
    if "{%" in template.render(**_context({name: name for name in PLACEHOLDERS})):
        return "renders a literal {% … %}", set()
    return None, {name for name in output if not _known(name)}


def _check(macro: Macro) -> str | None:
    """The reason a macro is left out, or None when it can be used."""
    if not macro.body.strip():
        return f"macro {macro.id}: empty body"
    reasons = []
    unknown = {p for p in PLACEHOLDER.findall(macro.body) if not _known(p)}
    if _is_liquid(macro.body):
        problem, unknown_output = _liquid_problems(macro.body)
        unknown |= unknown_output
        if problem:
            reasons.append(f"{CANNOT_RENDER}: {problem}")
    if unknown:
        known = ", ".join(PLACEHOLDERS)
        reasons.append(f"unknown placeholder(s) {', '.join(sorted(unknown))} (known: {known})")
    return f"macro {macro.id}: {'; '.join(reasons)}" if reasons else None


class _ReplyText(HTMLParser):
    """Rich-text reply HTML → plain text: paragraphs and blocks are separated by a blank line,
    ``<br>`` is a line break, list items are ``- `` lines, entities are decoded."""

    PARAGRAPHS: ClassVar[set[str]] = {"p", "div", "blockquote", "pre", "table", "ul", "ol",
                                      "h1", "h2", "h3", "h4", "h5", "h6"}  # fmt: skip
    SKIP: ClassVar[set[str]] = {"script", "style", "head", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.PARAGRAPHS:
            self.parts.append("\n\n")
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "tr":
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.PARAGRAPHS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of a ``comment_value_html`` reply (stdlib ``html.parser``): ``<p>``/``<div>``
    and headings become paragraphs (blank line between), ``<br>`` a newline, ``<li>`` a ``- ``
    line; entities decoded (``&nbsp;`` as a space); spaces inside a line collapsed."""
    parser = _ReplyText()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _from_yaml(raw: dict) -> tuple[list[Macro], list[str]]:
    macros, problems = [], []
    for i, m in enumerate(raw.get("macros") or []):
        macro = Macro(str(m.get("id", f"#{i}")), str(m.get("title", "")),
                      tuple(m.get("categories") or ()), str(m.get("body") or ""))  # fmt: skip
        if m.get("active", True) is False:
            problems.append(f"macro {macro.id}: inactive (active: false), not used for drafts")
        else:
            macros.append(macro)
    return macros, problems


def _action_text(value) -> str:
    if isinstance(value, list):  # ["channel:all", "text"]
        value = value[-1] if value else ""
    return "" if value is None else str(value)


def _from_zendesk(raw: dict) -> tuple[list[Macro], list[str]]:
    """Macros as ``GET /api/v2/macros.json`` returns them (Zendesk Macros API; action fields from
    Zendesk's Actions reference).

    Body: the ``comment_value`` action, else ``comment_value_html`` as plain text; either may be
    a string or ``["channel:all", text]``. Categories: the tags the macro sets (``set_tags`` or
    ``current_tags``) and a ``Category::…`` title prefix. ``active: false`` (the list endpoint
    returns retired macros too) is left out and reported.
    """
    macros, problems = [], []
    for m in raw.get("macros") or []:
        actions = {a.get("field"): a.get("value") for a in m.get("actions") or []}
        body = _action_text(actions.get("comment_value"))
        if not body.strip():
            body = html_to_text(_action_text(actions.get("comment_value_html")))
        tags = actions.get("set_tags") or actions.get("current_tags") or ""
        categories = tags.split() if isinstance(tags, str) else list(tags)
        title = str(m.get("title", ""))
        if "::" in title:
            categories.append(title.split("::")[0].strip().lower().replace(" ", "_"))
        macro = Macro(str(m.get("id")), title, tuple(categories), body)
        if m.get("active", True) is False:
            problems.append(f"macro {macro.id}: inactive (active: false), not used for drafts")
        else:
            macros.append(macro)
    return macros, problems


def load_macros(path: Path) -> MacroLibrary:
    """Read a YAML library (``macros: [{id, title, categories, body, active?}]``) or a Zendesk
    macros export (``.json``, ``{"macros": [...]}``).

    Returns the usable macros and one ``problems`` line per macro left out (inactive, empty body,
    unknown placeholder, Liquid the drafts cannot render). Raises ``MacroLibraryError`` when the
    file is missing, not valid YAML/JSON, or has no top-level ``macros`` list.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise MacroLibraryError(f"macro library {path} does not exist") from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else load_yaml(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        why = describe(exc) if isinstance(exc, yaml.YAMLError) else str(exc)
        raise MacroLibraryError(f"{path}: not valid {kind}: {why}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("macros"), list):
        raise MacroLibraryError(f"{path}: expected a top-level 'macros' list")
    macros, skipped = _from_zendesk(raw) if path.suffix == ".json" else _from_yaml(raw)
    library = MacroLibrary([], skipped)
    for macro in macros:
        problem = _check(macro)
        if problem:
            library.problems.append(problem)
        else:
            library.macros.append(macro)
    return library
