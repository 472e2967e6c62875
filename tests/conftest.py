"""Shared fixtures: the bundled rule base, both engines, the bundled cases, a CliRunner ``invoke``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from imt_tutor.cases import load_cases
from imt_tutor.engines import durable as durable_module
from imt_tutor.engines.builtin import BuiltinEngine
from imt_tutor.files import cases_dir, rules_dir
from imt_tutor.models import Case, RuleBase, Vocabulary
from imt_tutor.rulebase import load_rulebase

IMT = "myofibroblastic_spindle_cells_with_inflammatory_infiltrate"


@pytest.fixture(scope="session")
def base() -> RuleBase:
    return load_rulebase(rules_dir())


@pytest.fixture(scope="session")
def vocab(base: RuleBase) -> Vocabulary:
    return base.vocabulary


@pytest.fixture(scope="session")
def builtin(base: RuleBase) -> BuiltinEngine:
    return BuiltinEngine(base)


@pytest.fixture(scope="session")
def durable(base: RuleBase) -> Iterator[object]:
    """The durable_rules engine of the bundled rules (skipped where it cannot run)."""
    if not durable_module.available():
        pytest.skip("durable_rules cannot run on this Python")
    with durable_module.DurableEngine(base) as engine:
        yield engine


@pytest.fixture(scope="session", params=["builtin", "durable_rules"])
def any_engine(request: pytest.FixtureRequest, base: RuleBase) -> object:
    """Each engine in turn."""
    if request.param == "builtin":
        return request.getfixturevalue("builtin")
    return request.getfixturevalue("durable")


@pytest.fixture(scope="session")
def bundled_cases(vocab: Vocabulary) -> tuple[Case, ...]:
    return load_cases(cases_dir(), vocab)


@pytest.fixture
def invoke(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run the CLI in-process: ``invoke(args, input=None)``, no colour, data in tmp_path."""
    from imt_tutor.cli import main

    def run(args: list[str], input: str | None = None) -> Result:
        env = {"NO_COLOR": "1", "XDG_DATA_HOME": str(tmp_path)}
        return CliRunner().invoke(main, args, input=input, env=env)

    return run
