"""The one way YAML and JSON enter imt-tutor: strict, safe, position-aware loading.

Files are read through :func:`imt_tutor.files.read_capped` (regular files
only, at most 1 MiB), decoded as UTF-8 and built into :class:`YamlMap` /
:class:`YamlList` values that remember where every key, value and item was
written.

YAML is parsed with PyYAML's safe parser (libyaml when available). Anchors,
aliases, merge keys, explicit tags, duplicate keys, non-string keys, deep
nesting and several documents per file are rejected. Only ``true``/``false``,
``null``/``~``/empty and plain decimals get non-string types.

One file loads the same on every installation, with libyaml or without it,
though the two parsers read a few constructs differently (20 of the 402
inputs of the yaml-test-suite): tabs (as indentation or separation, at line
ends, in flow collections), ``?`` in a plain scalar of a flow collection,
``:`` right before one of ``,[]{}`` in a flow collection, ``#`` right after
a block scalar's indicators, directives, and a byte order mark after the
first character. A byte order mark there is refused outright. A text that
holds a tab, ``:`` before one of ``,[]{}``, ``|`` or ``>`` (and indicators)
before ``#``, or ``%`` at the start of a line (a few cheap searches,
:func:`_may_read_differently`, that ordinary files never match), or a ``?``
that turns out to be in a plain scalar of a flow collection or near a syntax
error (watched for while the events are built, so the ``?`` of prose costs
nothing), is read by the pure-Python parser on every installation, made as strict as
libyaml where libyaml refuses what that parser reads (:class:`_StrictLoader`:
a tab where a block scalar's indentation is expected, ``:`` before one of
``,[]{}`` in a flow collection, a directive other than ``%YAML 1.1``/``1.2``
and ``%TAG``; code ``ambiguous``). Where the pure parser refuses what
libyaml reads (most tabs), its own error stands. So such a text loads, on
every installation, to the value both parsers read, or is refused at the
same place with the same message; every other text is parsed once, by the
fastest parser there is (``tests/test_loading.py`` feeds both parsers
generated documents to check it).

JSON is parsed by a small position-tracking parser that follows
:mod:`json`'s grammar and words its syntax errors as :mod:`json` does (it
falls back to :func:`json.loads` for the exact message). Duplicate keys,
``NaN``/``Infinity``, lone surrogates and nesting deeper than
:data:`MAX_DEPTH` are rejected.

Two fast paths give the same values and positions for the files a batch
reads most: plain block YAML (answers files) is read by
:mod:`imt_tutor.plain_yaml`, and JSON with nothing to report by
:func:`json.loads`, its positions found by the positional parser only when
one is asked for (a problem to report). Anything else goes to the parsers.

Every failure is a :class:`DataError` located ``path:line:col`` (1-based).
"""

from __future__ import annotations

import bisect
import io
import json
import math
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import IO, Any, Protocol

import yaml

from imt_tutor.errors import DataError, Location, shown
from imt_tutor.files import read_capped, too_large
from imt_tutor.plain_yaml import NUMBER_START, mark_of, parse_plain

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "PLAIN_ASCII_BYTES",
    "YamlList",
    "YamlMap",
    "dump_yaml",
    "load_json_file",
    "load_json_text",
    "load_yaml_file",
    "load_yaml_stream",
    "load_yaml_text",
    "to_location",
]

MAX_BYTES = 1024 * 1024
#: The one nesting limit of every YAML and JSON document imt-tutor reads.
MAX_DEPTH = 64

_UTF8_BOM = b"\xef\xbb\xbf"
_CORE_TAG_PREFIX = "tag:yaml.org,2002:"

# Plain scalars that become numbers; everything else (012, 0x1F, 1_000, 1e3,
# .inf, 1:20, 2024-01-01, ...) stays a string.
_INT_RE = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT_RE = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+")
# Line breaks as PyYAML and libyaml count them.
_BREAK_RE = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
# Characters YAML forbids in a stream (same set PyYAML and libyaml reject).
_NON_PRINTABLE_RE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# What no scalar (key or value, YAML or JSON) may hold, however it was written
# (raw or as an escape such as "\e" or "\u202e"): C0 controls but tab and
# newline, DEL, C1 controls, and the bidirectional overrides and isolates.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# The same, raw in a file (a carriage return is allowed there, in line ends),
# and a byte order mark after the first character (libyaml skips one at the
# start of any line, the pure parser reads it as text).
_RAW_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")
# Where libyaml and the pure-Python parser may read a text differently, besides
# a tab or a '?' (see _may_read_differently).
_FLOW_COLON_RE = re.compile(r":[,\[\]{}]")
_BLOCK_COMMENT_RE = re.compile(r"[|>][-+0-9]*#")
_DIRECTIVE_RE = re.compile("(?:^|[\n\r\x85\u2028\u2029])%")


def _control_message(char: str) -> str:
    if char == "\ufeff":
        return "invalid character U+FEFF (a byte order mark is only allowed at the start of the file)"
    if "\u202a" <= char <= "\u202e" or "\u2066" <= char <= "\u2069":
        return f"invalid character U+{ord(char):04X} (bidirectional override characters are not allowed)"
    return f"invalid character U+{ord(char):04X} (control characters are not allowed)"


class _Mark(Protocol):
    line: int
    column: int


def to_location(path: str, mark: _Mark | None) -> Location:
    """Convert a 0-based PyYAML/libyaml mark to a 1-based :class:`Location`.

    This is the only place in the project where that conversion happens. A
    missing mark gives line 1, column 1.
    """
    if mark is None:
        return Location(path, 1, 1)
    return Location(path, mark.line + 1, mark.column + 1)


# --------------------------------------------------------------------------
# Where things were written: a document's source turns a raw mark (a parser
# mark for YAML, a character index for JSON) into a Location only when asked.


class _Source(Protocol):
    def locate(self, mark: Any) -> Location: ...


class _YamlSource:
    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def locate(self, mark: Any) -> Location:
        return to_location(self.path, mark)


class _JsonSource:
    """Character index -> 1-based line and column (lines counted from ``first_line``)."""

    __slots__ = ("_starts", "first_line", "path", "text")

    def __init__(self, path: str, text: str, first_line: int = 1) -> None:
        self.path = path
        self.text = text
        self.first_line = first_line
        self._starts: list[int] | None = None

    def position(self, index: int) -> tuple[int, int]:
        if self._starts is None:
            self._starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        row = bisect.bisect_right(self._starts, index) - 1
        return self.first_line + row, index - self._starts[row] + 1

    def locate(self, mark: Any) -> Location:
        line, column = self.position(int(mark))
        return Location(self.path, line, column)


_UNKNOWN = Location("<unknown>")


class _Located:
    """What :class:`YamlMap` and :class:`YamlList` share: a source that turns
    raw marks into Locations, and the container's own mark."""

    __slots__ = ()
    _source: _Source | None
    _mark: Any

    def _locate(self, mark: Any) -> Location:
        if self._source is None:
            return mark if isinstance(mark, Location) else _UNKNOWN
        return self._source.locate(mark)

    @property
    def location(self) -> Location:
        """Where the container starts (1-based)."""
        return self._locate(self._mark)

    @location.setter
    def location(self, value: Location) -> None:
        if self._source is not None and self._mark is not None:
            self._resolve_marks()
        self._source = None
        self._mark = value

    def _resolve_marks(self) -> None:
        """Turn the inner marks into Locations (before the source is dropped)."""
        raise NotImplementedError


class YamlMap(_Located, dict):  # type: ignore[type-arg]
    """A loaded YAML or JSON mapping (a plain ``dict``) that knows where it was written.

    Keys added after loading have no position of their own; their
    ``key_location``/``value_location`` fall back to the mapping's location.
    """

    # Slots, not a __dict__: a batch makes a dozen of these per answers file.
    __slots__ = ("__weakref__", "_key_marks", "_mark", "_source", "_value_marks")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        dict.__init__(self, *args, **kwargs)
        self._source = None
        self._mark = None
        self._key_marks: dict[str, Any] = {}
        self._value_marks: dict[str, Any] = {}

    def _resolve_marks(self) -> None:
        assert self._source is not None
        self._key_marks = {k: self._source.locate(m) for k, m in self._key_marks.items()}
        self._value_marks = {k: self._source.locate(m) for k, m in self._value_marks.items()}

    def key_location(self, key: str) -> Location:
        """Where ``key`` is written (1-based)."""
        mark = self._key_marks.get(key)
        return self.location if mark is None else self._locate(mark)

    def value_location(self, key: str) -> Location:
        """Where the value of ``key`` starts (1-based)."""
        mark = self._value_marks.get(key)
        return self.location if mark is None else self._locate(mark)


class YamlList(_Located, list):  # type: ignore[type-arg]
    """A loaded YAML or JSON sequence (a plain ``list``) that knows where it was written.

    Items added after loading fall back to the list's location.
    """

    __slots__ = ("__weakref__", "_item_marks", "_mark", "_source")

    def __init__(self, *args: Any) -> None:
        list.__init__(self, *args)
        self._source = None
        self._mark = None
        self._item_marks: list[Any] = []

    def _resolve_marks(self) -> None:
        assert self._source is not None
        self._item_marks = [self._source.locate(m) for m in self._item_marks]

    def item_location(self, index: int) -> Location:
        """Where item ``index`` starts (1-based; negative indexes work)."""
        count = len(self._item_marks)
        if index < 0:
            index += len(self)
        if 0 <= index < count:
            return self._locate(self._item_marks[index])
        return self.location


# --------------------------------------------------------------------------
# Loader classes


class _PureLoader(yaml.SafeLoader):
    """The pure-Python safe loader (used when libyaml is missing, and in tests)."""


class _Ambiguous(yaml.MarkedYAMLError):
    """What the pure parser reads and libyaml refuses (raised by :class:`_StrictLoader`)."""


_FLOW_INDICATORS = ",[]{}"
_BLOCK_TAB = "a tab where a block scalar's indentation is expected"
_BLOCK_TAB_ADVICE = "indent with spaces, or give the indentation after '|' or '>' (such as '|2')"
_DIGITS_RE = re.compile("[0-9]+")


class _StrictLoader(_PureLoader):
    """The pure-Python parser, refusing as well what libyaml refuses where the
    pure parser reads on: what reads every text the two parsers may read
    differently (see :func:`_may_read_differently`).

    Each check is libyaml's own (its ``scanner.c`` and ``parser.c``), made where
    the pure parser has just read the same thing. (libyaml's other block scalar
    check, a tab short of a known indentation, needs none: the scalar ends
    there and the pure parser refuses the tab itself.)
    """

    def scan_directive(self) -> Any:
        token = super().scan_directive()
        if token.name == "YAML":
            text = self.buffer[token.start_mark.index : token.end_mark.index]
            major, minor = token.value
            too_long = any(len(digits) > 9 for digits in _DIGITS_RE.findall(text))
            if major == 1 and (minor not in (1, 2) or too_long):  # another major: both refuse it
                problem = f"the version in '{shown(text)}'"
                raise _Ambiguous(None, None, problem, token.start_mark, "write '%YAML 1.2' or remove the line")
        elif token.name != "TAG":  # the pure parser skips what libyaml refuses
            problem = f"the directive '%{shown(token.name)}'"
            raise _Ambiguous(None, None, problem, token.start_mark, "remove the line")
        return token

    def scan_plain(self) -> Any:
        token = super().scan_plain()
        # Where the pure parser takes ':' for the value indicator ("[a:]",
        # "{a:,}"), libyaml reads on and refuses it.
        if self.flow_level and self.peek() == ":" and self.peek(1) in _FLOW_INDICATORS:
            problem = f"':' right before '{self.peek(1)}' in a flow collection"
            raise _Ambiguous(None, None, problem, self.get_mark(), "put a space after the ':' or quote the text")
        return token

    def scan_block_scalar_indentation(self) -> Any:
        found = super().scan_block_scalar_indentation()
        if self.peek() == "\t":  # libyaml: a tab while the indentation is not yet known
            raise _Ambiguous(None, None, _BLOCK_TAB, self.get_mark(), _BLOCK_TAB_ADVICE)
        return found


if getattr(yaml, "__with_libyaml__", False) and hasattr(yaml, "CSafeLoader"):

    class _Loader(yaml.CSafeLoader):
        """The project's YAML loader: libyaml's safe loader (events only)."""

else:  # pragma: no cover - depends on how PyYAML was built
    _Loader = _PureLoader  # type: ignore[misc,assignment]


def _loader_class(pure: bool = False) -> type[Any]:
    """The loader to use: libyaml's when available unless ``pure`` is set."""
    return _PureLoader if pure else _Loader


# The loader the public functions use; tests swap in ``_loader_class(True)``.
_active_loader: type[Any] = _loader_class()


# --------------------------------------------------------------------------
# Reading and decoding


def _too_large(path: str, size: int | None) -> DataError:
    return too_large(path, size, MAX_BYTES)


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of character ``index``, counted like PyYAML."""
    line = 1
    line_start = 0
    for match in _BREAK_RE.finditer(text, 0, index):
        line += 1
        line_start = match.end()
    return line, index - line_start + 1


def _decode(data: bytes, path: str) -> str:
    data = data.removeprefix(_UTF8_BOM)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        prefix = data[: error.start].decode("utf-8")
        line, column = _position(prefix, len(prefix))
        bad = data[error.start]
        raise DataError(
            f"file is not valid UTF-8 (byte 0x{bad:02x})", Location(path, line, column), code="not-utf8"
        ) from None


def _read_limited(stream: IO[Any], path: str) -> bytes | str:
    """Read at most ``MAX_BYTES + 1`` bytes (or characters) from ``stream``."""
    chunks: list[Any] = []
    total = 0
    try:
        while total <= MAX_BYTES:
            chunk = stream.read(MAX_BYTES + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as error:
        raise DataError(f"cannot read file: {error.strerror or error}", Location(path)) from None
    except UnicodeDecodeError as error:
        raise DataError(
            f"file is not valid UTF-8 (byte 0x{error.object[error.start]:02x})",
            Location(path),
            code="not-utf8",
        ) from None
    if total > MAX_BYTES:
        raise _too_large(path, None)
    if chunks and isinstance(chunks[0], str):
        return "".join(chunks)
    return b"".join(bytes(chunk) for chunk in chunks)


# --------------------------------------------------------------------------
# Building values from parse events


def _tag_text(tag: str) -> str:
    if tag.startswith(_CORE_TAG_PREFIX):
        return "!!" + tag[len(_CORE_TAG_PREFIX) :]
    return tag


def _check_node_event(event: Any, path: str) -> None:
    """Reject explicit tags and anchors on a scalar or collection-start event."""
    tag = event.tag
    if tag is not None:
        shown = _tag_text(tag)
        if shown.startswith("!!python/") or tag.startswith("tag:yaml.org,2002:python/"):
            message = f"python tags are not allowed: {shown}"
        else:
            message = f"explicit tags are not allowed: {shown}"
        raise DataError(message, to_location(path, event.start_mark))
    if event.anchor is not None:
        raise DataError("anchors and aliases are not allowed", to_location(path, event.start_mark))


def _plain_value(value: str, mark: Any, path: str) -> Any:
    """The value of a plain (unquoted) scalar."""
    if value == "true":
        return True
    if value == "false":
        return False
    if value in ("", "null", "~"):
        return None
    if value[0] not in NUMBER_START:
        return value
    if _INT_RE.fullmatch(value):
        try:
            return int(value)
        except ValueError:  # more digits than int() accepts
            raise DataError("number is too long", to_location(path, mark)) from None
    if _FLOAT_RE.fullmatch(value):
        number = float(value)
        if math.isinf(number):
            raise DataError("number is out of range", to_location(path, mark))
        return number
    return value


_NO_KEY = object()


class _NeedsStrict(Exception):
    """A '?' in a plain scalar of a flow collection (``[a?b]``): only the strict
    loader reads it alike everywhere."""


def _build(text: str, path: str, loader_class: type[Any], watch: bool = False) -> tuple[Any, Location]:
    """Parse ``text`` into values; return (root value, root location).

    One tight loop over the parser's events (this is most of the time a batch
    of answer files takes): positions are kept as the parser's marks and
    turned into locations only when asked for. With ``watch`` (the text holds a
    '?'), a plain scalar holding '?' in a flow collection raises
    :class:`_NeedsStrict`.
    """
    source = _YamlSource(path)
    scalar_event, mapping_start, sequence_start = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
    mapping_end, sequence_end, alias_event = yaml.MappingEndEvent, yaml.SequenceEndEvent, yaml.AliasEvent
    document_start, stream_end = yaml.DocumentStartEvent, yaml.StreamEndEvent
    stack: list[Any] = []  # open collections
    flows: list[bool] = []  # per open collection: whether it is a flow one
    keys: list[Any] = []  # per open collection: the pending key of a mapping (_NO_KEY: want a key)
    root: Any = None
    root_mark: Any = None
    have_root = False
    documents = 0
    loader = loader_class(text)
    get_event = loader.get_event
    try:
        while True:
            event = get_event()
            kind = type(event)
            if kind is scalar_event:
                if event.tag is not None or event.anchor is not None:
                    _check_node_event(event, path)
                raw = event.value
                if watch and flows and flows[-1] and "?" in raw and event.implicit[0]:
                    raise _NeedsStrict
                bad = _CONTROL_RE.search(raw)
                if bad is not None:
                    raise DataError(_control_message(bad.group()), to_location(path, event.start_mark), code="control")
                if event.implicit[0]:
                    value = _plain_value(raw, event.start_mark, path)
                else:  # quoted or block scalar: always a string
                    if event.style == '"' and _SURROGATE_RE.search(raw):  # "\ud800"
                        raise DataError(
                            "invalid character escape (lone surrogate)", to_location(path, event.start_mark)
                        )
                    value = raw
                mark = event.start_mark
                if not stack:
                    root, root_mark, have_root = value, mark, True
                    continue
                parent = stack[-1]
                if type(parent) is YamlList:
                    parent.append(value)
                    parent._item_marks.append(mark)
                    continue
                key = keys[-1]
                if key is not _NO_KEY:
                    parent[key] = value
                    parent._value_marks[key] = mark
                    keys[-1] = _NO_KEY
                    continue
                if event.implicit[0] and raw == "<<":
                    raise DataError("merge keys (<<) are not allowed", to_location(path, mark))
                if type(value) is not str:
                    raise DataError("keys must be strings", to_location(path, mark))
                first = parent._key_marks.get(value)
                if first is not None:
                    raise DataError(
                        f"duplicate key '{shown(value)}' (first defined at line {first.line + 1})",
                        to_location(path, mark),
                    )
                parent._key_marks[value] = mark
                keys[-1] = value
            elif kind is mapping_start or kind is sequence_start:
                if event.tag is not None or event.anchor is not None:
                    _check_node_event(event, path)
                mark = event.start_mark
                if stack and type(stack[-1]) is YamlMap and keys[-1] is _NO_KEY:
                    raise DataError("keys must be strings", to_location(path, mark))
                if len(stack) >= MAX_DEPTH:
                    raise DataError(f"nesting is deeper than {MAX_DEPTH} levels", to_location(path, mark))
                container: Any = YamlMap() if kind is mapping_start else YamlList()
                container._source = source
                container._mark = mark
                stack.append(container)
                keys.append(_NO_KEY)
                flows.append(bool(event.flow_style))
            elif kind is mapping_end or kind is sequence_end:
                container = stack.pop()
                keys.pop()
                flows.pop()
                mark = container._mark
                if not stack:
                    root, root_mark, have_root = container, mark, True
                    continue
                parent = stack[-1]
                if type(parent) is YamlList:
                    parent.append(container)
                    parent._item_marks.append(mark)
                else:  # a collection is never a key (refused when it opened)
                    key = keys[-1]
                    parent[key] = container
                    parent._value_marks[key] = mark
                    keys[-1] = _NO_KEY
            elif kind is alias_event:
                raise DataError("anchors and aliases are not allowed", to_location(path, event.start_mark))
            elif kind is document_start:
                documents += 1
                if documents > 1:
                    raise DataError("expected a single YAML document", to_location(path, event.start_mark))
            elif kind is stream_end or event is None:
                break
    finally:
        loader.dispose()
    if not have_root or root is None:
        raise DataError("file is empty", Location(path, 1, 1), code="empty")
    return root, to_location(path, root_mark)


# --------------------------------------------------------------------------
# Top-level type check


def _type_name(kind: type) -> str:
    names = {
        dict: "a mapping",
        YamlMap: "a mapping",
        list: "a list",
        YamlList: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }
    return names.get(kind, f"a {kind.__name__}")


def _value_name(value: Any) -> str:
    for kind in (bool, int, float, str, dict, list):
        if isinstance(value, kind):
            return _type_name(kind)
    return _type_name(type(value))


def _check_expect(
    value: Any, location: Location, expect: type | tuple[type, ...] | None, json_words: bool = False
) -> None:
    if expect is None:
        return
    kinds = expect if isinstance(expect, tuple) else (expect,)
    if isinstance(value, bool):
        matches = bool in kinds or object in kinds
    else:
        matches = isinstance(value, kinds)
    if not matches:
        wanted = " or ".join(_type_name(kind) for kind in kinds)
        if json_words:
            wanted = wanted.replace("a mapping", "an object")
            found = _value_name(value).replace("a mapping", "an object")
        else:
            found = _value_name(value)
        raise DataError(f"expected {wanted} at the top level, found {found}", location, code="top-level")


# --------------------------------------------------------------------------
# Public API: YAML


def _syntax_error(error: yaml.MarkedYAMLError, path: str) -> DataError:
    mark = error.problem_mark or error.context_mark
    problem = error.problem or error.context or "syntax error"
    message = f"invalid YAML: {problem}"
    if error.context and error.problem and error.context_mark is not None:
        message += f" ({error.context} at line {error.context_mark.line + 1})"
    return DataError(message, to_location(path, mark))


def _parse(text: str, path: str, loader_class: type[Any], watch: bool = False) -> tuple[Any, Location]:
    """:func:`_build`, with every parser failure turned into a DataError (with
    ``watch``, :class:`_NeedsStrict` where only the strict loader will do)."""
    try:
        return _build(text, path, loader_class, watch)
    except _Ambiguous as error:
        raise DataError(
            f"invalid YAML: this is read differently by different YAML parsers ({error.problem}): {error.note}",
            to_location(path, error.problem_mark),
            code="ambiguous",
        ) from None
    except yaml.MarkedYAMLError as error:
        if watch and "?" in text:
            raise _NeedsStrict from None  # the parsers may fail differently around a '?'
        if not issubclass(loader_class, _PureLoader) and "nesting depth" in str(error.problem):
            # Newer libyaml gives up at 1000 levels while scanning ahead, before
            # our lower limit is reached; the pure parser finds the exact spot
            # (it stops at MAX_DEPTH, before where libyaml stopped).
            return _parse(text, path, _PureLoader)
        raise _syntax_error(error, path) from None
    except yaml.YAMLError as error:
        raise DataError(f"invalid YAML: {error}", Location(path, 1, 1)) from None
    except RecursionError:
        raise DataError(f"nesting is deeper than {MAX_DEPTH} levels", Location(path, 1, 1)) from None
    except (ValueError, UnicodeError) as error:
        raise DataError(f"invalid YAML: {error}", Location(path, 1, 1)) from None


#: Whether plain block YAML (answers files) is read by :mod:`imt_tutor.plain_yaml`
#: (same values and positions, several times faster); tests turn it off to
#: exercise the parsers themselves.
PLAIN_FAST_PATH = True
#: Whether JSON is first read by json.loads, located only when asked (see _json_fast).
JSON_FAST_PATH = True


class _PlainSource:
    """Positions stored by :func:`imt_tutor.plain_yaml.parse_plain` -> Locations."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def locate(self, mark: Any) -> Location:
        return to_location(self.path, mark_of(mark))


def _parse_plain(text: str, path: str) -> tuple[Any, Location] | None:
    """:func:`imt_tutor.plain_yaml.parse_plain` with this module's containers
    and scalars, or ``None`` for text outside its subset."""
    if not PLAIN_FAST_PATH:
        return None
    source = _PlainSource(path)
    found = parse_plain(
        text,
        source,
        YamlMap,
        YamlList,
        lambda value, mark: _plain_value(value, mark_of(mark), path),
        MAX_DEPTH,
    )
    if found is None:
        return None
    return found[0], source.locate(found[1])


def _may_read_differently(text: str) -> bool:
    """Whether libyaml and the pure-Python parser may read ``text`` differently:
    it holds a tab, ':' before one of ',[]{}', '|' or '>' (and indicators)
    before '#', or '%' at the start of a line. (A '?' matters only in a plain
    scalar of a flow collection, or where a parser fails: :func:`_load_str`
    watches for those as it builds.)"""
    return (
        "\t" in text
        or (":" in text and _FLOW_COLON_RE.search(text) is not None)
        or ("#" in text and _BLOCK_COMMENT_RE.search(text) is not None)
        or ("%" in text and _DIRECTIVE_RE.search(text) is not None)
    )


#: Printable ASCII, tab, line feed and carriage return.
PLAIN_ASCII_BYTES = bytes(range(0x20, 0x7F)) + b"\t\n\r"


def _plain_ascii(text: str) -> bool:
    """Whether ``text`` is ASCII with no control character but tab, line feed and
    carriage return: then neither of the two character checks of :func:`_load_str`
    can match (each is a regular expression search, a few microseconds a kilobyte;
    deleting the plain bytes and finding none left is a fraction of one)."""
    return text.isascii() and not text.encode("ascii").translate(None, PLAIN_ASCII_BYTES)


def reads_plainly(text: str) -> bool:
    """Whether ``text`` is ASCII with no control character but line feeds (no tab,
    no carriage return) and holds nothing the two YAML parsers may read
    differently: what a reader of the plain subset (see
    :mod:`imt_tutor.plain_yaml`) may take as it is."""
    return _plain_ascii(text) and "\t" not in text and "\r" not in text and not _may_read_differently(text)


def _load_str(text: str, path: str, expect: type | tuple[type, ...] | None) -> Any:
    text = text.removeprefix("\ufeff")
    bad = None if _plain_ascii(text) else _NON_PRINTABLE_RE.search(text) or _RAW_CONTROL_RE.search(text)
    if bad is not None:
        line, column = _position(text, bad.start())
        raise DataError(_control_message(bad.group()), Location(path, line, column), code="control")
    if _may_read_differently(text):  # read alike on every installation
        value, location = _parse(text, path, _StrictLoader)
    else:
        try:
            value, location = _parse_plain(text, path) or _parse(text, path, _active_loader, watch="?" in text)
        except _NeedsStrict:
            value, location = _parse(text, path, _StrictLoader)
    _check_expect(value, location, expect)
    return value


def _checked_text(text: str | bytes, path: str) -> str:
    """``text`` as a string within the size limit (bytes are decoded as UTF-8)."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
        if len(data) > MAX_BYTES:
            raise _too_large(path, len(data))
        return _decode(data, path)
    if not isinstance(text, str):
        raise TypeError(f"expected str or bytes, not {type(text).__name__}")
    if len(text) > MAX_BYTES:  # every character is at least one byte
        raise _too_large(path, None)
    if len(text) > MAX_BYTES // 4:  # may be over the limit once encoded
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_BYTES:
            raise _too_large(path, size)
    return text


def load_yaml_text(
    text: str | bytes,
    path: str = "<string>",
    *,
    expect: type | tuple[type, ...] | None = dict,
) -> Any:
    """Load one YAML document from ``text`` (``str`` or UTF-8 ``bytes``).

    ``path`` is only used in error locations. ``expect`` is the required
    top-level type (``dict``, ``list``, ... or a tuple; ``None`` for any).
    Raises :class:`DataError` for every problem with the data.
    """
    return _load_str(_checked_text(text, path), path, expect)


def load_yaml_file(
    path: str | os.PathLike[str],
    *,
    expect: type | tuple[type, ...] | None = dict,
    display_path: str | None = None,
) -> Any:
    """Load one YAML document from the file at ``path``.

    ``display_path`` (default: ``path``) is what error locations show. The
    file must be a regular file; its size is checked before it is read.
    """
    shown = display_path if display_path is not None else os.fsdecode(path)
    return load_yaml_text(read_capped(path, MAX_BYTES, display_path=shown), shown, expect=expect)


def load_yaml_stream(
    stream: IO[bytes] | IO[str],
    path: str = "<stdin>",
    *,
    expect: type | tuple[type, ...] | None = dict,
) -> Any:
    """Load one YAML document from an open binary or text stream (e.g. stdin).

    At most ``MAX_BYTES + 1`` bytes are read. For a text stream with an
    underlying binary buffer (like ``sys.stdin``) the bytes are read directly
    so that the encoding is always UTF-8.
    """
    source: IO[Any] = stream
    buffer = getattr(stream, "buffer", None)
    if isinstance(stream, io.TextIOBase) and buffer is not None:
        source = buffer
    data = _read_limited(source, path)
    return load_yaml_text(data, path, expect=expect)


# --------------------------------------------------------------------------
# Public API: strict JSON with positions

_JSON_WS = re.compile(r"[ \t\n\r]*")
_JSON_NUMBER = re.compile(r"(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_JSON_CONSTANTS = (("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"))
_scanstring: Any = json.decoder.scanstring  # type: ignore[attr-defined]


class _JsonSyntax(Exception):
    """A syntax error at an index; the message is json's (see :func:`_json_syntax`)."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


class _JsonParser:
    """JSON as :mod:`json` reads it (strict strings), into YamlMap/YamlList
    with positions; semantic problems are DataErrors at the spot."""

    def __init__(self, text: str, source: _JsonSource) -> None:
        self.text = text
        self.source = source
        self.match_ws = _JSON_WS.match
        self.match_number = _JSON_NUMBER.match

    def error(self, message: str, index: int, code: str | None = None) -> DataError:
        return DataError(message, self.source.locate(index), code=code)

    def string(self, index: int) -> tuple[str, int]:
        """The string whose opening quote is at ``index - 1``."""
        value, end = _scanstring(self.text, index, True)
        if _SURROGATE_RE.search(value):
            raise self.error("invalid character escape (lone surrogate)", index - 1)
        bad = _CONTROL_RE.search(value)
        if bad is not None:
            raise self.error(_control_message(bad.group()), index - 1, "control")
        return value, end

    def value(self, index: int, depth: int) -> tuple[Any, int]:
        text = self.text
        try:
            char = text[index]
        except IndexError:
            raise _JsonSyntax(index) from None
        if char == '"':
            return self.string(index + 1)
        if char == "{":
            return self.mapping(index, depth + 1)
        if char == "[":
            return self.sequence(index, depth + 1)
        if char == "n" and text.startswith("null", index):
            return None, index + 4
        if char == "t" and text.startswith("true", index):
            return True, index + 4
        if char == "f" and text.startswith("false", index):
            return False, index + 5
        for word, name in _JSON_CONSTANTS:
            if text.startswith(word, index):
                raise self.error(f"invalid JSON: {name} is not allowed", index, "json-constant")
        match = self.match_number(text, index)
        if match is None:
            raise _JsonSyntax(index)
        integer, fraction, exponent = match.groups()
        try:
            if fraction or exponent:
                number: Any = float(integer + (fraction or "") + (exponent or ""))
                if math.isinf(number):
                    raise self.error("number is out of range", index)
            else:
                number = int(integer)
        except ValueError:  # more digits than int() accepts
            raise self.error("number is too long", index) from None
        return number, match.end()

    def mapping(self, start: int, depth: int) -> tuple[YamlMap, int]:
        if depth > MAX_DEPTH:
            raise self.error(f"nesting is deeper than {MAX_DEPTH} levels", start, "too-deep")
        text, ws = self.text, self.match_ws
        result = YamlMap()
        result._source = self.source
        result._mark = start
        keys, values = result._key_marks, result._value_marks
        index = ws(text, start + 1).end()
        if text[index : index + 1] == "}":
            return result, index + 1
        while True:
            if text[index : index + 1] != '"':
                raise _JsonSyntax(index)
            key_at = index
            key, index = self.string(index + 1)
            index = ws(text, index).end()
            if text[index : index + 1] != ":":
                raise _JsonSyntax(index)
            index = ws(text, index + 1).end()
            value_at = index
            value, index = self.value(index, depth)
            if key in keys:
                raise self.error(f"duplicate key {key!r}", key_at, "duplicate-key")
            keys[key] = key_at
            values[key] = value_at
            result[key] = value
            index = ws(text, index).end()
            char = text[index : index + 1]
            if char == "}":
                return result, index + 1
            if char != ",":
                raise _JsonSyntax(index)
            index = ws(text, index + 1).end()

    def sequence(self, start: int, depth: int) -> tuple[YamlList, int]:
        if depth > MAX_DEPTH:
            raise self.error(f"nesting is deeper than {MAX_DEPTH} levels", start, "too-deep")
        text, ws = self.text, self.match_ws
        result = YamlList()
        result._source = self.source
        result._mark = start
        marks = result._item_marks
        index = ws(text, start + 1).end()
        if text[index : index + 1] == "]":
            return result, index + 1
        while True:
            marks.append(index)
            value, index = self.value(index, depth)
            result.append(value)
            index = ws(text, index).end()
            char = text[index : index + 1]
            if char == "]":
                return result, index + 1
            if char != ",":
                raise _JsonSyntax(index)
            index = ws(text, index + 1).end()

    def document(self) -> tuple[Any, int]:
        text = self.text
        start = self.match_ws(text, 0).end()
        value, end = self.value(start, 0)
        end = self.match_ws(text, end).end()
        if end != len(text):
            raise _JsonSyntax(end)
        return value, start


def _json_syntax(text: str, source: _JsonSource, index: int) -> DataError:
    """json's own words (and position) for a syntax error found at ``index``."""
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        line, column = error.lineno + source.first_line - 1, error.colno
        return DataError(f"invalid JSON: {error.msg}", Location(source.path, line, column), code="json-syntax")
    except (ValueError, RecursionError):
        pass
    return DataError("invalid JSON", source.locate(index), code="json-syntax")


# ------------------------------------------------------------------ JSON: the fast path
#
# Most JSON that a batch reads has nothing to report: json.loads (in C) reads
# it several times faster than the positional parser. Its mappings and lists
# are given marks that name a place (the path of keys and indexes from the
# root, and what is asked for); only when a position is asked for -- to report
# a problem -- is the text parsed again by the positional parser, once, and
# the place looked up there. Anything the positional parser would report
# (duplicate keys, NaN, a lone surrogate, a control character, a number out
# of range, deep nesting) makes the fast path give way to it.


class _Refused(Exception):
    """json.loads met something the positional parser reports."""


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _Refused  # a duplicate key
    return found


def _json_constant(name: str) -> Any:
    raise _Refused  # NaN, Infinity


class _LazyJsonSource:
    """Places (see above) -> Locations, by a positional parse made when first asked."""

    __slots__ = ("_root", "source")

    def __init__(self, source: _JsonSource) -> None:
        self.source = source
        self._root: Any = None

    def locate(self, mark: Any) -> Location:
        if isinstance(mark, Location):
            return mark
        if self._root is None:
            self._root = _JsonParser(self.source.text, self.source).document()[0]
        node_path, kind, key = mark
        node = self._root
        for step in node_path:
            node = node[step]
        if kind == "self":
            return node.location
        if kind == "key":
            return node.key_location(key)
        if kind == "value":
            return node.value_location(key)
        return node.item_location(key)


class _LazyMapMarks:
    """A mapping's key or value marks, as places. (It holds the keys, never
    the mapping: a cycle would keep every document alive until a full
    collection.)"""

    __slots__ = ("_keys", "_kind", "_path")

    def __init__(self, node_path: tuple[Any, ...], kind: str, keys: tuple[str, ...]) -> None:
        self._path = node_path
        self._kind = kind
        self._keys = keys

    def get(self, key: str, default: Any = None) -> Any:
        return (self._path, self._kind, key) if key in self._keys else default

    def items(self) -> Iterator[tuple[str, Any]]:
        return ((key, (self._path, self._kind, key)) for key in self._keys)


class _LazyItemMarks:
    """A list's item marks, as places (it holds the length, not the list)."""

    __slots__ = ("_count", "_path")

    def __init__(self, node_path: tuple[Any, ...], count: int) -> None:
        self._path = node_path
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> Any:
        return (self._path, "item", range(self._count)[index])

    def __iter__(self) -> Iterator[Any]:
        return ((self._path, "item", index) for index in range(self._count))


def _json_fast(string: str, source: _JsonSource) -> Any:
    """The document read by json.loads, located lazily; ``_Refused`` where the
    positional parser must read it."""
    try:
        value = json.loads(string, object_pairs_hook=_json_pairs, parse_constant=_json_constant)
    except (ValueError, RecursionError):  # a syntax error (json words it), too many digits, too deep
        raise _Refused from None
    lazy = _LazyJsonSource(source)
    # ASCII with no control character and no escape: no string can hold a control character or a
    # surrogate, so strings need no search (answers files are mostly strings).
    clean = "\\" not in string and _plain_ascii(string)
    root: list[Any] = [None]
    # (parent, key or index in it, value, place of the value, depth): iterative, like the parser's limit.
    work: list[tuple[Any, Any, Any, tuple[Any, ...], int]] = [(root, 0, value, (), 0)]
    while work:
        parent, slot, item, node_path, depth = work.pop()
        kind = type(item)
        if kind is str:
            if not clean and (_CONTROL_RE.search(item) is not None or _SURROGATE_RE.search(item) is not None):
                raise _Refused
        elif kind is float:
            if math.isinf(item):
                raise _Refused
        elif kind is dict:
            if depth >= MAX_DEPTH:
                raise _Refused
            mapping = YamlMap()
            mapping._source = lazy
            mapping._mark = (node_path, "self", None)
            for key, inner in item.items():
                if not clean and (_CONTROL_RE.search(key) is not None or _SURROGATE_RE.search(key) is not None):
                    raise _Refused
                if clean and type(inner) is str:
                    mapping[key] = inner
                    continue
                mapping[key] = None
                work.append((mapping, key, inner, (*node_path, key), depth + 1))
            keys = tuple(item)
            mapping._key_marks = _LazyMapMarks(node_path, "key", keys)  # type: ignore[assignment]
            mapping._value_marks = _LazyMapMarks(node_path, "value", keys)  # type: ignore[assignment]
            item = mapping
        elif kind is list:
            if depth >= MAX_DEPTH:
                raise _Refused
            strings = clean and all(type(inner) is str for inner in item)
            sequence = YamlList(item if strings else [None] * len(item))
            sequence._source = lazy
            sequence._mark = (node_path, "self", None)
            sequence._item_marks = _LazyItemMarks(node_path, len(item))  # type: ignore[assignment]
            if not strings:
                for index, inner in enumerate(item):
                    work.append((sequence, index, inner, (*node_path, index), depth + 1))
            item = sequence
        parent[slot] = item
    return root[0]


def _load_json(string: str, path: str, expect: type | tuple[type, ...] | None, first_line: int) -> Any:
    string = string.removeprefix("\ufeff")
    source = _JsonSource(path, string, first_line)
    if not string.strip():
        raise DataError("file is empty", Location(path, first_line, 1), code="empty")
    if JSON_FAST_PATH:
        try:
            value = _json_fast(string, source)
        except _Refused:
            pass
        else:
            try:
                _check_expect(value, _UNKNOWN, expect)
            except DataError:
                pass  # the positional parser places the error
            else:
                return value
    try:
        value, start = _JsonParser(string, source).document()
    except _JsonSyntax as error:
        raise _json_syntax(string, source, error.index) from None
    except json.JSONDecodeError as error:  # from scanstring: an unterminated string, a bad escape, ...
        raise DataError(f"invalid JSON: {error.msg}", source.locate(error.pos), code="json-syntax") from None
    except RecursionError:  # pragma: no cover - MAX_DEPTH stops it long before
        raise DataError(f"nesting is deeper than {MAX_DEPTH} levels", Location(path, first_line, 1)) from None
    _check_expect(value, source.locate(start), expect, json_words=True)
    return value


def load_json_text(
    text: str | bytes,
    path: str = "<string>",
    *,
    expect: type | tuple[type, ...] | None = dict,
    first_line: int = 1,
) -> Any:
    """Load one strict JSON document from ``text`` (``str`` or UTF-8 ``bytes``).

    Objects and arrays come back as :class:`YamlMap` / :class:`YamlList` with
    the position of every key, value and item. ``first_line`` is the line
    number of the text's first line (for one line of a JSON Lines file).
    Raises :class:`DataError`, located ``path:line:col``.
    """
    return _load_json(_checked_text(text, path), path, expect, first_line)


def load_json_file(
    path: str | os.PathLike[str],
    *,
    expect: type | tuple[type, ...] | None = dict,
    display_path: str | None = None,
    limit: int = MAX_BYTES,
) -> Any:
    """Load one strict JSON document from the (regular) file at ``path``, of
    at most ``limit`` bytes."""
    shown = display_path if display_path is not None else os.fsdecode(path)
    data = read_capped(path, limit, display_path=shown)
    return _load_json(_decode(data, shown), shown, expect, 1)


# --------------------------------------------------------------------------
# Writing


class _Dumper(yaml.SafeDumper):
    """Safe dumper whose output reads back identically through this module."""


def _represent_float(dumper: yaml.SafeDumper, value: float) -> yaml.ScalarNode:
    if not math.isfinite(value):
        raise ValueError(f"cannot write {value!r}: only finite numbers are allowed")
    text = format(Decimal(repr(value)), "f")
    if "." not in text:
        text += ".0"
    return dumper.represent_scalar("tag:yaml.org,2002:float", text)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML writes NEL/LS/PS raw in plain and single-quoted scalars, where
    # they read back as spaces; double quotes escape them (\N, \L, \P).
    if _SURROGATE_RE.search(value):
        raise ValueError(f"cannot write {value!r}: it contains a lone surrogate")
    style = '"' if any(ch in value for ch in "\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(YamlMap, _Dumper.represent_dict)
_Dumper.add_representer(YamlList, _Dumper.represent_list)
_Dumper.add_representer(float, _represent_float)


def dump_yaml(data: Any) -> str:
    """Write ``data`` (dicts, lists, str, int, float, bool, None) as YAML text.

    Key order is kept; the result loads back to equal data with
    :func:`load_yaml_text`.
    """
    text: str = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )
    return text
