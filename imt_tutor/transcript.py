"""Transcripts of case runs: where they live, atomic saving, hostile-safe loading.

A transcript is one JSON file per run (format ``imt-tutor-transcript``,
version 1): the case, its questions (IDs and options, so a changed case is
noticed on resume), every answer given so far with its picks and points (older
transcripts also stored the feedback text; it is read and dropped),
timestamps and the imt-tutor version. It is rewritten after every answer by
writing a temporary file in the same folder, syncing it and renaming it over
the old one, so a crash leaves either the old or the new transcript, never a
partial one.
"""

from __future__ import annotations

import json
import operator
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from . import DISCLAIMER, __version__
from .cases import MAX_WEIGHT
from .errors import DataError, Location
from .files import FileLock, check_target, data_dir, default_transcript_path, too_large, write_atomic
from .loading import YamlList, YamlMap, load_json_file
from .scoring import case_total

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_BYTES",
    "MAX_HINTS",
    "AnswerRecord",
    "Transcript",
    "data_dir",
    "default_transcript_path",
    "load_transcript",
    "lock_transcript",
    "now",
    "save_transcript",
    "transcript_from_data",
    "transcript_json",
    "transcript_target",
]

FORMAT = "imt-tutor-transcript"
FORMAT_VERSION = 1
#: The one size limit of a transcript: checked when it is read, and before it is written.
MAX_BYTES = 8 * 1024 * 1024
MAX_HINTS = 100


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


# --------------------------------------------------------------------- where

# data_dir and default_transcript_path live in imt_tutor.files; they are
# imported above so that transcript.data_dir keeps working.


# --------------------------------------------------------------------- what


@dataclass(frozen=True)
class AnswerRecord:
    """One answered question: the picks and the points (data; the feedback is
    derived again from the case's key whenever it is shown)."""

    question: str
    picks: tuple[str, ...]
    points: float
    answered_at: str
    help: Mapping[str, Any] | None = field(default=None, compare=False)  # hints, why, why-not, how used


@dataclass(frozen=True)
class Transcript:
    case: str
    case_file: str
    questions: tuple[tuple[str, tuple[str, ...]], ...]
    answers: tuple[AnswerRecord, ...] = ()
    student: str | None = None
    started_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    version: str = __version__
    #: The questions that count more than 1 point in the case's total, with their weights.
    weights: tuple[tuple[str, int], ...] = ()

    def answered(self) -> dict[str, tuple[str, ...]]:
        return {a.question: a.picks for a in self.answers}

    def with_answer(self, record: AnswerRecord) -> Transcript:
        asked = record.question
        if asked in map(operator.attrgetter("question"), self.answers):  # answered again: the new answer replaces it
            kept = tuple(a for a in self.answers if a.question != asked)
        else:
            kept = self.answers
        return Transcript(
            self.case,
            self.case_file,
            self.questions,
            (*kept, record),
            self.student,
            self.started_at,
            record.answered_at,
            __version__,
            self.weights,
        )


def _question_json(qid: str, options: tuple[str, ...], weight: int = 1) -> dict[str, Any]:
    return {"id": qid, "options": list(options), **({"weight": weight} if weight != 1 else {})}


def _answer_json(a: AnswerRecord) -> dict[str, Any]:
    return {
        "question": a.question,
        "picks": list(a.picks),
        "points": a.points,
        "answered_at": a.answered_at,
        **({"help": dict(a.help)} if a.help else {}),
    }


def _head_json(t: Transcript) -> dict[str, Any]:
    """:func:`transcript_json` with its two long lists (questions, answers) left empty."""
    # Each answer's points times its question's weight, as the case's total counts them.
    weights = dict(t.weights)
    points = case_total([a.points for a in t.answers], [weights.get(a.question, 1) for a in t.answers]).points
    maximum = sum(weights.get(q, 1) for q, _ in t.questions)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "version": t.version,
        "case": t.case,
        "case_file": t.case_file,
        "student": t.student,
        "started_at": t.started_at,
        "updated_at": t.updated_at,
        "questions": [],
        "answers": [],
        "score": {
            "points": points,
            "max_points": maximum,
            "answered": len(t.answers),
            "questions": len(t.questions),
        },
        "disclaimer": DISCLAIMER,
    }


def transcript_json(t: Transcript) -> dict[str, Any]:
    data = _head_json(t)
    weights = dict(t.weights)
    data["questions"] = [_question_json(q, opts, weights.get(q, 1)) for q, opts in t.questions]
    data["answers"] = [_answer_json(a) for a in t.answers]
    return data


# A save writes the whole transcript again. Its two long lists are kept as text: the questions' for the
# run, the answers' from the last save, so that one more answer costs the encoding of that answer only.
# (Each item is json.dumps(..., indent=2) indented two levels; JSON text holds no raw newline.)
_QUESTIONS_TEXT: list[tuple[object, tuple[tuple[str, int], ...], str]] = []  # (questions, weights, text)
_ANSWERS_TEXT: list[tuple[tuple[AnswerRecord, ...], str]] = []  # (the answers saved last, their text)
_LIST_END = "\n  ]"


def _item_text(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False).replace("\n", "\n    ")


def _list_text(items: list[str]) -> str:
    return "[\n" + ",\n".join(f"    {item}" for item in items) + _LIST_END if items else "[]"


def _answers_text(answers: tuple[AnswerRecord, ...]) -> str:
    kept = _ANSWERS_TEXT[0] if _ANSWERS_TEXT else None
    if kept is not None and len(answers) == len(kept[0]) + 1 and all(map(operator.is_, answers, kept[0])):
        item = _item_text(_answer_json(answers[-1]))  # one more answer than last time: add its text
        text = f"{kept[1][: -len(_LIST_END)]},\n    {item}{_LIST_END}" if kept[0] else _list_text([item])
    else:
        text = _list_text([_item_text(_answer_json(a)) for a in answers])
    _ANSWERS_TEXT[:] = [(answers, text)]
    return text


def _questions_text(questions: tuple[tuple[str, tuple[str, ...]], ...], weights: tuple[tuple[str, int], ...]) -> str:
    if not _QUESTIONS_TEXT or _QUESTIONS_TEXT[0][0] is not questions or _QUESTIONS_TEXT[0][1] != weights:
        by_id = dict(weights)
        text = _list_text([_item_text(_question_json(q, opts, by_id.get(q, 1))) for q, opts in questions])
        _QUESTIONS_TEXT[:] = [(questions, weights, text)]
    return _QUESTIONS_TEXT[0][2]


def transcript_text(t: Transcript) -> str:
    """The text of the transcript file: ``json.dumps(transcript_json(t), indent=2,
    ensure_ascii=False)`` and a newline, joined from text kept per answer."""
    parts = []
    for key, value in _head_json(t).items():
        if key == "questions":
            text = _questions_text(t.questions, t.weights)
        elif key == "answers":
            text = _answers_text(t.answers)
        else:
            text = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


# --------------------------------------------------------------------- saving


def save_transcript(path: str | os.PathLike[str], transcript: Transcript) -> None:
    """Write ``transcript`` to ``path`` atomically (temp file, fsync, rename;
    see :func:`imt_tutor.files.write_atomic`).

    Raises :class:`DataError` (``path: cannot save transcript: ...``) on failure;
    the old file, if any, is then left as it was.
    """
    data = transcript_text(transcript).encode("utf-8")
    if len(data) > MAX_BYTES:  # never write what load_transcript would refuse
        error = too_large(os.fsdecode(path), len(data), MAX_BYTES)
        raise DataError("cannot save transcript: " + error.message.replace("file is", "it would be", 1), error.location)
    write_atomic(path, data, make_parents=True, what="cannot save transcript")


def transcript_target(path: str | os.PathLike[str]) -> None:
    """Refuse, before the first question, a transcript path that cannot be
    saved to: not a regular file (a folder, a FIFO, a device), or in a folder
    that takes no new file. Raises :class:`DataError`."""
    check_target(path, "cannot save transcript")


def lock_transcript(path: str | os.PathLike[str]) -> FileLock:
    """An exclusive lock on the transcript at ``path`` for a ``with`` block (the
    life of a run): a second run on it raises :class:`DataError` (code
    ``locked``); the lock of a process that is gone is taken over."""
    return FileLock(path, "this transcript is in use by another run")


# --------------------------------------------------------------------- loading


class _Bad(Exception):
    """A problem of a transcript, at ``node`` (its value ``key``, or its item ``index``)."""

    def __init__(self, message: str, node: Any = None, key: str | int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.node = node
        self.key = key

    def location(self, path: str) -> Location:
        node, key = self.node, self.key
        if isinstance(node, YamlMap):
            return node.value_location(key) if isinstance(key, str) and key in node else node.location
        if isinstance(node, YamlList):
            return node.item_location(key) if isinstance(key, int) else node.location
        return Location(path, 1, 1)


def _text(data: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> str | None:
    if key not in data:
        if optional:
            return None
        raise _Bad(f"{where} needs '{key}'", data)
    value = data[key]
    if value is None and optional:
        return None
    if not isinstance(value, str) or (not value and not optional):
        raise _Bad(f"'{key}' of {where} must be text", data, key)
    return value


def _ids(value: Any, what: str, parent: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad(f"{what} must be a list of IDs", parent, key)
    return tuple(value)


def _parse(data: Any) -> Transcript:
    if not isinstance(data, dict):
        raise _Bad("not a transcript: expected a JSON object at the top level", data)
    if data.get("format") != FORMAT:
        raise _Bad(f"not a transcript: 'format' must be {FORMAT!r}", data, "format")
    version = data.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise _Bad("'format_version' must be an integer", data, "format_version")
    if version > FORMAT_VERSION:
        raise _Bad(
            f"transcript format {version} is newer than this imt-tutor reads ({FORMAT_VERSION})",
            data,
            "format_version",
        )
    if version < 1:
        raise _Bad(f"unknown transcript format version {version}", data, "format_version")
    case = _text(data, "case", "the transcript")
    case_file = _text(data, "case_file", "the transcript") or ""
    student = _text(data, "student", "the transcript", optional=True)
    started = _text(data, "started_at", "the transcript", optional=True) or now()
    updated = _text(data, "updated_at", "the transcript", optional=True) or started
    written_by = _text(data, "version", "the transcript", optional=True) or "unknown"

    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list):
        raise _Bad("'questions' must be a list", data, "questions")
    questions: list[tuple[str, tuple[str, ...]]] = []
    options: dict[str, tuple[str, ...]] = {}
    weights: list[tuple[str, int]] = []
    for i, item in enumerate(raw_questions):
        where = f"questions[{i}]"
        if not isinstance(item, dict):
            raise _Bad(f"{where} must be an object with 'id' and 'options'", raw_questions, i)
        qid = _text(item, "id", where) or ""
        if qid in options:
            raise _Bad(f"{where}: question '{qid}' is listed twice", item, "id")
        questions.append((qid, _ids(item.get("options"), f"'options' of {where}", item, "options")))
        options[qid] = questions[-1][1]
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= MAX_WEIGHT:
            raise _Bad(f"'weight' of {where} must be a whole number from 1 to {MAX_WEIGHT}", item, "weight")
        if weight != 1:
            weights.append((qid, weight))

    raw_answers = data.get("answers")
    if not isinstance(raw_answers, list):
        raise _Bad("'answers' must be a list", data, "answers")
    answers: list[AnswerRecord] = []
    seen: set[str] = set()
    for i, item in enumerate(raw_answers):
        where = f"answers[{i}]"
        if not isinstance(item, dict):
            raise _Bad(f"{where} must be an object", raw_answers, i)
        qid = _text(item, "question", where) or ""
        if qid not in options:
            raise _Bad(f"{where}: unknown question '{qid}'", item, "question")
        if qid in seen:
            raise _Bad(f"{where}: question '{qid}' is answered twice", item, "question")
        seen.add(qid)
        picks = _ids(item.get("picks"), f"'picks' of {where}", item, "picks")
        for pick in picks:
            if pick not in options[qid]:
                raise _Bad(f"{where}: '{pick}' is not an option of question '{qid}'", item, "picks")
        points = item.get("points")
        if isinstance(points, bool) or not isinstance(points, (int, float)) or not 0 <= points <= 1:
            raise _Bad(f"'points' of {where} must be a number from 0 to 1", item, "points")
        _text(item, "feedback", where, optional=True)  # written by version 0.1.0 transcripts; not kept
        answered_at = _text(item, "answered_at", where, optional=True) or updated
        used = item.get("help")
        if used is not None and (
            not isinstance(used, dict)
            or not isinstance(used.get("hints", 0), int)
            or isinstance(used.get("hints"), bool)
            or not 0 <= used.get("hints", 0) <= MAX_HINTS
        ):
            raise _Bad(
                f"'help' of {where} must be an object with a whole number of hints (0 to {MAX_HINTS})", item, "help"
            )
        answers.append(AnswerRecord(qid, picks, float(points), answered_at, used))
    return Transcript(
        case or "", case_file, tuple(questions), tuple(answers), student, started, updated, written_by, tuple(weights)
    )


def transcript_from_data(data: Any, path: str) -> Transcript:
    """Check loaded JSON (from :func:`imt_tutor.loading.load_json_file`) as a
    transcript; every problem is a :class:`DataError` located in ``path``."""
    try:
        return _parse(data)
    except _Bad as error:
        raise DataError(error.message, error.location(path)) from None


# How the strict JSON reader's problems with the whole file read for a transcript.
_REWORDED = {
    "empty": "transcript is empty",
    "too-large": "transcript is too large",
    "too-deep": "transcript is nested too deeply",
}


def load_transcript(path: str | os.PathLike[str]) -> Transcript:
    """Read and check a transcript (through the one strict JSON reader, at most
    :data:`MAX_BYTES`); every problem is a one-line :class:`DataError`."""
    shown = os.fsdecode(path)
    try:
        data = load_json_file(path, expect=None, display_path=shown, limit=MAX_BYTES)
    except DataError as error:
        if error.code == "unreadable" or error.code == "not-a-file":
            message = error.message.replace("cannot read file", "cannot read transcript", 1)
        elif error.code == "not-utf8":
            message = "transcript is " + error.message.removeprefix("file is ")
        else:
            message = _REWORDED.get(error.code or "", error.message)
        raise DataError(message, error.location, code=error.code) from None
    return transcript_from_data(data, shown)
