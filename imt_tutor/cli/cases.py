"""``imt-tutor cases``: the fictional teaching cases."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import DISCLAIMER
from ..cases import load_cases
from ..render.text import wrap_lines
from . import CONTEXT
from .common import CASES_DIR_OPTION, State, cases_folder

__all__ = ["cases_command"]


@click.command(
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
    folder = cases_folder(cases_dir)
    cases = load_cases(folder, state.base.vocabulary)
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
