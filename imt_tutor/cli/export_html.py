"""``imt-tutor export html``: one self-contained page per case, an index, and
(``--single-file``) every case in one page.

The page's words are the runner's: :func:`case_page_for` answers a
:class:`~imt_tutor.runner.CaseRun` with the key, question by question, and
keeps what ``why``, ``hint``, ``why-not`` (before and after the answer),
``how`` and the recap say at each point, so that a page shows nothing a
terminal would not show at the same point. :mod:`imt_tutor.render.html` turns
that into the page."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from .. import DISCLAIMER, __version__
from ..cases import load_cases
from ..engines import Engine, engine_label
from ..errors import shown
from ..files import size_text, write_atomic
from ..models import Case, RuleBase
from ..render.html import CasePage, QuestionWords, case_page, index_page, single_file_page
from ..runner import CaseRun
from . import CONTEXT
from .common import CASES_DIR_OPTION, State, cases_folder, find_case_in

__all__ = ["SINGLE_FILE", "case_page_for", "html_command", "page_stamp"]

SINGLE_FILE = "all-cases.html"
INDEX = "index.html"
#: What a bundled case's page may weigh at most (a test checks every one).
PAGE_LIMIT = 300 * 1024


def page_stamp(rules_path: Path, case: Case, engine: Engine) -> str:
    """The stamp ``imt-tutor grade`` gives the same case graded with the same
    rules, version and engine (so a page and a gradebook can be matched)."""
    from ..files import read_capped
    from ..grading import stamp

    rules = [(p.name, read_capped(p, 16 * 1024 * 1024)) for p in sorted(Path(rules_path).glob("*.yaml"))]
    return stamp(rules, read_capped(case.path, 16 * 1024 * 1024), __version__, engine_label(engine.name))


def case_page_for(base: RuleBase, engine: Engine, case: Case, stamp: str) -> CasePage:
    """Everything the page of ``case`` shows, in the runner's words.

    Each question's ``why``, hints and ``why-not`` are taken before it is
    answered; then it is answered with the key (the questions before it
    answered too, as a student reaching it would have), and ``why-not``,
    ``how`` and the recap are taken after."""
    run = CaseRun(base, engine, case)
    run.check_key()
    key = run.key
    words: list[QuestionWords] = []
    for item in run.items:
        question = key.question(item.qid)
        why = tuple(run.why(item.qid))
        hints = tuple(run.hint(item.qid, tier) for tier in range(4))
        needs = tuple((o, tuple(run.why_not_command(item.qid, o))) for o in question.option_ids)
        run.answer(item.qid, question.expected)
        explain = tuple((o, tuple(run.why_not_command(item.qid, o))) for o in question.option_ids)
        how = tuple(run.how(item.qid))
        recap = tuple(run.recap(item.stage_index, force=True))
        words.append(QuestionWords(item.qid, why, hints, needs, explain, how, recap))
    return CasePage(key, tuple(words), stamp, __version__, engine_label(engine.name))


def _unique(cases: Sequence[Case]) -> list[Case]:
    seen: dict[str, Case] = {}
    for case in cases:
        seen.setdefault(case.id, case)
    return list(seen.values())


@click.command(
    "html",
    context_settings=CONTEXT,
    help=f"""Write one self-contained HTML page per case, and an index, for the browser.

Each CASE (an ID from 'imt-tutor cases', or a case file; default: every case
of the cases folder) becomes OUT/CASE_ID.html, and OUT/index.html lists them.
A page needs no server, no install and no network: it works from a file, with
inline CSS and script and no external resource. The student works the case
stage by stage, with the terminal's explanations, hints and scores; progress
is kept in the browser; 'Download my answers' saves an answers file that
'imt-tutor grade' and 'imt-tutor run --answers' read.

A page carries its own answer key (in its source): it is for practice. Grade
handed-in answers files with 'imt-tutor grade'.

--single-file also writes OUT/{SINGLE_FILE}, every case in one page with a
case menu (for an LMS that takes one file).

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor export html --out pages/
  imt-tutor export html lung-cough-alk-positive --out pages/
  imt-tutor export html --out pages/ --single-file --cases-dir my-cases/
""",
)
@click.argument("case_refs", metavar="[CASE]...", nargs=-1)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write the pages to (made if missing).",
)
@CASES_DIR_OPTION
@click.option(
    "--rules-dir",
    "rules_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Use the rule base in this folder (as the global --rules-dir does).",
)
@click.option("--single-file", is_flag=True, help=f"Also write every case into one page, {SINGLE_FILE}.")
@click.pass_context
def html_command(
    ctx: click.Context,
    case_refs: tuple[str, ...],
    out: Path,
    cases_dir: Path | None,
    rules_dir: Path | None,
    single_file: bool,
) -> None:
    state: State = ctx.find_object(State)  # type: ignore[assignment]
    if rules_dir is not None:
        state = State(rules_dir, state.engine_choice)
    base = state.base
    if case_refs:
        cases = _unique([find_case_in(state, ref, cases_dir) for ref in case_refs])
    else:
        cases = list(load_cases(cases_folder(cases_dir), base.vocabulary))
    if not cases:
        raise click.UsageError("no case to export: the cases folder holds none")
    engine = state.engine(ctx)
    pages = [case_page_for(base, engine, case, page_stamp(state.rules_path, case, engine)) for case in cases]
    written: list[tuple[Path, int]] = []

    def write(path: Path, text: str) -> None:
        data = text.encode("utf-8")
        write_atomic(path, data, make_parents=True, what="cannot write the page")
        written.append((path, len(data)))

    for page in pages:
        write(out / f"{page.key.case_id}.html", case_page(base.vocabulary, page))
    if single_file:
        write(out / SINGLE_FILE, single_file_page(base.vocabulary, pages, __version__))
    write(out / INDEX, index_page(pages, __version__, SINGLE_FILE if single_file else None))
    click.echo(f"*** {DISCLAIMER} ***")
    click.echo(f"Wrote {len(written)} files to {shown(str(out))}:")
    for path, size in written:
        click.echo(f"  {shown(path.name)}  ({size_text(size)})")
    click.echo(f"Open {shown(str(out / INDEX))} in a browser. A page carries its own answer key: it is for practice.")
