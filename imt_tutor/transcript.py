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
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import DISCLAIMER, __version__
from .errors import DataError, Location

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_BYTES",
    "AnswerRecord",
    "Transcript",
    "data_dir",
    "default_transcript_path",
    "load_transcript",
    "now",
    "save_transcript",
    "transcript_json",
]

FORMAT = "imt-tutor-transcript"
FORMAT_VERSION = 1
MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64  # a transcript is a few levels deep; some Pythons' json parses any depth
APP = "imt-tutor"


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


# --------------------------------------------------------------------- where


def data_dir(env: Mapping[str, str] | None = None, platform: str | None = None, home: Path | None = None) -> Path:
    """The user's data folder for imt-tutor (like platformdirs' user_data_dir).

    Linux and other Unix: ``$XDG_DATA_HOME/imt-tutor`` (an absolute
    ``XDG_DATA_HOME`` only), default ``~/.local/share/imt-tutor``; macOS:
    ``~/Library/Application Support/imt-tutor``; Windows:
    ``%LOCALAPPDATA%\\imt-tutor`` (else ``%APPDATA%``, else ``~\\AppData\\Local``).
    """
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    home = Path.home() if home is None else home
    if platform.startswith("win"):
        for name in ("LOCALAPPDATA", "APPDATA"):
            value = env.get(name, "")
            if value:
                return Path(value) / APP
        return home / "AppData" / "Local" / APP
    if platform == "darwin":
        return home / "Library" / "Application Support" / APP
    xdg = env.get("XDG_DATA_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / APP
    return home / ".local" / "share" / APP


def default_transcript_path(case_id: str, env: Mapping[str, str] | None = None) -> Path:
    """``<data folder>/transcripts/<case-id>.json``."""
    return data_dir(env) / "transcripts" / f"{case_id}.json"


# --------------------------------------------------------------------- what


@dataclass(frozen=True)
class AnswerRecord:
    """One answered question: the picks and the points (data; the feedback is
    derived again from the case's key whenever it is shown)."""

    question: str
    picks: tuple[str, ...]
    points: float
    answered_at: str


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

    def answered(self) -> dict[str, tuple[str, ...]]:
        return {a.question: a.picks for a in self.answers}

    def with_answer(self, record: AnswerRecord) -> Transcript:
        kept = tuple(a for a in self.answers if a.question != record.question)
        return Transcript(
            self.case,
            self.case_file,
            self.questions,
            (*kept, record),
            self.student,
            self.started_at,
            record.answered_at,
            __version__,
        )


def transcript_json(t: Transcript) -> dict[str, Any]:
    points = round(sum(a.points for a in t.answers), 2)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "version": t.version,
        "case": t.case,
        "case_file": t.case_file,
        "student": t.student,
        "started_at": t.started_at,
        "updated_at": t.updated_at,
        "questions": [{"id": q, "options": list(opts)} for q, opts in t.questions],
        "answers": [
            {
                "question": a.question,
                "picks": list(a.picks),
                "points": a.points,
                "answered_at": a.answered_at,
            }
            for a in t.answers
        ],
        "score": {"points": points, "answered": len(t.answers), "questions": len(t.questions)},
        "disclaimer": DISCLAIMER,
    }


# --------------------------------------------------------------------- saving


def save_transcript(path: str | os.PathLike[str], transcript: Transcript) -> None:
    """Write ``transcript`` to ``path`` atomically (temp file, fsync, rename).

    Raises :class:`DataError` (``path: cannot save transcript: ...``) on failure;
    the old file, if any, is then left as it was.
    """
    target = Path(path)
    text = json.dumps(transcript_json(transcript), indent=2, ensure_ascii=False) + "\n"
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        tmp = None
        _sync_dir(target.parent)
    except OSError as error:
        raise DataError(f"cannot save transcript: {error.strerror or error}", Location(str(target))) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _sync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------- loading


class _Bad(Exception):
    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Bad(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise _Bad(f"invalid JSON: {name} is not allowed")


def _text(data: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> str | None:
    if key not in data:
        if optional:
            return None
        raise _Bad(f"{where} needs '{key}'")
    value = data[key]
    if value is None and optional:
        return None
    if not isinstance(value, str) or (not value and not optional):
        raise _Bad(f"'{key}' of {where} must be text")
    return value


def _ids(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad(f"{what} must be a list of IDs")
    return tuple(value)


def _parse(data: Any) -> Transcript:
    if not isinstance(data, dict):
        raise _Bad("not a transcript: expected a JSON object at the top level")
    if data.get("format") != FORMAT:
        raise _Bad(f"not a transcript: 'format' must be {FORMAT!r}")
    version = data.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise _Bad("'format_version' must be an integer")
    if version > FORMAT_VERSION:
        raise _Bad(f"transcript format {version} is newer than this imt-tutor reads ({FORMAT_VERSION})")
    if version < 1:
        raise _Bad(f"unknown transcript format version {version}")
    case = _text(data, "case", "the transcript")
    case_file = _text(data, "case_file", "the transcript") or ""
    student = _text(data, "student", "the transcript", optional=True)
    started = _text(data, "started_at", "the transcript", optional=True) or now()
    updated = _text(data, "updated_at", "the transcript", optional=True) or started
    written_by = _text(data, "version", "the transcript", optional=True) or "unknown"

    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list):
        raise _Bad("'questions' must be a list")
    questions: list[tuple[str, tuple[str, ...]]] = []
    for i, item in enumerate(raw_questions):
        where = f"questions[{i}]"
        if not isinstance(item, dict):
            raise _Bad(f"{where} must be an object with 'id' and 'options'")
        qid = _text(item, "id", where) or ""
        if any(q == qid for q, _ in questions):
            raise _Bad(f"{where}: question '{qid}' is listed twice")
        questions.append((qid, _ids(item.get("options"), f"'options' of {where}")))
    options = dict(questions)

    raw_answers = data.get("answers")
    if not isinstance(raw_answers, list):
        raise _Bad("'answers' must be a list")
    answers: list[AnswerRecord] = []
    seen: set[str] = set()
    for i, item in enumerate(raw_answers):
        where = f"answers[{i}]"
        if not isinstance(item, dict):
            raise _Bad(f"{where} must be an object")
        qid = _text(item, "question", where) or ""
        if qid not in options:
            raise _Bad(f"{where}: unknown question '{qid}'")
        if qid in seen:
            raise _Bad(f"{where}: question '{qid}' is answered twice")
        seen.add(qid)
        picks = _ids(item.get("picks"), f"'picks' of {where}")
        for pick in picks:
            if pick not in options[qid]:
                raise _Bad(f"{where}: '{pick}' is not an option of question '{qid}'")
        points = item.get("points")
        if isinstance(points, bool) or not isinstance(points, (int, float)) or not 0 <= points <= 1:
            raise _Bad(f"'points' of {where} must be a number from 0 to 1")
        _text(item, "feedback", where, optional=True)  # written by version 0.1.0 transcripts; not kept
        answered_at = _text(item, "answered_at", where, optional=True) or updated
        answers.append(AnswerRecord(qid, picks, float(points), answered_at))
    return Transcript(case or "", case_file, tuple(questions), tuple(answers), student, started, updated, written_by)


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                break
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def load_transcript(path: str | os.PathLike[str]) -> Transcript:
    """Read and check a transcript; every problem is a one-line :class:`DataError`."""
    shown = os.fsdecode(path)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_BYTES:
                raise DataError(f"transcript is too large ({size} bytes)", Location(shown))
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise DataError(f"cannot read transcript: {error.strerror or error}", Location(shown)) from None
    if len(data) > MAX_BYTES:
        raise DataError("transcript is too large", Location(shown))
    if not data.strip():
        raise DataError("transcript is empty", Location(shown))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataError(f"transcript is not valid UTF-8 (byte 0x{data[error.start]:02x})", Location(shown)) from None
    try:
        parsed = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
        if _depth(parsed) > MAX_DEPTH:
            raise RecursionError
        return _parse(parsed)
    except json.JSONDecodeError as error:
        raise DataError(f"invalid JSON: {error.msg}", Location(shown, error.lineno, error.colno)) from None
    except _Bad as error:
        raise DataError(error.message, Location(shown, error.line, error.column)) from None
    except RecursionError:
        raise DataError("transcript is nested too deeply", Location(shown)) from None
