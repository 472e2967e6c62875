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
from .graph import RuleGraph, rule_graph
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
    makers: dict[tuple[str, str], list[str]] = {}  # what a firing concluded -> the rules that did, in trace order
    for f in inference.trace:
        for pair in f.concluded:
            makers.setdefault(pair, []).append(f.rule)
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
                pending.extend(makers.get((key, v), ()))
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
_UNSETTLED: _Leaf = (UNSUPPORTED, None, ())  # a rule met again on its own chain (validation rejects cycles)


def done_keys_of(vocab: Vocabulary, step: str | None) -> frozenset[str]:
    """Fact keys that, once known, mean ``step`` (or any step) has been done."""
    steps = [vocab.step(step)] if step is not None else list(vocab.next_steps)
    return frozenset(key for s in steps if s is not None for key, _ in s.done_when)


def _first(leaves: list[_Leaf], *, most_final: bool) -> _Leaf:
    """The first of ``leaves`` with the most (or least) final kind."""
    pick = max if most_final else min
    return pick(leaves, key=lambda o: _FINALITY[o[0]])


class _Settler:
    """(kind, fact, known values) of unmet rules and conditions, for one set of
    facts and conclusions, walked iteratively (a chain of thousands of rules
    costs no recursion); each rule and condition is settled once."""

    def __init__(
        self, graph: RuleGraph, facts: Facts, conclusions: set[tuple[str, str]], done_keys: frozenset[str]
    ) -> None:
        self.graph = graph
        self.facts = facts
        self.conclusions = conclusions
        self.done_keys = done_keys
        self.settled: dict[int, _Leaf] = {}  # id(rule or condition) -> its leaf
        self.by_conclusion: dict[tuple[str, ...], _Leaf] = {}  # (key, *values) -> leaf

    def _expand(self, node: Rule | Condition) -> tuple[_Leaf | None, list[Rule | Condition]]:
        """Either the leaf of ``node`` at once, or what it depends on."""
        facts, conclusions = self.facts, self.conclusions
        if isinstance(node, Rule):
            parts = node.when.parts if isinstance(node.when, AllOf) else (node.when,)
            unmet: list[Rule | Condition] = [p for p in parts if not holds(p, facts, conclusions)]
            return (None, unmet) if unmet else ((NOT_YET_KNOWN, None, ()), [])  # no unmet part: it fired
        if isinstance(node, Is) and node.on_conclusion:
            known = self.by_conclusion.get((node.key, *node.values))
            if known is not None:
                return known, []
            makers: list[Rule | Condition] = list(self.graph.producers(node.key, node.values))
            if not makers:
                self.by_conclusion[(node.key, *node.values)] = _UNSETTLED
                return _UNSETTLED, []
            return None, makers
        if isinstance(node, (Is, Known)):
            if node.key not in facts:
                return (NOT_YET_KNOWN, node.key, ()), []
            return (CONTRADICTED, node.key, facts.values_of(node.key)), []
        if isinstance(node, Not) and isinstance(node.part, (Is, Known)):
            key = node.part.key
            kind = ALREADY_DONE if key in self.done_keys else CONTRADICTED
            return (kind, key, facts.values_of(key)), []
        if isinstance(node, AnyOf):
            return None, list(node.parts)
        if isinstance(node, AllOf):
            unmet = [p for p in node.parts if not holds(p, facts, conclusions)]
            return (None, unmet) if unmet else ((NOT_YET_KNOWN, None, ()), [])
        # not (any/all of observed facts) that hold: the known facts rule it out
        return (CONTRADICTED, None, ()), []

    def _combine(self, node: Rule | Condition, leaves: list[_Leaf]) -> _Leaf:
        if isinstance(node, Is):  # a conclusion: any rule that concludes it would do
            leaf = _first(leaves, most_final=False)
            self.by_conclusion[(node.key, *node.values)] = leaf
            return leaf
        # a rule or all of some conditions: every one must hold, the most final gap decides
        return _first(leaves, most_final=not isinstance(node, AnyOf))

    def leaf(self, root: Rule | Condition) -> _Leaf:
        settled = self.settled
        busy: set[int] = set()
        stack: list[tuple[Rule | Condition, list[Rule | Condition] | None]] = [(root, None)]
        while stack:
            node, needs = stack[-1]
            if needs is None:
                if id(node) in settled:
                    stack.pop()
                    continue
                now, needs = self._expand(node)
                if now is not None:
                    settled[id(node)] = now
                    stack.pop()
                    continue
                stack[-1] = (node, needs)
                busy.add(id(node))
                waiting = [n for n in needs if id(n) not in settled and id(n) not in busy]
                if waiting:
                    stack.extend((n, None) for n in reversed(waiting))
                    continue
            settled[id(node)] = self._combine(node, [settled.get(id(n), _UNSETTLED) for n in needs])
            busy.discard(id(node))
            stack.pop()
        return settled[id(root)]


def rule_gaps(
    base: RuleBase, inference: Inference, rules: Iterable[Rule], done_keys: frozenset[str] | None = None
) -> tuple[Gap, ...]:
    """For each of ``rules`` that did not fire here: its :class:`Gap`."""
    if done_keys is None:
        done_keys = done_keys_of(base.vocabulary, None)
    conclusions = {(k, v) for k, v, _ in inference.conclusions()}
    graph = rule_graph(base.rules)
    settler = _Settler(graph, inference.facts, conclusions, done_keys)
    out = []
    for rule in rules:
        result: Check = check(rule.when, inference.facts, conclusions)
        first = result.first_unmet()
        if first is None:
            continue
        kind, fact, known = settler.leaf(rule)
        cond = first.condition
        makers: tuple[str, ...] = ()
        if isinstance(cond, Is) and cond.on_conclusion:
            makers = tuple(r.id for r in graph.producers(cond.key, cond.values))
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
