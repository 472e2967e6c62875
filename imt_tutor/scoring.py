"""Scoring one answer and one case: the only scoring rules imt-tutor has.

A question offers ``options``; the rules (or the case author) expect some of
them, ``expected``; the student ``picked`` some. Each question is worth 1 point
(a case may weigh its questions; see :func:`score_case`):

* **all right** (exactly the expected options, in any order) scores 1 --
  including picking nothing when nothing is expected;
* **unanswered** scores 0, and so does picking nothing when something is
  expected;
* otherwise: ``hits / expected`` (or 1 when nothing is expected), plus half
  credit for each *less specific but true* pick standing in for a missed
  expected one (a working diagnosis that is right but not the most specific),
  minus the cost of each wrong pick, floored at 0 and capped at 0.99 (only an
  all-right answer shows 1).

A **wrong pick** costs ``0.8 * w / W``: ``w`` is its weight -- 2 when the
case's own facts rule it out (*contradicted*), 1 otherwise (premature, already
done, no rule suggests it) -- and ``W`` the total weight of all the options
that are not expected. So picking every option scores at most 0.2, a
contradicted pick costs twice a premature one, and what a wrong pick costs does
not depend on what else is expected. An *accepted* pick (defensible, not
required: the source's "may be considered") changes nothing and does not count
among the wrong options.

Hence: credit stays in [0, 1]; adding a right pick never lowers it; adding a
wrong pick never raises it; an accepted pick changes nothing. Points are
rounded to 2 decimals (halves up); totals are printed with 2 decimals too.
Every lost point is a :class:`Deduction` (data: kind, option, points, rule);
``render.words`` puts it in words.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

__all__ = [
    "CONTRADICTED_WEIGHT",
    "PARTIAL_CREDIT",
    "WRONG_PENALTY",
    "CaseScore",
    "Deduction",
    "QuestionScore",
    "case_total",
    "score_case",
    "score_question",
    "score_unanswered",
    "weighted_points",
]

#: What picking every not-expected option costs, in points.
WRONG_PENALTY = Fraction(4, 5)
#: A pick the case's own facts rule out weighs this much against a premature one.
CONTRADICTED_WEIGHT = 2
#: The share of an expected option's credit that a less specific, true pick earns.
PARTIAL_CREDIT = Fraction(1, 2)

_CENT = Decimal("0.01")
_ALMOST = 0.99


def _round(value: Fraction) -> float:
    return _cents(value.numerator, value.denominator)


def _cents(numerator: int, denominator: int) -> float:
    """``numerator / denominator`` (at least 0) rounded to 2 decimals, halves up."""
    return ((200 * numerator + denominator) // (2 * denominator)) / 100


# The least common denominator of the constants above: every credit and cost of a question is
# a whole number of (1 / (expected count * total weight * _UNIT)).
_UNIT = math.lcm(WRONG_PENALTY.denominator, PARTIAL_CREDIT.denominator)


MISSED = "missed"
WRONG = "wrong"
NOTHING_PICKED = "nothing_picked"
UNANSWERED = "unanswered"
LESS_SPECIFIC = "less_specific"
HINTS = "hints"


@dataclass(frozen=True, slots=True)
class Deduction:
    """Points lost for one reason. ``kind``:

    * ``missed``: an expected ``option`` not picked;
    * ``less_specific``: a true but less specific ``option`` picked instead of
      an expected one (half its credit lost);
    * ``wrong``: a picked ``option`` not expected (``gap`` says why: not yet
      known, already done, contradicted, unsupported);
    * ``nothing_picked`` / ``unanswered`` (``option`` is ``None``, the whole point);
    * ``hints``: the case's penalty for hints used.

    ``rule`` is the rule behind the expected option, or the one that argues
    against the wrong pick, when the caller knows it."""

    kind: str
    option: str | None
    points: float
    rule: str | None = None
    expected_count: int = 0
    gap: str | None = None


@dataclass(frozen=True, slots=True)
class QuestionScore:
    """The score of one answer: points (0..1), what was right, wrong, missed."""

    points: float
    hits: tuple[str, ...]
    wrong: tuple[str, ...]
    missed: tuple[str, ...]
    deductions: tuple[Deduction, ...]
    accepted: tuple[str, ...] = ()
    partial: tuple[str, ...] = ()
    answered: bool = True

    @property
    def full(self) -> bool:
        return self.answered and not self.wrong and not self.missed and not self.partial


@dataclass(frozen=True, slots=True)
class CaseScore:
    """The total of a case: points out of ``max_points``."""

    points: float
    max_points: float
    percent: float

    def text(self) -> str:
        return f"{self.points:.2f} / {self.max_points:.2f} ({self.percent:.1f}%)"


def _unique(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ids))


def score_question(
    picked: Iterable[str],
    expected: Iterable[str],
    options: Iterable[str],
    *,
    accepted: Iterable[str] = (),
    partial: Iterable[str] = (),
    gaps: Mapping[str, str] | None = None,
    rules: Mapping[str, str] | None = None,
    hints: int = 0,
    hint_penalty: float = 0.0,
) -> QuestionScore:
    """Score one answer (see the module docstring for the rules).

    ``partial``: the options that are true but less specific than expected;
    ``gaps`` maps a not-expected option to its gap kind (``contradicted`` weighs
    double); ``rules`` maps options to the rule each deduction names. ``hints``
    used cost ``hint_penalty`` each (an instructor's choice; 0 by default).
    Picks or expected IDs missing from ``options`` still count (as options).

    The arithmetic is exact, in whole numbers over one common denominator
    (a batch scores thousands of answers; ``Fraction`` cost most of that).
    """
    want = _unique(expected)
    allowed = tuple(a for a in _unique(accepted) if a not in want)
    halves = tuple(p for p in _unique(partial) if p not in want and p not in allowed)
    every = _unique(picked)
    taken = tuple(p for p in every if p in allowed)
    partial_picks = tuple(p for p in every if p in halves) if want else ()
    picks = tuple(p for p in every if p not in allowed and p not in partial_picks)
    kinds = gaps or {}
    why = rules or {}
    hits = tuple(p for p in picks if p in want)
    wrong = tuple(p for p in picks if p not in want)
    missed = tuple(w for w in want if w not in picks)
    deductions: list[Deduction] = []
    # credit = numerator / denominator, exactly
    if not wrong and not missed and not partial_picks:
        numerator, denominator = 1, 1
    elif not picks and not partial_picks:
        numerator, denominator = 0, 1
        deductions.append(Deduction(NOTHING_PICKED, None, 1.0, None, len(want)))
    else:
        outside = set(want).union(allowed, partial_picks)
        total_weight = sum(
            CONTRADICTED_WEIGHT if kinds.get(o) == "contradicted" else 1
            for o in _unique([*options, *every, *want])
            if o not in outside
        )
        # One expected option is worth share / denominator; a stand-in half of it; a wrong
        # pick of weight w costs w * cost_unit / denominator (WRONG_PENALTY * w / total weight).
        count = len(want) or 1
        weights = max(total_weight, 1)
        denominator = count * weights * _UNIT
        share = weights * _UNIT
        half = share * PARTIAL_CREDIT.numerator // PARTIAL_CREDIT.denominator
        cost_unit = count * _UNIT * WRONG_PENALTY.numerator // WRONG_PENALTY.denominator
        stand_ins = partial_picks[: len(missed)]
        numerator = share * len(hits) + half * len(stand_ins) if want else denominator
        for index, m in enumerate(missed):
            if index < len(stand_ins):
                deductions.append(Deduction(LESS_SPECIFIC, stand_ins[index], _cents(half, denominator), why.get(m)))
            else:
                deductions.append(Deduction(MISSED, m, _cents(share, denominator), why.get(m)))
        for p in partial_picks[len(stand_ins) :]:
            deductions.append(Deduction(LESS_SPECIFIC, p, 0.0, why.get(p)))
        for w in wrong:
            gap = kinds.get(w)
            cost = cost_unit * (CONTRADICTED_WEIGHT if gap == "contradicted" else 1)
            numerator -= cost
            deductions.append(Deduction(WRONG, w, _cents(cost, denominator), why.get(w), gap=gap))
        numerator = max(numerator, 0)
    if hints and hint_penalty > 0:
        credit = Fraction(numerator, denominator)
        penalty = min(Fraction(str(hint_penalty)) * hints, credit)
        if penalty:
            credit -= penalty
            deductions.append(Deduction(HINTS, None, _round(penalty), None, hints))
        numerator, denominator = credit.numerator, credit.denominator
    points = _cents(numerator, denominator)
    if deductions and points >= 1.0:
        points = _ALMOST
    return QuestionScore(points, hits, wrong, missed, tuple(deductions), taken, partial_picks)


def weighted_points(score: QuestionScore, weight: int) -> float:
    """One question's points in its case's total: its credit times its weight (as :func:`score_case` counts it)."""
    return score_case([score], [weight]).points


def score_unanswered(expected: Iterable[str]) -> QuestionScore:
    """An unanswered question: 0 points, whatever was expected."""
    want = _unique(expected)
    return QuestionScore(0.0, (), (), want, (Deduction(UNANSWERED, None, 1.0, None, len(want)),), answered=False)


def score_case(question_scores: Iterable[QuestionScore], weights: Iterable[float] | None = None) -> CaseScore:
    """The questions' points (each times its weight, default 1) out of the total weight."""
    return case_total([s.points for s in question_scores], weights)


def case_total(points: Sequence[float], weights: Iterable[float] | None = None) -> CaseScore:
    """Points (each times its weight, default 1) out of the total weight, as :func:`score_case`
    counts them (for points that are no longer scores: a transcript's, say)."""
    given = list(weights) if weights is not None else [1.0] * len(points)
    cents = [round(p * 100) for p in points]
    whole = [int(w) for w in given]
    if all(c / 100 == p for c, p in zip(cents, points, strict=True)) and whole == given:
        # Points in cents and whole weights (as every case has them): exact in whole numbers.
        total_cents = sum(c * w for c, w in zip(cents, whole, strict=True))
        count = sum(whole)
        tenths = (20 * total_cents + count) // (2 * count) if count else 0
        return CaseScore(total_cents / 100, float(count), tenths / 10)
    total = sum((Decimal(str(p)) * Decimal(str(w)) for p, w in zip(points, given, strict=True)), Decimal(0))
    maximum = sum((Decimal(str(w)) for w in given), Decimal(0))
    percent = float((total * 100 / maximum).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)) if maximum else 0.0
    return CaseScore(float(total.quantize(_CENT, rounding=ROUND_HALF_UP)), float(maximum), percent)
