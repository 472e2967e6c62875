"""The words and the JSON of a what-if (:mod:`imt_tutor.whatif`): what changes
when one fact changes, each change with the rule that makes it."""

from __future__ import annotations

from typing import Any

from ..models import FactValue, Vocabulary
from ..whatif import ACCEPTANCE, CONCLUSION, GAINED, LOST, REASONED, SUGGESTION, Change, WhatIf
from .words import pair_text, value_text

__all__ = ["change_text", "what_if_json", "what_if_lines"]


def _value(value: FactValue | None) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _changed_text(vocab: Vocabulary, key: str, before: FactValue | None, after: FactValue) -> str:
    now = f"{vocab.label(key)} were {value_text(vocab, key, after)}"
    if before is None:
        return f"{now} (not known so far)"
    return f"{now} (instead of {value_text(vocab, key, before)})"


_VERBS = {CONCLUSION: "concluded", SUGGESTION: "suggested", ACCEPTANCE: "acceptable"}
_MARKS = {GAINED: "+", LOST: "-", REASONED: "~"}


def change_text(vocab: Vocabulary, change: Change) -> str:
    """One change in words, with its rules: ``+`` gained, ``-`` lost, ``~`` for other reasons."""
    rules = ", ".join(change.rules)
    if change.kind == CONCLUSION and change.key is not None:
        what = pair_text(vocab, change.key, change.value)
    else:
        what = vocab.label(change.value)
    verb = _VERBS[change.kind]
    if change.change == GAINED:
        said = f"would be {verb} (by: {rules})"
    elif change.change == LOST:
        said = f"would no longer be {verb} (it came from: {rules})"
    else:
        said = f"would still be {verb}, by: {rules} (instead of: {', '.join(change.before)})"
    return f"{_MARKS[change.change]} {what} {said}"


def what_if_lines(vocab: Vocabulary, result: WhatIf) -> list[str]:
    """``What if ...?`` and one line per change (``+`` gained, ``-`` lost)."""
    if not result.changed:
        return ["What if: those are the facts already; nothing would change."]
    asked = "; ".join(_changed_text(vocab, k, b, a) for k, b, a in result.changed)
    lines = [f"What if {asked}?"]
    if result.unchanged:
        return [*lines, "  Nothing would change: no rule's conclusion or suggestion depends on it here."]
    order = {CONCLUSION: 0, SUGGESTION: 1, ACCEPTANCE: 2}
    marks = {GAINED: 0, REASONED: 1, LOST: 2}
    for change in sorted(result.changes, key=lambda c: (order[c.kind], marks[c.change])):
        lines.append(f"  {change_text(vocab, change)}")
    if not result.changes:
        lines.append("  No conclusion or next step would change.")
    if result.started:
        lines.append(f"  Rules that would fire: {', '.join(result.started)}")
    if result.stopped:
        lines.append(f"  Rules that would no longer fire: {', '.join(result.stopped)}")
    return lines


def what_if_json(vocab: Vocabulary, result: WhatIf) -> dict[str, Any]:
    return {
        "changed": [{"key": k, "before": _value(b), "after": _value(a)} for k, b, a in result.changed],
        "changes": [
            {
                "kind": c.kind,
                "key": c.key,
                "value": c.value,
                "label": vocab.label(c.key, c.value) if c.key is not None else vocab.label(c.value),
                "change": c.change,
                "rules": list(c.rules),
                "rules_before": list(c.before),
            }
            for c in result.changes
        ],
        "rules_started": list(result.started),
        "rules_stopped": list(result.stopped),
    }
