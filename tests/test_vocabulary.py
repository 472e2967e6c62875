"""Vocabulary: the canonical IDs, fact validation and did-you-mean."""

from __future__ import annotations

import pytest

from imt_tutor.errors import DataError, DataErrors, did_you_mean
from imt_tutor.files import rules_dir
from imt_tutor.loading import load_yaml_text
from imt_tutor.vocabulary import load_vocabulary, parse_fact_options, parse_facts, parse_vocabulary

CANONICAL_FACTS = {
    "site": ["lung", "abdomen", "pelvis", "liver", "bladder", "retroperitoneum", "other"],
    "symptoms": [
        "pain",
        "swelling",
        "fever",
        "cough",
        "chest_pain",
        "respiratory_distress",
        "bloating",
        "abdominal_pain",
        "bowel_habit_change",
    ],
    "presentation": ["symptomatic", "incidental"],
    "imaging": ["ct", "mri"],
    "imaging_finding": ["mass", "no_mass"],
    "histology": ["myofibroblastic_spindle_cells_with_inflammatory_infiltrate", "nondiagnostic"],
    "alk_ihc": ["positive", "negative"],
    "ros1": ["rearranged", "not_rearranged"],
    "pdgfrb": ["rearranged", "not_rearranged"],
    "resectability": ["resectable", "unresectable"],
    "excision": ["complete", "incomplete"],
    "recurrence": ["present", "absent"],
    "metastasis": ["present", "absent"],
    "local_invasion": ["present", "absent"],
}
CANONICAL_STEPS = [
    "cross_sectional_imaging",
    "biopsy",
    "alk_immunohistochemistry",
    "surgical_resection",
    "alk_inhibitor",
    "targeted_therapy",
    "corticosteroids",
    "nsaids",
    "follow_up_monitoring",
    "reconsider_diagnosis",
]


@pytest.fixture(scope="module")
def vocab():
    return load_vocabulary(rules_dir() / "vocabulary.yaml")


def test_canonical_ids_are_present(vocab):
    for key, values in CANONICAL_FACTS.items():
        fact = vocab.fact(key)
        assert fact is not None, key
        assert set(values) <= set(fact.value_ids), key
    assert {s.id for s in vocab.next_steps} >= set(CANONICAL_STEPS)
    assert vocab.fact("symptoms").multi and vocab.fact("imaging").multi
    assert not vocab.fact("site").multi


def test_every_entry_has_label_and_description(vocab):
    entries = [*vocab.facts, *vocab.conclusions, *vocab.next_steps]
    entries += [t for f in vocab.facts for t in f.values] + [t for c in vocab.conclusions for t in c.values]
    for e in entries:
        assert e.label.strip() and e.description.strip(), e.id
        assert "\n" not in e.description


def test_norway_values_stay_strings(vocab):
    data = load_yaml_text("alk_ihc: no\n", "facts.yaml")
    with pytest.raises(DataError) as excinfo:
        parse_facts(vocab, data)
    assert str(excinfo.value) == "facts.yaml:1:10: unknown value 'no' for 'alk_ihc'"


def test_unknown_value_offers_closest_match(vocab):
    data = load_yaml_text("site: lungs\nsymptoms: [cough, feverr]\n", "f.yaml")
    with pytest.raises(DataErrors) as excinfo:
        parse_facts(vocab, data)
    assert str(excinfo.value).splitlines() == [
        "f.yaml:1:7: unknown value 'lungs' for 'site' (did you mean 'lung'?)",
        "f.yaml:2:11: unknown value 'feverr' for 'symptoms' (did you mean 'fever'?)",
    ]


def test_unknown_key_and_conclusion_key(vocab):
    data = load_yaml_text("sites: lung\nworking_diagnosis: consistent_with_imt\n", "f.yaml")
    with pytest.raises(DataErrors) as excinfo:
        parse_facts(vocab, data)
    lines = str(excinfo.value).splitlines()
    assert lines[0] == "f.yaml:1:1: unknown fact 'sites' (did you mean 'site'?)"
    assert "is a conclusion the rules derive" in lines[1]


def test_single_valued_key_rejects_a_list(vocab):
    data = load_yaml_text("site: [lung, pelvis]\n", "f.yaml")
    with pytest.raises(DataError, match="'site' takes one value, not a list"):
        parse_facts(vocab, data)


def test_booleans_and_numbers_are_not_values(vocab):
    data = load_yaml_text("alk_ihc: true\nsite: 3\n", "f.yaml")
    with pytest.raises(DataErrors) as excinfo:
        parse_facts(vocab, data)
    assert "got True" in str(excinfo.value) and "got 3" in str(excinfo.value)


def test_multi_values_are_sorted_and_deduplicated(vocab):
    facts = parse_facts(vocab, load_yaml_text("symptoms: [fever, cough, fever]\n"))
    assert facts.get("symptoms") == ("cough", "fever")


def test_fact_options(vocab):
    facts = parse_fact_options(vocab, ["site=lung", "symptoms=cough,fever", "symptoms=pain"])
    assert facts.as_dict() == {"site": "lung", "symptoms": ("cough", "fever", "pain")}
    with pytest.raises(DataError, match="expected KEY=VALUE"):
        parse_fact_options(vocab, ["site"])
    with pytest.raises(DataError, match="given twice"):
        parse_fact_options(vocab, ["site=lung", "site=pelvis"])
    with pytest.raises(DataError, match="did you mean 'lung'"):
        parse_fact_options(vocab, ["site=Lung"])


def test_did_you_mean():
    assert did_you_mean("lungs", ["lung", "liver"]) == " (did you mean 'lung'?)"
    assert did_you_mean("zzz", ["lung"]) == ""
    assert did_you_mean("LUNG", ["lung"]) == " (did you mean 'lung'?)"


def test_bad_vocabulary_collects_problems():
    text = "sections: [A]\nfacts:\n  Site:\n    label: S\n    values: {x: {label: X}}\nconclusions: {}\n"
    with pytest.raises(DataErrors) as excinfo:
        parse_vocabulary(load_yaml_text(text, "v.yaml"), "v.yaml")
    text_out = str(excinfo.value)
    assert "v.yaml:3:3: fact key 'Site' must be snake_case" in text_out
    assert "fact 'Site' needs 'description'" in text_out
    assert "the vocabulary needs 'conclusions'" in text_out
    assert "the vocabulary needs 'next_steps'" in text_out


def test_reserved_fact_keys_are_rejected():
    text = (
        "sections: [A]\nfacts:\n  kind:\n    label: K\n    description: d\n"
        "    values: {x: {label: X, description: d}}\n"
        "conclusions:\n  c:\n    label: C\n    description: d\n    values: {y: {label: Y, description: d}}\n"
        "next_steps:\n  s: {label: S, description: d}\n"
    )
    with pytest.raises(DataError) as excinfo:
        parse_vocabulary(load_yaml_text(text, "v.yaml"), "v.yaml")
    assert str(excinfo.value) == "v.yaml:3:3: fact key 'kind' is reserved; choose another name"


def test_problems_keep_warnings_apart_and_carry_codes() -> None:
    from imt_tutor.errors import DataError, Location, Problems

    problems = Problems()
    problems.add("looks odd", Location("x.yaml", 2, 3), code="odd", level="warning")
    problems.raise_if_any()  # warnings alone never raise
    problems.add("is wrong", Location("x.yaml", 4, 1), code="wrong")
    with pytest.raises(DataError) as info:
        problems.raise_if_any()
    assert str(info.value) == "x.yaml:4:1: is wrong"
    assert info.value.code == "wrong" and info.value.level == "error"
    assert [(w.code, w.level) for w in problems.warnings] == [("odd", "warning")]
    with pytest.raises(ValueError):
        DataError("x", level="fatal")
