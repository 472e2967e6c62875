"""The feedback model as data: verdicts, gap kinds, grading from the key alone, JSON round trip."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imt_tutor.feedback import (
    ACCEPTED,
    EXPECTED,
    NOT_EXPECTED,
    CaseKey,
    build_key,
    grade,
    grade_case,
    key_from_json,
    key_to_json,
)
from imt_tutor.models import Case


@pytest.fixture(scope="module")
def keys(base, bundled_cases) -> dict[str, CaseKey]:  # type: ignore[no-untyped-def]
    from imt_tutor.engines.builtin import BuiltinEngine

    engine = BuiltinEngine(base)
    return {case.id: build_key(base, engine, case) for case in bundled_cases}


def test_every_option_has_a_how_chain_or_gaps(keys: dict[str, CaseKey]) -> None:
    for key in keys.values():
        for question in key.questions:
            assert {o.option for o in question.options if o.verdict == EXPECTED} == set(question.expected)
            assert {o.option for o in question.options if o.verdict == ACCEPTED} == set(question.accepted)
            for option in question.options:
                if option.verdict in (EXPECTED, ACCEPTED):
                    assert option.how and option.because, (question.qid, option.option)
                    assert option.kind is None
                else:
                    assert option.verdict == NOT_EXPECTED
                    assert option.kind is not None
                    assert option.gaps or option.kind in ("unsupported", "less_specific")


def test_gap_kinds_of_a_known_case(keys: dict[str, CaseKey]) -> None:
    key = keys["lung-cough-alk-positive"]
    first = key.question("presentation.next-steps")
    assert first.option("biopsy").kind == "not_yet_known"
    assert first.option("surgical_resection").kind == "not_yet_known"
    imaging = key.question("imaging.next-steps")
    assert imaging.option("cross_sectional_imaging").kind == "already_done"
    negative = keys["lung-breathless-alk-negative-unresectable"]
    contradicted = [
        q.qid
        for q in negative.questions
        if "alk_inhibitor" in q.option_ids and q.option("alk_inhibitor").kind == "contradicted"
    ]
    assert contradicted, "the ALK inhibitor is ruled out for an ALK-negative tumour"


def test_a_less_specific_working_diagnosis_is_marked(keys: dict[str, CaseKey]) -> None:
    key = keys["lung-cough-alk-positive"]
    question = key.question("biopsy.working-diagnosis")
    assert question.expected == ("consistent_with_imt",)
    assert question.option("mass_under_investigation").kind == "less_specific"


def test_accepted_steps_are_in_the_key(keys: dict[str, CaseKey]) -> None:
    accepted = [(k.case_id, q.qid) for k in keys.values() for q in k.questions if q.accepted]
    assert accepted, "some bundled case accepts re-resection of a recurrence"
    for case_id, qid in accepted:
        question = keys[case_id].question(qid)
        assert grade(question, [*question.expected, *question.accepted]).score.points == 1.0


def test_the_key_round_trips_through_json(keys: dict[str, CaseKey]) -> None:
    for key in keys.values():
        assert key_from_json(json.loads(json.dumps(key_to_json(key)))) == key


def test_the_key_is_the_same_on_both_engines(base, durable, bundled_cases: tuple[Case, ...], keys) -> None:  # type: ignore[no-untyped-def]
    for case in bundled_cases:
        other = build_key(base, durable, case)
        assert key_to_json(other) | {"engine": "x"} == key_to_json(keys[case.id]) | {"engine": "x"}


def test_the_key_scores_full_marks(keys: dict[str, CaseKey]) -> None:
    for key in keys.values():
        graded = grade_case(key, {q.qid: q.expected for q in key.questions})
        assert graded.points == len(key.questions)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_grading_from_the_key_equals_the_runner(base, builtin, bundled_cases, keys, data) -> None:  # type: ignore[no-untyped-def]
    from imt_tutor.runner import CaseRun

    case = data.draw(st.sampled_from(bundled_cases))
    key = keys[case.id]
    question = data.draw(st.sampled_from(key.questions))
    picks = data.draw(st.lists(st.sampled_from(question.option_ids), unique=True))
    run = CaseRun(base, builtin, case)
    assert run.answer(question.qid, picks).score == grade(question, picks).score
