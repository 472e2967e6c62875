"""``imt-tutor run`` (a case, question by question, with its transcript) and
``imt-tutor key`` (the answer key of a case, as an answers file)."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import shutil
import sys
from pathlib import Path

import click

from .. import DISCLAIMER
from ..answers import check_answers, load_answers
from ..engines import engine_label
from ..errors import DataError, Location, shown
from ..files import write_atomic
from ..loading import dump_yaml
from ..models import AnswerSheet
from ..runner import CaseRun, Console, Feedback, Item, command_lines, play, show_lines
from ..transcript import (
    AnswerRecord,
    Transcript,
    default_transcript_path,
    load_transcript,
    lock_transcript,
    now,
    save_transcript,
    transcript_target,
)
from . import CONTEXT, INTERRUPTED, error_lines
from .common import CASES_DIR_OPTION, State, find_case_in
from .console import ClickConsole, StreamConsole, colour_allowed, stream_lines

__all__ = ["key_command", "run_command"]


def _resume_command(
    ctx: click.Context, case_ref: str, transcript: Path | None, cases_dir: Path | None, flag: str = "--resume"
) -> str:
    words = ["imt-tutor"]
    top = ctx.parent.params if ctx.parent is not None else {}
    if top.get("rules_dir"):
        words += ["--rules-dir", str(top["rules_dir"])]
    if top.get("engine", "auto") != "auto":
        words += ["--engine", str(top["engine"])]
    words += ["run", case_ref, flag]
    if transcript is not None:
        words += ["--transcript", str(transcript)]
    if cases_dir is not None:
        words += ["--cases-dir", str(cases_dir)]
    return " ".join(shown(shlex.quote(w)) for w in words)  # a control character is shown, never sent


class _Saver:
    """Keeps the run's transcript and rewrites it (atomically) after each answer."""

    def __init__(self, path: Path, transcript: Transcript, run: CaseRun) -> None:
        self.path = path
        self.transcript = transcript
        self.run = run
        self.saved = False

    def help_of(self, qid: str) -> dict[str, object] | None:
        used = self.run.help.get(qid)
        return used.as_json() if used is not None and used.any() else None

    def __call__(self, item: Item, feedback: Feedback) -> None:
        record = AnswerRecord(item.qid, feedback.picks, feedback.score.points, now(), self.help_of(item.qid))
        updated = self.transcript.with_answer(record)
        save_transcript(self.path, updated)
        self.transcript = updated  # only what is on disk counts as saved
        self.saved = True


def _open_transcript(run: CaseRun, path: Path, resume: bool, restart: bool, student: str | None) -> Transcript:
    """The transcript to continue (``--resume``, replayed into ``run``) or a new one."""
    case = run.case
    fresh = Transcript(case.id, case.path, run.signature(), student=student, weights=run.weights())
    if not resume:
        if path.exists() and not restart:
            raise DataError(
                "a saved run of a case is already here: continue it with --resume, start over with --restart, "
                "or choose another --transcript PATH",
                Location(str(path)),
            )
        return fresh
    if not path.exists():
        raise DataError("no saved run to resume here (start one without --resume)", Location(str(path)))
    saved = load_transcript(path)
    if saved.case != case.id:
        raise DataError(f"this transcript is for case '{saved.case}', not '{case.id}'", Location(str(path)))
    if saved.questions != run.signature():
        raise DataError(
            f"the questions of case '{case.id}' have changed since this transcript was saved; "
            "start over with --restart",
            Location(str(path)),
        )
    answered = saved.answered()
    for record in saved.answers:
        if record.help:
            used = run.help_for(record.question)
            used.hints = int(record.help.get("hints", 0) or 0)
    for item in run.items:
        if item.qid in answered:
            run.answer(item.qid, answered[item.qid])  # scores are recomputed from the picks, never read
    return dataclasses.replace(saved, weights=run.weights())  # the case's weights now, as the scores


def _save_answers(path: Path, run: CaseRun, student: str | None) -> None:
    """The run's answers as an answers file in the format 'grade' and 'run --answers' read."""
    doc: dict[str, object] = {
        "student": student or "anonymous",
        "case": run.case.id,
        "submitted_at": now(),
        "answers": {item.qid: list(run.answers[item.qid]) for item in run.items if item.qid in run.answers},
    }
    hints = {qid: h.hints for qid, h in run.help.items() if h.hints}
    if hints:
        doc["hints"] = hints
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n" if path.suffix == ".json" else dump_yaml(doc)
    write_atomic(path, text, make_parents=True, what="cannot save the answers file")


def _width() -> int:
    """The terminal's width (at most 80), or 80 when output is not a terminal."""
    if not sys.stdout.isatty():
        return 80
    return min(80, max(40, shutil.get_terminal_size((80, 24)).columns))


def _stopped(saver: _Saver, resume_hint: str, why: str) -> None:
    """Say why the run stopped, where the answers are, and how to go on."""
    click.echo("", err=True)
    click.echo(why, err=True)
    count = len(saver.transcript.answers)
    if count == 0:
        click.echo("No answer is saved, so there is nothing to resume.", err=True)
        return
    answers = f"{count} answers so far are" if count != 1 else "1 answer so far is"
    click.echo(f"Your {answers} saved in {shown(str(saver.path))}", err=True)
    click.echo("Continue with:", err=True)
    for line in command_lines(resume_hint):
        click.echo(line, err=True)


def _student_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--student as grading will read it: text, no control characters, no formula start."""
    from ..answers import student_problem

    problem = student_problem(value) if value is not None else None
    if problem is not None:
        raise click.BadParameter(problem.replace("'student'", "the name"))
    return value


@click.command(
    "run",
    context_settings=CONTEXT,
    help=f"""Work through a fictional CASE (an ID from 'imt-tutor cases', or a case file),
question by question, with every expected answer explained by the rules.

Answer with option numbers or IDs, comma-separated (yes or no where a question
has one option). At any prompt: help, why, why-not N, hint, how, facts, back,
quit. Without a terminal, answers are read from standard input, one line per
question (same syntax); --answers FILE takes them from an answers file instead
(see 'imt-tutor key'); a question it leaves out scores 0.

Each answer scores 0 to 1: all right is 1; the share of the expected options
picked, minus a cost per wrong pick (a pick the case's facts rule out costs
twice a premature one; picking every option scores at most 0.2); a true but
less specific working diagnosis earns half; an unanswered question scores 0.

The transcript is saved after every answer (--transcript PATH, default: your
data folder, e.g. ~/.local/share/imt-tutor/transcripts/CASE.json). Ctrl-C or
'quit' stops; --resume continues at the first unanswered question.

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor run lung-cough-alk-positive
  imt-tutor run lung-cough-alk-positive --resume
  imt-tutor run lung-cough-alk-positive --answers my-answers.yaml --restart --summary
  imt-tutor run lung-cough-alk-positive --student "A. Student" --save-answers mine.yaml
  printf '1\\n2\\n' | imt-tutor run my-case.yaml --transcript /tmp/t.json
""",
)
@click.argument("case_ref", metavar="CASE")
@click.option(
    "--answers",
    "answers_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Take the answers from this answers file (YAML: student, case, answers).",
)
@click.option(
    "--transcript",
    "transcript_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the transcript here (default: in your data folder).",
)
@click.option("--resume", is_flag=True, help="Continue the saved run at its first unanswered question.")
@click.option("--restart", is_flag=True, help="Start over, replacing a saved run.")
@click.option(
    "--student",
    metavar="NAME",
    callback=_student_name,
    help="Your name (or ID), kept in the transcript and the answers file.",
)
@click.option(
    "--save-answers",
    "save_answers",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write your answers to this answers file (the format 'grade' reads; .json or .yaml).",
)
@click.option("--summary", is_flag=True, help="With --answers: print only the final summary.")
@click.option("--show-rules", is_flag=True, help="Name the rule behind each explanation.")
@CASES_DIR_OPTION
@click.pass_context
def run_command(
    ctx: click.Context,
    case_ref: str,
    answers_file: Path | None,
    transcript_path: Path | None,
    resume: bool,
    restart: bool,
    student: str | None,
    save_answers: Path | None,
    summary: bool,
    show_rules: bool,
    cases_dir: Path | None,
) -> None:
    state: State = ctx.obj
    if resume and restart:
        raise click.UsageError("--resume and --restart exclude each other")
    if resume and answers_file is not None:
        raise click.UsageError("--resume continues at the prompt or from standard input, not from --answers")
    if summary and answers_file is None:
        raise click.UsageError("--summary needs --answers FILE")
    base = state.base
    case = find_case_in(state, case_ref, cases_dir)
    path = transcript_path or default_transcript_path(case.id)
    # Before anything is asked: the transcript can be written, and no other run has it.
    transcript_target(path)
    ctx.with_resource(lock_transcript(path))
    sheet: AnswerSheet | None = None
    if answers_file is not None:
        sheet = load_answers(answers_file)  # check_answers then checks every pick against its question
        check_answers(sheet, case)
    run = CaseRun(base, state.engine(ctx), case, show_rules=show_rules, width=_width())
    run.check_key()
    output = ClickConsole(color=colour_allowed())
    if not (resume or restart) and sheet is None and path.exists() and sys.stdin.isatty():
        # A student at a terminal who starts the same case again: offer to continue.
        if _confirm(ctx, output, path, f"A saved run of this case is in {path}. Continue it?", default=True):
            resume = True
        elif _confirm(ctx, output, path, "Start over and replace it?", default=False):
            restart = True
    name = student or (sheet.student if sheet else None)
    transcript = _open_transcript(run, path, resume, restart, name)
    name = name or transcript.student
    saver = _Saver(path, transcript, run)
    stdin = sys.stdin
    interactive = sheet is None and stdin.isatty()
    console: Console = output if interactive or sheet is not None else StreamConsole(output, stream_lines(stdin))

    def from_sheet(item: Item) -> tuple[str, ...] | None:
        assert sheet is not None
        picks = sheet.picks(item.qid)
        if picks is None:
            if not summary:
                output.show("(not answered in the answers file: 0 points)", "warn")
            return None
        if not summary:
            show_lines(output, [f"Answer: {', '.join(picks) or 'nothing'}"])
        return picks

    hint = _resume_command(ctx, case_ref, transcript_path, cases_dir)
    again = _resume_command(ctx, case_ref, transcript_path, cases_dir, "--restart")
    # The run says itself why it stopped and how to go on, so these do not reach the group's boundary.
    try:
        finished = play(
            run,
            console,
            interactive=interactive,
            save=saver,
            answers=from_sheet if sheet is not None else None,
            restart=again,
            summary_only=summary,
        )
    except (KeyboardInterrupt, click.Abort):
        _stopped(saver, hint, "Interrupted.")
        if save_answers is not None:
            _save_answers(save_answers, run, name)
        ctx.exit(INTERRUPTED)
    except EOFError:
        _stopped(saver, hint, "End of input before the last question.")
        ctx.exit(1)
    except DataError as e:
        _stopped(saver, hint, "\n".join(error_lines(e)))
        ctx.exit(e.exit_code)
    if save_answers is not None:
        _save_answers(save_answers, run, name)
    if not finished:
        _stopped(saver, hint, "Stopped.")
    elif (saver.saved or resume) and not summary:
        click.echo(f"Transcript saved in:\n  {shown(str(path))}")
    if save_answers is not None and not summary:
        click.echo(f"Answers saved in:\n  {shown(str(save_answers))}")


def _confirm(ctx: click.Context, console: ClickConsole, path: Path, question: str, *, default: bool) -> bool:
    """A yes/no question at the terminal, read as the run's prompts are (a Ctrl-C
    is never lost: :class:`~imt_tutor.cli.console.TerminalLines`). Ctrl-C exits
    130 and end of input 1, the saved run untouched."""
    choices = "[Y/n]" if default else "[y/N]"
    try:
        while True:
            answer = console.ask(f"{question} {choices}: ").strip().lower()
            if not answer:
                return default
            if answer in ("y", "yes"):
                return True
            if answer in ("n", "no"):
                return False
            console.show("Please answer y or n.", "warn")
    except (KeyboardInterrupt, EOFError) as error:
        interrupted = isinstance(error, KeyboardInterrupt)
        click.echo("", err=True)
        click.echo(f"{'Interrupted' if interrupted else 'End of input'}. The saved run is unchanged: {path}", err=True)
        ctx.exit(INTERRUPTED if interrupted else 1)


def _yaml_id(text: str) -> str:
    """``text`` as a YAML scalar that loads back as that string."""
    if re.fullmatch(r"[a-z][a-z0-9_.-]*", text) and text not in ("true", "false", "null"):
        return text
    return json.dumps(text, ensure_ascii=False)


def _comment(text: str) -> str:
    return " ".join(text.split())


@click.command(
    "key",
    context_settings=CONTEXT,
    help=f"""Print the answer key of CASE, as derived by the rules, as an answers file
('student: key') that scores full marks with 'imt-tutor run CASE --answers'.

In YAML the rules behind each answer are comments; in JSON they are under
'because' (question -> rule IDs).

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor key lung-cough-alk-positive > key.yaml
  imt-tutor key lung-cough-alk-positive --format json
""",
)
@click.argument("case_ref", metavar="CASE")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@CASES_DIR_OPTION
@click.pass_context
def key_command(ctx: click.Context, case_ref: str, fmt: str, cases_dir: Path | None) -> None:
    state: State = ctx.obj
    case = find_case_in(state, case_ref, cases_dir)
    engine = state.engine(ctx)
    run = CaseRun(state.base, engine, case)
    run.check_key()
    rows = []
    for item in run.items:
        expected = run.expected(item.qid)
        because = list(dict.fromkeys(r for e in expected for r in run.because(item, e)))
        accepted = [(a, run.accepted_because(item, a)) for a in run.accepted(item.qid)]
        rows.append((item, expected, because, accepted))
    label = engine_label(engine.name)
    if fmt == "json":
        weights = {item.qid: item.question.weight for item, _, _, _ in rows if item.question.weight != 1}
        doc = {
            "student": "key",
            "case": case.id,
            "answers": {item.qid: list(expected) for item, expected, _, _ in rows},
            "accepted": {item.qid: [a for a, _ in accepted] for item, _, _, accepted in rows if accepted},
            "because": {item.qid: because for item, _, because, _ in rows},
            **({"weights": weights} if weights else {}),
            "disclaimer": DISCLAIMER,
        }
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    lines = [
        f"# Answer key of case '{case.id}': {_comment(case.title)}",
        f"# Derived by the rules ({label}) from the facts known at each stage.",
        f"# {DISCLAIMER}",
        "student: key",
        f"case: {_yaml_id(case.id)}",
        "answers:",
    ]
    for item, expected, because, accepted in rows:
        lines.append(f"  # {item.qid}: {_comment(item.question.prompt)}")
        if item.question.weight != 1:
            lines.append(f"  #   worth {item.question.weight} points (weight)")
        if item.question.answer is not None:
            lines.append(f"  #   set by the case author: {_comment(item.question.answer_reason or '')}")
        if because:
            lines.append(f"  #   because: {', '.join(because)}")
        elif not expected:
            reason = item.question.expect_nothing_reason or "no rule supports any option at this stage"
            lines.append(f"  #   nothing expected: {_comment(reason)}")
        for step, rules in accepted:
            lines.append(f"  #   also acceptable, no penalty: {step} (because: {', '.join(rules)})")
        lines.append(f"  {_yaml_id(item.qid)}: [{', '.join(_yaml_id(e) for e in expected)}]")
    click.echo("\n".join(lines))
