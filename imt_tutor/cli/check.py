"""Authoring commands: ``check`` (every problem of the rules, vocabulary and
cases, and coverage), ``vocab`` (what may I write?), ``new-case`` (a skeleton
vignette) and ``graph`` (the rule network, Mermaid or DOT).

TEACHING AID ONLY - not a diagnostic tool.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import click

from .. import DISCLAIMER
from ..check import CheckResult, Coverage, case_skeleton, check, coverage, escape
from ..errors import DataError, DataErrors, Location, Problem, did_you_mean
from ..models import ConclusionKey, FactKey, NextStep, Term, Vocabulary
from ..rulebase import KEBAB
from . import CONTEXT, capped_lines
from .common import CASES_DIR_OPTION, State, cases_folder, find_case_in

__all__ = ["check_command", "graph_command", "new_case_command", "vocab_command"]

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"  # in a checkout; a wheel carries none


# --------------------------------------------------------------------- check


def problem_line(problem: Problem) -> str:
    """``path:line:col: level: message [code]``, every character from a file escaped."""
    where = escape(str(problem.location)) if problem.location is not None else "imt-tutor"
    return f"{where}: {problem.level}: {escape(problem.message)} [{problem.code}]"


def _problem_path(problem: Problem) -> str:
    return escape(problem.location.path) if problem.location is not None else "imt-tutor"


def problem_json(problem: Problem) -> dict[str, Any]:
    loc = problem.location
    return {
        "path": escape(loc.path) if loc else None,
        "line": loc.line if loc and loc.line > 0 else None,
        "column": max(loc.column, 1) if loc and loc.line > 0 else None,
        "level": problem.level,
        "code": problem.code,
        "message": escape(problem.message),
    }


def _listing(title: str, items: list[str]) -> list[str]:
    if not items:
        return [f"  {title}: none"]
    return [f"  {title}: {len(items)}", *(f"    {escape(item)}" for item in items)]


def coverage_lines(cov: Coverage | None) -> list[str]:
    if cov is None:
        return ["", "Coverage: not computed (the rules have errors)."]
    lines = ["", f"Coverage of {_count(cov.rules, 'rule')} by {_count(cov.cases, 'case')}:"]
    lines += _listing("rules no case exercises", [f"{rule}: {why}" for rule, why in cov.unexercised_rules])
    lines += _listing(
        "sections no rule cites", [f"{section} ({note})" if note else section for section, note in cov.uncited_sections]
    )
    lines += _listing("fact values no case reveals", [f"{k}: {v}" for k, v in cov.unused_facts])
    lines += _listing("conclusion values no case draws", [f"{k}: {v}" for k, v in cov.unused_conclusions])
    lines += _listing("next steps no case suggests or accepts", list(cov.unused_steps))
    encoded = cov.rows - cov.not_encoded_rows
    lines += _listing(
        f"fidelity rows no case teaches (of {encoded} encoded; {cov.not_encoded_rows} not encoded)",
        [f"{row} [{section}]" for row, section in cov.untaught_rows],
    )
    return lines


def _summary(result: CheckResult) -> str:
    errors, warnings = len(result.errors), len(result.warnings)
    found = (
        "no problems" if not errors and not warnings else f"{_count(errors, 'error')}, {_count(warnings, 'warning')}"
    )
    return f"checked {_count(len(result.files), 'file')}: {found}"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _engine_factory(state: State) -> Any:
    """The builtin evaluator unless ``--engine`` names durable_rules (the traces are the same)."""
    from ..engines import make_engine

    choice = state.engine_choice if state.engine_choice != "auto" else "builtin"
    return lambda base: make_engine(base, choice)


@click.command(
    "check",
    context_settings=CONTEXT,
    help=f"""Check rules, vocabulary and cases: every problem at once.

One line each. PATH may be files or folders (default: the rules and cases folders). A folder
with vocabulary.yaml is a rules folder; any other YAML file is a rule file if
it has 'rules', and a case otherwise. Each problem: path:line:col: error|warning:
message [code] (the codes: docs/authoring.md). Exit 1 if any error (--strict:
any warning too), else 0. --coverage adds what the cases leave untested.

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor check
  imt-tutor check my-case.yaml
  imt-tutor check --coverage --format json
  imt-tutor --rules-dir my-rules check my-rules my-cases
""",
)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[PATH]...")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
@click.option("--coverage", "with_coverage", is_flag=True, help="Report what the cases and rules leave untested.")
@CASES_DIR_OPTION
@click.pass_context
def check_command(
    ctx: click.Context, paths: tuple[Path, ...], fmt: str, strict: bool, with_coverage: bool, cases_dir: Path | None
) -> None:
    state: State = ctx.obj
    result = check(
        list(paths),
        rules_dir=state.rules_path,
        cases_dir=cases_folder(cases_dir),
        engine=_engine_factory(state),
    )
    cov = coverage(result) if with_coverage else None
    if fmt == "json":
        doc: dict[str, Any] = {
            "files": [escape(f) for f in result.files],
            "errors": len(result.errors),
            "warnings": len(result.warnings),
            "problems": [problem_json(p) for p in result.problems],
        }
        if with_coverage:
            doc["coverage"] = cov.as_dict() if cov is not None else None
        doc["disclaimer"] = DISCLAIMER
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        lines = capped_lines(result.problems, _problem_path, problem_line)
        if with_coverage:
            lines += coverage_lines(cov)[0 if lines else 1 :]
        if lines:
            click.echo("\n".join(lines))
        click.echo(_summary(result), err=True)
    ctx.exit(result.exit_code(strict))


# --------------------------------------------------------------------- vocab


def _term_json(term: Term) -> dict[str, Any]:
    out: dict[str, Any] = {"id": term.id, "label": term.label, "description": term.description}
    if term.restates:
        out["restates"] = list(term.restates)
    return out


def _entry_json(entry: FactKey | ConclusionKey | NextStep) -> dict[str, Any]:
    out: dict[str, Any] = {"id": entry.id, "label": entry.label, "description": entry.description}
    if isinstance(entry, FactKey):
        out["kind"] = "fact"
        out["multi"] = entry.multi
    elif isinstance(entry, ConclusionKey):
        out["kind"] = "conclusion"
    else:
        out["kind"] = "next_step"
        out["done_when"] = [{"key": k, "values": list(v)} for k, v in entry.done_when]
    if isinstance(entry, (FactKey, ConclusionKey)):
        out["values"] = [_term_json(t) for t in entry.values]
    return out


def _entry_lines(entry: FactKey | ConclusionKey | NextStep) -> list[str]:
    multi = " (a list of values)" if isinstance(entry, FactKey) and entry.multi else ""
    lines = [f"  {entry.id}{multi}  {entry.label}: {entry.description}"]
    if isinstance(entry, (FactKey, ConclusionKey)):
        width = max(len(t.id) for t in entry.values)
        for term in entry.values:
            restates = f" (restates {', '.join(term.restates)})" if term.restates else ""
            lines.append(f"      {term.id:<{width}}  {term.label}: {term.description}{restates}")
    elif entry.done_when:
        done = "; ".join(f"{k}: {' or '.join(v)}" if v else f"{k} known" for k, v in entry.done_when)
        lines.append(f"      done once: {done}")
    return lines


def _lookup(vocab: Vocabulary, key: str) -> FactKey | ConclusionKey | NextStep | None:
    return vocab.fact(key) or vocab.conclusion(key) or vocab.step(key)


@click.command(
    "vocab",
    context_settings=CONTEXT,
    help=f"""List every fact, conclusion and next step, or KEY.

What rules and cases may name: every fact with its values, every conclusion
with its values and every next step, each with its label and description, and
the section headings a rule may cite; or KEY alone.

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor vocab
  imt-tutor vocab site
  imt-tutor vocab working_diagnosis --format json
""",
)
@click.argument("key", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def vocab_command(state: State, key: str | None, fmt: str) -> None:
    vocab = state.base.vocabulary
    if key is not None:
        entry = _lookup(vocab, key)
        if entry is None:
            names = [e.id for e in (*vocab.facts, *vocab.conclusions, *vocab.next_steps)]
            raise click.BadParameter(
                f"no fact, conclusion or next step '{escape(key)}'{did_you_mean(key, names)}", param_hint="KEY"
            )
        if fmt == "json":
            click.echo(json.dumps({**_entry_json(entry), "disclaimer": DISCLAIMER}, indent=2, ensure_ascii=False))
        else:
            click.echo("\n".join(_entry_lines(entry)))
        return
    if fmt == "json":
        doc = {
            "facts": [_entry_json(f) for f in vocab.facts],
            "conclusions": [_entry_json(c) for c in vocab.conclusions],
            "next_steps": [_entry_json(s) for s in vocab.next_steps],
            "sections": list(vocab.sections),
            "disclaimer": DISCLAIMER,
        }
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    lines = [f"*** {DISCLAIMER} ***", "", "Facts (what a case reveals, under 'reveal'; rules test them):"]
    for fact in vocab.facts:
        lines += _entry_lines(fact)
    lines += ["", "Conclusions (what rules conclude; conclusion questions ask for them):"]
    for conclusion in vocab.conclusions:
        lines += _entry_lines(conclusion)
    lines += ["", "Next steps (what rules suggest or accept; next_steps questions offer them):"]
    for step in vocab.next_steps:
        lines += _entry_lines(step)
    lines += ["", "Sections of the source document (a rule's 'source'):"]
    lines += [f"  {section}" for section in vocab.sections]
    click.echo("\n".join(lines))


# --------------------------------------------------------------------- new-case


def _moved(location: Location | None, target: Path) -> Location:
    """A location in the trial copy of a new case, as a location in ``target``."""
    if location is None:
        return Location(str(target))
    return Location(str(target), location.line, location.column)


def write_new(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, never over an existing file: a
    temporary file beside it, linked into place (or created exclusively where
    links are not supported)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:  # no hard links here: fall back to an exclusive create
            with open(path, "x", encoding="utf-8") as out:
                out.write(text)
    finally:
        os.unlink(tmp)


@click.command(
    "new-case",
    context_settings=CONTEXT,
    help=f"""Write a fictional skeleton case that check passes.

CASE_ID.yaml, commented, with stages and questions whose answers the rules
derive. It never overwrites a file.

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor new-case lung-night-cough --site lung
  imt-tutor new-case pelvis-incidental --site pelvis --out my-cases/
""",
)
@click.argument("case_id")
@click.option("--site", default="lung", show_default=True, help="The site the first stage reveals.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The folder to write it in.",
)
@click.pass_context
def new_case_command(ctx: click.Context, case_id: str, site: str, out_dir: Path) -> None:
    state: State = ctx.obj
    if not KEBAB.fullmatch(case_id):
        raise click.BadParameter(
            f"'{escape(case_id)}' is not kebab-case (like 'lung-night-cough')", param_hint="CASE_ID"
        )
    vocab = state.base.vocabulary
    site_fact = vocab.fact("site")
    if site_fact is None or site not in site_fact.value_ids:
        values = site_fact.value_ids if site_fact else ()
        raise click.BadParameter(
            f"unknown site '{escape(site)}'{did_you_mean(site, values)}; one of {', '.join(values)}",
            param_hint="--site",
        )
    if not out_dir.is_dir():
        raise DataError("folder not found", Location(str(out_dir)))
    target = out_dir / f"{case_id}.yaml"
    if target.exists():
        raise DataError(
            "a file of that name exists; it is left as it is (choose another CASE_ID)", Location(str(target))
        )
    schema = SCHEMAS / "case.schema.json"
    pointer = None
    if schema.is_file() and not os.path.relpath(out_dir.resolve(), SCHEMAS.parent).startswith(".."):
        pointer = os.path.relpath(schema, out_dir.resolve())  # for an editor, inside a checkout
    text = case_skeleton(vocab, case_id, site, pointer)
    with tempfile.TemporaryDirectory() as tmp:  # the skeleton must pass 'check' before it is written
        trial = Path(tmp) / target.name
        trial.write_text(text, encoding="utf-8")
        result = check([trial], rules_dir=state.rules_path, engine=_engine_factory(state))
    if result.errors:
        errors = [
            DataError(p.message, Location(str(target), p.location.line, p.location.column) if p.location else None)
            for p in result.errors
        ]
        raise DataErrors(errors)
    try:
        write_new(target, text)
    except FileExistsError:
        raise DataError("a file of that name exists; it is left as it is", Location(str(target))) from None
    except OSError as error:
        raise DataError(f"cannot write the file: {error.strerror or error}", Location(str(target))) from None
    stages = text.count("\n  - id: ")
    click.echo(f"Wrote {escape(str(target))}: a fictional skeleton with {stages} stages; 'imt-tutor check' passes it.")
    click.echo(f"Rewrite its narratives and teaching points, then run: imt-tutor check {escape(str(target))}")


# --------------------------------------------------------------------- graph


@click.command(
    "graph",
    context_settings=CONTEXT,
    help=f"""Draw the rule network: facts, rules, conclusions, steps.

Facts -> rules -> conclusions -> next steps. Mermaid output pastes into a Markdown file (a 'mermaid' code block) and
renders on a code host; DOT output goes to Graphviz ('dot -Tsvg'). With
--case, the path that case takes (facts revealed, rules fired, conclusions
drawn, steps suggested or accepted at any stage) is highlighted; --only-path
draws that path alone.

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor graph > rules.mmd
  imt-tutor graph --case lung-no-mass-on-imaging --only-path
  imt-tutor graph --format dot | dot -Tsvg > rules.svg
""",
)
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True)
@click.option(
    "--case", "case_ref", metavar="CASE_ID", help="Highlight the path this case takes (an ID or a case file)."
)
@click.option("--only-path", is_flag=True, help="With --case: draw only that case's path.")
@CASES_DIR_OPTION
@click.pass_context
def graph_command(ctx: click.Context, fmt: str, case_ref: str | None, only_path: bool, cases_dir: Path | None) -> None:
    from ..cases import facts_at
    from ..render.graph import CasePath, dot, mermaid

    state: State = ctx.obj
    base = state.base
    path: CasePath | None = None
    if only_path and case_ref is None:
        raise click.UsageError("--only-path needs --case CASE_ID")
    if case_ref is not None:
        case = find_case_in(state, case_ref, cases_dir)
        engine = state.engine(ctx)
        path = CasePath.of(case.id, [engine.infer(facts_at(case, i)) for i in range(len(case.stages))])
    render = mermaid if fmt == "mermaid" else dot
    click.echo(render(base, path, only_path=only_path), nl=False)
