"""HOW and WHY-NOT explanations, in words, from an inference trace.

HOW: each firing as rule -> matched facts -> conclusions/suggestions -> cited
section. WHY-NOT: for a step that was not suggested, each rule that could
suggest it and the first of its conditions this case does not meet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .engines.builtin import Check, check
from .errors import DataError, did_you_mean
from .graph import producers
from .models import (
    AllOf,
    AnyOf,
    Condition,
    Facts,
    FactValue,
    Firing,
    Inference,
    Is,
    Known,
    Not,
    Rule,
    RuleBase,
    Vocabulary,
)


def value_text(vocab: Vocabulary, key: str, value: FactValue) -> str:
    values = value if isinstance(value, tuple) else (value,)
    return ", ".join(vocab.label(key, v) for v in values)


def pair_text(vocab: Vocabulary, key: str, value: FactValue) -> str:
    """``Site: Lung`` for a fact or conclusion."""
    return f"{vocab.label(key)}: {value_text(vocab, key, value)}"


def _either(vocab: Vocabulary, key: str, values: tuple[str, ...]) -> str:
    labels = [f"'{vocab.label(key, v)}'" for v in values]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def condition_text(vocab: Vocabulary, cond: Condition) -> str:
    """A condition in words, as a requirement."""
    if isinstance(cond, Is):
        what = "the conclusion " if cond.on_conclusion else ""
        return f"{what}{vocab.label(cond.key)} is {_either(vocab, cond.key, cond.values)}"
    if isinstance(cond, Known):
        return f"{vocab.label(cond.key)} is known"
    if isinstance(cond, Not):
        inner = cond.part
        if isinstance(inner, Known):
            return f"{vocab.label(inner.key)} is not known yet"
        if isinstance(inner, Is):
            return f"{vocab.label(inner.key)} is not {_either(vocab, inner.key, inner.values)}"
        return f"not ({condition_text(vocab, inner)})"
    if isinstance(cond, AllOf):
        return " and ".join(condition_text(vocab, p) for p in cond.parts)
    if isinstance(cond, AnyOf):
        return "one of: " + "; ".join(condition_text(vocab, p) for p in cond.parts)
    raise TypeError(cond)


def unmet_text(base: RuleBase, result: Check, facts: Facts) -> str:
    """Why a failed condition fails for this case, in words."""
    vocab = base.vocabulary
    cond = result.condition
    needs = f"needs {condition_text(vocab, cond)}"
    if isinstance(cond, Is) and cond.on_conclusion:
        makers = [r.id for r in producers(base.rules, cond.key, cond.values)]
        return f"{needs}, which the rules have not concluded for this case (it comes from: {', '.join(makers)})"
    if isinstance(cond, (Is, Known)):
        if cond.key not in facts:
            return f"{needs}, but {vocab.label(cond.key)} is not known yet"
        return f"{needs}, but it is {_either(vocab, cond.key, facts.values_of(cond.key))}"
    if isinstance(cond, Not) and isinstance(cond.part, (Is, Known)):
        key = cond.part.key
        done = [s.label for s in vocab.next_steps if any(k == key for k, _ in s.done_when)]
        extra = f" (so {done[0].lower()} is already done)" if done else ""
        return f"{needs}, but it is {_either(vocab, key, facts.values_of(key))}{extra}"
    return f"{needs}, which this case does not meet"


# --------------------------------------------------------------------- HOW


def firing_lines(vocab: Vocabulary, firing: Firing) -> list[str]:
    """One firing: rule, matched facts, what it concluded/suggested, citation."""
    lines = [f"{firing.rule}  [{firing.source}]"]
    if firing.matched:
        lines.append("  matched: " + "; ".join(pair_text(vocab, k, v) for k, v in firing.matched))
    else:
        lines.append("  matched: (no observed fact: only what is still unknown)")
    for key, value in firing.concluded:
        lines.append(f"  concludes: {pair_text(vocab, key, value)}")
    for step in firing.suggested:
        lines.append(f"  suggests: {vocab.label(step)}")
    for step in firing.accepted:
        lines.append(f"  accepts (not required): {vocab.label(step)}")
    lines.append(f"  because: {firing.explanation}")
    return lines


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
class RuleGap:
    rule: str
    source: str
    unmet: str


@dataclass(frozen=True)
class WhyNot:
    step: str
    label: str
    suggested: bool
    because: tuple[str, ...]
    gaps: tuple[RuleGap, ...]

    def lines(self) -> list[str]:
        if self.suggested:
            return [f"'{self.label}' IS suggested here, by: {', '.join(self.because)}."]
        if not self.gaps:
            return [f"'{self.label}' is not suggested: no rule supports this step here."]
        out = [f"'{self.label}' is not suggested here:"]
        for gap in self.gaps:
            out.append(f"  {gap.rule} [{gap.source}] {gap.unmet}.")
        return out

    def as_json(self) -> dict[str, object]:
        return {
            "step": self.step,
            "label": self.label,
            "suggested": self.suggested,
            "because": list(self.because),
            "rules": [{"rule": g.rule, "source": g.source, "unmet": g.unmet} for g in self.gaps],
        }


def why_not(base: RuleBase, inference: Inference, step: str) -> WhyNot:
    """Why ``step`` was (not) suggested for the facts of ``inference``."""
    vocab = base.vocabulary
    entry = vocab.step(step)
    if entry is None:
        raise DataError(
            f"unknown next step '{step}'{did_you_mean(step, [s.id for s in vocab.next_steps])}", code="unknown-step"
        )
    because = dict(inference.suggestions()).get(step, ())
    gaps = () if because else rule_gaps(base, inference, [r for r in base.rules if step in r.suggest])
    return WhyNot(step, entry.label, bool(because), tuple(because), gaps)


def rule_gaps(base: RuleBase, inference: Inference, rules: Iterable[Rule]) -> tuple[RuleGap, ...]:
    """For each of ``rules`` that did not fire: its first unmet condition, in words."""
    conclusions = {(k, v) for k, v, _ in inference.conclusions()}
    gaps = []
    for rule in rules:
        unmet = check(rule.when, inference.facts, conclusions).first_unmet()
        if unmet is not None:
            gaps.append(RuleGap(rule.id, rule.source, unmet_text(base, unmet, inference.facts)))
    return tuple(gaps)
