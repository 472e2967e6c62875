"""Tests of the case format (imt_tutor.cases) and the bundled vignettes (answer files: test_answers.py)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imt_tutor.cases import (
    QUESTION_KINDS,
    derived_answer,
    expected_answer,
    facts_at,
    find_case,
    iter_questions,
    load_case,
    load_cases,
    option_label,
    parse_case,
    qualified_id,
    stage_facts,
)
from imt_tutor.engines.builtin import BuiltinEngine
from imt_tutor.errors import DataError, Location
from imt_tutor.files import cases_dir
from imt_tutor.loading import load_yaml_file, load_yaml_text
from imt_tutor.models import Case, Facts, Question, RuleBase, Stage, Vocabulary

DATA = Path(__file__).parent / "data"
BAD_CASES = DATA / "cases"

DOCUMENT_SITES = {"lung", "abdomen", "pelvis", "liver", "bladder", "retroperitoneum"}

# Questions whose right answer is, by design, to pick nothing (marked expect_nothing in the case).
EMPTY_BY_DESIGN = {
    # Imaging shows no mass: no tumour-directed step is due.
    "lung-no-mass-on-imaging/imaging.next-steps",
    "lung-no-mass-on-imaging/mri.next-steps",
}


@pytest.fixture(scope="module")
def cases(bundled_cases: tuple[Case, ...]) -> tuple[Case, ...]:
    return bundled_cases  # the shared fixture of conftest.py, under this module's short name


def errors_of(excinfo: pytest.ExceptionInfo[DataError]) -> list[DataError]:
    return list(getattr(excinfo.value, "errors", [excinfo.value]))


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


MINIMAL = """\
    id: minimal
    title: Minimal
    summary: A fictional minimal case.
    fictional: true
    stages:
      - id: presentation
        narrative: A fictional 30-year-old baker has a cough.
        reveal:
          site: lung
          symptoms: [cough]
        questions:
          - id: next-steps
            kind: next_steps
"""


# --------------------------------------------------------------------- bundled cases


def test_bundled_cases_load(cases: tuple[Case, ...]) -> None:
    assert len(cases) >= 8
    ids = [c.id for c in cases]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    for case in cases:
        assert Path(case.path).name == f"{case.id}.yaml"
        assert case.stages and all(stage.questions for stage in case.stages)


def test_no_gitkeep_left_beside_cases() -> None:
    assert not (cases_dir() / ".gitkeep").exists()


def test_every_rule_fires_somewhere(base: RuleBase, cases: tuple[Case, ...]) -> None:
    engine = BuiltinEngine(base)
    fired: set[str] = set()
    for case in cases:
        for index in range(len(case.stages)):
            fired |= set(engine.infer(facts_at(case, index)).fired)
    unfired = sorted({rule.id for rule in base.rules} - fired)
    assert unfired == [], f"rules no bundled case fires: {unfired}"


def revealed(cases: tuple[Case, ...]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for case in cases:
        for stage in case.stages:
            for key, _ in stage.reveal.items:
                out |= {(key, v) for v in stage.reveal.values_of(key)}
    return out


def test_reveals_cover_the_document(cases: tuple[Case, ...]) -> None:
    seen = revealed(cases)
    assert {site for key, site in seen if key == "site"} >= DOCUMENT_SITES
    required = {
        ("presentation", "incidental"),
        ("imaging_finding", "no_mass"),
        ("histology", "nondiagnostic"),
        ("histology", "myofibroblastic_spindle_cells_with_inflammatory_infiltrate"),
        ("alk_ihc", "positive"),
        ("alk_ihc", "negative"),
        ("ros1", "rearranged"),
        ("ros1", "not_rearranged"),
        ("pdgfrb", "rearranged"),
        ("pdgfrb", "not_rearranged"),
        ("resectability", "resectable"),
        ("resectability", "unresectable"),
        ("excision", "complete"),
        ("excision", "incomplete"),
        ("recurrence", "present"),
        ("local_invasion", "present"),
        ("metastasis", "present"),
    }
    assert required - seen == set()


def test_metastasis_makes_the_student_reconsider(base: RuleBase, cases: tuple[Case, ...]) -> None:
    engine = BuiltinEngine(base)
    for case in cases:
        for index, stage in enumerate(case.stages):
            if stage.reveal.get("metastasis") == "present":
                inference = engine.infer(facts_at(case, index))
                assert "reconsider_diagnosis" in dict(inference.suggestions())
                return
    pytest.fail("no bundled case reveals a metastasis")


def test_every_stage_asks_for_next_steps(cases: tuple[Case, ...]) -> None:
    for case in cases:
        for stage in case.stages:
            assert any(q.kind == "next_steps" for q in stage.questions), f"{case.id}/{stage.id}"


def test_expected_answers_are_meaningful(base: RuleBase, cases: tuple[Case, ...]) -> None:
    engine = BuiltinEngine(base)
    empty: set[str] = set()
    for case in cases:
        for index, stage, question in iter_questions(case):
            inference = engine.infer(facts_at(case, index))
            answer = expected_answer(question, inference, base.vocabulary)
            assert set(answer) <= set(question.options)
            if not answer:
                empty.add(f"{case.id}/{qualified_id(stage, question)}")
                assert question.expect_nothing and question.expect_nothing_reason
            else:
                assert not question.expect_nothing
    assert empty == EMPTY_BY_DESIGN


def test_no_override_disagrees_with_the_engine(base: RuleBase, cases: tuple[Case, ...]) -> None:
    engine = BuiltinEngine(base)
    for case in cases:
        for index, stage, question in iter_questions(case):
            if question.answer is not None:
                inference = engine.infer(facts_at(case, index))
                derived = derived_answer(question, inference, base.vocabulary)
                assert question.answer == derived, f"{case.id}/{qualified_id(stage, question)}"


def test_cases_read_as_fiction(cases: tuple[Case, ...]) -> None:
    date = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")
    for case in cases:
        assert "fictional" in case.summary.lower() or "fictional" in case.stages[0].narrative.lower()
        for stage in case.stages:
            assert stage.narrative and not date.search(stage.narrative)


# --------------------------------------------------------------------- bad case files


@pytest.mark.parametrize(
    ("name", "line", "column", "words"),
    [
        ("missing_fictional.yaml", 1, 1, ["case 'missing-fictional'", "cases must declare fictional: true"]),
        ("fictional_false.yaml", 4, 12, ["case 'fictional-false'", "cases must declare fictional: true"]),
        ("patient_name.yaml", 8, 5, ["case 'patient-name'", "'Patient-Name'", "patient identifier"]),
        (
            "dob_in_narrative.yaml",
            7,
            16,
            ["case 'dob-in-narrative'", "'1990-04-12'", "use ages and durations, not dates"],
        ),
        ("unknown_fact_value.yaml", 9, 13, ["unknown value 'lungs' for 'site'", "did you mean 'lung'"]),
        ("duplicate_stage_id.yaml", 13, 5, ["duplicate stage id 'presentation'", "first defined at line 6"]),
        ("unknown_question_kind.yaml", 12, 15, ["unknown question kind 'next_step'", "did you mean 'next_steps'"]),
        ("override_without_reason.yaml", 14, 9, ["'answer' needs an 'answer_reason'"]),
        ("unknown_step_option.yaml", 14, 44, ["unknown next step 'biopsyy'", "did you mean 'biopsy'"]),
    ],
)
def test_bad_case_files(vocab: Vocabulary, name: str, line: int, column: int, words: list[str]) -> None:
    path = BAD_CASES / name
    with pytest.raises(DataError) as excinfo:
        load_case(path, vocab)
    errors = errors_of(excinfo)
    assert len(errors) == 1, [str(e) for e in errors]
    error = errors[0]
    assert error.location == Location(str(path), line, column)
    assert str(error).startswith(f"{path}:{line}:{column}: ")
    for word in words:
        assert word in error.message


def test_display_path_is_used(vocab: Vocabulary) -> None:
    with pytest.raises(DataError) as excinfo:
        load_case(BAD_CASES / "fictional_false.yaml", vocab, display_path="shown.yaml")
    assert str(excinfo.value).startswith("shown.yaml:4:12: ")


def test_every_problem_is_collected(tmp_path: Path, vocab: Vocabulary) -> None:
    path = write(
        tmp_path,
        "many.yaml",
        """\
        id: many-problems
        title: ""
        summary: Fictional.
        fictional: yes
        colour: blue
        stages:
          - id: Presentation
            narrative: A fictional baker, seen on 3/4/21.
            reveal:
              sight: lung
              working_diagnosis: consistent_with_imt
              site: [lung, liver]
            questions: []
          - id: imaging
            narrative: A CT scan.
            extra: 1
            questions:
              - id: q1
                kind: conclusion
              - id: q2
                kind: conclusion
                key: site
              - id: q3
                kind: conclusion
                key: differntial
              - id: q4
                kind: next_steps
                key: differential
                answer_reason: because
              - id: q5
                kind: conclusion
                key: working_diagnosis
                options: [consistent_with_imt, alk_negative_imt]
                answer: [mass_under_investigation]
                answer_reason: a reason
              - id: q5
                kind: next_steps
                options: []
              - id: q6
                kind: conclusion
                key: working_diagnosis
                answer: [consistent_with_imt, alk_negative_imt]
                answer_reason: too many
                hint: no
        """,
    )
    with pytest.raises(DataError) as excinfo:
        load_case(path, vocab)
    text = str(excinfo.value)
    expected = [
        ":2:8: case 'many-problems': 'title' of a case must be non-empty text",
        ":4:12: case 'many-problems': cases must declare fictional: true",
        ":5:1: case 'many-problems': unknown key 'colour' in a case",
        ":7:9: case 'many-problems': stage id must be kebab-case",
        ":8:16: case 'many-problems': 'narrative' of a stage contains the date '3/4/21'",
        ":10:14: case 'many-problems': unknown fact 'sight' (did you mean 'site'?)",
        ":11:26: case 'many-problems': 'working_diagnosis' is a conclusion the rules derive",
        ":12:13: case 'many-problems': 'site' takes one value, not a list",
        ":13:16: case 'many-problems': a stage needs 'questions'",
        ":16:5: case 'many-problems': unknown key 'extra' in stage 'imaging'",
        ":18:9: case 'many-problems': question 'imaging.q1' is a conclusion question and needs a 'key'",
        ":22:14: case 'many-problems': 'site' in question 'imaging.q2' is a fact the case reveals",
        ":25:14: case 'many-problems': unknown conclusion key 'differntial' in question 'imaging.q3' "
        "(did you mean 'differential'?)",
        ":28:9: case 'many-problems': 'key' is only for conclusion questions",
        ":29:9: case 'many-problems': 'answer_reason' of question 'imaging.q4' needs an 'answer'",
        ":34:18: case 'many-problems': answer 'mass_under_investigation' of question 'imaging.q5' "
        "is not one of its options",
        ":38:18: case 'many-problems': 'options' of question 'imaging.q5' must list at least one id",
        ":36:9: case 'many-problems': duplicate question id 'q5' in stage 'imaging' (first defined at line 30)",
        ":42:17: case 'many-problems': 'answer' of question 'imaging.q6': the working diagnosis is one value",
        ":44:9: case 'many-problems': unknown key 'hint' in question 'imaging.q6'",
    ]
    lines = text.splitlines()
    for part in expected:
        assert any(part in line for line in lines), f"missing {part!r} in:\n{text}"
    assert len(lines) == len(expected), text


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("name", "name"),
        ("DOB", "DOB"),
        ("date-of-birth", "date-of-birth"),
        ("MRN", "MRN"),
        ("nhs_number", "nhs_number"),
        ("Email", "Email"),
        ("postcode", "postcode"),
    ],
)
def test_identifier_keys_anywhere_are_rejected(tmp_path: Path, vocab: Vocabulary, key: str, shown: str) -> None:
    # Nested inside a question, three levels down.
    path = write(tmp_path, "c.yaml", MINIMAL + f"            {key}: x\n")
    with pytest.raises(DataError) as excinfo:
        load_case(path, vocab)
    errors = errors_of(excinfo)
    assert [e.message for e in errors] == [
        f"case 'minimal': '{shown}' looks like a patient identifier; cases are fictional and must not carry "
        "names, dates of birth, record numbers or contact details"
    ]
    assert errors[0].location == Location(str(path), 14, 9)


def test_identifier_inside_reveal_is_reported_once(tmp_path: Path, vocab: Vocabulary) -> None:
    path = write(tmp_path, "c.yaml", MINIMAL.replace("      site: lung\n", "      site: lung\n          surname: X\n"))
    with pytest.raises(DataError) as excinfo:
        load_case(path, vocab)
    assert [e.location.line for e in errors_of(excinfo) if e.location] == [10]
    assert "patient identifier" in str(excinfo.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a list\n", "expected a mapping at the top level, found a list"),
        ("id: x\nstages: []\n", "'stages' must be a list of at least one stage"),
        ("id: Bad_Id\n", "case id must be kebab-case"),
        ("title: t\n", "a case needs an 'id'"),
    ],
)
def test_malformed_cases(tmp_path: Path, vocab: Vocabulary, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as excinfo:
        load_case(path, vocab)
    assert message in str(excinfo.value)


# --------------------------------------------------------------------- the model of a case


def test_minimal_case_defaults(tmp_path: Path, vocab: Vocabulary) -> None:
    case = load_case(write(tmp_path, "minimal.yaml", MINIMAL), vocab)
    (stage,) = case.stages
    (question,) = stage.questions
    assert case.id == "minimal" and case.title == "Minimal"
    assert stage.reveal == Facts.of({"site": "lung", "symptoms": ("cough",)})
    assert stage.teaching_points == ()
    assert question.kind in QUESTION_KINDS
    assert question.key is None and question.answer is None and question.answer_reason is None
    assert question.options == tuple(s.id for s in vocab.next_steps)
    assert question.prompt
    assert question.location == Location(case.path, 12, 9)
    assert qualified_id(stage, question) == "presentation.next-steps"
    assert list(iter_questions(case)) == [(0, stage, question)]
    assert option_label(vocab, question, "biopsy") == "Biopsy"


def test_conclusion_question_defaults(tmp_path: Path, vocab: Vocabulary) -> None:
    text = MINIMAL + "          - id: wd\n            kind: conclusion\n            key: working_diagnosis\n"
    case = load_case(write(tmp_path, "minimal.yaml", text), vocab)
    question = case.stages[0].questions[1]
    assert question.options == vocab.conclusion("working_diagnosis").value_ids  # type: ignore[union-attr]
    assert question.prompt == "What is the most specific working diagnosis the findings support now? (One answer.)"
    assert option_label(vocab, question, "alk_negative_imt") == "IMT, ALK-negative on staining"


def inference_for(base: RuleBase, **facts: str | tuple[str, ...]):  # type: ignore[no-untyped-def]
    return BuiltinEngine(base).infer(Facts.of(facts))


def test_derived_answers(base: RuleBase) -> None:
    vocab = base.vocabulary
    inference = inference_for(
        base,
        site="lung",
        imaging_finding="mass",
        histology="myofibroblastic_spindle_cells_with_inflammatory_infiltrate",
        alk_ihc="positive",
        resectability="resectable",
    )
    wd = Question("wd", "conclusion", "working_diagnosis", "?", vocab.conclusion("working_diagnosis").value_ids)  # type: ignore[union-attr]
    assert derived_answer(wd, inference, vocab) == ("alk_rearranged_imt",)
    # The most specific value is the answer; without it among the options, there is none.
    narrow = Question("wd", "conclusion", "working_diagnosis", "?", ("mass_under_investigation", "consistent_with_imt"))
    assert derived_answer(narrow, inference, vocab) == ()
    steps = Question("ns", "next_steps", None, "?", ("follow_up_monitoring", "surgical_resection", "biopsy"))
    assert derived_answer(steps, inference, vocab) == ("surgical_resection",)
    site = Question("sf", "conclusion", "site_frequency", "?", ("reported_site", "common_site"))
    assert derived_answer(site, inference, vocab) == ("common_site",)
    differential = Question("d", "conclusion", "differential", "?", ("imt_vs_malignant_tumour",))
    assert derived_answer(differential, inference, vocab) == ()

    invasive = inference_for(
        base,
        histology="myofibroblastic_spindle_cells_with_inflammatory_infiltrate",
        local_invasion="present",
        metastasis="absent",
    )
    behaviour = Question("b", "conclusion", "behaviour", "?", ("locally_invasive", "metastasis_absent_as_expected"))
    assert derived_answer(behaviour, invasive, vocab) == ("locally_invasive", "metastasis_absent_as_expected")


def test_override_wins_and_is_kept_apart(tmp_path: Path, base: RuleBase) -> None:
    text = MINIMAL + textwrap.indent(
        textwrap.dedent(
            """\
            - id: overridden
              kind: next_steps
              options: [cross_sectional_imaging, biopsy]
              answer: []
              answer_reason: In this exercise the scan has already been booked elsewhere.
            """
        ),
        " " * 10,
    )
    case = load_case(write(tmp_path, "minimal.yaml", text), base.vocabulary)
    question = case.stages[0].questions[1]
    inference = BuiltinEngine(base).infer(facts_at(case, 0))
    assert question.answer == ()
    assert question.answer_reason == "In this exercise the scan has already been booked elsewhere."
    assert expected_answer(question, inference, base.vocabulary) == ()
    assert derived_answer(question, inference, base.vocabulary) == ("cross_sectional_imaging",)


# --------------------------------------------------------------------- facts_at

FACT_CHOICES = {
    "site": ["lung", "liver", "bladder"],
    "symptoms": [("cough",), ("pain", "swelling"), ("fever",)],
    "alk_ihc": ["positive", "negative"],
    "excision": ["complete", "incomplete"],
}
reveal_strategy = st.dictionaries(
    st.sampled_from(sorted(FACT_CHOICES)), st.integers(min_value=0, max_value=2), max_size=4
).map(lambda d: Facts.of({k: FACT_CHOICES[k][i % len(FACT_CHOICES[k])] for k, i in d.items()}))


def make_case(reveals: list[Facts]) -> Case:
    question = Question("q", "next_steps", None, "?", ("biopsy",))
    stages = tuple(Stage(f"s{i}", "n", reveal, (question,)) for i, reveal in enumerate(reveals))
    return Case("c", "t", "s", stages, "c.yaml")


@settings(max_examples=200, deadline=None)
@given(st.lists(reveal_strategy, min_size=1, max_size=6), st.data())
def test_facts_at_is_the_cumulative_reveal(reveals: list[Facts], data: st.DataObject) -> None:
    case = make_case(reveals)
    index = data.draw(st.integers(min_value=0, max_value=len(reveals) - 1))
    facts = facts_at(case, index)
    expected: dict[str, object] = {}
    for reveal in reveals[: index + 1]:
        expected.update(reveal.as_dict())
    assert facts.as_dict() == expected
    # Every key shown is the latest reveal of that key up to this stage.
    for key, value in facts.items:
        latest = [r.get(key) for r in reveals[: index + 1] if key in r]
        assert latest[-1] == value
    # Later stages only ever add or replace.
    if index + 1 < len(reveals):
        later = facts_at(case, index + 1)
        assert set(facts.as_dict()) <= set(later.as_dict())
    assert facts_at(case, index - len(reveals)) == facts


def test_facts_at_out_of_range() -> None:
    case = make_case([Facts()])
    with pytest.raises(IndexError):
        facts_at(case, 1)


# --------------------------------------------------------------------- folders and lookup


def test_load_cases_rejects_duplicates_with_both_locations(tmp_path: Path, vocab: Vocabulary) -> None:
    write(tmp_path, "minimal.yaml", MINIMAL)
    write(tmp_path, "other.yaml", MINIMAL)
    with pytest.raises(DataError) as excinfo:
        load_cases(tmp_path, vocab)
    text = str(excinfo.value)
    assert (
        f"{tmp_path / 'other.yaml'}:1:1: case 'minimal': duplicate case id (first defined at "
        f"{tmp_path / 'minimal.yaml'}:1:1)" in text
    )


def test_load_cases_wants_file_named_after_id(tmp_path: Path, vocab: Vocabulary) -> None:
    write(tmp_path, "wrong-name.yaml", MINIMAL)
    with pytest.raises(DataError, match=r"the file should be named 'minimal.yaml'"):
        load_cases(tmp_path, vocab)


def test_load_cases_collects_problems_of_every_file(vocab: Vocabulary) -> None:
    with pytest.raises(DataError) as excinfo:
        load_cases(BAD_CASES, vocab)
    assert len(errors_of(excinfo)) >= len(list(BAD_CASES.glob("*.yaml")))


def test_load_cases_missing_folder(tmp_path: Path, vocab: Vocabulary) -> None:
    with pytest.raises(DataError, match="cases folder not found"):
        load_cases(tmp_path / "nope", vocab)


def test_find_case(vocab: Vocabulary, cases: tuple[Case, ...]) -> None:
    first = cases[0]
    assert find_case(first.id, cases_dir(), vocab) == first
    assert find_case(first.path, cases_dir(), vocab) == first
    with pytest.raises(DataError) as excinfo:
        find_case("lung-cough-alk-positiv", cases_dir(), vocab)
    assert str(excinfo.value) == (
        f"{cases_dir()}: unknown case 'lung-cough-alk-positiv' (did you mean 'lung-cough-alk-positive'?)"
    )
    with pytest.raises(DataError, match="cannot read file"):
        find_case("no/such/case.yaml", cases_dir(), vocab)


# --------------------------------------------------------------------- contradictions, empty and restating questions


def test_contradictory_reveals_are_a_data_error_at_the_stage(tmp_path: Path, vocab: Vocabulary) -> None:
    text = MINIMAL.replace(
        "          symptoms: [cough]\n", "          symptoms: [cough]\n          presentation: incidental\n"
    )
    with pytest.raises(DataError) as info:
        load_case(write(tmp_path, "minimal.yaml", text), vocab)
    assert "contradict each other" in str(info.value)
    assert str(info.value).startswith(f"{tmp_path / 'minimal.yaml'}:6:")


def test_a_contradiction_with_an_earlier_stage_is_reported_once(tmp_path: Path, vocab: Vocabulary) -> None:
    text = MINIMAL + textwrap.indent(
        textwrap.dedent(
            """\
            - id: later
              narrative: A fictional scan.
              reveal: {presentation: incidental}
              questions: [{id: next-steps, kind: next_steps}]
            - id: later-still
              narrative: More.
              reveal: {imaging: [ct]}
              questions: [{id: next-steps, kind: next_steps}]
            """
        ),
        "      ",
    )
    with pytest.raises(DataError) as info:
        load_case(write(tmp_path, "minimal.yaml", text), vocab)
    assert str(info.value).count("contradict each other") == 1
    assert "stage 'later'" in str(info.value)


def _key_problems(base: RuleBase, case: Case) -> str:
    from imt_tutor.cases import check_key

    engine = BuiltinEngine(base)
    inferences = [engine.infer(facts_at(case, i)) for i in range(len(case.stages))]
    try:
        check_key(case, base.vocabulary, inferences)
    except DataError as error:
        return str(error)
    return ""


def test_an_empty_key_is_an_error_unless_marked(tmp_path: Path, base: RuleBase) -> None:
    text = MINIMAL + "          - id: wd\n            kind: conclusion\n            key: working_diagnosis\n"
    case = load_case(write(tmp_path, "minimal.yaml", text), base.vocabulary)
    problems = _key_problems(base, case)
    assert "question 'presentation.wd' expects nothing" in problems
    assert problems.startswith(f"{case.path}:14:")
    marked = (
        text + "            expect_nothing: true\n            expect_nothing_reason: No mass has been imaged yet.\n"
    )
    case = load_case(write(tmp_path, "minimal.yaml", marked), base.vocabulary)
    assert _key_problems(base, case) == ""
    assert case.stages[0].questions[1].expect_nothing_reason == "No mass has been imaged yet."


def test_expect_nothing_needs_a_reason_and_must_be_true(tmp_path: Path, base: RuleBase) -> None:
    text = MINIMAL + "            expect_nothing: true\n"
    with pytest.raises(DataError, match="needs an 'expect_nothing_reason'"):
        load_case(write(tmp_path, "minimal.yaml", text), base.vocabulary)
    wrong = MINIMAL + "            expect_nothing: true\n            expect_nothing_reason: Nothing to do.\n"
    case = load_case(write(tmp_path, "minimal.yaml", wrong), base.vocabulary)
    assert "marked 'expect_nothing' but the rules expect: Cross-sectional imaging" in _key_problems(base, case)


def test_a_question_that_restates_the_reveal_is_an_error(tmp_path: Path, base: RuleBase) -> None:
    imt = "myofibroblastic_spindle_cells_with_inflammatory_infiltrate"
    text = (
        MINIMAL.replace(
            "          symptoms: [cough]\n",
            f"          symptoms: [cough]\n          imaging: [ct]\n          imaging_finding: mass\n"
            f"          histology: {imt}\n          alk_ihc: positive\n          resectability: unresectable\n",
        )
        + "          - id: situation\n            kind: conclusion\n            key: treatment_context\n"
    )
    case = load_case(write(tmp_path, "minimal.yaml", text), base.vocabulary)
    problems = _key_problems(base, case)
    assert "only restates what this stage reveals (Resectability -> Surgery not feasible)" in problems


def test_every_bundled_case_has_a_teaser_that_gives_nothing_away(cases: tuple[Case, ...]) -> None:
    for case in cases:
        assert case.teaser, case.id
        assert "fictional" in case.teaser.lower(), case.id
        for spoiler in ("ALK", "excised", "removed", "recur", "metasta", "unresectable", "IMT"):
            assert spoiler.lower() not in case.teaser.lower(), (case.id, spoiler)


def test_hint_penalty_is_a_number_from_0_to_1(tmp_path: Path, vocab: Vocabulary) -> None:
    case = load_case(write(tmp_path, "minimal.yaml", MINIMAL + "    hint_penalty: 0.1\n"), vocab)
    assert case.hint_penalty == 0.1
    with pytest.raises(DataError, match="'hint_penalty' must be a number from 0 to 1"):
        load_case(write(tmp_path, "minimal.yaml", MINIMAL + "    hint_penalty: 2\n"), vocab)


def test_a_question_weight_is_a_whole_number_of_points(tmp_path: Path, vocab: Vocabulary) -> None:
    assert load_case(write(tmp_path, "minimal.yaml", MINIMAL), vocab).stages[0].questions[0].weight == 1
    case = load_case(write(tmp_path, "minimal.yaml", MINIMAL + "            weight: 3\n"), vocab)
    assert case.stages[0].questions[0].weight == 3


@pytest.mark.parametrize("bad", ["0", "101", "1.5", "two", "true", "[2]", "-1"])
def test_a_bad_question_weight_is_reported_where_it_is(tmp_path: Path, vocab: Vocabulary, bad: str) -> None:
    path = write(tmp_path, "minimal.yaml", MINIMAL + f"            weight: {bad}\n")
    with pytest.raises(DataError) as caught:
        load_case(path, vocab)
    found = [e for e in errors_of(caught) if "'weight' of question 'presentation.next-steps'" in e.message]
    assert len(found) == 1 and "from 1 to 100" in found[0].message
    assert (found[0].location.line, found[0].location.column) == (14, 17)  # at the value


# --------------------------------------------------------------------- IDs and dates (hardening)


def test_an_id_with_a_trailing_newline_is_not_kebab_case(tmp_path: Path, vocab: Vocabulary) -> None:
    path = write(tmp_path, "minimal.yaml", MINIMAL.replace("id: minimal", 'id: "minimal\\n"', 1))
    with pytest.raises(DataError) as caught:
        load_case(path, vocab)
    assert any("case id must be kebab-case" in e.message for e in errors_of(caught))


@pytest.mark.parametrize(
    "date",
    ["03-02-2001", "2001/02/03", "3 February 2001", "March 3, 2001", "3rd Feb 2001", "12 March 2024", "March 12, 2024"],
)
def test_dates_in_case_text_are_rejected_and_called_dates(tmp_path: Path, vocab: Vocabulary, date: str) -> None:
    text = MINIMAL.replace("has a cough.", f"has had a cough since {date}.")
    path = write(tmp_path, "minimal.yaml", text)
    with pytest.raises(DataError) as caught:
        load_case(path, vocab)
    (error,) = errors_of(caught)
    assert f"contains the date '{date}'" in error.message
    assert "date of birth" not in error.message
    assert error.location is not None and error.location.line == 7


@pytest.mark.parametrize("words", ["for 3 years", "in 2001", "aged 34", "3-4 cm across", "twice in 12 months"])
def test_ages_durations_and_years_alone_stay_allowed(tmp_path: Path, vocab: Vocabulary, words: str) -> None:
    path = write(tmp_path, "minimal.yaml", MINIMAL.replace("has a cough.", f"has had a cough {words}."))
    assert load_case(path, vocab).id == "minimal"


@pytest.mark.parametrize("name", ["patient John Smith", "Mrs Jones"])
def test_a_title_and_a_capitalised_name_is_a_warning_with_its_position(
    tmp_path: Path, vocab: Vocabulary, name: str
) -> None:
    text = MINIMAL.replace("A fictional 30-year-old baker has a cough.", f"The baker, {name}, has a cough.")
    path = write(tmp_path, "minimal.yaml", text)
    warnings: list[DataError] = []
    case = parse_case(load_yaml_file(path), vocab, str(path), warnings)
    assert case.id == "minimal"
    (warning,) = warnings
    assert warning.level == "warning"
    assert f"'{name}'" in warning.message and "patient's name" in warning.message
    assert warning.location == Location(str(path), 7, 16 + len("The baker, "))


def test_stage_facts_are_computed_once_per_case() -> None:
    reveals = [Facts.of({"site": "lung"}), Facts(), Facts.of({"alk_ihc": "positive"}), Facts()] * 1000
    case = make_case(reveals)
    facts = stage_facts(case)
    assert stage_facts(case) is facts  # one pass, remembered for this case
    assert len(facts) == 4000 and facts[-1] == Facts.of({"site": "lung", "alk_ihc": "positive"})
    assert facts[1] == facts[0] == Facts.of({"site": "lung"}) and facts_at(case, 3999) is facts[-1]
    assert stage_facts(make_case(reveals)) == facts  # an equal case: the same facts


def test_a_case_of_thousands_of_stages_reports_every_problem_in_order(vocab: Vocabulary) -> None:
    lines = ["id: long-case", "title: T", 'summary: "Fictional: long."', "fictional: true", "stages:"]
    for i in range(3000):
        extra = ", phone: x" if i % 1000 == 999 else ""
        lines.append(
            f"  - {{id: s{i}, narrative: N., reveal: {{site: lung{extra}}}, questions: [{{id: q, kind: next_step}}]}}"
        )
    with pytest.raises(DataError) as excinfo:
        parse_case(load_yaml_text("\n".join(lines) + "\n", "long.yaml"), vocab, "long.yaml")
    errors = errors_of(excinfo)
    identifiers = [e for e in errors if "patient identifier" in e.message]
    assert [e.location.line for e in identifiers if e.location] == [1005, 2005, 3005]
    kinds = [e for e in errors if "unknown question kind" in e.message]
    assert len(kinds) == 3000 and [e.location.line for e in kinds if e.location] == list(range(6, 3006))
    assert "(did you mean 'next_steps'?)" in kinds[0].message and "did you mean" not in kinds[-1].message
