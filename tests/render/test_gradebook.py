"""Each gradebook format checked field by field (parsed back with ``csv`` and
``json``), a Canvas roster round trip, Moodle's limits, the feedback file and
the item-analysis pages."""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imt_tutor import DISCLAIMER
from imt_tutor.answers import Submission
from imt_tutor.engines.builtin import BuiltinEngine
from imt_tutor.errors import Location
from imt_tutor.feedback import CaseKey
from imt_tutor.files import rules_dir
from imt_tutor.grading import (
    Analysis,
    Batch,
    CaseStats,
    GradedSubmission,
    PickCount,
    QuestionStats,
    RuleStats,
    load_roster,
    per_student,
)
from imt_tutor.models import Case, RuleBase
from imt_tutor.render import gradebook
from imt_tutor.render.markdown import FeedbackMarkdown, feedback_markdown, item_analysis_markdown, md_escape
from imt_tutor.render.report_html import item_analysis_html

DATA = Path(__file__).resolve().parent.parent / "data" / "gradebook"
LUNG = "lung-cough-alk-positive"
NO_MASS = "lung-no-mass-on-imaging"


@pytest.fixture(scope="module")
def batch(base: RuleBase, bundled_cases: tuple[Case, ...]) -> Iterator[Batch]:
    with Batch(base, bundled_cases, rules_path=rules_dir(), engine_factory=lambda: BuiltinEngine(base)) as made:
        made.build_keys()
        yield made


def key_of(batch: Batch, case: str) -> CaseKey:
    return batch.keys[case][0]


def partial_answers(key: CaseKey) -> dict[str, tuple[str, ...]]:
    """Right everywhere, except: half of a two-option answer, one wrong pick, one question left out."""
    answers = {q.qid: q.expected for q in key.questions}
    two = next(q for q in key.questions if len(q.expected) >= 2)
    answers[two.qid] = two.expected[:1]
    wrong = next(q for q in key.questions if q.qid != two.qid and set(q.option_ids) - set(q.expected) - set(q.accepted))
    answers[wrong.qid] = (*wrong.expected, sorted(set(wrong.option_ids) - set(wrong.expected) - set(wrong.accepted))[0])
    del answers[key.questions[-1].qid]
    return answers


def graded(
    batch: Batch, student: str, case: str, answers: dict[str, tuple[str, ...]] | None = None
) -> GradedSubmission:
    key = key_of(batch, case)
    picks = answers if answers is not None else {q.qid: q.expected for q in key.questions}
    sub = Submission(student, case, tuple(picks.items()), Location("in/a.yaml", 1, 1), "2026-03-02T09:30:00Z", None)
    return batch.grade(sub)


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


# --------------------------------------------------------------------- CSV


def test_csv_one_row_per_question_field_by_field(batch: Batch) -> None:
    key = key_of(batch, LUNG)
    answers = partial_answers(key)
    item = graded(batch, 'Doe, "Jane"', LUNG, answers)
    text = gradebook.csv_header() + gradebook.csv_rows(item)
    assert "\r\n" in text and text.endswith("\r\n")
    header, *rows = parse_csv(text)
    assert tuple(header) == gradebook.CSV_COLUMNS
    assert len(rows) == len(key.questions)
    for row, question, answer in zip(rows, key.questions, item.graded.answers, strict=True):
        cell = dict(zip(header, row, strict=True))
        assert cell["student"] == 'Doe, "Jane"'
        assert cell["case"] == LUNG
        assert cell["question"] == question.qid
        assert cell["number"] == str(question.number)
        assert cell["picks"] == ";".join(answers.get(question.qid, ()))
        assert cell["expected"] == ";".join(question.expected)
        assert cell["accepted"] == ";".join(question.accepted)
        assert float(cell["credit"]) == answer.score.points
        assert "," not in cell["credit"] and "e" not in cell["credit"]
        assert cell["max"] == "1"
        assert cell["weight"] == str(question.weight)
        assert cell["case_points"] == gradebook.number_text(item.points)
        assert cell["case_max"] == "13"
        assert cell["submitted_at"] == "2026-03-02T09:30:00Z"
        assert cell["source"] == "in/a.yaml:1:1"
        assert cell["stamp"] == batch.keys[LUNG][1]
        kinds = [d.kind for d in answer.score.deductions]
        assert [part.split(" ")[0] for part in cell["deductions"].split("; ") if part] == kinds
    by_question = {r[2]: r for r in rows}
    deductions = header.index("deductions")
    assert by_question[key.questions[-1].qid][deductions] == "unanswered -1"
    wrong = [r for r in rows if "wrong " in r[deductions]]
    assert len(wrong) == 1 and "(" in wrong[0][deductions]  # the rule that argues against the pick


def _csv_reference(item: GradedSubmission) -> str:
    """What csv.writer writes for a graded submission, cell by cell, remembering nothing."""
    lines = []
    for question, answer in zip(item.key.questions, item.graded.answers, strict=True):
        score = answer.score
        lines.append(
            gradebook.csv_line(
                [
                    item.student,
                    item.case,
                    answer.qid,
                    question.number,
                    ";".join(answer.picks or ()),
                    ";".join(question.expected),
                    ";".join(question.accepted),
                    gradebook.number_text(score.points),
                    1,
                    question.weight,
                    "; ".join(gradebook._deduction_cell(d) for d in score.deductions),
                    gradebook.number_text(item.points),
                    gradebook.number_text(item.max_points),
                    item.submitted_at or "",
                    item.source,
                    item.stamp,
                ]
            )
        )
    return "".join(lines)


@given(data=st.data())
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_csv_rows_are_what_csv_writer_writes_for_any_answers_and_key(batch: Batch, data: st.DataObject) -> None:
    # The rows are remembered by answer and by graded case; what comes out must not depend on that.
    case = data.draw(st.sampled_from([LUNG, "liver-unresectable-alk-positive"]))
    key = key_of(batch, case)
    answers: dict[str, tuple[str, ...]] = {}
    for question in key.questions:  # answer sets that repeat (right, all, none) and ones that do not
        kind = data.draw(st.sampled_from(["right", "all", "none", "none", "some"]))
        if kind == "right":
            answers[question.qid] = question.expected
        elif kind == "all":
            answers[question.qid] = question.option_ids
        elif kind == "some":
            answers[question.qid] = tuple(data.draw(st.lists(st.sampled_from(question.option_ids), unique=True)))
    item = graded(batch, data.draw(st.sampled_from(["ana", 'Doe, "Jane"'])), case, answers)
    assert gradebook.csv_rows(item) == _csv_reference(item)
    # The same graded case under another key (its stamp says so): the new key's numbers and weights.
    reweighted = dataclasses.replace(
        key, questions=tuple(dataclasses.replace(q, weight=q.weight + 1, number=q.number + 10) for q in key.questions)
    )
    other = dataclasses.replace(item, key=reweighted, stamp=f"{item.stamp}-other")
    assert gradebook.csv_rows(other) == _csv_reference(other)


# --------------------------------------------------------------------- JSON Lines


def test_jsonl_one_object_per_submission_with_every_deduction(batch: Batch) -> None:
    key = key_of(batch, LUNG)
    item = graded(batch, "jdoe", LUNG, partial_answers(key))
    line = gradebook.jsonl_line(item)
    assert line.endswith("\n") and line.count("\n") == 1
    data = json.loads(line)
    assert data["student"] == "jdoe" and data["case"] == LUNG
    assert data["points"] == item.points and data["max_points"] == 13.0
    assert data["stamp"] == batch.keys[LUNG][1] and data["engine"] == "builtin"
    assert data["disclaimer"] == DISCLAIMER
    assert [q["id"] for q in data["questions"]] == [q.qid for q in key.questions]
    last = data["questions"][-1]
    assert last["answered"] is False and last["picks"] is None and last["points"] == 0.0
    assert last["deductions"] == [{"kind": "unanswered", "option": None, "points": 1.0, "rule": None, "gap": None}]
    wrong = [d for q in data["questions"] for d in q["deductions"] if d["kind"] == "wrong"]
    assert len(wrong) == 1 and wrong[0]["rule"] and wrong[0]["gap"]
    assert sum(q["points"] for q in data["questions"]) == pytest.approx(data["points"])


# --------------------------------------------------------------------- Canvas


def test_canvas_assignment_names_canvas_would_drop_are_refused() -> None:
    for word in ("Current Score", "Final Grade", "Override Status", "current points"):
        with pytest.raises(ValueError, match="Canvas silently drops"):
            gradebook.check_assignment_name(f"IMT {word} week 2", "canvas")
    for bad in ("", "  x", "a\nb", "Section", "SIS Login ID"):
        with pytest.raises(ValueError):
            gradebook.check_assignment_name(bad, "canvas")
    gradebook.check_assignment_name("IMT case 1, part (a)", "canvas")
    gradebook.check_assignment_name("Final Score notes", "moodle")  # Moodle has no such rule


def test_canvas_rows_without_a_roster(batch: Batch) -> None:
    items = [graded(batch, "jdoe", LUNG), graded(batch, "jdoe", NO_MASS), graded(batch, "amy", LUNG)]
    columns = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
    text = gradebook.canvas_header(columns, gradebook.canvas_assignment_column("IMT cases", 4200))
    text += gradebook.canvas_points_row(columns, 1234.5)
    totals = list(per_student(batch_results(items)))
    for total in totals:
        text += gradebook.canvas_row([total.student, "", "", total.student, ""], total)
    rows = parse_csv(text)
    assert rows[0] == [*columns, "IMT cases (4200)"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "1234.5"]  # no thousands separator
    assert rows[2:] == [
        ["jdoe", "", "", "jdoe", "", gradebook.number_text(items[0].points + items[1].points)],
        ["amy", "", "", "amy", "", "13"],
    ]


def batch_results(items: list[GradedSubmission]) -> list[Any]:
    from imt_tutor.grading import Result

    return [
        Result(
            i.student,
            i.case,
            i.submitted_at,
            i.source,
            i.points,
            i.max_points,
            i.percent,
            i.stamp,
            None,
            None,
            None,
            None,
        )
        for i in items
    ]


def write_answers(folder: Path, student: str, key: CaseKey, answers: dict[str, tuple[str, ...]] | None = None) -> None:
    picks = answers if answers is not None else {q.qid: q.expected for q in key.questions}
    data = {"student": student, "case": key.case_id, "answers": {q: list(p) for q, p in picks.items()}}
    (folder / f"{student}-{key.case_id}.json").write_text(json.dumps(data), encoding="utf-8")


def test_canvas_roster_round_trip(invoke: Any, tmp_path: Path, batch: Batch) -> None:
    lung, no_mass = key_of(batch, LUNG), key_of(batch, NO_MASS)
    folder = tmp_path / "in"
    folder.mkdir()
    write_answers(folder, "jdoe", lung)  # matched on SIS Login ID
    write_answers(folder, "jdoe", no_mass)  # a second case of the assignment
    write_answers(folder, "S002", lung, partial_answers(lung))  # matched on SIS User ID
    write_answers(folder, " AMY.LEE ", lung)  # matched without case and spaces
    write_answers(folder, "zed", lung)  # not on the roster
    out = tmp_path / "canvas.csv"
    result = invoke(
        [
            "--engine",
            "builtin",
            "grade",
            str(folder),
            "--format",
            "canvas",
            "--roster",
            str(DATA / "canvas_export.csv"),
            "--assignment",
            "IMT cases",
            "--assignment-id",
            "4200",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 1, result.output  # zed is not on the roster
    rows = parse_csv(out.read_text(encoding="utf-8"))
    columns = ["Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Root Account", "Section"]
    assert rows[0] == [*columns, "IMT cases (4200)"]
    assert rows[1] == [
        "    Points Possible",
        "",
        "",
        "",
        "",
        "",
        "",
        gradebook.number_text(13 + len(no_mass.questions)),
    ]
    partial = graded(batch, "S002", LUNG, partial_answers(lung)).points
    # Sorted by the students' own values: "AMY.LEE", "S002", "jdoe".
    assert rows[2:] == [
        ["Lee, Amy", "1003", "S003", "amy.lee", "", "school.instructure.com", "Section B", "13"],
        [
            'O\'Brien, "Pat"',
            "1002",
            "S002",
            "pobrien",
            "INT-2",
            "school.instructure.com",
            "Section A, B",
            gradebook.number_text(partial),
        ],
        [
            "Doe, Jane",
            "1001",
            "S001",
            "jdoe",
            "",
            "school.instructure.com",
            "Section A",
            gradebook.number_text(13 + len(no_mass.questions)),
        ],
    ]
    assert all(len(row) == len(rows[0]) and row[-1] != "" for row in rows[1:])  # never a blank grade cell
    assert "." in rows[3][-1]  # a partial score, with ..'
    err = result.stderr
    assert "zed' is not on the roster (no roster row has that SIS Login ID or SIS User ID): not written" in err
    assert "no submission (left out of the file): Nguyen, Bao (bnguyen)" in err
    assert "no submission (left out of the file): Student, Test (8f3c2a1b0d9e)" in err
    assert "matched on SIS Login ID: 2" in err and "matched on SIS User ID: 1" in err
    assert "2 roster students without a submission (left out)" in err


def test_canvas_roster_reading(tmp_path: Path) -> None:
    roster = load_roster(DATA / "canvas_export.csv", "canvas")
    assert roster.columns == (
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Integration ID",
        "Root Account",
        "Section",
    )
    assert [r.values["Student"] for r in roster.rows] == [
        "Doe, Jane",
        'O\'Brien, "Pat"',
        "Lee, Amy",
        "Student, Test",
        "Nguyen, Bao",
    ]
    row, on = roster.match("s001")
    assert row is not None and row.values["SIS Login ID"] == "jdoe" and on == "SIS User ID"
    bad = tmp_path / "bad.csv"
    bad.write_text("Name,Login\nA,a\n", encoding="utf-8")
    with pytest.raises(Exception, match="not a Canvas gradebook export"):
        load_roster(bad, "canvas")


# --------------------------------------------------------------------- Moodle


def test_moodle_rows(invoke: Any, tmp_path: Path, batch: Batch) -> None:
    lung = key_of(batch, LUNG)
    folder = tmp_path / "in"
    folder.mkdir()
    write_answers(folder, "S001", lung)
    write_answers(folder, "pat.obrien@example.edu", lung, partial_answers(lung))
    write_answers(folder, "amy.lee@example.edu", lung)  # her row has no ID number
    out = tmp_path / "moodle.csv"
    args = ["--engine", "builtin", "grade", str(folder), "--format", "moodle", "--assignment", "IMT case 1"]
    result = invoke([*args, "--roster", str(DATA / "moodle_export.csv"), "--out", str(out)])
    assert result.exit_code == 1
    assert "its roster row (line 4) has no ID number: not written" in result.stderr
    rows = parse_csv(out.read_text(encoding="utf-8"))
    assert rows[0] == ["ID number", "IMT case 1", "IMT case 1 feedback"]
    assert [r[0] for r in rows[1:]] == ["S001", "S002"]
    for row in rows:
        assert len(row) == 3
    for row in rows[1:]:
        assert 0 <= float(row[1]) <= 100 and "," not in row[1]
        assert "\n" not in row[2] and row[2].startswith("Case 'A cough that would not settle'")
    # Without a roster: the student's value, as is.
    plain = invoke([*args, "--out", str(out)])
    assert plain.exit_code == 0, plain.output
    assert [r[0] for r in parse_csv(out.read_text(encoding="utf-8"))] == [
        "Student",
        "S001",
        "amy.lee@example.edu",
        "pat.obrien@example.edu",
    ]


def test_moodle_grades_never_exceed_100(invoke: Any, tmp_path: Path, batch: Batch) -> None:
    with pytest.raises(ValueError):
        gradebook.moodle_row("x", 100.5, [])
    folder = tmp_path / "in"
    folder.mkdir()
    for case_id in sorted(batch.keys):  # an assignment of every case: far over 100 points
        write_answers(folder, "s1", key_of(batch, case_id))
    out = tmp_path / "moodle.csv"
    result = invoke(
        ["--engine", "builtin", "grade", str(folder), "--format", "moodle", "--assignment", "All", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert parse_csv(out.read_text(encoding="utf-8"))[1][1] == "100"
    assert "grades are percentages" in result.stderr


# --------------------------------------------------------------------- feedback file and reports


def test_feedback_markdown(batch: Batch, vocab: Any) -> None:
    key = key_of(batch, LUNG)
    item = graded(batch, "*Jane* <script>", LUNG, partial_answers(key))
    text = feedback_markdown(vocab, item)
    assert text.startswith(f"> {DISCLAIMER}\n")
    assert f"- Student: {md_escape('*Jane* <script>')}" in text and "<script>" not in text
    assert f"**{gradebook.number_text(item.points)} / 13**" in text
    assert text.count("### Question ") == len(key.questions)
    assert "**Not answered: 0 points.**" in text
    assert "contradicted" in text or "no rule suggests it here" in text or "not yet" in text  # the kind of gap
    assert "**Teaching points:**" in text
    assert item.stamp in text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_batch_feedback_is_the_same_text(batch: Batch, vocab: Any, data: st.DataObject) -> None:
    """FeedbackMarkdown remembers what it said of each (question, graded answer):
    with a memo small enough to be emptied again and again, over every case in
    turn, and with a case's key built anew, it says what feedback_markdown says."""
    memo = FeedbackMarkdown(vocab, limit=data.draw(st.integers(1, 8)))
    cases = sorted(batch.keys)
    for _ in range(data.draw(st.integers(1, 12))):
        case = data.draw(st.sampled_from(cases))
        key = key_of(batch, case)
        answers = {}
        for question in key.questions:
            picks = data.draw(st.none() | st.lists(st.sampled_from(question.option_ids), max_size=3, unique=True))
            if picks is not None:
                answers[question.qid] = tuple(picks)
        item = graded(batch, data.draw(st.sampled_from(["s1", "s2"])), case, answers)
        assert memo(item) == feedback_markdown(vocab, item)


def test_batch_feedback_follows_a_new_key(batch: Batch, vocab: Any) -> None:
    """A key built anew for a case (another rule base, say) is worded anew, never from the memo."""
    memo = FeedbackMarkdown(vocab)
    key = key_of(batch, LUNG)
    item = graded(batch, "s1", LUNG)
    memo(item)
    question = key.questions[0]
    changed = dataclasses.replace(question, prompt=question.prompt + " (asked again)")
    other = dataclasses.replace(key, questions=(changed, *key.questions[1:]))
    again = dataclasses.replace(item, key=other)
    assert memo(again) == feedback_markdown(vocab, again)
    assert "(asked again)" in memo(again)


def _analysis(label: str) -> Analysis:
    question = QuestionStats(
        "a.b", 1, f"Prompt {label}", 6, 5, 0.5, 0.25, None, (PickCount("x", label, 3, "rule-x", "contradicted"),), ()
    )
    case = CaseStats(
        "c", f"Title {label}", "sha256:0", 6, 13, 6.5, 6.0, (0, 1, 0, 0, 2, 0, 0, 0, 3, 0), None, (question,)
    )
    return Analysis((case,), (RuleStats("rule-x", f"Section {label}", 3, (("a.b", label),)),))


def test_item_analysis_html_is_self_contained_and_escaped() -> None:
    evil = '<img src=x onerror="alert(1)">&'
    page = item_analysis_html(_analysis(evil))
    assert page.startswith("<!DOCTYPE html>")
    assert evil not in page and html.escape(evil, quote=True) in page
    assert page.index(html.escape(DISCLAIMER)) < page.index("<h1>")
    assert (
        page.count("<svg") == 2
        and "<script" not in page
        and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    )
    assert "not enough students" not in page and "no variance" in page  # 6 students, alpha None


def test_item_analysis_markdown_says_when_there_are_not_enough_students() -> None:
    analysis = _analysis("x")
    few = Analysis((CaseStats(**{**analysis.cases[0].__dict__, "students": 3}),), analysis.contradicted)
    text = item_analysis_markdown(few)
    assert text.startswith(f"> {DISCLAIMER}")
    assert "Cronbach's alpha: not enough students" in text
    assert "| `rule-x` | Section x | 3 |" in text
    assert "Picked wrongly by 3: x; against it: `rule-x`" in text


@pytest.mark.parametrize(
    "cells", [["a", "b,c", 'say "hi"', "line\nbreak", "cr\r", "", " spaced "], ["=1+1", "ünï", "a;b", "x" * 300]]
)
def test_fast_csv_fields_are_what_csv_writer_writes(cells: list[str]) -> None:
    from imt_tutor.render.gradebook import _field

    assert ",".join(_field(c) for c in cells) + "\r\n" == gradebook.csv_line(cells)


def test_csv_gives_each_question_its_weight(batch: Batch) -> None:
    # credit (0..1) times weight is what a question counts in case_points: a weighted question says so.
    case = "liver-unresectable-alk-positive"
    key = key_of(batch, case)
    item = graded(batch, "ana", case)
    header, *rows = parse_csv(gradebook.csv_header() + gradebook.csv_rows(item))
    weights = {row[header.index("question")]: row[header.index("weight")] for row in rows}
    assert weights == {q.qid: str(q.weight) for q in key.questions}
    assert "2" in weights.values()
    assert {row[header.index("case_max")] for row in rows} == {
        gradebook.number_text(sum(q.weight for q in key.questions))
    }
