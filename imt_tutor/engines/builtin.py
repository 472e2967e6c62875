"""The project's own evaluator of the rules: forward chaining to a fixpoint.

It is the engine on Pythons where durable_rules cannot be installed, the
cross-check of the durable_rules adapter, and the source of per-condition
results that WHY-NOT explanations need.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

from ..models import AllOf, AnyOf, Condition, Facts, FactValue, Firing, Inference, Is, Known, Not, Rule, RuleBase

Conclusions = Set[tuple[str, str]]

ENGINE_NAME = "builtin"


def holds(condition: Condition, facts: Facts, conclusions: Conclusions) -> bool:
    """Whether ``condition`` is true of ``facts`` and the ``conclusions`` so far."""
    if isinstance(condition, Is):
        if condition.on_conclusion:
            return any((condition.key, v) in conclusions for v in condition.values)
        return any(v in condition.values for v in facts.values_of(condition.key))
    if isinstance(condition, Known):
        return condition.key in facts
    if isinstance(condition, AllOf):
        return all(holds(p, facts, conclusions) for p in condition.parts)
    if isinstance(condition, AnyOf):
        return any(holds(p, facts, conclusions) for p in condition.parts)
    if isinstance(condition, Not):
        return not holds(condition.part, facts, conclusions)
    raise TypeError(f"not a condition: {condition!r}")


@dataclass(frozen=True)
class Check:
    """A condition with its result against one case, and its parts' results."""

    condition: Condition
    met: bool
    parts: tuple[Check, ...] = ()

    def first_unmet(self) -> Check | None:
        """The first top-level conjunct that fails (the condition itself if atomic)."""
        if self.met:
            return None
        if isinstance(self.condition, AllOf):
            for part in self.parts:
                if not part.met:
                    return part
        return self


def check(condition: Condition, facts: Facts, conclusions: Conclusions) -> Check:
    """Per-condition results, for WHY-NOT."""
    parts: tuple[Check, ...] = ()
    if isinstance(condition, (AllOf, AnyOf)):
        parts = tuple(check(p, facts, conclusions) for p in condition.parts)
    elif isinstance(condition, Not):
        parts = (check(condition.part, facts, conclusions),)
    return Check(condition, holds(condition, facts, conclusions), parts)


def matched(rule: Rule, facts: Facts, conclusions: Conclusions) -> tuple[tuple[str, FactValue], ...]:
    """The facts and conclusions a firing rule relied on, in condition order.

    Multi-valued facts keep only the values the rule looked for.
    """
    found: dict[str, list[str]] = {}

    def add(key: str, values: tuple[str, ...] | list[str]) -> None:
        bucket = found.setdefault(key, [])
        for v in values:
            if v not in bucket:
                bucket.append(v)

    def visit(cond: Condition, positive: bool) -> None:
        if isinstance(cond, Is):
            if cond.on_conclusion:
                add(cond.key, [v for v in cond.values if (cond.key, v) in conclusions])
                return
            known = facts.values_of(cond.key)
            if positive:
                add(cond.key, [v for v in known if v in cond.values])
            else:
                add(cond.key, list(known))
        elif isinstance(cond, Known):
            if positive:
                add(cond.key, list(facts.values_of(cond.key)))
        elif isinstance(cond, AllOf):
            for part in cond.parts:
                visit(part, positive)
        elif isinstance(cond, AnyOf):
            for part in cond.parts:
                if holds(part, facts, conclusions) == positive:
                    visit(part, positive)
        elif isinstance(cond, Not):
            visit(cond.part, not positive)

    visit(rule.when, True)
    out: list[tuple[str, FactValue]] = []
    for key, values in found.items():
        if not values:
            continue
        multi = len(values) > 1 or isinstance(facts.get(key), tuple)
        out.append((key, tuple(values) if multi else values[0]))
    return tuple(out)


def firing(rule: Rule, facts: Facts, conclusions: Conclusions) -> Firing:
    return Firing(
        rule=rule.id,
        matched=matched(rule, facts, conclusions),
        concluded=rule.conclude,
        suggested=rule.suggest,
        explanation=rule.explanation,
        source=rule.source,
        accepted=rule.accept,
    )


def canonical_trace(base: RuleBase, fired: Set[str], facts: Facts) -> tuple[Firing, ...]:
    """The trace of the rules in ``fired``, in the rule base's canonical order
    (chaining depth, then as written), whatever order they fired in."""
    conclusions = {pair for r in base.rules if r.id in fired for pair in r.conclude}
    return tuple(firing(r, facts, conclusions) for r in base.rules if r.id in fired)


def closure(base: RuleBase, facts: Facts) -> tuple[set[str], set[tuple[str, str]]]:
    """Fire rules until nothing changes; return (fired rule ids, conclusions)."""
    fired: set[str] = set()
    conclusions: set[tuple[str, str]] = set()
    changed = True
    while changed:
        changed = False
        for rule in base.rules:
            if rule.id not in fired and holds(rule.when, facts, conclusions):
                fired.add(rule.id)
                conclusions.update(rule.conclude)
                changed = True
    return fired, conclusions


class BuiltinEngine:
    """Pure-Python forward chaining over the same rules."""

    name = ENGINE_NAME

    def __init__(self, base: RuleBase) -> None:
        self.base = base

    def __enter__(self) -> BuiltinEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def infer(self, facts: Facts) -> Inference:
        fired, _ = closure(self.base, facts)
        return Inference(self.name, facts, canonical_trace(self.base, fired, facts))

    def close(self) -> None:
        """Nothing to release; present for symmetry with the durable_rules engine."""
