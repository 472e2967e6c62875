"""The builtin evaluator: chaining, order independence, steps never repeated."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imt_tutor.engines.builtin import BuiltinEngine, check, closure
from imt_tutor.files import rules_dir
from imt_tutor.models import Facts
from imt_tutor.rulebase import load_rulebase

IMT = "myofibroblastic_spindle_cells_with_inflammatory_infiltrate"
BASE = load_rulebase(rules_dir())
ENGINE = BuiltinEngine(BASE)


def infer(**facts):
    return ENGINE.infer(Facts.of({k: tuple(v) if isinstance(v, list) else v for k, v in facts.items()}))


def steps(inference):
    return [s for s, _ in inference.suggestions()]


def test_symptomatic_lung_presentation_suggests_imaging():
    result = infer(site="lung", symptoms=["cough"])
    assert steps(result) == ["cross_sectional_imaging"]
    assert result.has("symptom_pattern", "lung_symptoms")
    assert "image-site-symptoms" in result.fired


@pytest.mark.parametrize("site", ["abdomen", "pelvis", "liver", "bladder", "retroperitoneum", "other"])
def test_every_site_with_pain_suggests_imaging(site):
    result = infer(site=site, symptoms=["pain"])
    assert steps(result) == ["cross_sectional_imaging"]
    frequency = {"abdomen": "common_site", "pelvis": "common_site", "other": "any_site"}.get(site, "reported_site")
    assert result.has("site_frequency", frequency)


def test_mass_on_imaging_needs_biopsy_and_keeps_differential_open():
    result = infer(site="lung", symptoms=["cough"], imaging=["ct"], imaging_finding="mass")
    assert steps(result) == ["biopsy"]
    assert result.has("differential", "imt_vs_malignant_tumour")
    assert result.has("working_diagnosis", "mass_under_investigation")


def test_incidental_mass():
    result = infer(site="liver", presentation="incidental", imaging=["mri"], imaging_finding="mass")
    assert result.has("symptom_pattern", "incidental_finding")
    assert steps(result) == ["biopsy"]


def test_no_mass_locates_no_tumour_and_suggests_nothing():
    result = infer(site="lung", symptoms=["cough"], imaging=["ct"], imaging_finding="no_mass")
    assert steps(result) == []
    assert result.has("imaging_result", "no_tumour_located")
    assert not result.has("working_diagnosis", "mass_under_investigation")


def test_nondiagnostic_biopsy_is_repeated():
    result = infer(imaging=["ct"], imaging_finding="mass", histology="nondiagnostic")
    assert steps(result) == ["biopsy"]
    assert result.has("differential", "imt_vs_malignant_tumour")


def test_diagnostic_histology_sharpens_the_working_diagnosis():
    result = infer(imaging=["ct"], imaging_finding="mass", histology=IMT)
    assert steps(result) == ["alk_immunohistochemistry", "surgical_resection"]
    assert not result.has("differential", "imt_vs_malignant_tumour")
    result = infer(imaging=["ct"], imaging_finding="mass", histology=IMT, alk_ihc="positive")
    assert result.has("working_diagnosis", "alk_rearranged_imt")
    assert result.has("molecular_profile", "alk_rearrangement")
    assert steps(result) == ["surgical_resection"]


def test_alk_negative_leaves_ros1_pdgfrb_possible_without_a_test():
    result = infer(histology=IMT, alk_ihc="negative")
    assert steps(result) == ["surgical_resection"]
    assert result.has("molecular_profile", "ros1_or_pdgfrb_possible")
    assert infer(histology=IMT, alk_ihc="negative", ros1="rearranged", pdgfrb="not_rearranged").has(
        "molecular_profile", "ros1_or_pdgfrb_alteration"
    )
    assert infer(histology=IMT, alk_ihc="negative", ros1="not_rearranged", pdgfrb="not_rearranged").has(
        "molecular_profile", "cause_unclear"
    )


def test_resectable_then_excision():
    assert steps(
        infer(
            histology=IMT,
            alk_ihc="negative",
            ros1="not_rearranged",
            pdgfrb="not_rearranged",
            resectability="resectable",
        )
    ) == ["surgical_resection"]
    done = infer(histology=IMT, alk_ihc="positive", resectability="resectable", excision="complete")
    assert steps(done) == ["follow_up_monitoring"]
    assert done.has("recurrence_risk", "reduced") and done.has("prognosis", "generally_favourable")
    assert infer(histology=IMT, alk_ihc="positive", excision="incomplete").has("recurrence_risk", "higher")


def test_unresectable_alk_positive_gets_targeted_therapy():
    result = infer(histology=IMT, alk_ihc="positive", resectability="unresectable")
    assert steps(result) == ["corticosteroids", "nsaids", "targeted_therapy", "alk_inhibitor", "follow_up_monitoring"]
    assert result.has("recurrence_risk", "higher")
    negative = infer(
        histology=IMT, alk_ihc="negative", ros1="not_rearranged", pdgfrb="not_rearranged", resectability="unresectable"
    )
    assert "alk_inhibitor" not in steps(negative)
    assert "targeted_therapy" in steps(negative)


def test_recurrence_and_metastasis():
    result = infer(histology=IMT, alk_ihc="positive", excision="incomplete", recurrence="present")
    assert {"corticosteroids", "nsaids", "alk_inhibitor"} <= set(steps(result))
    meta = infer(histology=IMT, alk_ihc="positive", excision="complete", metastasis="present")
    assert "reconsider_diagnosis" in steps(meta)
    assert meta.has("differential", "imt_vs_malignant_tumour") and meta.has("behaviour", "atypical_for_imt")
    assert infer(histology=IMT, metastasis="absent").has("behaviour", "metastasis_absent_as_expected")
    assert infer(histology=IMT, local_invasion="present").has("behaviour", "locally_invasive")
    assert not infer(local_invasion="present").has("behaviour", "locally_invasive")


def test_trace_matches_facts_and_cites_sections():
    result = infer(site="lung", symptoms=["cough", "fever"])
    firing = next(f for f in result.trace if f.rule == "lung-site-respiratory-symptoms")
    assert dict(firing.matched) == {"site": "lung", "symptoms": ("cough",)}
    assert firing.source == "What are the Symptoms of IMTs?"
    chained = next(f for f in result.trace if f.rule == "image-site-symptoms")
    assert dict(chained.matched) == {"symptom_pattern": "lung_symptoms"}


def test_check_gives_per_condition_results():
    rule = BASE.rule("resect-imt")
    _fired, conclusions = closure(BASE, Facts.of({"histology": IMT, "resectability": "unresectable"}))
    result = check(rule.when, Facts.of({"histology": IMT, "resectability": "unresectable"}), conclusions)
    assert not result.met
    assert [p.met for p in result.parts] == [True, False, True, True]
    assert result.first_unmet() is result.parts[1]


# ------------------------------------------------------------------ properties


def fact_sets():
    parts = {}
    for fact in BASE.vocabulary.facts:
        values = st.sampled_from(fact.value_ids)
        if fact.multi:
            values = st.lists(values, min_size=1, unique=True).map(lambda v: tuple(sorted(v)))
        parts[fact.id] = st.one_of(st.none(), values)
    return st.fixed_dictionaries(parts).map(lambda d: {k: v for k, v in d.items() if v is not None})


@settings(max_examples=300, deadline=None)
@given(fact_sets(), st.randoms(use_true_random=False))
def test_order_of_facts_and_rules_never_changes_a_conclusion(facts, rnd):
    items = list(facts.items())
    rnd.shuffle(items)
    shuffled_rules = list(BASE.rules)
    rnd.shuffle(shuffled_rules)
    from imt_tutor.models import RuleBase

    base = RuleBase(BASE.vocabulary, tuple(shuffled_rules))
    a = closure(BASE, Facts.of(facts))
    b = closure(base, Facts(tuple(items)))
    assert a == b


@settings(max_examples=300, deadline=None)
@given(fact_sets())
def test_a_step_already_done_is_never_suggested(facts):
    f = Facts.of(facts)
    for step, _ in ENGINE.infer(f).suggestions():
        assert not BASE.vocabulary.step(step).is_done(f), (step, facts)


@settings(max_examples=200, deadline=None)
@given(fact_sets())
def test_trace_is_canonical_and_complete(facts):
    result = ENGINE.infer(Facts.of(facts))
    order = [r.id for r in BASE.rules]
    positions = [order.index(r) for r in result.fired]
    assert positions == sorted(positions)
    concluded = {(k, v) for k, v, _ in result.conclusions()}
    for rule in BASE.rules:
        from imt_tutor.engines.builtin import holds

        assert holds(rule.when, Facts.of(facts), concluded) == (rule.id in result.fired)
