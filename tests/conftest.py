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


# --------------------------------------------------------------------- generated rule bases (large inputs)


def _vocabulary_text(
    facts: dict[str, list[str]], conclusions: dict[str, list[str]], steps: list[str], *, multi: bool = False
) -> str:
    lines = ["sections:", '  - "Source"', "facts:"]
    for key, values in facts.items():
        lines += [f"  {key}:", "    label: A fact", "    description: Generated."]
        lines += ["    multi: true", "    values:"] if multi else ["    values:"]
        lines += [f"      {v}: {{label: V, description: Generated.}}" for v in values]
    lines.append("conclusions:")
    for key, values in conclusions.items():
        lines += [f"  {key}:", "    label: A conclusion", "    description: Generated.", "    values:"]
        lines += [f"      {v}: {{label: V, description: Generated.}}" for v in values]
    lines.append("next_steps:")
    for step in steps:
        lines += [f"  {step}:", "    label: A step", "    description: Generated."]
    return "\n".join(lines) + "\n"


def _rule_text(rule_id: str, when: list[str], then: list[str]) -> list[str]:
    return [f"  - id: {rule_id}", "    when:", *when, "    then:", *then, "    explanation: G.", '    source: "Source"']


@pytest.fixture
def chain_rules(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``chain_rules(n, last_first=False)``: a rules folder of ``n`` rules in a chain.
    Rule ``link-i`` needs ``link_{i-1}: yes`` (the first needs ``start: go``) and
    concludes ``link_i: yes``; the last also suggests ``finish``. ``last_first``
    writes the file in reverse: each rule before the one it needs."""

    def make(n: int, last_first: bool = False) -> Path:
        folder = tmp_path / f"chain-{n}-{'rev' if last_first else 'fwd'}"
        folder.mkdir()
        links = {f"link_{i}": ["yes"] for i in range(n)}
        vocabulary = _vocabulary_text({"start": ["go", "stop"]}, links, ["finish"])
        (folder / "vocabulary.yaml").write_text(vocabulary, encoding="utf-8")
        rules = []
        for i in range(n):
            need = "      start: go" if i == 0 else f"      link_{i - 1}: yes"
            then = [f"      conclude: {{link_{i}: yes}}"] + (["      suggest: [finish]"] if i == n - 1 else [])
            rules.append(_rule_text(f"link-{i}", [need], then))
        if last_first:
            rules.reverse()
        text = "rules:\n" + "\n".join(line for rule in rules for line in rule) + "\n"
        (folder / "chain.yaml").write_text(text, encoding="utf-8")
        return folder

    return make


@pytest.fixture
def wide_rule(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``wide_rule(n)``: a rules folder whose one rule has ``n`` conditions in one
    ``all``, each ``fK: [a, b]``-like on one of 50 list-valued facts of 20 values."""
    import itertools

    def make(n: int) -> Path:
        folder = tmp_path / f"wide-{n}"
        folder.mkdir()
        letters = "abcdefghijklmnopqrst"
        facts = {f"f{k}": list(letters) for k in range(50)}
        vocabulary = _vocabulary_text(facts, {"result": ["yes"]}, ["finish"], multi=True)
        (folder / "vocabulary.yaml").write_text(vocabulary, encoding="utf-8")
        sets = [f"[{', '.join(c)}]" for size in (2, 3) for c in itertools.combinations(letters, size)]
        when = ["      all:", *(f"      - f{i % 50}: {sets[i // 50]}" for i in range(n))]
        rule = _rule_text("wide", when, ["      conclude: {result: yes}", "      suggest: [finish]"])
        (folder / "wide.yaml").write_text("rules:\n" + "\n".join(rule) + "\n", encoding="utf-8")
        return folder

    return make
