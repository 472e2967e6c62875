"""The README stays true: its minimal rule, case and answers file are valid,
and it states the disclaimer and the two commands CI runs."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from imt_tutor import DISCLAIMER
from imt_tutor.answers import check_answers, load_answers
from imt_tutor.cases import load_case
from imt_tutor.engines.builtin import BuiltinEngine
from imt_tutor.files import rules_dir
from imt_tutor.loading import load_yaml_file, load_yaml_text
from imt_tutor.rulebase import NOT_RULE_FILES, load_rulebase, parse_rule_files

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BASE = load_rulebase(rules_dir())


def block_after(marker: str, lang: str = "yaml") -> str:
    start = README.index(marker)
    match = re.compile(rf"```{lang}\n(.*?)```", re.S).search(README, start)
    assert match, marker
    return match.group(1)


def test_readme_minimal_rule_is_valid():
    readme = load_yaml_text(block_after("A minimal rule:"), "README.md")
    (shown,) = readme["rules"]
    # It chains on the bundled rules: validate it in their place.
    documents = []
    for path in sorted(rules_dir().glob("*.yaml")):
        if path.name in NOT_RULE_FILES:
            continue
        data = load_yaml_file(path)
        for i in reversed(range(len(data["rules"]))):
            if data["rules"][i]["id"] == shown["id"]:
                del data["rules"][i]
        documents.append((str(path), data))
    base = parse_rule_files(BASE.vocabulary, [*documents, ("README.md", readme)])
    assert base.rule(shown["id"]) == BASE.rule(shown["id"])  # the README shows a real rule, verbatim


def test_readme_minimal_case_and_answers_are_valid(tmp_path):
    case_file = tmp_path / "lung-no-mass-on-imaging.yaml"
    case_file.write_text(block_after("## A minimal case"), encoding="utf-8")
    case = load_case(case_file, BASE.vocabulary)
    answers = tmp_path / "answers.yaml"
    answers.write_text(block_after("An answers file"), encoding="utf-8")
    sheet = load_answers(answers, BASE.vocabulary)
    check_answers(sheet, case)
    assert BuiltinEngine(BASE).infer(case.stages[0].reveal).suggestions()[0][0] == "cross_sectional_imaging"


def test_readme_states_the_disclaimer_and_the_ci_command():
    assert "TEACHING AID ONLY" in README and "never a diagnostic tool" in README
    assert DISCLAIMER.split(" - ")[0] in README
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"
    assert test_command in README
    assert test_command in ci
    main_command = "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/imt-tutor run lung-cough-alk-positive"
    assert main_command in README


# --------------------------------------------------------------------- the README's outputs are real

ROOT = Path(__file__).resolve().parent.parent
# Commands whose output the README shows and that need nothing but the checkout.
CHECKED = (
    "imt-tutor cases",
    "imt-tutor key lung-no-mass-on-imaging",
    "imt-tutor infer examples/lung-mass.yaml --why-not surgical_resection",
    "imt-tutor rules mass-needs-biopsy",
    "imt-tutor --version",
    "imt-tutor infer --fact site=abdomen --fact histology=nondiagnostc",
    "imt-tutor run lung-cough-alk-positive --answers examples/lung-mass.yaml",
    "imt-tutor vocab site",
)


def readme_examples() -> list[tuple[str, list[str]]]:
    """(command, the output lines the README shows) for each ``$ imt-tutor`` line of a text block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    out: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```text\n(.*?)```", text, flags=re.S):
        lines = block.rstrip("\n").split("\n")
        current: list[str] | None = None
        command = ""
        for line in lines:
            if line.startswith("$ "):
                if current is not None:
                    out.append((command, current))
                command, current = line[2:], []
                continue
            if current is None:
                continue
            if command.endswith("\\"):
                command = command[:-1] + line.strip()
                continue
            current.append(line)
        if current is not None:
            out.append((command, current))
    return out


def matches(shown: list[str], real: list[str]) -> bool:
    """Whether ``real`` is ``shown`` where a line ``...`` stands for any number of lines."""
    if not shown:
        return not real
    if shown[0].strip() == "...":
        return any(matches(shown[1:], real[i:]) for i in range(len(real) + 1))
    return bool(real) and shown[0] == real[0] and matches(shown[1:], real[1:])


def test_every_checked_command_is_in_the_readme() -> None:
    commands = [c for c, _ in readme_examples()]
    assert [c for c in CHECKED if c not in commands] == []


@pytest.mark.parametrize("command", CHECKED)
def test_readme_output_is_what_the_command_prints(command: str) -> None:
    from imt_tutor.engines import durable

    if not durable.available():
        pytest.skip("the README shows the durable_rules engine's output")
    shown = next(lines for c, lines in readme_examples() if c == command)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")} | {"NO_COLOR": "1"}
    exe = Path(sys.executable).parent / "imt-tutor"
    args = shlex.split(command)[1:]
    result = subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=ROOT, env=env)
    real = (result.stdout + result.stderr).replace(f"{ROOT}/", "").rstrip("\n").split("\n")
    assert matches(shown, real), "\n".join(["README shows:", *shown, "", "the command prints:", *real])
