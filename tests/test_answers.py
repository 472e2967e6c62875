"""Tests of imt_tutor.answers: students' answer files (YAML, JSON, JSON Lines),
checked field by field, every problem at once, located, escaped."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imt_tutor import transcript
from imt_tutor.answers import (
    TRANSCRIPT_FORMAT,
    CaseIndex,
    HintedSheet,
    Submission,
    check_answers,
    check_submission,
    iter_json_lines,
    load_answer_data,
    load_answers,
    printable,
    quick_json_submission,
    quick_submission,
    sortable_time,
)
from imt_tutor.cases import find_case
from imt_tutor.errors import MAX_HINTS, DataError, Location
from imt_tutor.files import cases_dir
from imt_tutor.loading import load_json_text, load_yaml_text
from imt_tutor.models import AnswerSheet, Case, Vocabulary

ANSWERS = Path(__file__).parent / "data" / "answers"
LUNG = "lung-cough-alk-positive"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def lines_of(excinfo: pytest.ExceptionInfo[DataError]) -> list[str]:
    return str(excinfo.value).splitlines()


# --------------------------------------------------------------------- YAML answer files (for run --answers)


@pytest.fixture(scope="module")
def lung_case(vocab: Vocabulary) -> Case:
    return find_case(LUNG, cases_dir(), vocab)


def test_valid_answer_sheet(vocab: Vocabulary, lung_case: Case) -> None:
    path = ANSWERS / "valid.yaml"
    sheet = load_answers(path, vocab)
    assert sheet.student == "A. Student"
    assert sheet.case == "lung-cough-alk-positive"
    assert sheet.answers == (
        ("presentation.next-steps", ("cross_sectional_imaging",)),
        ("imaging.next-steps", ("biopsy",)),
        ("imaging.working-diagnosis", ("mass_under_investigation",)),
        ("imaging.differential", ()),
    )
    assert sheet.picks("imaging.differential") == ()
    assert sheet.picks("surgery.next-steps") is None
    assert sheet.location_of("imaging.next-steps") == Location(str(path), 5, 3)
    assert sheet.location_of("imaging.next-steps[0]") == Location(str(path), 5, 23)
    check_answers(sheet, lung_case)
    # Locations do not take part in equality.
    assert isinstance(sheet, AnswerSheet) and sheet.hints == ()
    assert sheet == HintedSheet(sheet.student, sheet.case, sheet.answers, sheet.path)


def test_answers_from_a_stream(lung_case: Case) -> None:
    data = (ANSWERS / "valid.yaml").read_bytes()
    sheet = load_answers(io.BytesIO(data), display_path="<stdin>")
    assert sheet.path == "<stdin>" and len(sheet.answers) == 4
    check_answers(sheet, lung_case)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("alias_bomb.yaml", ["1:10: anchors and aliases are not allowed"]),
        ("python_tag.yaml", ["1:10: python tags are not allowed: !!python/object/apply:os.system"]),
        ("top_level_list.yaml", ["1:1: expected a mapping at the top level, found a list"]),
        (
            "unknown_key.yaml",
            [
                "3:1: unknown key 'answer' in an answer file (did you mean 'answers'?); "
                "expected student, case, answers",
                "1:1: an answer file needs 'answers'",
            ],
        ),
        ("answers_not_mapping.yaml", ["3:10: 'answers' must be a mapping of stage.question: [option ids]"]),
        (
            "picks_not_strings.yaml",
            [
                "4:54: answer to 'presentation.next-steps': each pick must be an option id (text); got 3",
                "4:57: answer to 'presentation.next-steps': each pick must be an option id (text); got true",
                "5:23: answer to 'imaging.next-steps' must be a list of option ids (or [] to pick none); got a mapping",
                "6:24: answer to 'imaging.differential' must be a list of option ids (or [] to pick none); got nothing",
            ],
        ),
        (
            "bad_student_and_case.yaml",
            [
                "1:10: 'student' must be non-empty text",
                "2:7: 'case' must be a case id (kebab-case, like 'lung-cough-alk-positive'); got 'Lung Cough'",
                "4:3: 'not-qualified' is not a question id; use stage.question",
            ],
        ),
    ],
)
def test_hostile_answer_files(vocab: Vocabulary, name: str, expected: list[str]) -> None:
    path = ANSWERS / name
    with pytest.raises(DataError) as excinfo:
        load_answers(path, vocab)
    lines = str(excinfo.value).splitlines()
    assert len(lines) == len(expected), lines
    for line, want in zip(lines, expected, strict=True):
        assert line.startswith(f"{path}:{want}"), (line, want)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "unknown_question.yaml",
            "4:3: unknown question 'presentation.next-step' in case 'lung-cough-alk-positive' "
            "(did you mean 'presentation.next-steps'?)",
        ),
        (
            "unknown_option.yaml",
            "4:29: 'cross_sectional_imagin' is not an option of question 'presentation.next-steps' "
            "(did you mean 'cross_sectional_imaging'?)",
        ),
        (
            "case_mismatch.yaml",
            "2:7: this answer file is for case 'lung-no-mass-on-imaging', not 'lung-cough-alk-positive'",
        ),
    ],
)
def test_answers_checked_against_the_case(lung_case: Case, name: str, expected: str) -> None:
    path = ANSWERS / name
    sheet = load_answers(path)
    with pytest.raises(DataError) as excinfo:
        check_answers(sheet, lung_case)
    assert str(excinfo.value) == f"{path}:{expected}"


def test_answers_with_vocabulary_reject_unknown_ids(vocab: Vocabulary) -> None:
    path = ANSWERS / "unknown_option.yaml"
    with pytest.raises(DataError) as excinfo:
        load_answers(path, vocab)
    assert str(excinfo.value) == (
        f"{path}:4:29: answer to 'presentation.next-steps': unknown option 'cross_sectional_imagin' "
        "(did you mean 'cross_sectional_imaging'?)"
    )


def test_answer_picked_twice_and_missing_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", "student: S\nanswers:\n  a.b: [biopsy, biopsy]\n")
    with pytest.raises(DataError) as excinfo:
        load_answers(path)
    assert str(excinfo.value).splitlines() == [
        f"{path}:1:1: an answer file needs 'case'",
        f"{path}:3:17: answer to 'a.b': 'biopsy' is picked twice",
    ]


# --------------------------------------------------------------------- JSON, JSON Lines, normalisation, every problem


@pytest.fixture(scope="module")
def index(bundled_cases: tuple[Case, ...]) -> CaseIndex:
    return CaseIndex(bundled_cases)


def test_json_answer_file_is_read_as_json_with_positions(vocab: Vocabulary, lung_case: Case) -> None:
    path = ANSWERS / "valid.json"
    sheet = load_answers(path, vocab)
    assert sheet.answers == (
        ("presentation.next-steps", ("cross_sectional_imaging",)),
        ("imaging.next-steps", ("biopsy",)),
        ("imaging.differential", ()),
    )
    assert sheet.location_of("imaging.next-steps") == Location(str(path), 7, 5)
    assert sheet.location_of("presentation.next-steps[0]") == Location(str(path), 6, 33)
    check_answers(sheet, lung_case)


def test_json_is_never_parsed_as_yaml(tmp_path: Path) -> None:
    # Valid YAML (a flow mapping with a plain key), invalid JSON.
    path = write(tmp_path, "a.json", "{student: A, case: x, answers: {}}\n")
    with pytest.raises(DataError) as excinfo:
        load_answers(path)
    assert lines_of(excinfo) == [f"{path}:1:2: invalid JSON: Expecting property name enclosed in double quotes"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("duplicate_key.json", "1:68: duplicate key 'student'"),
        ("nan.json", "2:41: invalid JSON: NaN is not allowed"),
        ("too_deep.json", "1:92: nesting is deeper than 64 levels"),
        ("not_utf8.json", "1:17: file is not valid UTF-8 (byte 0xe9)"),
    ],
)
def test_hostile_json_answer_files(name: str, expected: str) -> None:
    path = ANSWERS / name
    with pytest.raises(DataError) as excinfo:
        load_answers(path)
    assert lines_of(excinfo) == [f"{path}:{expected}"]


def test_every_problem_of_a_file_at_once(index: CaseIndex) -> None:
    path = ANSWERS / "every_problem.yaml"
    data = load_answer_data(path)
    with pytest.raises(DataError) as excinfo:
        check_submission(data, Location(str(path), 1, 1), cases=index)
    assert lines_of(excinfo) == [
        f"{path}:3:15: 'submitted_at' must be an ISO 8601 date and time with a time zone, like "
        "2026-03-02T09:30:00Z; got 'yesterday'",
        f"{path}:5:28: answer to 'presentation.next-steps' must be a list of option ids (or [] to pick none); "
        "got a mapping",
        f"{path}:6:32: answer to 'imaging.next-steps': each pick must be an option id (text); got 7",
        f"{path}:7:3: unknown question 'imaging.working-diagnoss' in case '{LUNG}' "
        "(did you mean 'imaging.working-diagnosis'?)",
        f"{path}:8:49: 'surgical_resecton' is not an option of question 'biopsy.next-steps' "
        "(did you mean 'surgical_resection'?)",
    ]


def test_case_question_and_pick_ids_are_normalised(index: CaseIndex) -> None:
    path = ANSWERS / "normalised.yaml"
    sub = check_submission(load_answer_data(path), Location(str(path), 1, 1), cases=index)
    assert sub.student == "A. Student"
    assert sub.case == LUNG
    assert sub.answers == (
        ("presentation.next-steps", ("cross_sectional_imaging",)),
        ("imaging.next-steps", ("biopsy",)),
    )
    assert sub.submitted_at == "2026-03-02T10:30:00+01:00"
    assert sub.when == "2026-03-02T09:30:00.000000Z"


def test_unknown_case_is_reported_never_guessed(index: CaseIndex) -> None:
    data = load_yaml_text("student: A\ncase: lung-cough-alk-positiv\nanswers: {}\n", "a.yaml")
    with pytest.raises(DataError) as excinfo:
        check_submission(data, Location("a.yaml", 1, 1), cases=index)
    assert lines_of(excinfo) == [
        "a.yaml:2:7: unknown case 'lung-cough-alk-positiv' (did you mean 'lung-cough-alk-positive'?)"
    ]


def test_the_same_question_twice_after_normalising(index: CaseIndex) -> None:
    text = f"student: A\ncase: {LUNG}\nanswers:\n  imaging.next-steps: []\n  Imaging.Next-Steps: [biopsy]\n"
    with pytest.raises(DataError) as excinfo:
        check_submission(load_yaml_text(text, "a.yaml"), Location("a.yaml", 1, 1), cases=index)
    assert lines_of(excinfo) == ["a.yaml:5:3: question 'imaging.next-steps' is answered twice (first at line 4)"]


@pytest.mark.parametrize(
    ("student", "why"),
    [
        ("=HYPERLINK(1)", "must not start with =, +, - or @ (a spreadsheet would read a formula)"),
        ("x" * 201, "must be non-empty text of at most 200 characters"),
        ("   ", "must be non-empty text of at most 200 characters"),
    ],
)
def test_student_values_that_would_harm_a_gradebook(student: str, why: str) -> None:
    data = load_yaml_text(f'student: "{student}"\ncase: {LUNG}\nanswers: {{}}\n', "a.yaml")
    with pytest.raises(DataError) as excinfo:
        check_submission(data, Location("a.yaml", 1, 1))
    assert why in str(excinfo.value)


def test_control_characters_are_escaped_when_quoted_back(index: CaseIndex) -> None:
    # Control and bidi characters are refused by the loader (located, not echoed); the invisible ones it
    # lets through (a zero-width space, a soft hyphen) are escaped when a message quotes them back.
    for text in (
        '{"student": "j\\u001b[31m", "case": "lung", "answers": {}}',
        '{"student": "j", "case": "lung", "answers": {}, "k\\u202e": 1}',
        '{"student": "j", "case": "lung-cough-alk-positive",'
        ' "answers": {"x\\u200b.y": [], "a.b": ["c\\u00ad"]}, "k\\u200b": 1}',
    ):
        with pytest.raises(DataError) as excinfo:
            check_submission(load_json_text(text, "a.json"), Location("a.json", 1, 1), cases=index)
        shown = str(excinfo.value)
        assert not any(ch in shown for ch in "\x1b\u202e\u200b\u00ad"), shown
        assert all(line.startswith("a.json:1:") for line in shown.splitlines())
    assert "'k\\u200b'" in shown and "'x\\u200b.y'" in shown


def test_printable_escapes_every_control_and_bidi_character() -> None:
    assert (
        printable("a\x1b[2Jb\x07\x9b\u202e\u2066c\td") == "a\\x1b[2Jb\\x07\\x9b\\u202e\\u2066c\\td"
    )  # the one escape of errors.shown
    assert printable("Ærø, née") == "Ærø, née"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-02T09:30:00Z", "2026-03-02T09:30:00.000000Z"),
        ("2026-03-02T10:30:00.5+01:00", "2026-03-02T09:30:00.500000Z"),
        ("2026-03-02 09:30:00-02:00", "2026-03-02T11:30:00.000000Z"),
        ("2026-03-02T09:30:00", None),  # no time zone
        ("2026-03-02", None),  # no time
        ("yesterday", None),
    ],
)
def test_submitted_at(text: str, expected: str | None) -> None:
    assert sortable_time(text) == expected


def test_json_lines_one_submission_a_line_each_located(index: CaseIndex) -> None:
    path = ANSWERS / "class.jsonl"
    items = list(iter_json_lines(path))
    assert len(items) == 6  # the blank line is skipped
    results: list[str] = []
    for item in items:
        if isinstance(item, DataError):
            results.append(str(item))
            continue
        try:
            results.append(check_submission(item, item.location, cases=index).student)
        except DataError as error:
            results.append(str(error))
    assert results == [
        "s1",
        f"{path}:3:94: 'biopsi' is not an option of question 'presentation.next-steps' (did you mean 'biopsy'?)",
        f"{path}:4:98: duplicate key 'student'",
        f"{path}:5:1: expected an object at the top level, found a list",
        f"{path}:6:67: invalid JSON: Expecting ',' delimiter",
        "s6",
    ]


def test_a_transcript_is_not_an_answers_file(tmp_path: Path) -> None:
    assert TRANSCRIPT_FORMAT == transcript.FORMAT
    path = write(tmp_path, "t.json", f'{{"format": "{TRANSCRIPT_FORMAT}", "student": "A"}}')
    with pytest.raises(DataError, match="a transcript"):
        load_answers(path)


def test_run_takes_a_json_lines_file_of_one_submission(tmp_path: Path, lung_case: Case) -> None:
    line = f'{{"student": "A", "case": "{LUNG}", "answers": {{"imaging.next-steps": ["biopsy"]}}}}\n'
    sheet = load_answers(write(tmp_path, "one.jsonl", line))
    check_answers(sheet, lung_case)
    with pytest.raises(DataError, match="more than one submission"):
        load_answers(write(tmp_path, "two.jsonl", line * 2))


def test_stream_of_yaml(lung_case: Case) -> None:
    sheet = load_answers(io.BytesIO(b"student: A\ncase: lung-cough-alk-positive\nanswers: {}\n"))
    assert sheet.path == "<stdin>"
    check_answers(sheet, lung_case)
    assert isinstance(sheet, AnswerSheet)


def test_hints_used_are_read_and_checked(index: CaseIndex, tmp_path: Path) -> None:
    text = (
        f'{{"student": "A", "case": "{LUNG}", "answers": {{}},'
        ' "hints": {"Imaging.Next-Steps": 2, "imaging.differential": 0, "nope.x": 1, "biopsy.next-steps": -1}}'
    )
    with pytest.raises(DataError) as excinfo:
        check_submission(load_json_text(text, "a.json"), Location("a.json", 1, 1), cases=index)
    assert [line.split(": ", 1)[1] for line in lines_of(excinfo)] == [
        f"unknown question 'nope.x' in the hints of case '{LUNG}'",
        "hints of 'biopsy.next-steps' must be a whole number from 0 to 100; got -1",
    ]
    good = text.replace(', "nope.x": 1, "biopsy.next-steps": -1', "")
    sub = check_submission(load_json_text(good, "a.json"), Location("a.json", 1, 1), cases=index)
    assert sub.hints == (("imaging.next-steps", 2),)
    sheet = load_answers(write(tmp_path, "a.json", good))
    assert sheet.hints_used("imaging.next-steps") == 2 and sheet.hints_used("imaging.differential") == 0


# --------------------------------------------------------------------- big files: every problem, located


def test_a_big_file_of_bad_picks_reports_every_one_at_its_line(tmp_path: Path, lung_case: Case) -> None:
    lines = ["student: s", f"case: {LUNG}", "answers:", "  presentation.next-steps:"]
    lines += [f"    - biopsyy_{i:06d}" for i in range(20000)]
    lines += ["  imaging.next-steps:", *["    - biopsy"] * 3000]
    path = write(tmp_path, "big.yaml", "\n".join(lines) + "\n")
    assert path.stat().st_size > 400_000
    with pytest.raises(DataError) as picked:
        load_answers(path)
    twice = picked.value.errors  # type: ignore[attr-defined]
    assert len(twice) == 2999 and all("'biopsy' is picked twice" in e.message for e in twice)
    assert [e.location.line for e in twice] == list(range(20007, 23006))
    lines[-2999:] = []
    sheet = load_answers(write(tmp_path, "big.yaml", "\n".join(lines) + "\n"))
    with pytest.raises(DataError) as excinfo:
        check_answers(sheet, lung_case)
    errors = excinfo.value.errors  # type: ignore[attr-defined]
    assert len(errors) == 20000
    assert [e.location.line for e in errors] == list(range(5, 20005))
    assert [e.location.column for e in errors[:2]] == [7, 7]
    assert errors[0].message == (
        "'biopsyy_000000' is not an option of question 'presentation.next-steps' (did you mean 'biopsy'?)"
    )
    assert errors[-1].message == "'biopsyy_019999' is not an option of question 'presentation.next-steps'"
    assert sum("did you mean" in e.message for e in errors) == MAX_HINTS


def test_a_big_submission_is_checked_against_its_case(lung_case: Case) -> None:
    picks = "\n".join(f"    - Biopsyy_{i}" for i in range(5000))
    text = f"student: s\ncase: {LUNG}\nanswers:\n  imaging.next-steps:\n{picks}\n  imaging.nxt-steps: []\n"
    with pytest.raises(DataError) as excinfo:
        check_submission(load_yaml_text(text, "big.yaml"), Location("big.yaml", 1, 1), cases=CaseIndex([lung_case]))
    errors = excinfo.value.errors  # type: ignore[attr-defined]
    assert len(errors) == 5001
    assert [e.location.line for e in errors[:5000]] == list(range(5, 5005))
    assert "(did you mean 'biopsy'?)" in errors[0].message and "did you mean" not in errors[4999].message
    assert errors[-1].message.startswith("unknown question 'imaging.nxt-steps'")


# --------------------------------------------------------------------- the usual file, read at once

QUICK_TOP = Location("in/a.yaml", 1, 1)


def _general(text: str | bytes, index: CaseIndex, top: Location = QUICK_TOP) -> Submission | DataError:
    """What the loader (JSON for a .json file, else YAML) and the checker give."""
    load = load_json_text if top.path.endswith(".json") else load_yaml_text
    try:
        return check_submission(load(text, top.path), top, cases=index)
    except DataError as error:
        return error


def test_the_usual_file_is_read_at_once_as_the_loader_and_checker_read_it(index: CaseIndex) -> None:
    questions = index.questions(LUNG)
    qids = list(questions)
    text = (
        "student: A. Student\n"
        f"case: {LUNG}\n"
        "submitted_at: '2026-03-02T09:30:00Z'\n"
        "# a comment\n"
        "answers:\n"
        f"  {qids[0]}: [{', '.join(questions[qids[0]][:2])}]\n"
        "\n"
        f"  {qids[1]}: []\n"
    )
    quick = quick_submission(text, QUICK_TOP, index)
    assert quick is not None
    assert quick == _general(text, index)
    assert quick.answers == ((qids[0], questions[qids[0]][:2]), (qids[1], ()))


_ODD_STUDENTS = [
    "x: y",
    "true",
    "null",
    "~",
    "'quoted'",
    '"dq"',
    "'O''Brien'",
    "=SUM(1)",
    "  spaced  ",
    "#hash",
    "Zoë",
    "1234",
    "-x",
    "a,b",
    "[x]",
    "{x}",
    "ana #c",
    "ana#c",
    "",
    '"a\\tb"',
    "yes",
    "a: ",
    "'a'b",
    "x  ",
]
_STUDENTS = st.one_of(st.sampled_from(["Ana", "ana lee", "A. Student", "s0001"]), st.sampled_from(_ODD_STUDENTS))


def _often(draw: st.DrawFn, usual: str, odd: list[str]) -> str:
    """``usual`` nine times in ten, else one of ``odd``."""
    return usual if draw(st.integers(0, 9)) else draw(st.sampled_from(odd))


@st.composite
def _answers_texts(draw: st.DrawFn, index: CaseIndex) -> str:
    """Answers files near the usual one: odd students, case IDs, times, keys, picks, layout."""
    case = _often(draw, LUNG, [LUNG.upper(), "no-such-case", f"'{LUNG}'", f"{LUNG} ", f'"{LUNG}"'])
    questions = index.questions(LUNG)
    top = [f"student: {draw(_STUDENTS)}", f"case: {case}"]
    if draw(st.booleans()):
        stamp = _often(draw, "'2026-03-02T09:30:00Z'", ["2026-03-02T09:30:00Z", "'soon'", '"2026-03-02 09:30+01:00"'])
        top.append(f"submitted_at: {stamp}")
    if draw(st.integers(0, 9)) == 0:
        top.append(draw(st.sampled_from(["hints: {}", "extra: 1", "student: twice", "because:", "format: x"])))
    indent = " " * draw(st.sampled_from([2, 2, 4, 1]))
    lines = []
    for qid in draw(st.lists(st.sampled_from(list(questions)), max_size=6, unique=draw(st.booleans()))):
        options = list(questions[qid])
        picks = draw(st.lists(st.sampled_from(options), max_size=4, unique=draw(st.integers(0, 4)) > 0))
        shown = [_often(draw, p, [p.upper(), f" {p}", f"'{p}'", "unknown_option", "3", "true", p]) for p in picks]
        value = _often(draw, f"[{', '.join(shown)}]", [f"[{','.join(shown)}]", f"[{', '.join(shown)},]", "[ ]"])
        key = _often(draw, qid, [qid.upper(), "no.such-question", f"'{qid}'"])
        lines.append(f"{indent}{key}: {value}{_often(draw, '', ['  ', ' # c'])}")
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from(["", "  # note", f"{indent}  deeper: [x]", f"{indent}- item", "x"])))
    body = [*top, "answers:", *lines]
    if draw(st.booleans()):
        body = [body[1], body[0], *body[2:]]
    return "\n".join(body) + draw(st.sampled_from(["\n", "", "\n\n"]))


QUICK_JSON_TOP = Location("in/a.json", 1, 1)


def test_the_usual_json_file_is_read_at_once_as_the_loader_and_checker_read_it(index: CaseIndex) -> None:
    questions = index.questions(LUNG)
    qids = list(questions)
    data = {
        "student": " A. Student ",
        "case": LUNG,
        "submitted_at": "2026-03-02T09:30:00Z",
        "answers": {qids[0]: [questions[qids[0]][0].upper(), f" {questions[qids[0]][1]}"], qids[1]: []},
    }
    raw = json.dumps(data, indent=2).encode()
    quick = quick_json_submission(raw, QUICK_JSON_TOP, index)
    assert quick is not None
    assert quick == _general(raw, index, QUICK_JSON_TOP)
    assert quick.student == "A. Student" and quick.when is not None
    assert quick.answers == ((qids[0], questions[qids[0]][:2]), (qids[1], ()))


@pytest.mark.parametrize(
    "text",
    [
        '{"student": "ana", "student": "bo", "case": "%s", "answers": {}}',  # a key twice
        '{"student": "ana", "case": "%s", "answers": {"q": [], "q": []}}',
        '{"student": "ana", "case": "%s", "answers": {}, "hints": {}}',  # a key it leaves to the checker
        '{"student": "an\\u0007a", "case": "%s", "answers": {}}',  # an escape
        '{"student": "ana\x7f", "case": "%s", "answers": {}}',  # a control character
        '{"student": "Zo\u00eb", "case": "%s", "answers": {}}',  # not ASCII
        '[{"student": "ana", "case": "%s", "answers": {}}]',  # not an object
        '{"student": "ana", "case": "%s", "answers": {}, "submitted_at": NaN}',
        '{"student": "ana", "case": "%s", "answers": [["x", 1]]}',  # pairs in an array, not an object
        '{"student": "ana", "case": "%s", "answers": {}',  # not JSON
    ],
)
def test_other_json_files_are_left_to_the_loader_and_checker(index: CaseIndex, text: str) -> None:
    assert quick_json_submission((text % LUNG).encode(), QUICK_JSON_TOP, index) is None


_JSON_ODD = [1, 2.5, True, None, "", "  ", "=SUM(1)", "-x", {"a": "b"}, ["x"], "\u00e9", "soon"]


@st.composite
def _json_answers_texts(draw: st.DrawFn, index: CaseIndex) -> bytes:
    """JSON answers files near the usual one: odd values, case IDs, times, keys, picks, layout."""
    questions = index.questions(LUNG)

    def odd(usual: Any) -> Any:
        return usual if draw(st.integers(0, 19)) else draw(st.sampled_from(_JSON_ODD))

    top: dict[str, Any] = {
        "student": odd(draw(st.sampled_from(["Ana", " ana lee ", "s0001", "O'Brien", 'say "hi"']))),
        "case": odd(draw(st.sampled_from([*[LUNG] * 6, LUNG.upper(), f" {LUNG}", "no-such-case"]))),
    }
    if draw(st.booleans()):
        top["submitted_at"] = odd(draw(st.sampled_from(["2026-03-02T09:30:00Z", "2026-03-02 09:30+01:00", "x"])))
    answers: dict[str, Any] = {}
    for qid in draw(st.lists(st.sampled_from(list(questions)), max_size=6)):
        options = list(questions[qid])
        picks = draw(st.lists(st.sampled_from(options), max_size=4, unique=draw(st.integers(0, 4)) > 0))
        shown = [
            p if draw(st.integers(0, 9)) else draw(st.sampled_from([p.upper(), f" {p}", "unknown_option", 3]))
            for p in picks
        ]
        key = qid if draw(st.integers(0, 19)) else draw(st.sampled_from([qid.upper(), "no.such-question", f" {qid}"]))
        answers[key] = odd(shown)
    top["answers"] = odd(answers)
    if draw(st.integers(0, 9)) == 0:
        top[draw(st.sampled_from(["hints", "extra", "format", "because"]))] = draw(st.sampled_from([{}, 1, "x"]))
    keys = list(top)
    if draw(st.booleans()):
        keys = [keys[-1], *keys[:-1]]
    text = json.dumps({k: top[k] for k in keys}, indent=draw(st.sampled_from([None, 1, 2])))
    return text.encode("utf-8")


@pytest.mark.parametrize("kind", ["yaml", "json"])
@given(data=st.data())
@settings(max_examples=600, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_what_is_read_at_once_is_what_loading_and_checking_give(
    index: CaseIndex, kind: str, data: st.DataObject
) -> None:
    if kind == "yaml":
        text: str | bytes = data.draw(_answers_texts(index))
        quick = quick_submission(text, QUICK_TOP, index)
        top = QUICK_TOP
    else:
        text = data.draw(_json_answers_texts(index))
        quick = quick_json_submission(text, QUICK_JSON_TOP, index)
        top = QUICK_JSON_TOP
    if quick is not None:  # anything else is left to the loader and the checker, which word its problems
        assert quick == _general(text, index, top), text


def test_a_padded_answer_is_checked_but_not_remembered(index: CaseIndex) -> None:
    # A good answer padded with spaces (up to the file size limit) must not stay in the caches.
    questions = index.questions(LUNG)
    qid = next(iter(questions))
    option = questions[qid][0]
    padded = " " * 100_000 + option
    for text in (
        f"student: ana\ncase: {LUNG}\nanswers:\n  {qid}: [{padded}]\n",  # read at once
        f"student: ana\ncase: {LUNG}\nanswers:\n  {qid}:\n  - '{padded}'\n",  # loaded and checked
    ):
        quick = quick_submission(text, QUICK_TOP, index)
        sub = quick or check_submission(load_yaml_text(text, "in/a.yaml"), QUICK_TOP, cases=index)
        assert sub.answers == ((qid, (option,)),)
    assert all(len(inner) <= 1024 for _, inner in index.quick_picks)
    assert all(sum(map(len, picks)) <= 1024 for _, picks in index.good_picks)
    from imt_tutor import plain_yaml

    assert all(len(word) <= 64 for word in plain_yaml._WORDS)
