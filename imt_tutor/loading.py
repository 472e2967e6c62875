"""The one way YAML enters imt-tutor: strict, safe, position-aware loading.

Files are read as UTF-8 (max 1 MiB), parsed with PyYAML's safe parser (libyaml
when available) and built into :class:`YamlMap` / :class:`YamlList` values that
remember where every key, value and item was written. Anchors, aliases, merge
keys, explicit tags, duplicate keys, non-string keys, deep nesting and several
documents per file are rejected. Only ``true``/``false``, ``null``/``~``/empty
and plain decimals get non-string types. Every failure is a :class:`DataError`.
"""

from __future__ import annotations

import io
import math
import os
import re
from decimal import Decimal
from typing import IO, Any, Protocol

import yaml

from imt_tutor.errors import DataError, Location

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "YamlList",
    "YamlMap",
    "dump_yaml",
    "load_yaml_file",
    "load_yaml_stream",
    "load_yaml_text",
    "to_location",
]

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64

_MIB = 1024 * 1024
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


class YamlMap(dict):  # type: ignore[type-arg]
    """A loaded YAML mapping (a plain ``dict``) that knows where it was written.

    Keys added after loading have no position of their own; their
    ``key_location``/``value_location`` fall back to the mapping's location.
    """

    location: Location

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.location = Location("<unknown>")
        self._key_locations: dict[str, Location] = {}
        self._value_locations: dict[str, Location] = {}

    def key_location(self, key: str) -> Location:
        """Where ``key`` is written (1-based)."""
        return self._key_locations.get(key, self.location)

    def value_location(self, key: str) -> Location:
        """Where the value of ``key`` starts (1-based)."""
        return self._value_locations.get(key, self.location)


class YamlList(list):  # type: ignore[type-arg]
    """A loaded YAML sequence (a plain ``list``) that knows where it was written.

    Items added after loading fall back to the list's location.
    """

    location: Location

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.location = Location("<unknown>")
        self._item_locations: list[Location] = []

    def item_location(self, index: int) -> Location:
        """Where item ``index`` starts (1-based; negative indexes work)."""
        count = len(self._item_locations)
        if index < 0:
            index += len(self)
        if 0 <= index < count:
            return self._item_locations[index]
        return self.location


# --------------------------------------------------------------------------
# Loader classes


class _PureLoader(yaml.SafeLoader):
    """The pure-Python safe loader (used when libyaml is missing, and in tests)."""


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


def _size_text(size: int) -> str:
    tenths = math.ceil(size * 10 / _MIB)
    return f"{tenths // 10}.{tenths % 10} MiB"


def _too_large(path: str, size: int | None) -> DataError:
    limit = f"{MAX_BYTES / _MIB:g} MiB"
    shown = _size_text(size) if size is not None else f"more than {limit}"
    return DataError(f"file is too large ({shown}; limit {limit})", Location(path))


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
        raise DataError(f"file is not valid UTF-8 (byte 0x{bad:02x})", Location(path, line, column)) from None


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


def _scalar_value(event: Any, path: str) -> Any:
    value: str = event.value
    if not event.implicit[0]:  # quoted or block scalar: always a string
        if event.style == '"' and _SURROGATE_RE.search(value):  # "\ud800"
            raise DataError(
                "invalid character escape (lone surrogate)",
                to_location(path, event.start_mark),
            )
        return value
    if value == "true":
        return True
    if value == "false":
        return False
    if value in ("", "null", "~"):
        return None
    if _INT_RE.fullmatch(value):
        try:
            return int(value)
        except ValueError:  # more digits than int() accepts
            raise DataError("number is too long", to_location(path, event.start_mark)) from None
    if _FLOAT_RE.fullmatch(value):
        number = float(value)
        if math.isinf(number):
            raise DataError("number is out of range", to_location(path, event.start_mark))
        return number
    return value


class _Builder:
    """Turns a stream of parse events into YamlMap/YamlList/scalar values."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.root: Any = None
        self.root_location = Location(path, 1, 1)
        self.have_root = False
        # Open collections; for mappings also the pending key (None: want a key).
        self.stack: list[Any] = []
        self.keys: list[str | None] = []

    def _here(self, event: Any) -> Location:
        return to_location(self.path, event.start_mark)

    def _wants_key(self) -> bool:
        return bool(self.stack) and isinstance(self.stack[-1], YamlMap) and self.keys[-1] is None

    def open(self, event: Any, container: YamlMap | YamlList) -> None:
        location = self._here(event)
        if self._wants_key():
            raise DataError("keys must be strings", location)
        if len(self.stack) >= MAX_DEPTH:
            raise DataError(f"nesting is deeper than {MAX_DEPTH} levels", location)
        container.location = location
        self.stack.append(container)
        self.keys.append(None)

    def close(self) -> None:
        container = self.stack.pop()
        self.keys.pop()
        self.add(container, container.location, plain_key=None)

    def add(self, value: Any, location: Location, plain_key: str | None) -> None:
        if not self.stack:
            self.root = value
            self.root_location = location
            self.have_root = True
            return
        parent = self.stack[-1]
        if isinstance(parent, YamlList):
            parent.append(value)
            parent._item_locations.append(location)
            return
        key = self.keys[-1]
        if key is not None:
            parent[key] = value
            parent._value_locations[key] = location
            self.keys[-1] = None
            return
        if plain_key == "<<":
            raise DataError("merge keys (<<) are not allowed", location)
        if not isinstance(value, str):
            raise DataError("keys must be strings", location)
        first = parent._key_locations.get(value)
        if first is not None:
            raise DataError(
                f"duplicate key {value!r} (first defined at line {first.line})",
                location,
            )
        parent._key_locations[value] = location
        self.keys[-1] = value


def _build(text: str, path: str, loader_class: type[Any]) -> tuple[Any, Location]:
    """Parse ``text`` into values; return (root value, root location)."""
    builder = _Builder(path)
    documents = 0
    loader = loader_class(text)
    try:
        while True:
            event = loader.get_event()
            kind = type(event)
            if kind is yaml.ScalarEvent:
                _check_node_event(event, path)
                value = _scalar_value(event, path)
                plain_key = event.value if event.implicit[0] else None
                builder.add(value, builder._here(event), plain_key)
            elif kind is yaml.MappingStartEvent:
                _check_node_event(event, path)
                builder.open(event, YamlMap())
            elif kind is yaml.SequenceStartEvent:
                _check_node_event(event, path)
                builder.open(event, YamlList())
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                builder.close()
            elif kind is yaml.AliasEvent:
                raise DataError("anchors and aliases are not allowed", builder._here(event))
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise DataError("expected a single YAML document", builder._here(event))
            elif kind is yaml.StreamEndEvent or event is None:
                break
    finally:
        loader.dispose()
    if not builder.have_root or builder.root is None:
        raise DataError("file is empty", Location(path, 1, 1))
    return builder.root, builder.root_location


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


def _check_expect(value: Any, location: Location, expect: type | tuple[type, ...] | None) -> None:
    if expect is None:
        return
    kinds = expect if isinstance(expect, tuple) else (expect,)
    if isinstance(value, bool):
        matches = bool in kinds or object in kinds
    else:
        matches = isinstance(value, kinds)
    if not matches:
        wanted = " or ".join(_type_name(kind) for kind in kinds)
        raise DataError(f"expected {wanted} at the top level, found {_value_name(value)}", location)


# --------------------------------------------------------------------------
# Public API


def _syntax_error(error: yaml.MarkedYAMLError, path: str) -> DataError:
    mark = error.problem_mark or error.context_mark
    problem = error.problem or error.context or "syntax error"
    message = f"invalid YAML: {problem}"
    if error.context and error.problem and error.context_mark is not None:
        message += f" ({error.context} at line {error.context_mark.line + 1})"
    return DataError(message, to_location(path, mark))


def _parse(text: str, path: str, loader_class: type[Any]) -> tuple[Any, Location]:
    """:func:`_build`, with every parser failure turned into a DataError."""
    try:
        return _build(text, path, loader_class)
    except yaml.MarkedYAMLError as error:
        if loader_class is not _PureLoader and "nesting depth" in str(error.problem):
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


def _load_str(text: str, path: str, expect: type | tuple[type, ...] | None) -> Any:
    text = text.removeprefix("\ufeff")
    bad = _NON_PRINTABLE_RE.search(text)
    if bad is not None:
        line, column = _position(text, bad.start())
        raise DataError(
            f"invalid character U+{ord(bad.group()):04X} (control characters are not allowed)",
            Location(path, line, column),
        )
    value, location = _parse(text, path, _active_loader)
    _check_expect(value, location, expect)
    return value


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
    if isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
        if len(data) > MAX_BYTES:
            raise _too_large(path, len(data))
        return _load_str(_decode(data, path), path, expect)
    if not isinstance(text, str):
        raise TypeError(f"expected str or bytes, not {type(text).__name__}")
    if len(text) > MAX_BYTES:  # every character is at least one byte
        raise _too_large(path, None)
    if len(text) > MAX_BYTES // 4:  # may be over the limit once encoded
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_BYTES:
            raise _too_large(path, size)
    return _load_str(text, path, expect)


def load_yaml_file(
    path: str | os.PathLike[str],
    *,
    expect: type | tuple[type, ...] | None = dict,
    display_path: str | None = None,
) -> Any:
    """Load one YAML document from the file at ``path``.

    ``display_path`` (default: ``path``) is what error locations show. The
    size is checked before the file is read.
    """
    shown = display_path if display_path is not None else os.fsdecode(path)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_BYTES:
                raise _too_large(shown, size)
            data = _read_limited(handle, shown)
    except OSError as error:
        raise DataError(f"cannot read file: {error.strerror or error}", Location(shown)) from None
    return load_yaml_text(data, shown, expect=expect)


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
