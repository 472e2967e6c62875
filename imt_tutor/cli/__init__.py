"""The command line: load, call the library, echo. Nothing clinical happens here.

Library errors become one-line messages with exit 1; usage errors are click's
(exit 2). TEACHING AID ONLY - never a diagnostic tool.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from .. import DISCLAIMER, __version__
from ..cases import check_answers, find_case, load_answers, load_cases
from ..data import cases_dir as cases_dir_default
from ..data import rules_dir
from ..engines import ENGINE_CHOICES, default_engine_name, engine_label, make_engine
from ..errors import DataError, ImtTutorError, Location
from ..explain import condition_text, why_not
from ..loading import load_yaml_file, load_yaml_stream
from ..models import AnswerSheet, Case, Facts, Rule, RuleBase
from ..report import infer_json, infer_text, wrap_lines
from ..rulebase import load_rulebase
from ..runner import CaseRun, Console, Feedback, Item, play, show_lines
from ..transcript import AnswerRecord, Transcript, default_transcript_path, load_transcript, now, save_transcript
from ..vocabulary import Problems, contradictions_in, did_you_mean, parse_fact_options, parse_facts
from .console import ClickConsole, StreamConsole, colour_allowed

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class DataProblem(click.ClickException):
    """Bad data: printed as the library's one-line ``path:line:col: message``, exit 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(self.format_message(), err=True)


def fail(error: ImtTutorError) -> NoReturn:
    raise DataProblem(str(error)) from None


class State:
    """Options shared by every command, resolved lazily."""

    def __init__(self, rules: Path | None, engine: str) -> None:
        self.rules_path = rules or rules_dir()
        self.engine_choice = engine
        self._base: RuleBase | None = None

    @property
    def base(self) -> RuleBase:
        if self._base is None:
            try:
                self._base = load_rulebase(self.rules_path)
            except ImtTutorError as e:
                fail(e)
        return self._base

    def engine(self) -> Any:
        try:
            return make_engine(self.base, self.engine_choice)
        except ImtTutorError as e:
            fail(e)


def _version_message() -> str:
    return f"imt-tutor {__version__} (engine: {engine_label(default_engine_name())})\n{DISCLAIMER}"


@click.group(
    context_settings=CONTEXT,
    help=f"""imt-tutor: practise the differential diagnosis of inflammatory
myofibroblastic tumours (IMTs) on fictional cases, with every inference explained
and cited to the source document.

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor cases
  imt-tutor run lung-cough-alk-positive
  imt-tutor infer examples/lung-mass.yaml
  imt-tutor infer --fact site=lung --fact symptoms=cough --why-not biopsy
  imt-tutor rules mass-needs-biopsy
""",
)
@click.version_option(__version__, message=_version_message())
@click.option(
    "--rules-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Use the rule base in this folder instead of the bundled one.",
)
@click.option(
    "--engine",
    type=click.Choice(ENGINE_CHOICES),
    default="auto",
    show_default=True,
    help="Rule engine: durable_rules, or the builtin evaluator (auto: durable_rules where it runs).",
)
@click.pass_context
def main(ctx: click.Context, rules_dir: Path | None, engine: str) -> None:
    ctx.obj = State(rules_dir, engine)


# --------------------------------------------------------------------- infer


def _read_facts(state: State, facts_file: str | None, options: tuple[str, ...]) -> Facts:
    base = state.base
    problems = Problems()
    facts = Facts()
    try:
        if facts_file == "-":
            data = load_yaml_stream(sys.stdin, "<stdin>", expect=dict)
            facts = parse_facts(base.vocabulary, data, problems=problems)
        elif facts_file is not None:
            data = load_yaml_file(facts_file, expect=dict)
            facts = parse_facts(base.vocabulary, data, problems=problems)
        extra = parse_fact_options(base.vocabulary, options, problems=problems)
        problems.raise_if_any()
    except DataError as e:
        fail(e)
    return facts.merged(extra)


@main.command(
    context_settings=CONTEXT,
    help=f"""Infer conclusions and next steps from the facts of a fictional patient.

Facts come from FACTS_FILE (YAML, a mapping of fact: value; '-' reads standard
input) and/or --fact KEY=VALUE options (which win). Output: the HOW chain,
rule by rule, each cited to its section of the source document.

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor infer examples/lung-mass.yaml
  imt-tutor infer --fact site=abdomen --fact symptoms=bloating,pain
  imt-tutor infer examples/lung-mass.yaml --why-not surgical_resection --format json
""",
)
@click.argument("facts_file", required=False, metavar="[FACTS_FILE|-]")
@click.option(
    "--fact", "fact_options", multiple=True, metavar="KEY=VALUE", help="A fact; repeat it, or KEY=a,b for a list."
)
@click.option("--why-not", "why_not_steps", multiple=True, metavar="STEP", help="Explain why STEP is (not) suggested.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def infer(
    state: State, facts_file: str | None, fact_options: tuple[str, ...], why_not_steps: tuple[str, ...], fmt: str
) -> None:
    if facts_file is None and not fact_options:
        raise click.UsageError("nothing to infer from: give FACTS_FILE, '-' or --fact KEY=VALUE")
    base = state.base
    steps = [s.id for s in base.vocabulary.next_steps]
    for step in why_not_steps:
        if step not in steps:
            raise click.BadParameter(f"unknown next step '{step}'{did_you_mean(step, steps)}", param_hint="--why-not")
    facts = _read_facts(state, facts_file, fact_options)
    engine = state.engine()
    try:
        inference = engine.infer(facts)
    except ImtTutorError as e:
        fail(e)
    finally:
        engine.close()
    why = [why_not(base, inference, s) for s in why_not_steps] if why_not_steps else None
    label = engine_label(engine.name)
    warnings = contradictions_in(base.vocabulary, facts)
    if fmt == "json":
        doc = infer_json(inference, base.vocabulary, label, why, warnings)
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        click.echo(infer_text(inference, base.vocabulary, label, why, warnings))


# --------------------------------------------------------------------- rules


def _rule_json(rule: Rule, base: RuleBase) -> dict[str, Any]:
    return {
        "id": rule.id,
        "when": condition_text(base.vocabulary, rule.when),
        "conclude": [{"key": k, "value": v} for k, v in rule.conclude],
        "suggest": list(rule.suggest),
        "accept": list(rule.accept),
        "explanation": rule.explanation,
        "source": rule.source,
        "defined_at": str(rule.location) if rule.location else None,
    }


def _rule_text(rule: Rule, base: RuleBase) -> list[str]:
    vocab = base.vocabulary
    lines = [f"{rule.id}  [{rule.source}]", f"  when: {condition_text(vocab, rule.when)}"]
    lines += [f"  concludes: {vocab.label(k)}: {vocab.label(k, v)}" for k, v in rule.conclude]
    lines += [f"  suggests: {vocab.label(s)}" for s in rule.suggest]
    lines += [f"  accepts (not required): {vocab.label(s)}" for s in rule.accept]
    lines.append(f"  because: {rule.explanation}")
    if rule.location is not None:
        lines.append(f"  defined at: {rule.location}")
    return lines


def _rule_markdown(rule: Rule, base: RuleBase) -> list[str]:
    vocab = base.vocabulary
    then = [f"{vocab.label(k)}: {vocab.label(k, v)}" for k, v in rule.conclude]
    then += [f"suggest {vocab.label(s)}" for s in rule.suggest]
    then += [f"accept {vocab.label(s)}" for s in rule.accept]
    cells = [rule.id, condition_text(vocab, rule.when), "; ".join(then), rule.explanation, rule.source]
    return ["| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"]


@main.command(
    "rules",
    context_settings=CONTEXT,
    help=f"""List the rules, or show RULE_ID, each with the section it cites.

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor rules
  imt-tutor rules mass-needs-biopsy
  imt-tutor rules --format markdown > RULES.md
""",
)
@click.argument("rule_id", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.pass_obj
def rules_command(state: State, rule_id: str | None, fmt: str) -> None:
    base = state.base
    chosen = list(base.rules)
    if rule_id is not None:
        rule = base.rule(rule_id)
        if rule is None:
            ids = [r.id for r in base.rules]
            raise click.BadParameter(f"no rule '{rule_id}'{did_you_mean(rule_id, ids)}", param_hint="RULE_ID")
        chosen = [rule]
    if fmt == "json":
        doc = {"rules": [_rule_json(r, base) for r in chosen], "disclaimer": DISCLAIMER}
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    if fmt == "markdown":
        lines = [f"_{DISCLAIMER}_", "", "| rule | when | then | because | source |", "|---|---|---|---|---|"]
        for r in chosen:
            lines += _rule_markdown(r, base)
        click.echo("\n".join(lines))
        return
    lines = [f"*** {DISCLAIMER} ***", ""]
    if rule_id is None:
        lines.append(f"{len(chosen)} rules (rules folder: {state.rules_path}):")
        width = max(len(r.id) for r in chosen)
        lines += [f"  {r.id:<{width}}  [{r.source}]" for r in chosen]
        lines += ["", "Show one with: imt-tutor rules RULE_ID"]
    else:
        lines += _rule_text(chosen[0], base)
    click.echo("\n".join(wrap_lines(lines)))


# --------------------------------------------------------------------- cases, run, key


def _cases_folder(cases_dir: Path | None) -> Path:
    return cases_dir or cases_dir_default()


def _find_case(state: State, ref: str, cases_dir: Path | None) -> Case:
    try:
        return find_case(ref, _cases_folder(cases_dir), state.base.vocabulary)
    except DataError as e:
        fail(e)


CASES_DIR_OPTION = click.option(
    "--cases-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Use the cases in this folder instead of the bundled ones.",
)


@main.command(
    "cases",
    context_settings=CONTEXT,
    help=f"""List the fictional teaching cases: ID, title, summary, stages.

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor cases
  imt-tutor cases --format json
  imt-tutor cases --cases-dir my-cases/
""",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@CASES_DIR_OPTION
@click.pass_obj
def cases_command(state: State, fmt: str, cases_dir: Path | None) -> None:
    folder = _cases_folder(cases_dir)
    try:
        cases = load_cases(folder, state.base.vocabulary)
    except DataError as e:
        fail(e)
    if fmt == "json":
        doc = {
            "cases": [
                {
                    "id": c.id,
                    "title": c.title,
                    "summary": c.summary,
                    "stages": len(c.stages),
                    "questions": sum(len(s.questions) for s in c.stages),
                    "path": c.path,
                }
                for c in cases
            ],
            "disclaimer": DISCLAIMER,
        }
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    lines = [f"*** {DISCLAIMER} ***", "", f"{len(cases)} fictional cases (cases folder: {folder}):"]
    for c in cases:
        lines += ["", f"{c.id}  ({len(c.stages)} stages)", f"  {c.title}", f"  {c.summary}"]
    lines += ["", "Work through one with: imt-tutor run CASE_ID"]
    click.echo("\n".join(wrap_lines(lines)))


def _resume_command(ctx: click.Context, case_ref: str, transcript: Path | None, cases_dir: Path | None) -> str:
    words = ["imt-tutor"]
    top = ctx.parent.params if ctx.parent is not None else {}
    if top.get("rules_dir"):
        words += ["--rules-dir", str(top["rules_dir"])]
    if top.get("engine", "auto") != "auto":
        words += ["--engine", str(top["engine"])]
    words += ["run", case_ref, "--resume"]
    if transcript is not None:
        words += ["--transcript", str(transcript)]
    if cases_dir is not None:
        words += ["--cases-dir", str(cases_dir)]
    return " ".join(shlex.quote(w) for w in words)


class _Saver:
    """Keeps the run's transcript and rewrites it (atomically) after each answer."""

    def __init__(self, path: Path, transcript: Transcript) -> None:
        self.path = path
        self.transcript = transcript
        self.saved = False

    def __call__(self, item: Item, feedback: Feedback) -> None:
        record = AnswerRecord(item.qid, feedback.picks, feedback.score.points, feedback.text(), now())
        updated = self.transcript.with_answer(record)
        save_transcript(self.path, updated)
        self.transcript = updated  # only what is on disk counts as saved
        self.saved = True


def _open_transcript(run: CaseRun, path: Path, resume: bool, restart: bool, student: str | None) -> Transcript:
    """The transcript to continue (``--resume``, replayed into ``run``) or a new one."""
    case = run.case
    fresh = Transcript(case.id, case.path, run.signature(), student=student)
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
    for item in run.items:
        if item.qid in answered:
            run.answer(item.qid, answered[item.qid])
    return saved


@main.command(
    "run",
    context_settings=CONTEXT,
    help=f"""Work through a fictional CASE (an ID from 'imt-tutor cases', or a case file),
question by question, with every expected answer explained by the rules.

Answer with option numbers or IDs, comma-separated. At any prompt: help, why,
why-not STEP, hint, facts, quit. Without a terminal, answers are read from
standard input, one line per question (same syntax); --answers FILE takes them
from an answers file instead (see 'imt-tutor key').

The transcript is saved after every answer (--transcript PATH, default: your
data folder, e.g. ~/.local/share/imt-tutor/transcripts/CASE.json). Ctrl-C or
'quit' stops; --resume continues at the first unanswered question.

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor run lung-cough-alk-positive
  imt-tutor run lung-cough-alk-positive --resume
  imt-tutor run lung-cough-alk-positive --answers my-answers.yaml --restart
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
@CASES_DIR_OPTION
@click.pass_context
def run_command(
    ctx: click.Context,
    case_ref: str,
    answers_file: Path | None,
    transcript_path: Path | None,
    resume: bool,
    restart: bool,
    cases_dir: Path | None,
) -> None:
    state: State = ctx.obj
    if resume and restart:
        raise click.UsageError("--resume and --restart exclude each other")
    if resume and answers_file is not None:
        raise click.UsageError("--resume continues at the prompt or from standard input, not from --answers")
    base = state.base
    case = _find_case(state, case_ref, cases_dir)
    path = transcript_path or default_transcript_path(case.id)
    sheet: AnswerSheet | None = None
    if answers_file is not None:
        try:
            sheet = load_answers(answers_file)  # check_answers then checks every pick against its question
            check_answers(sheet, case)
        except DataError as e:
            fail(e)
    engine = state.engine()
    try:
        run = CaseRun(base, engine, case)
        try:
            run.check_key()
        except DataError as e:
            fail(e)
        if not (resume or restart) and sheet is None and path.exists() and sys.stdin.isatty():
            # A student at a terminal who starts the same case again: offer to continue.
            if click.confirm(f"A saved run of this case is in {path}. Continue it?", default=True):
                resume = True
            elif click.confirm("Start over and replace it?", default=False):
                restart = True
        try:
            transcript = _open_transcript(run, path, resume, restart, sheet.student if sheet else None)
        except DataError as e:
            fail(e)
        saver = _Saver(path, transcript)
        stdin = sys.stdin
        interactive = sheet is None and stdin.isatty()
        output = ClickConsole(color=colour_allowed())
        console: Console = output if interactive or sheet is not None else StreamConsole(output, stdin.readline)

        def from_sheet(item: Item) -> tuple[str, ...]:
            assert sheet is not None
            picks = sheet.picks(item.qid)
            if picks is None:
                output.show("(not answered in the answers file: counted as picking nothing)", "warn")
                return ()
            show_lines(output, [f"Answer: {', '.join(picks) or 'nothing'}"])
            return picks

        hint = _resume_command(ctx, case_ref, transcript_path, cases_dir)
        try:
            finished = play(
                run, console, interactive=interactive, save=saver, answers=from_sheet if sheet is not None else None
            )
        except (KeyboardInterrupt, click.Abort):
            _stopped(saver, hint, "Interrupted.")
            ctx.exit(130)
        except EOFError:
            _stopped(saver, hint, "End of input before the last question.")
            ctx.exit(1)
        except DataError as e:
            _stopped(saver, hint, str(e))
            ctx.exit(1)
        except ImtTutorError as e:
            fail(e)
        if not finished:
            _stopped(saver, hint, "Stopped.")
        elif saver.saved or resume:
            click.echo(f"Transcript saved in:\n  {path}")
    finally:
        engine.close()


def _stopped(saver: _Saver, resume_hint: str, why: str) -> None:
    """Say why the run stopped, where the answers are, and how to go on."""
    click.echo("", err=True)
    click.echo(why, err=True)
    count = len(saver.transcript.answers)
    if count == 0:
        click.echo("No answer is saved, so there is nothing to resume.", err=True)
        return
    answers = f"{count} answers so far are" if count != 1 else "1 answer so far is"
    click.echo(f"Your {answers} saved in {saver.path}", err=True)
    click.echo(f"Continue with: {resume_hint}", err=True)


def _yaml_id(text: str) -> str:
    """``text`` as a YAML scalar that loads back as that string."""
    if re.fullmatch(r"[a-z][a-z0-9_.-]*", text) and text not in ("true", "false", "null"):
        return text
    return json.dumps(text, ensure_ascii=False)


def _comment(text: str) -> str:
    return " ".join(text.split())


@main.command(
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
@click.pass_obj
def key_command(state: State, case_ref: str, fmt: str, cases_dir: Path | None) -> None:
    base = state.base
    case = _find_case(state, case_ref, cases_dir)
    engine = state.engine()
    try:
        run = CaseRun(base, engine, case)
        run.check_key()
        rows = []
        for item in run.items:
            expected = run.expected(item.qid)
            because = list(dict.fromkeys(r for e in expected for r in run.because(item, e)))
            accepted = [(a, run.accepted_because(item, a)) for a in run.accepted(item.qid)]
            rows.append((item, expected, because, accepted))
        label = engine_label(engine.name)
    except ImtTutorError as e:
        fail(e)
    finally:
        engine.close()
    if fmt == "json":
        doc = {
            "student": "key",
            "case": case.id,
            "answers": {item.qid: list(expected) for item, expected, _, _ in rows},
            "accepted": {item.qid: [a for a, _ in accepted] for item, _, _, accepted in rows if accepted},
            "because": {item.qid: because for item, _, because, _ in rows},
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
