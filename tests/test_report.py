"""The infer report: exact JSON keys, disclaimer, readable text."""

from __future__ import annotations

from imt_tutor import DISCLAIMER
from imt_tutor.data import rules_dir
from imt_tutor.engines.builtin import BuiltinEngine
from imt_tutor.explain import why_not
from imt_tutor.models import Facts
from imt_tutor.report import conclusion_lines, infer_json, infer_text
from imt_tutor.rulebase import load_rulebase

IMT = "myofibroblastic_spindle_cells_with_inflammatory_infiltrate"
BASE = load_rulebase(rules_dir())
FACTS = Facts.of({"imaging_finding": "mass", "histology": IMT, "alk_ihc": "positive", "symptoms": ("cough",)})


def test_json_has_exactly_the_documented_keys():
    inference = BuiltinEngine(BASE).infer(FACTS)
    doc = infer_json(inference, BASE.vocabulary, "builtin evaluator")
    assert list(doc) == ["engine", "facts", "warnings", "suggestions", "accepted", "conclusions", "trace", "disclaimer"]
    assert doc["disclaimer"] == DISCLAIMER
    assert doc["facts"]["symptoms"] == ["cough"]
    assert {"key": "working_diagnosis", "value": "alk_rearranged_imt", "because": ["alk-positive-imt"]} in doc[
        "conclusions"
    ]
    assert set(doc["trace"][0]) == {"rule", "matched", "concluded", "explanation", "source"}
    with_why = infer_json(inference, BASE.vocabulary, "x", [why_not(BASE, inference, "biopsy")])
    assert list(with_why) == [
        "engine",
        "facts",
        "warnings",
        "suggestions",
        "accepted",
        "conclusions",
        "trace",
        "why_not",
        "disclaimer",
    ]


def test_working_diagnosis_sharpens_in_text():
    inference = BuiltinEngine(BASE).infer(FACTS)
    lines = conclusion_lines(inference, BASE.vocabulary)
    assert "Working diagnosis: Mass under investigation -> Consistent with IMT -> ALK-rearranged IMT" in lines


def test_text_report_is_80_columns_and_carries_the_disclaimer():
    inference = BuiltinEngine(BASE).infer(FACTS)
    text = infer_text(inference, BASE.vocabulary, "builtin evaluator", [why_not(BASE, inference, "nsaids")])
    assert DISCLAIMER in " ".join(text.split())
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "Why not nsaids?" in text
