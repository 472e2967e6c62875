"""``imt-tutor export moodle`` and ``imt-tutor export qti``: the cases as
quizzes that Moodle's question bank and Canvas (Classic Quizzes) import, each
option's feedback in the rules' words. TEACHING AID ONLY.

Both are subcommands of the ``export`` group (``imt_tutor.cli.export``), which
loads them from here when they are used. The files are written atomically:
an interrupted export leaves the old file, never half of one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from .. import DISCLAIMER
from ..cases import load_cases
from ..errors import shown
from ..feedback import CaseKey, build_key
from ..files import write_atomic
from ..models import Case
from ..render.quiz import moodle_xml, qti_package
from . import CONTEXT
from .common import CASES_DIR_OPTION, State, cases_folder, find_case_in

__all__ = ["moodle_command", "qti_command"]


def _cases(state: State, refs: Sequence[str], cases_dir: Path | None) -> list[Case]:
    """The cases ``refs`` name (each once, in the order given), or every case of the folder."""
    if not refs:
        return list(load_cases(cases_folder(cases_dir), state.base.vocabulary))
    cases: dict[str, Case] = {}
    for ref in refs:
        case = find_case_in(state, ref, cases_dir)
        cases.setdefault(case.id, case)
    return list(cases.values())


def _keys(ctx: click.Context, refs: Sequence[str], cases_dir: Path | None) -> list[CaseKey]:
    state: State = ctx.obj
    engine = state.engine(ctx)
    return [build_key(state.base, engine, case) for case in _cases(state, refs, cases_dir)]


def _done(out: Path, keys: Sequence[CaseKey]) -> None:
    questions = sum(len(k.questions) for k in keys)
    cases = "1 case" if len(keys) == 1 else f"{len(keys)} cases"
    click.echo(f"Wrote {questions} questions from {cases} to {shown(str(out))}", err=True)


_OUT = click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (replaced atomically).",
)


@click.command(
    "moodle",
    context_settings=CONTEXT,
    help=f"""Write the cases as Moodle XML questions.

The CASEs named (IDs or case files), or every case of the folder: one
question category per case ($course$/top/imt-tutor/CASE_ID) and one
multiple-choice question per case question, idnumber CASE_ID/STAGE.QUESTION.
Import it in Moodle: Question bank > Import > Moodle XML format, with "Get
category from file" ticked. Importing a question whose idnumber is already
in that category adds a copy (without the idnumber): import into a fresh
category, or delete the old questions first.

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor export moodle --out imt-cases.xml
  imt-tutor export moodle lung-cough-alk-positive --out lung-cough.xml
""",
)
@click.argument("case_refs", nargs=-1, metavar="[CASE]...")
@_OUT
@CASES_DIR_OPTION
@click.pass_context
def moodle_command(ctx: click.Context, case_refs: tuple[str, ...], out: Path, cases_dir: Path | None) -> None:
    state: State = ctx.obj
    keys = _keys(ctx, case_refs, cases_dir)
    write_atomic(out, moodle_xml(state.base.vocabulary, keys), what="cannot write the Moodle XML file")
    _done(out, keys)


@click.command(
    "qti",
    context_settings=CONTEXT,
    help=f"""Write the cases as a QTI 1.2 package for Canvas.

The CASEs named (IDs or case files), or every case of the folder, as an IMS
QTI 1.2 zip: one quiz per case, one multiple-answers question per case
question. Import it in Canvas: Settings > Import course content > QTI .zip
file. Made for Classic Quizzes; New Quizzes converts it with its own
converter, less reliably.

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor export qti --out imt-cases.zip
  imt-tutor export qti lung-cough-alk-positive --out lung-cough.zip
""",
)
@click.argument("case_refs", nargs=-1, metavar="[CASE]...")
@_OUT
@CASES_DIR_OPTION
@click.pass_context
def qti_command(ctx: click.Context, case_refs: tuple[str, ...], out: Path, cases_dir: Path | None) -> None:
    state: State = ctx.obj
    keys = _keys(ctx, case_refs, cases_dir)
    write_atomic(out, qti_package(state.base.vocabulary, keys), what="cannot write the QTI package")
    _done(out, keys)
