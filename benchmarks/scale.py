"""How imt-tutor's authoring and batch tools scale with the size of the data.

Usage: ``python benchmarks/scale.py [--repeat N] [--only NAME]... [--sizes K]... [--give-up S]
[--clock cpu|wall] [--default-gc]``

Each *figure* is one thing timed on the bundled data and on data N times its
size (rules and cases copied under new IDs). Goals are printed beside the
figures, never asserted in tests/. Add a figure by appending a
:class:`Figure` to :data:`FIGURES`; add a kind of scaled input by extending
:func:`scaled_data`.

Figures now:
- ``check``: ``imt-tutor check`` of the rules, vocabulary, fidelity table and
  cases (goal: well under 1 s on the bundled data, under 2 s at 10x).

Doubling figures (issue 11 §6, "every command is linear in its input"): each
builds a generated input at the issue's size N and at 2N, runs the command an
author (or an instructor) runs on it, and prints both times and their ratio.
Goals: the ratio at most 2.3 per doubling, and size N under 1 s (CPU time of
this process by default, ``--clock wall`` for the wall clock; with the garbage
collector tuned as the command line tunes it, ``--default-gc`` to keep Python's
defaults). Add one by appending a :class:`Doubling` to :data:`DOUBLINGS`.
``--only NAME`` (repeatable, a prefix) runs only some figures; ``--sizes K`` adds
the size K times N; a size over ``--give-up`` seconds skips the larger ones.
- ``chain-last-first``: a chain of 331 rules written last-first (rule i
  concludes what rule i+1 needs; the file lists them in reverse), through
  ``rules``, ``check``, ``infer`` and ``graph`` (goal: 1 s a command);
- ``wide-rule-*``, ``wide-rule-any-*``: one rule with 15,000 conditions (one
  ``all`` of value sets of 50 list-valued facts; or 100 ``any`` groups of 150),
  loaded (``load_rulebase``) and checked (``check``);
- ``chain-*``: a 3,000-rule chain written in order: loaded, checked, inferred
  (the builtin engine), and the four commands of ``chain-last-first``;
- ``key-stages``: ``key`` of a case with 5,000 stages;
- ``bad-answers``: a 512 KiB answers file full of bad picks (2N: 1 MiB, the
  largest file read), rejected by ``run --answers``;
- ``misspelt-rule-values``, ``misspelt-case-values``, ``misspelt-answer-picks``:
  2,000 misspelt values against an 8,000-value vocabulary, in a rule, a case's
  reveal and an answers file; every one needs a did-you-mean.
"""

from __future__ import annotations

import argparse
import functools
import gc
import itertools
import json
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from imt_tutor.check import check
from imt_tutor.errors import DataError
from imt_tutor.files import cases_dir, rules_dir
from imt_tutor.rulebase import FIDELITY_FILE, VOCABULARY_FILE, load_rulebase

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


# --------------------------------------------------------------------- doubling figures (issue 11 §6)


@dataclass(frozen=True)
class Doubling:
    """One figure timed at ``size`` and twice that: ``build`` writes the input
    for a size into a folder and returns it; ``run`` does the work once."""

    name: str
    size: int  # N, the size
    unit: str
    build: Callable[[Path, int], object]
    run: Callable[[object], object]
    goal: float = 1.0  # seconds at size N (a figure of several commands: 1 s each)


RATIO_GOAL = 2.3  # per doubling


def _vocabulary_yaml(
    facts: dict[str, list[str]],
    conclusions: dict[str, list[str]],
    steps: list[str],
    multi: Collection[str] = (),
) -> str:
    """A generated vocabulary (one section, ``Source``), as YAML text."""
    lines = ["sections:", '  - "Source"', "facts:"]
    for key, values in facts.items():
        lines += [f"  {key}:", f"    label: Fact {key}", "    description: A generated fact."]
        if key in multi:
            lines.append("    multi: true")
        lines.append("    values:")
        lines += [f"      {v}: {{label: V, description: D.}}" for v in values]
    lines.append("conclusions:")
    for key, values in conclusions.items():
        lines += [
            f"  {key}:",
            f"    label: Conclusion {key}",
            "    description: A generated conclusion.",
            "    values:",
        ]
        lines += [f"      {v}: {{label: V, description: D.}}" for v in values]
    lines.append("next_steps:")
    for step in steps:
        lines += [f"  {step}:", f"    label: Step {step}", "    description: A generated step."]
    return "\n".join(lines) + "\n"


def _rule_yaml(rule_id: str, when: list[str], then: list[str]) -> list[str]:
    """One rule of a rules list; ``when`` and ``then`` are lines already indented
    for their place under ``when:`` and ``then:``."""
    return [
        f"  - id: {rule_id}",
        "    when:",
        *when,
        "    then:",
        *then,
        "    explanation: A generated rule.",
        '    source: "Source"',
    ]


@dataclass(frozen=True)
class Folders:
    """A generated rules folder (and cases folder), and what to infer from."""

    rules: Path
    cases: Path
    facts: tuple[str, ...] = ()  # --fact KEY=VALUE for infer
    case: str = ""  # a case ID in ``cases``
    answers: Path | None = None
    size: int = 0  # how many problems it must be rejected with (the misspelt figures)


def _folders(folder: Path, name: str) -> Folders:
    rules, cases = folder / f"{name}-rules", folder / f"{name}-cases"
    rules.mkdir()
    cases.mkdir()
    return Folders(rules, cases)


def _chain(folder: Path, n: int, *, last_first: bool) -> Folders:
    """``n`` rules, rule i concluding ``link_i`` that rule i+1 needs; the last suggests ``finish``."""
    out = _folders(folder, f"chain-{n}-{'rev' if last_first else 'fwd'}")
    links = {f"link_{i:05d}": ["yes"] for i in range(n)}
    (out.rules / VOCABULARY_FILE).write_text(
        _vocabulary_yaml({"start": ["go", "stop"]}, links, ["finish"]), encoding="utf-8"
    )
    rules = []
    for i in range(n):
        need = "      start: go" if i == 0 else f"      link_{i - 1:05d}: yes"
        then = [f"      conclude: {{link_{i:05d}: yes}}"] + (["      suggest: [finish]"] if i == n - 1 else [])
        rules.append(_rule_yaml(f"link-{i:05d}", [need], then))
    if last_first:
        rules.reverse()
    (out.rules / "chain.yaml").write_text("rules:\n" + "\n".join(line for r in rules for line in r) + "\n")
    return Folders(out.rules, out.cases, ("start=go",))


LETTERS = "abcdefghijklmnopqrst"  # the 20 values of each fact of the wide rules


def _value_sets(n: int) -> list[str]:
    """``n`` distinct flow lists of two or three of :data:`LETTERS` (``[a, b]``)."""
    out: list[str] = []
    for size in (2, 3):
        for combo in itertools.combinations(LETTERS, size):
            out.append(f"[{', '.join(combo)}]")
            if len(out) == n:
                return out
    raise ValueError(f"at most {len(out)} value sets")


def _chain_in_order(folder: Path, n: int) -> Folders:
    return _chain(folder, n, last_first=False)


def _wide_vocabulary(facts: int, *, multi: bool) -> str:
    names = {f"f{k}": list(LETTERS) for k in range(facts)}
    return _vocabulary_yaml(names, {"result": ["yes"]}, ["finish"], multi=set(names) if multi else ())


def _wide_rule(folder: Path, n: int) -> Folders:
    """One rule with ``n`` conditions in one ``all``: each a value set of one of 50
    list-valued facts (``f7: [a, c]``; the vocabulary is the same at every size)."""
    out = _folders(folder, f"wide-{n}")
    facts = 50
    (out.rules / VOCABULARY_FILE).write_text(_wide_vocabulary(facts, multi=True), encoding="utf-8")
    sets = _value_sets(-(-n // facts))
    when = ["      all:", *(f"      - f{i % facts}: {sets[i // facts]}" for i in range(n))]
    rule = _rule_yaml("wide", when, ["      conclude: {result: yes}", "      suggest: [finish]"])
    (out.rules / "wide.yaml").write_text("rules:\n" + "\n".join(rule) + "\n", encoding="utf-8")
    return Folders(out.rules, out.cases, tuple(f"f{k}={','.join(LETTERS)}" for k in range(facts)))


def _wide_rule_any(folder: Path, n: int) -> Folders:
    """One rule with ``n`` conditions: an ``all`` of 100 ``any`` groups, each of
    value sets of one single-valued fact (the vocabulary is the same at every size)."""
    out = _folders(folder, f"wide-any-{n}")
    groups = 100
    (out.rules / VOCABULARY_FILE).write_text(_wide_vocabulary(groups, multi=False), encoding="utf-8")
    sets = _value_sets(n // groups)
    when = ["      all:"]
    for g in range(groups):
        when.append("      - any:")
        when += [f"        - f{g}: {values}" for values in sets]
    rule = _rule_yaml("wide-any", when, ["      conclude: {result: yes}", "      suggest: [finish]"])
    (out.rules / "wide.yaml").write_text("rules:\n" + "\n".join(rule) + "\n", encoding="utf-8")
    return Folders(out.rules, out.cases, tuple(f"f{g}=a" for g in range(groups)))


def _invoke(args: list[str], *, ok: Collection[int] = (0,)) -> str:
    """``imt-tutor ARGS`` in this process (click's runner); its exit code must be in ``ok``."""
    from click.testing import CliRunner

    from imt_tutor.cli import main as cli

    thresholds = gc.get_threshold()
    try:
        result = CliRunner().invoke(cli, args, catch_exceptions=True)
    finally:
        gc.set_threshold(*thresholds)  # the command tunes the collector for itself, not for later figures
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise SystemExit(f"imt-tutor {' '.join(args[:6])} ...: {result.exception!r}")
    if result.exit_code not in ok:
        first = (result.stderr or result.output).splitlines()[:1]
        raise SystemExit(f"imt-tutor {' '.join(args[:6])} ...: exit {result.exit_code}: {first}")
    return result.output


def _author_commands(data: object) -> object:
    """What an author runs on a new rule base: ``rules``, ``check``, ``infer`` and
    ``graph`` (the builtin engine: durable_rules refuses rule bases this large)."""
    assert isinstance(data, Folders)
    rules = ["--rules-dir", str(data.rules), "--engine", "builtin"]
    _invoke([*rules, "rules", "--format", "json"])
    # durable_rules' limits are errors of check on these rule bases (exit 1); nothing else may be.
    out = _invoke([*rules, "check", "--format", "json", str(data.rules)], ok=(0, 1))
    unexpected = [p for p in json.loads(out)["problems"] if p["code"] not in ("durable-limit",)]
    if unexpected:
        raise SystemExit(f"generated rules have problems: {unexpected[0]}")
    fact_args = [arg for fact in data.facts for arg in ("--fact", fact)]
    _invoke([*rules, "infer", *fact_args, "--format", "json"])
    _invoke([*rules, "graph"])
    return data


def _load_rules(data: object) -> object:
    assert isinstance(data, Folders)
    return load_rulebase(data.rules)


def _check_rules(data: object) -> object:
    assert isinstance(data, Folders)
    result = check([data.rules], rules_dir=data.rules)
    unexpected = [p for p in result.problems if p.code != "durable-limit"]
    if unexpected:
        raise SystemExit(f"generated rules have problems: {unexpected[0]}")
    return result


def _infer_chain(data: object) -> object:
    from imt_tutor.engines.builtin import BuiltinEngine
    from imt_tutor.vocabulary import parse_fact_options

    assert isinstance(data, Folders)
    base = load_rulebase(data.rules)
    with BuiltinEngine(base) as engine:
        inference = engine.infer(parse_fact_options(base.vocabulary, data.facts))
    if len(inference.trace) != len(base.rules):
        raise SystemExit(f"the chain fired {len(inference.trace)} of {len(base.rules)} rules")
    return inference


def _long_case(folder: Path, n: int) -> Folders:
    """A case of ``n`` stages on the bundled rules (flow style, to stay under
    1 MiB): the first reveals a lung mass, each stage asks for the next steps."""
    out = _folders(folder, f"stages-{n}")
    lines = [
        "id: long-case",
        "title: A long story",
        'teaser: "A fictional patient with a very long history."',
        'summary: "Fictional: a generated case with many stages."',
        "fictional: true",
        "stages:",
    ]
    for i in range(n):
        reveal = "reveal: {site: lung, symptoms: [cough], imaging_finding: mass}, " if i == 0 else ""
        lines.append(f"  - {{id: s{i}, narrative: Part {i}., {reveal}questions: [{{id: q, kind: next_steps}}]}}")
    (out.cases / "long-case.yaml").write_text("\n".join(lines) + "\n")
    return Folders(rules_dir(), out.cases, case="long-case")


def _key(data: object) -> object:
    assert isinstance(data, Folders)
    return _invoke(["--engine", "builtin", "key", data.case, "--cases-dir", str(data.cases)])


def _bad_answers(folder: Path, n: int) -> Folders:
    """An answers file of about ``n`` KiB for a bundled case, every pick a misspelling."""
    out = _folders(folder, f"answers-{n}")
    lines = ["student: student-07", "case: lung-no-mass-on-imaging", "answers:"]
    questions = ["presentation.next-steps", "presentation.site-frequency", "imaging.next-steps"]
    size, i = sum(len(x) + 1 for x in lines), 0
    picks: dict[str, list[str]] = {q: [] for q in questions}
    while size < n * 1024 - 64:
        pick = f"biopsyy_{i:06d}"
        picks[questions[i % len(questions)]].append(pick)
        size += len(pick) + 8
        i += 1
    for q, items in picks.items():
        lines.append(f"  {q}:")
        lines += [f"    - {p}" for p in items]
    path = out.cases / "answers.yaml"
    path.write_text("\n".join(lines) + "\n")
    return Folders(rules_dir(), cases_dir(), case="lung-no-mass-on-imaging", answers=path)


def _run_bad_answers(data: object) -> object:
    assert isinstance(data, Folders) and data.answers is not None
    transcript = data.answers.with_name("transcript.json")
    args = ["--engine", "builtin", "run", data.case, "--answers", str(data.answers), "--transcript", str(transcript)]
    return _invoke(args, ok=(1,))


def _values(n: int) -> list[str]:
    """``n`` distinct value IDs that look like words (``kalominepu``: misspellings have
    close matches), short enough for a vocabulary of 16,000 of them under 1 MiB."""
    syllables = ["ka", "lo", "mi", "ne", "pu", "ra", "si", "to", "vu", "ze"]
    return ["".join(syllables[int(d)] for d in f"{i:05d}") for i in range(n)]


def _misspelt(value: str) -> str:
    """``value`` with two letters swapped: a did-you-mean finds it."""
    return value[:2] + value[3] + value[2] + value[4:]


def _misspelt_rule(folder: Path, n: int) -> Folders:
    """A rule listing ``n`` misspelt values of a fact with ``4 n`` values (2,000 against 8,000 at N)."""
    out = _folders(folder, f"misspelt-rule-{n}")
    values = _values(4 * n)
    (out.rules / VOCABULARY_FILE).write_text(
        _vocabulary_yaml({"place": values}, {"result": ["yes"]}, ["finish"]), encoding="utf-8"
    )
    when = ["      any:", *(f"        - place: {_misspelt(values[4 * i])}" for i in range(n))]
    rule = _rule_yaml("misspelt", when, ["      conclude: {result: yes}"])
    (out.rules / "misspelt.yaml").write_text("rules:\n" + "\n".join(rule) + "\n")
    return Folders(out.rules, out.cases, size=n)


def _misspelt_case(folder: Path, n: int) -> Folders:
    """A case revealing ``n`` misspelt values of a multi-valued fact with ``4 n`` values."""
    out = _folders(folder, f"misspelt-case-{n}")
    values = _values(4 * n)
    (out.rules / VOCABULARY_FILE).write_text(
        _vocabulary_yaml({"place": values}, {"result": ["yes"]}, ["finish"], multi={"place"}), encoding="utf-8"
    )
    rule = _rule_yaml("any-place", [f"      place: {values[0]}"], ["      conclude: {result: yes}"])
    (out.rules / "rules.yaml").write_text("rules:\n" + "\n".join(rule) + "\n")
    lines = [
        "id: misspelt-case",
        "title: Many places",
        'teaser: "A fictional patient."',
        'summary: "Fictional: a generated case."',
        "fictional: true",
        "stages:",
        "  - id: first",
        "    narrative: The story.",
        "    reveal:",
        "      place:",
        *(f"        - {_misspelt(values[4 * i])}" for i in range(n)),
        "    questions:",
        "      - id: result",
        "        kind: conclusion",
        "        key: result",
    ]
    (out.cases / "misspelt-case.yaml").write_text("\n".join(lines) + "\n")
    return Folders(out.rules, out.cases, case="misspelt-case", size=n)


def _misspelt_answers(folder: Path, n: int) -> Folders:
    """An answers file picking ``n`` misspelt values of a conclusion question with ``4 n`` options."""
    out = _misspelt_case(folder, n)
    values = _values(4 * n)
    conclusions = {"result": values}
    (out.rules / VOCABULARY_FILE).write_text(_vocabulary_yaml({"place": ["here"]}, conclusions, ["finish"]))
    rule = _rule_yaml("here", ["      place: here"], [f"      conclude: {{result: {values[0]}}}"])
    (out.rules / "rules.yaml").write_text("rules:\n" + "\n".join(rule) + "\n")
    case = out.cases / "misspelt-case.yaml"
    text = case.read_text()
    start = text.index("    reveal:")
    end = text.index("    questions:")
    case.write_text(text[:start] + "    reveal:\n      place: here\n" + text[end:])
    lines = ["student: student-07", "case: misspelt-case", "answers:", "  first.result:"]
    lines += [f"    - {_misspelt(values[4 * i])}" for i in range(n)]
    answers = out.cases.parent / f"misspelt-answers-{n}.yaml"
    answers.write_text("\n".join(lines) + "\n")
    return Folders(out.rules, out.cases, case="misspelt-case", answers=answers, size=n)


def _expect_errors(run: Callable[[], object], at_least: int, saying: str) -> object:
    """Run ``run``, which must be rejected with at least ``at_least`` problems ``saying`` so
    (a figure rejected for another reason, such as its size, would measure the wrong thing)."""
    try:
        run()
    except DataError as error:
        errors = getattr(error, "errors", [error])
        count = sum(1 for e in errors if saying in e.message)
        if count < at_least:
            raise SystemExit(f"expected {at_least} problems saying {saying!r}, got {count}: {errors[0]}") from None
        return error
    raise SystemExit("expected the input to be rejected")


def _load_misspelt_rule(data: object) -> object:
    assert isinstance(data, Folders)
    return _expect_errors(lambda: load_rulebase(data.rules), data.size, "unknown value")


def _load_misspelt_case(data: object) -> object:
    from imt_tutor.cases import load_case
    from imt_tutor.vocabulary import load_vocabulary

    assert isinstance(data, Folders)
    vocab = load_vocabulary(data.rules / VOCABULARY_FILE)
    return _expect_errors(lambda: load_case(data.cases / f"{data.case}.yaml", vocab), data.size, "unknown value")


def _check_misspelt_answers(data: object) -> object:
    from imt_tutor.answers import check_answers, load_answers
    from imt_tutor.cases import load_case

    assert isinstance(data, Folders) and data.answers is not None
    base = load_rulebase(data.rules)
    case = load_case(data.cases / f"{data.case}.yaml", base.vocabulary)
    answers = data.answers
    return _expect_errors(lambda: check_answers(load_answers(answers), case), data.size, "is not an option")


def _steps(*steps: Callable[[object], object]) -> Callable[[object], object]:
    def run(data: object) -> object:
        for step in steps:
            step(data)
        return data

    return run


DOUBLINGS: list[Doubling] = [
    Doubling(
        "chain-last-first",
        331,
        "rules",
        lambda folder, n: _chain(folder, n, last_first=True),
        _author_commands,
    ),
    Doubling("wide-rule-load", 15_000, "conditions", _wide_rule, _load_rules),
    Doubling("wide-rule-check", 15_000, "conditions", _wide_rule, _check_rules),
    Doubling("wide-rule-any-load", 15_000, "conditions", _wide_rule_any, _load_rules),
    Doubling("wide-rule-any-check", 15_000, "conditions", _wide_rule_any, _check_rules),
    Doubling("chain-load", 3_000, "rules", _chain_in_order, _load_rules),
    Doubling("chain-check", 3_000, "rules", _chain_in_order, _check_rules),
    Doubling("chain-infer", 3_000, "rules", _chain_in_order, _infer_chain),
    Doubling("chain-commands", 3_000, "rules", _chain_in_order, _author_commands, goal=4.0),
    Doubling("key-stages", 5_000, "stages", _long_case, _key),
    Doubling("bad-answers", 512, "KiB", _bad_answers, _run_bad_answers),
    Doubling("misspelt-rule-values", 2_000, "misspelt values", _misspelt_rule, _load_misspelt_rule),
    Doubling("misspelt-case-values", 2_000, "misspelt values", _misspelt_case, _load_misspelt_case),
    Doubling("misspelt-answer-picks", 2_000, "misspelt picks", _misspelt_answers, _check_misspelt_answers),
]


#: The clock of the doubling figures: this process's CPU time by default (the work
#: runs in this process, and on a shared machine the wall clock measures the others).
CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}
clock = CLOCKS["cpu"]


def _time_once(run: Callable[[], object], repeat: int, budget: float) -> float:
    """The fastest of up to ``repeat`` runs (fewer once ``budget`` seconds are spent):
    the run least disturbed by whatever else the machine is doing."""
    times: list[float] = []
    spent = 0.0
    for _ in range(repeat):
        start = clock()
        run()
        times.append(clock() - start)
        spent += times[-1]
        if spent > budget:
            break
    return min(times)


def run_doubling(
    figure: Doubling, folder: Path, repeat: int, factors: Sequence[int] = (1, 2), give_up: float = 60.0
) -> list[float]:
    """Print and return the times of ``figure`` at each of ``factors`` times its
    size; the larger sizes are skipped once one takes over ``give_up`` seconds."""
    times: list[float] = []
    for factor in factors:
        n = figure.size * factor
        if times and times[-1] > give_up:
            print(f"{figure.name} N={n} {figure.unit}: skipped (the size before took over {give_up:g} s)")
            continue
        sub = folder / f"{figure.name}-{n}"
        sub.mkdir()
        data = figure.build(sub, n)
        elapsed = _time_once(functools.partial(figure.run, data), repeat, budget=5.0)
        times.append(elapsed)
        goal = ""
        if factor == 1:
            goal = f" (goal < {figure.goal:g} s{'' if elapsed < figure.goal else ': MISSED'})"
        ratio = ""
        if len(times) > 1 and times[-2] > 0:
            r = times[-1] / times[-2]
            ratio = f", ratio {r:.2f} (goal <= {RATIO_GOAL:g}{'' if r <= RATIO_GOAL else ': MISSED'})"
        print(f"{figure.name} N={n} {figure.unit}: {elapsed:.3f} s{goal}{ratio}", flush=True)
        shutil.rmtree(sub)
    return times


def _time(figure: Figure, data: Data, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        figure.run(data)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per figure (check: the median is shown; doubling: the fastest)"
    )
    parser.add_argument(
        "--only", action="append", default=[], metavar="NAME", help="only the figures named so (a prefix)"
    )
    parser.add_argument(
        "--sizes", type=int, action="append", default=[], metavar="K", help="doubling figures: also K times N"
    )
    parser.add_argument(
        "--give-up", type=float, default=60.0, metavar="S", help="doubling figures: skip larger sizes after S seconds"
    )
    parser.add_argument(
        "--clock", choices=sorted(CLOCKS), default="cpu", help="doubling figures: CPU time of this process, or wall"
    )
    parser.add_argument(
        "--default-gc", action="store_true", help="keep Python's garbage collector thresholds (the CLI raises them)"
    )
    args = parser.parse_args()
    global clock
    clock = CLOCKS[args.clock]
    if not args.default_gc:
        try:
            from imt_tutor.cli import tune_gc
        except ImportError:  # a version of imt-tutor before it
            pass
        else:
            tune_gc()  # as 'imt-tutor' runs every command, so the library figures measure the same

    def wanted(name: str) -> bool:
        return not args.only or any(name.startswith(prefix) for prefix in args.only)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for doubling in DOUBLINGS:
            if wanted(doubling.name):
                run_doubling(doubling, folder, args.repeat, sorted({1, 2, *args.sizes}), args.give_up)
        figures = [f for f in FIGURES if wanted(f.name)]
        sizes = [scaled_data(Path(tmp), scale) for scale in (1, 10)] if figures else []
        for figure in figures:
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
