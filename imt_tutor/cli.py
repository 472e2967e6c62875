"""The command line: load, call the library, echo. Nothing clinical happens here.

Library errors become one-line messages with exit 1; usage errors are click's
(exit 2). TEACHING AID ONLY - never a diagnostic tool.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from . import DISCLAIMER, __version__
from .data import rules_dir
from .errors import DataError, ImtTutorError
from .explain import condition_text
from .inference import ENGINE_CHOICES, default_engine_name, engine_label, make_engine
from .loading import load_yaml_file, load_yaml_stream
from .models import Facts, Rule, RuleBase
from .report import infer_json, infer_text
from .rulebase import load_rulebase
from .vocabulary import Problems, did_you_mean, parse_fact_options, parse_facts

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
            data = load_yaml_stream(click.get_binary_stream("stdin"), "<stdin>", expect=dict)
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
@click.option("--fact", "fact_options", multiple=True, metavar="KEY=VALUE", help="A fact; repeat it, or KEY=a,b for a list.")
@click.option("--why-not", "why_not_steps", multiple=True, metavar="STEP", help="Explain why STEP is (not) suggested.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def infer(state: State, facts_file: str | None, fact_options: tuple[str, ...], why_not_steps: tuple[str, ...], fmt: str) -> None:
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
    from .explain import why_not

    why = [why_not(base, inference, s) for s in why_not_steps] if why_not_steps else None
    label = engine_label(engine.name)
    if fmt == "json":
        click.echo(json.dumps(infer_json(inference, base.vocabulary, label, why), indent=2, ensure_ascii=False))
    else:
        click.echo(infer_text(inference, base.vocabulary, label, why))


# --------------------------------------------------------------------- rules


def _rule_json(rule: Rule, base: RuleBase) -> dict[str, Any]:
    return {
        "id": rule.id,
        "when": condition_text(base.vocabulary, rule.when),
        "conclude": [{"key": k, "value": v} for k, v in rule.conclude],
        "suggest": list(rule.suggest),
        "explanation": rule.explanation,
        "source": rule.source,
        "defined_at": str(rule.location) if rule.location else None,
    }


def _rule_text(rule: Rule, base: RuleBase) -> list[str]:
    vocab = base.vocabulary
    lines = [f"{rule.id}  [{rule.source}]", f"  when: {condition_text(vocab, rule.when)}"]
    lines += [f"  concludes: {vocab.label(k)}: {vocab.label(k, v)}" for k, v in rule.conclude]
    lines += [f"  suggests: {vocab.label(s)}" for s in rule.suggest]
    lines.append(f"  because: {rule.explanation}")
    if rule.location is not None:
        lines.append(f"  defined at: {rule.location}")
    return lines


def _rule_markdown(rule: Rule, base: RuleBase) -> list[str]:
    vocab = base.vocabulary
    then = [f"{vocab.label(k)}: {vocab.label(k, v)}" for k, v in rule.conclude]
    then += [f"suggest {vocab.label(s)}" for s in rule.suggest]
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
    click.echo("\n".join(lines))


def run() -> None:  # pragma: no cover - console entry for python -m
    main(prog_name="imt-tutor")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
