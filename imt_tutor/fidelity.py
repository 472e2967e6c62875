"""The fidelity table: each fact (claim) of the source document, in the project's
own words, with its section heading, the rules that encode it and ``infer``
checks that hold of those rules.

TEACHING AID ONLY - not a diagnostic tool. ``rules/fidelity.yaml`` is data and
is validated like the rules: every problem is collected and located
(path:line:col), with a did-you-mean for misspelt names. Claims the rules cannot
encode carry ``not_encoded`` with the reason instead of rules and checks.

Nothing here prints; :func:`by_section` gives the outline as plain data for the
CLI to render.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .errors import DataError, Location, Problems, did_you_mean, shown
from .loading import YamlList, YamlMap, load_yaml_file
from .models import Facts, Inference, RuleBase, Vocabulary
from .rulebase import FIDELITY_FILE
from .vocabulary import contradictions_in, parse_facts, where

__all__ = [
    "CHECK_KEYS",
    "ROW_KEYS",
    "TABLE_KEYS",
    "Check",
    "Failure",
    "FidelityRow",
    "FidelityTable",
    "SectionOutline",
    "by_section",
    "fidelity_path",
    "load_fidelity",
    "missing_sections",
    "parse_fidelity",
    "run_check",
    "run_row",
    "run_table",
    "untraced_rules",
]

TABLE_KEYS = ("facts",)
ROW_KEYS = ("id", "section", "claim", "rules", "checks", "not_encoded")
EXPECTATION_KEYS = ("concludes", "not_concludes", "suggests", "not_suggests", "accepts")
CHECK_KEYS = ("facts", *EXPECTATION_KEYS)
KEBAB = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


class Infers(Protocol):
    """What :func:`run_check` needs of an engine (both engines qualify)."""

    def infer(self, facts: Facts) -> Inference: ...


# --------------------------------------------------------------------- data


@dataclass(frozen=True)
class Check:
    """One ``infer`` check: with ``facts``, the rules must draw every conclusion
    in ``concludes``, none in ``not_concludes``, suggest every step in
    ``suggests``, none in ``not_suggests``, and accept (without requiring) every
    step in ``accepts``."""

    facts: Facts
    concludes: tuple[tuple[str, str], ...] = ()
    not_concludes: tuple[tuple[str, str], ...] = ()
    suggests: tuple[str, ...] = ()
    not_suggests: tuple[str, ...] = ()
    accepts: tuple[str, ...] = ()
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class FidelityRow:
    """One claim of the document: encoded (``rules`` and ``checks``) or not
    (``not_encoded`` gives the reason)."""

    id: str
    section: str
    claim: str
    rules: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()
    not_encoded: str | None = None
    location: Location | None = field(default=None, compare=False)

    @property
    def encoded(self) -> bool:
        return self.not_encoded is None

    def as_dict(self) -> dict[str, Any]:
        """The row without its checks, ready for JSON."""
        out: dict[str, Any] = {"id": self.id, "section": self.section, "claim": self.claim}
        if self.encoded:
            out["rules"] = list(self.rules)
        else:
            out["not_encoded"] = self.not_encoded
        return out


@dataclass(frozen=True)
class FidelityTable:
    path: str
    rows: tuple[FidelityRow, ...]

    def row(self, row_id: str) -> FidelityRow | None:
        for row in self.rows:
            if row.id == row_id:
                return row
        return None

    @property
    def encoded(self) -> tuple[FidelityRow, ...]:
        return tuple(r for r in self.rows if r.encoded)

    @property
    def not_encoded(self) -> tuple[FidelityRow, ...]:
        return tuple(r for r in self.rows if not r.encoded)

    def traced_rules(self) -> tuple[str, ...]:
        """Every rule ID some row lists, first listed first."""
        out: list[str] = []
        for row in self.rows:
            out.extend(r for r in row.rules if r not in out)
        return tuple(out)


@dataclass(frozen=True)
class SectionOutline:
    """One section heading of the document: its rows in table order, and the
    rules whose ``source`` is this section but which no row of it lists."""

    section: str
    rows: tuple[FidelityRow, ...]
    unlisted_rules: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "facts": [r.as_dict() for r in self.rows],
            "unlisted_rules": list(self.unlisted_rules),
        }


@dataclass(frozen=True)
class Failure:
    """A check (or a row) of the table that the rules do not bear out."""

    row: str
    message: str
    location: Location | None = None

    def __str__(self) -> str:
        text = f"row '{self.row}': {self.message}"
        return f"{self.location}: {text}" if self.location is not None else text


# --------------------------------------------------------------------- loading


def fidelity_path(rules_dir: str | Path) -> Path:
    """Where the fidelity table of a rules folder lives."""
    return Path(rules_dir) / FIDELITY_FILE


def load_fidelity(path: str | Path, base: RuleBase) -> FidelityTable:
    """Load and validate the table at ``path`` against ``base``.

    Raises :class:`~imt_tutor.errors.DataError` (one problem) or
    :class:`~imt_tutor.errors.DataErrors` (several, all of them).
    """
    data = load_yaml_file(path, expect=dict)
    return parse_fidelity(data, str(path), base)


def parse_fidelity(data: Any, path: str, base: RuleBase) -> FidelityTable:
    """Validate a loaded table, collecting every problem before raising."""
    if not isinstance(data, YamlMap):
        raise DataError("the fidelity table must be a mapping with a 'facts' list", Location(path, 1, 1))
    problems = Problems()
    rows: list[FidelityRow] = []
    for key in data:
        if key not in TABLE_KEYS:
            problems.add(
                f"unknown key '{shown(key)}' in the fidelity table{did_you_mean(key, TABLE_KEYS)}",
                data.key_location(key),
            )
    raw_rows = data.get("facts")
    if not isinstance(raw_rows, YamlList) or not raw_rows:
        problems.add(
            "the fidelity table needs 'facts': a non-empty list of rows (id, section, claim, ...)",
            where(data, "facts") if "facts" in data else Location(path, 1, 1),
        )
    else:
        seen: dict[str, Location] = {}
        for i, raw in enumerate(raw_rows):
            row = _parse_row(base, raw, raw_rows.item_location(i), i, seen, problems)
            if row is not None:
                rows.append(row)
    problems.raise_if_any()
    return FidelityTable(path, tuple(rows))


def _parse_row(
    base: RuleBase, raw: Any, loc: Location, index: int, seen: dict[str, Location], problems: Problems
) -> FidelityRow | None:
    vocab = base.vocabulary
    if not isinstance(raw, YamlMap):
        problems.add(
            f"row {index + 1}: a row is a mapping with id, section, claim and either rules and checks or not_encoded",
            loc,
        )
        return None
    before = len(problems.errors)
    row_id = raw.get("id")
    label = f"row {index + 1}"
    if "id" not in raw:
        problems.add(f"{label} needs an 'id' (kebab-case)", loc)
    elif not isinstance(row_id, str) or not KEBAB.fullmatch(row_id):
        problems.add(f"{label}: the id must be kebab-case, e.g. 'alk-stain-confirms-rearrangement'", where(raw, "id"))
    else:
        label = f"row '{row_id}'"
        first = seen.get(row_id)
        if first is not None:
            problems.add(f"duplicate row id '{row_id}' (first used at line {first.line})", where(raw, "id"))
        else:
            seen[row_id] = where(raw, "id") or loc
    for key in raw:
        if key not in ROW_KEYS:
            problems.add(f"{label}: unknown key '{shown(key)}'{did_you_mean(key, ROW_KEYS)}", raw.key_location(key))

    section = raw.get("section")
    if "section" not in raw:
        problems.add(f"{label} needs a 'section' (a section heading of the document)", loc)
    elif not isinstance(section, str) or section not in vocab.sections:
        problems.add(
            f"{label}: section {section!r} is not a section heading of the document"
            f"{did_you_mean(str(section), vocab.sections)}",
            where(raw, "section"),
        )
    claim = _one_line(raw, "claim", label, loc, problems)

    has_reason = "not_encoded" in raw
    rules: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()
    reason: str | None = None
    if has_reason:
        reason = _one_line(raw, "not_encoded", label, loc, problems)
        for key in ("rules", "checks"):
            if key in raw:
                problems.add(
                    f"{label}: a row marked 'not_encoded' lists no '{key}' (encoded rows list rules and checks)",
                    raw.key_location(key),
                )
    elif "rules" not in raw and "checks" not in raw:
        problems.add(
            f"{label} needs 'rules' and 'checks' (the rules that encode the claim and infer checks of them), "
            "or 'not_encoded' with the reason the rules cannot encode it",
            loc,
        )
    else:
        for key in ("rules", "checks"):
            if key not in raw:
                problems.add(f"{label} lists {'checks' if key == 'rules' else 'rules'} but no '{key}'", loc)
        rules = _rule_ids(base, raw, label, problems)
        checks = _checks(vocab, raw, label, problems)
    if len(problems.errors) != before:
        return None
    return FidelityRow(str(row_id), str(section), claim, rules, checks, reason, loc)


def _one_line(raw: YamlMap, key: str, label: str, loc: Location, problems: Problems) -> str:
    value = raw.get(key)
    if key not in raw:
        problems.add(f"{label} needs '{key}'", loc)
        return ""
    if not isinstance(value, str) or not value.strip() or "\n" in value.strip():
        problems.add(f"{label}: '{key}' must be one line of text", where(raw, key))
        return ""
    return value.strip()


def _rule_ids(base: RuleBase, raw: YamlMap, label: str, problems: Problems) -> tuple[str, ...]:
    value = raw.get("rules")
    if "rules" not in raw:
        return ()
    if not isinstance(value, YamlList) or not value:
        problems.add(f"{label}: 'rules' is a non-empty list of rule IDs", where(raw, "rules"))
        return ()
    out: list[str] = []
    for i, rule_id in enumerate(value):
        iloc = value.item_location(i)
        if not isinstance(rule_id, str) or base.rule(rule_id) is None:
            known = [r.id for r in base.rules]
            problems.add(f"{label}: unknown rule {rule_id!r}{did_you_mean(str(rule_id), known)}", iloc)
        elif rule_id in out:
            problems.add(f"{label}: rule '{rule_id}' is listed twice", iloc)
        else:
            out.append(rule_id)
    return tuple(out)


def _checks(vocab: Vocabulary, raw: YamlMap, label: str, problems: Problems) -> tuple[Check, ...]:
    value = raw.get("checks")
    if "checks" not in raw:
        return ()
    if not isinstance(value, YamlList) or not value:
        problems.add(f"{label}: 'checks' is a non-empty list of infer checks", where(raw, "checks"))
        return ()
    out: list[Check] = []
    for i, item in enumerate(value):
        check = _parse_check(vocab, item, value.item_location(i), f"{label}, check {i + 1}", problems)
        if check is not None:
            out.append(check)
    return tuple(out)


def _parse_check(vocab: Vocabulary, raw: Any, loc: Location, label: str, problems: Problems) -> Check | None:
    if not isinstance(raw, YamlMap):
        problems.add(f"{label}: a check is a mapping with 'facts' and what the rules must (not) do with them", loc)
        return None
    before = len(problems.errors)
    for key in raw:
        if key not in CHECK_KEYS:
            problems.add(f"{label}: unknown key '{shown(key)}'{did_you_mean(key, CHECK_KEYS)}", raw.key_location(key))
    facts = Facts()
    raw_facts = raw.get("facts")
    if "facts" not in raw:
        problems.add(f"{label} needs 'facts' (a mapping of fact key: value)", loc)
    elif not isinstance(raw_facts, YamlMap) or not raw_facts:
        problems.add(f"{label}: 'facts' must be a non-empty mapping of fact key: value", where(raw, "facts"))
    else:
        own = Problems()
        facts = parse_facts(vocab, raw_facts, where(raw, "facts"), own)
        for error in own.errors:
            problems.add(f"{label}: {error.message}", error.location)
        if not own.errors:
            for c in contradictions_in(vocab, facts):
                problems.add(f"{label}: the facts contradict each other ({c.id}: {c.message})", where(raw, "facts"))
    if not any(key in raw for key in EXPECTATION_KEYS):
        problems.add(f"{label} expects nothing; give at least one of {', '.join(EXPECTATION_KEYS)}", loc)
    concludes = _conclusions(vocab, raw, "concludes", label, problems)
    not_concludes = _conclusions(vocab, raw, "not_concludes", label, problems)
    suggests = _steps(vocab, raw, "suggests", label, problems)
    not_suggests = _steps(vocab, raw, "not_suggests", label, problems)
    accepts = _steps(vocab, raw, "accepts", label, problems)
    for a, b, items in (
        ("concludes", "not_concludes", [f"{k}: {v}" for k, v in concludes if (k, v) in not_concludes]),
        ("suggests", "not_suggests", [s for s in suggests if s in not_suggests]),
        ("suggests", "accepts", [s for s in suggests if s in accepts]),
    ):
        for item in items:
            problems.add(f"{label}: '{item}' is under both '{a}' and '{b}', so the check can never hold", where(raw, b))
    if len(problems.errors) != before:
        return None
    return Check(facts, concludes, not_concludes, suggests, not_suggests, accepts, loc)


def _conclusions(
    vocab: Vocabulary, raw: YamlMap, key: str, label: str, problems: Problems
) -> tuple[tuple[str, str], ...]:
    value = raw.get(key)
    if key not in raw:
        return ()
    if not isinstance(value, YamlMap) or not value:
        problems.add(f"{label}: '{key}' is a mapping of conclusion: value (or [values])", where(raw, key))
        return ()
    out: list[tuple[str, str]] = []
    names = [c.id for c in vocab.conclusions]
    for name, values in value.items():
        entry = vocab.conclusion(name)
        if entry is None:
            why = " (facts are observed, not concluded)" if vocab.fact(name) is not None else ""
            problems.add(
                f"{label}: unknown conclusion '{name}' under '{key}'{did_you_mean(name, names)}{why}",
                value.key_location(name),
            )
            continue
        items = list(values) if isinstance(values, list) else [values]
        if not items:
            problems.add(f"{label}: '{name}' under '{key}' needs a value", value.value_location(name))
        for v in items:
            if not isinstance(v, str) or entry.value(v) is None:
                problems.add(
                    f"{label}: unknown value {v!r} for '{name}'{did_you_mean(str(v), entry.value_ids)}",
                    value.value_location(name),
                )
            elif (name, v) not in out:
                out.append((name, v))
    return tuple(out)


def _steps(vocab: Vocabulary, raw: YamlMap, key: str, label: str, problems: Problems) -> tuple[str, ...]:
    value = raw.get(key)
    if key not in raw:
        return ()
    if isinstance(value, str):
        value_list: list[Any] = [value]
    elif isinstance(value, YamlList) and value:
        value_list = list(value)
    else:
        problems.add(f"{label}: '{key}' is a non-empty list of next steps", where(raw, key))
        return ()
    names = [s.id for s in vocab.next_steps]
    out: list[str] = []
    for i, step in enumerate(value_list):
        sloc = value.item_location(i) if isinstance(value, YamlList) else where(raw, key)
        if not isinstance(step, str) or vocab.step(step) is None:
            problems.add(f"{label}: unknown next step {step!r} under '{key}'{did_you_mean(str(step), names)}", sloc)
        elif step not in out:
            out.append(step)
    return tuple(out)


# --------------------------------------------------------------------- running


def run_check(engine: Infers, check: Check) -> list[str]:
    """What of ``check`` the rules do not bear out (empty when it holds)."""
    return _failures(engine.infer(check.facts), check)


def _failures(inference: Inference, check: Check) -> list[str]:
    concluded = {(k, v): rules for k, v, rules in inference.conclusions()}
    suggested = dict(inference.suggestions())
    accepted = dict(inference.acceptances())
    failures: list[str] = []
    for k, v in check.concludes:
        if (k, v) not in concluded:
            failures.append(f"expected the conclusion {k}: {v}, which is not drawn")
    for k, v in check.not_concludes:
        if (k, v) in concluded:
            failures.append(f"the conclusion {k}: {v} is drawn (by {', '.join(concluded[(k, v)])}), against the check")
    for step in check.suggests:
        if step not in suggested:
            failures.append(f"expected the next step {step} to be suggested; it is not")
    for step in check.not_suggests:
        if step in suggested:
            failures.append(f"the next step {step} is suggested (by {', '.join(suggested[step])}), against the check")
    for step in check.accepts:
        if step not in accepted:
            how = "it is suggested (required) instead" if step in suggested else "it is not"
            failures.append(f"expected the next step {step} to be accepted without being required; {how}")
    return failures


def _row_failures(engine: Infers, row: FidelityRow) -> list[tuple[Location | None, str]]:
    out: list[tuple[Location | None, str]] = []
    fired: set[str] = set()
    for n, check in enumerate(row.checks, 1):
        inference = engine.infer(check.facts)
        fired.update(inference.fired)
        out.extend((check.location, f"check {n}: {message}") for message in _failures(inference, check))
    out.extend(
        (row.location, f"rule '{rule_id}' is listed but fires in none of the row's checks")
        for rule_id in row.rules
        if rule_id not in fired
    )
    return out


def run_row(engine: Infers, row: FidelityRow) -> list[str]:
    """Every failing check of ``row`` (``check N: ...``), and every rule the row
    lists that fires in none of its checks (no check shows that it encodes the claim)."""
    return [message for _, message in _row_failures(engine, row)]


def run_table(engine: Infers, table: FidelityTable) -> list[Failure]:
    """:func:`run_row` over every encoded row, each failure located."""
    return [Failure(row.id, message, loc) for row in table.encoded for loc, message in _row_failures(engine, row)]


# --------------------------------------------------------------------- coverage and outline


def untraced_rules(base: RuleBase, table: FidelityTable) -> tuple[str, ...]:
    """The rules of ``base`` that no row lists."""
    traced = set(table.traced_rules())
    return tuple(r.id for r in base.rules if r.id not in traced)


def missing_sections(base: RuleBase, table: FidelityTable) -> tuple[str, ...]:
    """The section headings of the vocabulary that no row is filed under."""
    used = {row.section for row in table.rows}
    return tuple(s for s in base.vocabulary.sections if s not in used)


def by_section(base: RuleBase, table: FidelityTable) -> tuple[SectionOutline, ...]:
    """For each section heading, in the vocabulary's order: the rows filed under
    it, and the rules citing it that none of those rows lists."""
    out: list[SectionOutline] = []
    for section in base.vocabulary.sections:
        rows = tuple(r for r in table.rows if r.section == section)
        listed = {rule_id for r in rows for rule_id in r.rules}
        unlisted = tuple(r.id for r in base.rules if r.source == section and r.id not in listed)
        out.append(SectionOutline(section, rows, unlisted))
    return tuple(out)
