"""The sentences every format shares: a fact, a condition, a gap of each kind,
a deduction. Text, Markdown, HTML and the quizzes all word things this way.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..models import AllOf, AnyOf, Condition, FactValue, Is, Known, Not, Vocabulary
from ..scoring import MISSED, NOTHING_PICKED, Deduction


def value_text(vocab: Vocabulary, key: str, value: FactValue) -> str:
    values = value if isinstance(value, tuple) else (value,)
    return ", ".join(vocab.label(key, v) for v in values)


def pair_text(vocab: Vocabulary, key: str, value: FactValue) -> str:
    """``Site: Lung`` for a fact or conclusion."""
    return f"{vocab.label(key)}: {value_text(vocab, key, value)}"


def either(vocab: Vocabulary, key: str, values: tuple[str, ...]) -> str:
    labels = [f"'{vocab.label(key, v)}'" for v in values]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def condition_text(vocab: Vocabulary, cond: Condition) -> str:
    """A condition in words, as a requirement."""
    if isinstance(cond, Is):
        what = "the conclusion " if cond.on_conclusion else ""
        return f"{what}{vocab.label(cond.key)} is {either(vocab, cond.key, cond.values)}"
    if isinstance(cond, Known):
        return f"{vocab.label(cond.key)} is known"
    if isinstance(cond, Not):
        inner = cond.part
        if isinstance(inner, Known):
            return f"{vocab.label(inner.key)} is not known yet"
        if isinstance(inner, Is):
            return f"{vocab.label(inner.key)} is not {either(vocab, inner.key, inner.values)}"
        return f"not ({condition_text(vocab, inner)})"
    if isinstance(cond, AllOf):
        return " and ".join(condition_text(vocab, p) for p in cond.parts)
    if isinstance(cond, AnyOf):
        return "one of: " + "; ".join(condition_text(vocab, p) for p in cond.parts)
    raise TypeError(cond)


def deduction_text(deduction: Deduction, labels: Mapping[str, str]) -> str:
    """``missed 'Biopsy' (-0.50)`` and the like."""
    if deduction.kind == NOTHING_PICKED:
        return f"picked nothing, but {deduction.expected_count} expected (-{deduction.points:.2f})"
    name = labels.get(deduction.option or "", deduction.option or "")
    if deduction.kind == MISSED:
        return f"missed '{name}' (-{deduction.points:.2f})"
    return f"picked '{name}', which the rules do not support here (-{deduction.points:.2f})"
