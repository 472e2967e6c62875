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
    help=f"""List the fictional teaching cases: ID, title, a teaser that gives nothing
away, stages. --instructor shows each case's summary instead (which may tell
how the case ends).

A file of the folder that is not a valid case is reported on standard error,
one line per problem (and the exit code is 1); the good cases are still listed.

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor cases
  imt-tutor cases --instructor
  imt-tutor cases --format json
  imt-tutor cases --cases-dir my-cases/
""",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--instructor", is_flag=True, help="Show each case's summary (it may give the outcome away).")
@CASES_DIR_OPTION
@click.pass_context
def cases_command(ctx: click.Context, fmt: str, instructor: bool, cases_dir: Path | None) -> None:
    state: State = ctx.obj
    folder = cases_folder(cases_dir)
    cases, problems = load_cases_reporting(folder, state.base.vocabulary)
    bad = [f"{escape(str(p))} [{p.code}]" for p in problems]
    files = len({p.location.path for p in problems if p.location is not None})
    try:
        _list(cases, folder, fmt, bad, files, instructor)
    finally:
        for line in bad:
            click.echo(line, err=True)
    if bad:
        ctx.exit(1)


def _list(cases: list[Case], folder: Path, fmt: str, bad: list[str], files: int, instructor: bool) -> None:
    if fmt == "json":
        doc = {
            "cases": [
                {
                    "id": c.id,
                    "title": c.title,
                    "teaser": c.teaser,
                    **({"summary": c.summary} if instructor else {}),
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
        blurb = c.summary if instructor or not c.teaser else c.teaser
        lines += ["", f"{c.id}  ({len(c.stages)} stages)", f"  {c.title}", f"  {blurb}"]
    if bad:
        what = (
            "1 file of the folder is not a valid case"
            if files == 1
            else f"{files} files of the folder are not valid cases"
        )
        lines += ["", f"{what}: see the problems on standard error."]
    lines += ["", "Work through one with: imt-tutor run CASE_ID"]
    click.echo("\n".join(wrap_lines(lines)))
