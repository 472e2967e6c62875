"""Scoring one answer and one case: the only scoring rules imt-tutor has.

A question offers ``options``; the rules (or the case author) expect some of
them, ``expected``; the student ``picked`` some. Each question is worth 1 point:

* all right (picked exactly the expected options) scores 1.0 -- including
  picking nothing when nothing is expected;
* picking nothing when something was expected scores 0;
* otherwise the score is the share of expected options picked
  (``hits / expected``, or 1 when nothing is expected), minus
  ``0.8 * wrong / not_expected`` for the options picked that were not expected
  (``not_expected``: how many options were not expected), floored at 0. So
  picking every option scores at most 0.2 (whenever some option was not
  expected), and adding a wrong pick never raises a score.

Points are rounded to 2 decimal places (halves up), except that a score that
is not all right never shows as 1.0 (it is capped at 0.99). Every lost point
is a :class:`Deduction` (data: kind, option, points, rule); ``render.words``
puts it in words, e.g. ``missed 'Biopsy' (-0.50)``.

Options a rule *accepts* (defensible, not required: the document's "may be
considered") are neither expected nor penalised: picking one changes nothing,
and they do not count among the ``not_expected`` options.

A case scores the sum of its questions' points out of the number of questions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

__all__ = ["WRONG_PENALTY", "CaseScore", "Deduction", "QuestionScore", "score_case", "score_question"]

#: What picking every not-expected option costs, in points.
WRONG_PENALTY = Fraction(4, 5)

_CENT = Decimal("0.01")
_ALMOST = 0.99


def _round(value: Fraction) -> float:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(_CENT, rounding=ROUND_HALF_UP))


MISSED = "missed"
WRONG = "wrong"
NOTHING_PICKED = "nothing_picked"


@dataclass(frozen=True)
class Deduction:
    """Points lost for one reason: ``kind`` is ``missed`` (an expected
    ``option`` not picked), ``wrong`` (a picked ``option`` not expected) or
    ``nothing_picked`` (``option`` is ``None``; ``points`` is the whole point).
    ``rule`` is the rule behind the expected option, or the one that argues
    against the wrong pick, when the caller knows it."""

    kind: str
    option: str | None
    points: float
    rule: str | None = None
    expected_count: int = 0


@dataclass(frozen=True)
class QuestionScore:
    """The score of one answer: points (0..1), what was right, wrong, missed."""

    points: float
    hits: tuple[str, ...]
    wrong: tuple[str, ...]
    missed: tuple[str, ...]
    deductions: tuple[Deduction, ...]
    accepted: tuple[str, ...] = ()

    @property
    def full(self) -> bool:
        return not self.wrong and not self.missed


@dataclass(frozen=True)
class CaseScore:
    """The total of a case: points out of ``max_points`` (one per question)."""

    points: float
    max_points: int
    percent: float

    def text(self) -> str:
        return f"{self.points:g} / {self.max_points} ({self.percent:.1f}%)"


def _unique(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ids))


def score_question(
    picked: Iterable[str],
    expected: Iterable[str],
    options: Iterable[str],
    *,
    accepted: Iterable[str] = (),
    rules: Mapping[str, str] | None = None,
) -> QuestionScore:
    """Score one answer (see the module docstring for the rules).

    ``rules`` maps option IDs to the rule each deduction names. Picks or
    expected IDs missing from ``options`` still count (as options).
    """
    want = _unique(expected)
    allowed = tuple(a for a in _unique(accepted) if a not in want)
    every = _unique(picked)
    taken = tuple(p for p in every if p in allowed)
    picks = tuple(p for p in every if p not in allowed)
    offered = _unique([*options, *picks, *want])
    why = rules or {}
    hits = tuple(p for p in picks if p in want)
    wrong = tuple(p for p in picks if p not in want)
    missed = tuple(w for w in want if w not in picks)
    not_expected = len([o for o in offered if o not in want and o not in allowed])

    if not wrong and not missed:
        return QuestionScore(1.0, hits, wrong, missed, (), taken)
    deductions: list[Deduction] = []
    if not picks:
        credit = Fraction(0)
        deductions.append(Deduction(NOTHING_PICKED, None, 1.0, None, len(want)))
    else:
        per_miss = Fraction(1, len(want)) if want else Fraction(0)
        per_wrong = WRONG_PENALTY / max(not_expected, 1)
        credit = (Fraction(len(hits), len(want)) if want else Fraction(1)) - per_wrong * len(wrong)
        for m in missed:
            deductions.append(Deduction(MISSED, m, _round(per_miss), why.get(m)))
        for w in wrong:
            deductions.append(Deduction(WRONG, w, _round(per_wrong), why.get(w)))
    points = min(_round(max(credit, Fraction(0))), _ALMOST)
    return QuestionScore(points, hits, wrong, missed, tuple(deductions), taken)


def score_case(question_scores: Iterable[QuestionScore]) -> CaseScore:
    """Sum of the questions' points, out of one point per question."""
    scores = list(question_scores)
    total = sum((Decimal(str(s.points)) for s in scores), Decimal(0))
    maximum = len(scores)
    percent = float((total * 100 / maximum).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)) if maximum else 0.0
    return CaseScore(float(total), maximum, percent)
