"""``imt-tutor infer``: conclusions and next steps from a fictional patient's facts."""

from __future__ import annotations

import json
import sys

import click

from .. import DISCLAIMER
from ..engines import engine_label
from ..errors import DataError, Location, Problems, did_you_mean, shown
from ..explain import why_not
from ..loading import load_yaml_file, load_yaml_stream
from ..models import Facts, Vocabulary
from ..render.json import infer_json
from ..render.text import infer_text, wrap_lines
from ..render.whatif import what_if_json, what_if_lines
from ..vocabulary import contradictions_in, parse_fact_options, parse_facts
from ..whatif import WhatIf, what_if
from . import CONTEXT
from .common import State

__all__ = ["infer"]


def _fact_options(vocab: Vocabulary, options: tuple[str, ...], problems: Problems) -> Facts:
    """The ``--fact`` options; their problems are located at ``--fact KEY`` (or the option as given)."""
    own = Problems()
    facts = parse_fact_options(vocab, options, problems=own)
    for error in own.errors:
        where = error.location.path if error.location is not None else ""
        problems.errors.append(DataError(error.message, Location(f"--fact {where}".rstrip()), code=error.code))
    return facts


def _what_if_options(vocab: Vocabulary, options: tuple[str, ...]) -> list[Facts]:
    """One changed fact per ``--what-if KEY=VALUE``; problems located at ``--what-if KEY``."""
    problems = Problems()
    out: list[Facts] = []
    for option in options:
        own = Problems()
        change = parse_fact_options(vocab, [option], problems=own)
        for error in own.errors:
            where = error.location.path if error.location is not None else ""
            problems.errors.append(DataError(error.message, Location(f"--what-if {where}".rstrip()), code=error.code))
        out.append(change)
    problems.raise_if_any()
    return out


def _read_facts(state: State, facts_file: str | None, options: tuple[str, ...]) -> Facts:
    vocab = state.base.vocabulary
    problems = Problems()
    facts = Facts()
    if facts_file == "-":
        data = load_yaml_stream(sys.stdin, "<stdin>", expect=dict)
        facts = parse_facts(vocab, data, problems=problems)
    elif facts_file is not None:
        data = load_yaml_file(facts_file, expect=dict)
        facts = parse_facts(vocab, data, problems=problems)
    extra = _fact_options(vocab, options, problems)
    problems.raise_if_any()
    return facts.merged(extra)


@click.command(
    "infer",
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
  imt-tutor infer examples/lung-mass.yaml --what-if imaging_finding=no_mass
""",
)
@click.argument("facts_file", required=False, metavar="[FACTS_FILE|-]")
@click.option(
    "--fact", "fact_options", multiple=True, metavar="KEY=VALUE", help="A fact; repeat it, or KEY=a,b for a list."
)
@click.option("--why-not", "why_not_steps", multiple=True, metavar="STEP", help="Explain why STEP is (not) suggested.")
@click.option(
    "--what-if",
    "what_if_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Show what changes if this fact were so, each change with its rule; repeat it for other what-ifs.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def infer(
    ctx: click.Context,
    facts_file: str | None,
    fact_options: tuple[str, ...],
    why_not_steps: tuple[str, ...],
    what_if_options: tuple[str, ...],
    fmt: str,
) -> None:
    state: State = ctx.obj
    if facts_file is None and not fact_options:
        raise click.UsageError("nothing to infer from: give FACTS_FILE, '-' or --fact KEY=VALUE")
    base = state.base
    steps = [s.id for s in base.vocabulary.next_steps]
    for step in why_not_steps:
        if step not in steps:
            raise click.BadParameter(
                f"unknown next step '{shown(step)}'{did_you_mean(step, steps)}", param_hint="--why-not"
            )
    facts = _read_facts(state, facts_file, fact_options)
    changes = _what_if_options(base.vocabulary, what_if_options)
    engine = state.engine(ctx)
    inference = engine.infer(facts)
    what_ifs: list[WhatIf] = [what_if(engine.infer, facts, change) for change in changes]
    why = [why_not(base, inference, s) for s in why_not_steps] if why_not_steps else None
    label = engine_label(engine.name)
    warnings = contradictions_in(base.vocabulary, facts)
    if fmt == "json":
        doc = infer_json(inference, base.vocabulary, label, why, warnings)
        if what_ifs:
            disclaimer = doc.pop("disclaimer")
            doc["what_if"] = [what_if_json(base.vocabulary, w) for w in what_ifs]
            doc["disclaimer"] = disclaimer
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        click.echo(infer_text(inference, base.vocabulary, label, why, warnings))
        for result in what_ifs:
            click.echo("\n" + "\n".join(wrap_lines(what_if_lines(base.vocabulary, result))))
