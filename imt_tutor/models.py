"""Frozen dataclasses shared by every module: vocabulary, rules, facts, traces.

Nothing here reads files or runs rules; it only describes the data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from .errors import Location

# --------------------------------------------------------------------- vocabulary

_T = TypeVar("_T", "Term", "FactKey", "ConclusionKey", "NextStep")


def _first_by_id(entries: tuple[_T, ...]) -> dict[str, _T]:
    """``entries`` by ID (the first of each ID). Each class keeps its index in a
    cached property, so every lookup of an entry is a dictionary access."""
    index: dict[str, _T] = {}
    for entry in entries:
        index.setdefault(entry.id, entry)
    return index


@dataclass(frozen=True)
class Term:
    """One vocabulary entry: an ID with a label and a one-line description.

    ``restates`` (conclusion values only) names the fact keys whose value this
    conclusion merely puts in other words: asking for it in the stage that
    reveals one of them tests nothing.
    """

    id: str
    label: str
    description: str
    restates: tuple[str, ...] = ()


@dataclass(frozen=True)
class FactKey:
    """An observed fact a case can reveal (``site``, ``alk_ihc``, ...)."""

    id: str
    label: str
    description: str
    multi: bool
    values: tuple[Term, ...]

    def value(self, value_id: str) -> Term | None:
        return self._by_id.get(value_id)

    @cached_property
    def _by_id(self) -> dict[str, Term]:
        return _first_by_id(self.values)

    @cached_property
    def value_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.values)


@dataclass(frozen=True)
class ConclusionKey:
    """An intermediate conclusion rules derive (``working_diagnosis``, ...).

    ``values`` are listed from least to most specific; the most specific one
    concluded is the current one.
    """

    id: str
    label: str
    description: str
    values: tuple[Term, ...]

    def value(self, value_id: str) -> Term | None:
        return self._by_id.get(value_id)

    @cached_property
    def _by_id(self) -> dict[str, Term]:
        return _first_by_id(self.values)

    @cached_property
    def value_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.values)


@dataclass(frozen=True)
class NextStep:
    """A suggested next step.

    ``done_when`` lists (fact key, values): once that fact is known (with one
    of ``values``, or with any value when ``values`` is empty) the step has
    been done, and no rule may suggest it again.
    """

    id: str
    label: str
    description: str
    done_when: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def is_done(self, facts: Facts) -> bool:
        for key, values in self.done_when:
            known = facts.values_of(key)
            if known and (not values or any(v in values for v in known)):
                return True
        return False


@dataclass(frozen=True)
class Contradiction:
    """Facts that cannot all hold of one patient (``when``: each must hold).

    ``infer`` warns about them; a case whose reveals meet one is a data error.
    """

    id: str
    when: tuple[Condition, ...]
    message: str
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Vocabulary:
    facts: tuple[FactKey, ...]
    conclusions: tuple[ConclusionKey, ...]
    next_steps: tuple[NextStep, ...]
    sections: tuple[str, ...] = ()
    location: Location | None = field(default=None, compare=False)
    contradictions: tuple[Contradiction, ...] = ()

    def fact(self, key: str) -> FactKey | None:
        return self._facts.get(key)

    def conclusion(self, key: str) -> ConclusionKey | None:
        return self._conclusions.get(key)

    def step(self, step_id: str) -> NextStep | None:
        return self._steps.get(step_id)

    # Indexes, built once per vocabulary (cached properties: not fields, so not
    # compared, hashed or shown).
    @cached_property
    def _facts(self) -> dict[str, FactKey]:
        return _first_by_id(self.facts)

    @cached_property
    def _conclusions(self) -> dict[str, ConclusionKey]:
        return _first_by_id(self.conclusions)

    @cached_property
    def _steps(self) -> dict[str, NextStep]:
        return _first_by_id(self.next_steps)

    def label(self, key: str, value: str | None = None) -> str:
        """Human label for a key, a key's value, or a next step."""
        entry = self.fact(key) or self.conclusion(key)
        if entry is not None:
            if value is None:
                return entry.label
            term = entry.value(value)
            return term.label if term else value
        step = self.step(key)
        if step is not None:
            return step.label
        return key if value is None else value


# --------------------------------------------------------------------- conditions


@dataclass(frozen=True)
class Is:
    """``key`` (a fact or a conclusion) has one of ``values``.

    For a multi-valued fact it means: at least one of its values is listed.
    """

    key: str
    values: tuple[str, ...]
    on_conclusion: bool
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Known:
    """The observed fact ``key`` is known (``known: key``) or, negated, unknown."""

    key: str
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Not:
    part: Condition
    location: Location | None = field(default=None, compare=False)


Condition = Is | Known | AllOf | AnyOf | Not


def walk(condition: Condition) -> Iterator[Condition]:
    """Every node of a condition tree, depth first."""
    yield condition
    if isinstance(condition, (AllOf, AnyOf)):
        for part in condition.parts:
            yield from walk(part)
    elif isinstance(condition, Not):
        yield from walk(condition.part)


# --------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    id: str
    when: Condition
    conclude: tuple[tuple[str, str], ...]
    suggest: tuple[str, ...]
    explanation: str
    source: str
    location: Location | None = field(default=None, compare=False)
    accept: tuple[str, ...] = ()

    def conclusion_conditions(self) -> tuple[Is, ...]:
        """The conditions on derived conclusions (always top-level conjuncts)."""
        parts = self.when.parts if isinstance(self.when, AllOf) else (self.when,)
        return tuple(p for p in parts if isinstance(p, Is) and p.on_conclusion)


@dataclass(frozen=True)
class RuleBase:
    vocabulary: Vocabulary
    rules: tuple[Rule, ...]

    def rule(self, rule_id: str) -> Rule | None:
        return self._rules.get(rule_id)

    @cached_property
    def _rules(self) -> dict[str, Rule]:
        """The rules by ID (the first of each), built once: a lookup is a dictionary access."""
        index: dict[str, Rule] = {}
        for rule in self.rules:
            index.setdefault(rule.id, rule)
        return index


# --------------------------------------------------------------------- facts and results

FactValue = str | tuple[str, ...]


@dataclass(frozen=True)
class Facts:
    """Observed facts of one fictional patient: key -> value (or tuple of values
    for multi-valued keys, sorted and without duplicates)."""

    items: tuple[tuple[str, FactValue], ...] = ()

    @classmethod
    def of(cls, mapping: Mapping[str, FactValue]) -> Facts:
        return cls(tuple(sorted(mapping.items())))

    def as_dict(self) -> dict[str, FactValue]:
        return dict(self.items)

    def get(self, key: str) -> FactValue | None:
        for k, v in self.items:
            if k == key:
                return v
        return None

    def values_of(self, key: str) -> tuple[str, ...]:
        value = self.get(key)
        if value is None:
            return ()
        return value if isinstance(value, tuple) else (value,)

    def __contains__(self, key: object) -> bool:
        return any(k == key for k, _ in self.items)

    def merged(self, other: Facts) -> Facts:
        """These facts updated with ``other`` (``other`` wins key by key)."""
        data = self.as_dict()
        data.update(other.as_dict())
        return Facts.of(data)


@dataclass(frozen=True)
class Firing:
    """One rule that fired: what it matched and what it concluded."""

    rule: str
    matched: tuple[tuple[str, FactValue], ...]
    concluded: tuple[tuple[str, str], ...]
    suggested: tuple[str, ...]
    explanation: str
    source: str
    accepted: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inference:
    """The result of one evaluation: the trace, in canonical order."""

    engine: str
    facts: Facts
    trace: tuple[Firing, ...]

    @property
    def fired(self) -> tuple[str, ...]:
        return tuple(f.rule for f in self.trace)

    def conclusions(self) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
        """(key, value, rule ids) for each distinct conclusion, first seen first."""
        order: list[tuple[str, str]] = []
        because: dict[tuple[str, str], list[str]] = {}
        for firing in self.trace:
            for pair in firing.concluded:
                if pair not in because:
                    order.append(pair)
                    because[pair] = []
                because[pair].append(firing.rule)
        return tuple((k, v, tuple(because[(k, v)])) for k, v in order)

    def suggestions(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(step id, rule ids) for each distinct suggested step, first seen first."""
        order: list[str] = []
        because: dict[str, list[str]] = {}
        for firing in self.trace:
            for step in firing.suggested:
                if step not in because:
                    order.append(step)
                    because[step] = []
                because[step].append(firing.rule)
        return tuple((s, tuple(because[s])) for s in order)

    def acceptances(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(step id, rule ids) for each step accepted (not required) and not
        also suggested, first seen first."""
        suggested = {step for step, _ in self.suggestions()}
        order: list[str] = []
        because: dict[str, list[str]] = {}
        for firing in self.trace:
            for step in firing.accepted:
                if step in suggested:
                    continue
                if step not in because:
                    order.append(step)
                    because[step] = []
                because[step].append(firing.rule)
        return tuple((s, tuple(because[s])) for s in order)

    def has(self, key: str, value: str) -> bool:
        return any((key, value) in f.concluded for f in self.trace)


# --------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Question:
    """One question of a case stage.

    ``kind`` is ``next_steps`` (pick the steps to take now) or ``conclusion``
    (pick the values of the conclusion ``key`` the findings support).
    ``answer`` is an author's override of the engine-derived answer, with its
    ``answer_reason``; ``None`` means the answer is derived by the engine.
    """

    id: str
    kind: str
    key: str | None
    prompt: str
    options: tuple[str, ...]
    answer: tuple[str, ...] | None = None
    answer_reason: str | None = None
    location: Location | None = field(default=None, compare=False)
    expect_nothing: bool = False
    expect_nothing_reason: str | None = None
    weight: int = 1  # points the question is worth in the case's total


@dataclass(frozen=True)
class Stage:
    """One step of a fictional case: what the student reads, what it reveals."""

    id: str
    narrative: str
    reveal: Facts
    questions: tuple[Question, ...]
    teaching_points: tuple[str, ...] = ()
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Case:
    """A staged, fictional teaching case (``cases/<id>.yaml``)."""

    id: str
    title: str
    summary: str
    stages: tuple[Stage, ...]
    path: str
    location: Location | None = field(default=None, compare=False)
    teaser: str = ""  # what a student reads before starting (no outcome); ``summary`` is the instructor's
    hint_penalty: float = 0.0  # points a hint costs (the instructor's choice; none by default)


@dataclass(frozen=True)
class AnswerSheet:
    """A student's answers to one case: (``stage.question``, picks) pairs.

    ``locations`` remembers where things were written in the answer file:
    ``"student"``, ``"case"``, ``"answers"`` (the values), each qualified
    question ID (its key) and ``"<qualified id>[<n>]"`` (pick ``n``).
    """

    student: str
    case: str
    answers: tuple[tuple[str, tuple[str, ...]], ...]
    path: str
    locations: Mapping[str, Location] = field(default_factory=dict, compare=False, repr=False)

    def picks(self, qualified: str) -> tuple[str, ...] | None:
        """The picks for one question, or ``None`` when it was not answered."""
        for key, picks in self.answers:
            if key == qualified:
                return picks
        return None

    def location_of(self, name: str) -> Location | None:
        """Where ``name`` (see ``locations``) was written, if known."""
        return self.locations.get(name)
