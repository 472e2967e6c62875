"""Markdown: a student's feedback file for one graded case, and the item
analysis for the instructor. Functions to strings; no I/O.

Every piece of text that does not come from the project's own rules and
cases (a student's name) is escaped, so that it reads as text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

from .. import DISCLAIMER
from ..explain import ALREADY_DONE, CONTRADICTED, LESS_SPECIFIC, NOT_YET_KNOWN, UNSUPPORTED
from ..feedback import CaseKey, GradedAnswer, QuestionKey, StageKey
from ..grading import Analysis, BoundedMemo, CaseStats, GradedSubmission, number_text
from ..models import Vocabulary
from ..scoring import weighted_points
from .text import answer_feedback, how_lines

__all__ = ["GAP_WORDS", "FeedbackMarkdown", "feedback_markdown", "item_analysis_markdown", "md_escape"]

#: What each kind of gap means, for a student (and an instructor).
GAP_WORDS = {
    NOT_YET_KNOWN: "not yet: it needs a finding the case has not revealed at this stage",
    ALREADY_DONE: "already done: the case shows it has been done",
    CONTRADICTED: "contradicted: a finding of this case rules it out",
    UNSUPPORTED: "no rule suggests it here",
    LESS_SPECIFIC: "true, but less specific than the question asks",
}

_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~>-])")
_INLINE = re.compile(r"([\\`*<>|\[\]])")


def md_escape(text: str) -> str:
    """Untrusted ``text`` (a student's name) as literal Markdown: one line,
    every markup character escaped."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _t(text: str) -> str:
    """The project's own text (rules, cases, vocabulary) on one line, with
    the characters that would start markup or a table cell escaped."""
    return _INLINE.sub(r"\\\1", " ".join(str(text).split()))


def _bullets(lines: Iterable[str]) -> list[str]:
    """Lines indented by two spaces per level, as nested Markdown bullets."""
    out = []
    for line in lines:
        stripped = line.lstrip(" ")
        depth = (len(line) - len(stripped)) // 2
        out.append(f"{'  ' * depth}- {_t(stripped)}")
    return out


def _unanswered(vocab: Vocabulary, question: QuestionKey) -> list[str]:
    labels = question.labels()
    lines = ["**Not answered: 0 points.**", ""]
    expected = ", ".join(labels[e] for e in question.expected) or "nothing"
    lines.append(f"Expected: {_t(expected)}")
    for option in question.expected:
        lines += ["", f"**{_t(labels[option])}** - how the rules get there:", ""]
        lines += _bullets(how_lines(vocab, question, question.option(option)))
    return lines


def _answered(vocab: Vocabulary, item: GradedSubmission, answer: GradedAnswer) -> list[str]:
    question = item.key.question(answer.qid)
    feedback = answer_feedback(vocab, item.key, answer)
    lines: list[str] = []
    for section in feedback.sections:
        lines += [f"**{_t(section.title)}**", ""]
        lines += _bullets(section.lines)
        lines.append("")
    kinds = []
    for pick in answer.score.wrong:
        entry = question.option(pick)
        if entry.kind in GAP_WORDS:
            kinds.append(f"- {_t(entry.label)}: {_t(GAP_WORDS[entry.kind])}")
    if kinds:
        lines += ["**Why each wrong pick is wrong, in short:**", "", *kinds, ""]
    return lines


def _lines(lines: Iterable[str]) -> str:
    """Lines as one text, each ending with a newline."""
    return "".join(f"{line}\n" for line in lines)


def _question_text(
    vocab: Vocabulary, item: GradedSubmission, question: QuestionKey, answer: GradedAnswer | None
) -> str:
    """What a feedback file says of one question: its heading with the points, the
    prompt, then what was right, wrong, missed and accepted (or the expected answer)."""
    points = weighted_points(answer.score, question.weight) if answer is not None else 0.0
    worth = "1" if question.weight == 1 else f"{question.weight} (weight {question.weight})"
    lines = [
        f"### Question {question.number} (`{question.qid}`): {number_text(points)} / {worth}",
        "",
        _t(question.prompt),
        "",
    ]
    if answer is None or answer.picks is None:
        lines += _unanswered(vocab, question)
    else:
        lines += _answered(vocab, item, answer)
    lines.append("")
    return _lines(lines)


def _stage_texts(stage: StageKey) -> tuple[str, str]:
    """What a feedback file says before a stage's questions and after them."""
    tail = ""
    if stage.teaching_points:
        tail = _lines(["**Teaching points:**", "", *(f"- {_t(point)}" for point in stage.teaching_points), ""])
    return _lines([f"## Stage {stage.index + 1}: `{stage.stage_id}`", ""]), tail


def feedback_markdown(vocab: Vocabulary, item: GradedSubmission) -> str:
    """The feedback file of one student on one case: the score, then for each
    question what was right, wrong (with the kind of gap), missed and
    accepted, with the rules' explanations and cited sections, and each
    stage's teaching points."""
    return _feedback(item, functools.partial(_question_text, vocab), lambda _, stage: _stage_texts(stage))


class FeedbackMarkdown:
    """:func:`feedback_markdown` for a batch, with the same text: what it says of
    one question depends only on the case's key and the graded answer (a class
    hands in the same few answers again and again), so each distinct one is
    worded once and remembered (a bounded memo, so memory stays flat)."""

    def __init__(self, vocab: Vocabulary, limit: int = 2048) -> None:
        self.vocab = vocab
        self.limit = limit
        self._keys: dict[str, CaseKey] = {}
        self._memo = BoundedMemo(limit)  # (case, question, graded answer) -> text
        self._stages: dict[tuple[str, int], tuple[str, str]] = {}

    def __call__(self, item: GradedSubmission) -> str:
        key = item.key
        if self._keys.get(key.case_id) is not key:  # a case's key is built once; another one is new
            self._keys[key.case_id] = key
            self._memo = BoundedMemo(self.limit)
            self._stages.clear()
        return _feedback(item, self._question, self._stage)

    def _question(self, item: GradedSubmission, question: QuestionKey, answer: GradedAnswer | None) -> str:
        memo = (item.key.case_id, question.qid, answer)
        found: str | None = self._memo.get(memo)
        if found is None:
            found = _question_text(self.vocab, item, question, answer)
            self._memo.put(memo, found)
        return found

    def _stage(self, item: GradedSubmission, stage: StageKey) -> tuple[str, str]:
        memo = (item.key.case_id, stage.index)
        found = self._stages.get(memo)
        if found is None:
            found = self._stages[memo] = _stage_texts(stage)
        return found


def _feedback(
    item: GradedSubmission,
    question_text: Callable[[GradedSubmission, QuestionKey, GradedAnswer | None], str],
    stage_texts: Callable[[GradedSubmission, StageKey], tuple[str, str]],
) -> str:
    key = item.key
    lines = [
        f"> {DISCLAIMER}",
        "",
        f"# {_t(key.title)}",
        "",
        f"- Student: {md_escape(item.student)}",
        f"- Case: `{key.case_id}`",
        f"- Score: **{number_text(item.points)} / {number_text(item.max_points)}** ({item.percent:.1f}%)",
    ]
    if item.submitted_at:
        lines.append(f"- Submitted at: {md_escape(item.submitted_at)}")
    lines += [f"- Stamp: `{item.stamp}` (engine: {_t(key.engine)})", ""]
    parts = [_lines(lines)]
    answers = {a.qid: a for a in item.graded.answers}
    for stage in key.stages:
        head, tail = stage_texts(item, stage)
        parts.append(head)
        parts += [question_text(item, q, answers.get(q.qid)) for q in key.questions if q.stage_index == stage.index]
        parts.append(tail)
    return "".join(parts).rstrip("\n") + "\n"


# --------------------------------------------------------------------- item analysis


def _number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _case_lines(case: CaseStats, min_students: int) -> list[str]:
    lines = [
        f"## {_t(case.title)} (`{case.case}`)",
        "",
        f"- Students: {case.students}; points possible: {number_text(case.max_points)}",
        f"- Mean: {case.mean:.2f}; median: {case.median:.2f}",
    ]
    if case.alpha is None:
        why = "not enough students" if case.students < min_students else "no variance"
        lines.append(f"- Cronbach's alpha: {why} (needs at least {min_students} students and some spread)")
    else:
        lines.append(f"- Cronbach's alpha: {case.alpha:.2f}")
    lines += [f"- Stamp: `{case.stamp}`", "", "Score distribution (share of the points possible):", ""]
    lines += ["| Score | Students |", "|---|---|"]
    for index, count in enumerate(case.histogram):
        high = 100 if index == 9 else (index + 1) * 10
        lines.append(f"| {index * 10}-{high} % | {count} |")
    lines += [
        "",
        "| # | Question | Difficulty (mean credit) | Item-total r | Upper-lower 27 % | Answered |",
        "|---|---|---|---|---|---|",
    ]
    for q in case.questions:
        lines.append(
            f"| {q.number} | `{q.qid}` | {q.difficulty:.2f} | {_number(q.item_total)} | "
            f"{_number(q.upper_lower)} | {q.answered} / {q.students} |"
        )
    if case.students < min_students:
        lines += ["", f"Discrimination: not enough students (fewer than {min_students})."]
    lines.append("")
    for q in case.questions:
        if not q.wrong and not q.missed:
            continue
        lines += [f"### Question {q.number} (`{q.qid}`)", "", _t(q.prompt), ""]
        for pick in q.wrong:
            against = f"`{pick.rule}`" if pick.rule else "no rule"
            kind = f" ({_t(GAP_WORDS.get(pick.kind or '', pick.kind or ''))})" if pick.kind else ""
            lines.append(f"- Picked wrongly by {pick.count}: {_t(pick.label)}; against it: {against}{kind}")
        for pick in q.missed:
            behind = f"`{pick.rule}`" if pick.rule else "the case's author"
            lines.append(f"- Missed by {pick.count}: {_t(pick.label)}; expected because of {behind}")
        lines.append("")
    return lines


def item_analysis_markdown(analysis: Analysis) -> str:
    """The instructor's item analysis: per case and question, and the rules
    most often contradicted by the class's picks."""
    lines = [f"> {DISCLAIMER}", "", "# Item analysis", ""]
    lines += ["## The rules most often contradicted by students' picks", ""]
    if analysis.contradicted:
        lines += ["| Rule | Section | Wrong picks it rules out | For example |", "|---|---|---|---|"]
        for rule in analysis.contradicted:
            examples = "; ".join(f"{_t(label)} (`{qid}`)" for qid, label in rule.examples)
            lines.append(f"| `{rule.rule}` | {_t(rule.source)} | {rule.count} | {examples} |")
    else:
        lines.append("No pick was ruled out by a finding of its case.")
    lines.append("")
    for case in analysis.cases:
        lines += _case_lines(case, analysis.min_students)
    return "\n".join(lines).rstrip("\n") + "\n"
