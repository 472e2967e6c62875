"""``imt-tutor grade``: a folder of students' answer files -> a gradebook file,
a feedback file per student and case, an item analysis."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import click

from .. import DISCLAIMER
from ..answers import printable
from ..cases import load_cases
from ..engines import engine_label, make_engine
from ..files import AtomicWriter, write_atomic
from ..grading import (
    Analysis,
    Batch,
    GradedSubmission,
    Hooks,
    ItemAnalysis,
    Reported,
    Result,
    Roster,
    feedback_filename,
    load_roster,
    per_student,
)
from ..models import RuleBase
from ..render import gradebook
from . import CONTEXT, MAX_PROBLEMS_PER_FILE, more_problems_line
from .common import CASES_DIR_OPTION, State, cases_folder

__all__ = ["grade_command"]

FORMATS = ("csv", "jsonl", "canvas", "moodle")
DEFAULT_CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _say(line: str) -> None:
    """One line on standard error, with anything a student wrote made harmless."""
    click.echo(printable(line), err=True)


class _Progress:
    """click's progress bar on standard error, only when it is a terminal."""

    def __init__(self) -> None:
        self.stack = ExitStack()
        self.bar: Any = None
        self.shown = sys.stderr.isatty()
        self.lines: list[str] = []  # problem lines to come, when standard error is not a terminal

    def say(self, line: str) -> None:
        """A problem line: at once on a terminal (above the bar), else with the rest of its chunk
        (one write for a chunk of files, not one per line: a batch may have thousands)."""
        if self.shown:
            self.clear_line()
            _say(line)
        else:
            self.lines.append(printable(line))

    def flush(self) -> None:
        if self.lines:
            click.echo("\n".join(self.lines), err=True)
            self.lines.clear()

    def start(self, total: int) -> None:
        if self.shown and total:
            self.bar = self.stack.enter_context(
                click.progressbar(length=total, label="Grading", file=sys.stderr, show_pos=True)
            )

    def update(self, done: int) -> None:
        self.flush()
        if self.bar is not None:
            self.bar.update(done)

    def clear_line(self) -> None:
        """Before a problem line: wipe the bar (it is drawn again at the next update)."""
        if self.bar is not None:
            click.echo("\r\x1b[K", nl=False, err=True)

    def finish(self) -> None:
        self.flush()
        self.stack.close()
        self.bar = None


def _feedback_renderer(base: RuleBase) -> Callable[[GradedSubmission], str]:
    """The feedback file's text of a graded submission (imported only for --feedback-dir)."""
    from ..render.markdown import FeedbackMarkdown

    return FeedbackMarkdown(base.vocabulary)


def _report_text(data: Analysis, html: bool) -> str:
    """The item analysis as an HTML page or as Markdown (imported only for --report)."""
    if html:
        from ..render.report_html import item_analysis_html

        return item_analysis_html(data)
    from ..render.markdown import item_analysis_markdown

    return item_analysis_markdown(data)


def _check_usage(fmt: str, roster: Path | None, assignment: str | None, assignment_id: int | None) -> None:
    if fmt in ("canvas", "moodle"):
        if assignment is None:
            raise click.UsageError(f"--format {fmt} needs --assignment NAME (the gradebook column to fill)")
        try:
            gradebook.check_assignment_name(assignment, fmt)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--assignment") from None
    elif roster is not None or assignment is not None:
        raise click.UsageError("--roster and --assignment go with --format canvas or --format moodle")
    if assignment_id is not None and fmt != "canvas":
        raise click.UsageError("--assignment-id goes with --format canvas")


def _analysed(analysis: ItemAnalysis | None, batch: Batch) -> Callable[[Result], None]:
    """What each result written is passed to: the item analysis, when there is one."""

    def add(result: Result) -> None:
        if analysis is not None:
            analysis.add(result, batch.key(result.case)[0])

    return add


def _each(results: Iterator[Result], see: Callable[[Result], None]) -> Iterator[Result]:
    for result in results:
        see(result)
        yield result


def _unmatched(batch: Batch, results: Sequence[Result], message: str, on_problem: Callable[[Reported], None]) -> None:
    batch.report(Reported.from_source(results[0].source, message), on_problem)


def _write_canvas(
    out: IO[str],
    batch: Batch,
    results: Iterator[Result],
    roster: Roster | None,
    column: str,
    on_problem: Callable[[Reported], None],
) -> list[str]:
    columns = roster.columns if roster is not None else DEFAULT_CANVAS_COLUMNS
    out.write(gradebook.canvas_header(columns, column))
    out.write(gradebook.canvas_points_row(columns, batch.points_possible()))
    used: dict[int, str] = {}
    matched: dict[str, int] = {}
    for total in per_student(results):
        who = f"student '{total.student}'"
        if roster is None:
            values = [total.student, "", "", total.student, ""]
        else:
            row, on = roster.match(total.student)
            if row is None:
                why = (
                    f"several roster rows share that {on}"
                    if on
                    else "no roster row has that SIS Login ID or SIS User ID"
                )
                _unmatched(batch, total.results, f"{who} is not on the roster ({why}): not written", on_problem)
                continue
            if row.line in used:
                _unmatched(
                    batch,
                    total.results,
                    f"{who} matches the same roster row (line {row.line}) as student '{used[row.line]}': not written",
                    on_problem,
                )
                continue
            used[row.line] = total.student
            matched[on or ""] = matched.get(on or "", 0) + 1
            values = [row.values.get(c, "") for c in columns]
        out.write(gradebook.canvas_row(values, total))
    notes = [f"matched on {name}: {count}" for name, count in sorted(matched.items())]
    if roster is not None:
        missing = [r for r in roster.rows if r.line not in used]
        for row in missing:
            login = row.values.get("SIS Login ID") or row.values.get("SIS User ID") or ""
            _say(f"no submission (left out of the file): {row.values.get('Student', '')} ({login})")
        notes.append(f"{len(missing)} roster students without a submission (left out)")
    return notes


def _write_moodle(
    out: IO[str],
    batch: Batch,
    results: Iterator[Result],
    roster: Roster | None,
    assignment: str,
    on_problem: Callable[[Reported], None],
) -> list[str]:
    possible = batch.points_possible()
    scale = possible > gradebook.MOODLE_MAX_GRADE
    identifier = roster.match_columns[0] if roster is not None else "Student"
    out.write(gradebook.moodle_header(identifier, assignment))
    used: dict[int, str] = {}
    matched: dict[str, int] = {}
    for total in per_student(results):
        who = f"student '{total.student}'"
        value = total.student
        if roster is not None:
            row, on = roster.match(total.student)
            if row is None:
                why = f"several roster rows share that {on}" if on else "no roster row has that identifier"
                _unmatched(batch, total.results, f"{who} is not on the roster ({why}): not written", on_problem)
                continue
            value = row.values.get(identifier, "").strip()
            if not value or row.line in used:
                why = (
                    f"its roster row (line {row.line}) has no {identifier}"
                    if not value
                    else (f"matches the same roster row (line {row.line}) as student '{used[row.line]}'")
                )
                _unmatched(batch, total.results, f"{who}: {why}: not written", on_problem)
                continue
            used[row.line] = total.student
            matched[on or ""] = matched.get(on or "", 0) + 1
        grade = total.points * 100 / possible if scale and possible else total.points
        out.write(gradebook.moodle_row(value, round(grade, 2), [r.note or "" for r in total.results]))
    notes = [f"matched on {name}: {count}" for name, count in sorted(matched.items())]
    if scale:
        notes.append(f"grades are percentages (the assignment is worth {possible:g} points, Moodle takes at most 100)")
    if roster is not None:
        missing = [r for r in roster.rows if r.line not in used]
        notes.append(f"{len(missing)} roster students without a submission (left out)")
    return notes


@click.command(
    "grade",
    context_settings=CONTEXT,
    help=f"""Grade answer files into a gradebook, feedback files and an item analysis.

PATH... are answer files or folders (walked in sorted order): YAML (.yaml, .yml),
JSON (.json), JSON Lines (.jsonl, one submission a line) or transcripts of
'imt-tutor run', each with student, case, answers and optionally submitted_at. A bad
or hostile file is reported as path:line:col and skipped; every other file is still
graded. Output files are written atomically, and the same inputs always give the
same bytes.

Exit status: 0 all graded, 1 some file or submission not graded (the rest is written),
2 usage.

Anyone with a case file can derive its key ('imt-tutor key'): for graded work keep
the cases private (--cases-dir) or use the LMS quizzes.

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor grade submissions/ --out grades.csv
  imt-tutor grade submissions/ --out grades.jsonl --feedback-dir feedback/ --report items.html
  imt-tutor grade submissions/ --format canvas --roster export.csv --assignment "IMT case 1" --out canvas.csv
  imt-tutor grade class.jsonl --format moodle --assignment "IMT case 1" --out moodle.csv --jobs 2
""",
)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The gradebook file.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="csv: a row per submission and question; jsonl: an object per submission; canvas or moodle: "
    "their gradebook import (default: jsonl for a .jsonl --out, else csv).",
)
@click.option(
    "--roster",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The LMS's own export (Canvas gradebook, Moodle grades or participants) to match students on.",
)
@click.option("--assignment", help="The gradebook column to fill (canvas, moodle).")
@click.option("--assignment-id", type=click.IntRange(min=1), help="Canvas: update that assignment (column 'NAME (N)').")
@click.option(
    "--feedback-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one Markdown feedback file per student and case here.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the item analysis here (HTML for .html/.htm, else Markdown).",
)
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True, help="Worker processes.")
@CASES_DIR_OPTION
@click.pass_context
def grade_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    out: Path,
    fmt: str | None,
    roster: Path | None,
    assignment: str | None,
    assignment_id: int | None,
    feedback_dir: Path | None,
    report: Path | None,
    jobs: int,
    cases_dir: Path | None,
) -> None:
    started = time.perf_counter()
    state: State = ctx.obj
    fmt = fmt or ("jsonl" if out.suffix.lower() == ".jsonl" else "csv")
    _check_usage(fmt, roster, assignment, assignment_id)
    base = state.base
    cases = load_cases(cases_folder(cases_dir), base.vocabulary)
    class_list = load_roster(roster, fmt) if roster is not None else None

    row_hook = {"csv": gradebook.csv_rows, "jsonl": gradebook.jsonl_line}.get(fmt)
    hooks = Hooks(
        row=row_hook,
        feedback=_feedback_renderer(base) if feedback_dir is not None else None,
        note=gradebook.moodle_note if fmt == "moodle" else None,
    )

    def engine() -> Any:
        return make_engine(base, state.engine_choice)

    exclude = [p for p in (out, report, feedback_dir) if p is not None]
    notes: list[str] = []
    with ExitStack() as stack:
        # The output files are opened (as hidden temporary files) before any grading, and only
        # renamed into place once complete: an interrupted run leaves no partial file.
        output = AtomicWriter(out)
        handle = stack.enter_context(output)
        report_handle = stack.enter_context(AtomicWriter(report)) if report is not None else None
        batch = stack.enter_context(
            Batch(
                base,
                cases,
                rules_path=state.rules_path,
                engine_factory=engine,
                engine_label=engine_label,
                jobs=jobs,
                hooks=hooks,
                analyse=report is not None,
                exclude=exclude,
            )
        )

        progress = _Progress()
        stack.callback(progress.finish)

        # At most MAX_PROBLEMS_PER_FILE lines per file. A file's problems come together, in file
        # order, so only the current file is counted (memory must not grow with the files).
        current_path: str | None = None
        current_count = 0

        def more_of_current() -> None:
            if current_path is not None and current_count > MAX_PROBLEMS_PER_FILE:
                progress.say(more_problems_line(current_path, current_count - MAX_PROBLEMS_PER_FILE))

        def problem(reported: Reported) -> None:
            nonlocal current_path, current_count
            if current_path != reported.path:
                more_of_current()
                current_path, current_count = reported.path, 0
            current_count += 1
            if current_count <= MAX_PROBLEMS_PER_FILE:
                progress.say(str(reported))

        if class_list is not None:
            for reported in class_list.problems:
                batch.report(reported, problem)
        batch.collect(paths, on_problem=problem, on_progress=progress.update, on_start=progress.start)
        progress.finish()

        analysis = ItemAnalysis() if report is not None else None
        if analysis is not None:
            stack.callback(analysis.close)
        analysed = _analysed(analysis, batch)
        results = _each(batch.results(), analysed)
        if fmt == "csv":
            handle.write(gradebook.csv_header())
        if fmt in ("csv", "jsonl"):
            batch.write_rows(handle, analysed if analysis is not None else None)
        elif fmt == "canvas":
            assert assignment is not None
            column = gradebook.canvas_assignment_column(assignment, assignment_id)
            notes += _write_canvas(handle, batch, results, class_list, column, problem)
        else:
            assert assignment is not None
            notes += _write_moodle(handle, batch, results, class_list, assignment, problem)
        if feedback_dir is not None:
            feedback_dir.mkdir(parents=True, exist_ok=True)
            for result in batch.results():
                if result.feedback is not None:
                    write_atomic(
                        feedback_dir / feedback_filename(result.student, result.case), result.feedback, sync=False
                    )
        if analysis is not None and report_handle is not None and report is not None:
            data = analysis.finish()
            html = report.suffix.lower() in (".html", ".htm")
            report_handle.write(_report_text(data, html))
        if fmt == "canvas":
            notes.insert(0, "stamps: " + ", ".join(f"{c} {batch.key(c)[1]}" for c in batch.assignment_cases()))
        graded = batch.graded_count
        skipped = batch.skipped
        problems = batch.problems
        files = batch.files
        case_count = len(batch.assignment_cases())
    elapsed = time.perf_counter() - started
    more_of_current()
    progress.flush()
    for note in notes:
        _say(note)
    _say(
        f"grade: {graded} graded, {skipped} skipped, {problems} problems "
        f"({_plural(files, 'file')}, {_plural(case_count, 'case')}) in {elapsed:.2f} s"
    )
    if problems:
        ctx.exit(1)
