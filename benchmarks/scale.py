"""How imt-tutor's authoring and batch tools scale with the size of the data.

Usage: ``python benchmarks/scale.py [--repeat N]``

Each *figure* is one thing timed on the bundled data and on data N times its
size (rules and cases copied under new IDs). Goals are printed beside the
figures, never asserted in tests/. Add a figure by appending a
:class:`Figure` to :data:`FIGURES`; add a kind of scaled input by extending
:func:`scaled_data`.

Figures now:
- ``check``: ``imt-tutor check`` of the rules, vocabulary, fidelity table and
  cases (goal: well under 1 s on the bundled data, under 2 s at 10x).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from imt_tutor.check import check
from imt_tutor.files import cases_dir, rules_dir
from imt_tutor.rulebase import FIDELITY_FILE, VOCABULARY_FILE

ID_LINE = re.compile(r"^(\s*-?\s*id:\s*)([a-z0-9-]+)(\s*(?:#.*)?)$", re.M)


@dataclass(frozen=True)
class Data:
    """One size of input: a rules folder and a cases folder, with their counts."""

    scale: int
    rules: Path
    cases: Path
    rule_count: int
    case_count: int


@dataclass(frozen=True)
class Figure:
    """One timed figure: ``run`` does the work once on ``data``."""

    name: str
    goals: dict[int, float]  # scale -> seconds
    run: Callable[[Data], object]
    notes: Callable[[Data], list[str]] = lambda data: []


def _copy_rules(text: str, copy: int) -> str:
    """The rules of a rule file under new IDs (``-x<copy>``), chaining as before."""
    if copy == 0:
        return text
    body = text.split("\nrules:\n", 1)[1]
    return "rules:\n" + ID_LINE.sub(lambda m: f"{m.group(1)}{m.group(2)}-x{copy}{m.group(3)}", body)


def _copy_case(text: str, copy: int) -> tuple[str, str]:
    """A case under a new ID (``-x<copy>``), and that ID. Only the case's own ID
    changes (the first ``id:`` at the top level)."""
    match = re.search(r"^id:\s*([a-z0-9-]+)", text, re.M)
    assert match is not None
    new_id = f"{match.group(1)}-x{copy}" if copy else match.group(1)
    return text[: match.start(1)] + new_id + text[match.end(1) :], new_id


def scaled_data(folder: Path, scale: int) -> Data:
    """The bundled rules and cases, ``scale`` times over, under ``folder``."""
    rules, cases = folder / f"rules-x{scale}", folder / f"cases-x{scale}"
    rules.mkdir()
    cases.mkdir()
    source = rules_dir()
    for name in (VOCABULARY_FILE, FIDELITY_FILE):
        (rules / name).write_text((source / name).read_text(encoding="utf-8"), encoding="utf-8")
    rule_count = 0
    for path in sorted(source.glob("*.yaml")):
        if path.name in (VOCABULARY_FILE, FIDELITY_FILE):
            continue
        text = path.read_text(encoding="utf-8")
        for copy in range(scale):
            (rules / f"{path.stem}-{copy}.yaml").write_text(_copy_rules(text, copy), encoding="utf-8")
            rule_count += len(ID_LINE.findall(text.split("\nrules:\n", 1)[1]))
    case_count = 0
    for path in sorted(cases_dir().glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        for copy in range(scale):
            copied, case_id = _copy_case(text, copy)
            (cases / f"{case_id}.yaml").write_text(copied, encoding="utf-8")
            case_count += 1
    return Data(scale, rules, cases, rule_count, case_count)


def _check(data: Data) -> object:
    result = check(rules_dir=data.rules, cases_dir=data.cases)
    # A figure on data that does not check would measure the wrong thing. The copies of
    # the rules may pass durable_rules' structural limits: that is reported, and the
    # builtin evaluator checks the cases all the same.
    unexpected = [p for p in result.errors if p.code != "durable-limit"]
    if unexpected:
        raise SystemExit(f"scaled data x{data.scale} has errors: {unexpected[0]}")
    return result


def _check_notes(data: Data) -> list[str]:
    result = check(rules_dir=data.rules, cases_dir=data.cases)
    return [f"note: {p.message}" for p in result.errors]


FIGURES: list[Figure] = [
    Figure("check", {1: 1.0, 10: 2.0}, _check, _check_notes),
]


def _time(figure: Figure, data: Data, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        figure.run(data)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (the median is shown)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sizes = [scaled_data(Path(tmp), scale) for scale in (1, 10)]
        for figure in FIGURES:
            for data in sizes:
                elapsed = _time(figure, data, args.repeat)
                goal = figure.goals.get(data.scale)
                verdict = "" if goal is None else f" (goal < {goal:g} s{'' if elapsed < goal else ': MISSED'})"
                print(
                    f"{figure.name} x{data.scale} ({data.rule_count} rules, {data.case_count} cases): "
                    f"{elapsed:.3f} s{verdict}"
                )
                for line in figure.notes(data):
                    print(f"  {line}")


if __name__ == "__main__":
    main()
