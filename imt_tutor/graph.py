"""Rule dependencies, walked once: which rules conclude what (producers), what
each rule needs, chaining depth (strata), the canonical order, cycles, and the
rules upstream of some seeds.

Every walk is iterative and indexed, so a long chain of rules costs no
recursion and each lookup is a dictionary access. Used by rule validation,
the engines, explanations, the feedback model and the runner.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable

from .models import Rule

__all__ = ["RuleGraph", "producers", "rule_graph"]


class RuleGraph:
    """The dependency graph of a tuple of rules (as written)."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.rules = rules
        self.by_id = {r.id: r for r in rules}
        self._position = {r.id: i for i, r in enumerate(rules)}
        self._producers: dict[tuple[str, str], list[Rule]] = {}
        for rule in rules:
            for pair in rule.conclude:
                self._producers.setdefault(pair, []).append(rule)
        self._strata: dict[str, int] | None = None

    def producers(self, key: str, values: Iterable[str]) -> tuple[Rule, ...]:
        """The rules that conclude ``key`` with one of ``values``, as written."""
        found: dict[str, Rule] = {}
        for value in values:
            for rule in self._producers.get((key, value), ()):
                found.setdefault(rule.id, rule)
        return tuple(sorted(found.values(), key=lambda r: self._position[r.id]))

    def needs(self, rule: Rule) -> tuple[Rule, ...]:
        """The rules that can conclude what ``rule`` requires."""
        found: dict[str, Rule] = {}
        for cond in rule.conclusion_conditions():
            for producer in self.producers(cond.key, cond.values):
                found.setdefault(producer.id, producer)
        return tuple(found.values())

    def cycles(self) -> list[tuple[str, list[str]]]:
        """(rule id, cycle path) for each rule found closing a cycle (iterative DFS)."""
        state: dict[str, int] = {}
        found: list[tuple[str, list[str]]] = []
        for root in self.rules:
            if root.id in state:
                continue
            path: list[str] = [root.id]
            stack = [(root, iter(self.needs(root)))]
            state[root.id] = 1
            while stack:
                rule, children = stack[-1]
                child = next(children, None)
                if child is None:
                    state[rule.id] = 2
                    stack.pop()
                    path.pop()
                    continue
                if state.get(child.id) == 1:
                    cycle = [*path[path.index(child.id) :], child.id]
                    found.append((rule.id, cycle))
                elif child.id not in state:
                    state[child.id] = 1
                    path.append(child.id)
                    stack.append((child, iter(self.needs(child))))
        return found

    def strata(self) -> dict[str, int]:
        """Chaining depth of each rule: 0 if it needs no conclusion, else one
        more than the deepest rule that can conclude what it needs (rules on a
        cycle, which validation rejects, get the depth reached so far)."""
        if self._strata is None:
            needs = {r.id: self.needs(r) for r in self.rules}
            waiting = {r.id: len(needs[r.id]) for r in self.rules}
            needed_by: dict[str, list[str]] = {}
            for rule_id, parents in needs.items():
                for parent in parents:
                    needed_by.setdefault(parent.id, []).append(rule_id)
            depth = {r.id: 0 for r in self.rules}
            queue = deque(r.id for r in self.rules if waiting[r.id] == 0)
            while queue:
                rule_id = queue.popleft()
                for child in needed_by.get(rule_id, ()):
                    depth[child] = max(depth[child], depth[rule_id] + 1)
                    waiting[child] -= 1
                    if waiting[child] == 0:
                        queue.append(child)
            self._strata = depth
        return self._strata

    def order(self) -> tuple[Rule, ...]:
        """Canonical order: by chaining depth, then as written. Traces use it."""
        depth = self.strata()
        return tuple(sorted(self.rules, key=lambda r: (depth[r.id], self._position[r.id])))

    def upstream(self, seeds: Iterable[Rule]) -> list[str]:
        """``seeds`` and every rule they depend on, breadth first."""
        seen: list[str] = []
        known: set[str] = set()
        pending = deque(seeds)
        while pending:
            rule = pending.popleft()
            if rule.id in known:
                continue
            known.add(rule.id)
            seen.append(rule.id)
            pending.extend(self.needs(rule))
        return seen


#: The graphs of the last few rule tuples built, by the tuple's identity: looking one
#: up costs nothing, where hashing the tuple (every condition of every rule)
#: would cost as much as the rule base is large, at each call.
_GRAPHS: OrderedDict[int, tuple[tuple[Rule, ...], RuleGraph]] = OrderedDict()
_KEPT = 16


def rule_graph(rules: tuple[Rule, ...]) -> RuleGraph:
    """The graph of ``rules``, built once per rule tuple (an equal tuple that is
    another object gets a graph of its own, equal to the first)."""
    found = _GRAPHS.get(id(rules))
    if found is not None and found[0] is rules:
        return found[1]
    graph = RuleGraph(rules)
    _GRAPHS[id(rules)] = (rules, graph)  # the tuple is kept with it, so its id is not reused meanwhile
    while len(_GRAPHS) > _KEPT:
        _GRAPHS.popitem(last=False)
    return graph


def producers(rules: tuple[Rule, ...], key: str, values: Iterable[str]) -> tuple[Rule, ...]:
    """The rules of ``rules`` that conclude ``key`` with one of ``values``."""
    return rule_graph(rules).producers(key, tuple(values))
