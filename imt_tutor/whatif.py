"""What if one fact were different? The conclusions and next steps that change,
each with the rule that makes the change, as data.

TEACHING AID ONLY - not a diagnostic tool. :func:`what_if` is pure: it takes
an ``infer`` function (any engine's) and never prints; ``render/whatif.py``
words the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .models import Facts, FactValue, Inference

__all__ = ["ACCEPTANCE", "CONCLUSION", "GAINED", "LOST", "REASONED", "SUGGESTION", "Change", "WhatIf", "what_if"]

CONCLUSION = "conclusion"
SUGGESTION = "suggestion"
ACCEPTANCE = "acceptance"
GAINED = "gained"
LOST = "lost"
REASONED = "reasoned"  # still drawn (or suggested, accepted), by other rules


@dataclass(frozen=True)
class Change:
    """One conclusion (``key: value``), suggested step or accepted step
    (``key`` None, ``value`` the step) that the changed facts add (``gained``),
    take away (``lost``) or keep for other reasons (``reasoned``); ``rules``:
    the rules that make the change: those that now give it (gained, reasoned)
    or that gave it before (lost); ``before``: the rules that gave it before
    (reasoned)."""

    kind: str
    key: str | None
    value: str
    change: str
    rules: tuple[str, ...]
    before: tuple[str, ...] = ()


@dataclass(frozen=True)
class WhatIf:
    """The facts before and after, both inferences, and what changed."""

    changed: tuple[tuple[str, FactValue | None, FactValue], ...]  # (key, before or None, after)
    before: Inference
    after: Inference
    changes: tuple[Change, ...]
    started: tuple[str, ...]  # rules that fire only with the changed facts
    stopped: tuple[str, ...]  # rules that fire only without them

    @property
    def unchanged(self) -> bool:
        return not self.changes and not self.started and not self.stopped


Keyed = dict[tuple[str | None, str], tuple[str, ...]]


def _conclusions(inference: Inference) -> Keyed:
    return {(k, v): rules for k, v, rules in inference.conclusions()}


def _steps(pairs: tuple[tuple[str, tuple[str, ...]], ...]) -> Keyed:
    return {(None, step): rules for step, rules in pairs}


def _diff(kind: str, before: Keyed, after: Keyed) -> list[Change]:
    out: list[Change] = []
    for (key, value), rules in after.items():
        if (key, value) not in before:
            out.append(Change(kind, key, value, GAINED, rules))
        elif set(before[(key, value)]) != set(rules):
            out.append(Change(kind, key, value, REASONED, rules, before[(key, value)]))
    out += [
        Change(kind, key, value, LOST, rules) for (key, value), rules in before.items() if (key, value) not in after
    ]
    return out


def what_if(infer: Callable[[Facts], Inference], facts: Facts, change: Facts) -> WhatIf:
    """What changes when ``change`` (one fact or several) replaces those of
    ``facts``: every conclusion drawn or no longer drawn, every step newly
    suggested, accepted or no longer so, each with its rules."""
    before = infer(facts)
    changed_facts = facts.merged(change)
    after = infer(changed_facts)
    changed = tuple((key, facts.get(key), value) for key, value in change.items if facts.get(key) != value)
    changes = _diff(CONCLUSION, _conclusions(before), _conclusions(after))
    changes += _diff(SUGGESTION, _steps(before.suggestions()), _steps(after.suggestions()))
    changes += _diff(ACCEPTANCE, _steps(before.acceptances()), _steps(after.acceptances()))
    was, now = set(before.fired), set(after.fired)
    return WhatIf(
        changed,
        before,
        after,
        tuple(changes),
        tuple(r for r in after.fired if r not in was),
        tuple(r for r in before.fired if r not in now),
    )
