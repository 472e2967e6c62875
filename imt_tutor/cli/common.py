"""What the commands share: the global options' state (rule base, engine), the
``--cases-dir`` option and finding a case. Errors are left to the group's
boundary (:class:`imt_tutor.cli.ImtTutorGroup`).
"""

from __future__ import annotations

from pathlib import Path

import click

from ..cases import find_case
from ..engines import Engine, make_engine
from ..files import cases_dir as cases_dir_default
from ..files import rules_dir
from ..models import Case, RuleBase
from ..rulebase import load_rulebase

__all__ = ["CASES_DIR_OPTION", "State", "cases_folder", "find_case_in"]


class State:
    """Options shared by every command, resolved lazily."""

    def __init__(self, rules: Path | None, engine: str) -> None:
        self.rules_path = rules or rules_dir()
        self.engine_choice = engine
        self._base: RuleBase | None = None

    @property
    def base(self) -> RuleBase:
        if self._base is None:
            self._base = load_rulebase(self.rules_path)
        return self._base

    def engine(self, ctx: click.Context) -> Engine:
        """A new engine of the chosen kind, closed when ``ctx`` ends."""
        engine: Engine = ctx.with_resource(make_engine(self.base, self.engine_choice))
        return engine


CASES_DIR_OPTION = click.option(
    "--cases-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Use the cases in this folder instead of the bundled ones.",
)


def cases_folder(cases_dir: Path | None) -> Path:
    return cases_dir or cases_dir_default()


def find_case_in(state: State, ref: str, cases_dir: Path | None) -> Case:
    """The case ``ref`` names (an ID of the cases folder, or a case file)."""
    return find_case(ref, cases_folder(cases_dir), state.base.vocabulary)
