"""The one YAML loader for every file a user supplies (configs, rules, mappings, macros,
article front matter): bounded work on any input.

PyYAML's safe loader shares an aliased node, so a few hundred bytes of nested aliases describe a
document of billions of values ("billion laughs", ../shared/cases/24); whatever walks the result
as a tree (validation, JSON) then runs out of memory. This loader counts the values the document
expands to — in time proportional to its nodes, each counted once — and refuses it beyond
``MAX_VALUES``, as it refuses a file over ``MAX_BYTES`` or nested deeper than Python can walk.
Aliases within those bounds (a dumper's ``&id001`` for a repeated mapping) load as usual.
Every refusal is a ``yaml.YAMLError``, which callers turn into one line naming the file.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 5_000_000  # the largest YAML any supportflow file needs is a few kB
MAX_VALUES = 200_000  # scalars, sequences and mappings once aliases are expanded


def load_yaml(text: str | bytes) -> Any:
    """The document in ``text`` (``None`` when empty). Raises ``yaml.YAMLError`` for invalid
    YAML, a document over ``MAX_BYTES``, or one whose aliases expand past ``MAX_VALUES``."""
    if len(text) > MAX_BYTES:
        raise yaml.YAMLError(f"document of {len(text):,} bytes; the limit is {MAX_BYTES:,}")
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        values = expanded_size(node, {})
        if values > MAX_VALUES:
            raise yaml.YAMLError(
                f"its aliases expand to {values:,} values; the limit is {MAX_VALUES:,}"
            )
        return loader.construct_document(node)
    except RecursionError:
        raise yaml.YAMLError("nested too deeply") from None
    finally:
        loader.dispose()


def expanded_size(node: yaml.Node, seen: dict[int, int]) -> int:
    """How many values ``node`` stands for with every alias expanded (memoised per node, so
    the count itself stays linear in the document)."""
    if (known := seen.get(id(node))) is not None:
        return known
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(expanded_size(child, seen) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(expanded_size(k, seen) + expanded_size(v, seen) for k, v in node.value)
    else:
        size = 1
    seen[id(node)] = size
    return size


def describe(exc: yaml.YAMLError) -> str:
    """One line for a YAML error: what is wrong and where (``… at line 3, column 8``)."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return f"{exc.problem}{where}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
