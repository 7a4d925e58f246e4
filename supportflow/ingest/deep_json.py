"""JSON of any depth, read with a depth cap: linear time, memory bounded by what is kept.

Why not the usual parsers for this: orjson parses up to 1,024 levels (deeper, the whole document
fails) and serialises up to 255; ijson's ``items``/``parse`` build a prefix string per event
whose length grows with the depth, so a value nested 20,000 deep took ~1 GB and 50,000 deep
exhausted memory. Here values are built from ijson's ``basic_parse`` events (no prefixes) on an
explicit stack (no recursion): a container deeper than ``max_depth`` levels becomes the marker
``TOO_DEEP`` and the rest of it is skipped. ``TOO_DEEP`` is not JSON: ``orjson.dumps`` raises
``TypeError`` on it, which is how the Zendesk reader quarantines such a record
("unexpected structure: nested too deeply"), and ``bounds.bound_record`` leaves such a value out.

The readers use these only where orjson cannot: a document or line deeper than orjson parses,
and Zendesk documents too large to parse at once (``zendesk_shape.IN_MEMORY_BYTES``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import ijson
import orjson

# orjson serialises at most 255 levels; a record kept to this depth can always be written back.
MAX_DEPTH = 254
_STARTS = {"start_map": dict, "start_array": list}
# ijson reads this much at a time and turns it into events at once (~16 MB of event objects
# per MB of small values); a string longer than one read is lexed again at each read
# (quadratic): over one 50 MB string, 64 KB reads took 14 s, 1 MB reads 1.1 s.
READ_BYTES = 1 << 20
_ENDS = ("end_map", "end_array")


class _TooDeep:
    """The marker for a value cut off at ``max_depth`` (one shared instance: ``TOO_DEEP``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "TOO_DEEP"


TOO_DEEP: Any = _TooDeep()
# What reading malformed JSON here raises: ijson's errors (not ValueErrors) and our own.
JSON_ERRORS = (ijson.JSONError, ValueError)


_SHORT_ESCAPES = "\b\t\n\f\r"  # written as two characters; other controls as \u00XX (six)
_LONG_ESCAPES = [chr(c) for c in range(0x20) if chr(c) not in _SHORT_ESCAPES]
_CONTROL = re.compile("[\x00-\x1f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def string_length(text: str) -> int:
    """Characters of ``text`` as a JSON string the way orjson writes it (quotes, ``\\"``,
    ``\\\\``, control characters escaped; nothing else). Raises ``TypeError`` for a lone
    surrogate, as orjson does."""
    if text.isascii() and text.isprintable():  # the common case, without a regex
        return 2 + len(text) + text.count('"') + text.count("\\")
    if _SURROGATE.search(text):
        raise TypeError("str is not valid UTF-8: surrogates not allowed")
    extra = text.count('"') + text.count("\\")
    if _CONTROL.search(text):
        extra += sum(text.count(c) for c in _SHORT_ESCAPES)
        extra += 5 * sum(text.count(c) for c in _LONG_ESCAPES)
    return 2 + len(text) + extra


def scalar_length(value: Any) -> int:
    """Characters of a JSON scalar as orjson writes it; ``TypeError`` where orjson raises."""
    if isinstance(value, str):
        return string_length(value)
    if value is None or value is True:
        return 4
    if value is False:
        return 5
    if isinstance(value, int | float):
        return len(orjson.dumps(value))
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def json_length(value: Any, max_depth: int = MAX_DEPTH) -> int:
    """Characters of ``orjson.dumps(value).decode()``, counted without writing it (a 50 MB
    record is not copied); raises ``TypeError`` where orjson would (more than ``max_depth``
    nested containers, ``TOO_DEEP``, an integer past 64 bits, a lone surrogate)."""
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            total += scalar_length(item)
            continue
        if depth >= max_depth:
            raise TypeError("Recursion limit reached")
        total += 2 + max(len(item) - 1, 0)  # brackets and commas
        if isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
            continue
        for key, child in item.items():
            if not isinstance(key, str):
                raise TypeError("Dict key must be str")
            total += string_length(key) + 1  # and its colon
            stack.append((child, depth + 1))
    return total


def is_depth_error(exc: Exception) -> bool:
    """True when orjson refused a document for its depth (not for bad syntax)."""
    return isinstance(exc, orjson.JSONDecodeError) and "depth" in str(exc).lower()


def build(events: Iterator[tuple[str, Any]], first: tuple[str, Any], max_depth: int) -> Any:
    """The value that starts with the ``basic_parse`` event ``first``; the rest of its events are
    read from ``events``. Containers nested deeper than ``max_depth`` (the value itself is level
    1) become ``TOO_DEEP``. Raises one of ``JSON_ERRORS`` for malformed JSON (``ValueError``
    for a document that ends inside the value)."""
    event, value = first
    if event not in _STARTS:
        return value
    root = _STARTS[event]()
    stack: list[Any] = [root]
    keys: list[Any] = [None]
    skip = 0
    for event, value in events:
        if skip:  # inside a container cut off for its depth: count levels, keep nothing
            if event in _STARTS:
                skip += 1
            elif event in _ENDS:
                skip -= 1
            continue
        if event == "map_key":
            keys[-1] = sys.intern(value)  # the same keys repeat in every item
            continue
        if event in _ENDS:
            stack.pop()
            keys.pop()
            if not stack:
                return root
            continue
        if event in _STARTS:
            if len(stack) >= max_depth:
                item, skip = TOO_DEEP, 1
            else:
                item = _STARTS[event]()
        else:
            item = value
        parent = stack[-1]
        if isinstance(parent, dict):
            parent[keys[-1]] = item
        else:
            parent.append(item)
        if event in _STARTS and item is not TOO_DEEP:
            stack.append(item)
            keys.append(None)
    raise ValueError("the JSON ends inside a value")


@dataclass(slots=True)
class Measured:
    """One value read with ``build_measured``: ``value`` (its start only when not ``complete``),
    ``chars`` its whole length as orjson writes it (``bounds.json_length``)."""

    value: Any
    chars: int
    complete: bool


def build_measured(
    events: Iterator[tuple[str, Any]], first: tuple[str, Any], max_depth: int, max_chars: int
) -> Measured:
    """``build``, counting the value's length as JSON as it goes (``json_length``); past
    ``max_chars`` characters nothing more is kept (the rest is only counted), so memory is
    bounded by ``max_chars`` whatever the value's size. Raises like ``build``, and
    ``TypeError`` for a number orjson cannot write."""
    event, value = first
    if event not in _STARTS:
        chars = scalar_length(value)
        return Measured(value, chars, chars <= max_chars)
    root = _STARTS[event]()
    stack: list[Any] = [root]  # None: a container no longer kept (too deep, past max_chars)
    keys: list[Any] = [None]
    kinds = [event]
    sizes = [0]  # members so far per open container (for the commas)
    chars = 2
    for event, value in events:
        if event == "map_key":
            chars += string_length(value) + 1 + (1 if sizes[-1] else 0)
            sizes[-1] += 1
            keys[-1] = sys.intern(value)  # the same keys repeat in every item
            continue
        if event in _ENDS:
            for levels in (stack, keys, kinds, sizes):
                levels.pop()
            if not kinds:
                return Measured(root, chars, chars <= max_chars)
            continue
        if kinds[-1] == "start_array":
            chars += 1 if sizes[-1] else 0
            sizes[-1] += 1
        parent = stack[-1]
        keep = parent is not None and chars <= max_chars
        if event in _STARTS:
            chars += 2
            child = None
            if keep and len(stack) >= max_depth:
                _put(parent, keys[-1], TOO_DEEP)
            elif keep:
                child = _STARTS[event]()
                _put(parent, keys[-1], child)
            stack.append(child)
            keys.append(None)
            kinds.append(event)
            sizes.append(0)
            continue
        chars += scalar_length(value)
        if keep:
            _put(parent, keys[-1], value)
        elif chars > max_chars:  # nothing more is kept: count the rest in a plain loop
            chars = _count_rest(events, kinds, sizes, chars)
            return Measured(root, chars, False)
    raise ValueError("the JSON ends inside a value")


def _count_rest(events: Iterator[tuple[str, Any]], kinds: list, sizes: list, chars: int) -> int:
    """``chars`` plus the length of the rest of a value whose open containers are ``kinds``
    (with ``sizes`` members so far), read to its end without keeping anything."""
    for event, value in events:
        if event == "map_key":
            chars += string_length(value) + (2 if sizes[-1] else 1)
            sizes[-1] += 1
            continue
        if event in _ENDS:
            kinds.pop()
            sizes.pop()
            if not kinds:
                return chars
            continue
        if kinds[-1] == "start_array":
            if sizes[-1]:
                chars += 1
            sizes[-1] += 1
        if event in _STARTS:
            chars += 2
            kinds.append(event)
            sizes.append(0)
        elif event == "integer":
            chars += len(str(value))
        else:
            chars += scalar_length(value)
    raise ValueError("the JSON ends inside a value")


def _put(parent: Any, key: Any, item: Any) -> None:
    if isinstance(parent, dict):
        parent[key] = item
    else:
        parent.append(item)


def loads_capped(data: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """One JSON value (a line of an NDJSON file) with containers past ``max_depth`` levels as
    ``TOO_DEEP``. Raises one of ``JSON_ERRORS`` for malformed JSON."""
    events = ijson.basic_parse(data, buf_size=READ_BYTES, use_float=True)
    first = next(events, None)
    if first is None:
        raise ValueError("no JSON value")
    return build(events, first, max_depth)


def top_level_keys(handle: IO[bytes]) -> Iterator[str]:
    """The keys of a JSON document's top-level object, in order, streaming (values skipped)."""
    depth = 0
    for event, value in ijson.basic_parse(handle, buf_size=READ_BYTES, use_float=True):
        if event in _STARTS:
            depth += 1
        elif event in _ENDS:
            depth -= 1
        elif depth == 1 and event == "map_key":
            yield value


def first_value_keys(handle: IO[bytes]) -> dict | None:
    """The top-level keys of the first JSON value in ``handle`` (an NDJSON file's first line),
    streaming, with ``[]``/``{}`` standing for array/object values and None for scalars; None
    when that value is not an object. Raises one of ``JSON_ERRORS`` for malformed JSON."""
    events = ijson.basic_parse(handle, buf_size=READ_BYTES, use_float=True, multiple_values=True)
    first = next(events, None)
    if first is None or first[0] != "start_map":
        return None
    keys: dict = {}
    depth, key = 1, None
    for event, value in events:
        if depth == 1 and event == "map_key":
            key = value
            continue
        if depth == 1 and key is not None:
            keys[key] = _STARTS[event]() if event in _STARTS else None
            key = None
        if event in _STARTS:
            depth += 1
        elif event in _ENDS:
            depth -= 1
            if depth == 0:
                return keys
    raise ValueError("the JSON ends inside a value")


def document_items(handle: IO[bytes], key: str, max_depth: int = MAX_DEPTH) -> Iterator[Any]:
    """Each item of the array under the top-level ``key`` of a JSON document, streaming (an
    object under ``key`` is one item: the ``ticket`` of a Show Ticket response). Items are
    built with ``build``, so an item's containers past ``max_depth`` levels are ``TOO_DEEP``."""
    for events, first in _item_starts(handle, key):
        yield build(events, first, max_depth)


def measured_items(
    handle: IO[bytes], key: str, max_chars: int, max_depth: int = MAX_DEPTH
) -> Iterator[Measured]:
    """``document_items`` read with ``build_measured``: an item over ``max_chars`` characters
    comes back with only its start kept (``complete`` False) and its full length."""
    for events, first in _item_starts(handle, key):
        yield build_measured(events, first, max_depth, max_chars)


def _item_starts(
    handle: IO[bytes], key: str
) -> Iterator[tuple[Iterator[tuple[str, Any]], tuple[str, Any]]]:
    """(event stream, first event) of each item under ``key``; the consumer reads the item's
    events before asking for the next one."""
    events = ijson.basic_parse(handle, buf_size=READ_BYTES, use_float=True)
    depth = 0
    for event, value in events:
        if depth == 1 and event == "map_key" and value == key:
            first = next(events)
            if first[0] == "start_array":
                for item_first in events:
                    if item_first[0] == "end_array":
                        break
                    yield events, item_first
            elif first[0] == "start_map":
                yield events, first
            continue  # a scalar under the key holds no items
        if event in _STARTS:
            depth += 1
        elif event in _ENDS:
            depth -= 1
