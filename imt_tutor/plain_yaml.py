"""The loader's fast path: the plain block YAML that answers files are written in.

A batch grades thousands of small files such as::

    student: A. Student
    case: lung-cough-alk-positive
    submitted_at: '2026-12-02T01:17:56+00:00'
    answers:
      presentation.next-steps: [cross_sectional_imaging]
      imaging.working-diagnosis:
      - mass_under_investigation

and most of the time of a batch went into turning libyaml's events into
values. :func:`parse_plain` reads this narrow subset of YAML line by line, with
the same values and the same positions (every key, value and item) as
:mod:`imt_tutor.loading` gives through either YAML parser; for anything else it
returns ``None`` and the caller parses the text in full. The subset:

* block mappings whose keys are ASCII words (``[A-Za-z_][A-Za-z0-9_.-]*``,
  each resolving to a string and not repeated), block sequences (also at
  their key's indentation), and one-line flow sequences of words;
* one-line scalars: plain ones that start with a letter, digit or ``_`` and
  hold no ``#``, ``[``, ``]``, ``{``, ``}`` or ``": "``, single-quoted ones
  without ``''`` and double-quoted ones without ``\\``;
* spaces for indentation, blank lines and whole-line comments; ``\\n`` line
  ends only (no tab, carriage return or Unicode line break anywhere).

Everything outside it -- an empty value, a trailing comment, an anchor, a
tag, a block scalar, a document marker, a repeated key, a bad indentation --
falls back to the full parser, which also words every error. A hypothesis
test (``tests/test_plain_yaml.py``) checks that the two agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

__all__ = ["LINES", "NOT_STRINGS", "NUMBER_START", "WORD", "Mark", "lines_of", "mark_of", "parse_plain"]

# Any of these anywhere: not the subset (tabs, other line ends, a BOM inside).
_OUTSIDE = re.compile("[\t\r\x85\u2028\u2029\ufeff]")
# One line: its indentation, then a key and the rest after ':', or a '- ' item.
# (The value is taken up to the line's end, its trailing spaces stripped after:
# a lazy group before " *" would be tried once a character.)
# Each alternative ends at the line's end, and '^' only matches at a line's start: every line
# matches once or not at all. Groups: indentation; key, the spaces after its ':', the rest;
# an item's '- ' and the rest. (A line matching none is outside the subset: see parse_plain.)
LINES = re.compile(
    r"^( *)(?:([A-Za-z_][A-Za-z0-9_.-]*):(?:( +)(.*))?|(- +)(.*)|(?:#.*)?)$",
    re.ASCII | re.MULTILINE,
)
_last_lines: tuple[object, list[tuple[str, ...]]] = (object(), [])  # no text yet


def lines_of(text: str) -> list[tuple[str, ...]]:
    """``LINES.findall(text)``, found once for the text last asked about: a file
    outside the usual shape is scanned by :func:`imt_tutor.answers.quick_submission`
    and then by :func:`parse_plain` (the text itself is kept, so it is that very
    string, never another at the same address)."""
    global _last_lines
    last = _last_lines
    if last[0] is text:
        return last[1]
    found = LINES.findall(text)
    _last_lines = (text, found)
    return found


# A plain one-line scalar in block context (no ': ', no trailing ':').
_PLAIN = re.compile(r"[A-Za-z0-9_](?:[^#\[\]{}:]|:(?! |$))*")
_SINGLE = re.compile(r"'([^']*)'")
_DOUBLE = re.compile(r'"([^"\\]*)"')
WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", re.ASCII)


# A position is one int (no object per item): line << _SHIFT | column, both 0-based.
_SHIFT = 21  # columns and lines of a 1 MiB file fit
_COLUMN = (1 << _SHIFT) - 1


class Mark:
    """A 0-based position, as the YAML parsers' marks give it."""

    __slots__ = ("column", "line")

    def __init__(self, line: int, column: int) -> None:
        self.line = line
        self.column = column


def mark_of(position: int) -> Mark:
    """The :class:`Mark` of a position that :func:`parse_plain` stored."""
    return Mark(position >> _SHIFT, position & _COLUMN)


class FlowMarks:
    """The positions of the items of a one-line flow sequence, worked out
    only when one is asked for (an item's position is needed only to report
    a problem with it)."""

    __slots__ = ("_inner", "_mark", "_marks")

    def __init__(self, mark: int, inner: str) -> None:
        self._mark = mark  # of the '['
        self._inner = inner  # what is between the brackets
        self._marks: list[int] | None = None

    def _all(self) -> list[int]:
        if self._marks is None:
            marks = []
            at = self._mark + 1
            for part in self._inner.split(","):
                marks.append(at + len(part) - len(part.lstrip(" ")))
                at += len(part) + 1
            self._marks = marks
        return self._marks

    def __len__(self) -> int:
        return len(self._all())

    def __getitem__(self, index: int) -> int:
        return self._all()[index]

    def __iter__(self) -> Iterator[int]:
        return iter(self._all())


class _Frame:
    __slots__ = ("container", "indent", "is_map")

    def __init__(self, container: Any, indent: int, is_map: bool) -> None:
        self.container = container
        self.indent = indent
        self.is_map = is_map


def parse_plain(
    text: str,
    source: Any,
    map_type: type,
    list_type: type,
    plain_value: Any,
    max_depth: int,
) -> tuple[Any, int] | None:
    """``(root value, root position)`` of ``text`` if it is in the subset, else ``None``.

    ``map_type``/``list_type`` are the loader's located containers, given
    ``_source`` (``source``, whose ``locate`` takes the positions stored here:
    see :func:`mark_of`), ``_mark`` and their key, value or item marks.
    ``plain_value(text, mark)`` resolves a plain scalar that may not be a
    string (it starts with a digit or ``-``, or is ``true``, ``false`` or
    ``null``) as the loader does, and may raise the loader's error.
    """
    if ("\t" in text or "\r" in text) if text.isascii() else _OUTSIDE.search(text) is not None:
        return None
    # Every line at once (one tuple a line, in order: its number is its index), or not the subset.
    lines = lines_of(text)
    if len(lines) != text.count("\n") + 1:
        return None
    stack: list[_Frame] = []
    root: Any = None
    root_mark = 0
    pending: str | None = None  # a key of the top mapping whose value is the block to come
    top: _Frame | None = None  # stack[-1]
    # Of the mapping being read, when top is one (else indent -1): its indentation, its key marks.
    map_indent = -1
    key_marks: dict[str, int] = {}
    value_marks: dict[str, int] = {}
    container: Any = None
    for number, (spaces, key, gap, rest, dash, item) in enumerate(lines):
        if key and pending is None and len(spaces) == map_indent:
            # The usual line: one more key of the mapping being read (what the general path below
            # does for it, with nothing to open or close).
            if key in key_marks or key in NOT_STRINGS:
                return None
            line_mark = number << _SHIFT
            key_marks[key] = line_mark | map_indent
            body = rest.rstrip(" ") if rest.endswith(" ") else rest
            if not body:
                pending = key
                continue
            mark = line_mark | (map_indent + len(key) + 1 + len(gap))
            value = _scalar_or_flow(body, mark, source, list_type, plain_value)
            if value is _NOT_PLAIN:
                return None
            container[key] = value
            value_marks[key] = mark
            continue
        here = number << _SHIFT
        indent = len(spaces)
        if key:
            is_item = False
            body = rest.rstrip(" ") if rest.endswith(" ") else rest
            start = indent + len(key) + 1 + len(gap)
        elif dash:
            is_item = True
            body = item.rstrip(" ") if item.endswith(" ") else item
            start = indent + len(dash)
            if not body:
                return None
        else:
            continue  # a blank line or a comment
        if pending is not None:
            top = stack[-1]
            if indent > top.indent or (indent == top.indent and is_item):
                mark = here | indent
                child = list_type() if is_item else map_type()
                child._source = source
                child._mark = mark
                top.container[pending] = child
                top.container._value_marks[pending] = mark
                stack.append(_Frame(child, indent, not is_item))
                pending = None
            else:
                return None  # an empty value: null, which the full parser places
        else:
            while stack and (
                stack[-1].indent > indent or (stack[-1].indent == indent and not stack[-1].is_map and not is_item)
            ):
                stack.pop()
            if not stack:
                if root is not None:
                    return None
                root_mark = here | indent
                root = list_type() if is_item else map_type()
                root._source = source
                root._mark = root_mark
                stack.append(_Frame(root, indent, not is_item))
            elif stack[-1].indent != indent:
                return None
        if len(stack) >= max_depth - 1:
            return None  # deep: the full parser says where the limit is
        top = stack[-1]
        container = top.container
        if top.is_map:
            map_indent, key_marks, value_marks = top.indent, container._key_marks, container._value_marks
        else:
            map_indent = -1
        if is_item:
            if top.is_map:
                return None
            value = _scalar_or_flow(body, here | start, source, list_type, plain_value)
            if value is _NOT_PLAIN:
                return None
            container.append(value)
            container._item_marks.append(here | start)
            continue
        if not top.is_map:
            return None
        if key in container._key_marks or key in NOT_STRINGS:
            return None
        container._key_marks[key] = here | indent
        if not body:
            pending = key
            continue
        value = _scalar_or_flow(body, here | start, source, list_type, plain_value)
        if value is _NOT_PLAIN:
            return None
        container[key] = value
        container._value_marks[key] = here | start
    if pending is not None or root is None:
        return None
    return root, root_mark


# Plain words that resolve to something other than a string (the rest of
# those start with a digit or '-').
NOT_STRINGS = frozenset({"true", "false", "null"})
#: What a plain scalar that may be a number starts with.
NUMBER_START = frozenset("-0123456789")
_NOT_PLAIN = object()
# Words already seen to be flow items (option IDs repeat in every file), bounded.
_WORDS: set[str] = set()
_WORDS_LIMIT = 4096
_WORD_CHARS = 64  # longer words are not remembered (a hostile file's megabyte word would stay)


def _scalar_or_flow(body: str, mark: int, source: Any, list_type: type, plain_value: Any) -> Any:
    """The value written as ``body`` (at position ``mark``), or ``_NOT_PLAIN``."""
    first = body[0]
    if first == "[":
        if body[-1] != "]":
            return _NOT_PLAIN
        inner = body[1:-1]
        # Words seen before, each a string, as "[a, b, c]": the usual case. (A word of _WORDS holds
        # no space or comma, so these are the words the general split below would give.)
        words = inner.split(", ")
        if _WORDS.issuperset(words):
            items = list.__new__(list_type)  # every slot is set here: no __init__ to run
            items.extend(words)
            items._source = source
            items._mark = mark
            items._item_marks = FlowMarks(mark, inner)
            return items
        items = list_type()
        items._source = source
        items._mark = mark
        if not inner.strip(" "):
            return items
        words = [part.strip(" ") for part in inner.split(",")]
        if _WORDS.issuperset(words):
            items.extend(words)
            items._item_marks = FlowMarks(mark, inner)
            return items
        marks = items._item_marks
        for word, where in zip(words, FlowMarks(mark, inner), strict=True):
            if WORD.fullmatch(word) is None:
                return _NOT_PLAIN
            if word[0] in NUMBER_START or word in NOT_STRINGS:
                items.append(plain_value(word, where))
            else:
                if len(_WORDS) < _WORDS_LIMIT and len(word) <= _WORD_CHARS:
                    _WORDS.add(word)
                items.append(word)
            marks.append(where)
        return items
    if first == "'":
        found = _SINGLE.fullmatch(body)
        return _NOT_PLAIN if found is None else found.group(1)
    if first == '"':
        found = _DOUBLE.fullmatch(body)
        return _NOT_PLAIN if found is None else found.group(1)
    if _PLAIN.fullmatch(body) is None:
        return _NOT_PLAIN
    return plain_value(body, mark) if first in NUMBER_START or body in NOT_STRINGS else body
