"""HOW chains and WHY-NOT gaps as data: rules, conditions and gap kinds (the words are tests/render/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imt_tutor.engines.builtin import BuiltinEngine
from imt_tutor.errors import DataError
from imt_tutor.explain import ALREADY_DONE, CONTRADICTED, NOT_YET_KNOWN, how_chain, why_not
from imt_tutor.models import Facts, Is, Known, Not, RuleBase
from imt_tutor.rulebase import load_rulebase

IMT = "myofibroblastic_spindle_cells_with_inflammatory_infiltrate"


def test_a_premature_step_is_not_yet_known(base, builtin):
    inference = builtin.infer(Facts.of({"imaging_finding": "mass", "imaging": ("ct",)}))
    result = why_not(base, inference, "surgical_resection")
    assert not result.suggested and result.kind == NOT_YET_KNOWN
    (gap,) = result.gaps
    assert gap.rule == "resect-imt" and gap.kind == NOT_YET_KNOWN
    assert gap.fact == "histology" and gap.known == ()
    assert isinstance(gap.condition, Is) and gap.condition.on_conclusion
    assert gap.producers == ("histology-consistent-with-imt", "alk-positive-imt", "alk-negative-imt")


def test_a_step_already_done(base, builtin):
    inference = builtin.infer(Facts.of({"imaging_finding": "mass", "histology": IMT}))
    result = why_not(base, inference, "biopsy")
    assert result.kind == ALREADY_DONE
    first = result.gaps[0]
    assert first.rule == "mass-needs-biopsy" and first.kind == ALREADY_DONE
    assert first.condition == Not(Known("histology")) and first.known == (IMT,)
    imaging = why_not(
        base,
        builtin.infer(Facts.of({"site": "lung", "symptoms": ("cough",), "imaging": ("ct",)})),
        "cross_sectional_imaging",
    )
    kinds = {g.rule: g.kind for g in imaging.gaps}
    assert kinds["image-site-symptoms"] == ALREADY_DONE
    assert kinds["image-localised-complaint"] == CONTRADICTED  # a cough is not one of the common symptoms
    assert imaging.kind == ALREADY_DONE  # the least final of the alternatives


def test_a_contradicted_step(base, builtin):
    facts = {"histology": IMT, "alk_ihc": "negative", "resectability": "unresectable"}
    result = why_not(base, builtin.infer(Facts.of(facts)), "alk_inhibitor")
    assert result.kind == CONTRADICTED
    assert {(g.fact, g.known) for g in result.gaps} == {("alk_ihc", ("negative",))}
    unresectable = why_not(
        base, builtin.infer(Facts.of({"histology": IMT, "resectability": "unresectable"})), "surgical_resection"
    )
    assert unresectable.kind == CONTRADICTED and unresectable.gaps[0].fact == "resectability"


def test_a_suggested_step(base, builtin):
    result = why_not(base, builtin.infer(Facts.of({"imaging_finding": "mass"})), "biopsy")
    assert result.suggested and result.because == ("mass-needs-biopsy",) and result.gaps == () and result.kind is None


def test_why_not_unknown_step(base, builtin):
    with pytest.raises(DataError, match="did you mean 'biopsy'") as info:
        why_not(base, builtin.infer(Facts()), "biopsie")
    assert info.value.location is None and info.value.code == "unknown-step"


def test_how_chain_follows_conclusions_back_to_facts(base, builtin):
    inference = builtin.infer(Facts.of({"histology": IMT, "alk_ihc": "positive", "resectability": "unresectable"}))
    chain = [f.rule for f in how_chain(inference, base.vocabulary, "alk_inhibitor")]
    assert chain == [
        "histology-consistent-with-imt",
        "alk-positive-imt",
        "alk-drives-growth",
        "surgery-not-feasible",
        "alk-inhibitor-option",
        "alk-targeted-options",
    ]


def test_how_chain_of_a_conclusion_and_of_an_accepted_step(base, builtin):
    inference = builtin.infer(Facts.of({"histology": IMT, "alk_ihc": "positive"}))
    chain = how_chain(inference, base.vocabulary, conclusion=("molecular_profile", "alk_rearrangement"))
    assert [f.rule for f in chain] == ["histology-consistent-with-imt", "alk-positive-imt", "alk-drives-growth"]
    assert how_chain(inference, base.vocabulary, conclusion=("recurrence_risk", "higher")) == []
    recurred = builtin.infer(
        Facts.of({"histology": IMT, "excision": "complete", "recurrence": "present", "resectability": "resectable"})
    )
    accepted = how_chain(recurred, base.vocabulary, accepted="surgical_resection")
    assert [f.rule for f in accepted] == ["histology-consistent-with-imt", "re-resection-accepted"]


def chain_rules(folder: Path, n: int) -> RuleBase:
    """``n`` rules in a chain: rule i concludes ``link_i``, which rule i+1 needs; the last suggests ``finish``."""
    lines = [
        "sections:",
        '  - "Source"',
        "facts:",
        "  start:",
        "    label: Start",
        "    description: D.",
        "    values:",
    ]
    lines += ["      go: {label: Go, description: D.}", "      stop: {label: Stop, description: D.}", "conclusions:"]
    for i in range(n):
        lines += [f"  link_{i}:", f"    label: Link {i}", "    description: D.", "    values:"]
        lines.append("      'yes': {label: 'Yes', description: D.}")
    lines += ["next_steps:", "  finish:", "    label: Finish", "    description: D."]
    (folder / "vocabulary.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rules = ["rules:"]
    for i in range(n):
        need = "{start: go}" if i == 0 else f"{{link_{i - 1}: 'yes'}}"
        then = f"{{conclude: {{link_{i}: 'yes'}}{', suggest: [finish]' if i == n - 1 else ''}}}"
        rules.append(f"  - {{id: link-{i}, when: {need}, then: {then}, explanation: E., source: Source}}")
    (folder / "chain.yaml").write_text("\n".join(rules) + "\n", encoding="utf-8")
    return load_rulebase(folder)


def test_a_chain_of_thousands_of_rules_is_explained_without_recursion(tmp_path: Path) -> None:
    chain = chain_rules(tmp_path, 2000)
    with BuiltinEngine(chain) as engine:
        stopped = why_not(chain, engine.infer(Facts.of({"start": "stop"})), "finish")
        (gap,) = stopped.gaps
        assert gap.rule == "link-1999" and gap.producers == ("link-1998",)
        assert (gap.kind, gap.fact, gap.known) == (CONTRADICTED, "start", ("stop",))  # settled 2,000 rules back
        assert why_not(chain, engine.infer(Facts()), "finish").kind == NOT_YET_KNOWN
        ran = engine.infer(Facts.of({"start": "go"}))
        assert [f.rule for f in how_chain(ran, chain.vocabulary, step="finish")] == [f"link-{i}" for i in range(2000)]
