"""``imt-tutor rules``: the rules, one rule, or the source document section by
section with the facts the rules encode from it (the fidelity table)."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import click

from .. import DISCLAIMER
from ..errors import did_you_mean, shown
from ..fidelity import SectionOutline, by_section, fidelity_path, load_fidelity
from ..models import Rule, RuleBase
from ..render.text import wrap_lines
from ..render.words import condition_text
from . import CONTEXT
from .common import State

__all__ = ["rules_command"]

WIDTH = 80


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


def _bullet(text: str) -> list[str]:
    return textwrap.wrap(
        text, WIDTH, initial_indent="  - ", subsequent_indent="    ", break_long_words=False, break_on_hyphens=False
    )


def _section_text(outline: SectionOutline) -> list[str]:
    """A section heading, the facts the rules encode from it (with the rules), then those they do not."""
    lines = ["", outline.section]
    encoded = [r for r in outline.rows if r.encoded]
    skipped = [r for r in outline.rows if not r.encoded]
    if not outline.rows:
        lines.append("  (no fact of this section is in the fidelity table)")
    for row in encoded:
        lines += [*_bullet(row.claim), f"    rules: {', '.join(row.rules)}  [{row.id}]"]
    if skipped:
        lines.append("  Not encoded by the rules:")
        for row in skipped:
            lines += [*_bullet(row.claim), f"    why: {row.not_encoded}  [{row.id}]"]
    if outline.unlisted_rules:
        lines.append(f"  Rules citing this section that no fact lists: {', '.join(outline.unlisted_rules)}")
    return lines


def _by_section(state: State, fmt: str) -> None:
    base = state.base
    path = fidelity_path(state.rules_path)
    outline = by_section(base, load_fidelity(path, base))
    if fmt == "json":
        doc = {"fidelity_table": str(path), "sections": [o.as_dict() for o in outline], "disclaimer": DISCLAIMER}
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    rows = sum(len(o.rows) for o in outline)
    encoded = sum(1 for o in outline for r in o.rows if r.encoded)
    lines = [
        f"*** {DISCLAIMER} ***",
        "",
        f"The source document, section by section: {encoded} of its {rows} facts are encoded by the rules "
        f"(fidelity table: {path}).",
    ]
    for section in outline:
        lines += _section_text(section)
    lines += ["", "Show a rule with: imt-tutor rules RULE_ID"]
    click.echo("\n".join(wrap_lines(lines, WIDTH)))


@click.command(
    "rules",
    context_settings=CONTEXT,
    help=f"""List the rules, or show RULE_ID, each with the section it cites.

With --by-section: each section of the source document, the facts the rules
encode from it and the rules that do it, and the facts they do not encode, with
the reason (the fidelity table).

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor rules
  imt-tutor rules mass-needs-biopsy
  imt-tutor rules --format markdown > RULES.md
  imt-tutor rules --by-section
""",
)
@click.argument("rule_id", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option(
    "--by-section", is_flag=True, help="Show the document's sections with the facts the rules encode from each."
)
@click.pass_obj
def rules_command(state: State, rule_id: str | None, fmt: str, by_section: bool) -> None:
    if by_section:
        if rule_id is not None:
            raise click.UsageError("--by-section shows every section; it takes no RULE_ID")
        if fmt == "markdown":
            raise click.UsageError("--by-section shows text or JSON (--format text or --format json)")
        _by_section(state, fmt)
        return
    base = state.base
    chosen = list(base.rules)
    if rule_id is not None:
        rule = base.rule(rule_id)
        if rule is None:
            ids = [r.id for r in base.rules]
            raise click.BadParameter(f"no rule '{shown(rule_id)}'{did_you_mean(rule_id, ids)}", param_hint="RULE_ID")
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
