"""The rule network as a picture: facts -> rules -> conclusions -> next steps,
in Mermaid (pastes into Markdown on a code host) or DOT (Graphviz).

Functions from data to text; no engine runs here: a case's path comes in as
the inferences of its stages (:class:`CasePath`). Every label is escaped for
its format, and anything that could not be printed is shown as an escape.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..models import Condition, Inference, Is, Known, Not, Rule, RuleBase

__all__ = ["CasePath", "Edge", "Network", "Node", "dot", "dot_label", "mermaid", "mermaid_label", "network"]

FACT = "fact"
RULE = "rule"
CONCLUSION = "conclusion"
STEP = "step"
KINDS = (FACT, RULE, CONCLUSION, STEP)

SUGGESTS = "suggests"
ACCEPTS = "accepts"


@dataclass(frozen=True)
class Node:
    id: str  # unique within the picture (f1, r1, c1, s1, ...)
    kind: str
    ref: str  # what it stands for: a fact key, a rule ID, "key: value", a step ID
    label: str


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""
    dashed: bool = False


@dataclass(frozen=True)
class CasePath:
    """What one case touches at any of its stages: the facts it reveals, the
    rules that fire, the conclusions drawn, the steps suggested or accepted, and
    ``uses``: (rule, fact key or "key: value") for what each firing relied on."""

    case_id: str
    facts: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()
    conclusions: frozenset[tuple[str, str]] = frozenset()
    steps: frozenset[str] = frozenset()
    uses: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def of(cls, case_id: str, inferences: Iterable[Inference]) -> CasePath:
        facts: set[str] = set()
        rules: set[str] = set()
        conclusions: set[tuple[str, str]] = set()
        steps: set[str] = set()
        uses: set[tuple[str, str]] = set()
        for inference in inferences:
            facts.update(k for k, _ in inference.facts.items)
            rules.update(inference.fired)
            for firing in inference.trace:
                for key, value in firing.matched:
                    uses.add((firing.rule, key))
                    uses.update((firing.rule, f"{key}: {v}") for v in (value if isinstance(value, tuple) else (value,)))
            conclusions.update((k, v) for k, v, _ in inference.conclusions())
            steps.update(s for s, _ in inference.suggestions())
            steps.update(s for s, _ in inference.acceptances())
        return cls(
            case_id, frozenset(facts), frozenset(rules), frozenset(conclusions), frozenset(steps), frozenset(uses)
        )


@dataclass(frozen=True)
class Network:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    lit_nodes: frozenset[str] = field(default_factory=frozenset)
    lit_edges: frozenset[int] = field(default_factory=frozenset)  # indexes into edges


def _fact_tests(rule: Rule) -> dict[str, list[str]]:
    """fact key -> how the rule tests it ("lung", "known", "unknown", "not lung"), in condition order."""
    out: dict[str, dict[str, None]] = {}  # a dict per key: its tests in order, each once

    def add(key: str, text: str) -> None:
        out.setdefault(key, {})[text] = None

    def visit(cond: Condition, positive: bool) -> None:
        if isinstance(cond, Is):
            if not cond.on_conclusion:
                values = " or ".join(cond.values)
                add(cond.key, values if positive else f"not {values}")
        elif isinstance(cond, Known):
            add(cond.key, "known" if positive else "unknown")
        elif isinstance(cond, Not):
            visit(cond.part, not positive)
        else:
            for part in cond.parts:
                visit(part, positive)

    visit(rule.when, True)
    return {key: list(tests) for key, tests in out.items()}


def _needed(rule: Rule) -> Iterator[tuple[str, str]]:
    for cond in rule.conclusion_conditions():
        for value in cond.values:
            yield cond.key, value


def network(base: RuleBase, path: CasePath | None = None, *, only_path: bool = False) -> Network:
    """The nodes and edges of the rule network, with ``path`` lit (and, with
    ``only_path``, nothing else drawn)."""
    rules = [r for r in base.rules if not only_path or (path is not None and r.id in path.rules)]
    ids: dict[tuple[str, str], str] = {}
    nodes: list[Node] = []
    per_kind: Counter[str] = Counter()  # nodes so far of each kind: the next one's number

    def node(kind: str, ref: str) -> str:
        if (kind, ref) not in ids:
            per_kind[kind] += 1
            ids[(kind, ref)] = f"{kind[0]}{per_kind[kind]}"
            nodes.append(Node(ids[(kind, ref)], kind, ref, ref))
        return ids[(kind, ref)]

    def lit(kind: str, ref: str) -> bool:
        if path is None:
            return False
        if kind == FACT:
            return ref in path.facts
        if kind == RULE:
            return ref in path.rules
        if kind == CONCLUSION:
            key, _, value = ref.partition(": ")
            return (key, value) in path.conclusions
        return ref in path.steps

    # What the rules drawn test, need, conclude and give: one pass over the rules.
    tests = {rule.id: _fact_tests(rule) for rule in rules}
    tested = {key for found in tests.values() for key in found}
    pairs = {pair for rule in rules for pair in (*rule.conclude, *_needed(rule))}
    given = {step for rule in rules for step in (*rule.suggest, *rule.accept)}
    # Nodes first, kind by kind, so each kind reads as a column.
    for fact in base.vocabulary.facts:
        if fact.id in tested:
            node(FACT, fact.id)
    for rule in rules:
        node(RULE, rule.id)
    for conclusion in base.vocabulary.conclusions:
        for value in conclusion.value_ids:
            if (conclusion.id, value) in pairs:
                node(CONCLUSION, f"{conclusion.id}: {value}")
    for step in base.vocabulary.next_steps:
        if step.id in given:
            node(STEP, step.id)

    edges: list[Edge] = []
    lit_edges: set[int] = set()

    def edge(source: tuple[str, str], target: tuple[str, str], label: str = "", dashed: bool = False) -> None:
        if source not in ids or target not in ids:
            return
        if target[0] == RULE:  # lit where a firing of the rule relied on it
            on_path = path is not None and (target[1], source[1]) in path.uses
        else:  # lit where the rule fired and drew (or gave) it
            on_path = lit(*source) and lit(*target)
        if on_path:
            lit_edges.add(len(edges))
        edges.append(Edge(ids[source], ids[target], label, dashed))

    for rule in rules:
        for key, how in tests[rule.id].items():
            edge((FACT, key), (RULE, rule.id), "; ".join(how))
        for key, value in _needed(rule):
            edge((CONCLUSION, f"{key}: {value}"), (RULE, rule.id))
        for key, value in rule.conclude:
            edge((RULE, rule.id), (CONCLUSION, f"{key}: {value}"))
        for step in rule.suggest:
            edge((RULE, rule.id), (STEP, step), SUGGESTS)
        for step in rule.accept:
            edge((RULE, rule.id), (STEP, step), ACCEPTS, dashed=True)
    lit_nodes = frozenset(n.id for n in nodes if lit(n.kind, n.ref))
    if not only_path:
        return Network(tuple(nodes), tuple(edges), lit_nodes, frozenset(lit_edges))
    # The path alone: nothing to set apart, and the nodes numbered afresh.
    kept = [edges[i] for i in sorted(lit_edges)]
    keep = {ids[(RULE, r.id)] for r in rules} | {e.source for e in kept} | {e.target for e in kept}
    renamed: dict[str, str] = {}
    kept_per_kind: Counter[str] = Counter()
    for n in nodes:
        if n.id in keep:
            kept_per_kind[n.kind[0]] += 1
            renamed[n.id] = f"{n.kind[0]}{kept_per_kind[n.kind[0]]}"
    return Network(
        tuple(Node(renamed[n.id], n.kind, n.ref, n.label) for n in nodes if n.id in renamed),
        tuple(Edge(renamed[e.source], renamed[e.target], e.label, e.dashed) for e in kept),
    )


# --------------------------------------------------------------------- escaping


def _visible(text: str) -> str:
    """``text`` on one line, with control and format characters as escapes."""
    out: list[str] = []
    for ch in text:
        if ch in "\r\n\t":
            out.append(" ")
        elif not ch.isprintable():
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


_MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "|": "#124;", "`": "#96;"}


def mermaid_label(text: str) -> str:
    """``text`` for a double-quoted Mermaid label: its markup characters as
    Mermaid entity codes (``#quot;``), on one line."""
    return "".join(_MERMAID_ENTITIES.get(ch, ch) for ch in _visible(text))


def dot_label(text: str) -> str:
    """``text`` for a double-quoted DOT string."""
    return _visible(text).replace("\\", "\\\\").replace('"', '\\"')


# --------------------------------------------------------------------- Mermaid

_MERMAID_SHAPES = {FACT: ('(["', '"])'), RULE: ('["', '"]'), CONCLUSION: ('{{"', '"}}'), STEP: ('[/"', '"/]')}
_MERMAID_CLASSES = {
    FACT: "fill:#e0f2fe,stroke:#0369a1",
    RULE: "fill:#f4f4f5,stroke:#52525b",
    CONCLUSION: "fill:#dcfce7,stroke:#15803d",
    STEP: "fill:#ffedd5,stroke:#c2410c",
}
_LIT = "stroke:#b91c1c,stroke-width:3px"


def mermaid(base: RuleBase, path: CasePath | None = None, *, only_path: bool = False) -> str:
    """The rule network as a Mermaid flowchart (left to right)."""
    net = network(base, path, only_path=only_path)
    title = "rule network" + (f", case {path.case_id}" if path is not None else "")
    lines = [f"%% imt-tutor {mermaid_label(title)}. TEACHING AID ONLY - not a diagnostic tool.", "flowchart LR"]
    for n in net.nodes:
        start, end = _MERMAID_SHAPES[n.kind]
        lines.append(f"  {n.id}{start}{mermaid_label(n.label)}{end}")
    for e in net.edges:
        arrow = "-.->" if e.dashed else "-->"
        label = f'|"{mermaid_label(e.label)}"|' if e.label else ""
        lines.append(f"  {e.source} {arrow}{label} {e.target}")
    for kind in KINDS:
        members = [n.id for n in net.nodes if n.kind == kind]
        lines.append(f"  classDef {kind} {_MERMAID_CLASSES[kind]}")
        if members:
            lines.append(f"  class {','.join(members)} {kind}")
    if net.lit_nodes:
        lines.append(f"  classDef lit {_LIT}")
        lines.append(f"  class {','.join(n.id for n in net.nodes if n.id in net.lit_nodes)} lit")
    if net.lit_edges:
        lines.append(f"  linkStyle {','.join(str(i) for i in sorted(net.lit_edges))} stroke:#b91c1c,stroke-width:3px")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------- DOT

_DOT_SHAPES = {FACT: "ellipse", RULE: "box", CONCLUSION: "hexagon", STEP: "parallelogram"}
_DOT_FILLS = {FACT: "#e0f2fe", RULE: "#f4f4f5", CONCLUSION: "#dcfce7", STEP: "#ffedd5"}


def dot(base: RuleBase, path: CasePath | None = None, *, only_path: bool = False) -> str:
    """The rule network as a Graphviz digraph (left to right)."""
    net = network(base, path, only_path=only_path)
    title = "imt-tutor rule network" + (f", case {path.case_id}" if path is not None else "")
    lines = [
        f"// {dot_label(title)}. TEACHING AID ONLY - not a diagnostic tool.",
        "digraph rules {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", style=filled];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for n in net.nodes:
        attrs = [f'label="{dot_label(n.label)}"', f"shape={_DOT_SHAPES[n.kind]}", f'fillcolor="{_DOT_FILLS[n.kind]}"']
        if n.id in net.lit_nodes:
            attrs += ['color="#b91c1c"', "penwidth=3"]
        lines.append(f'  "{n.id}" [{", ".join(attrs)}];')
    for i, e in enumerate(net.edges):
        attrs = [f'label="{dot_label(e.label)}"'] if e.label else []
        if e.dashed:
            attrs.append("style=dashed")
        if i in net.lit_edges:
            attrs += ['color="#b91c1c"', "penwidth=3"]
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f'  "{e.source}" -> "{e.target}"{suffix};')
    lines.append("}")
    return "\n".join(lines) + "\n"
