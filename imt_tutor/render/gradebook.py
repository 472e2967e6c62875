"""Gradebook files from graded submissions: CSV, JSON Lines, Canvas and Moodle.

Functions from :class:`~imt_tutor.grading.GradedSubmission` (or totals) to
strings; no I/O. CSV follows RFC 4180 (``\\r\\n`` line ends, fields quoted
when needed); numbers use ``.`` for decimals and no thousands separator.

Canvas (its gradebook importer, ``app/models/gradebook_importer.rb``): the
header starts ``Student,ID``, may carry ``SIS User ID,SIS Login ID``, then
``Integration ID``, ``Root Account``, and ends its student columns with
``Section``; then the assignment column (``Title (12345)`` updates that
assignment, any other title creates a new, published one with the points of
the ``    Points Possible`` row). A header naming a score or grade column
(``Current Score``, ...) is silently dropped by Canvas, so such names are
refused; a blank cell over a grade removes it, so students without a
submission are left out, never written with a blank cell.

Moodle (``grade/import/csv``): the instructor maps an identifier column, a
grade column and a feedback column by hand; every row has the header's
number of fields and grades are at most 100.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from .. import DISCLAIMER
from ..feedback import GradedAnswer, GradedCase, QuestionKey
from ..grading import CANVAS_FORBIDDEN, CANVAS_STUDENT_COLUMNS, GradedSubmission, StudentTotal, number_text
from ..scoring import Deduction

__all__ = [
    "CANVAS_POINTS_POSSIBLE",
    "CSV_COLUMNS",
    "MOODLE_MAX_GRADE",
    "canvas_assignment_column",
    "canvas_header",
    "canvas_points_row",
    "canvas_row",
    "check_assignment_name",
    "csv_header",
    "csv_line",
    "csv_rows",
    "deduction_data",
    "jsonl_line",
    "moodle_header",
    "moodle_note",
    "moodle_row",
    "submission_json",
]

CSV_COLUMNS = (
    "student",
    "case",
    "question",
    "number",
    "picks",
    "expected",
    "accepted",
    "credit",
    "max",
    "weight",
    "deductions",
    "case_points",
    "case_max",
    "submitted_at",
    "source",
    "stamp",
)
#: The first cell of Canvas's points row, exactly as Canvas writes it.
CANVAS_POINTS_POSSIBLE = "    Points Possible"
MOODLE_MAX_GRADE = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def csv_line(cells: Iterable[Any]) -> str:
    """One CSV record (RFC 4180: quoted when needed, ``\\r\\n`` at the end)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


def _pairs(item: GradedSubmission) -> Iterable[tuple[QuestionKey, GradedAnswer]]:
    """Each graded answer with its question (both in case order)."""
    questions = item.key.questions
    answers = item.graded.answers
    if len(questions) == len(answers) and all(q.qid == a.qid for q, a in zip(questions, answers, strict=True)):
        return zip(questions, answers, strict=True)
    return [(item.key.question(a.qid), a) for a in answers]


def _ids(ids: Iterable[str] | None) -> str:
    return ";".join(ids or ())


# --------------------------------------------------------------------- deductions as data


def deduction_data(deduction: Deduction) -> dict[str, Any]:
    """One deduction as JSON-ready data (kind, option, points, rule, gap)."""
    return {
        "kind": deduction.kind,
        "option": deduction.option,
        "points": deduction.points,
        "rule": deduction.rule,
        "gap": getattr(deduction, "gap", None),
    }


def _deduction_cell(deduction: Deduction) -> str:
    """``wrong nsaids -0.1 [contradicted] (rule-id)``: kind, option, points, gap kind, rule."""
    words = [deduction.kind]
    if deduction.option:
        words.append(deduction.option)
    words.append(f"-{number_text(deduction.points)}")
    gap = getattr(deduction, "gap", None)
    if gap:
        words.append(f"[{gap}]")
    if deduction.rule:
        words.append(f"({deduction.rule})")
    return " ".join(words)


# --------------------------------------------------------------------- CSV: one row per submission and question


def csv_header() -> str:
    return csv_line(CSV_COLUMNS)


def _field(value: str) -> str:
    """One CSV field as ``csv.writer`` (QUOTE_MINIMAL) writes it."""
    if '"' in value or "," in value or "\r" in value or "\n" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


# The cells of one graded answer, by (stamp, question, picks, hints used): the same picks of the
# same key (with the same hints, which the case may charge for) always give the same cells, and a
# class repeats them a lot.
_ANSWER_CELLS: dict[tuple[str, str, tuple[str, ...] | None, int], str] = {}


def _answer_cells(item: GradedSubmission, question: QuestionKey, answer: GradedAnswer) -> str:
    memo = (item.stamp, answer.qid, answer.picks, answer.hints)
    found = _ANSWER_CELLS.get(memo)
    if found is None:
        score = answer.score
        found = ",".join(
            _field(cell)
            for cell in (
                answer.qid,
                str(question.number),
                _ids(answer.picks),
                _ids(question.expected),
                _ids(question.accepted),
                number_text(score.points),
                "1",
                str(question.weight),
                "; ".join([_deduction_cell(d) for d in score.deductions]),
            )
        )
        if len(_ANSWER_CELLS) >= 1024:
            _ANSWER_CELLS.clear()
        _ANSWER_CELLS[memo] = found
    return found


# The cells of every question of a graded case, by the graded case itself: the batch hands out one
# GradedCase object for each distinct whole answer set, and a class repeats those too (every right
# one, say). Each entry holds its GradedCase, so an id is not reused while it is here; the stamp
# tells the key it was written with.
_CASE_CELLS: dict[int, tuple[GradedCase, str, list[str]]] = {}


def _case_cells(item: GradedSubmission) -> list[str]:
    graded = item.graded
    found = _CASE_CELLS.get(id(graded))
    if found is not None and found[0] is graded and found[1] == item.stamp:
        return found[2]
    cells = [_answer_cells(item, q, a) for q, a in _pairs(item)]
    if len(_CASE_CELLS) >= 256:
        _CASE_CELLS.clear()
    _CASE_CELLS[id(graded)] = (graded, item.stamp, cells)
    return cells


def csv_rows(item: GradedSubmission) -> str:
    """One row per question of the case (unanswered ones too: credit 0),
    exactly as ``csv.writer`` writes them."""
    head = f"{_field(item.student)},{_field(item.case)},"
    tail = ",".join(
        _field(cell)
        for cell in (
            number_text(item.points),
            number_text(item.max_points),
            item.submitted_at or "",
            item.source,
            item.stamp,
        )
    )
    return "".join([f"{head}{cells},{tail}\r\n" for cells in _case_cells(item)])


# --------------------------------------------------------------------- JSON Lines: one object per submission


def submission_json(item: GradedSubmission) -> dict[str, Any]:
    """A graded submission as JSON-ready data: the total, every question with
    its picks, the key's expected and accepted options, and every deduction
    with its reason (kind, gap kind, rule)."""
    questions = []
    for question, answer in _pairs(item):
        score = answer.score
        questions.append(
            {
                "id": answer.qid,
                "number": question.number,
                "answered": answer.picks is not None,
                "picks": list(answer.picks) if answer.picks is not None else None,
                "expected": list(question.expected),
                "accepted": list(question.accepted),
                "points": score.points,
                "max_points": 1,
                "hits": list(score.hits),
                "wrong": list(score.wrong),
                "missed": list(score.missed),
                "less_specific": list(getattr(score, "partial", ())),
                "deductions": [deduction_data(d) for d in score.deductions],
            }
        )
    return {
        "student": item.student,
        "case": item.case,
        "submitted_at": item.submitted_at,
        "source": item.source,
        "points": item.points,
        "max_points": item.max_points,
        "percent": item.percent,
        "engine": item.key.engine,
        "stamp": item.stamp,
        "questions": questions,
        "disclaimer": DISCLAIMER,
    }


def jsonl_line(item: GradedSubmission) -> str:
    return json.dumps(submission_json(item), ensure_ascii=False, separators=(",", ":")) + "\n"


# --------------------------------------------------------------------- assignment names


def check_assignment_name(name: str, fmt: str) -> None:
    """Refuse an assignment name the LMS would mangle (``ValueError`` says why)."""
    if not name.strip():
        raise ValueError("the assignment name is empty")
    if _CONTROL.search(name):
        raise ValueError("the assignment name must not contain control characters or line breaks")
    if name != name.strip():
        raise ValueError("the assignment name must not start or end with spaces")
    if fmt == "canvas":
        lowered = name.casefold()
        for word in CANVAS_FORBIDDEN:
            if word.casefold() in lowered:
                raise ValueError(
                    f"Canvas silently drops every column whose name contains '{word}'; choose another assignment name"
                )
        if name.strip() in CANVAS_STUDENT_COLUMNS or name.strip().endswith("Points Possible"):
            raise ValueError(f"'{name}' is one of Canvas's own column names; choose another assignment name")


# --------------------------------------------------------------------- Canvas


def canvas_assignment_column(name: str, assignment_id: int | None) -> str:
    """``Name`` (a new assignment) or ``Name (12345)`` (that existing assignment)."""
    return f"{name} ({assignment_id})" if assignment_id is not None else name


def canvas_header(columns: Sequence[str], assignment_column: str) -> str:
    return csv_line([*columns, assignment_column])


def canvas_points_row(columns: Sequence[str], points_possible: float) -> str:
    """The ``Points Possible`` row: its first cell as Canvas writes it, blank
    student cells, the assignment's points."""
    return csv_line([CANVAS_POINTS_POSSIBLE, *([""] * (len(columns) - 1)), number_text(points_possible)])


def canvas_row(values: Sequence[str], total: StudentTotal) -> str:
    """One student: their student cells (as the roster has them) and their total."""
    return csv_line([*values, number_text(total.points)])


# --------------------------------------------------------------------- Moodle


def moodle_header(identifier: str, assignment: str) -> str:
    return csv_line([identifier, assignment, f"{assignment} feedback"])


def moodle_note(item: GradedSubmission) -> str:
    """One sentence on one graded case, for the feedback column."""
    answers = item.graded.answers
    right = sum(1 for a in answers if a.score.full)
    unanswered = sum(1 for a in answers if a.picks is None)
    text = (
        f"Case '{item.key.title}': {number_text(item.points)} of {number_text(item.max_points)} points "
        f"({item.percent:.1f}%); {right} of {len(answers)} questions fully right"
    )
    if unanswered:
        text += f", {unanswered} unanswered"
    return text + f" (stamp {item.stamp})."


def moodle_row(identifier: str, grade: float, notes: Iterable[str]) -> str:
    """One student: identifier, grade (at most 100), one paragraph of feedback."""
    if grade > MOODLE_MAX_GRADE:
        raise ValueError(f"a Moodle grade is at most {MOODLE_MAX_GRADE}, not {grade}")
    paragraph = " ".join(" ".join(n.split()) for n in notes)
    return csv_line([identifier, number_text(grade), paragraph])
