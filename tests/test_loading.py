"""Tests for imt_tutor.loading: strict, safe, position-aware YAML loading."""

from __future__ import annotations

import io
import json
import math
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imt_tutor
from imt_tutor import loading
from imt_tutor.errors import DataError, Location
from imt_tutor.loading import (
    MAX_BYTES,
    MAX_DEPTH,
    YamlList,
    YamlMap,
    dump_yaml,
    load_json_file,
    load_json_text,
    load_yaml_file,
    load_yaml_stream,
    load_yaml_text,
    to_location,
)

DATA = Path(__file__).parent / "data" / "yaml"
LOADERS = ["libyaml", "pure"]
HYPOTHESIS_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(autouse=True, params=LOADERS)
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run every test with libyaml's loader and with the pure-Python one."""
    pure = request.param == "pure"
    monkeypatch.setattr(loading, "_active_loader", loading._loader_class(pure))
    return str(request.param)


def _error(text: str | bytes, **kwargs: Any) -> DataError:
    with pytest.raises(DataError) as info:
        load_yaml_text(text, "t.yaml", **kwargs)
    return info.value


def _file_error(name: str, **kwargs: Any) -> DataError:
    with pytest.raises(DataError) as info:
        load_yaml_file(DATA / name, **kwargs)
    return info.value


def _at(line: int, column: int, path: str = "t.yaml") -> Location:
    return Location(path, line, column)


# --------------------------------------------------------------------------
# Loader classes


def test_loader_classes_are_safe_loaders() -> None:
    import yaml

    pure = loading._loader_class(pure=True)
    assert issubclass(pure, yaml.SafeLoader)
    default = loading._loader_class(pure=False)
    if yaml.__with_libyaml__:
        assert issubclass(default, yaml.CSafeLoader)
    else:  # pragma: no cover
        assert default is pure


# --------------------------------------------------------------------------
# Hostile files: one per hazard, exact position and key words

HOSTILE_FILES = [
    ("duplicate_key.yaml", 5, 1, ["duplicate key 'site'", "first defined at line 3"]),
    ("alias_bomb.yaml", 2, 4, ["anchors and aliases are not allowed"]),
    ("anchor.yaml", 3, 10, ["anchors and aliases are not allowed"]),
    ("alias.yaml", 4, 10, ["anchors and aliases are not allowed"]),
    ("merge_key.yaml", 3, 3, ["merge keys (<<) are not allowed"]),
    (
        "python_tag.yaml",
        1,
        1,
        ["python tags are not allowed", "!!python/object/apply:os.system"],
    ),
    (
        "python_tag_value.yaml",
        2,
        9,
        ["python tags are not allowed", "!!python/name:os.system"],
    ),
    ("custom_tag.yaml", 4, 5, ["tags are not allowed", "!marker"]),
    ("too_deep.yaml", 1, 70, ["nesting is deeper than 64 levels"]),
    ("not_utf8.yaml", 3, 10, ["not valid UTF-8", "0xe9"]),
    ("empty.yaml", 1, 1, ["file is empty"]),
    ("comments_only.yaml", 1, 1, ["file is empty"]),
    ("top_level_list.yaml", 1, 1, ["expected a mapping", "found a list"]),
    ("multi_doc.yaml", 2, 1, ["expected a single YAML document"]),
    ("non_string_key.yaml", 3, 3, ["keys must be strings"]),
    ("syntax_error.yaml", 3, 5, ["invalid YAML"]),
    ("bad_indent.yaml", 3, 6, ["invalid YAML", "mapping values are not allowed"]),
    # Control characters and bidi overrides, written raw or as escapes, in keys and values.
    ("control_osc.yaml", 1, 8, ["U+001B", "control characters are not allowed"]),
    ("control_csi.yaml", 2, 12, ["U+001B", "control characters are not allowed"]),
    ("control_backspace.yaml", 1, 4, ["U+0008", "control characters"]),
    ("control_cr_escape.yaml", 1, 4, ["U+000D", "control characters"]),
    ("c1_escape.yaml", 1, 4, ["U+009B", "control characters"]),
    ("bidi_raw.yaml", 2, 9, ["U+202E", "bidirectional override"]),
    ("bidi_escaped_key.yaml", 2, 3, ["U+2066", "bidirectional override"]),
    # Read differently by libyaml and the pure-Python parser: refused by both.
    ("tab_in_block_scalar.yaml", 4, 3, ["read differently by different YAML parsers", "a tab where"]),
    ("trailing_tab.yaml", 2, 30, ["invalid YAML", "'\\t'"]),
]


@pytest.mark.parametrize(
    ("name", "line", "column", "words"),
    HOSTILE_FILES,
    ids=[case[0] for case in HOSTILE_FILES],
)
def test_hostile_file(name: str, line: int, column: int, words: list[str]) -> None:
    error = _file_error(name)
    path = str(DATA / name)
    assert error.location == Location(path, line, column)
    for word in words:
        assert word in error.message
    assert str(error).startswith(f"{path}:{line}:{column}: ")


def test_every_hostile_file_is_tested() -> None:
    tested = {case[0] for case in HOSTILE_FILES} | {"bom.yaml"}
    assert {p.name for p in DATA.glob("*.yaml")} == tested


def test_error_string_format() -> None:
    error = _file_error("duplicate_key.yaml", display_path="cases/c01.yaml")
    assert str(error) == ("cases/c01.yaml:5:1: duplicate key 'site' (first defined at line 3)")


def test_alias_bomb_is_refused() -> None:
    # How fast it is refused is measured by benchmarks/loading.py, not asserted here.
    with pytest.raises(DataError, match="alias"):
        load_yaml_file(DATA / "alias_bomb.yaml")


# --------------------------------------------------------------------------
# Anchors, aliases, merge keys, tags


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("a: &x 1\n", 1, 4),
        ("a: &x {b: 1}\n", 1, 4),
        ("a: &x\n  - 1\n", 1, 4),
        ("a: 1\nb: *x\n", 2, 4),
        ("- 1\n- *x\n", 2, 3),
    ],
)
def test_anchors_and_aliases_rejected(text: str, line: int, column: int) -> None:
    error = _error(text, expect=None)
    assert error.location == _at(line, column)
    assert "anchors and aliases are not allowed" in error.message


def test_merge_key_in_flow_mapping_rejected() -> None:
    error = _error("a: {<<: {b: 1}}\n")
    assert error.location == _at(1, 5)
    assert "merge keys (<<) are not allowed" in error.message


def test_quoted_merge_key_is_an_ordinary_key() -> None:
    assert load_yaml_text('"<<": x\n') == {"<<": "x"}


@pytest.mark.parametrize(
    ("text", "shown", "column"),
    [
        ("a: !!python/tuple [1, 2]\n", "!!python/tuple", 4),
        ("a: !!python/object:os.system {}\n", "!!python/object:os.system", 4),
        (
            "a: !<tag:yaml.org,2002:python/object/apply:os.system> [x]\n",
            "!!python/object/apply:os.system",
            4,
        ),
        (
            "%TAG !e! tag:yaml.org,2002:python/\n---\na: !e!name:os.system x\n",
            "!!python/name:os.system",
            4,
        ),
    ],
)
def test_python_tags_rejected(text: str, shown: str, column: int) -> None:
    error = _error(text)
    assert error.location.column == column
    assert "python tags are not allowed" in error.message
    assert shown in error.message


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a: !!str 1\n", "!!str"),
        ("a: !!binary aGk=\n", "!!binary"),
        ("a: !!set {x: null}\n", "!!set"),
        ("a: !!omap [x: 1]\n", "!!omap"),
        ("a: !custom x\n", "!custom"),
        ("a: ! x\n", "!"),
        ("a: !!map {}\n", "!!map"),
    ],
)
def test_explicit_tags_rejected(text: str, shown: str) -> None:
    error = _error(text)
    assert error.location == _at(1, 4)
    assert error.message == f"explicit tags are not allowed: {shown}"


# --------------------------------------------------------------------------
# Keys


def test_duplicate_key_in_nested_and_flow_mappings() -> None:
    error = _error("a:\n  b: 1\n  c: 2\n  b: 3\n")
    assert error.location == _at(4, 3)
    assert error.message == "duplicate key 'b' (first defined at line 2)"
    error = _error("a: {x: 1, x: 2}\n")
    assert error.location == _at(1, 11)
    assert "duplicate key 'x'" in error.message


def test_same_key_in_different_mappings_is_fine() -> None:
    assert load_yaml_text("a: {x: 1}\nb: {x: 2}\n") == {"a": {"x": 1}, "b": {"x": 2}}


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("a: 1\n1: x\n", 2, 1),
        ("1.5: x\n", 1, 1),
        ("true: x\n", 1, 1),
        ("null: x\n", 1, 1),
        ("~: x\n", 1, 1),
        ("a: 1\n? \n: x\n", 2, 2),
        ("{~: x}\n", 1, 2),
        ("{a: 1, null: 2}\n", 1, 8),
        ("[a]: b\n", 1, 1),
        ("{a: 1}: b\n", 1, 1),
        ("? [a]\n: b\n", 1, 3),
        ("x: {[a]: b}\n", 1, 5),
    ],
)
def test_non_string_keys_rejected(text: str, line: int, column: int) -> None:
    error = _error(text)
    assert error.message == "keys must be strings"
    assert error.location == _at(line, column)


def test_string_looking_keys_are_fine() -> None:
    data = load_yaml_text("no: 1\n'1': 2\nyes: 3\n2024-01-01: 4\n")
    assert data == {"no": 1, "1": 2, "yes": 3, "2024-01-01": 4}


# --------------------------------------------------------------------------
# Nesting depth


def test_max_depth_is_allowed() -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    value = load_yaml_text(text, expect=list)
    depth = 0
    while isinstance(value, list):
        depth += 1
        value = value[0] if value else None
    assert depth == MAX_DEPTH


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), 1, MAX_DEPTH + 1),
        ("[" * 100_000, 1, MAX_DEPTH + 1),
        ("{a: " * 100_000, 1, 4 * MAX_DEPTH + 1),
        ("- " * 100_000 + "x", 1, 2 * MAX_DEPTH + 1),
        (
            "".join(" " * i + f"k{i}:\n" for i in range(100)),
            MAX_DEPTH + 1,
            MAX_DEPTH + 1,
        ),
    ],
    ids=["65-lists", "100000-lists", "100000-maps", "100000-dashes", "block-maps"],
)
def test_too_deep_rejected(text: str, line: int, column: int) -> None:
    error = _error(text, expect=None)
    assert error.message == "nesting is deeper than 64 levels"
    assert error.location == _at(line, column)


# --------------------------------------------------------------------------
# Documents and top-level types


@pytest.mark.parametrize("text", ["", "\n\n", "# c\n", "---\n", "--- null\n", "~\n"])
def test_empty_documents(text: str) -> None:
    error = _error(text, expect=None)
    assert error.message == "file is empty"
    assert error.location == _at(1, 1)


@pytest.mark.parametrize(
    ("text", "line"),
    [("a: 1\n---\nb: 2\n", 2), ("a: 1\n...\n--- b: 2\n", 3), ("--- 1\n--- 2\n", 2)],
)
def test_multiple_documents_rejected(text: str, line: int) -> None:
    error = _error(text, expect=None)
    assert error.message == "expected a single YAML document"
    assert error.location == _at(line, 1)


def test_explicit_document_markers_are_fine() -> None:
    assert load_yaml_text("%YAML 1.1\n---\na: 1\n...\n") == {"a": 1}


@pytest.mark.parametrize(
    ("text", "expect", "message", "column"),
    [
        ("- a\n", dict, "expected a mapping at the top level, found a list", 1),
        ("a: 1\n", list, "expected a list at the top level, found a mapping", 1),
        ("hello\n", dict, "expected a mapping at the top level, found a string", 1),
        ("  42\n", dict, "expected a mapping at the top level, found an integer", 3),
        ("true\n", int, "expected an integer at the top level, found a boolean", 1),
        (
            "1.5\n",
            (dict, list),
            "expected a mapping or a list at the top level, found a number",
            1,
        ),
    ],
)
def test_wrong_top_level_type(text: str, expect: type | tuple[type, ...], message: str, column: int) -> None:
    error = _error(text, expect=expect)
    assert error.message == message
    assert error.location == _at(1, column)


@pytest.mark.parametrize(
    ("text", "expect", "value"),
    [
        ("- a\n", list, ["a"]),
        ("a: 1\n", (dict, list), {"a": 1}),
        ("hello\n", None, "hello"),
        ("42\n", int, 42),
        ("false\n", bool, False),
        ("[]\n", None, []),
        ("{}\n", dict, {}),
    ],
)
def test_expected_top_level_types(text: str, expect: type | tuple[type, ...] | None, value: Any) -> None:
    assert load_yaml_text(text, expect=expect) == value


# --------------------------------------------------------------------------
# Syntax errors and bad characters


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("a: [1, 2\nb: 3\n", 2, 2),
        ("a: 1\n b: 2\n", 2, 3),
        ("a: 'open\n", 2, 1),
        ("a: b: c\n", 1, 5),
        ("- a\nb: c\n", 2, 1),
    ],
)
def test_syntax_errors(text: str, line: int, column: int) -> None:
    error = _error(text, expect=None)
    assert error.message.startswith("invalid YAML: ")
    assert error.location == _at(line, column)


@pytest.mark.parametrize(
    ("text", "line", "column", "code"),
    [
        ("a: b\x00c\n", 1, 5, "U+0000"),
        ("a: 1\nb: \x07\n", 2, 4, "U+0007"),
        ("a: 1\r\nb: x\x1b\n", 2, 5, "U+001B"),
        ("a: \ud800\n", 1, 4, "U+D800"),
        ("a: \ufffe\n", 1, 4, "U+FFFE"),
    ],
)
def test_control_characters_rejected(text: str, line: int, column: int, code: str) -> None:
    error = _error(text)
    assert code in error.message
    assert error.location == _at(line, column)


@pytest.mark.parametrize(
    ("data", "line", "column", "byte"),
    [
        (b"\xff\xfea\x00", 1, 1, "0xff"),
        (b"a: \xc3\xa9\xff\n", 1, 5, "0xff"),
        (b"a: 1\nb: \xe2\x82\n", 2, 4, "0xe2"),
        (b"\xef\xbb\xbfa: 1\r\nb: \x80\n", 2, 4, "0x80"),
        (b"a: 1\rb: 2\r\nc: \xc0\xaf\n", 3, 4, "0xc0"),
    ],
)
def test_invalid_utf8_position(data: bytes, line: int, column: int, byte: str) -> None:
    error = _error(data)
    assert error.message == f"file is not valid UTF-8 (byte {byte})"
    assert error.location == _at(line, column)


def test_bom_accepted() -> None:
    assert load_yaml_file(DATA / "bom.yaml") == {"case_id": "c01", "site": "lung"}
    data = load_yaml_text("\ufeffa: 1\nb: 2\n")
    assert data == {"a": 1, "b": 2}
    assert data.key_location("a") == Location("<string>", 1, 1)
    assert load_yaml_text(b"\xef\xbb\xbfa: x\n") == {"a": "x"}


@pytest.mark.skipif(not hasattr(sys, "set_int_max_str_digits"), reason="no int digit limit")
def test_huge_integer_is_a_data_error() -> None:
    error = _error("a: " + "1" * 5000 + "\n")
    assert error.message == "number is too long"
    assert error.location == _at(1, 4)


def test_huge_float_is_a_data_error() -> None:
    error = _error("a: " + "9" * 400 + ".5\n")
    assert error.message == "number is out of range"
    assert error.location == _at(1, 4)


# --------------------------------------------------------------------------
# Scalar typing


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        # Only lower-case true/false are booleans ("Norway problem").
        ("true", True),
        ("false", False),
        ("no", "no"),
        ("yes", "yes"),
        ("on", "on"),
        ("off", "off"),
        ("NO", "NO"),
        ("No", "No"),
        ("True", "True"),
        ("FALSE", "FALSE"),
        ("y", "y"),
        ("n", "n"),
        # Nulls.
        ("null", None),
        ("~", None),
        ("", None),
        ("Null", "Null"),
        ("NULL", "NULL"),
        # Plain decimals are numbers.
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("-0", 0),
        ("3.14", 3.14),
        ("-0.5", -0.5),
        ("0.0", 0.0),
        ("10.25", 10.25),
        # Everything else stays a string.
        ("012", "012"),
        ("0x1F", "0x1F"),
        ("0o17", "0o17"),
        ("0b101", "0b101"),
        ("1_000", "1_000"),
        ("+1", "+1"),
        ("1e3", "1e3"),
        ("1.5e3", "1.5e3"),
        ("1.", "1."),
        (".5", ".5"),
        ("01.5", "01.5"),
        (".inf", ".inf"),
        ("-.inf", "-.inf"),
        (".nan", ".nan"),
        ("1:20", "1:20"),
        ("190:20:30", "190:20:30"),
        ("2024-01-01", "2024-01-01"),
        ("2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z"),
        ("=", "="),
        ("1,000", "1,000"),
        ("٣", "٣"),
        # Quoted and block scalars are always strings.
        ("'true'", "true"),
        ('"false"', "false"),
        ("'no'", "no"),
        ("'123'", "123"),
        ('"1.5"', "1.5"),
        ("'null'", "null"),
        ("'~'", "~"),
        ("''", ""),
        ('""', ""),
        ("|\n  12\n", "12\n"),
        (">-\n  true\n", "true"),
    ],
)
def test_scalar_typing(raw: str, value: Any) -> None:
    loaded = load_yaml_text(f"alk_ihc: {raw}\n")["alk_ihc"]
    assert type(loaded) is type(value)
    assert loaded == value


def test_norway_in_lists_and_flow() -> None:
    data = load_yaml_text("a: [no, yes, off]\nb:\n  - NO\n  - on\n")
    assert data == {"a": ["no", "yes", "off"], "b": ["NO", "on"]}


# --------------------------------------------------------------------------
# Positions


def test_positions_are_one_based() -> None:
    text = (
        "case_id: c01\n"  # 1
        "markers:\n"  # 2
        "  - alk\n"  # 3
        "  -   ros1\n"  # 4
        "nested: {a: 1, b: [x, y]}\n"  # 5
        "empty:\n"  # 6
        "block: |\n"  # 7
        "  text\n"  # 8
    )
    data = load_yaml_text(text, "c.yaml")
    assert isinstance(data, YamlMap)
    assert data.location == Location("c.yaml", 1, 1)
    assert data.key_location("case_id") == Location("c.yaml", 1, 1)
    assert data.value_location("case_id") == Location("c.yaml", 1, 10)
    assert data.key_location("markers") == Location("c.yaml", 2, 1)
    markers = data["markers"]
    assert isinstance(markers, YamlList)
    assert markers.location == Location("c.yaml", 3, 3)
    assert data.value_location("markers") == markers.location
    assert markers.item_location(0) == Location("c.yaml", 3, 5)
    assert markers.item_location(1) == Location("c.yaml", 4, 7)
    assert markers.item_location(-1) == Location("c.yaml", 4, 7)
    nested = data["nested"]
    assert isinstance(nested, YamlMap)
    assert nested.location == Location("c.yaml", 5, 9)
    assert nested.key_location("b") == Location("c.yaml", 5, 16)
    assert nested.value_location("a") == Location("c.yaml", 5, 13)
    assert nested["b"].item_location(1) == Location("c.yaml", 5, 23)
    assert data.key_location("empty") == Location("c.yaml", 6, 1)
    assert data["empty"] is None
    assert data.value_location("block") == Location("c.yaml", 7, 8)
    assert str(data.value_location("case_id")) == "c.yaml:1:10"


def test_positions_with_crlf_and_unicode() -> None:
    data = load_yaml_text("ä: 1\r\nbé: [ü, x]\r\n")
    assert data.key_location("bé").line == 2
    assert data["bé"].item_location(1) == Location("<string>", 2, 9)


def test_unknown_keys_fall_back_to_container_location() -> None:
    data = load_yaml_text("a: 1\nb: [x]\n")
    data["new"] = 2
    assert data.key_location("new") == data.location
    assert data.value_location("new") == data.location
    assert data["b"].item_location(5) == data["b"].location
    assert YamlMap().location.path == "<unknown>"
    assert YamlList().item_location(0).path == "<unknown>"


def test_results_are_plain_dicts_and_lists() -> None:
    data = load_yaml_text("a: {b: [1, {c: d}]}\n")
    assert data == {"a": {"b": [1, {"c": "d"}]}}
    assert isinstance(data, dict)
    assert isinstance(data["a"]["b"], list)
    assert type(data["a"]["b"][1]) is YamlMap


def test_to_location() -> None:
    assert to_location("x.yaml", SimpleNamespace(line=0, column=0)) == Location("x.yaml", 1, 1)
    assert to_location("x.yaml", SimpleNamespace(line=4, column=7)) == Location("x.yaml", 5, 8)
    assert to_location("x.yaml", None) == Location("x.yaml", 1, 1)


# --------------------------------------------------------------------------
# Files, streams and size


def test_oversize_file_rejected_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: " + b"x" * MAX_BYTES + b"\n")

    def no_read(*args: Any) -> bytes:
        raise AssertionError("the file was read")

    monkeypatch.setattr(loading, "_read_limited", no_read)
    with pytest.raises(DataError) as info:
        load_yaml_file(path)
    error = info.value
    assert error.location == Location(str(path))
    assert error.message == "file is too large (1.1 MiB; limit 1 MiB)"
    assert str(error) == f"{path}: file is too large (1.1 MiB; limit 1 MiB)"


def test_file_at_the_size_limit_loads(tmp_path: Path) -> None:
    path = tmp_path / "limit.yaml"
    path.write_bytes(b"a: " + b"x" * (MAX_BYTES - 4) + b"\n")
    assert path.stat().st_size == MAX_BYTES
    assert len(load_yaml_file(path)["a"]) == MAX_BYTES - 4


def test_oversize_text_and_bytes_rejected() -> None:
    error = _error(b"a" * (MAX_BYTES + 1))
    assert "file is too large" in error.message
    assert error.location == Location("t.yaml")
    error = _error("é" * (MAX_BYTES // 2 + 1))  # small in characters, big in bytes
    assert "file is too large" in error.message
    error = _error("a" * (MAX_BYTES + 1))
    assert "file is too large" in error.message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(DataError) as info:
        load_yaml_file(path)
    assert info.value.location == Location(str(path))
    assert info.value.message == "cannot read file: No such file or directory"


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_yaml_file(tmp_path)
    assert info.value.message.startswith("cannot read file: ")


def test_display_path(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\na: 2\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_yaml_file(str(path), display_path="cases/x.yaml")
    assert info.value.location == Location("cases/x.yaml", 2, 1)
    data = load_yaml_file(DATA / "bom.yaml", display_path="bom.yaml")
    assert data.location == Location("bom.yaml", 1, 1)


def test_stream_binary() -> None:
    data = load_yaml_stream(io.BytesIO(b"a: 1\nb: [x]\n"))
    assert data == {"a": 1, "b": ["x"]}
    assert data["b"].location == Location("<stdin>", 2, 4)
    error = _stream_error(io.BytesIO(b"a: 1\na: 2\n"), "in.yaml")
    assert error.location == Location("in.yaml", 2, 1)


def test_stream_text_and_wrapped() -> None:
    assert load_yaml_stream(io.StringIO("a: é\n")) == {"a": "é"}
    wrapped = io.TextIOWrapper(io.BytesIO("a: é\n".encode()), encoding="latin-1")
    assert load_yaml_stream(wrapped) == {"a": "é"}  # always read as UTF-8
    bad = io.TextIOWrapper(io.BytesIO(b"a: \xff\n"), encoding="utf-8")
    error = _stream_error(bad)
    assert error.location == Location("<stdin>", 1, 4)
    assert "0xff" in error.message


def test_stream_limits_what_it_reads() -> None:
    class Counting(io.BytesIO):
        read_total = 0

        def read(self, size: int | None = -1) -> bytes:
            chunk = super().read(size)
            Counting.read_total += len(chunk)
            return chunk

    stream = Counting(b"a: " + b"x" * (3 * MAX_BYTES))
    error = _stream_error(stream)
    assert "file is too large" in error.message
    assert error.location == Location("<stdin>")
    assert Counting.read_total == MAX_BYTES + 1
    error = _stream_error(io.StringIO("a" * (MAX_BYTES + 1)))
    assert "file is too large" in error.message


def test_stream_read_error() -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            raise OSError(5, "Input/output error")

    error = _stream_error(Broken())
    assert error.message == "cannot read file: Input/output error"
    assert error.location == Location("<stdin>")


def _stream_error(stream: Any, path: str = "<stdin>") -> DataError:
    with pytest.raises(DataError) as info:
        load_yaml_stream(stream, path)
    return info.value


def test_large_file_loads(tmp_path: Path, loader: str) -> None:
    # Its load time is printed by benchmarks/loading.py, never asserted here.
    block = "case_{}:\n  site: lung\n  age: {}\n  markers: [alk, 'ros1', no]\n"
    parts: list[str] = []
    size = 0
    index = 0
    while size < MAX_BYTES - 200:
        part = block.format(index, index)
        parts.append(part)
        size += len(part)
        index += 1
    path = tmp_path / "large.yaml"
    path.write_text("".join(parts), encoding="utf-8")
    data = load_yaml_file(path)
    assert len(data) == index
    assert data["case_7"]["markers"] == ["alk", "ros1", "no"]


# --------------------------------------------------------------------------
# Both loaders agree


def _outcome(text: str, pure: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(loading, "_active_loader", loading._loader_class(pure))
    try:
        return ("ok", _with_locations(load_yaml_text(text, expect=None)))
    except DataError as error:
        return ("error", error.location)


def _with_locations(value: Any) -> Any:
    """Value plus every recorded position, for comparing loaders."""
    if isinstance(value, YamlMap):
        return (
            value.location,
            [(k, value.key_location(k), value.value_location(k), _with_locations(v)) for k, v in value.items()],
        )
    if isinstance(value, YamlList):
        return (
            value.location,
            [(value.item_location(i), _with_locations(v)) for i, v in enumerate(value)],
        )
    return (type(value), value)


SAMPLE_DOCUMENTS = [
    "case_id: c01\nmarkers:\n  - alk: positive\n  - ros1: 'no'\nage: 34\n",
    'a: {b: [1, 2.5, true, null, ~, x], c: "q"}\nd: |\n  line\n  two\ne: >-\n  f\n',
    "- [a, b]\n- {c: d}\n-\n  - - deep\n",
    "\ufeffk: v\r\nl: 'multi\r\n  line'\r\n",
    "? complex\n: value\nplain multi\n  line: key\n",
]


# Parametrizing ``loader`` directly replaces the autouse fixture: this test
# switches between the two loaders itself.
@pytest.mark.parametrize("loader", ["both"])
@pytest.mark.parametrize(
    "text",
    SAMPLE_DOCUMENTS + [p.read_bytes().decode("utf-8", "replace") for p in sorted(DATA.glob("*.yaml"))],
)
def test_loaders_agree(text: str, loader: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert loader == "both"
    assert _outcome(text, False, monkeypatch) == _outcome(text, True, monkeypatch)


# --------------------------------------------------------------------------
# One answer for one file, on every installation: where the parsers part, refuse

HAS_LIBYAML = loading._loader_class(False) is not loading._loader_class(True)

# Fragments heavy in what libyaml and the pure-Python parser read differently.
_FRAGMENTS = st.sampled_from(
    [
        *["\t", " ", "  ", " \t", "\n", "\n", "\n  ", "\n\t", "\r\n", "\r", "\u2028", "\n \n"],
        *["[", "]", "{", "}", ",", ":", ": ", " :", "'", '"', "#", " #", "-", "- ", "?", "? ", "\\", "!", "~"],
        *["|", ">", "|-", ">+", "|2", "|#", ">-#", "a: |\n", "- >\n ", "---", "--- ", "...", "\ufeff"],
        *["a:", ":]", ":,", ":}", "?]", "[a?b]", "{a:,}"],
        *["%", "%YAML 1.1\n", "%YAML 1.3\n", "%TAG ! x\n", "%FOO\n"],
        *["a", "b c", "key", "1", "null", "é", "'x'", '"y"', "'s\tq'", '"a\n\tb"', "\\t"],
    ]
)
_SEPARATORS = st.sampled_from([" ", "  ", ""])
_INDENTS = st.sampled_from([" ", "  ", "\t", " \t", "  \t", "\t "])
_KEYS = st.sampled_from(["a", "b c", "é", "'q'", '"d"', "'s\tq'", "a?b", "a:b", "k"])
_VALUES = st.sampled_from(["a", "b c", "1", "'q'", "'s\tq'", "~", "é", "a?b", "a:b", "%p", "", "[a]", "{a: b}"])
# Lines (a line or two after directives): a key, an item, a block scalar, a flow collection, ... with
# tabs only in quotes and where a block scalar's indentation is expected (the fragments have them elsewhere).
_LINE_SHAPES = st.sampled_from(
    [
        *["{k}:{s}{v}", "-{s}{v}", "{v}", "?{s}{k}", ":{s}{v}", "{k}:{s}{v}{s}#{w}", "---", "--- {v}", "..."],
        *["{k}:{s}|\n{i}{k}", "{k}: >-\n{i}{k}\n{i}{w}", "- |2\n{i}{k}", "{k}: |{s}#{w}\n  {k}", "- >\n\n{i}{k}"],
        *["[{k}:{s}]", "[{v},{s}{k}:]", "{{{k}:{s},{w}}}", "{{{k}:{s}}}", "[{v}{s}?{w}]", "{k}: [{v},{s}{w}]"],
    ]
)
_DIRECTIVES = st.sampled_from(
    ["", "", "---\n", "%YAML 1.2\n---\n", "%YAML 1.3\n---\n", "%FOO x\n---\n", "%TAG ! x\n---\n"]
)
_LINES = st.builds(
    lambda indent, shape, k, v, w, s, i, end: indent + shape.format(k=k, v=v, w=w, s=s, i=i) + end,
    st.sampled_from(["", "", "", " ", "  "]),
    _LINE_SHAPES,
    _KEYS,
    _VALUES,
    _VALUES,
    _SEPARATORS,
    _INDENTS,
    st.sampled_from(["", "", " ", " #c"]),
)
_DOCUMENTS = st.lists(_FRAGMENTS, min_size=1, max_size=16).map("".join) | st.builds(
    lambda directives, lines: directives + "\n".join(lines) + "\n",
    _DIRECTIVES,
    st.lists(_LINES, min_size=1, max_size=2),
)


def _typed(value: Any) -> Any:
    """``value`` with the type of every scalar (so that 1, 1.0 and True differ)."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value), value)


def _read(text: str, loader_class: type[Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """What loading ``text`` gives where ``loader_class`` is the installation's parser."""
    monkeypatch.setattr(loading, "_active_loader", loader_class)
    try:
        return ("ok", _typed(load_yaml_text(text, expect=None)))
    except DataError:
        return ("error",)


@pytest.mark.skipif(not HAS_LIBYAML, reason="PyYAML without libyaml: one parser only")
@pytest.mark.parametrize("loader", ["both"])
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_DOCUMENTS)
def test_generated_documents_load_alike_with_either_parser(
    text: str, loader: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_libyaml = _read(text, loading._loader_class(False), monkeypatch)
    assert _read(text, loading._loader_class(True), monkeypatch) == with_libyaml
    if with_libyaml[0] == "ok":  # and what loads is what each parser reads by itself
        for parser in (loading._loader_class(False), loading._loader_class(True)):
            value, _ = loading._build(text.removeprefix("\ufeff"), "t.yaml", parser)
            assert ("ok", _typed(value)) == with_libyaml


# Where the parsers part (cases of the yaml-test-suite, by id, and their kin).
# The pure parser's own error where it refuses what libyaml reads:
_TAB = ("found character '\\t' that cannot start any token", None)
# libyaml's refusals of what the pure parser reads:
_BLOCK_TAB = ("read differently by different YAML parsers (a tab where a block scalar's indentation", "ambiguous")
_FLOW_COLON = ("read differently by different YAML parsers (':' right before", "ambiguous")

PARTING = [
    ("a: b\t\nc: d\n", 1, 5, _TAB),  # DC7X: a tab at the end of a line
    ("key:\n  value\n  with\n  \t\n  tabs\n", 4, 3, _TAB),  # NB6Z: a tab on a blank continuation line
    ("foo: 1\n \t\nbar: 2\n", 2, 2, _TAB),  # DK95: a tab on a blank line
    ("x:\n - x\n  \tx\n", 3, 3, _TAB),  # UV7Q: a tab after the indentation
    ("- [\n\tfoo,\n foo\n ]\n", 2, 1, _TAB),  # Y79Y: a tab in a flow collection
    ("a: [b,\tc]\n", 1, 7, _TAB),
    ("a:\tb\n", 1, 3, _TAB),
    ("---\tscalar\n", 1, 4, _TAB),  # K54U: a tab after the document marker
    ("block: ># comment\n  scalar\n", 1, 9, ("but found '#'", None)),  # X4QW
    ("- [a?string]\n", 1, 5, ("but got '?'", None)),  # JR7V: '?' in a plain scalar of a flow collection
    ("- {key: value?}\n", 1, 14, ("but got '?'", None)),
    ("foo: |-\n \tbar\n", 2, 2, _BLOCK_TAB),  # 96NN
    ("- >\n \t\n detected\n", 2, 2, _BLOCK_TAB),  # R4YG
    ("foo: |\n \t\nbar: 1\n", 2, 2, _BLOCK_TAB),  # Y79Y
    ("b: |\n  \tx\n", 2, 3, _BLOCK_TAB),
    ("- |2\n \tx\n", 2, 2, _TAB),  # a tab short of a given indentation: refused by both, as a tab
    ('{\nunquoted : "separate",\nomitted value:,\n}\n', 3, 14, _FLOW_COLON),  # 4ABK
    ("a: [c:]\n", 1, 6, _FLOW_COLON),
    ("%FOO bar baz # Should be ignored\n---\na: 1\n", 1, 1, ("(the directive '%FOO'): remove the line", "ambiguous")),
    ("%YAML 1.3\n---\na: 1\n", 1, 1, ("(the version in '%YAML 1.3')", "ambiguous")),  # BEC7
    ("a: 1\n\ufeffb: 2\n", 2, 1, ("invalid character U+FEFF (a byte order mark is only allowed", "control")),
]


@pytest.mark.parametrize(("text", "line", "column", "expected"), PARTING)
def test_where_the_parsers_part_both_refuse_at_the_same_place(
    text: str, line: int, column: int, expected: tuple[str, str | None]
) -> None:
    words, code = expected
    error = _error(text, expect=None)
    assert (error.location, error.code) == (_at(line, column), code)
    assert words in error.message
    assert "\n" not in error.message


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a: 'x\ty'\nb: \"\\t\"\n# a\tcomment\n", {"a": "x\ty", "b": "\t"}),  # tabs in quotes and comments
        ("b: |\n  y\n  \tx\n", {"b": "y\n\tx\n"}),  # a tab inside a block scalar's text
        ("b: |2\n  \tx\n", {"b": "\tx\n"}),
        ("%YAML 1.2\n---\na: 1\n", {"a": 1}),
        ("q: why?\nr: [a, b]\ns: {t: 50%}\n", {"q": "why?", "r": ["a", "b"], "s": {"t": "50%"}}),
        ("u: a:b\nv: [c: d]\nw: '|#'\n", {"u": "a:b", "v": [{"c": "d"}], "w": "|#"}),
    ],
)
def test_what_both_parsers_read_alike_still_loads(text: str, value: Any) -> None:
    assert load_yaml_text(text) == value


def test_a_duplicate_key_is_shown_escaped_on_one_line() -> None:
    error = _error('"it\'s\\n": 1\n"it\'s\\n": 2\n')
    assert error.message == "duplicate key 'it's\\n' (first defined at line 1)"


# --------------------------------------------------------------------------
# Dumping and round trips


def test_dump_yaml_format() -> None:
    text = dump_yaml({"z": "é", "a": ["no", "x"], "n": None, "b": True, "i": 3})
    assert text == "z: é\na:\n- 'no'\n- x\nn: null\nb: true\ni: 3\n"


def test_dump_loaded_data_round_trips() -> None:
    data = load_yaml_text("b: [1, {c: '012'}]\na: 'yes'\nf: 2.5\n")
    text = dump_yaml(data)
    assert text.startswith("b:")
    assert load_yaml_text(text) == data


@pytest.mark.parametrize("number", [1e20, 1e-20, -0.0, 3.0, 0.1, 5e-324, 1.7976931348623157e308])
def test_dump_floats_round_trip(number: float) -> None:
    loaded = load_yaml_text(dump_yaml({"x": number}))["x"]
    assert type(loaded) is float
    assert loaded == number


@pytest.mark.parametrize("value", ["\u2028", "x\u2029 y", "a\u2028b"])
def test_dump_line_separators_round_trip(value: str) -> None:
    # PyYAML alone writes these raw, and they read back as spaces.
    assert load_yaml_text(dump_yaml({value: value})) == {value: value}


def test_lone_surrogates() -> None:
    error = _error('a: "x\\ud800"\n')
    assert error.location.line == 1
    with pytest.raises(ValueError):
        dump_yaml({"a": "\ud800"})


@pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan])
def test_dump_rejects_non_finite_floats(number: float) -> None:
    with pytest.raises(ValueError):
        dump_yaml({"x": number})


# Text a loaded scalar may hold (no C0 control but tab and newline, no DEL, C1 or bidi override).
_SAFE_CHARACTERS = st.characters(
    exclude_categories=["Cs"],
    exclude_characters="".join(
        [chr(c) for c in range(0x20) if c not in (9, 10)]
        + [chr(c) for c in range(0x7F, 0xA0)]
        + [chr(c) for c in range(0x202A, 0x202F)]
        + [chr(c) for c in range(0x2066, 0x206A)]
    ),
)


def _text(**kwargs: Any) -> st.SearchStrategy[str]:
    return st.text(alphabet=_SAFE_CHARACTERS, **kwargs)


@HYPOTHESIS_SETTINGS
@given(st.dictionaries(_text(), _text()))
def test_round_trip_str_dicts(data: dict[str, str]) -> None:
    assert load_yaml_text(dump_yaml(data)) == data


_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _text()
_TREES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@HYPOTHESIS_SETTINGS
@given(st.dictionaries(_text(max_size=8), _TREES, min_size=1, max_size=4))
def test_round_trip_nested(data: dict[str, Any]) -> None:
    assert load_yaml_text(dump_yaml(data)) == data


# --------------------------------------------------------------------------
# No unsafe YAML loading anywhere in the package

FORBIDDEN = re.compile(
    r"yaml\.load\(|yaml\.load_all\(|FullLoader|UnsafeLoader|full_load|unsafe_load"
    r"|(?<![\w.])eval\(|(?<![\w.])exec\("
)


def _package_sources() -> Iterator[Path]:
    yield from sorted(Path(imt_tutor.__file__).parent.rglob("*.py"))


def test_no_unsafe_yaml_loading_in_package() -> None:
    sources = list(_package_sources())
    assert any(p.name == "loading.py" for p in sources)
    found = [
        f"{path}:{number}: {line.strip()}"
        for path in sources
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if FORBIDDEN.search(line)
    ]
    assert found == []


# --------------------------------------------------------------------------
# Strict JSON with positions (the loader fixture does not apply: one parser)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=JSON_VALUES, indent=st.sampled_from([None, 1, 2]))
def test_json_loads_what_json_loads(value: Any, indent: int | None) -> None:
    text = json.dumps(value, indent=indent)
    assert load_json_text(text, expect=None) == json.loads(text)


def test_json_positions_are_one_based() -> None:
    text = '{\n  "a": [1, {"b": true}],\n  "c": "x"\n}'
    data = load_json_text(text, "t.json")
    assert isinstance(data, YamlMap) and isinstance(data["a"], YamlList)
    assert data.location == Location("t.json", 1, 1)
    assert data.key_location("a") == Location("t.json", 2, 3)
    assert data.value_location("a") == Location("t.json", 2, 8)
    assert data["a"].item_location(1) == Location("t.json", 2, 12)
    assert data["a"][1].key_location("b") == Location("t.json", 2, 13)
    assert data.value_location("c") == Location("t.json", 3, 8)
    later = load_json_text('{"a": 1}', "t.jsonl", first_line=7)
    assert later.value_location("a") == Location("t.jsonl", 7, 7)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ('{"a": 1, "a": 2}', (1, 10), "duplicate key 'a'"),
        ('{"a": NaN}', (1, 7), "invalid JSON: NaN is not allowed"),
        ('{"a": -Infinity}', (1, 7), "invalid JSON: -Infinity is not allowed"),
        ('{"a": 1e999}', (1, 7), "number is out of range"),
        ('{"a": "\\ud800"}', (1, 7), "invalid character escape (lone surrogate)"),
        ('{"a": 1,}', (1, 9), "invalid JSON: Expecting property name enclosed in double quotes"),
        ('{"a" 1}', (1, 6), "invalid JSON: Expecting ':' delimiter"),
        ('{"a": 1}\n{"b": 2}', (2, 1), "invalid JSON: Extra data"),
        ('{"a": "x\ny"}', (1, 9), "invalid JSON: Invalid control character at"),
        ("  \n ", (1, 1), "file is empty"),
        ("[1]", (1, 1), "expected an object at the top level, found a list"),
        ("[" * 65 + "]" * 65, (1, 65), f"nesting is deeper than {MAX_DEPTH} levels"),
    ],
)
def test_json_rejections_are_located(text: str, where: tuple[int, int], message: str) -> None:
    with pytest.raises(DataError) as info:
        load_json_text(text, "t.json", expect=dict if text != "[" * 65 + "]" * 65 else None)
    assert info.value.location == Location("t.json", *where)
    assert info.value.message.startswith(message)


def test_json_file_with_a_bom_and_bad_utf8(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}')
    assert load_json_file(path) == {"a": 1}
    path.write_bytes(b'{"a":\n "\xff"}')
    with pytest.raises(DataError) as info:
        load_json_file(path)
    assert info.value.location == Location(str(path), 2, 3)


@given(st.text(st.characters(max_codepoint=0x7F)) | st.text())
def test_the_ascii_shortcut_agrees_with_the_character_checks(text: str) -> None:
    # _plain_ascii stands in for two regular expression searches: where it says "nothing to find",
    # neither may find anything.
    if loading._plain_ascii(text):
        assert loading._NON_PRINTABLE_RE.search(text) is None
        assert loading._RAW_CONTROL_RE.search(text) is None
    elif text.isascii():  # and it only passes over what is clean
        assert loading._NON_PRINTABLE_RE.search(text) or loading._RAW_CONTROL_RE.search(text)
