"""HOW and WHY-NOT explanations as data, from an inference trace.

HOW: the firings behind a step or a conclusion, with the rules whose
conclusions they needed (:func:`how_chain`). WHY-NOT: for each rule that could
give an option but did not fire, a :class:`Gap` with its kind
(:func:`rule_gaps`, :func:`why_not`). ``render/`` puts both in words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .engines.builtin import Check, check, holds
from .errors import DataError, did_you_mean, shown
from .graph import rule_graph
from .models import AllOf, AnyOf, Condition, Facts, Firing, Inference, Is, Known, Not, Rule, RuleBase, Vocabulary

__all__ = [
    "ALREADY_DONE",
    "CONTRADICTED",
    "GAP_KINDS",
    "LESS_SPECIFIC",
    "NOT_YET_KNOWN",
    "UNSUPPORTED",
    "Gap",
    "WhyNot",
    "how_chain",
    "rule_gaps",
    "weakest",
    "why_not",
]

NOT_YET_KNOWN = "not_yet_known"
ALREADY_DONE = "already_done"
CONTRADICTED = "contradicted"
UNSUPPORTED = "unsupported"
LESS_SPECIFIC = "less_specific"
GAP_KINDS = (NOT_YET_KNOWN, ALREADY_DONE, CONTRADICTED, UNSUPPORTED, LESS_SPECIFIC)
# Within one rule (all its conditions must hold) the most final gap decides;
# across alternatives (any rule would do) the least final one does.
_FINALITY = {NOT_YET_KNOWN: 1, ALREADY_DONE: 2, CONTRADICTED: 3, UNSUPPORTED: 4}


# --------------------------------------------------------------------- HOW


def how_chain(
    inference: Inference,
    vocab: Vocabulary,
    step: str | None = None,
    conclusion: tuple[str, str] | None = None,
    accepted: str | None = None,
) -> list[Firing]:
    """The firings behind the next step ``step`` (or the ``(key, value)``
    ``conclusion``, or the ``accepted`` step), with the rules whose
    conclusions they needed, in trace order. With none: the whole trace."""
    if step is None and conclusion is None and accepted is None:
        return list(inference.trace)
    needed: set[str] = set()
    by_rule = {f.rule: f for f in inference.trace}
    pending = [
        f.rule
        for f in inference.trace
        if (step is not None and step in f.suggested)
        or (conclusion is not None and conclusion in f.concluded)
        or (accepted is not None and accepted in f.accepted)
    ]
    while pending:
        rule_id = pending.pop()
        if rule_id in needed:
            continue
        needed.add(rule_id)
        for key, values in by_rule[rule_id].matched:
            if vocab.conclusion(key) is None:
                continue
            for v in values if isinstance(values, tuple) else (values,):
                pending.extend(f.rule for f in inference.trace if (key, v) in f.concluded)
    return [f for f in inference.trace if f.rule in needed]


# --------------------------------------------------------------------- WHY-NOT


@dataclass(frozen=True)
class Gap:
    """Why one rule that could give an option did not fire at this stage.

    ``condition`` is the rule's first unmet top-level condition; ``kind`` and
    ``fact`` / ``known`` come from the condition that settles it (the observed
    fact at the end of the chain, with its known values, if any);
    ``producers`` are the rules that could conclude what ``condition`` needs
    (for a condition on a conclusion).
    """

    kind: str
    rule: str
    source: str
    condition: Condition
    fact: str | None = None
    known: tuple[str, ...] = ()
    producers: tuple[str, ...] = ()


_Leaf = tuple[str, "str | None", tuple[str, ...]]


def done_keys_of(vocab: Vocabulary, step: str | None) -> frozenset[str]:
    """Fact keys that, once known, mean ``step`` (or any step) has been done."""
    steps = [vocab.step(step)] if step is not None else list(vocab.next_steps)
    return frozenset(key for s in steps if s is not None for key, _ in s.done_when)


def _leaf(
    base: RuleBase,
    cond: Condition,
    facts: Facts,
    conclusions: set[tuple[str, str]],
    done_keys: frozenset[str],
    seen: dict[tuple[str, ...], tuple[str, str | None, tuple[str, ...]]],
) -> tuple[str, str | None, tuple[str, ...]]:
    """(kind, fact, known values) of an unmet condition."""
    if isinstance(cond, Is) and cond.on_conclusion:
        memo = (cond.key, *cond.values)
        if memo not in seen:
            options = [
                _rule_leaf(base, r, facts, conclusions, done_keys, seen)
                for r in rule_graph(base.rules).producers(cond.key, cond.values)
            ]
            seen[memo] = min(options, key=lambda o: _FINALITY[o[0]]) if options else (UNSUPPORTED, None, ())
        return seen[memo]
    if isinstance(cond, (Is, Known)):
        if cond.key not in facts:
            return NOT_YET_KNOWN, cond.key, ()
        return CONTRADICTED, cond.key, facts.values_of(cond.key)
    if isinstance(cond, Not) and isinstance(cond.part, (Is, Known)):
        key = cond.part.key
        kind = ALREADY_DONE if key in done_keys else CONTRADICTED
        return kind, key, facts.values_of(key)
    if isinstance(cond, AnyOf):
        parts = [_leaf(base, p, facts, conclusions, done_keys, seen) for p in cond.parts]
        return min(parts, key=lambda o: _FINALITY[o[0]])
    if isinstance(cond, AllOf):
        parts = [
            _leaf(base, p, facts, conclusions, done_keys, seen) for p in cond.parts if not holds(p, facts, conclusions)
        ]
        return max(parts, key=lambda o: _FINALITY[o[0]])
    # not (any/all of observed facts) that hold: the known facts rule it out
    return CONTRADICTED, None, ()


def _rule_leaf(
    base: RuleBase,
    rule: Rule,
    facts: Facts,
    conclusions: set[tuple[str, str]],
    done_keys: frozenset[str],
    seen: dict[tuple[str, ...], tuple[str, str | None, tuple[str, ...]]],
) -> tuple[str, str | None, tuple[str, ...]]:
    parts = rule.when.parts if isinstance(rule.when, AllOf) else (rule.when,)
    unmet = [p for p in parts if not holds(p, facts, conclusions)]
    if not unmet:  # it fired; cannot happen for a rule asked about
        return NOT_YET_KNOWN, None, ()
    leaves = [_leaf(base, p, facts, conclusions, done_keys, seen) for p in unmet]
    return max(leaves, key=lambda o: _FINALITY[o[0]])


def rule_gaps(
    base: RuleBase, inference: Inference, rules: Iterable[Rule], done_keys: frozenset[str] | None = None
) -> tuple[Gap, ...]:
    """For each of ``rules`` that did not fire here: its :class:`Gap`."""
    if done_keys is None:
        done_keys = done_keys_of(base.vocabulary, None)
    conclusions = {(k, v) for k, v, _ in inference.conclusions()}
    seen: dict[tuple[str, ...], tuple[str, str | None, tuple[str, ...]]] = {}
    out = []
    for rule in rules:
        result: Check = check(rule.when, inference.facts, conclusions)
        first = result.first_unmet()
        if first is None:
            continue
        kind, fact, known = _rule_leaf(base, rule, inference.facts, conclusions, done_keys, seen)
        cond = first.condition
        makers: tuple[str, ...] = ()
        if isinstance(cond, Is) and cond.on_conclusion:
            makers = tuple(r.id for r in rule_graph(base.rules).producers(cond.key, cond.values))
        out.append(Gap(kind, rule.id, rule.source, cond, fact, known, makers))
    return tuple(out)


def weakest(gaps: tuple[Gap, ...]) -> str:
    if not gaps:
        return UNSUPPORTED
    return min((g.kind for g in gaps), key=lambda k: _FINALITY[k])


@dataclass(frozen=True)
class WhyNot:
    """Why ``step`` is (not) suggested for one set of facts."""

    step: str
    suggested: bool
    because: tuple[str, ...]
    gaps: tuple[Gap, ...]
    facts: Facts

    @property
    def kind(self) -> str | None:
        return None if self.suggested else weakest(self.gaps)


def why_not(base: RuleBase, inference: Inference, step: str) -> WhyNot:
    """Why ``step`` was (not) suggested for the facts of ``inference``."""
    vocab = base.vocabulary
    if vocab.step(step) is None:
        raise DataError(
            f"unknown next step '{shown(step)}'{did_you_mean(step, [s.id for s in vocab.next_steps])}",
            code="unknown-step",
        )
    because = dict(inference.suggestions()).get(step, ())
    rules = [r for r in base.rules if step in r.suggest]
    gaps = () if because else rule_gaps(base, inference, rules, done_keys_of(vocab, step))
    return WhyNot(step, bool(because), tuple(because), gaps, inference.facts)
