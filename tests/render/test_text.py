"""The terminal's words: firings, conditions, gaps, WHY-NOT of a step."""

from __future__ import annotations

from imt_tutor.explain import why_not
from imt_tutor.models import Facts
from imt_tutor.render.text import firing_lines, gap_text, why_not_step_lines
from imt_tutor.render.words import condition_text

IMT = "myofibroblastic_spindle_cells_with_inflammatory_infiltrate"


def test_gap_text_names_what_is_needed_and_what_is_known(base, builtin, vocab):
    inference = builtin.infer(Facts.of({"imaging_finding": "mass", "imaging": ("ct",)}))
    (gap,) = why_not(base, inference, "surgical_resection").gaps
    text = gap_text(vocab, gap, inference.facts)
    assert "Working diagnosis is 'Consistent with IMT'" in text and "histology-consistent-with-imt" in text
    done = why_not(base, builtin.infer(Facts.of({"imaging_finding": "mass", "histology": IMT})), "biopsy")
    words = gap_text(vocab, done.gaps[0], done.facts)
    assert "Biopsy histology is not known yet, but it is 'Myofibroblastic spindle cells" in words
    assert "(so biopsy is already done)" in words
    unresectable = why_not(
        base, builtin.infer(Facts.of({"histology": IMT, "resectability": "unresectable"})), "surgical_resection"
    )
    assert gap_text(vocab, unresectable.gaps[0], unresectable.facts) == (
        "needs Resectability is not 'Unresectable', but it is 'Unresectable'"
    )


def test_why_not_step_lines(base, builtin, vocab):
    suggested = why_not(base, builtin.infer(Facts.of({"imaging_finding": "mass"})), "biopsy")
    assert why_not_step_lines(vocab, suggested) == ["'Biopsy' IS suggested here, by: mass-needs-biopsy."]
    lines = why_not_step_lines(vocab, why_not(base, builtin.infer(Facts()), "nsaids"))
    assert lines[0] == "'NSAIDs' is not suggested here:"
    assert lines[1].startswith("  non-surgical-options [What are the Treatment Options for IMTs?] needs")


def test_firing_lines_and_condition_text(base, builtin, vocab):
    inference = builtin.infer(Facts.of({"histology": IMT}))
    lines = firing_lines(vocab, inference.trace[0])
    assert lines[0] == "histology-consistent-with-imt  [What are Inflammatory Myofibroblastic Tumors (IMTs)?]"
    assert lines[1].startswith("  matched: Biopsy histology: Myofibroblastic")
    rule = base.rule("alk-negative-other-alterations")
    assert condition_text(vocab, rule.when) == (
        "the conclusion Working diagnosis is 'IMT, ALK-negative on staining' and ROS1 status is not "
        "'ROS1 rearranged' and PDGFRB status is not 'PDGFRB rearranged' and one of: ROS1 status is not "
        "known yet; PDGFRB status is not known yet"
    )
