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
        assert graded.points == graded.total.max_points == sum(q.weight for q in key.questions)
    assert any(q.weight > 1 for key in keys.values() for q in key.questions)  # a bundled case weighs a question


def test_a_question_weight_counts_in_the_total(keys: dict[str, CaseKey]) -> None:
    key = keys["liver-unresectable-alk-positive"]
    heavy = key.question("biopsy-and-stain.working-diagnosis")
    assert heavy.weight == 2
    right = {q.qid: q.expected for q in key.questions}
    total = grade_case(key, right).total
    missed = grade_case(key, {**right, heavy.qid: ()}).total  # picking nothing scores 0 on that question
    assert (total.points, total.max_points) == (len(key.questions) + 1, len(key.questions) + 1)
    assert total.points - missed.points == 2
    assert key_from_json(json.loads(json.dumps(key_to_json(key)))).weights == key.weights


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


# --------------------------------------------------------------------- a long case: one engine run per set of facts

IMT = "myofibroblastic_spindle_cells_with_inflammatory_infiltrate"


def long_case_text(stages: int) -> str:
    """A case of ``stages`` stages: a lung mass, a biopsy half-way, a next-steps question per stage."""
    lines = [
        "id: long-case",
        "title: A long story",
        'summary: "Fictional: a generated case with many stages."',
        "fictional: true",
        "stages:",
    ]
    for i in range(stages):
        reveal = ""
        if i == 0:
            reveal = "reveal: {site: lung, symptoms: [cough], imaging: [ct], imaging_finding: mass}, "
        elif i == stages // 2:
            reveal = f"reveal: {{histology: {IMT}}}, "
        lines.append(f"  - {{id: s{i}, narrative: Part {i}., {reveal}questions: [{{id: q, kind: next_steps}}]}}")
    return "\n".join(lines) + "\n"


class CountingEngine:
    """An engine that counts its runs."""

    def __init__(self, engine: object) -> None:
        self.engine = engine
        self.name = getattr(engine, "name", "?")
        self.runs = 0

    def infer(self, facts):  # type: ignore[no-untyped-def]
        self.runs += 1
        return self.engine.infer(facts)  # type: ignore[attr-defined]


def test_a_five_thousand_stage_case_gets_a_whole_key_from_two_engine_runs(base, builtin):  # type: ignore[no-untyped-def]
    from imt_tutor.cases import parse_case, stage_facts
    from imt_tutor.loading import load_yaml_text

    case = parse_case(load_yaml_text(long_case_text(5000), "long-case.yaml"), base.vocabulary, "long-case.yaml")
    engine = CountingEngine(builtin)
    key = build_key(base, engine, case)
    assert engine.runs == 2  # the facts change twice (the first stage, the biopsy), so the engine runs twice
    assert len(key.stages) == len(key.questions) == 5000
    assert [q.qid for q in key.questions[:2]] == ["s0.q", "s1.q"] and key.questions[-1].number == 5000
    assert key.question("s4999.q") is key.questions[-1]
    assert {q.expected for q in key.questions[:2500]} == {("biopsy",)}
    assert key.questions[2500].expected != ("biopsy",)
    assert len({q.expected for q in key.questions[2500:]}) == 1
    # Each question as in a four-stage case with the same reveals (a stage, one more, the biopsy, one more).
    short = parse_case(load_yaml_text(long_case_text(4), "short.yaml"), base.vocabulary, "short.yaml")
    assert [f for f in stage_facts(short)] == [stage_facts(case)[i] for i in (0, 1, 2500, 4999)]
    small = build_key(base, builtin, short)
    for index, same in zip((0, 1, 2500, 4999), small.questions, strict=True):
        long = key.questions[index]
        assert (long.options, long.expected, long.accepted, long.because) == (
            same.options,
            same.expected,
            same.accepted,
            same.because,
        )
