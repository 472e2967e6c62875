"""The loader's fast path (imt_tutor.plain_yaml) agrees with the YAML parsers:
wherever it reads a text, the values (with their types) and every position
are those of the full parse, by libyaml and by the pure-Python parser."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imt_tutor import loading
from imt_tutor.errors import DataError
from imt_tutor.loading import YamlList, YamlMap, load_yaml_text

LOADERS = [loading._PureLoader]
if loading._Loader is not loading._PureLoader:
    LOADERS.append(loading._Loader)


def _full(text: str, loader: type) -> tuple[Any, Any] | DataError:
    try:
        return loading._parse(text, "f.yaml", loader)
    except DataError as error:
        return error


def _tree(value: Any) -> Any:
    """Values, their types and every position, as plain data to compare."""
    if isinstance(value, YamlMap):
        return (
            "map",
            str(value.location),
            [(k, str(value.key_location(k)), str(value.value_location(k)), _tree(v)) for k, v in value.items()],
        )
    if isinstance(value, YamlList):
        return ("list", str(value.location), [(str(value.item_location(i)), _tree(v)) for i, v in enumerate(value)])
    return (type(value).__name__, value)


def _agree(text: str) -> bool:
    """Assert the fast path, where it reads ``text``, matches every parser; True if it read it."""
    text = text.removeprefix("\ufeff")
    try:
        fast = loading._parse_plain(text, "f.yaml")
    except DataError as error:  # the fast path may raise only what the parsers raise too
        for loader in LOADERS:
            full = _full(text, loader)
            assert isinstance(full, DataError), (text, loader)
            assert str(full) == str(error), (text, loader)
        return True
    if fast is None:
        return False
    for loader in LOADERS:
        full = _full(text, loader)
        assert not isinstance(full, DataError), (text, loader, full)
        assert (_tree(fast[0]), str(fast[1])) == (_tree(full[0]), str(full[1])), (text, loader)
    return True


ANSWERS = """\
student: A. Student
case: lung-cough-alk-positive
submitted_at: '2026-12-02T01:17:56+00:00'
answers:
  presentation.next-steps: [cross_sectional_imaging, biopsy]
  presentation.pattern:
  - incidental_finding
  imaging.working-diagnosis: []
hints:
  presentation.pattern: 2
"""


def test_reads_an_answers_file_as_the_parsers_do() -> None:
    assert _agree(ANSWERS)
    data = load_yaml_text(ANSWERS, "a.yaml")
    assert data["answers"]["presentation.next-steps"] == ["cross_sectional_imaging", "biopsy"]
    assert str(data["answers"]["presentation.next-steps"].item_location(1)) == "a.yaml:5:54"
    assert str(data["answers"].value_location("presentation.pattern")) == "a.yaml:7:3"
    assert data["hints"]["presentation.pattern"] == 2


@pytest.mark.parametrize(
    "text",
    [
        "a: b # a comment\n",  # trailing comment
        "a:\n",  # empty value (null)
        "a: &x b\n",  # anchor
        "a: !!str b\n",  # tag
        "a: |\n  b\n",  # block scalar
        "---\na: b\n",  # document marker
        "a: b\na: c\n",  # repeated key
        "a:\tb\n",  # tab
        "a: b\r\n",  # carriage return
        "a: b\n  c\n",  # continuation line
        "a: [b,\n  c]\n",  # flow over two lines
        "a: 'it''s'\n",  # quote escape
        'a: "\\t"\n',  # backslash escape
        "true: b\n",  # non-string key
        "- a: b\n",  # mapping in a sequence
        "a: b: c\n",
    ],
)
def test_leaves_everything_else_to_the_parsers(text: str) -> None:
    assert loading._parse_plain(text, "f.yaml") is None
    _agree(text)


def test_off_switch_reaches_the_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loading, "PLAIN_FAST_PATH", False)
    assert loading._parse_plain(ANSWERS, "f.yaml") is None


def test_a_bad_number_is_the_parsers_error() -> None:
    with pytest.raises(DataError, match="number is too long") as caught:
        load_yaml_text("a: [1" + "0" * 5000 + "]\n", "f.yaml")
    assert (caught.value.location.line, caught.value.location.column) == (1, 5)


# Fragments that the subset is made of, and the characters just outside it.
_WORDS = st.sampled_from(
    ["a", "b1", "_x", "q.next-steps", "0", "12", "-3", "1.5", "true", "null", "false", "yes", "~", "0x1F", "1e3"]
)
_CHARS = st.sampled_from([*"ab1 :-#[]{},'\"\\.&*!|>%@`?\t", "\xa0", "é", "\u2028", "\x85", "\ufeff", ": ", " #"])


def _text(max_size: int) -> st.SearchStrategy[str]:
    return st.lists(_CHARS, max_size=max_size).map("".join)


_SCALAR = st.one_of(
    _WORDS,
    _text(8),
    st.builds(lambda w, t: w + t, _WORDS, _text(5)),
    st.builds(lambda t: f"'{t}'", _text(5)),
    st.builds(lambda t: f'"{t}"', _text(5)),
    st.builds(
        lambda items, gap: "[" + ("," + gap).join(items) + "]",
        st.lists(st.one_of(_WORDS, _text(3)), max_size=4),
        st.sampled_from(["", " ", "  "]),
    ),
)
_KEY = st.one_of(_WORDS, st.sampled_from(["student", "case", "answers", "a b", "a:b", "-a"]))
_INDENT = st.sampled_from(["", "", " ", "  ", "    "])
_LINE = st.one_of(
    st.builds(lambda i, k, v: f"{i}{k}: {v}", _INDENT, _KEY, _SCALAR),
    st.builds(lambda i, k: f"{i}{k}:", _INDENT, _KEY),
    st.builds(lambda i, v: f"{i}- {v}", _INDENT, _SCALAR),
    st.builds(lambda i, t: f"{i}{t}", _INDENT, st.sampled_from(["", "# note", "-", "---", "...", "? a", "  "])),
    st.builds(lambda i, k, v, sp: f"{i}{k}:{sp}{v}{sp}", _INDENT, _KEY, _SCALAR, st.sampled_from(["  ", "\t", ""])),
)
_LINES = st.builds(
    lambda lines, end: "\n".join(lines) + end, st.lists(_LINE, min_size=1, max_size=8), st.sampled_from(["\n", ""])
)

# Well-formed documents (mappings and sequences nested, written with varied
# indentation), then perhaps one character inserted, replaced or removed.
_LEAF = st.one_of(_WORDS, _SCALAR)
_TREE = st.recursive(
    _LEAF,
    lambda inner: st.one_of(
        st.dictionaries(_KEY, inner, min_size=1, max_size=4), st.lists(inner, min_size=1, max_size=3)
    ),
    max_leaves=12,
)


def _render(value: Any, indent: int, step: int, lines: list[str], prefix: str) -> None:
    """``value`` as block YAML lines; ``prefix`` is the key text waiting for it."""
    if isinstance(value, dict):
        if prefix:
            lines.append(prefix)
            indent += step
        for key, item in value.items():
            _render(item, indent, step, lines, " " * indent + f"{key}:")
    elif isinstance(value, list):
        if prefix:
            lines.append(prefix)
            indent += step if step % 2 else 0  # odd steps indent the items, even ones do not
        for item in value:
            if isinstance(item, (dict, list)):
                lines.append(" " * indent + "-")  # not in the subset: the parsers decide
                _render(item, indent + 2, step, lines, "")
            else:
                lines.append(" " * indent + f"- {item}")
    else:
        lines.append(f"{prefix} {value}" if prefix else str(value))


@st.composite
def _documents(draw: st.DrawFn) -> str:
    lines: list[str] = []
    _render(draw(_TREE), 0, draw(st.sampled_from([1, 2, 3, 4])), lines, "")
    text = "\n".join(lines) + "\n"
    how = draw(st.sampled_from(["keep", "keep", "insert", "replace", "remove"]))
    if how != "keep" and text:
        at = draw(st.integers(0, len(text) - 1))
        char = draw(_CHARS) if how != "remove" else ""
        text = text[:at] + char + text[at + (how != "insert") :]
    return text


_DOCUMENT = st.one_of(_LINES, _documents())


@settings(max_examples=600, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DOCUMENT)
def test_agrees_with_both_parsers_on_generated_documents(text: str) -> None:
    _agree(text)


def test_the_generator_reaches_the_fast_path() -> None:
    """The generated documents are not all left to the parsers (else the test above proves nothing)."""
    read = 0

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(_DOCUMENT)
    def count(text: str) -> None:
        nonlocal read
        read += _agree(text)

    count()
    assert read >= 20, read


# ---------------------------------------------------------------- JSON: json.loads, located when asked

_JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(codec="utf-8"), max_size=6),
    st.sampled_from(["a", "\x1b[2J", "\u202e", "\t", "é"]),
)
_JSON_VALUE = st.recursive(
    _JSON_LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=10,
)


def _json_full(text: str) -> Any:
    source = loading._JsonSource("f.json", text)
    try:
        return loading._JsonParser(text, source).document()[0]
    except (DataError, loading._JsonSyntax) as error:
        return error


@settings(max_examples=300, deadline=None, database=None)
@given(_JSON_VALUE, st.sampled_from([None, 0, 1, 2]), st.sampled_from(["", "\n", " \r\n\t"]))
def test_json_read_by_json_loads_is_located_as_the_parser_does(value: Any, indent: Any, pad: str) -> None:
    import json

    text = pad + json.dumps(value, indent=indent, ensure_ascii=False) + pad
    full = _json_full(text)
    try:
        fast = loading._json_fast(text, loading._JsonSource("f.json", text))
    except loading._Refused:
        assert isinstance(full, (DataError, loading._JsonSyntax)) or _has_control(value), text
        return
    assert not isinstance(full, (DataError, loading._JsonSyntax)), (text, full)
    assert _tree(fast) == _tree(full)


def _has_control(value: Any) -> bool:
    """Whether json.loads gave way for a reason the positional parser also reports."""
    if isinstance(value, str):
        return loading._CONTROL_RE.search(value) is not None or loading._SURROGATE_RE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_control(k) or _has_control(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_control(v) for v in value)
    return False


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"a": 1, "a": 2}', "f.json:1:10"),
        ('{"a": NaN}', "f.json:1:7"),
        ('{"a": "\\ud800"}', "f.json:1:7"),
        ('{"a": "\\u001b"}', "f.json:1:7"),
        ('{"a": 1e999}', "f.json:1:7"),
        ('{"a": [' + "1" * 5000 + "]}", "f.json:1:8"),
    ],
)
def test_json_the_fast_path_gives_way_to_the_parsers_error(text: str, where: str) -> None:
    with pytest.raises(DataError) as caught:
        loading.load_json_text(text, "f.json")
    assert str(caught.value.location) == where


def test_json_positions_are_found_only_when_asked() -> None:
    text = '{\n  "student": "s1",\n  "answers": {"q1": ["a", "b"]}\n}\n'
    data = loading.load_json_text(text, "f.json")
    assert isinstance(data._source, loading._LazyJsonSource) and data._source._root is None
    assert str(data["answers"]["q1"].item_location(-1)) == "f.json:3:27"
    assert str(data["answers"].key_location("q1")) == "f.json:3:15"
    assert str(data.value_location("student")) == "f.json:2:14"


@pytest.mark.parametrize(
    ("load", "text"),
    [
        (loading.load_json_text, '{"answers": {"q1": ["a", "b"]}, "student": "s1"}'),
        (loading.load_yaml_text, ANSWERS),
    ],
)
def test_a_loaded_document_is_freed_without_the_cycle_collector(load: Any, text: str) -> None:
    """No reference cycle in what the fast paths build: a batch of 100,000 files
    would otherwise keep documents alive until a full collection."""
    import gc
    import weakref

    was = gc.isenabled()
    gc.disable()
    try:
        document = load(text, "f")
        answers = document["answers"]
        refs = [weakref.ref(document), weakref.ref(answers), weakref.ref(next(iter(answers.values())))]
        del answers
        del document
        assert [r() for r in refs] == [None, None, None]
    finally:
        if was:
            gc.enable()


def test_the_lines_found_are_those_of_the_text_asked_about() -> None:
    # lines_of keeps the lines of the last text (quick_submission and parse_plain scan one text
    # in turn): another text, even an equal one built anew, gets its own.
    from imt_tutor.plain_yaml import LINES, lines_of

    first = "student: ana\ncase: x\n"
    second = "".join(["student: bo\n", "answers:\n"])
    assert lines_of(first) == LINES.findall(first)
    assert lines_of(first) is lines_of(first)
    assert lines_of(second) == LINES.findall(second)
    again = "".join(["student: ana\n", "case: x\n"])
    assert again == first and again is not first
    assert lines_of(again) == LINES.findall(first)
    assert lines_of(first) == LINES.findall(first) and lines_of("") == LINES.findall("")
