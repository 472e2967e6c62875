"""The rule network in Mermaid and DOT (render/graph.py): every rule, fact,
conclusion and step drawn once, a case's path lit, every label escaped."""

from __future__ import annotations

import re

import pytest

from imt_tutor.cases import facts_at
from imt_tutor.models import Case, FactKey, Facts, Inference, Is, Known, NextStep, Not, Rule, RuleBase, Term, Vocabulary
from imt_tutor.render.graph import CasePath, dot, dot_label, mermaid, mermaid_label, network

NODE = re.compile(r'^  (?P<id>[frcs]\d+)(?:\(\["|\["|\{\{"|\[/")(?P<label>.*?)(?:"\]\)|"\]|"\}\}|"/\])$')
EDGE = re.compile(r'^  (?P<a>[frcs]\d+) (?:-->|-\.->)(?:\|"(?P<label>[^"]*)"\|)? (?P<b>[frcs]\d+)$')


def path_of(case: Case, engine: object) -> CasePath:
    return CasePath.of(case.id, [engine.infer(facts_at(case, i)) for i in range(len(case.stages))])  # type: ignore[attr-defined]


def test_every_rule_and_what_it_touches_is_drawn_once(base: RuleBase) -> None:
    net = network(base)
    refs = [(n.kind, n.ref) for n in net.nodes]
    assert len(refs) == len(set(refs))
    assert {r for k, r in refs if k == "rule"} == {r.id for r in base.rules}
    suggested = {s for r in base.rules for s in (*r.suggest, *r.accept)}
    assert {r for k, r in refs if k == "step"} == suggested
    concluded = {f"{k}: {v}" for r in base.rules for k, v in r.conclude}
    assert concluded <= {r for k, r in refs if k == "conclusion"}
    ids = {n.id for n in net.nodes}
    assert all(e.source in ids and e.target in ids for e in net.edges)


def test_mermaid_is_a_flowchart_of_nodes_edges_and_classes(base: RuleBase) -> None:
    text = mermaid(base)
    lines = text.splitlines()
    assert lines[0].startswith("%% ") and "TEACHING AID ONLY" in lines[0]
    assert lines[1] == "flowchart LR"
    body = [line for line in lines[2:] if not line.startswith(("  classDef ", "  class ", "  linkStyle "))]
    assert all(NODE.match(line) or EDGE.match(line) for line in body), [
        line for line in body if not (NODE.match(line) or EDGE.match(line))
    ]
    net = network(base)
    assert sum(1 for line in body if EDGE.match(line)) == len(net.edges)
    assert "classDef lit" not in text and "linkStyle" not in text  # no case: nothing highlighted


def test_a_case_path_is_lit(base: RuleBase, builtin, bundled_cases) -> None:  # type: ignore[no-untyped-def]
    case = next(c for c in bundled_cases if c.id == "lung-no-mass-on-imaging")
    path = path_of(case, builtin)
    assert "no-mass-on-imaging" in path.rules and "mass-needs-biopsy" not in path.rules
    net = network(base, path)
    lit = {n.ref for n in net.nodes if n.id in net.lit_nodes}
    assert {"no-mass-on-imaging", "imaging_finding", "imaging_result: no_tumour_located"} <= lit
    assert "mass-needs-biopsy" not in lit
    text = mermaid(base, path)
    assert "classDef lit" in text and "linkStyle " in text
    linked = re.search(r"^  linkStyle ([\d,]+) ", text, re.M)
    assert linked and {int(i) for i in linked.group(1).split(",")} == set(net.lit_edges)


def test_only_the_path(base: RuleBase, builtin, bundled_cases) -> None:  # type: ignore[no-untyped-def]
    case = next(c for c in bundled_cases if c.id == "lung-no-mass-on-imaging")
    path = path_of(case, builtin)
    net = network(base, path, only_path=True)
    assert {n.ref for n in net.nodes if n.kind == "rule"} == set(path.rules)
    assert [n.id for n in net.nodes if n.kind == "rule"] == [f"r{i}" for i in range(1, len(path.rules) + 1)]
    text = mermaid(base, path, only_path=True)
    assert "linkStyle" not in text and "class " in text
    assert len(text.splitlines()) < len(mermaid(base).splitlines()) / 3


def test_a_negative_test_is_not_lit_as_relied_on(base: RuleBase, builtin) -> None:  # type: ignore[no-untyped-def]
    facts = Facts.of({"site": "lung", "imaging": ("ct",), "imaging_finding": "mass"})
    path = CasePath.of("t", [builtin.infer(facts)])
    net = network(base, path)
    by_id = {n.id: n for n in net.nodes}
    unknown_histology = [
        i
        for i, e in enumerate(net.edges)
        if by_id[e.source].ref == "histology" and by_id[e.target].ref == "mass-needs-biopsy"
    ]
    assert unknown_histology and not set(unknown_histology) & net.lit_edges
    assert (
        next(
            e.label
            for e in net.edges
            if by_id[e.source].ref == "histology" and by_id[e.target].ref == "mass-needs-biopsy"
        )
        == "unknown"
    )


def test_dot_is_a_digraph_with_every_node_declared(base: RuleBase, builtin, bundled_cases) -> None:  # type: ignore[no-untyped-def]
    path = path_of(bundled_cases[0], builtin)
    text = dot(base, path)
    assert text.startswith("// ") and "\ndigraph rules {\n" in text and text.rstrip().endswith("}")
    declared = set(re.findall(r'^  "([frcs]\d+)" \[label=', text, re.M))
    used = re.findall(r'^  "([frcs]\d+)" -> "([frcs]\d+)"', text, re.M)
    assert used and all(a in declared and b in declared for a, b in used)
    assert "penwidth=3" in text
    assert text.count("{") == text.count("}")


# --------------------------------------------------------------------- escaping

EVIL = 'a "quoted" <b>bold</b> & #hash | pipe `tick`\nnew line \x1b[31m red \\ back'


def test_mermaid_labels_are_escaped() -> None:
    label = mermaid_label(EVIL)
    assert '"' not in label and "<" not in label and ">" not in label and "\n" not in label and "|" not in label
    assert "`" not in label and "\x1b" not in label
    assert "#quot;quoted#quot;" in label and "#lt;b#gt;" in label and "#35;hash" in label and "\\x1b" in label
    # '#' is escaped first, so the entities it writes are not escaped again.
    assert "#35;quot;" not in label


def test_dot_labels_are_escaped() -> None:
    label = dot_label(EVIL)
    assert '\\"quoted\\"' in label and "\n" not in label and "\x1b" not in label
    assert "\\\\ back" in label and "\\\\x1b" in label
    assert re.fullmatch(r'(?:[^"\\]|\\.)*', label)  # every quote and backslash escaped


@pytest.fixture
def evil_base() -> RuleBase:
    """A rule base whose labels carry markup; the graph draws IDs, but a label slipping in must not break it."""
    fact = FactKey("site", 'Site "x"', "d", False, (Term("lung", "<Lung>", "d"),))
    vocab = Vocabulary((fact,), (), (NextStep("biopsy", "B|x", "d"),), ("S",))
    rule = Rule("r-1", Is("site", ("lung",), False), (), ("biopsy",), "x", "S")
    rule2 = Rule("r-2", Not(Known("site")), (), ("biopsy",), "x", "S")
    return RuleBase(vocab, (rule, rule2))


def test_a_small_hand_made_rule_base(evil_base: RuleBase) -> None:
    text = mermaid(evil_base)
    assert '  f1(["site"])' in text
    assert '  f1 -->|"lung"| r1' in text and '  f1 -->|"unknown"| r2' in text
    assert '  r1 -->|"suggests"| s1' in text
    path = CasePath.of("t", [Inference("builtin", Facts.of({"site": "lung"}), ())])
    assert "classDef lit" in mermaid(evil_base, path)
    assert 'label="site"' in dot(evil_base)


def test_a_long_chain_is_numbered_kind_by_kind_in_order(chain_rules) -> None:  # type: ignore[no-untyped-def]
    from imt_tutor.engines.builtin import BuiltinEngine
    from imt_tutor.rulebase import load_rulebase

    base = load_rulebase(chain_rules(2000, last_first=True))
    net = network(base)
    assert [n.id for n in net.nodes] == [
        "f1",
        *(f"r{i}" for i in range(1, 2001)),
        *(f"c{i}" for i in range(1, 2001)),
        "s1",
    ]
    assert [n.ref for n in net.nodes if n.kind == "conclusion"][:2] == ["link_0: yes", "link_1: yes"]
    assert len(net.edges) == 1 + 1999 + 2000 + 1
    with BuiltinEngine(base) as engine:
        path = CasePath.of("chain", [engine.infer(Facts.of({"start": "go"}))])
    alone = network(base, path, only_path=True)
    assert [n.id for n in alone.nodes] == [n.id for n in net.nodes]
    assert len(alone.edges) == len(net.edges)
