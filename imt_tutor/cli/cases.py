"""``imt-tutor cases``: the fictional teaching cases."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import DISCLAIMER
from ..check import escape, load_cases_reporting
from ..models import Case
from ..render.text import wrap_lines
from . import CONTEXT
from .common import CASES_DIR_OPTION, State, cases_folder

__all__ = ["cases_command"]


@click.command(
    "cases",
    context_settings=CONTEXT,
    help=f"""List the fictional teaching cases: ID, title, summary, stages.

A file of the folder that is not a valid case is reported on standard error,
one line per problem (and the exit code is 1); the good cases are still listed.

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
@click.pass_context
def cases_command(ctx: click.Context, fmt: str, cases_dir: Path | None) -> None:
    state: State = ctx.obj
    folder = cases_folder(cases_dir)
    cases, problems = load_cases_reporting(folder, state.base.vocabulary)
    bad = [f"{escape(str(p))} [{p.code}]" for p in problems]
    files = len({p.location.path for p in problems if p.location is not None})
    try:
        _list(cases, folder, fmt, bad, files)
    finally:
        for line in bad:
            click.echo(line, err=True)
    if bad:
        ctx.exit(1)


def _list(cases: list[Case], folder: Path, fmt: str, bad: list[str], files: int) -> None:
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
            "problems": bad,
            "disclaimer": DISCLAIMER,
        }
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    lines = [f"*** {DISCLAIMER} ***", "", f"{len(cases)} fictional cases (cases folder: {folder}):"]
    for c in cases:
        lines += ["", f"{c.id}  ({len(c.stages)} stages)", f"  {c.title}", f"  {c.summary}"]
    if bad:
        what = (
            "1 file of the folder is not a valid case"
            if files == 1
            else f"{files} files of the folder are not valid cases"
        )
        lines += ["", f"{what}: see the problems on standard error."]
    lines += ["", "Work through one with: imt-tutor run CASE_ID"]
    click.echo("\n".join(wrap_lines(lines)))
