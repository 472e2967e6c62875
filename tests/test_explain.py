"""HOW and WHY-NOT explanations in words."""

from __future__ import annotations

import pytest

from imt_tutor.data import rules_dir
from imt_tutor.engines.builtin import BuiltinEngine
from imt_tutor.errors import DataError
from imt_tutor.explain import condition_text, firing_lines, how_chain, why_not
from imt_tutor.models import Facts
from imt_tutor.rulebase import load_rulebase

IMT = "myofibroblastic_spindle_cells_with_inflammatory_infiltrate"
BASE = load_rulebase(rules_dir())
ENGINE = BuiltinEngine(BASE)


def test_why_not_names_the_rule_and_its_unmet_condition():
    inference = ENGINE.infer(Facts.of({"imaging_finding": "mass", "imaging": ("ct",)}))
    result = why_not(BASE, inference, "surgical_resection")
    assert not result.suggested
    assert [g.rule for g in result.gaps] == ["resect-imt"]
    assert "Working diagnosis is 'Consistent with IMT'" in result.gaps[0].unmet
    assert "histology-consistent-with-imt" in result.gaps[0].unmet


def test_why_not_on_a_step_already_done_says_so():
    inference = ENGINE.infer(Facts.of({"imaging_finding": "mass", "histology": IMT}))
    gap = why_not(BASE, inference, "biopsy").gaps[0]
    assert gap.rule == "mass-needs-biopsy"
    assert "Biopsy histology is not known yet, but it is 'Myofibroblastic spindle cells" in gap.unmet
    assert "already done" in gap.unmet
    imaging = why_not(
        BASE,
        ENGINE.infer(Facts.of({"site": "lung", "symptoms": ("cough",), "imaging": ("ct",)})),
        "cross_sectional_imaging",
    )
    assert "is not known yet, but it is 'CT scan'" in imaging.gaps[0].unmet
    assert "already done" in imaging.gaps[0].unmet


def test_why_not_unmet_fact_value():
    inference = ENGINE.infer(Facts.of({"histology": IMT, "resectability": "unresectable"}))
    gap = why_not(BASE, inference, "surgical_resection").gaps[0]
    assert gap.unmet == "needs Resectability is not 'Unresectable', but it is 'Unresectable'"


def test_why_not_a_suggested_step_says_it_is_suggested():
    inference = ENGINE.infer(Facts.of({"imaging_finding": "mass"}))
    result = why_not(BASE, inference, "biopsy")
    assert result.suggested and result.because == ("mass-needs-biopsy",)
    assert result.lines() == ["'Biopsy' IS suggested here, by: mass-needs-biopsy."]


def test_why_not_unknown_step():
    with pytest.raises(DataError, match="did you mean 'biopsy'"):
        why_not(BASE, ENGINE.infer(Facts()), "biopsie")


def test_how_chain_follows_conclusions_back_to_facts():
    inference = ENGINE.infer(Facts.of({"histology": IMT, "alk_ihc": "positive", "resectability": "unresectable"}))
    chain = [f.rule for f in how_chain(inference, BASE.vocabulary, "alk_inhibitor")]
    assert chain == [
        "histology-consistent-with-imt",
        "alk-positive-imt",
        "alk-drives-growth",
        "surgery-not-feasible",
        "alk-inhibitor-option",
        "alk-targeted-options",
    ]
    lines = firing_lines(BASE.vocabulary, inference.trace[0])
    assert lines[0] == "histology-consistent-with-imt  [What are Inflammatory Myofibroblastic Tumors (IMTs)?]"
    assert lines[1].startswith("  matched: Biopsy histology: Myofibroblastic")


def test_condition_text():
    rule = BASE.rule("alk-negative-other-alterations")
    assert condition_text(BASE.vocabulary, rule.when) == (
        "the conclusion Working diagnosis is 'IMT, ALK-negative on staining' and ROS1 status is not "
        "'ROS1 rearranged' and PDGFRB status is not 'PDGFRB rearranged' and one of: ROS1 status is not "
        "known yet; PDGFRB status is not known yet"
    )


def test_how_chain_of_a_conclusion():
    inference = ENGINE.infer(Facts.of({"histology": IMT, "alk_ihc": "positive"}))
    chain = how_chain(inference, BASE.vocabulary, conclusion=("molecular_profile", "alk_rearrangement"))
    assert [f.rule for f in chain] == ["histology-consistent-with-imt", "alk-positive-imt", "alk-drives-growth"]
    assert how_chain(inference, BASE.vocabulary, conclusion=("recurrence_risk", "higher")) == []
