"""The team's reply macros: a YAML library (``experiments/macros.yaml``) or a Zendesk macros export.

Placeholders are ``{{name}}``; Zendesk's own (``{{ticket.requester.first_name}}``…) map to ours.
A macro with an unknown placeholder or no body is reported by id and left out; a file that is
not valid YAML/JSON fails as a whole with its path and the parser's position.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

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


class MacroLibraryError(ValueError):
    """The macro file cannot be read at all (missing, not YAML/JSON, wrong shape)."""


@dataclass(frozen=True)
class Macro:
    id: str
    title: str
    categories: tuple[str, ...]
    body: str

    def fill(self, values: dict[str, str]) -> str:
        text = PLACEHOLDER.sub(lambda m: values.get(ZENDESK.get(m[1], m[1]), ""), self.body)
        return re.sub(r"\n{3,}", "\n\n", text).strip()


@dataclass
class MacroLibrary:
    macros: list[Macro]
    problems: list[str] = field(default_factory=list)

    def pick(self, category: str | None) -> Macro | None:
        """The macro for this category, else the generic one (``categories: [generic]``)."""
        for wanted in (category, GENERIC):
            for macro in self.macros:
                if wanted in macro.categories:
                    return macro
        return None


def _check(macro: Macro) -> str | None:
    if not macro.body.strip():
        return f"macro {macro.id}: empty body"
    unknown = sorted({p for p in PLACEHOLDER.findall(macro.body)
                      if ZENDESK.get(p, p) not in PLACEHOLDERS})  # fmt: skip
    if unknown:
        known = ", ".join(PLACEHOLDERS)
        return f"macro {macro.id}: unknown placeholder(s) {', '.join(unknown)} (known: {known})"
    return None


def _from_yaml(raw: dict) -> list[Macro]:
    return [
        Macro(str(m.get("id", f"#{i}")), str(m.get("title", "")),
              tuple(m.get("categories") or ()), str(m.get("body") or ""))
        for i, m in enumerate(raw.get("macros") or [])
    ]  # fmt: skip


def _from_zendesk(raw: dict) -> list[Macro]:
    """Body from the ``comment_value`` action; categories from tags it sets and from a
    ``Category::…`` title prefix."""
    out = []
    for m in raw.get("macros") or []:
        actions = {a.get("field"): a.get("value") for a in m.get("actions") or []}
        body = actions.get("comment_value") or ""
        if isinstance(body, list):  # ["channel:all", "text"]
            body = body[-1]
        tags = actions.get("set_tags") or actions.get("current_tags") or ""
        categories = tags.split() if isinstance(tags, str) else list(tags)
        title = str(m.get("title", ""))
        if "::" in title:
            categories.append(title.split("::")[0].strip().lower().replace(" ", "_"))
        out.append(Macro(str(m.get("id")), title, tuple(categories), str(body)))
    return out


def load_macros(path: Path) -> MacroLibrary:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise MacroLibraryError(f"macro library {path} does not exist") from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise MacroLibraryError(f"{path}: not valid {kind}: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("macros"), list):
        raise MacroLibraryError(f"{path}: expected a top-level 'macros' list")
    macros = _from_zendesk(raw) if path.suffix == ".json" else _from_yaml(raw)
    library = MacroLibrary([])
    for macro in macros:
        problem = _check(macro)
        if problem:
            library.problems.append(problem)
        else:
            library.macros.append(macro)
    return library
