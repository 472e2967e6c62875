"""The infer report: exact JSON keys, disclaimer, readable text (render/json.py and render/text.py)."""

from __future__ import annotations

from imt_tutor import DISCLAIMER
from imt_tutor.explain import why_not
from imt_tutor.models import Facts
from imt_tutor.render.json import infer_json
from imt_tutor.render.text import conclusion_lines, infer_text

IMT = "myofibroblastic_spindle_cells_with_inflammatory_infiltrate"
FACTS = Facts.of({"imaging_finding": "mass", "histology": IMT, "alk_ihc": "positive", "symptoms": ("cough",)})


def test_json_has_exactly_the_documented_keys(base, builtin):
    inference = builtin.infer(FACTS)
    doc = infer_json(inference, base.vocabulary, "builtin evaluator")
    assert list(doc) == ["engine", "facts", "warnings", "suggestions", "accepted", "conclusions", "trace", "disclaimer"]
    assert doc["disclaimer"] == DISCLAIMER
    assert doc["facts"]["symptoms"] == ["cough"]
    assert {"key": "working_diagnosis", "value": "alk_rearranged_imt", "because": ["alk-positive-imt"]} in doc[
        "conclusions"
    ]
    assert set(doc["trace"][0]) == {"rule", "matched", "concluded", "explanation", "source"}
    with_why = infer_json(inference, base.vocabulary, "x", [why_not(base, inference, "biopsy")])
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


def test_working_diagnosis_sharpens_in_text(base, builtin):
    inference = builtin.infer(FACTS)
    lines = conclusion_lines(base.vocabulary, inference.conclusions())
    assert "Working diagnosis: Mass under investigation -> Consistent with IMT -> ALK-rearranged IMT" in lines


def test_text_report_is_80_columns_and_carries_the_disclaimer(base, builtin):
    inference = builtin.infer(FACTS)
    text = infer_text(inference, base.vocabulary, "builtin evaluator", [why_not(base, inference, "nsaids")])
    assert DISCLAIMER in " ".join(text.split())
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "Why not nsaids?" in text


def test_why_not_json_carries_the_gap_kinds(base, builtin):
    inference = builtin.infer(FACTS)
    doc = infer_json(inference, base.vocabulary, "x", [why_not(base, inference, "nsaids")])
    (entry,) = doc["why_not"]
    assert entry["step"] == "nsaids" and entry["suggested"] is False
    assert entry["kind"] == "not_yet_known"  # resectability and recurrence are not known yet
    assert entry["rules"][0]["rule"] == "non-surgical-options"
    assert entry["rules"][0]["unmet"].startswith("needs the conclusion Treatment situation is")
