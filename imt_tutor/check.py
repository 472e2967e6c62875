"""Authoring checks: every problem of the vocabulary, the rules, the fidelity
table and the cases at once, each located (path:line:col) with a stable code
and a level; and coverage (rules <-> cases <-> source document).

TEACHING AID ONLY - not a diagnostic tool. Nothing here prints: :func:`check`
returns a :class:`CheckResult` (problems as data) and :func:`coverage` a
:class:`Coverage`; the command line words and prints them.

The parsers collect their problems as :class:`~imt_tutor.errors.Problem`
values. A problem the parser gave no ``code`` gets one here from :data:`CODES`
(matched on its message); every code is documented in ``docs/authoring.md``,
which is generated from the same table.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .cases import check_key as check_case_key
from .cases import derived_answer, facts_at, parse_case
from .engines.builtin import BuiltinEngine
from .engines.durable import check_limits
from .errors import ERROR, WARNING, DataError, Location, Problem, Problems
from .fidelity import FidelityTable, parse_fidelity, run_table
from .graph import RuleGraph, rule_graph
from .loading import YamlList, YamlMap, load_yaml_file
from .models import AllOf, Case, Condition, Facts, Inference, Is, Known, Not, Question, Rule, RuleBase, Vocabulary
from .rulebase import FIDELITY_FILE, VOCABULARY_FILE, check_chaining, order_rules, parse_rules
from .vocabulary import parse_vocabulary

__all__ = [
    "CODES",
    "FALLBACK_CODE",
    "CheckResult",
    "CodeInfo",
    "Coverage",
    "check",
    "classify",
    "coverage",
    "escape",
    "load_cases_reporting",
]


# --------------------------------------------------------------------- codes


@dataclass(frozen=True)
class CodeInfo:
    """One kind of problem: its stable ``code``, its ``level``, what it means
    (``summary``, for ``docs/authoring.md``) and the message patterns by which
    a parser's problem without a code is recognised."""

    code: str
    level: str
    summary: str
    patterns: tuple[str, ...] = ()


CODES: tuple[CodeInfo, ...] = (
    # Reading the file
    CodeInfo(
        "path-not-found",
        ERROR,
        "A path given to `check` does not exist, or is neither a YAML file nor a folder.",
        (r"^no such file or folder", r"^not a YAML file"),
    ),
    CodeInfo(
        "file-unreadable",
        ERROR,
        "The file cannot be read: too large (over 1 MiB), not UTF-8, a control character, or an OS error.",
        (r"^cannot read file", r"^file is too large", r"^file is not valid UTF-8", r"^invalid character U\+"),
    ),
    CodeInfo("file-empty", ERROR, "The file holds no YAML document.", (r"^file is empty",)),
    CodeInfo(
        "yaml-syntax",
        ERROR,
        "The file is not valid YAML (or holds several documents, or nests deeper than 64 levels).",
        (
            r"^invalid YAML",
            r"^expected a single YAML document",
            r"^nesting is deeper",
            r"^number is (too long|out of range)",
            r"^keys must be strings",
        ),
    ),
    CodeInfo("yaml-duplicate-key", ERROR, "A mapping has the same key twice.", (r"^duplicate key '",)),
    CodeInfo(
        "yaml-forbidden",
        ERROR,
        "Anchors, aliases, merge keys (`<<`) and explicit tags (`!!python/...` included) are not allowed.",
        (r"^anchors and aliases", r"^merge keys", r"^(python|explicit) tags are not allowed"),
    ),
    # Structure
    CodeInfo(
        "unknown-key",
        ERROR,
        "A key the format does not have (with the closest known key as a did-you-mean).",
        (r"unknown key '",),
    ),
    CodeInfo(
        "missing-field",
        ERROR,
        "A required field is missing.",
        (r" needs '", r"^missing '", r" needs an? '", r"^the vocabulary needs", r" needs a '"),
    ),
    CodeInfo(
        "wrong-type",
        ERROR,
        "A field has the wrong type or shape (text where a list is needed, a list for a one-value fact, ...).",
        (
            r"must be (a |one |non-empty|true or false|the source)",
            r"must list (at least|ids)",
            r"^expected .* at the top level",
            r"takes one value, not a list",
            r"takes a non-empty list",
            r" is a mapping (of|with)",
            r"is one 'key: value'",
            r"a 'done_when' item is",
            r"needs a label",
            r"needs label",
            r"^a (case|stage|question|rule|rule file|contradiction|fact test) (must be|is|needs)",
            r"a condition is a mapping",
            r"'then' needs",
            r"needs at least one value",
            r"needs a value",
            r"the working diagnosis is one value",
            r"is a non-empty list",
            r" needs 'questions'",
            r"'when' of contradiction",
            r"^a section heading must be text",
            r"expected KEY=VALUE",
            r"given twice; it takes one value",
        ),
    ),
    CodeInfo(
        "bad-id",
        ERROR,
        "An ID is not written as it must be: kebab-case for rules, cases, stages, questions, contradictions "
        "and fidelity rows; snake_case for fact keys, conclusions, values and next steps.",
        (r"must be kebab-case", r"must be snake_case", r"id must be kebab-case", r"is reserved; choose another name"),
    ),
    CodeInfo(
        "duplicate-id",
        ERROR,
        "Two rules, cases, stages, questions, contradictions or fidelity rows share an ID (across files too), "
        "or a key is both a fact and a conclusion.",
        (r"duplicate (rule|case|stage|question|contradiction|row) id", r"is both a fact and a conclusion"),
    ),
    CodeInfo(
        "listed-twice",
        ERROR,
        "The same ID is listed twice in one list.",
        (r"is listed twice", r"is picked twice"),
    ),
    CodeInfo(
        "file-name",
        ERROR,
        "A case file is not named after its case ID (`<id>.yaml`).",
        (r"the file should be named",),
    ),
    # Names
    CodeInfo(
        "unknown-fact",
        ERROR,
        "A fact key the vocabulary does not have (or a conclusion used where only an observed fact may be).",
        (
            r"unknown fact",
            r"is a conclusion the rules derive, not a fact",
            r"tests observed facts; .* is a conclusion",
            r"is a fact the case reveals, not a conclusion",
        ),
    ),
    CodeInfo(
        "unknown-value",
        ERROR,
        "A value the vocabulary does not list for that fact or conclusion.",
        (r"unknown value", r"must be one of .*; got"),
    ),
    CodeInfo(
        "unknown-conclusion",
        ERROR,
        "A conclusion key the vocabulary does not have.",
        (r"unknown conclusion",),
    ),
    CodeInfo("unknown-step", ERROR, "A next step the vocabulary does not have.", (r"unknown next step",)),
    CodeInfo("unknown-rule", ERROR, "A rule ID (in the fidelity table) that no rule file defines.", (r"unknown rule",)),
    CodeInfo(
        "unknown-kind",
        ERROR,
        "A question `kind` other than `next_steps` or `conclusion`.",
        (r"unknown question kind",),
    ),
    CodeInfo(
        "unknown-section",
        ERROR,
        "A rule's `source` (or a fidelity row's `section`) that is not one of the document's section headings.",
        (r"is not a section heading of the document",),
    ),
    # Rules
    CodeInfo(
        "conclusion-not-top-level",
        ERROR,
        "A conclusion required under `any` or `not`: conclusions may only be required at the top level of "
        "`when` (that keeps durable_rules' answers independent of the order facts arrive in).",
        (r"may only be required at the top level",),
    ),
    CodeInfo(
        "suggest-and-accept",
        ERROR,
        "A rule both suggests and accepts the same step.",
        (r"is both suggested and accepted",),
    ),
    CodeInfo(
        "no-producer",
        ERROR,
        "A rule needs a conclusion that no rule draws, so it can never fire.",
        (r"no rule concludes .*, so this rule can never fire",),
    ),
    CodeInfo(
        "never-fires",
        WARNING,
        "A rule that can never fire although each conclusion it needs has a rule: every rule that draws one "
        "of them can never fire itself, or its own fact tests cannot all hold of one patient.",
    ),
    CodeInfo("cycle", ERROR, "Rules depend on each other's conclusions in a cycle.", (r"in a cycle",)),
    CodeInfo(
        "durable-limit",
        ERROR,
        "The rule base would exceed a structural limit of durable_rules 2.0.28 (4,096 rules; fewer than 512 "
        "distinct tests under one alpha node; ...), past some of which it hangs or crashes. Checked before "
        "any engine is built.",
        (r"^durable_rules ", r"^rule '[^']*': durable_rules ", r"reserved by the durable_rules engine"),
    ),
    # Cases
    CodeInfo(
        "not-fictional",
        ERROR,
        "A case without `fictional: true`.",
        (r"cases must declare fictional: true",),
    ),
    CodeInfo(
        "identifier",
        ERROR,
        "A case carries something that looks like a patient identifier: a key such as `name`, `dob`, `mrn`, "
        "`address`, or a calendar date in its text (use ages).",
        (
            r"looks like a patient identifier",
            r"looks like a date of birth",
            r"contains the date '",
            r"looks like a patient's name",
        ),
    ),
    CodeInfo(
        "contradiction",
        ERROR,
        "The facts known at a stage meet one of the vocabulary's `contradictions` (within the stage or with "
        "an earlier one).",
        (r"contradict each other",),
    ),
    CodeInfo(
        "misplaced-field",
        ERROR,
        "A field where it has no meaning (`key` on a next_steps question, a reason without what it explains).",
        (r"'key' is only for conclusion questions", r"needs an 'answer' to explain", r"needs 'expect_nothing: true'"),
    ),
    CodeInfo(
        "missing-reason",
        ERROR,
        "An `answer` override without `answer_reason`, or `expect_nothing` without `expect_nothing_reason`.",
        (r"needs an 'answer_reason'", r"needs an 'expect_nothing_reason'"),
    ),
    CodeInfo(
        "answer-not-an-option",
        ERROR,
        "An `answer` override names an ID that is not one of the question's options.",
        (r"is not one of its options",),
    ),
    CodeInfo(
        "empty-answer",
        ERROR,
        "The rules expect nothing of a question at its stage, and it is not marked `expect_nothing` (with "
        "`expect_nothing_reason`).",
        (r"expects nothing at this stage",),
    ),
    CodeInfo(
        "expect-nothing-contradicted",
        ERROR,
        "A question marked `expect_nothing`, yet the rules expect something of it.",
        (r"is marked 'expect_nothing' but the rules expect",),
    ),
    CodeInfo(
        "restating-question",
        ERROR,
        "A conclusion question whose expected answer only restates a fact revealed in the same stage (the "
        "vocabulary marks such values with `restates`). An error, not a warning: `run` and `key` refuse such a case.",
        (r"only restates what this stage reveals",),
    ),
    CodeInfo(
        "answer-override",
        WARNING,
        "An `answer` override that disagrees with what the rules derive; both are shown.",
    ),
    CodeInfo(
        "answer-override-redundant",
        WARNING,
        "An `answer` override that says exactly what the rules derive: drop it.",
    ),
    CodeInfo(
        "option-never-given",
        WARNING,
        "An option listed in `options` that no rule of the rule base ever suggests, accepts or concludes: it can "
        "never be right in this case or any other (the default options, every step or value, are not flagged).",
    ),
    # Fidelity table
    CodeInfo(
        "fidelity-check",
        ERROR,
        "A check of the fidelity table (`rules/fidelity.yaml`) that the rules do not bear out, or a rule a "
        "row lists that fires in none of the row's checks.",
        (r"^row '[^']*': (check \d+: |rule '[^']*' is listed but fires)",),
    ),
    CodeInfo(
        "fidelity-row",
        ERROR,
        "A fidelity row that is not written as it must be (rules and checks, or not_encoded with the reason).",
        (
            r"^row \d+",
            r"^row '[^']*'.* needs ",
            r"^row '[^']*': a row marked 'not_encoded'",
            r"^row '[^']*' lists ",
            r"expects nothing; give at least one of",
            r"can never hold",
            r"the facts contradict each other \(",
            r"fidelity table needs",
        ),
    ),
    CodeInfo(
        "not-checked",
        WARNING,
        "Part of the data could not be checked because something it depends on has errors (cases need a valid "
        "vocabulary; their answers need valid rules).",
    ),
    CodeInfo("invalid", ERROR, "Any other problem of the data (its message says what)."),
)

CODE_INDEX = {c.code: c for c in CODES}
FALLBACK_CODE = "invalid"
_MATCHERS = tuple((c, tuple(re.compile(p) for p in c.patterns)) for c in CODES)
# Tried before the others: a message may also contain words another code looks for.
_FIRST = (
    "durable-limit",
    "fidelity-check",
    "fidelity-row",
    "identifier",
    "contradiction",
    "restating-question",
    "missing-reason",
    "misplaced-field",
    "empty-answer",
    "expect-nothing-contradicted",
    "answer-not-an-option",
)


_ORDERED = sorted(_MATCHERS, key=lambda m: 0 if m[0].code in _FIRST else 1)


def _code_for(message: str) -> CodeInfo:
    text = _strip_label(message)
    for info, patterns in _ORDERED:
        if any(p.search(text) for p in patterns):
            return info
    return CODE_INDEX[FALLBACK_CODE]


_LABEL = re.compile(r"^(?:case|rule) '[^']*': ")


def _strip_label(message: str) -> str:
    """A message without its leading ``case 'x': `` / ``rule 'x': `` label."""
    return _LABEL.sub("", message, count=1)


def classify(problem: Problem) -> Problem:
    """``problem`` with a code (its own, or one from :data:`CODES`) and the level
    of that code where the parser left the default."""
    if problem.code in CODE_INDEX:
        return problem
    info = _code_for(problem.message)
    level = problem.level if problem.level != ERROR else info.level
    return DataError(problem.message, problem.location, code=info.code, level=level)


def _problem(message: str, location: Location | None, code: str) -> Problem:
    return DataError(message, location, code=code, level=CODE_INDEX[code].level)


# --------------------------------------------------------------------- escaping

_UNSAFE_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def escape(text: str) -> str:
    """``text`` with every control, format or separator character shown as an
    escape (``\\x1b``, ``\\u202e``); tabs too. Safe to print on a terminal."""
    out: list[str] = []
    for ch in text:
        if ch == " " or (ch.isprintable() and unicodedata.category(ch) not in _UNSAFE_CATEGORIES):
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "".join(out)


# --------------------------------------------------------------------- finding the files


@dataclass
class Sources:
    """The files one check reads, by kind (display path, real path)."""

    vocabulary: tuple[str, Path] | None = None
    fidelity: tuple[str, Path] | None = None
    rule_files: list[tuple[str, Path]] = field(default_factory=list)
    case_files: list[tuple[str, Path]] = field(default_factory=list)
    rules_folder: str | None = None


def display(path: Path) -> str:
    """``path`` relative to the working folder where it lies inside it, else as it is."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if relative.startswith("..") else relative


def _yaml_files(folder: Path) -> list[Path]:
    """Every ``*.yaml`` entry of ``folder``: what is not a regular file (a FIFO, a
    device, a folder) is kept, so that reading it reports it with its path
    (:func:`imt_tutor.files.open_regular` never opens it)."""
    return sorted(p for p in folder.iterdir() if p.suffix == ".yaml")


def _sniff_rules(path: Path, loaded: dict[Path, Any], shown: str, problems: list[Problem]) -> bool | None:
    """Whether the file at ``path`` is a rule file (a mapping with ``rules``);
    ``None`` if it cannot be loaded (the problem is recorded)."""
    data = _loaded(path, shown, loaded, problems)
    if path not in loaded:
        return None
    return isinstance(data, YamlMap) and "rules" in data


def find_sources(
    paths: Sequence[Path],
    rules_dir: Path,
    cases_dir: Path | None,
    loaded: dict[Path, Any],
    problems: list[Problem],
) -> Sources:
    """Sort ``paths`` (files or folders) into vocabulary, fidelity table, rule
    files and case files. A folder with ``vocabulary.yaml`` is a rules folder;
    any other ``*.yaml`` is a rule file when it is a mapping with ``rules`` and a
    case otherwise. Without a rules folder among ``paths`` the vocabulary, the
    fidelity table and the rule files of ``rules_dir`` are checked with them
    (a rule file given replaces the one of the same name there). Without any
    path, ``rules_dir`` and ``cases_dir`` are checked."""
    sources = Sources()
    explicit_rules: list[tuple[str, Path]] = []
    if not paths:
        paths = [rules_dir, *([cases_dir] if cases_dir is not None else [])]
        shown_of = {p: display(p) for p in paths}
    else:
        shown_of = {p: str(p) for p in paths}
    files: list[tuple[str, Path]] = []
    for given in paths:
        shown = shown_of[given]
        if given.is_dir():
            if (given / VOCABULARY_FILE).is_file():
                if sources.rules_folder is not None:
                    problems.append(
                        _problem(
                            f"a second rules folder (the first is {sources.rules_folder})", Location(shown), "invalid"
                        )
                    )
                    continue
                sources.rules_folder = shown
                sources.vocabulary = (os.path.join(shown, VOCABULARY_FILE), given / VOCABULARY_FILE)
                if (given / FIDELITY_FILE).is_file():
                    sources.fidelity = (os.path.join(shown, FIDELITY_FILE), given / FIDELITY_FILE)
                for p in _yaml_files(given):
                    if p.name not in (VOCABULARY_FILE, FIDELITY_FILE):
                        explicit_rules.append((os.path.join(shown, p.name), p))
                continue
            files += [(os.path.join(shown, p.name), p) for p in _yaml_files(given)]
        elif given.is_file():
            if given.suffix not in (".yaml", ".yml"):
                problems.append(_problem("not a YAML file (.yaml)", Location(shown), "path-not-found"))
                continue
            files.append((shown, given))
        else:
            problems.append(_problem("no such file or folder", Location(shown), "path-not-found"))
    for shown, path in files:
        if path.name == VOCABULARY_FILE and sources.vocabulary is None:
            sources.vocabulary = (shown, path)
        elif path.name == FIDELITY_FILE and sources.fidelity is None:
            sources.fidelity = (shown, path)
        else:
            kind = _sniff_rules(path, loaded, shown, problems)
            if kind is True:
                explicit_rules.append((shown, path))
            elif kind is False:
                sources.case_files.append((shown, path))
    if sources.rules_folder is None:
        folder = rules_dir
        if sources.vocabulary is None and (folder / VOCABULARY_FILE).is_file():
            sources.vocabulary = (display(folder / VOCABULARY_FILE), folder / VOCABULARY_FILE)
        if sources.fidelity is None and (folder / FIDELITY_FILE).is_file():
            sources.fidelity = (display(folder / FIDELITY_FILE), folder / FIDELITY_FILE)
        given_names = {p.name for _, p in explicit_rules}
        if folder.is_dir():
            for p in _yaml_files(folder):
                if p.name not in (VOCABULARY_FILE, FIDELITY_FILE, *given_names):
                    sources.rule_files.append((display(p), p))
        if sources.vocabulary is None:
            problems.append(_problem(f"no {VOCABULARY_FILE} to check against", Location(display(folder)), "invalid"))
    seen: set[Path] = set()
    for shown, path in [*sources.rule_files, *explicit_rules]:
        resolved = path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            if (shown, path) not in sources.rule_files:
                sources.rule_files.append((shown, path))
    return sources


# --------------------------------------------------------------------- the check


class _Infers(Protocol):
    def infer(self, facts: Facts) -> Inference: ...


EngineFactory = Callable[[RuleBase], AbstractContextManager[Any]]


@dataclass
class CheckResult:
    """What one check found, and what it loaded (for coverage and the graph)."""

    problems: list[Problem]
    files: list[str]
    base: RuleBase | None = None
    rules_ok: bool = False
    cases: list[Case] = field(default_factory=list)
    inferences: dict[str, list[Inference]] = field(default_factory=dict)
    table: FidelityTable | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == WARNING]

    def exit_code(self, strict: bool = False) -> int:
        """1 if any error (with ``strict``: any warning too), else 0."""
        return 1 if self.errors or (strict and self.warnings) else 0


def _unpack(error: DataError) -> list[Problem]:
    return list(getattr(error, "errors", [error]))


def _loaded(path: Path, shown: str, loaded: dict[Path, Any], problems: list[Problem]) -> Any:
    if path in loaded:
        return loaded[path]
    try:
        data = load_yaml_file(path, expect=None, display_path=shown)
    except DataError as error:
        problems.extend(_unpack(error))
        return None
    loaded[path] = data
    return data


def check(
    paths: Sequence[Path] = (),
    *,
    rules_dir: Path,
    cases_dir: Path | None = None,
    engine: EngineFactory = BuiltinEngine,
) -> CheckResult:
    """Check ``paths`` (see :func:`find_sources`; none: ``rules_dir`` and
    ``cases_dir``): every problem of every file, at once.

    ``engine`` builds the engine that derives the cases' answers (default: the
    builtin evaluator, whose traces are tested identical to durable_rules';
    durable_rules' limits are checked without it).
    """
    raw: list[Problem] = []
    loaded: dict[Path, Any] = {}
    sources = find_sources(list(paths), rules_dir, cases_dir, loaded, raw)
    files = [s for s, _ in ([sources.vocabulary] if sources.vocabulary else [])]
    files += [s for s, _ in sources.rule_files]
    files += [s for s, _ in ([sources.fidelity] if sources.fidelity else [])]
    files += [s for s, _ in sources.case_files]
    result = CheckResult(raw, files)

    vocab = _check_vocabulary(sources, loaded, raw)
    if vocab is None:
        if sources.rule_files or sources.case_files:
            where = Location(sources.vocabulary[0]) if sources.vocabulary else None
            raw.append(
                _problem("the rules and cases were not checked: the vocabulary has errors", where, "not-checked")
            )
        result.problems = _finish(raw)
        return result

    base, rules_ok = _check_rules(vocab, sources, loaded, raw)
    result.base, result.rules_ok = base, rules_ok
    pairs, found = _load_cases(vocab, sources.case_files, loaded)
    raw.extend(found)
    cases = [c for c, _ in pairs]
    result.cases = cases
    if rules_ok:
        try:
            running_engine = engine(base)
        except DataError as error:  # durable_rules refuses a rule base past its limits
            raw.append(_problem(f"the cases' answers were not checked: {error.message}", error.location, "not-checked"))
            result.problems = _finish(raw)
            return result
        with running_engine as running:
            cache: dict[Facts, Inference] = {}

            def infer(facts: Facts) -> Inference:
                if facts not in cache:
                    cache[facts] = running.infer(facts)
                return cache[facts]

            if sources.fidelity is not None:
                result.table = _check_fidelity(base, sources.fidelity, loaded, raw, _Memo(infer))
            for case, path in pairs:
                inferences = [infer(facts_at(case, i)) for i in range(len(case.stages))]
                result.inferences[case.id] = inferences
                raw.extend(_check_answers(base, case, inferences, _loaded(path, case.path, loaded, raw)))
    elif cases:
        where = Location(sources.rules_folder) if sources.rules_folder else None
        raw.append(
            _problem(
                "the cases' answers were not checked: the rules have errors (the cases' own fields were)",
                where,
                "not-checked",
            )
        )
    result.problems = _finish(raw)
    return result


class _Memo:
    """An engine-like wrapper of a memoised ``infer``."""

    def __init__(self, infer: Callable[[Facts], Inference]) -> None:
        self.infer = infer


def _finish(problems: Iterable[Problem]) -> list[Problem]:
    seen: set[tuple[str, str | None]] = set()
    out: list[Problem] = []
    for problem in problems:
        classified = classify(problem)
        key = (str(classified), classified.code)
        if key in seen:
            continue
        seen.add(key)
        out.append(classified)

    def order(p: Problem) -> tuple[str, int, int, str]:
        loc = p.location
        return (loc.path, loc.line, loc.column, p.message) if loc else ("", 0, 0, p.message)

    return sorted(out, key=order)


def _check_vocabulary(sources: Sources, loaded: dict[Path, Any], problems: list[Problem]) -> Vocabulary | None:
    if sources.vocabulary is None:
        return None
    shown, path = sources.vocabulary
    data = _loaded(path, shown, loaded, problems)
    if data is None:
        return None
    try:
        return parse_vocabulary(data, shown)
    except DataError as error:
        problems.extend(_unpack(error))
        return None


def _check_rules(
    vocab: Vocabulary, sources: Sources, loaded: dict[Path, Any], problems: list[Problem]
) -> tuple[RuleBase, bool]:
    documents = []
    unreadable = False
    for shown, path in sources.rule_files:
        data = _loaded(path, shown, loaded, problems)
        if data is None:
            unreadable = True
        else:
            documents.append((shown, data))
    collected = Problems()
    rules = parse_rules(vocab, documents, collected)
    parse_failed = bool(collected.errors) or unreadable
    base = RuleBase(vocab, rules)
    chaining = Problems()
    check_chaining(base, chaining)
    for problem in chaining.errors:
        # With rules that did not parse, a conclusion may lack its rule only because that rule is broken.
        if parse_failed and classify(problem).code == "no-producer":
            continue
        collected.errors.append(problem)
    problems.extend(collected.errors + collected.warnings)
    ok = not collected.errors and not unreadable and bool(rules)
    if not rules and not parse_failed:
        where = Location(sources.rules_folder) if sources.rules_folder else None
        problems.append(_problem("no rule files (*.yaml) found", where, "missing-field"))
    base = RuleBase(vocab, order_rules(rules))
    if ok:
        # An error, but the builtin evaluator can still derive the cases' answers.
        try:
            check_limits(base)
        except DataError as error:
            problems.extend(_problem(p.message, p.location, "durable-limit") for p in _unpack(error))
    problems.extend(never_fires(base))
    return base, ok


def _check_fidelity(
    base: RuleBase, source: tuple[str, Path], loaded: dict[Path, Any], problems: list[Problem], engine: _Infers
) -> FidelityTable | None:
    shown, path = source
    data = _loaded(path, shown, loaded, problems)
    if data is None:
        return None
    try:
        table = parse_fidelity(data, shown, base)
    except DataError as error:
        problems.extend(_unpack(error))
        return None
    for failure in run_table(engine, table):
        problems.append(_problem(f"row '{failure.row}': {failure.message}", failure.location, "fidelity-check"))
    return table


def _load_cases(
    vocab: Vocabulary, files: Sequence[tuple[str, Path]], loaded: dict[Path, Any]
) -> tuple[list[tuple[Case, Path]], list[Problem]]:
    """The good cases of ``files`` and the problems of the others (duplicate IDs
    and misnamed files included), as :func:`imt_tutor.cases.load_cases` judges them."""
    problems: list[Problem] = []
    cases: list[tuple[Case, Path]] = []
    seen: dict[str, Case] = {}
    for shown, path in files:
        data = _loaded(path, shown, loaded, problems)
        if data is None:
            continue
        warnings: list[Problem] = []
        try:
            case = parse_case(data, vocab, shown, warnings)
        except DataError as error:
            problems.extend(_unpack(error))
            continue
        finally:
            problems.extend(warnings)
        first = seen.get(case.id)
        if first is not None:
            problems.append(
                _problem(
                    f"case '{case.id}': duplicate case id (first defined at {first.location})",
                    case.location,
                    "duplicate-id",
                )
            )
            continue
        if path.stem != case.id:
            problems.append(
                _problem(f"case '{case.id}': the file should be named '{case.id}.yaml'", case.location, "file-name")
            )
        seen[case.id] = case
        cases.append((case, path))
    return cases, problems


def load_cases_reporting(folder: Path, vocab: Vocabulary) -> tuple[list[Case], list[Problem]]:
    """The good cases of ``folder`` (sorted by ID) and the problems of the bad
    files (each located and with its code), instead of all or nothing."""
    if not folder.is_dir():
        raise DataError("cases folder not found", Location(str(folder)))
    files = [(os.path.join(str(folder), p.name), p) for p in _yaml_files(folder)]
    cases, problems = _load_cases(vocab, files, {})
    return sorted((c for c, _ in cases), key=lambda c: c.id), _finish(problems)


# --------------------------------------------------------------------- the cases' answers


def _givers(base: RuleBase) -> dict[tuple[str, str], list[str]]:
    """("step", id) or (conclusion key, value) -> the rules that give it."""
    out: dict[tuple[str, str], list[str]] = {}
    for rule in base.rules:
        for step in (*rule.suggest, *rule.accept):
            out.setdefault(("step", step), []).append(rule.id)
        for key, value in rule.conclude:
            out.setdefault((key, value), []).append(rule.id)
    return out


def _question_node(data: Any, stage_index: int, question_index: int) -> YamlMap | None:
    """The loaded mapping of one question (for the positions of its options)."""
    try:
        stage = data["stages"][stage_index]
        node = stage["questions"][question_index]
    except (KeyError, IndexError, TypeError):
        return None
    return node if isinstance(node, YamlMap) else None


def _check_answers(base: RuleBase, case: Case, inferences: list[Inference], data: Any) -> list[Problem]:
    """The problems of a case's answer key (``data``: the case file as loaded, for positions)."""
    vocab = base.vocabulary
    problems: list[Problem] = []
    try:
        check_case_key(case, vocab, inferences)
    except DataError as error:
        problems.extend(_unpack(error))
    givers = _givers(base)
    for index, stage in enumerate(case.stages):
        for position, question in enumerate(stage.questions):
            # A case that loaded has every question of its file, in the file's order.
            node = _question_node(data, index, position)
            what = f"case '{case.id}': question '{stage.id}.{question.id}'"
            if question.answer is not None:
                problems.append(_override(what, question, derived_answer(question, inferences[index], vocab), node))
            options = node.get("options") if node is not None else None
            if not isinstance(options, YamlList):
                continue  # the default options (every step or value) are not the author's choice
            for i, option in enumerate(options):
                giver = ("step", option) if question.kind == "next_steps" else (question.key or "", option)
                if isinstance(option, str) and giver not in givers:
                    verb = "suggests or accepts" if question.kind == "next_steps" else "concludes"
                    problems.append(
                        _problem(
                            f"{what}: no rule ever {verb} the option '{option}', so it can never be right",
                            options.item_location(i),
                            "option-never-given",
                        )
                    )
    return problems


def _override(what: str, question: Question, derived: tuple[str, ...], node: YamlMap | None) -> Problem:
    answer = question.answer or ()
    where = node.key_location("answer") if node is not None and "answer" in node else question.location
    if set(derived) != set(answer):
        return _problem(
            f"{what}: the 'answer' override disagrees with the rules: the case expects {_ids(answer)}, "
            f"the rules derive {_ids(derived)} (answer_reason: {question.answer_reason})",
            where,
            "answer-override",
        )
    return _problem(
        f"{what}: the 'answer' override repeats what the rules derive ({_ids(derived)}); drop it",
        where,
        "answer-override-redundant",
    )


def _ids(values: Iterable[str]) -> str:
    listed = list(values)
    return "[" + ", ".join(listed) + "]" if listed else "nothing"


# --------------------------------------------------------------------- rules that can never fire


def _top_parts(rule: Rule) -> tuple[Condition, ...]:
    return rule.when.parts if isinstance(rule.when, AllOf) else (rule.when,)


def _fact_conflict(rule: Rule, vocab: Vocabulary) -> str | None:
    """Why the rule's own top-level fact tests cannot all hold of one patient, or ``None``."""
    wanted: dict[str, list[set[str]]] = {}  # key -> the value sets of its 'key: values' tests
    excluded: dict[str, set[str]] = {}  # key -> values its 'not: {key: values}' tests rule out
    known: set[str] = set()
    unknown: set[str] = set()
    for part in _top_parts(rule):
        if isinstance(part, Is) and not part.on_conclusion:
            wanted.setdefault(part.key, []).append(set(part.values))
            known.add(part.key)
        elif isinstance(part, Known):
            known.add(part.key)
        elif isinstance(part, Not) and isinstance(part.part, Known):
            unknown.add(part.part.key)
        elif isinstance(part, Not) and isinstance(part.part, Is) and not part.part.on_conclusion:
            excluded.setdefault(part.part.key, set()).update(part.part.values)
    for key in sorted(known & unknown):
        return f"it needs {key} both known and unknown"
    required: dict[str, set[str]] = {}
    for key, sets in wanted.items():
        left = [values - excluded.get(key, set()) for values in sets]
        if _multi(vocab, key):
            # A list-valued fact may hold several values: each test needs one of its own.
            if any(not values for values in left):
                return f"no value of {key} meets all its tests"
            required[key] = set().union(*left)
            continue
        common = set.intersection(*left)
        if not common:
            return f"no value of {key} meets all its tests"
        required[key] = common
    for contradiction in vocab.contradictions:
        if all(_implied(cond, required, known, unknown) for cond in contradiction.when):
            return f"its tests meet the contradiction '{contradiction.id}' ({contradiction.message})"
    return None


def _implied(cond: Condition, required: dict[str, set[str]], known: set[str], unknown: set[str]) -> bool:
    """Whether every patient meeting the rule's tests meets ``cond`` (a contradiction's test)."""
    if isinstance(cond, Is):
        values = required.get(cond.key)
        return values is not None and bool(values) and values <= set(cond.values)
    if isinstance(cond, Known):
        return cond.key in known
    if isinstance(cond, Not) and isinstance(cond.part, Known):
        return cond.part.key in unknown
    return False


def _multi(vocab: Vocabulary, key: str) -> bool:
    fact = vocab.fact(key)
    return bool(fact and fact.multi)


def never_fires(base: RuleBase) -> list[Problem]:
    """Rules that can never fire although the loader accepts them: their own
    fact tests conflict, or every rule that draws a conclusion they need can
    never fire itself (rules needing a conclusion no rule draws are the loader's
    ``no-producer`` errors, not repeated here)."""
    graph = rule_graph(base.rules)
    vocab = base.vocabulary
    dead: dict[str, str] = {}
    for rule in base.rules:
        why = _fact_conflict(rule, vocab)
        if why is not None:
            dead[rule.id] = why
    no_producer = {r.id for r in base.rules for c in r.conclusion_conditions() if not graph.producers(c.key, c.values)}
    changed = True
    while changed:
        changed = False
        for rule in base.rules:
            if rule.id in dead or rule.id in no_producer:
                continue
            for cond in rule.conclusion_conditions():
                makers = graph.producers(cond.key, cond.values)
                if makers and all(m.id in dead or m.id in no_producer for m in makers):
                    names = ", ".join(m.id for m in makers)
                    dead[rule.id] = (
                        f"it needs {cond.key}: {' or '.join(cond.values)}, and no rule that draws it ({names}) can fire"
                    )
                    changed = True
                    break
    return [
        _problem(f"rule '{r.id}': this rule can never fire: {dead[r.id]}", r.location, "never-fires")
        for r in base.rules
        if r.id in dead
    ]


# --------------------------------------------------------------------- coverage


@dataclass(frozen=True)
class Coverage:
    """What the checked cases and rules leave untested (see ``docs/authoring.md``).

    * ``unexercised_rules``: (rule, why) for each rule no stage of any case fires;
    * ``uncited_sections``: (heading, note) for each section no rule cites; the
      note says when the fidelity table marks every fact of it ``not_encoded``;
    * ``unused_facts``: (key, value) no case reveals;
    * ``unused_conclusions``: (key, value) no rule draws at any stage of any case;
    * ``unused_steps``: next steps no rule suggests or accepts at any stage;
    * ``untaught_rows``: (row, section) of the fidelity table's encoded rows that
      no case teaches (a row is taught when some stage's facts make one of its
      rules fire);
    """

    cases: int
    rules: int
    unexercised_rules: tuple[tuple[str, str], ...] = ()
    uncited_sections: tuple[tuple[str, str], ...] = ()
    unused_facts: tuple[tuple[str, str], ...] = ()
    unused_conclusions: tuple[tuple[str, str], ...] = ()
    unused_steps: tuple[str, ...] = ()
    untaught_rows: tuple[tuple[str, str], ...] = ()
    rows: int = 0
    not_encoded_rows: int = 0

    @property
    def unexplained_sections(self) -> tuple[str, ...]:
        return tuple(s for s, note in self.uncited_sections if not note)

    @property
    def clean(self) -> bool:
        """No rule left unexercised and no section uncited without a reason."""
        return not self.unexercised_rules and not self.unexplained_sections

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "rules": self.rules,
            "clean": self.clean,
            "unexercised_rules": [{"rule": r, "why": why} for r, why in self.unexercised_rules],
            "uncited_sections": [{"section": s, "note": note or None} for s, note in self.uncited_sections],
            "unused_fact_values": [{"key": k, "value": v} for k, v in self.unused_facts],
            "unused_conclusion_values": [{"key": k, "value": v} for k, v in self.unused_conclusions],
            "unused_next_steps": list(self.unused_steps),
            "fidelity_rows": self.rows,
            "fidelity_rows_not_encoded": self.not_encoded_rows,
            "untaught_fidelity_rows": [{"row": r, "section": s} for r, s in self.untaught_rows],
        }


def coverage(result: CheckResult) -> Coverage | None:
    """The coverage of ``result`` (``None`` when its rules have errors)."""
    base = result.base
    if base is None or not result.rules_ok:
        return None
    vocab = base.vocabulary
    fired: set[str] = set()
    revealed: set[tuple[str, str]] = set()
    drawn: set[tuple[str, str]] = set()
    given_steps: set[str] = set()
    for case in result.cases:
        for stage in case.stages:
            for key, _ in stage.reveal.items:
                revealed.update((key, v) for v in stage.reveal.values_of(key))
        for inference in result.inferences.get(case.id, []):
            fired.update(inference.fired)
            drawn.update((k, v) for k, v, _ in inference.conclusions())
            given_steps.update(s for s, _ in inference.suggestions())
            given_steps.update(s for s, _ in inference.acceptances())
    graph = rule_graph(base.rules)
    revealed_keys = {key for key, _ in revealed}
    unexercised = tuple(
        (r.id, _why_unexercised(r, revealed, revealed_keys, fired, graph)) for r in base.rules if r.id not in fired
    )
    cited = {r.source for r in base.rules}
    table = result.table
    uncited: list[tuple[str, str]] = []
    for section in vocab.sections:
        if section in cited:
            continue
        rows = [row for row in (table.rows if table else ()) if row.section == section]
        note = ""
        if rows and all(not row.encoded for row in rows):
            note = f"the fidelity table marks all {len(rows)} of its facts not_encoded, each with the reason"
        uncited.append((section, note))
    untaught: list[tuple[str, str]] = []
    if table is not None:
        untaught = [(row.id, row.section) for row in table.encoded if not set(row.rules) & fired]
    return Coverage(
        cases=len(result.cases),
        rules=len(base.rules),
        unexercised_rules=unexercised,
        uncited_sections=tuple(uncited),
        unused_facts=tuple((f.id, v) for f in vocab.facts for v in f.value_ids if (f.id, v) not in revealed),
        unused_conclusions=tuple((c.id, v) for c in vocab.conclusions for v in c.value_ids if (c.id, v) not in drawn),
        unused_steps=tuple(s.id for s in vocab.next_steps if s.id not in given_steps),
        untaught_rows=tuple(untaught),
        rows=len(table.rows) if table else 0,
        not_encoded_rows=len(table.not_encoded) if table else 0,
    )


def _why_unexercised(
    rule: Rule, revealed: set[tuple[str, str]], revealed_keys: set[str], fired: set[str], graph: RuleGraph
) -> str:
    for part in _top_parts(rule):
        if isinstance(part, Is) and not part.on_conclusion and not any((part.key, v) in revealed for v in part.values):
            return f"it needs {part.key}: {' or '.join(part.values)}, which no case reveals"
        if isinstance(part, Known) and part.key not in revealed_keys:
            return f"it needs {part.key} known, which no case reveals"
    for cond in rule.conclusion_conditions():
        makers = graph.producers(cond.key, cond.values)
        if not any(m.id in fired for m in makers):
            return f"it needs {cond.key}: {' or '.join(cond.values)}, which no rule draws in any case"
    return "no stage of any case meets all its conditions at once"


# --------------------------------------------------------------------- a new case

SKELETON = """\
{schema}# A fictional teaching case for imt-tutor, started with 'imt-tutor new-case'.
# TEACHING AID ONLY - not a diagnostic tool. Everything here is invented: no real
# patient, no names, no dates (give ages). How to write one: docs/authoring.md.
#
# Rewrite the narratives and teaching points, add stages, then run
#   imt-tutor check {file}
# which reports every problem with its line and column.
id: {case_id}    # kebab-case; the file is named {file}
title: A fictional patient with a mass ({site_label})
summary: "Fictional: a skeleton vignette to rewrite (presentation, imaging, biopsy)."
fictional: true    # required: every case is fictional
stages:
  # A stage: what the student reads (narrative), the facts it makes known
  # (reveal; they add up from stage to stage) and questions whose expected
  # answers the rules derive from the facts known so far.
  - id: presentation
    narrative: |
      A fictional 40-year-old has had pain and swelling for some weeks.
    reveal:    # 'imt-tutor vocab' lists every fact and its values
      site: {site}
      symptoms: [pain, swelling]    # a list-valued fact
      presentation: symptomatic
    questions:
      - id: next-steps
        kind: next_steps    # the options default to every next step; 'options: [...]' narrows them
      - id: site-frequency
        kind: conclusion
        key: site_frequency    # a conclusion the rules derive ('imt-tutor vocab site_frequency')
        prompt: How often are IMTs found at this site?
    teaching_points:
      - Write what this stage should teach, in the words of the source.

  - id: imaging
    narrative: |
      A CT scan locates a mass and shows how large it is.
    reveal:
      imaging: [ct]
      imaging_finding: mass
    questions:
      - id: next-steps
        kind: next_steps
      - id: working-diagnosis
        kind: conclusion
        key: working_diagnosis

  - id: biopsy
    narrative: |
      A biopsy of the mass shows myofibroblastic spindle cells with an
      inflammatory infiltrate.
    reveal:
      histology: myofibroblastic_spindle_cells_with_inflammatory_infiltrate
    questions:
      - id: next-steps
        kind: next_steps
      - id: working-diagnosis
        kind: conclusion
        key: working_diagnosis
"""


def case_skeleton(vocab: Vocabulary, case_id: str, site: str, schema: str | None = None) -> str:
    """The text of a commented, fictional skeleton case ``case_id`` at ``site``
    (``schema``: the path of the case schema, for an editor's first line)."""
    first = f"# yaml-language-server: $schema={schema}\n" if schema else ""
    return SKELETON.format(
        schema=first, case_id=case_id, file=f"{case_id}.yaml", site=site, site_label=vocab.label("site", site)
    )
