"""The shared sentences: deductions and conditions in words."""

from __future__ import annotations

from imt_tutor.render.words import deduction_text
from imt_tutor.scoring import Deduction


def test_deductions_in_words() -> None:
    labels = {"nsaids": "NSAIDs", "b": "Bee"}
    assert deduction_text(Deduction("missed", "nsaids", 0.5), labels) == "missed 'NSAIDs' (-0.50)"
    assert (
        deduction_text(Deduction("wrong", "b", 0.2), labels)
        == "picked 'Bee', which the rules do not support here (-0.20)"
    )
    assert (
        deduction_text(Deduction("nothing_picked", None, 1.0, None, 2), {}) == "picked nothing, but 2 expected (-1.00)"
    )
