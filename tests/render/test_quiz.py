"""The Moodle XML and QTI 1.2 quizzes, parsed back and checked field by field
(the QTI XSD carries the IMS licence and is not bundled: the structure Canvas
needs is checked explicitly)."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from imt_tutor import DISCLAIMER
from imt_tutor.cases import load_case
from imt_tutor.engines.builtin import BuiltinEngine
from imt_tutor.errors import DataError
from imt_tutor.feedback import ACCEPTED, EXPECTED, CaseKey, OptionKey, build_key
from imt_tutor.models import Case, RuleBase, Vocabulary
from imt_tutor.render import quiz
from imt_tutor.render.quiz import (
    CANVAS_NS,
    IMSCP_NS,
    MOODLE_PERCENTS,
    NONE_OF_THESE,
    QTI_NS,
    QuizOption,
    QuizQuestion,
    assessment_ident,
    canvas_score,
    check_moodle,
    expected_split,
    moodle_score,
    moodle_xml,
    project_score,
    qti_files,
    qti_package,
    quiz_questions,
    score_gaps,
)

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "tests" / "data" / "quiz" / "hostile-quiz-case.yaml"
README = (ROOT / "README.md").read_text(encoding="utf-8")
ALLOWED = {*MOODLE_PERCENTS, *(f"-{p}" for p in MOODLE_PERCENTS if p != "0")}
TABLE_CASE = "lung-cough-alk-positive"
Q = f"{{{QTI_NS}}}"
M = f"{{{IMSCP_NS}}}"
C = f"{{{CANVAS_NS}}}"


# --------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def keys(base: RuleBase, builtin: BuiltinEngine, bundled_cases: tuple[Case, ...]) -> list[CaseKey]:
    return [build_key(base, builtin, case) for case in bundled_cases]


@pytest.fixture(scope="module")
def hostile(base: RuleBase, builtin: BuiltinEngine) -> CaseKey:
    return build_key(base, builtin, load_case(HOSTILE, base.vocabulary))


@pytest.fixture(scope="module")
def moodle_root(vocab: Vocabulary, keys: list[CaseKey]) -> ET.Element:
    return ET.fromstring(moodle_xml(vocab, keys))


@pytest.fixture(scope="module")
def package(vocab: Vocabulary, keys: list[CaseKey]) -> bytes:
    return qti_package(vocab, keys)


def moodle_questions(root: ET.Element) -> dict[str, tuple[str, ET.Element]]:
    """idnumber -> (the category it is in, the question element)."""
    out: dict[str, tuple[str, ET.Element]] = {}
    category = ""
    for question in root.findall("question"):
        if question.get("type") == "category":
            category = question.findtext("category/text") or ""
            continue
        idnumber = question.findtext("idnumber") or ""
        assert idnumber not in out, idnumber
        out[idnumber] = (category, question)
    return out


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        assert not any(name.startswith("on") for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def html_parts(fragment: str) -> tuple[set[str], str]:
    """The tags of an HTML fragment and its text (entities decoded)."""
    parser = _Html()
    parser.feed(fragment)
    parser.close()
    return set(parser.tags), "".join(parser.text)


SAFE_TAGS = {"p", "strong", "em", "ul", "li"}


# --------------------------------------------------------------------- the plan


def test_expected_split_always_adds_up_to_100() -> None:
    for count in range(1, 21):
        split = expected_split(count)
        assert len(split) == count
        assert set(split) <= ALLOWED
        assert abs(sum(Decimal(s) for s in split) - 100) <= Decimal("0.0001")
    assert expected_split(3) == ("33.33333",) * 3
    assert expected_split(7) == ("14.28571",) * 7
    assert expected_split(11) == ("10",) * 9 + ("5",) * 2
    assert expected_split(21) == ()


def test_every_question_maps_onto_moodles_rules(vocab: Vocabulary, keys: list[CaseKey]) -> None:
    for key in keys:
        for q, question in zip(quiz_questions(vocab, key), key.questions, strict=True):
            assert check_moodle(q) == [], q.idnumber
            by_option = {o.option: o for o in q.options}
            for entry in question.options:
                answer = by_option[entry.option]
                if entry.verdict == EXPECTED:
                    assert answer.percent > 0
                elif entry.verdict == ACCEPTED:
                    assert answer.fraction == "0"
                elif not q.single:
                    assert answer.percent < 0  # a wrong pick always costs something
            if not q.single:
                expected = [by_option[e].percent for e in question.expected]
                if expected:
                    assert abs(sum(expected) - 100) <= Decimal("0.0001"), q.idnumber
            extra = [o for o in q.options if o.option is None]
            if not question.expected and not q.single:
                assert [o.fraction for o in extra] == ["100"]
            elif len(question.options) == 1:
                assert len(extra) == 1
            else:
                assert extra == []


def test_the_working_diagnosis_is_single_choice_with_half_credit(vocab: Vocabulary, keys: list[CaseKey]) -> None:
    key = next(k for k in keys if k.case_id == TABLE_CASE)
    q = next(q for q in quiz_questions(vocab, key) if q.qid == "biopsy.working-diagnosis")
    assert q.single
    fractions = {o.option: o.fraction for o in q.options}
    assert fractions == {
        "mass_under_investigation": "50",  # true but less specific: half, as imt-tutor grade gives
        "consistent_with_imt": "100",
        "alk_negative_imt": "0",
        "alk_rearranged_imt": "0",
    }


def test_wrong_options_take_the_nearest_allowed_penalty(vocab: Vocabulary, keys: list[CaseKey]) -> None:
    key = next(k for k in keys if k.case_id == TABLE_CASE)
    questions = {q.qid: q for q in quiz_questions(vocab, key)}
    # 9 premature options: 0.8/9 = 8.89 % -> 10 %
    first = questions["presentation.next-steps"].options
    assert {o.fraction for o in first if o.option != "cross_sectional_imaging"} == {"-10"}
    # 4 premature (w=1) and 1 contradicted (w=2), W=6: 13.33 % -> 12.5 %, 26.67 % -> 25 %
    surgery = {o.option: o.fraction for o in questions["surgery.next-steps"].options}
    assert surgery["reconsider_diagnosis"] == "-25" and surgery["nsaids"] == "-12.5"


def test_idents_are_made_safe_without_collisions() -> None:
    assert assessment_ident("lung-cough-alk-positive") == "lung-cough-alk-positive"
    odd = [assessment_ident(i) for i in ("1 odd.id", "1 odd_id", "<é>")]
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", i) for i in odd)
    assert len(set(odd)) == 3


def test_check_moodle_names_each_broken_rule() -> None:
    def option(fraction: str) -> QuizOption:
        return QuizOption("x", "X", EXPECTED, fraction, True, "<p>f</p>")

    def question(single: bool, *fractions: str, qid: str = "s.q") -> QuizQuestion:
        return QuizQuestion("case", qid, 1, 0, single, "n", "<p>t</p>", tuple(option(f) for f in fractions), "")

    assert check_moodle(question(False, "50", "50", "-10")) == []
    assert any("add up to 90%" in p for p in check_moodle(question(False, "50", "40")))
    assert any("exactly one answer at 100%" in p for p in check_moodle(question(True, "100", "100")))
    assert any("exactly one answer at 100%" in p for p in check_moodle(question(True, "50", "0")))
    assert any("not on Moodle's list" in p for p in check_moodle(question(False, "100", "-7")))
    assert any("fewer than two answers" in p for p in check_moodle(question(False, "100")))
    assert any("longer than 100" in p for p in check_moodle(question(False, "100", "0", qid="s." + "q" * 100)))


def test_an_export_that_moodle_would_break_fails_clearly(vocab: Vocabulary, keys: list[CaseKey]) -> None:
    key = next(k for k in keys if k.case_id == TABLE_CASE)
    first = key.questions[0]
    many = tuple(OptionKey(f"step_{n}", f"Step {n}", EXPECTED) for n in range(21))
    broken = replace(first, options=many, expected=tuple(o.option for o in many))
    bad_key = replace(key, questions=(broken, *key.questions[1:]))
    with pytest.raises(DataError, match=r"presentation\.next-steps.*add up to 0%, not 100%"):
        moodle_xml(vocab, [bad_key])
    with pytest.raises(DataError, match="cannot be a Moodle question"):
        qti_files(vocab, [bad_key])


# --------------------------------------------------------------------- Moodle XML, parsed back


def test_moodle_has_every_question_of_every_case(moodle_root: ET.Element, keys: list[CaseKey]) -> None:
    assert moodle_root.tag == "quiz"
    found = moodle_questions(moodle_root)
    wanted = {f"{k.case_id}/{q.qid}": k for k in keys for q in k.questions}
    assert set(found) == set(wanted)
    for idnumber, (category, element) in found.items():
        key = wanted[idnumber]
        question = key.question(idnumber.split("/", 1)[1])
        assert category == f"$course$/top/imt-tutor/{key.case_id}"
        assert element.get("type") == "multichoice"
        assert len(idnumber) <= 100
        assert element.findtext("shuffleanswers") == "0"
        assert element.findtext("answernumbering") == "none"
        assert element.findtext("defaultgrade") == str(question.weight)  # the case file's weight, default 1
        single = element.findtext("single")
        assert single in ("true", "false")
        answers = element.findall("answer")
        assert len(answers) >= 2
        labels = [html_parts(a.findtext("text") or "")[1] for a in answers]
        assert labels[: len(question.options)] == [o.label for o in question.options]
        assert labels[len(question.options) :] in ([], [NONE_OF_THESE])
        fractions = [a.get("fraction") or "" for a in answers]
        assert set(fractions) <= ALLOWED, idnumber
        if single == "true":
            assert fractions.count("100") == 1
        else:
            positive = sum(Decimal(f) for f in fractions if Decimal(f) > 0)
            assert (positive / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) == 1
            expected = [Decimal(fractions[question.option_ids.index(e)]) for e in question.expected]
            assert not expected or abs(sum(expected) - 100) <= Decimal("0.0001")
        for answer in answers:
            feedback = answer.findtext("feedback/text") or ""
            tags, text = html_parts(feedback)
            assert text.strip() and tags <= SAFE_TAGS
        tags, text = html_parts(element.findtext("questiontext/text") or "")
        assert DISCLAIMER in text and question.prompt in text
        assert key.stages[question.stage_index].narrative.split()[0] in text


def test_moodle_feedback_uses_the_projects_words(moodle_root: ET.Element, keys: list[CaseKey]) -> None:
    found = moodle_questions(moodle_root)
    for key in keys:
        for question in key.questions:
            _, element = found[f"{key.case_id}/{question.qid}"]
            answers = element.findall("answer")
            stage = key.stages[question.stage_index]
            for entry, answer in zip(question.options, answers, strict=False):
                _, text = html_parts(answer.findtext("feedback/text") or "")
                if entry.verdict == EXPECTED:
                    assert text.startswith("Expected - how the rules get there:")
                    for firing in entry.how:
                        assert f"[{firing.source}]" in text  # HOW, with the section it cites
                elif entry.verdict == ACCEPTED:
                    assert text.startswith("Also acceptable - neither required nor penalised")
                else:
                    assert text.startswith("Not expected - ")
                    for gap in entry.gaps:
                        assert f"{gap.rule} [{gap.source}]" in text  # WHY-NOT, cited
            for tag in ("correctfeedback", "partiallycorrectfeedback", "incorrectfeedback"):
                _, text = html_parts(element.findtext(f"{tag}/text") or "")
                for point in stage.teaching_points:
                    assert " ".join(point.split()) in text


def test_moodle_feedback_does_not_give_away_later_questions(vocab: Vocabulary, keys: list[CaseKey]) -> None:
    key = next(k for k in keys if k.case_id == TABLE_CASE)
    first = quiz_questions(vocab, key)[0]  # its HOW chain passes through the next question's answer
    _, text = html_parts(first.options[0].feedback)
    assert "(you are asked about it later)" in text
    assert "Lung symptoms" not in text and vocab.label("symptom_pattern", "lung_symptoms") not in text


def test_a_question_that_expects_nothing_offers_none_of_these(moodle_root: ET.Element) -> None:
    _, element = moodle_questions(moodle_root)["lung-no-mass-on-imaging/imaging.next-steps"]
    answers = element.findall("answer")
    last = answers[-1]
    assert html_parts(last.findtext("text") or "")[1] == NONE_OF_THESE
    assert last.get("fraction") == "100"
    assert "nothing applies here" in html_parts(last.findtext("feedback/text") or "")[1]
    assert all(Decimal(a.get("fraction") or "") < 0 for a in answers[:-1])


def test_a_yes_no_question_becomes_single_choice_with_none_of_these(moodle_root: ET.Element) -> None:
    _, element = moodle_questions(moodle_root)[f"{TABLE_CASE}/imaging.differential"]
    assert element.findtext("single") == "true"
    assert [a.get("fraction") for a in element.findall("answer")] == ["100", "0"]


def test_moodle_export_is_byte_identical_twice(vocab: Vocabulary, keys: list[CaseKey]) -> None:
    assert moodle_xml(vocab, keys) == moodle_xml(vocab, list(keys))


# --------------------------------------------------------------------- the QTI package, parsed back


def test_the_package_holds_a_manifest_and_what_it_lists(package: bytes, keys: list[CaseKey]) -> None:
    archive = zipfile.ZipFile(io.BytesIO(package))
    names = archive.namelist()
    assert names == sorted(names)
    assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
    assert "imsmanifest.xml" in names
    manifest_text = archive.read("imsmanifest.xml").decode("utf-8")
    assert "imsqti_v2" not in manifest_text and "imsqti_item" not in manifest_text
    manifest = ET.fromstring(manifest_text)
    assert manifest.tag == f"{M}manifest"
    resources = {r.get("identifier"): r for r in manifest.iter(f"{M}resource")}
    listed = {f.get("href") for r in resources.values() for f in r.iter(f"{M}file")}
    assert listed | {"imsmanifest.xml"} == set(names)  # every file listed, nothing else shipped
    assert all(n.endswith(".xml") for n in names)
    assessments = [r for r in resources.values() if r.get("type") == "imsqti_xmlv1p2"]
    assert len(assessments) == len(keys)
    for key, resource in zip(keys, assessments, strict=True):
        ident = assessment_ident(key.case_id)
        assert resource.get("identifier") == ident
        assert [f.get("href") for f in resource.iter(f"{M}file")] == [f"{ident}/{ident}.xml"]
        (dependency,) = resource.iter(f"{M}dependency")
        meta_resource = resources[dependency.get("identifierref")]
        assert [f.get("href") for f in meta_resource.iter(f"{M}file")] == [f"{ident}/assessment_meta.xml"]
        meta = ET.fromstring(archive.read(f"{ident}/assessment_meta.xml"))
        assert meta.tag == f"{C}quiz" and meta.get("identifier") == ident
        assert meta.findtext(f"{C}title") == key.title
        assert meta.findtext(f"{C}quiz_type") == "assignment"
        assert meta.findtext(f"{C}shuffle_answers") == "false"
        assert float(meta.findtext(f"{C}points_possible") or "") == sum(q.weight for q in key.questions)


def _items(package: bytes) -> dict[str, list[ET.Element]]:
    archive = zipfile.ZipFile(io.BytesIO(package))
    out = {}
    for name in archive.namelist():
        if name.endswith(".xml") and name.split("/")[-1] not in ("imsmanifest.xml", "assessment_meta.xml"):
            root = ET.fromstring(archive.read(name))
            assert root.tag == f"{Q}questestinterop"
            (assessment,) = root.iter(f"{Q}assessment")
            out[assessment.get("ident") or ""] = list(root.iter(f"{Q}item"))
    return out


FORBIDDEN_FEEDBACK = re.compile(r"correct|incorrect|wrong|general_|_all|(_c|_ic)$")


def test_every_item_has_the_structure_canvas_needs(package: bytes, keys: list[CaseKey], vocab: Vocabulary) -> None:
    items = _items(package)
    idents: set[str] = set()
    for key in keys:
        found = items[assessment_ident(key.case_id)]
        assert len(found) == len(key.questions)  # every question of the case is there
        for item, question, plan in zip(found, key.questions, quiz_questions(vocab, key), strict=True):
            ident = item.get("ident") or ""
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", ident) and ident not in idents
            idents.add(ident)
            meta = {
                f.findtext(f"{Q}fieldlabel"): f.findtext(f"{Q}fieldentry") for f in item.iter(f"{Q}qtimetadatafield")
            }
            assert meta["question_type"] == "multiple_answers_question"
            assert float(meta["points_possible"] or "") == question.weight
            presentation = item.find(f"{Q}presentation")
            assert presentation is not None
            mattext = presentation.find(f"{Q}material/{Q}mattext")
            assert mattext is not None and mattext.get("texttype") == "text/html" and len(mattext) == 0
            assert question.prompt in html_parts(mattext.text or "")[1]
            (lid,) = presentation.iter(f"{Q}response_lid")
            assert lid.get("rcardinality") == "Multiple"
            labels = [label.get("ident") or "" for label in lid.iter(f"{Q}response_label")]
            assert len(labels) >= 2 and len(set(labels)) == len(labels)
            assert (meta["original_answer_ids"] or "").split(",") == labels
            texts = [label.findtext(f"{Q}material/{Q}mattext") for label in lid.iter(f"{Q}response_label")]
            assert texts[: len(question.options)] == [o.label for o in question.options]
            correct = {a for a, o in zip(labels, plan.options, strict=True) if o.correct}
            wanted = set(question.expected) or {None}
            assert {o.option for o in plan.options if o.correct} == wanted
            _check_resprocessing(item, labels, correct)


def _check_resprocessing(item: ET.Element, labels: list[str], correct: set[str]) -> None:
    processing = item.find(f"{Q}resprocessing")
    assert processing is not None
    conditions = processing.findall(f"{Q}respcondition")
    continues = [c.get("continue") for c in conditions]
    assert continues == ["Yes"] * (len(conditions) - 1) + ["No"]  # feedback before the one scoring condition
    linked = []
    for condition in conditions[:-1]:
        (varequal,) = condition.iter(f"{Q}varequal")
        display = condition.find(f"{Q}displayfeedback")
        assert display is not None and condition.find(f"{Q}setvar") is None
        linked.append(display.get("linkrefid") or "")
        assert varequal.text in labels
    scoring = conditions[-1]
    conditionvar = scoring.find(f"{Q}conditionvar")
    assert conditionvar is not None
    (every,) = list(conditionvar)
    assert every.tag == f"{Q}and"
    seen = []
    for part in every:
        if part.tag == f"{Q}not":
            (inner,) = list(part)
            assert inner.tag == f"{Q}varequal" and inner.text not in correct
            seen.append(inner.text)
        else:
            assert part.tag == f"{Q}varequal" and part.text in correct
            seen.append(part.text)
    assert sorted(seen) == sorted(labels)  # every option once
    setvar = scoring.find(f"{Q}setvar")
    assert setvar is not None and setvar.text == "100" and setvar.get("action") == "Set"
    feedback = {f.get("ident") or "" for f in item.findall(f"{Q}itemfeedback")}
    assert set(linked) == feedback and len(linked) == len(labels)  # each display has its feedback, and back
    for ident in feedback:
        assert not FORBIDDEN_FEEDBACK.search(ident), ident
        entry = next(f for f in item.findall(f"{Q}itemfeedback") if f.get("ident") == ident)
        assert html_parts(entry.findtext(f"{Q}flow_mat/{Q}material/{Q}mattext") or "")[1].strip()


def test_the_package_is_byte_identical_twice(vocab: Vocabulary, keys: list[CaseKey], package: bytes) -> None:
    assert qti_package(vocab, keys) == package


# --------------------------------------------------------------------- hostile text


def test_hostile_case_text_comes_through_as_text(vocab: Vocabulary, hostile: CaseKey) -> None:
    raw = moodle_xml(vocab, [hostile])
    root = ET.fromstring(raw)  # ']]>' and '</text>' broke nothing
    assert "<script" not in raw and "<evil" not in raw and "<![CDATA[" not in raw
    texts = []
    for element in root.iter("text"):
        tags, text = html_parts(element.text or "")
        assert tags <= SAFE_TAGS, tags
        texts.append(text)
    every = "\n".join(texts)
    assert "<script>alert('narrative')</script>" in every
    assert "</text></questiontext><evil/> <![CDATA[ x ]]>" in every
    assert "<script>alert('point')</script> & ]]>" in every
    assert "Nothing to do <script>alert('reason')</script> & ]]> here." in every
    assert "Which <i>site</i> frequency & why? ]]>" in every
    assert "Cough <script>alert('title')</script> & breathlessness ]]>" in every

    files = qti_files(vocab, [hostile])
    for name, text in files.items():
        root = ET.fromstring(text)
        assert "<script" not in text and "<evil" not in text, name
        for element in root.iter():
            if element.tag.endswith("mattext") or element.tag.endswith("description"):
                tags, _ = html_parts(element.text or "")
                assert tags <= SAFE_TAGS, (name, tags)
    ident = assessment_ident(hostile.case_id)
    meta = ET.fromstring(files[f"{ident}/assessment_meta.xml"])
    assert meta.findtext(f"{C}title") == hostile.title
    assessment = next(ET.fromstring(files[f"{ident}/{ident}.xml"]).iter(f"{Q}assessment"))
    assert assessment.get("title") == hostile.title
    mattexts = [m.text or "" for m in ET.fromstring(files[f"{ident}/{ident}.xml"]).iter(f"{Q}mattext")]
    assert any("<script>alert('prompt')</script>" in html_parts(m)[1] for m in mattexts)


# --------------------------------------------------------------------- the scores compared (README tables)


def test_moodle_scores_the_key_full_and_nothing_zero(vocab: Vocabulary, keys: list[CaseKey]) -> None:
    for key in keys:
        for plan, question in zip(quiz_questions(vocab, key), key.questions, strict=True):
            assert moodle_score(plan, question.expected) >= Decimal("0.99999")
            assert canvas_score(plan, question.expected) == 1
            if question.expected:
                assert moodle_score(plan, ()) == 0 == project_score(question, ())


def test_accepted_options_cost_points_only_in_canvas(vocab: Vocabulary, keys: list[CaseKey]) -> None:
    key = next(k for k in keys if k.case_id == "abdomen-incidental-alk-positive-recurrence")
    plan = next(q for q in quiz_questions(vocab, key) if q.qid == "recurrence.next-steps")
    question = key.question("recurrence.next-steps")
    picks = (*question.expected, *question.accepted)
    assert project_score(question, picks) == 1
    assert moodle_score(plan, picks) >= Decimal("0.99999")
    assert canvas_score(plan, picks) == Decimal("0.8")  # one of 5 expected counted wrong


def _readme_table(title: str) -> dict[str, list[str]]:
    start = README.index(title)
    rows: dict[str, list[str]] = {}
    for line in README[start:].splitlines()[1:]:
        if rows and not line.startswith("|"):
            break
        match = re.match(r"\| `([a-z0-9.-]+)` \|(.*)\|$", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    return rows


@pytest.mark.parametrize("platform", ["moodle", "canvas"])
def test_readme_score_tables_are_what_the_export_gives(vocab: Vocabulary, keys: list[CaseKey], platform: str) -> None:
    key = next(k for k in keys if k.case_id == TABLE_CASE)
    title = {"moodle": "Moodle against `imt-tutor grade`", "canvas": "Canvas against `imt-tutor grade`"}[platform]
    table = _readme_table(title)
    gaps = score_gaps(vocab, key, platform)
    assert set(table) == {g.qid for g in gaps}
    for gap in gaps:
        most = gap.most.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert table[gap.qid][-2] == f"{most:.2f}", gap.qid
        assert gap.exhaustive
    headline = max(g.most for g in gaps).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert f"at most **{headline:.2f}**" in README[README.index(title) :]


def test_score_gaps_try_every_pick_set(vocab: Vocabulary, keys: list[CaseKey]) -> None:
    key = next(k for k in keys if k.case_id == TABLE_CASE)
    gap = next(g for g in score_gaps(vocab, key, "moodle") if g.qid == "presentation.next-steps")
    # every option ticked: imt-tutor gives 0.2 (the floor of its penalty); Moodle 100 - 9 x 10 = 10 %
    assert (gap.most, gap.project, gap.platform) == (Decimal("0.1"), Decimal("0.2"), Decimal("0.1"))
    assert len(gap.worst) == 10


# --------------------------------------------------------------------- the commands


def test_export_moodle_and_qti_write_their_files(invoke, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    xml_path = tmp_path / "out" / "quiz.xml"
    xml_path.parent.mkdir()
    result = invoke(["--engine", "builtin", "export", "moodle", TABLE_CASE, "--out", str(xml_path)])
    assert result.exit_code == 0, result.output
    first = xml_path.read_bytes()
    assert set(moodle_questions(ET.fromstring(first))) == {
        f"{TABLE_CASE}/{q}"
        for q in (
            "presentation.next-steps",
            "presentation.pattern",
            "imaging.next-steps",
            "imaging.working-diagnosis",
            "imaging.differential",
            "biopsy.next-steps",
            "biopsy.working-diagnosis",
            "alk-stain.next-steps",
            "alk-stain.molecular-profile",
            "surgery.next-steps",
            "surgery.recurrence-risk",
            "follow-up.next-steps",
            "follow-up.prognosis",
        )
    }
    assert invoke(["--engine", "builtin", "export", "moodle", TABLE_CASE, "--out", str(xml_path)]).exit_code == 0
    assert xml_path.read_bytes() == first  # IDs stable, output byte-identical

    zip_path = tmp_path / "out" / "quiz.zip"
    args = ["--engine", "builtin", "export", "qti", TABLE_CASE, str(HOSTILE), "--out", str(zip_path)]
    result = invoke(args)
    assert result.exit_code == 0, result.output
    package = zip_path.read_bytes()
    assert invoke(args).exit_code == 0
    assert zip_path.read_bytes() == package
    assert set(_items(package)) == {assessment_ident(TABLE_CASE), assessment_ident("hostile-quiz-case")}
    assert sorted(p.name for p in xml_path.parent.iterdir()) == ["quiz.xml", "quiz.zip"]  # no temporary file left


def test_export_without_cases_takes_every_case(invoke, tmp_path: Path, keys: list[CaseKey]) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "all.xml"
    result = invoke(["--engine", "builtin", "export", "moodle", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(moodle_questions(ET.fromstring(out.read_bytes()))) == sum(len(k.questions) for k in keys)


def test_export_errors_are_clear(invoke, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = invoke(["export", "qti", "lung-cough-alk-positiv", "--out", str(tmp_path / "x.zip")])
    assert result.exit_code == 1
    assert "unknown case 'lung-cough-alk-positiv'" in result.output
    assert not (tmp_path / "x.zip").exists()
    result = invoke(["export", "moodle", TABLE_CASE, "--out", str(tmp_path)])
    assert result.exit_code == 2  # a folder: click refuses it
    result = invoke(["export", "moodle", TABLE_CASE])
    assert result.exit_code == 2 and "--out" in result.output


def test_quiz_module_is_a_renderer() -> None:
    assert quiz.__doc__ and "TEACHING ONLY" in quiz.__doc__
