"""The one YAML loader for every file a user supplies (configs, rules, mappings, macros,
article front matter): bounded work on any input.

PyYAML's safe loader still expands anchors and aliases, so a few hundred bytes can grow into
gigabytes ("billion laughs", ../shared/cases/24). This loader refuses aliases outright — none of
our files needs them — and refuses documents over ``MAX_BYTES``. Both fail as ``yaml.YAMLError``
(callers already turn that into one line naming the file), at once and in constant memory.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 5_000_000  # the largest YAML any supportflow file needs is a few kB


class BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses aliases (``*name``) before expanding anything."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not accepted", event.start_mark
            )
        return super().compose_node(parent, index)


def load_yaml(text: str | bytes) -> Any:
    """The document in ``text`` (``None`` when empty). Raises ``yaml.YAMLError`` for invalid
    YAML, an alias, or a document over ``MAX_BYTES``."""
    if len(text) > MAX_BYTES:
        raise yaml.YAMLError(f"document of {len(text):,} bytes; the limit is {MAX_BYTES:,}")
    return yaml.load(text, Loader=BoundedLoader)


def describe(exc: yaml.YAMLError) -> str:
    """One line for a YAML error: what is wrong and where (``… at line 3, column 8``)."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return f"{exc.problem}{where}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
