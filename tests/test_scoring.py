"""The scoring rules of imt_tutor.scoring, as properties and examples."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imt_tutor import scoring
from imt_tutor.scoring import (
    _ALMOST,
    CONTRADICTED_WEIGHT,
    HINTS,
    LESS_SPECIFIC,
    MISSED,
    NOTHING_PICKED,
    PARTIAL_CREDIT,
    WRONG,
    WRONG_PENALTY,
    CaseScore,
    Deduction,
    QuestionScore,
    score_case,
    score_question,
    score_unanswered,
)

IDS = st.sampled_from([f"opt{n}" for n in range(12)])


@st.composite
def questions(draw: st.DrawFn) -> tuple[list[str], list[str], list[str]]:
    """(options, expected, picked), expected and picked drawn from the options."""
    options = draw(st.lists(IDS, min_size=1, max_size=12, unique=True))
    expected = draw(st.lists(st.sampled_from(options), unique=True, max_size=len(options)))
    picked = draw(st.lists(st.sampled_from(options), unique=True, max_size=len(options)))
    return options, expected, picked


# --------------------------------------------------------------------- the three documented rules


@given(questions())
def test_all_right_scores_one(q: tuple[list[str], list[str], list[str]]) -> None:
    options, expected, _ = q
    score = score_question(list(reversed(expected)), expected, options)
    assert score.points == 1.0
    assert score.deductions == ()
    assert score.full


@given(questions())
def test_picking_nothing_when_something_is_expected_scores_zero(q: tuple[list[str], list[str], list[str]]) -> None:
    options, expected, _ = q
    if not expected:
        expected = [options[0]]
    score = score_question([], expected, options)
    assert score.points == 0.0
    assert score.missed == tuple(expected)
    assert score.deductions


@given(questions())
def test_picking_every_option_scores_at_most_a_fifth(q: tuple[list[str], list[str], list[str]]) -> None:
    options, expected, _ = q
    if len(expected) == len(options):
        expected = expected[:-1]  # some option must be wrong to pick
    score = score_question(options, expected, options)
    assert score.points <= 0.2


def test_picking_nothing_when_nothing_is_expected_is_all_right() -> None:
    assert score_question([], [], ["a", "b"]).points == 1.0


# --------------------------------------------------------------------- monotonicity and bounds


@given(questions())
def test_adding_a_wrong_pick_never_raises_the_score(q: tuple[list[str], list[str], list[str]]) -> None:
    options, expected, picked = q
    spare = [o for o in options if o not in expected and o not in picked]
    if not spare:
        return
    before = score_question(picked, expected, options).points
    after = score_question([*picked, spare[0]], expected, options).points
    assert after <= before


@given(questions())
def test_adding_a_missed_right_pick_never_lowers_the_score(q: tuple[list[str], list[str], list[str]]) -> None:
    options, expected, picked = q
    missed = [e for e in expected if e not in picked]
    if not missed:
        return
    before = score_question(picked, expected, options).points
    after = score_question([*picked, missed[0]], expected, options).points
    assert after >= before


@given(questions())
def test_points_are_bounded_and_rounded(q: tuple[list[str], list[str], list[str]]) -> None:
    score = score_question(q[2], q[1], q[0])
    assert 0.0 <= score.points <= 1.0
    assert round(score.points, 2) == score.points


@given(questions())
def test_deductions_exactly_when_points_below_one(q: tuple[list[str], list[str], list[str]]) -> None:
    score = score_question(q[2], q[1], q[0])
    assert bool(score.deductions) == (score.points < 1.0)
    assert set(score.hits) | set(score.wrong) == set(q[2])
    assert set(score.hits) | set(score.missed) == set(q[1])


def test_tiny_deductions_still_show_below_full_marks() -> None:
    options = [f"o{n}" for n in range(500)]
    score = score_question(["o0", "o1"], ["o0"], options)
    assert score.points == 0.99
    assert len(score.deductions) == 1


# --------------------------------------------------------------------- examples


def test_half_the_expected_steps() -> None:
    score = score_question(["biopsy"], ["biopsy", "nsaids"], ["biopsy", "nsaids", "x"], rules={"nsaids": "r1"})
    assert score.points == 0.5
    assert score.deductions == (Deduction("missed", "nsaids", 0.5, "r1"),)


def test_a_wrong_pick_costs_its_share_of_the_penalty() -> None:
    options = ["a", "b", "c", "d", "e"]
    score = score_question(["a", "b"], ["a"], options)
    assert score.points == 0.8
    assert score.wrong == ("b",)
    assert score.deductions == (Deduction("wrong", "b", 0.2),)


def test_picking_nothing_names_the_whole_point() -> None:
    score = score_question([], ["a", "b"], ["a", "b", "c"])
    assert score.deductions == (Deduction("nothing_picked", None, 1.0, None, 2),)


def test_nothing_expected_but_something_picked() -> None:
    score = score_question(["a"], [], ["a", "b", "c", "d"])
    assert score.points == 0.8
    assert not score.full


def test_duplicates_count_once() -> None:
    assert score_question(["a", "a"], ["a"], ["a", "b"]).points == 1.0


@pytest.mark.parametrize(
    ("points", "expected"),
    [([], CaseScore(0.0, 0, 0.0)), ([1.0, 0.5, 0.0], CaseScore(1.5, 3, 50.0)), ([0.33, 1.0], CaseScore(1.33, 2, 66.5))],
)
def test_score_case(points: list[float], expected: CaseScore) -> None:
    scores = [QuestionScore(p, (), (), (), () if p == 1 else ("x",)) for p in points]
    assert score_case(scores) == expected


def test_case_score_text() -> None:
    assert score_case([QuestionScore(1.0, (), (), (), ())] * 3).text() == "3.00 / 3.00 (100.0%)"
    assert score_case([QuestionScore(0.5, (), (), (), ())] * 2, weights=[1, 3]).text() == "2.00 / 4.00 (50.0%)"


# --------------------------------------------------------------------- accepted alternatives


@given(questions(), st.data())
def test_an_accepted_pick_changes_nothing(q: tuple[list[str], list[str], list[str]], data: st.DataObject) -> None:
    options, expected, picked = q
    spare = [o for o in options if o not in expected]
    accepted = data.draw(st.lists(st.sampled_from(spare), unique=True)) if spare else []
    without = [p for p in picked if p not in accepted]
    base = score_question(without, expected, options, accepted=accepted)
    for extra in accepted:
        score = score_question([*without, extra], expected, options, accepted=accepted)
        assert score.points == base.points
        assert score.deductions == base.deductions
        assert extra in score.accepted and extra not in score.wrong


def test_accepted_options_are_not_counted_as_wrong_ones() -> None:
    # Three options not expected, one of them accepted: a wrong pick costs 0.8 / 2, not 0.8 / 3.
    score = score_question(["a", "c"], ["a"], ["a", "b", "c", "d"], accepted=["b"])
    assert score.points == 0.6
    assert score.wrong == ("c",)
    assert score_question(["a", "b"], ["a"], ["a", "b", "c", "d"], accepted=["b"]).points == 1.0


def test_an_expected_option_is_never_merely_accepted() -> None:
    score = score_question([], ["a"], ["a", "b"], accepted=["a"])
    assert score.points == 0.0 and score.missed == ("a",)


# --------------------------------------------------------------------- the student-session rules


@st.composite
def graded(draw: st.DrawFn) -> tuple[list[str], list[str], list[str], list[str], dict[str, str]]:
    """(options, expected, picked, accepted, gaps) with accepted and gaps on not-expected options."""
    options, expected, picked = draw(questions())
    spare = [o for o in options if o not in expected]
    accepted = draw(st.lists(st.sampled_from(spare), unique=True, max_size=2)) if spare else []
    kinds = st.sampled_from(["not_yet_known", "already_done", "contradicted", "unsupported"])
    gaps = {o: draw(kinds) for o in spare if o not in accepted}
    return options, expected, picked, accepted, gaps


@given(graded())
def test_credit_is_bounded(q) -> None:  # type: ignore[no-untyped-def]
    options, expected, picked, accepted, gaps = q
    score = score_question(picked, expected, options, accepted=accepted, gaps=gaps)
    assert 0.0 <= score.points <= 1.0
    assert (score.points == 1.0) == (score.full or (not score.wrong and not score.missed and not score.partial))


@given(graded(), st.data())
def test_adding_a_right_pick_never_lowers_and_a_wrong_one_never_raises(q, data) -> None:  # type: ignore[no-untyped-def]
    options, expected, picked, accepted, gaps = q
    base = score_question(picked, expected, options, accepted=accepted, gaps=gaps).points
    for right in [e for e in expected if e not in picked]:
        assert score_question([*picked, right], expected, options, accepted=accepted, gaps=gaps).points >= base
    for wrong in [o for o in options if o not in expected and o not in accepted and o not in picked]:
        assert score_question([*picked, wrong], expected, options, accepted=accepted, gaps=gaps).points <= base
    for extra in [a for a in accepted if a not in picked]:
        assert score_question([*picked, extra], expected, options, accepted=accepted, gaps=gaps).points == base


@given(graded())
def test_picking_everything_scores_at_most_a_fifth(q) -> None:  # type: ignore[no-untyped-def]
    options, expected, _, accepted, gaps = q
    if len(set(options) - set(expected) - set(accepted)) == 0:
        return
    assert score_question(options, expected, options, accepted=accepted, gaps=gaps).points <= 0.2


def test_a_contradicted_pick_costs_more_than_a_premature_one() -> None:
    options = ["a", "b", "c", "d"]
    gaps = {"b": "not_yet_known", "c": "contradicted", "d": "not_yet_known"}
    premature = score_question(["a", "b"], ["a"], options, gaps=gaps)
    contradicted = score_question(["a", "c"], ["a"], options, gaps=gaps)
    assert contradicted.points < premature.points
    assert premature.points == 0.8 and contradicted.points == 0.6  # weights 1, 2, 1: 0.8 / 4 and 0.8 * 2 / 4
    assert contradicted.deductions[0].gap == "contradicted"


def test_a_wrong_pick_costs_the_same_whether_or_not_something_is_expected() -> None:
    options = ["a", "b", "c"]
    with_expected = score_question(["a", "b"], ["a"], options)
    without = score_question(["b"], [], options[1:])
    assert 1.0 - with_expected.points == pytest.approx(1.0 - without.points)


def test_unanswered_scores_zero_even_when_nothing_is_expected() -> None:
    assert score_unanswered([]).points == 0.0
    assert score_unanswered(["a"]).deductions[0].kind == "unanswered"
    assert not score_unanswered([]).full


def test_a_less_specific_diagnosis_earns_half() -> None:
    options = ["mass", "consistent", "negative", "rearranged"]
    score = score_question(["mass"], ["consistent"], options, partial=["mass"])
    assert score.points == 0.5 and score.partial == ("mass",)
    assert score.deductions[0].kind == "less_specific"
    both = score_question(["mass", "consistent"], ["consistent"], options, partial=["mass"])
    assert both.points == 0.99  # right, plus a less specific one: not exactly right


def test_hints_cost_what_the_case_says() -> None:
    assert score_question(["a"], ["a"], ["a", "b"], hints=2).points == 1.0
    score = score_question(["a"], ["a"], ["a", "b"], hints=2, hint_penalty=0.1)
    assert score.points == 0.8 and score.deductions[-1].kind == "hints"


# --------------------------------------------------------------------- the exact arithmetic, against Fractions
# score_question works in whole numbers over one denominator. The Fraction-based version it replaced
# is kept here, unchanged, as the oracle: every generated answer must score the same, deduction for
# deduction.


def fraction_score_question(
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
    """The Fraction-based scoring as it was before the whole-number rewrite."""
    want = _oracle_unique(expected)
    allowed = tuple(a for a in _oracle_unique(accepted) if a not in want)
    halves = tuple(p for p in _oracle_unique(partial) if p not in want and p not in allowed)
    every = _oracle_unique(picked)
    taken = tuple(p for p in every if p in allowed)
    partial_picks = tuple(p for p in every if p in halves) if want else ()
    picks = tuple(p for p in every if p not in allowed and p not in partial_picks)
    offered = _oracle_unique([*options, *every, *want])
    kinds = gaps or {}
    why = rules or {}
    hits = tuple(p for p in picks if p in want)
    wrong = tuple(p for p in picks if p not in want)
    missed = tuple(w for w in want if w not in picks)

    def weight(option: str) -> int:
        return CONTRADICTED_WEIGHT if kinds.get(option) == "contradicted" else 1

    total_weight = sum(weight(o) for o in offered if o not in want and o not in allowed and o not in partial_picks)
    deductions: list[Deduction] = []
    if not wrong and not missed and not partial_picks:
        credit = Fraction(1)
    elif not picks and not partial_picks:
        credit = Fraction(0)
        deductions.append(scoring.Deduction(NOTHING_PICKED, None, 1.0, None, len(want)))
    else:
        share = Fraction(1, len(want)) if want else Fraction(0)
        stand_ins = list(partial_picks[: len(missed)])
        credit = Fraction(len(hits), len(want)) if want else Fraction(1)
        credit += PARTIAL_CREDIT * share * len(stand_ins)
        for index, m in enumerate(missed):
            if index < len(stand_ins):
                deductions.append(
                    scoring.Deduction(
                        LESS_SPECIFIC, stand_ins[index], _oracle_round(share * PARTIAL_CREDIT), why.get(m)
                    )
                )
            else:
                deductions.append(scoring.Deduction(MISSED, m, _oracle_round(share), why.get(m)))
        for p in partial_picks[len(stand_ins) :]:
            deductions.append(scoring.Deduction(LESS_SPECIFIC, p, 0.0, why.get(p)))
        for w in wrong:
            cost = WRONG_PENALTY * weight(w) / max(total_weight, 1)
            credit -= cost
            deductions.append(scoring.Deduction(WRONG, w, _oracle_round(cost), why.get(w), gap=kinds.get(w)))
    credit = max(credit, Fraction(0))
    if hints and hint_penalty > 0:
        penalty = min(Fraction(str(hint_penalty)) * hints, credit)
        if penalty:
            credit -= penalty
            deductions.append(scoring.Deduction(HINTS, None, _oracle_round(penalty), None, hints))
    points = _oracle_round(credit)
    if deductions and points >= 1.0:
        points = _ALMOST
    return scoring.QuestionScore(points, hits, wrong, missed, tuple(deductions), taken, partial_picks)


def _oracle_unique(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ids))


def _oracle_round(value: Fraction) -> float:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@given(graded(), st.data())
def test_whole_number_scoring_matches_fractions(q, data) -> None:  # type: ignore[no-untyped-def]
    options, expected, picked, accepted, gaps = q
    partial = data.draw(st.lists(st.sampled_from(options), unique=True, max_size=3))
    rules = {o: f"rule-{o}" for o in data.draw(st.lists(st.sampled_from(options), unique=True))}
    hints = data.draw(st.integers(0, 3))
    penalty = data.draw(st.sampled_from([0.0, 0.05, 0.1, 0.25, 1 / 3]))
    extra = data.draw(st.lists(st.sampled_from(["stray1", "stray2"]), unique=True, max_size=2))
    picks = data.draw(st.permutations([*picked, *extra]))
    kwargs = {"accepted": accepted, "partial": partial, "gaps": gaps, "rules": rules}
    kwargs |= {"hints": hints, "hint_penalty": penalty}
    assert score_question(picks, expected, options, **kwargs) == fraction_score_question(
        picks, expected, options, **kwargs
    )


def test_points_round_halves_up() -> None:
    # 3 of 4 expected, and a less specific stand-in for the fourth: 3/4 + 1/8 = 0.875, its deduction 0.125.
    score = score_question(["a", "b", "c", "m"], ["a", "b", "c", "d"], ["a", "b", "c", "d", "m"], partial=["m"])
    assert score.points == 0.88
    assert [(d.kind, d.points) for d in score.deductions] == [("less_specific", 0.13)]


def _decimal_score_case(points: list[float], weights: list[float]) -> CaseScore:
    """score_case as it was, in Decimals (the oracle of the whole-number version)."""
    total = sum((Decimal(str(p)) * Decimal(str(w)) for p, w in zip(points, weights, strict=True)), Decimal(0))
    maximum = sum((Decimal(str(w)) for w in weights), Decimal(0))
    percent = float((total * 100 / maximum).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)) if maximum else 0.0
    return CaseScore(float(total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)), float(maximum), percent)


@given(
    st.lists(
        st.tuples(
            st.one_of(st.integers(0, 100).map(lambda c: c / 100), st.floats(0, 1, allow_nan=False)),
            st.one_of(st.integers(1, 100), st.sampled_from([1.0, 2.0, 0.5, 1.25])),
        ),
        max_size=30,
    )
)
def test_case_totals_match_decimals(items: list[tuple[float, float]]) -> None:
    points = [p for p, _ in items]
    weights = [w for _, w in items]
    scores = [QuestionScore(p, (), (), (), ()) for p in points]
    assert score_case(scores, weights) == _decimal_score_case(points, weights)
    assert score_case(scores) == _decimal_score_case(points, [1.0] * len(points))
