"""Batch grading: folders of students' answer files -> graded submissions or
located problems, with item analysis. No rendering, no printing.

:class:`Batch` works in two passes over an on-disk store (SQLite in a
temporary folder), so that memory does not grow with the number of files:

1. :meth:`Batch.collect` walks the paths (sorted, deterministic; hidden
   files skipped), reads and checks every answer file -- in ``jobs`` worker
   processes when there are many files, with results taken back in file
   order -- and stores each valid submission. Each bad file or line becomes
   :class:`Reported` problems (``path:line:col: message``) and costs nothing
   else. Then two submissions of one student for one case are settled: the
   later ``submitted_at`` is graded and the other reported; without
   timestamps (or with equal ones) all are reported and none graded.
2. :meth:`Batch.graded` yields every remaining submission graded from its
   case's :class:`~imt_tutor.feedback.CaseKey` -- built once per case, never
   an engine call per student -- ordered by student, then case. Each carries
   the case's *stamp*: a hash of the rule files, the case file, the tool's
   version and the engine.

:class:`ItemAnalysis` (fed by :meth:`Batch.graded`) gives per question the
difficulty (mean credit), the discrimination (corrected item-total
correlation and the upper-lower 27 % index), the most common wrong picks and
misses with the rule behind each; per case mean, median, histogram and
Cronbach's alpha; and the rules most often contradicted by students' picks.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import math
import os
import shutil
import signal
import sqlite3
import stat
import tempfile
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from . import __version__
from .answers import (
    SUFFIXES,
    CaseIndex,
    Submission,
    check_submission,
    is_transcript,
    iter_json_lines,
    printable,
    quick_json_submission,
    quick_submission,
    sortable_time,
    student_problem,
)
from .errors import DataError, DataErrors, Location, did_you_mean
from .explain import CONTRADICTED
from .feedback import CaseKey, GradedAnswer, GradedCase, QuestionKey, build_key, grade
from .files import read_capped
from .loading import MAX_BYTES, YamlList, YamlMap, load_json_text, load_yaml_text
from .models import Case, RuleBase
from .scoring import CaseScore

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

__all__ = [
    "CANVAS_FORBIDDEN",
    "CANVAS_MATCH_COLUMNS",
    "CANVAS_STUDENT_COLUMNS",
    "MIN_STUDENTS",
    "MOODLE_MATCH_COLUMNS",
    "PARALLEL_MIN_FILES",
    "Analysis",
    "Batch",
    "BoundedMemo",
    "CaseStats",
    "GradedSubmission",
    "Hooks",
    "ItemAnalysis",
    "PickCount",
    "QuestionStats",
    "Reported",
    "Result",
    "Roster",
    "RosterRow",
    "RuleStats",
    "StudentTotal",
    "feedback_filename",
    "load_roster",
    "number_text",
    "per_student",
    "read_submissions",
    "stamp",
]

#: Fewer students than this give no discrimination index and no Cronbach's alpha.
MIN_STUDENTS = 5
#: Worker processes are used only for at least this many files (like black's concurrency).
PARALLEL_MIN_FILES = 200
CHUNK = 64
ROSTER_MAX_BYTES = 16 * 1024 * 1024
# Bounds of the caches of graded answers and of totals (per generation, see BoundedMemo): a class repeats
# answers, far less often whole sets of points. Small on purpose: peak memory at 100,000 files stays
# within 1.1x that at 1,000 (benchmarks/grading.py: 1.08x, picks interned; 4,096 gave 1.3x, 256 regraded
# twice as many answers). The same holds for the CSV cells (render/gradebook.py) and the checked picks
# (answers.py): 1,024 each; at 4,096 the three together gave 1.30x. Graded answers are slotted; at 2,048
# here peak memory came to 1.10x once the rest of a run took less (38.3 / 34.8 MiB), at 1,024 it is 1.07x,
# and the grading of the benchmark's 10,000 files takes the same time within 1 % (whole answer sets and the
# CSV cells of a whole case are remembered apart, see _Grader.graded and render/gradebook._case_cells).
_GRADE_CACHE_LIMIT = 1_024
_TOTALS_CACHE_LIMIT = 128

# Canvas's gradebook importer (app/models/gradebook_importer.rb): the student columns it knows,
# in order; the ones it matches students on; and what it silently drops from a header.
CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Root Account", "Section")
CANVAS_MATCH_COLUMNS = ("SIS Login ID", "SIS User ID")
CANVAS_FORBIDDEN = (
    "Current Score",
    "Current Points",
    "Current Grade",
    "Final Score",
    "Final Points",
    "Final Grade",
    "Override Score",
    "Override Grade",
    "Override Status",
)
# Moodle's identifiers (a grades export or a participants list), by how a header may spell them.
MOODLE_MATCH_COLUMNS = {
    "id number": "ID number",
    "idnumber": "ID number",
    "username": "Username",
    "email address": "Email address",
    "email": "Email address",
}


# --------------------------------------------------------------------- problems


@dataclass(frozen=True, order=True)
class Reported:
    """One problem, located (``line``/``column`` 1-based, 1:1 for the whole file)."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"

    @classmethod
    def from_source(cls, source: str, message: str) -> Reported:
        """At a submission's ``source`` (``path:line:col``, as results carry it)."""
        path, line, column = _split_source(source)
        return cls(path, line, column, message)

    @classmethod
    def at(cls, location: Location | None, message: str, fallback: str = "<unknown>") -> Reported:
        if location is None:
            return cls(fallback, 1, 1, message)
        return cls(location.path, max(location.line, 1), max(location.column, 1), message)


def _reported(error: DataError, fallback: str) -> list[Reported]:
    errors = error.errors if isinstance(error, DataErrors) else [error]
    return [Reported.at(e.location, e.message, fallback) for e in errors]


# --------------------------------------------------------------------- numbers


_NUMBERS: dict[float | Decimal, str] = {}


def number_text(value: float | Decimal) -> str:
    """A number as gradebooks read it: ``.`` for decimals, at most 2 of them
    (halves up), no thousands separator, no exponent (``12``, ``9.5``, ``0.33``)."""
    found = _NUMBERS.get(value)
    if found is None:
        exact = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        found = f"{exact:f}"
        if "." in found:
            found = found.rstrip("0").rstrip(".")
        if found in ("-0", ""):
            found = "0"
        if len(_NUMBERS) < 10_000:  # points repeat: a few hundred distinct values
            _NUMBERS[value] = found
    return found


def _cents(points: float) -> int:
    return int(Decimal(str(points)).scaleb(2).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --------------------------------------------------------------------- the stamp


def stamp(rule_files: Iterable[tuple[str, bytes]], case_file: bytes, version: str, engine: str) -> str:
    """``sha256:`` and 16 hex digits over the rule files (name and bytes, sorted
    by name), the case file, the tool's version and the engine: a grade with
    the same stamp is reproducible; a changed key shows as a changed stamp."""
    digest = hashlib.sha256(b"imt-tutor grade stamp 1\0")
    for name, data in sorted(rule_files):
        digest.update(b"rule\0" + name.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0" + data)
    digest.update(b"case\0" + str(len(case_file)).encode() + b"\0" + case_file)
    digest.update(b"version\0" + version.encode("utf-8") + b"\0engine\0" + engine.encode("utf-8"))
    return "sha256:" + digest.hexdigest()[:16]


def _rule_files(folder: Path) -> list[tuple[str, bytes]]:
    return [(p.name, read_capped(p, 16 * 1024 * 1024)) for p in sorted(folder.glob("*.yaml"))]


# --------------------------------------------------------------------- what a graded submission is


@dataclass(frozen=True, slots=True)
class GradedSubmission:
    """One graded submission: who, which case, the graded answers (one per
    question of the case, in case order, unanswered ones 0), the total and
    the case's stamp."""

    student: str
    case: str
    submitted_at: str | None
    source: str
    key: CaseKey
    graded: GradedCase
    points: float
    max_points: float
    percent: float
    stamp: str

    def answer(self, qid: str) -> GradedAnswer | None:
        for answer in self.graded.answers:
            if answer.qid == qid:
                return answer
        return None


@dataclass(frozen=True)
class Hooks:
    """Functions of a :class:`GradedSubmission` run where it is graded (in a
    worker process when there are several), each giving text stored with it:
    ``row`` for the output file, ``feedback`` for the student's feedback file,
    ``note`` for a one-paragraph summary. Give module-level functions (or
    ``functools.partial`` of them) so that they reach any worker."""

    row: Callable[[GradedSubmission], str] | None = None
    feedback: Callable[[GradedSubmission], str] | None = None
    note: Callable[[GradedSubmission], str] | None = None


@dataclass(frozen=True)
class Result:
    """A graded submission as stored: the totals, the texts of the
    :class:`Hooks` and the item data (for :class:`ItemAnalysis`)."""

    student: str
    case: str
    submitted_at: str | None
    source: str
    points: float
    max_points: float
    percent: float
    stamp: str
    row: str | None
    feedback: str | None
    note: str | None
    items: str | None


class BoundedMemo:
    """A bounded cache: two generations of at most ``limit`` entries each; a hit
    in the older one moves to the newer, a full newer one replaces the older.
    (Nearly an LRU cache, at the cost of two dict lookups.)"""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.new: dict[Any, Any] = {}
        self.old: dict[Any, Any] = {}

    def __len__(self) -> int:
        return len(self.new) + len(self.old)

    def get(self, key: Any) -> Any:
        found = self.new.get(key)
        if found is None:
            found = self.old.get(key)
            if found is not None:
                self.put(key, found)
        return found

    def put(self, key: Any, value: Any) -> None:
        if len(self.new) >= self.limit:
            self.old = self.new
            self.new = {}
        self.new[key] = value


class _Stream:
    """One append-only file of a :class:`_Spool`: pieces kept in memory until
    :meth:`flush` writes them with unbuffered ``write`` calls."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        self.size = 0
        self.pending: list[bytes] = []

    def put(self, text: str) -> tuple[int, int]:
        data = text.encode("utf-8", "surrogatepass")
        at = self.size
        self.pending.append(data)
        self.size += len(data)
        return at, len(data)

    def flush(self) -> None:
        if self.pending:
            view = memoryview(b"".join(self.pending))
            self.pending.clear()
            while view:
                view = view[os.write(self.fd, view) :]


class _Spool:
    """The texts of graded submissions, appended to files of this process in the
    batch's folder and read back by position when the results are written: the
    gradebook rows to ``rows-PID.bin`` (in the order files are read, so that
    rows read in that order again are copied in large pieces), the feedback,
    notes and item data to ``texts-PID.bin``. (Megabytes of text then never pass
    through SQLite, nor, with worker processes, through a pipe and pickle.)

    :meth:`put` keeps the texts of a chunk in memory; :meth:`flush` writes them
    (a worker process ends without flushing buffers) before the chunk's results
    are handed on."""

    def __init__(self, folder: str) -> None:
        self.pid = os.getpid()
        self.name = str(self.pid)
        self._rows = _Stream(os.path.join(folder, f"rows-{self.name}.bin"))
        self._texts = _Stream(os.path.join(folder, f"texts-{self.name}.bin"))

    def put(self, row: str | None, others: Sequence[str | None]) -> tuple[int, int | None, int, str]:
        """Where the texts will be: the row's offset and length (``None``: no row), the
        others' offset and their lengths in bytes ("a,b,..", "-" for None)."""
        row_at, row_len = self._rows.put(row) if row is not None else (self._rows.size, None)
        texts_at = self._texts.size
        lengths = []
        for text in others:
            if text is None:
                lengths.append("-")
            else:
                lengths.append(str(self._texts.put(text)[1]))
        return row_at, row_len, texts_at, ",".join(lengths)

    def flush(self) -> None:
        self._rows.flush()
        self._texts.flush()

    def close(self) -> None:
        self.flush()
        os.close(self._rows.fd)
        os.close(self._texts.fd)


class _SpoolReader:
    """Reads what :class:`_Spool` files hold, by spool name, offsets and lengths."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._fds: dict[str, int] = {}

    def _fd(self, kind: str, name: str) -> int:
        key = f"{kind}-{name}.bin"
        fd = self._fds.get(key)
        if fd is None:
            fd = self._fds[key] = os.open(os.path.join(self.folder, key), os.O_RDONLY)
        return fd

    def read(self, kind: str, name: str, at: int, length: int) -> bytes:
        """``length`` bytes at ``at`` of a spool file ("rows" or "texts")."""
        fd = self._fd(kind, name)
        pieces = []
        while length > 0:
            piece = os.pread(fd, min(length, 1 << 20), at)
            if not piece:  # pragma: no cover - the spool files are ours, written before they are read
                raise OSError(f"the batch's spool file {kind}-{name}.bin is shorter than expected")
            pieces.append(piece)
            at += len(piece)
            length -= len(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def row(self, name: str, at: int, length: int | None) -> str | None:
        return None if length is None else self.read("rows", name, at, length).decode("utf-8", "surrogatepass")

    def others(self, name: str, at: int, lengths: str) -> list[str | None]:
        sizes = [None if n == "-" else int(n) for n in lengths.split(",")]
        total = sum(n or 0 for n in sizes)
        data = self.read("texts", name, at, total) if total else b""
        out: list[str | None] = []
        for n in sizes:
            if n is None:
                out.append(None)
            else:
                out.append(data[:n].decode("utf-8", "surrogatepass"))
                data = data[n:]
        return out

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()


class _Grader:
    """What grading needs where it runs: the cases, their keys (built once,
    in the parent) and a cache of graded (question, picks) pairs."""

    def __init__(
        self,
        index: CaseIndex,
        keys: dict[str, tuple[CaseKey, str, float]],
        hooks: Hooks,
        analyse: bool,
        build: Callable[[str], tuple[CaseKey, str, float]] | None = None,
    ) -> None:
        self.index = index
        self.keys = keys
        self.build = build
        self.hooks = hooks
        self.analyse = analyse
        self._cache = BoundedMemo(_GRADE_CACHE_LIMIT)  # (case, question, picks, hints) -> GradedAnswer
        self._totals = BoundedMemo(_TOTALS_CACHE_LIMIT)  # (stamp, points of each question) -> CaseScore
        # (case, answers, hints) -> (GradedCase, CaseScore): a class hands in the same whole answer
        # set again and again (every right one, say).
        self._whole = BoundedMemo(_TOTALS_CACHE_LIMIT)
        self.spool_folder: str | None = None  # where each process's _Spool goes (set by the batch)
        # What a forked worker does first, while the parent still finds the files (set by the batch).
        self.prepare: Callable[[], None] | None = None
        self._spool: _Spool | None = None

    def __getstate__(self) -> dict[str, Any]:
        # What a spawned worker receives: the keys, not the batch that builds them.
        state = dict(self.__dict__)
        state["build"] = None
        state["prepare"] = None
        state["_spool"] = None
        return state

    def flush(self) -> None:
        """Write out what this process's spool holds (see :meth:`_Spool.flush`)."""
        if self._spool is not None and self._spool.pid == os.getpid():
            self._spool.flush()

    def close(self) -> None:
        """Close this process's spool (a forked worker's is its own to close)."""
        if self._spool is not None and self._spool.pid == os.getpid():
            self._spool.close()
            self._spool = None

    @property
    def spool(self) -> _Spool:
        """This process's spool (a forked worker opens its own)."""
        spool = self._spool
        if spool is None or spool.pid != os.getpid():
            assert self.spool_folder is not None
            spool = self._spool = _Spool(self.spool_folder)
        return spool

    def _grade(
        self, question: QuestionKey, case_id: str, picks: tuple[str, ...] | None, penalty: float, hints: int = 0
    ) -> GradedAnswer:
        memo = (case_id, question.qid, picks, hints)
        found: GradedAnswer | None = self._cache.get(memo)
        if found is None:
            found = grade(question, picks, hints=hints, hint_penalty=penalty)
            self._cache.put(memo, found)
        return found

    def grade_all(
        self, key: CaseKey, answers: dict[str, tuple[str, ...]], hints: dict[str, int] | None = None
    ) -> GradedCase:
        """:func:`imt_tutor.feedback.grade_case` (every question, unanswered
        ones 0, hints charged as the case says), each distinct (question,
        picks, hints) graded once."""
        penalty = key.hint_penalty
        used = hints or {}
        return GradedCase(
            key.case_id,
            tuple(self._grade(q, key.case_id, answers.get(q.qid), penalty, used.get(q.qid, 0)) for q in key.questions),
            key.weights,
        )

    def total(self, case_stamp: str, graded: GradedCase) -> CaseScore:
        """``graded.total``, once per (key, points of each question)."""
        memo = (case_stamp, tuple(a.score.points for a in graded.answers))
        found: CaseScore | None = self._totals.get(memo)
        if found is None:
            found = graded.total
            self._totals.put(memo, found)
        return found

    def graded(self, sub: Submission) -> GradedSubmission:
        entry = self.keys.get(sub.case)
        if entry is None:
            assert self.build is not None, "keys are built before worker processes start"
            entry = self.build(sub.case)
        key, case_stamp, _ = entry
        memo = (sub.case, sub.answers, sub.hints)
        found: tuple[GradedCase, CaseScore] | None = self._whole.get(memo)
        if found is None:
            graded = self.grade_all(key, dict(sub.answers), dict(sub.hints))
            found = (graded, self.total(case_stamp, graded))
            self._whole.put(memo, found)
        graded, total = found
        source = printable(str(sub.location))
        return GradedSubmission(
            sub.student,
            sub.case,
            sub.submitted_at,
            source,
            key,
            graded,
            total.points,
            total.max_points,
            total.percent,
            case_stamp,
        )

    def row(self, sub: Submission) -> _Row:
        item = self.graded(sub)
        hooks = self.hooks
        items = json.dumps(_item_data(item.graded), separators=(",", ":")) if self.analyse else None
        spool = self.spool
        row_at, row_len, texts_at, lengths = spool.put(
            hooks.row(item) if hooks.row else None,
            (
                hooks.feedback(item) if hooks.feedback else None,
                hooks.note(item) if hooks.note else None,
                items,
            ),
        )
        return (
            item.student,
            item.case,
            sub.when,
            item.submitted_at,
            item.source,
            item.points,
            item.max_points,
            item.percent,
            item.stamp,
            spool.name,
            row_at,
            row_len,
            texts_at,
            lengths,
        )


def _item_data(graded: GradedCase) -> list[list[Any]]:
    """Per question: credit in cents, answered (1/0), wrong picks (and less
    specific ones), missed options."""
    return [
        [
            _cents(a.score.points),
            0 if a.picks is None else 1,
            [*a.score.wrong, *a.score.partial] if a.picks is not None else [],
            list(a.score.missed) if a.picks is not None else [],
        ]
        for a in graded.answers
    ]


# One stored row: student, case, sortable time, submitted_at, source, points, max, percent, stamp,
# and where its texts are (see _Spool): spool, row offset and length, the others' offset and lengths.
_Row = tuple[str, str, str | None, str | None, str, float, float, float, str, str, int, int | None, int, str]


# --------------------------------------------------------------------- reading one file


def _transcript_submission(data: YamlMap, path: str, index: CaseIndex) -> Submission:
    """A transcript of ``run`` as a submission: its student, case and picks,
    checked against the case as it is now (its own points are not used)."""
    from .transcript import transcript_from_data  # here: a batch holds few transcripts, if any

    transcript = transcript_from_data(data, path)
    problems: list[DataError] = []
    student = transcript.student
    why = student_problem(student) if student is not None else "the transcript names no student"
    if why is not None:
        problems.append(DataError(why, data.value_location("student")))
    case = transcript.case.strip().lower()
    if case not in index:
        problems.append(
            DataError(f"unknown case '{printable(case)}'{did_you_mean(case, index.ids())}", data.value_location("case"))
        )
    answers: list[tuple[str, tuple[str, ...]]] = []
    hints: list[tuple[str, int]] = []
    raw = data.get("answers")
    if case in index and isinstance(raw, YamlList):
        questions = index.questions(case)
        for i, record in enumerate(transcript.answers):
            where = raw.item_location(i)
            options = questions.get(record.question)
            if options is None:
                hint = did_you_mean(record.question, questions)
                problems.append(DataError(f"unknown question '{record.question}' in case '{case}'{hint}", where))
                continue
            bad = [p for p in record.picks if p not in options]
            if bad:
                problems.append(DataError(f"'{bad[0]}' is not an option of question '{record.question}'", where))
                continue
            answers.append((record.question, record.picks))
            used = (record.help or {}).get("hints", 0) if hasattr(record, "help") else 0
            if isinstance(used, int) and not isinstance(used, bool) and used > 0:
                hints.append((record.question, used))
    if problems:
        raise DataErrors(problems)
    assert student is not None
    when = sortable_time(transcript.updated_at)
    return Submission(
        student.strip(), case, tuple(answers), Location(path, 1, 1), transcript.updated_at, when, tuple(hints)
    )


def read_submissions(path: str, index: CaseIndex) -> tuple[list[Submission], list[Reported]]:
    """Every submission of one file, checked against ``index``, and every problem."""
    subs: list[Submission] = []
    problems: list[Reported] = []
    suffix = os.path.splitext(path)[1].lower()
    try:
        if suffix not in SUFFIXES:
            raise DataError(f"not an answers file: expected a name ending in {', '.join(SUFFIXES)}", Location(path))
        if suffix == ".jsonl":
            for item in iter_json_lines(path):
                if isinstance(item, DataError):
                    problems += _reported(item, path)
                    continue
                try:
                    subs.append(check_submission(item, item.location, cases=index))
                except DataError as error:
                    problems += _reported(error, path)
        elif suffix == ".json":  # the usual file at once, anything else loaded and checked
            raw = read_capped(path, MAX_BYTES)
            quick = quick_json_submission(raw, Location(path, 1, 1), index)
            if quick is not None:
                subs.append(quick)
                return subs, problems
            data = load_json_text(raw, path)
            if is_transcript(data):
                subs.append(_transcript_submission(data, path, index))
            else:
                subs.append(check_submission(data, Location(path, 1, 1), cases=index))
        else:  # YAML: the usual answers file at once, anything else loaded and checked
            raw = read_capped(path, MAX_BYTES)
            top = Location(path, 1, 1)
            if raw.isascii():  # the text itself goes on to the loader: its lines are found once
                text = raw.decode("ascii")
                quick = quick_submission(text, top, index)
                subs.append(quick or check_submission(load_yaml_text(text, path), top, cases=index))
            else:
                subs.append(check_submission(load_yaml_text(raw, path), top, cases=index))
    except DataError as error:
        problems += _reported(error, path)
    problems.sort(key=lambda p: (p.line, p.column))  # in the order of the file
    return subs, problems


_FileResult = tuple[int, list[_Row], list[Reported]]
# What a worker process knows (inherited on fork, sent once on spawn).
_WORKER: _Grader | None = None


def _init_worker(grader: _Grader) -> None:
    global _WORKER
    # Ctrl-C reaches the whole process group: the batch stops its workers itself (a worker waiting
    # for work would otherwise print its own traceback of the KeyboardInterrupt).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER = grader
    if grader.prepare is not None:
        try:
            grader.prepare()
        except Exception:  # the first key raises it again, where it is reported
            pass


def _ready() -> None:
    """Nothing: submitted once, it has the pool start its workers."""


def _process(grader: _Grader, number: int, path: str) -> _FileResult:
    subs, problems = read_submissions(path, grader.index)
    return number, [grader.row(sub) for sub in subs], problems


def _process_chunk(paths: list[tuple[int, str]]) -> list[_FileResult]:
    assert _WORKER is not None
    results = [_process(_WORKER, number, path) for number, path in paths]
    _WORKER.flush()  # the texts are on disk before their rows are handed on
    return results


# --------------------------------------------------------------------- the batch


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def _sort_key(number: int, parts: Sequence[bytes]) -> bytes:
    # Paths in argument order, then by their parts: a folder is walked depth-first, sorted.
    return number.to_bytes(4, "big") + b"\0".join(parts)


_RESULT_COLUMNS = (
    "student, case_id, submitted_at, source, points, max_points, percent, stamp, spool, row_at, row_len, texts_at, "
    "lengths"
)


class Batch:
    """One batch of answer files (see the module docstring). Use it as a
    context manager: its store is removed when it ends.

    ``engine_factory`` makes the engine that builds the keys: once per case,
    when a submission first names it (or for every case before worker
    processes start; the engine is closed before they do).
    """

    def __init__(
        self,
        base: RuleBase,
        cases: Sequence[Case],
        *,
        rules_path: Path,
        engine_factory: Callable[[], Any],
        engine_label: Callable[[str], str] = lambda name: name,
        jobs: int = 1,
        hooks: Hooks | None = None,
        analyse: bool = False,
        exclude: Iterable[str | os.PathLike[str]] = (),
    ) -> None:
        self.base = base
        self.index = CaseIndex(cases)
        self.rules_path = Path(rules_path)
        self.engine_factory = engine_factory
        self.engine_label = engine_label
        self.jobs = max(1, int(jobs))
        self.hooks = hooks or Hooks()
        self.analyse = analyse
        self._exclude: set[tuple[int, int]] = set()
        for item in exclude:
            try:
                st = os.stat(item)
            except OSError:
                continue
            self._exclude.add((st.st_dev, st.st_ino))
        self._folder = tempfile.mkdtemp(prefix="imt-tutor-grade-")
        self.db = sqlite3.connect(os.path.join(self._folder, "batch.sqlite"), isolation_level=None)
        # A page cache of 512 KiB: it fills at 100,000 files and not at 1,000, so it is part of how
        # peak memory grows with the batch (1,024 KiB: 1.10x from 1,000 to 100,000 files; 512: 1.06x).
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE", "cache_size=-512"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript(
            """
            CREATE TABLE found (sortkey BLOB, path BLOB, dev INTEGER, ino INTEGER);
            CREATE TABLE subs (id INTEGER PRIMARY KEY, file INTEGER, student TEXT, case_id TEXT, sortwhen TEXT,
                               submitted_at TEXT, source TEXT, points REAL, max_points REAL, percent REAL,
                               stamp TEXT, spool TEXT, row_at INTEGER, row_len INTEGER, texts_at INTEGER,
                               lengths TEXT,
                               excluded INTEGER DEFAULT 0);
            """
        )
        self.keys: dict[str, tuple[CaseKey, str, float]] = {}
        self.grader = _Grader(self.index, self.keys, self.hooks, analyse, self.key)
        self.grader.spool_folder = self._folder
        self.grader.prepare = self._open_engine
        self._texts = _SpoolReader(self._folder)
        self._engine: Any = None
        self._label = ""
        self._rules: list[tuple[str, bytes]] | None = None
        self.files = 0
        self.submissions = 0
        self.skipped = 0
        self.problems = 0
        self.walk_problems: list[Reported] = []

    # ----------------------------------------------------------------- lifetime

    def close(self) -> None:
        self._close_engine()
        try:
            self._texts.close()
            self.grader.close()
            self.db.close()
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- keys

    def key(self, case_id: str) -> tuple[CaseKey, str, float]:
        """The key of a case, its stamp and its maximum points, built on first
        use: one inference per stage of the case, here and never again."""
        found = self.keys.get(case_id)
        if found is None:
            self._open_engine()
            case = self.index.cases[case_id]
            key = build_key(self.base, self._engine, case)
            case_stamp = stamp(self._rules, read_capped(case.path, 16 * 1024 * 1024), __version__, self._label)
            maximum = self.grader.grade_all(key, {}).total.max_points
            found = self.keys[case_id] = (key, case_stamp, maximum)
        return found

    def _open_engine(self) -> None:
        """The engine that builds the keys, and the rule files their stamps hash (once)."""
        if self._engine is None:
            self._engine = self.engine_factory()
            self._label = self.engine_label(getattr(self._engine, "name", "?"))
        if self._rules is None:
            self._rules = _rule_files(self.rules_path)

    def build_keys(self) -> None:
        """Every case's key (before worker processes start, which inherit them)."""
        for case_id in self.index.ids():
            self.key(case_id)
        self._close_engine()

    def _close_engine(self) -> None:
        if self._engine is not None:
            closer = getattr(self._engine, "close", None)
            if closer is not None:
                closer()
            self._engine = None

    def grade(self, sub: Submission) -> GradedSubmission:
        """Grade one checked submission (as the batch does)."""
        self.key(sub.case)
        return self.grader.graded(sub)

    # ----------------------------------------------------------------- pass 1: finding the files

    def _walk(
        self, number: int, top: str, top_stat: os.stat_result, add: Callable[[bytes, str, int, int], None]
    ) -> None:
        stack: list[tuple[str, list[bytes], tuple[tuple[int, int], ...]]] = [
            (top, [], ((top_stat.st_dev, top_stat.st_ino),))
        ]
        while stack:
            folder, parts, ancestors = stack.pop()
            dev = ancestors[-1][0]
            try:
                entries = os.scandir(folder)
            except OSError as error:
                self.walk_problems.append(Reported(folder, 1, 1, f"cannot read folder: {error.strerror or error}"))
                continue
            # The sort key of a file here: this folder's, then its name (see _sort_key).
            prefix = _sort_key(number, parts) + (b"\0" if parts else b"")
            with entries:
                for entry in entries:
                    name = entry.name
                    if name.startswith("."):
                        continue
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    if is_dir:
                        here = [*parts, os.fsencode(name)]
                        try:
                            st = entry.stat()
                        except OSError as error:
                            message = f"cannot read folder: {error.strerror or error}"
                            self.walk_problems.append(Reported(entry.path, 1, 1, message))
                            continue
                        ident = (st.st_dev, st.st_ino)
                        if ident in self._exclude:
                            continue
                        if ident in ancestors:
                            message = "symbolic link loop: this folder contains itself; not walked again"
                            self.walk_problems.append(Reported(entry.path, 1, 1, message))
                            continue
                        stack.append((entry.path, here, (*ancestors, ident)))
                        continue
                    dot = name.rfind(".")
                    if dot < 0 or name[dot:].lower() not in SUFFIXES:  # os.path.splitext's suffix
                        continue
                    try:
                        inode = entry.inode()
                    except OSError:  # pragma: no cover - inode() reads the directory entry
                        inode = -1
                    if (dev, inode) not in self._exclude:
                        add(prefix + os.fsencode(name), entry.path, dev, inode)

    def _discover(self, paths: Sequence[str | os.PathLike[str]]) -> None:
        insert = "INSERT INTO found VALUES (?, ?, ?, ?)"
        pending: list[tuple[bytes, bytes, int, int]] = []

        def add(sortkey: bytes, path: str, dev: int, ino: int) -> None:
            pending.append((sortkey, os.fsencode(path), dev, ino))
            if len(pending) >= 1000:
                self.db.executemany(insert, pending)
                pending.clear()

        self.db.execute("BEGIN")
        for number, raw in enumerate(paths):
            path = os.fsdecode(os.fspath(raw))
            try:
                st = os.stat(path)
            except OSError:
                add(_sort_key(number, []), path, -1, -1 - number)  # reading it reports why
                continue
            if stat.S_ISDIR(st.st_mode):
                self._walk(number, path, st, add)
            elif (st.st_dev, st.st_ino) not in self._exclude:
                add(_sort_key(number, []), path, st.st_dev, st.st_ino)
        if pending:
            self.db.executemany(insert, pending)
        # One file reached twice (given twice, inside a folder also given, or linked) is read once,
        # at the first of its places in sorted order (the walk's own order is the file system's).
        # SQLite takes a bare column of a MIN() query from the row with the minimum.
        self.db.execute(
            "CREATE TABLE files AS SELECT path FROM "
            "(SELECT path, MIN(sortkey) AS first FROM found GROUP BY dev, ino) ORDER BY first"
        )
        self.db.execute("DROP TABLE found")
        self.db.execute("COMMIT")
        self.files = self.db.execute("SELECT COUNT(*) FROM files").fetchone()[0]

    def _chunks(self) -> Iterator[list[tuple[int, str]]]:
        last = 0
        while True:
            rows = self.db.execute(
                "SELECT rowid, path FROM files WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, CHUNK)
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [(number, os.fsdecode(path)) for number, path in rows]

    # ----------------------------------------------------------------- pass 1: reading and grading them

    def collect(
        self,
        paths: Sequence[str | os.PathLike[str]],
        on_problem: Callable[[Reported], None] = lambda problem: None,
        on_progress: Callable[[int], None] = lambda done: None,
        on_start: Callable[[int], None] = lambda total: None,
    ) -> None:
        """Find, read, check and grade every file (``on_progress`` after each
        chunk, with how many files it held), store every submission, report
        every problem (in file order), then settle duplicates."""
        with ExitStack() as stack:
            self._collect(paths, on_problem, on_progress, on_start, stack)
        self._settle_duplicates(on_problem)

    def _collect(
        self,
        paths: Sequence[str | os.PathLike[str]],
        on_problem: Callable[[Reported], None],
        on_progress: Callable[[int], None],
        on_start: Callable[[int], None],
        stack: ExitStack,
    ) -> None:
        pool = None
        if self.jobs > 1 and _can_fork():
            # Forked workers start now and open their engine while the files are found; each builds
            # the keys it needs itself (in parallel, from an engine of its own: no engine, and so none
            # of its threads, is alive in the parent when they fork), and the parent only those it
            # needs after them (item analysis, points possible).
            pool = self._pool()
            stack.callback(pool.shutdown, wait=True, cancel_futures=True)  # interrupted: the queued chunks dropped
        self._discover(paths)
        parallel = self.jobs > 1 and self.files >= PARALLEL_MIN_FILES
        if not parallel and pool is not None:
            pool.shutdown()  # too few files to be worth the workers: this process grades them
        if parallel and pool is None:
            self.build_keys()  # spawned workers get the keys, never the batch that builds them
            pool = self._pool()
            stack.callback(pool.shutdown, wait=True, cancel_futures=True)
        on_start(self.files)
        for problem in self.walk_problems:
            self.problems += 1
            on_problem(problem)
        insert = f"INSERT INTO subs (file, sortwhen, {_RESULT_COLUMNS}) VALUES ({', '.join('?' * 15)})"

        def take(results: list[_FileResult]) -> None:
            stored = [(number, r[2], r[0], r[1], *r[3:]) for number, rows, _ in results for r in rows]
            if stored:
                self.db.executemany(insert, stored)  # a chunk's rows at once
                self.submissions += len(stored)
            for _, rows, problems in results:
                if problems:
                    # A bad file is skipped whole; a bad line of a JSON Lines file costs that line only.
                    lines = problems[0].path.lower().endswith(".jsonl") and (bool(rows) or len(problems) > 1)
                    self.skipped += len({p.line for p in problems}) if lines else 1
                for problem in problems:
                    self.problems += 1
                    on_problem(problem)
            on_progress(len(results))

        self.db.execute("BEGIN")
        if parallel:
            assert pool is not None
            self._collect_parallel(pool, take)
        else:
            for chunk in self._chunks():
                take([_process(self.grader, number, path) for number, path in chunk])
                self.grader.flush()
        self.db.execute("CREATE INDEX subs_by_student ON subs (student, case_id, file, id)")
        self.db.execute("COMMIT")

    def _pool(self) -> ProcessPoolExecutor:
        """``jobs`` worker processes, started (shut them down when done)."""
        import multiprocessing  # here: a batch of one process never needs it (nor its import time)
        from concurrent.futures import ProcessPoolExecutor

        assert self._engine is None, "no engine (nor its threads) may be alive when workers fork"
        context = multiprocessing.get_context("fork" if _can_fork() else "spawn")
        gc.freeze()  # forked workers share the loaded rules and keys, never copying them for the collector
        pool = ProcessPoolExecutor(self.jobs, mp_context=context, initializer=_init_worker, initargs=(self.grader,))
        pool.submit(_ready)  # the workers start now, not at the first chunk
        return pool

    def _collect_parallel(self, pool: ProcessPoolExecutor, take: Callable[[list[_FileResult]], None]) -> None:
        pending: deque[Future[list[_FileResult]]] = deque()
        for chunk in self._chunks():
            pending.append(pool.submit(_process_chunk, chunk))
            while len(pending) >= 3 * self.jobs:
                take(pending.popleft().result())
        while pending:
            take(pending.popleft().result())

    def _settle_duplicates(self, on_problem: Callable[[Reported], None]) -> None:
        groups = self.db.execute(
            "SELECT student, case_id FROM subs GROUP BY student, case_id HAVING COUNT(*) > 1 ORDER BY student, case_id"
        ).fetchall()
        excluded: list[int] = []
        for student, case_id in groups:
            rows = self.db.execute(
                "SELECT id, sortwhen, submitted_at, source FROM subs WHERE student = ? AND case_id = ? "
                "ORDER BY file, id",
                (student, case_id),
            ).fetchall()
            times = [r[1] for r in rows]
            who = f"student '{printable(student)}' handed in {len(rows)} submissions for case '{case_id}'"
            latest = max(times) if all(t is not None for t in times) else None
            if latest is not None and times.count(latest) == 1:
                winner = rows[times.index(latest)]
                for row in rows:
                    if row is winner:
                        continue
                    excluded.append(row[0])
                    self._report_at(
                        row[3],
                        f"{who}: the later one ({winner[3]}, submitted at {winner[2]}) is graded, not this one "
                        f"(submitted at {row[2]})",
                        on_problem,
                    )
                continue
            why = "without submitted_at to tell which is later" if latest is None else "submitted at the same time"
            for row in rows:
                excluded.append(row[0])
                others = ", ".join(r[3] for r in rows if r is not row)
                self._report_at(row[3], f"{who} ({why}; also {others}): none is graded", on_problem)
        if excluded:
            self.db.execute("BEGIN")
            self.db.executemany("UPDATE subs SET excluded = 1 WHERE id = ?", [(i,) for i in excluded])
            self.db.execute("COMMIT")
        self.skipped += len(excluded)

    def _report_at(self, source: str, message: str, on_problem: Callable[[Reported], None]) -> None:
        self.report(Reported.from_source(source, message), on_problem)

    def report(self, problem: Reported, on_problem: Callable[[Reported], None]) -> None:
        """Count and pass on a problem found after pass 1 (by the caller)."""
        self.problems += 1
        on_problem(problem)

    # ----------------------------------------------------------------- pass 2: the results

    def assignment_cases(self) -> list[str]:
        """The cases with at least one submission to grade, sorted."""
        rows = self.db.execute("SELECT DISTINCT case_id FROM subs WHERE excluded = 0 ORDER BY case_id").fetchall()
        return [r[0] for r in rows]

    def points_possible(self) -> float:
        """The sum of the maximum points of :meth:`assignment_cases`."""
        return float(sum((Decimal(str(self.key(c)[2])) for c in self.assignment_cases()), Decimal(0)))

    @property
    def graded_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM subs WHERE excluded = 0").fetchone()[0])

    def _stored(self) -> Iterator[tuple[Any, ...]]:
        cursor = self.db.execute(
            f"SELECT {_RESULT_COLUMNS} FROM subs WHERE excluded = 0 ORDER BY student, case_id, file, id"
        )
        while True:
            rows = cursor.fetchmany(256)
            if not rows:
                return
            yield from rows

    def results(self) -> Iterator[Result]:
        """Every graded submission to keep, by student then case (then file order)."""
        texts = self._texts
        for row in self._stored():
            name, row_at, row_len, texts_at, lengths = row[8:]
            yield Result(*row[:8], texts.row(name, row_at, row_len), *texts.others(name, texts_at, lengths))

    def _stored_rows(self) -> Iterator[tuple[Any, ...]]:
        """(spool, row_at, row_len) of what :meth:`_stored` yields, in its order."""
        cursor = self.db.execute(
            "SELECT spool, row_at, row_len FROM subs WHERE excluded = 0 ORDER BY student, case_id, file, id"
        )
        while True:
            rows = cursor.fetchmany(1024)
            if not rows:
                return
            yield from rows

    def write_rows(self, out: IO[str], on_result: Callable[[Result], None] | None = None) -> None:
        """Write the gradebook row of every result (in the order of :meth:`results`) to ``out``,
        a UTF-8 text file, as the bytes stored (to its binary buffer: never decoded and encoded
        again), and pass each result (its ``row`` left out) to ``on_result``, if given. Rows stored
        one after another (files read in the order their students sort in) are copied in pieces
        of up to 1 MiB, not one by one."""
        texts = self._texts
        out.flush()
        raw: IO[bytes] = out.buffer  # type: ignore[attr-defined]

        def copy(name: str, start: int, end: int) -> None:
            data = texts.read("rows", name, start, end - start)
            if b"\xed" in data and _has_surrogate(data):
                out.write(data.decode("utf-8", "surrogatepass"))  # UTF-8 cannot: the text layer says so
            else:
                raw.write(data)

        pending: tuple[str, int, int] | None = None  # a run of rows: spool, start, end
        if on_result is None:
            places: Iterator[tuple[Any, ...]] = self._stored_rows()
        else:
            places = self._placed(on_result)
        for name, row_at, row_len in places:
            if row_len is None:
                continue
            if (
                pending is not None
                and pending[0] == name
                and pending[2] == row_at
                and pending[2] - pending[1] < 1 << 20
            ):
                pending = (name, pending[1], row_at + row_len)
                continue
            if pending is not None:
                copy(*pending)
            pending = (name, row_at, row_at + row_len)
        if pending is not None:
            copy(*pending)

    def _placed(self, on_result: Callable[[Result], None]) -> Iterator[tuple[Any, ...]]:
        """(spool, row_at, row_len) of each stored result, passing the result on first."""
        texts = self._texts
        for row in self._stored():
            name, row_at, row_len, texts_at, lengths = row[8:]
            on_result(Result(*row[:8], None, *texts.others(name, texts_at, lengths)))
            yield name, row_at, row_len


def _has_surrogate(data: bytes) -> bool:
    """Whether ``data`` (UTF-8 with ``surrogatepass``) holds a lone surrogate (0xED 0xA0-0xBF ...)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _split_source(source: str) -> tuple[str, int, int]:
    """``path:line:col`` back into its parts."""
    head, _, column = source.rpartition(":")
    path, _, line = head.rpartition(":")
    try:
        return path, int(line), int(column)
    except ValueError:
        return source, 1, 1


# --------------------------------------------------------------------- per student


@dataclass(frozen=True)
class StudentTotal:
    """A student's total over the cases they handed in."""

    student: str
    results: tuple[Result, ...]
    points: float

    @property
    def cases(self) -> tuple[str, ...]:
        return tuple(r.case for r in self.results)


def per_student(results: Iterable[Result]) -> Iterator[StudentTotal]:
    """Group results (by student, as :meth:`Batch.results` orders them) into
    one total per student."""
    current: list[Result] = []
    for item in results:
        if current and item.student != current[0].student:
            yield _total(current)
            current = []
        current.append(item)
    if current:
        yield _total(current)


def _total(items: list[Result]) -> StudentTotal:
    points = sum((Decimal(str(r.points)) for r in items), Decimal(0))
    return StudentTotal(items[0].student, tuple(items), float(points))


# --------------------------------------------------------------------- feedback file names


def feedback_filename(student: str, case: str) -> str:
    """``<student>--<case>.md``, safe on every file system: characters other
    than letters, digits, ``.``, ``_`` and ``-`` become ``_``; a name that had
    to be changed (or is long) gets 8 hex digits of a hash of the student's
    value, so that two students never share a file."""
    safe = "".join(ch if (ch.isascii() and (ch.isalnum() or ch in "._-")) else "_" for ch in student)
    safe = safe.strip(".") or "student"
    if safe != student or len(safe) > 80:
        digest = hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        safe = f"{safe[:80]}-{digest}"
    return f"{safe}--{case}.md"


# --------------------------------------------------------------------- rosters


@dataclass(frozen=True)
class RosterRow:
    line: int
    values: dict[str, str] = field(compare=False)


class Roster:
    """A class list exported from the LMS: its student columns (kept in the
    output, in order) and its rows, matched on ``match_columns`` (in order;
    values compared without case and surrounding spaces)."""

    def __init__(
        self,
        path: str,
        kind: str,
        columns: tuple[str, ...],
        match_columns: tuple[str, ...],
        rows: tuple[RosterRow, ...],
        problems: tuple[Reported, ...] = (),
    ) -> None:
        self.path = path
        self.kind = kind
        self.columns = columns
        self.match_columns = match_columns
        self.rows = rows
        self.problems = problems
        self._index: dict[str, dict[str, RosterRow | None]] = {c: {} for c in match_columns}
        for row in rows:
            for column in match_columns:
                value = row.values.get(column, "").strip().casefold()
                if value:
                    table = self._index[column]
                    table[value] = None if value in table else row  # None: two rows share it

    def match(self, student: str) -> tuple[RosterRow | None, str | None]:
        """The roster row of ``student`` and the column that matched;
        ``(None, column)`` when several rows share that value; ``(None, None)``."""
        value = student.strip().casefold()
        for column in self.match_columns:
            table = self._index[column]
            if value in table:
                return table[value], column
        return None, None


def _csv_rows(path: str) -> list[tuple[int, list[str]]]:
    data = read_capped(path, ROSTER_MAX_BYTES)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(
            f"the roster is not valid UTF-8 (byte 0x{data[error.start]:02x})", Location(path, 1, 1)
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            rows.append((reader.line_num, cells))
    except csv.Error as error:
        raise DataError(
            f"the roster is not a valid CSV file: {error}", Location(path, reader.line_num or 1, 1)
        ) from None
    return rows


def load_roster(path: str | os.PathLike[str], kind: str) -> Roster:
    """Read a roster: for ``canvas`` the gradebook export (``Student, ID, ...,
    Section`` then assignment columns; its ``Points Possible`` row and rows
    without a student are skipped), for ``moodle`` a grades export or
    participants list with ``ID number``, ``Username`` or ``Email address``."""
    shown = os.fsdecode(path)
    rows = _csv_rows(shown)
    if not rows:
        raise DataError("the roster is empty", Location(shown, 1, 1))
    header_line, header = rows[0]
    header = [h.strip() for h in header]
    if kind == "canvas":
        if header[:2] != ["Student", "ID"]:
            raise DataError(
                "not a Canvas gradebook export: its first columns must be 'Student', 'ID'",
                Location(shown, header_line, 1),
            )
        if "Section" not in header:
            raise DataError(
                "not a Canvas gradebook export: its student columns must end with 'Section'",
                Location(shown, header_line, 1),
            )
        columns = tuple(h for h in header[: header.index("Section") + 1] if h in CANVAS_STUDENT_COLUMNS)
        match = tuple(c for c in CANVAS_MATCH_COLUMNS if c in columns)
        if not match:
            raise DataError(
                "the Canvas roster has neither 'SIS Login ID' nor 'SIS User ID' to match students on",
                Location(shown, header_line, 1),
            )
    else:
        found = {}
        for h in header:
            canonical = MOODLE_MATCH_COLUMNS.get(h.casefold())
            if canonical is not None and canonical not in found:
                found[canonical] = h
        order = ("ID number", "Username", "Email address")
        match = tuple(found[c] for c in order if c in found)
        if not match:
            raise DataError(
                "the Moodle roster needs an 'ID number', 'Username' or 'Email address' column",
                Location(shown, header_line, 1),
            )
        columns = match
    out: list[RosterRow] = []
    problems: list[Reported] = []
    for line, cells in rows[1:]:
        if not any(c.strip() for c in cells):
            continue
        values = {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header) if h}
        first = cells[0].strip() if cells else ""
        if kind == "canvas" and (first == "Points Possible" or not first):
            continue  # the points row, and rows such as 'Manual Posting' that name no student
        if len(cells) != len(header):
            problems.append(Reported(shown, line, 1, f"roster row has {len(cells)} fields, its header {len(header)}"))
        out.append(RosterRow(line, values))
    return Roster(shown, kind, columns, match, tuple(out), tuple(problems))


# --------------------------------------------------------------------- item analysis


@dataclass(frozen=True)
class PickCount:
    """An option picked wrongly (or missed) by ``count`` students: with the
    rule behind it and the kind of gap (for a wrong pick)."""

    option: str
    label: str
    count: int
    rule: str | None
    kind: str | None = None


@dataclass(frozen=True)
class QuestionStats:
    qid: str
    number: int
    prompt: str
    students: int
    answered: int
    difficulty: float
    item_total: float | None
    upper_lower: float | None
    wrong: tuple[PickCount, ...]
    missed: tuple[PickCount, ...]


@dataclass(frozen=True)
class CaseStats:
    case: str
    title: str
    stamp: str
    students: int
    max_points: float
    mean: float
    median: float
    histogram: tuple[int, ...]
    alpha: float | None
    questions: tuple[QuestionStats, ...]


@dataclass(frozen=True)
class RuleStats:
    rule: str
    source: str
    count: int
    examples: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Analysis:
    cases: tuple[CaseStats, ...]
    contradicted: tuple[RuleStats, ...]
    min_students: int = MIN_STUDENTS


class _Item:
    __slots__ = ("answered", "missed", "sum_x", "sum_x2", "sum_xt", "wrong")

    def __init__(self) -> None:
        self.sum_x = 0
        self.sum_x2 = 0
        self.sum_xt = 0
        self.answered = 0
        self.wrong: Counter[str] = Counter()
        self.missed: Counter[str] = Counter()


class _CaseAccumulator:
    def __init__(self, key: CaseKey, case_stamp: str, maximum: float) -> None:
        self.key = key
        self.stamp = case_stamp
        self.maximum = maximum
        self.n = 0
        self.sum_t = 0
        self.sum_t2 = 0
        self.histogram = [0] * 10
        self.items = {q.qid: _Item() for q in key.questions}


def _wrong_reason(question: QuestionKey, option: str) -> tuple[str | None, str | None]:
    entry = question.option(option)
    contradicted = [g for g in entry.gaps if g.kind == CONTRADICTED]
    if contradicted:
        return contradicted[0].rule, CONTRADICTED
    if entry.gaps:
        return entry.gaps[0].rule, entry.kind
    return (entry.because[0] if entry.because else None), entry.kind


def _correlation(n: int, sx: int, sx2: int, sy: int, sy2: int, sxy: int) -> float | None:
    vx = n * sx2 - sx * sx
    vy = n * sy2 - sy * sy
    if vx <= 0 or vy <= 0:
        return None
    return (n * sxy - sx * sy) / math.sqrt(vx * vy)


class ItemAnalysis:
    """Item analysis of a batch, fed one graded submission at a time
    (:meth:`add`), with the totals kept on disk for the median and the
    27 % groups (memory does not grow with the number of students)."""

    def __init__(self, folder: str | None = None) -> None:
        self._own = folder is None
        self._folder = folder or tempfile.mkdtemp(prefix="imt-tutor-items-")
        self.db = sqlite3.connect(os.path.join(self._folder, "items.sqlite"), isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-512"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute("CREATE TABLE scores (case_id TEXT, total INTEGER, student TEXT, credits TEXT)")
        self.db.execute("BEGIN")
        self.cases: dict[str, _CaseAccumulator] = {}
        self.contradicted: Counter[str] = Counter()
        self.sources: dict[str, str] = {}
        self.examples: dict[str, list[tuple[str, str]]] = {}

    def close(self) -> None:
        try:
            self.db.close()
        finally:
            if self._own:
                shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> ItemAnalysis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, result: Result, key: CaseKey) -> None:
        """Count one result (made with ``analyse=True``) of the case ``key``."""
        acc = self.cases.get(result.case)
        if acc is None:
            acc = self.cases[result.case] = _CaseAccumulator(key, result.stamp, result.max_points)
        data = json.loads(result.items or "[]")
        credits = [entry[0] for entry in data]
        total = sum(credits)
        acc.n += 1
        acc.sum_t += total
        acc.sum_t2 += total * total
        share = total / (acc.maximum * 100) if acc.maximum else 0.0
        acc.histogram[min(int(share * 10), 9)] += 1
        for question, (x, answered, wrong, missed) in zip(key.questions, data, strict=True):
            stats = acc.items[question.qid]
            stats.sum_x += x
            stats.sum_x2 += x * x
            stats.sum_xt += x * total
            if not answered:
                continue
            stats.answered += 1
            for option in wrong:
                stats.wrong[option] += 1
                entry = question.option(option)
                for gap in entry.gaps:
                    if gap.kind == CONTRADICTED:
                        self.contradicted[gap.rule] += 1
                        self.sources.setdefault(gap.rule, gap.source)
                        seen = self.examples.setdefault(gap.rule, [])
                        example = (question.qid, entry.label)
                        if example not in seen and len(seen) < 3:
                            seen.append(example)
            for option in missed:
                stats.missed[option] += 1
        self.db.execute(
            "INSERT INTO scores VALUES (?, ?, ?, ?)", (result.case, total, result.student, json.dumps(credits))
        )

    def _sorted(self, case_id: str) -> Iterator[tuple[int, list[int]]]:
        cursor = self.db.execute(
            "SELECT total, credits FROM scores WHERE case_id = ? ORDER BY total, student", (case_id,)
        )
        for total, credits in cursor:
            yield total, json.loads(credits)

    def finish(self) -> Analysis:
        self.db.execute("COMMIT")
        self.db.execute("CREATE INDEX scores_by_case ON scores (case_id, total, student)")
        cases = [self._case(self.cases[c]) for c in sorted(self.cases)]
        top = sorted(self.contradicted.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        rules = tuple(RuleStats(r, self.sources[r], n, tuple(self.examples[r])) for r, n in top)
        return Analysis(tuple(cases), rules)

    def _case(self, acc: _CaseAccumulator) -> CaseStats:
        n = acc.n
        k = len(acc.key.questions)
        group = max(1, int(0.27 * n + 0.5))
        lower = [0] * k
        upper = [0] * k
        totals_mid: list[int] = []
        middle = {(n - 1) // 2, n // 2}
        for rank, (total, credits) in enumerate(self._sorted(acc.key.case_id)):
            if rank in middle:
                totals_mid.append(total)
            if rank < group:
                lower = [a + b for a, b in zip(lower, credits, strict=True)]
            if rank >= n - group:
                upper = [a + b for a, b in zip(upper, credits, strict=True)]
        median = sum(totals_mid) / len(totals_mid) / 100 if totals_mid else 0.0
        enough = n >= MIN_STUDENTS
        questions = []
        item_variance = 0.0
        for index, q in enumerate(acc.key.questions):
            stats = acc.items[q.qid]
            sy = acc.sum_t - stats.sum_x
            sy2 = acc.sum_t2 - 2 * stats.sum_xt + stats.sum_x2
            sxy = stats.sum_xt - stats.sum_x2
            r = _correlation(n, stats.sum_x, stats.sum_x2, sy, sy2, sxy) if enough else None
            d = (upper[index] - lower[index]) / group / 100 if enough else None
            if n:
                item_variance += (stats.sum_x2 - stats.sum_x * stats.sum_x / n) / 10_000
            labels = q.labels()
            wrong = []
            for option, count in sorted(stats.wrong.items(), key=lambda kv: (-kv[1], kv[0]))[:3]:
                rule, kind = _wrong_reason(q, option)
                wrong.append(PickCount(option, labels.get(option, option), count, rule, kind))
            missed = []
            for option, count in sorted(stats.missed.items(), key=lambda kv: (-kv[1], kv[0]))[:3]:
                entry = q.option(option)
                missed.append(
                    PickCount(option, labels.get(option, option), count, entry.because[0] if entry.because else None)
                )
            questions.append(
                QuestionStats(
                    q.qid,
                    q.number,
                    q.prompt,
                    n,
                    stats.answered,
                    stats.sum_x / n / 100 if n else 0.0,
                    r,
                    d,
                    tuple(wrong),
                    tuple(missed),
                )
            )
        alpha = None
        if enough and k >= 2:
            total_variance = (acc.sum_t2 - acc.sum_t * acc.sum_t / n) / 10_000
            if total_variance > 0:
                alpha = k / (k - 1) * (1 - item_variance / total_variance)
        mean = acc.sum_t / n / 100 if n else 0.0
        return CaseStats(
            acc.key.case_id,
            acc.key.title,
            acc.stamp,
            n,
            acc.maximum,
            mean,
            median,
            tuple(acc.histogram),
            alpha,
            tuple(questions),
        )
