"""Students' answer files: hostile input, checked field by field.

One submission holds ``student`` (text), ``case`` (a case ID), ``answers`` (a
mapping of ``stage.question`` to a list of option IDs, or one ID, or ``[]``
to pick nothing) and, optionally, ``submitted_at`` (an ISO 8601 date and time
with its time zone, like ``2026-03-02T09:30:00Z``). It comes as

* a YAML file (``.yaml``/``.yml``, the safe loader of :mod:`imt_tutor.loading`),
* a JSON file (``.json``, parsed as strict JSON, never as YAML),
* one line of a JSON Lines file (``.jsonl``: one submission a line, each
  located by its line), or
* a transcript of ``run`` (a ``.json`` file whose ``format`` is
  ``imt-tutor-transcript``; :mod:`imt_tutor.grading` reads those).

Every problem of a submission is reported at once, each located
``path:line:col``. Question IDs, case IDs and picks in another letter case or
with surrounding spaces are normalised; anything unknown is reported (with
the closest name), never guessed. Text from a student's file that is quoted
back in a message has its control characters escaped (:func:`printable`).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from .cases import QUALIFIED, iter_questions, qualified_id
from .errors import UNSAFE_CHARACTERS, DataError, Location, Problems, shown, shown_value
from .files import open_regular
from .loading import (
    MAX_BYTES,
    PLAIN_ASCII_BYTES,
    YamlList,
    YamlMap,
    load_json_file,
    load_json_text,
    load_yaml_file,
    load_yaml_stream,
    reads_plainly,
)
from .models import AnswerSheet, Case, Vocabulary
from .plain_yaml import NOT_STRINGS, NUMBER_START, WORD, lines_of
from .rulebase import KEBAB

__all__ = [
    "ANSWER_KEYS",
    "JSONL_MAX_BYTES",
    "MAX_STUDENT_CHARS",
    "OPTIONAL_ANSWER_KEYS",
    "SUFFIXES",
    "TRANSCRIPT_FORMAT",
    "CaseIndex",
    "HintedSheet",
    "Submission",
    "check_answers",
    "check_submission",
    "is_transcript",
    "iter_json_lines",
    "load_answer_data",
    "load_answers",
    "printable",
    "sortable_time",
    "student_problem",
]

ANSWER_KEYS = ("student", "case", "answers")
# ``submitted_at`` says when; ``hints`` how many hints were used per question (the browser
# page and ``run`` record them; a case may charge for them); ``imt-tutor key --format json`` adds the rules
# behind each answer and the disclaimer, which are information only.
OPTIONAL_ANSWER_KEYS = ("submitted_at", "hints", "because", "accepted", "weights", "disclaimer")
MAX_STUDENT_CHARS = 200
#: A JSON Lines file holds a whole class: it is read a line at a time, each line at most MAX_BYTES.
JSONL_MAX_BYTES = 256 * 1024 * 1024
#: What ``imt_tutor.transcript`` writes in ``format`` (a test checks the two agree).
TRANSCRIPT_FORMAT = "imt-tutor-transcript"
YAML_SUFFIXES = (".yaml", ".yml")
SUFFIXES = (*YAML_SUFFIXES, ".json", ".jsonl")

# Control characters, and the format characters that reorder or hide text
# (bidi overrides, zero-width characters), never reach a terminal as they are.
# A leading character a spreadsheet reads as the start of a formula.
_FORMULA_START = ("=", "+", "-", "@")
_MAX_SHOWN = 80


def printable(text: str) -> str:
    """``text`` with every control or invisible formatting character escaped
    (``\\x1b``, ``\\u202e``), so that it cannot act on a terminal (:func:`errors.shown`)."""
    return shown(text)


def _quoted(value: str) -> str:
    """A student's text quoted back in a message: escaped and shortened."""
    return f"'{shown(value, _MAX_SHOWN)}'"


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


#: How many distinct good answers (question, picks as written) :class:`CaseIndex` remembers.
_GOOD_PICKS_LIMIT = 1024
#: Picks written in more characters than this are not remembered: a hostile file may pad a good
#: answer with spaces up to the size limit, and a thousand such keys would hold a gigabyte.
_MEMO_CHARS = 1024


def _good(texts: list[str], allowed: Container[str] | None) -> tuple[str, ...] | None:
    """``texts`` as picks (stripped, lower case, interned), or ``None`` unless each is
    one, none twice, and each in ``allowed`` (when given). Interned: the thousands of
    answers a batch holds (and its caches' keys) share one string per option."""
    picks = [text.strip().lower() for text in texts]
    if all(picks) and len(set(picks)) == len(picks) and (allowed is None or all(p in allowed for p in picks)):
        return tuple(map(sys.intern, picks))
    return None


def _remember(memo: dict[Any, tuple[str, ...]], key: Any, picks: tuple[str, ...]) -> None:
    """Keep ``picks`` in a bounded memo (emptied when full)."""
    if len(memo) >= _GOOD_PICKS_LIMIT:
        memo.clear()
    memo[key] = picks


def _listed_picks(
    memo: dict[tuple[int, tuple[Any, ...]], tuple[str, ...]], value: Sequence[Any], options: tuple[str, ...]
) -> tuple[str, ...] | None:
    """The picks of a loaded list of a question's ``options`` that is good as it is (every pick
    text, an option, once), normalised, or ``None``; remembered in ``memo`` (a
    :attr:`CaseIndex.good_picks`) by the list as written."""
    try:
        written = (id(options), tuple(value))
        found = memo.get(written)
    except TypeError:  # a mapping or a list among the picks: not good
        return None
    if found is not None:  # only all-text picks are stored, so only text ones match
        return found
    if not all(type(item) is str for item in value):
        return None
    good = _good(value, options)
    if good is not None and sum(map(len, value)) <= _MEMO_CHARS:
        _remember(memo, written, good)
    return good


def _norm(text: str) -> str:
    return text.strip().lower()


def sortable_time(text: str) -> str | None:
    """``submitted_at`` as a UTC time that sorts as text, or ``None`` if it is
    not an ISO 8601 date and time with a time zone."""
    value = text.strip()
    if "T" not in value.upper() and " " not in value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------- what a submission is


@dataclass(frozen=True)
class Submission:
    """One student's answers to one case, checked (picks normalised).

    ``location`` is where the submission starts (the file, or its line in a
    JSON Lines file); ``when`` is ``submitted_at`` as a sortable UTC time.
    """

    student: str
    case: str
    answers: tuple[tuple[str, tuple[str, ...]], ...]
    location: Location
    submitted_at: str | None = None
    when: str | None = None
    hints: tuple[tuple[str, int], ...] = ()

    def answered(self) -> dict[str, tuple[str, ...]]:
        return dict(self.answers)


@dataclass(frozen=True)
class HintedSheet(AnswerSheet):
    """An :class:`~imt_tutor.models.AnswerSheet` with the hints the student
    used, per question (``hints``; none for most answer files)."""

    hints: tuple[tuple[str, int], ...] = ()

    def hints_used(self, qualified: str) -> int:
        return dict(self.hints).get(qualified, 0)


class CaseIndex:
    """The cases a batch grades against, by ID, with each question's options
    (computed once per case)."""

    def __init__(self, cases: Iterable[Case]) -> None:
        self.cases: dict[str, Case] = {c.id: c for c in cases}
        self._questions: dict[str, dict[str, tuple[str, ...]]] = {}
        # (id of a question's options, the picks as written) -> the picks checked and normalised,
        # for picks found good: a class writes the same picks again and again. Bounded.
        self.good_picks: dict[tuple[int, tuple[Any, ...]], tuple[str, ...]] = {}
        # The same for quick_submission: (id of the options, the list as written, brackets and all).
        self.quick_picks: dict[tuple[int, str], tuple[str, ...]] = {}

    def __contains__(self, case_id: object) -> bool:
        return case_id in self.cases

    def ids(self) -> list[str]:
        return sorted(self.cases)

    def questions(self, case_id: str) -> dict[str, tuple[str, ...]]:
        """``stage.question`` -> options of the case ``case_id``."""
        found = self._questions.get(case_id)
        if found is None:
            case = self.cases[case_id]
            found = {qualified_id(stage, q): q.options for _, stage, q in iter_questions(case)}
            self._questions[case_id] = found
        return found


# --------------------------------------------------------------------- checking one submission


def student_problem(value: Any) -> str | None:
    """What is wrong with a ``student`` value, or ``None``: it must be text of
    at most MAX_STUDENT_CHARS characters, without control characters, and not
    start like a spreadsheet formula (it ends up in gradebook files)."""
    if not _is_text(value) or len(str(value)) > MAX_STUDENT_CHARS:
        return f"'student' must be non-empty text of at most {MAX_STUDENT_CHARS} characters"
    text = str(value).strip()
    if UNSAFE_CHARACTERS.search(text):
        return f"'student' must not contain control characters; got {_quoted(text)}"
    if text.startswith(_FORMULA_START):
        return f"'student' must not start with =, +, - or @ (a spreadsheet would read a formula); got {_quoted(text)}"
    return None


class _Checker:
    def __init__(
        self,
        data: YamlMap,
        top: Location,
        cases: CaseIndex | None,
        known_ids: frozenset[str] | None,
        locations: dict[str, Location] | None,
    ) -> None:
        self.data = data
        self.top = top
        self.cases = cases
        self.known_ids = known_ids
        self.locations = locations
        self.problems = Problems()
        self._known_sorted: tuple[str, ...] | None = None
        self._question_ids: tuple[str, ...] | None = None

    def question_ids(self, questions: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
        """The case's question IDs (the did-you-mean choices), listed once per submission."""
        if self._question_ids is None:
            self._question_ids = tuple(questions)
        return self._question_ids

    @property
    def known_sorted(self) -> tuple[str, ...]:
        """The known IDs in order (the did-you-mean choices), sorted once."""
        if self._known_sorted is None:
            self._known_sorted = tuple(sorted(self.known_ids or ()))
        return self._known_sorted

    def add(self, message: str, location: Location, code: str | None = None) -> None:
        self.problems.add(message, location, code=code)

    def hint(self, word: str, choices: Iterable[str]) -> str:
        """A did-you-mean (for the first problems of the file; see :meth:`Problems.did_you_mean`)."""
        return self.problems.did_you_mean(word, choices)

    def run(self) -> Submission:
        data = self.data
        allowed = ANSWER_KEYS + OPTIONAL_ANSWER_KEYS
        for key in data:
            if key not in allowed:
                self.add(
                    f"unknown key {_quoted(key)} in an answer file{self.hint(key, ANSWER_KEYS)}; "
                    f"expected {', '.join(ANSWER_KEYS)}",
                    data.key_location(key),
                    "unknown-key",
                )
        if "because" in data and not isinstance(data["because"], YamlMap):
            self.add("'because' must be a mapping of question id: rule ids", data.value_location("because"))
        if "accepted" in data and not isinstance(data["accepted"], YamlMap):
            self.add("'accepted' must be a mapping of question id: option ids", data.value_location("accepted"))
        if "weights" in data and not isinstance(data["weights"], YamlMap):  # as `key` writes them; the case's count
            self.add("'weights' must be a mapping of question id: points", data.value_location("weights"))
        if "disclaimer" in data and not isinstance(data["disclaimer"], str):
            self.add("'disclaimer' must be text", data.value_location("disclaimer"))
        for key in ANSWER_KEYS:
            if key not in data:
                self.add(f"an answer file needs '{key}'", self.top, "missing-key")
            elif self.locations is not None:
                self.locations[key] = data.value_location(key)
        student = self.student()
        case = self.case()
        submitted_at, when = self.submitted_at()
        answers = self.answers(case)
        hints = self.hints(case)
        self.problems.raise_if_any()
        assert student is not None and case is not None
        return Submission(student, case, answers, self.top, submitted_at, when, hints)

    def hints(self, case: str | None) -> tuple[tuple[str, int], ...]:
        data = self.data
        if "hints" not in data or data["hints"] is None:
            return ()
        raw = data["hints"]
        if not isinstance(raw, YamlMap):
            self.add("'hints' must be a mapping of stage.question: number of hints", data.value_location("hints"))
            return ()
        questions = self.cases.questions(case) if self.cases is not None and case is not None else None
        out: dict[str, int] = {}
        for raw_qid, count in raw.items():
            qid = raw_qid.strip().lower()
            if questions is not None and qid not in questions:
                self.add(
                    f"unknown question {_quoted(qid)} in the hints of case '{case}'"
                    f"{self.hint(qid, self.question_ids(questions))}",
                    raw.key_location(raw_qid),
                    "unknown-question",
                )
            elif not QUALIFIED.match(qid):
                self.add(f"{_quoted(raw_qid)} in 'hints' is not a question id", raw.key_location(raw_qid))
            elif isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 100:
                self.add(
                    f"hints of '{qid}' must be a whole number from 0 to 100; got {shown_value(count)}",
                    raw.value_location(raw_qid),
                )
            elif qid in out:
                self.add(f"hints of '{qid}' are given twice", raw.key_location(raw_qid))
            elif count:
                out[qid] = count
        return tuple(out.items())

    def student(self) -> str | None:
        data = self.data
        if "student" not in data:
            return None
        value = data["student"]
        problem = student_problem(value)
        if problem is not None:
            self.add(problem, data.value_location("student"))
            return None
        return str(value).strip()

    def case(self) -> str | None:
        data = self.data
        if "case" not in data:
            return None
        value = data["case"]
        if not isinstance(value, str) or not KEBAB.match(_norm(value)):
            self.add(
                f"'case' must be a case id (kebab-case, like 'lung-cough-alk-positive'); got {shown_value(value)}",
                data.value_location("case"),
            )
            return None
        case_id = _norm(value)
        if self.cases is not None and case_id not in self.cases:
            self.add(
                f"unknown case {_quoted(case_id)}{self.hint(case_id, self.cases.ids())}",
                data.value_location("case"),
                "unknown-case",
            )
            return None
        return case_id

    def submitted_at(self) -> tuple[str | None, str | None]:
        data = self.data
        if "submitted_at" not in data or data["submitted_at"] is None:
            return None, None
        value = data["submitted_at"]
        when = sortable_time(value) if isinstance(value, str) else None
        if when is None:
            self.add(
                "'submitted_at' must be an ISO 8601 date and time with a time zone, like 2026-03-02T09:30:00Z; "
                f"got {shown_value(value)}",
                data.value_location("submitted_at"),
                "bad-time",
            )
            return None, None
        return str(value).strip(), when

    def answers(self, case: str | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
        data = self.data
        raw = data.get("answers")
        if "answers" not in data:
            return ()
        if not isinstance(raw, YamlMap):
            self.add("'answers' must be a mapping of stage.question: [option ids]", data.value_location("answers"))
            return ()
        questions = self.cases.questions(case) if self.cases is not None and case is not None else None
        if questions is not None and self.locations is None and self.cases is not None:
            # The usual answers first: every question ID as the case writes it (so none twice), every
            # answer good as it is. Anything else: the full check below, from the start (nothing has
            # been reported yet).
            known: list[tuple[str, tuple[str, ...]]] = []
            good_picks = self.good_picks
            for raw_qid, value in raw.items():
                options = questions.get(raw_qid)
                if options is None or type(value) is not YamlList:
                    break
                found = good_picks(value, options)
                if found is None:
                    break
                known.append((raw_qid, found))
            else:
                return tuple(known)
        out: list[tuple[str, tuple[str, ...]]] = []
        seen: dict[str, str] = {}
        for raw_qid, value in raw.items():
            qid = raw_qid.strip().lower()
            if (questions is None or qid not in questions) and not QUALIFIED.match(qid):
                self.add(
                    f"{_quoted(raw_qid)} is not a question id; use stage.question (like 'imaging.next-steps')",
                    raw.key_location(raw_qid),
                )
                continue
            first = seen.get(qid)
            if first is not None:
                self.add(
                    f"question '{qid}' is answered twice (first at line {raw.key_location(first).line})",
                    raw.key_location(raw_qid),
                )
                continue
            seen[qid] = raw_qid
            options: tuple[str, ...] | None = None
            if questions is not None:
                options = questions.get(qid)
                if options is None:
                    self.add(
                        f"unknown question '{qid}' in case '{case}'{self.hint(qid, self.question_ids(questions))}",
                        raw.key_location(raw_qid),
                        "unknown-question",
                    )
                    continue
            if self.locations is not None:
                self.locations[qid] = raw.key_location(raw_qid)
            picks = self.picks(qid, value, raw, raw_qid, options)
            if picks is not None:
                out.append((qid, picks))
        return tuple(out)

    def good_picks(self, value: YamlList, options: tuple[str, ...] | None) -> tuple[str, ...] | None:
        """The picks of a list that is good as it is (every pick text, known, once), normalised;
        ``None`` when any is not (:meth:`picks` then says why). Reports nothing."""
        if self.cases is not None and options is not None:
            return _listed_picks(self.cases.good_picks, value, options)
        if not all(type(item) is str for item in value):
            return None
        return _good(value, options if options is not None else self.known_ids)

    def picks(
        self, qid: str, value: Any, parent: YamlMap, raw_qid: str, options: tuple[str, ...] | None
    ) -> tuple[str, ...] | None:
        """The picks of one answer; locations are looked up only for a problem
        (or when asked to remember them)."""
        if type(value) is YamlList and self.locations is None:
            good = self.good_picks(value, options)
            if good is not None:
                return good
        if isinstance(value, str):
            items: list[Any] = [value]

            def where(index: int) -> Location:
                return parent.value_location(raw_qid)

        elif isinstance(value, YamlList):
            items = value
            where = value.item_location
        else:
            self.add(
                f"answer to '{qid}' must be a list of option ids (or [] to pick none); got {shown_value(value)}",
                parent.value_location(raw_qid),
            )
            return None
        clean: list[str] = []
        picked: set[str] = set()
        bad = False
        known = self.known_ids
        allowed = frozenset(options) if options is not None and len(options) > 8 else options
        for index, item in enumerate(items):
            if type(item) is not str or not item.strip():
                self.add(
                    f"answer to '{qid}': each pick must be an option id (text); got {shown_value(item)}", where(index)
                )
                bad = True
                continue
            pick = item.strip().lower()
            if pick in picked:
                self.add(f"answer to '{qid}': '{pick}' is picked twice", where(index))
                bad = True
            elif allowed is not None and pick not in allowed:
                self.add(
                    f"{_quoted(pick)} is not an option of question '{qid}'{self.hint(pick, options)}",
                    where(index),
                    "unknown-option",
                )
                bad = True
            elif options is None and known is not None and pick not in known:
                self.add(
                    f"answer to '{qid}': unknown option {_quoted(pick)}{self.hint(pick, self.known_sorted)}",
                    where(index),
                    "unknown-option",
                )
                bad = True
            else:
                if self.locations is not None:
                    self.locations[f"{qid}[{index}]"] = where(index)
                clean.append(pick)
                picked.add(pick)
        return None if bad else tuple(clean)


def check_submission(
    data: Any,
    location: Location,
    *,
    cases: CaseIndex | None = None,
    vocab: Vocabulary | None = None,
    locations: dict[str, Location] | None = None,
) -> Submission:
    """Check one loaded submission (a :class:`YamlMap`) and return it, or raise
    every problem at once (:class:`~imt_tutor.errors.DataErrors`).

    With ``cases``, the case ID, every question ID and every pick are checked
    against the case; with only ``vocab``, every pick must be an ID the
    vocabulary knows. ``locations``, when given, is filled with where each
    thing was written (see :class:`~imt_tutor.models.AnswerSheet`).
    """
    if not isinstance(data, YamlMap):
        raise DataError("a submission must be a mapping (an object) of student, case, answers", location)
    if is_transcript(data):
        raise DataError(
            "this is a saved run of a case (a transcript), not an answers file", data.value_location("format")
        )
    known: frozenset[str] | None = None
    if vocab is not None and cases is None:
        ids = {s.id for s in vocab.next_steps} | {v for c in vocab.conclusions for v in c.value_ids}
        known = frozenset(ids)
    return _Checker(data, location, cases, known, locations).run()


# --------------------------------------------------------------------- the usual answers file, at once

# A value of student, case or submitted_at that YAML reads as this very text: a plain scalar (no
# ':', '#', brackets, braces or quotes; not a number, not true/false/null), or quoted without
# escapes.
_QUICK_PLAIN = re.compile(r"[A-Za-z_][^:#\[\]{},'\"]*")
_QUICK_QUOTED = re.compile(r"'([^']*)'|\"([^\"\\]*)\"")
_QUICK_KEYS = frozenset((*ANSWER_KEYS, "submitted_at"))


def _quick_scalar(text: str) -> str | None:
    value = text.rstrip(" ")
    if _QUICK_PLAIN.fullmatch(value) is not None and value not in NOT_STRINGS:
        return value
    quoted = _QUICK_QUOTED.fullmatch(value)
    if quoted is not None:
        return quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
    return None


def quick_submission(text: str, location: Location, cases: CaseIndex) -> Submission | None:
    """The submission of the usual answers file, read and checked in one pass, or
    ``None`` for any other text (the loader and :func:`check_submission` then read
    it, and word every problem). The usual file::

        student: A. Student
        case: lung-cough-alk-positive
        submitted_at: '2026-03-02T09:30:00Z'
        answers:
          presentation.next-steps: [cross_sectional_imaging]

    top-level keys ``student``, ``case``, ``answers`` and optionally ``submitted_at``,
    once each, with one-line values; the answers indented alike, each a question ID
    of the case as the case writes it, with a one-line list of its options. What it
    gives is what loading the text and checking it give (a hypothesis test in
    ``tests/test_answers.py`` checks it): a batch's files are mostly like this, and
    it costs a third of the time."""
    if not reads_plainly(text):
        return None
    lines = lines_of(text)
    if len(lines) != text.count("\n") + 1:
        return None
    top: dict[str, str] = {}
    picked: list[tuple[str, tuple[str, ...]]] = []
    questions: dict[str, tuple[str, ...]] | None = None
    nested = -1  # the answers' indentation, once known; -1: not in the answers
    seen: set[str] = set()
    memo = cases.quick_picks
    for spaces, key, _, rest, dash, _item in lines:
        if not key:
            if dash:
                return None
            continue  # a blank line or a comment
        indent = len(spaces)
        if indent == 0:
            if key in top or key not in _QUICK_KEYS:
                return None
            value = rest.rstrip(" ")
            if nested == 0:
                return None  # 'answers:' with nothing under it
            if key == "answers":
                if value:
                    return None
                top[key] = ""
                nested = 0
                case = top.get("case")
                if case is None:
                    return None  # the case comes first in the usual file
                questions = cases.questions(case)
                continue
            nested = -1
            found = _quick_scalar(value) if value else None
            if found is None:
                return None
            top[key] = found
            if key == "case" and found not in cases:
                return None
            continue
        if nested < 0 or questions is None or (nested and indent != nested):
            return None
        nested = indent
        options = questions.get(key)
        listed = rest.rstrip(" ") if rest.endswith(" ") else rest  # '[...]', as written
        if options is None or key in seen or listed[:1] != "[" or listed[-1:] != "]":
            return None
        seen.add(key)
        written = (id(options), listed)
        picks = memo.get(written)
        if picks is None:
            inner = listed[1:-1]
            words = [part.strip(" ") for part in inner.split(",")] if inner.strip(" ") else []
            if any(WORD.fullmatch(w) is None or w[0] in NUMBER_START or w in NOT_STRINGS for w in words):
                return None  # not a list of plain strings as YAML reads them
            picks = _good(words, options)
            if picks is None:
                return None
            if len(listed) <= _MEMO_CHARS:
                _remember(memo, written, picks)
        picked.append((key, picks))
    if not picked or "student" not in top or student_problem(top["student"]) is not None:
        return None
    submitted_at, when = None, None
    if "submitted_at" in top:
        submitted_at = top["submitted_at"].strip()
        when = sortable_time(submitted_at)
        if when is None:
            return None
    return Submission(top["student"].strip(), top["case"], tuple(picked), location, submitted_at, when)


class _JsonObject(list):  # type: ignore[type-arg]
    """A JSON object as :func:`quick_json_submission` reads it: its (key, value) pairs in
    order (so a key written twice is seen), told apart from an array by its type."""


# Printable ASCII but the backslash, tab, line feed and carriage return: a file with anything else
# may hold a string the loader refuses (a control character) or must look at (an escape).
_JSON_QUICK_BYTES = PLAIN_ASCII_BYTES.replace(b"\\", b"")


def quick_json_submission(raw: bytes, location: Location, cases: CaseIndex) -> Submission | None:
    """The submission of the usual JSON answers file, read with :func:`json.loads` and
    checked in one pass, or ``None`` for anything else (the loader and
    :func:`check_submission` then read it, and word every problem). The usual file is
    printable ASCII without a backslash: one object with ``student``, ``case``, ``answers``
    and optionally ``submitted_at``, each once; the case ID and every question ID as the
    case writes them, and each answer a list of option IDs. What it gives is what loading
    the file and checking it give (a hypothesis test in ``tests/test_answers.py`` checks
    it), in a third of the time: the loader keeps where every value was written, and only a
    problem needs that."""
    if raw.translate(None, _JSON_QUICK_BYTES):  # something is left: not only those bytes
        return None
    try:
        pairs = json.loads(raw, object_pairs_hook=_JsonObject)
    except (ValueError, RecursionError):  # not JSON (the loader words why), too deep, too many digits
        return None
    if type(pairs) is not _JsonObject:
        return None
    top = dict(pairs)
    if len(top) != len(pairs) or not top.keys() <= _QUICK_KEYS:
        return None
    student, case, answers = top.get("student"), top.get("case"), top.get("answers")
    if type(student) is not str or student_problem(student) is not None:
        return None
    if type(case) is not str or case not in cases or type(answers) is not _JsonObject:
        return None
    submitted_at, when = None, None
    stamp = top.get("submitted_at")
    if stamp is not None:
        if type(stamp) is not str:
            return None
        when = sortable_time(stamp)
        if when is None:
            return None
        submitted_at = stamp.strip()
    questions = cases.questions(case)
    memo = cases.good_picks
    picked: list[tuple[str, tuple[str, ...]]] = []
    seen: set[str] = set()
    for qid, value in answers:
        options = questions.get(qid)
        if options is None or qid in seen or type(value) is not list:
            return None
        seen.add(qid)
        picks = _listed_picks(memo, value, options)
        if picks is None:
            return None
        picked.append((qid, picks))
    return Submission(student.strip(), case, tuple(picked), location, submitted_at, when)


def is_transcript(data: Any) -> bool:
    """Whether loaded JSON is a transcript of ``run`` (by its ``format``)."""
    return isinstance(data, Mapping) and data.get("format") == TRANSCRIPT_FORMAT


# --------------------------------------------------------------------- reading files


def load_answer_data(path: str | os.PathLike[str], *, display_path: str | None = None) -> Any:
    """One answer file, loaded (not yet checked): JSON for ``.json``, YAML otherwise."""
    shown = display_path if display_path is not None else os.fsdecode(path)
    suffix = os.path.splitext(os.fsdecode(path))[1].lower()
    if suffix == ".json":
        return load_json_file(path, expect=dict, display_path=shown)
    if suffix == ".jsonl":
        found: list[Any] = []
        for item in iter_json_lines(path, display_path=shown):
            if isinstance(item, DataError):
                raise item
            if found:
                raise DataError("this JSON Lines file holds more than one submission; one is expected", item.location)
            found.append(item)
        if not found:
            raise DataError("file is empty", Location(shown, 1, 1), code="empty")
        return found[0]
    return load_yaml_file(path, expect=dict, display_path=shown)


def iter_json_lines(path: str | os.PathLike[str], *, display_path: str | None = None) -> Iterator[Any]:
    """Each non-blank line of a JSON Lines file, loaded (a :class:`YamlMap`) or
    the :class:`DataError` of that line; the file is read a line at a time.

    Raises :class:`DataError` if the file itself cannot be read.
    """
    shown = display_path if display_path is not None else os.fsdecode(path)
    with open_regular(path, JSONL_MAX_BYTES, display_path=shown) as handle:
        number = 0
        while True:
            try:
                line = handle.readline(MAX_BYTES + 1)
            except OSError as error:
                yield DataError(f"cannot read file: {error.strerror or error}", Location(shown, number + 1, 1))
                return
            if not line:
                return
            number += 1
            if len(line) > MAX_BYTES and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # skip the rest of the long line
                    line = handle.readline(MAX_BYTES + 1)
                yield DataError(
                    f"line is too long (limit {MAX_BYTES // (1024 * 1024)} MiB)", Location(shown, number, 1)
                )
                continue
            if number == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
            if not line.strip():
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as error:
                column = len(line[: error.start].decode("utf-8", "replace")) + 1
                yield DataError(
                    f"line is not valid UTF-8 (byte 0x{line[error.start]:02x})", Location(shown, number, column)
                )
                continue
            try:
                yield load_json_text(text.rstrip("\r\n"), shown, expect=dict, first_line=number)
            except DataError as error:
                yield error


# --------------------------------------------------------------------- one file for 'run'


def load_answers(
    source: str | Path | BinaryIO,
    vocab_or_none: Vocabulary | None = None,
    *,
    display_path: str | None = None,
) -> HintedSheet:
    """Load a student's answer file (hostile input), collecting every problem.

    A path ending in ``.json`` is read as strict JSON, any other path and a
    stream as YAML. The file holds ``student``, ``case`` and ``answers`` (and
    optionally ``submitted_at``). With a vocabulary, every pick must be an ID
    the vocabulary knows; :func:`check_answers` then checks it against a case.
    The sheet also carries the ``hints`` the student used (:class:`HintedSheet`).
    """
    if isinstance(source, (str, Path)):
        shown = display_path if display_path is not None else os.fsdecode(source)
        data = load_answer_data(source, display_path=shown)
    else:
        shown = display_path if display_path is not None else "<stdin>"
        data = load_yaml_stream(source, shown, expect=dict)
    locations: dict[str, Location] = {}
    sheet = check_submission(data, Location(shown, 1, 1), vocab=vocab_or_none, locations=locations)
    return HintedSheet(sheet.student, sheet.case, sheet.answers, shown, locations, sheet.hints)


def check_answers(sheet: AnswerSheet, case: Case) -> None:
    """Check ``sheet`` against ``case``: the case ID, every question ID and
    every pick (did-you-mean for each); all problems are raised together."""
    problems = Problems()
    hint = problems.did_you_mean
    fallback = Location(sheet.path, 1, 1)
    if sheet.case != case.id:
        problems.add(
            f"this answer file is for case '{sheet.case}', not '{case.id}'", sheet.location_of("case") or fallback
        )
    questions = {qualified_id(stage, q): q for _, stage, q in iter_questions(case)}
    question_ids = tuple(questions)
    for qid, picks in sheet.answers:
        question = questions.get(qid)
        if question is None:
            problems.add(
                f"unknown question '{qid}' in case '{case.id}'{hint(qid, question_ids)}",
                sheet.location_of(qid) or fallback,
            )
            continue
        options = frozenset(question.options) if len(picks) > 8 else question.options
        for index, pick in enumerate(picks):
            if pick not in options:
                problems.add(
                    f"{_quoted(pick)} is not an option of question '{qid}'{hint(pick, question.options)}",
                    sheet.location_of(f"{qid}[{index}]") or sheet.location_of(qid) or fallback,
                )
    problems.raise_if_any()
