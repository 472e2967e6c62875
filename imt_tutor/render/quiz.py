"""Quizzes for the learning platforms: Moodle XML and an IMS QTI 1.2 package
for Canvas (Classic Quizzes), from the feedback model. TEACHING ONLY.

Every case question becomes one multiple-choice question whose options carry
the model's words: the HOW chain of an expected option, the WHY-NOT (with the
kind of its gap) of a wrong one, "also acceptable" for an accepted one, each
with the sections it cites. The XML, and the HTML inside it, is built with
:mod:`xml.etree.ElementTree` only: every text from a case or a rule is escaped
by the library (twice where HTML sits inside XML), so a case author's
``<script>`` or ``]]>`` comes through as text.

**Moodle** (``question/format/xml/format.php``, ``lib/questionlib.php``
``match_grade_options``, ``question/engine/bank.php``
``fraction_options_full``): one category per case
(``$course$/top/imt-tutor/CASE_ID``), one ``multichoice`` question per case
question, ``idnumber`` = ``CASE_ID/STAGE_ID.QUESTION_ID``. Fractions come from
:data:`MOODLE_PERCENTS` only (one off the list rejects the whole file).

* A question that takes one answer -- the working diagnosis, and a question
  with one option (yes or no) -- is a *single-choice* question: each answer's
  fraction is what ``imt-tutor grade`` gives that pick alone (the expected one
  100 %, a true but less specific diagnosis 50 %), so the two agree exactly.
* Every other question is *multiple-answer*: the expected options share 100 %
  (:func:`expected_split`), an accepted option is 0 %, a wrong one the allowed
  negative fraction nearest the project's penalty ``0.8 * w / W`` (at least
  5 %, so that a wrong pick always costs something).
* Moodle needs two answers, and a multiple-answer question whose positive
  fractions add up to 100 %: "None of these" is added to a question with one
  option (the "no" answer) and, at 100 %, to one that expects nothing.

The importer does not check that the positive fractions of a
multiple-answer question add up to 100 %, nor that a single-choice question
has one answer at 100 %; :func:`check_moodle` does, and the export fails with
a :class:`~imt_tutor.errors.DataError` naming the question.

**Canvas** (``gems/plugins/qti_exporter``, ``lib/cc/cc_helper.rb``): one
assessment per case, ``ID/ID.xml`` and ``ID/assessment_meta.xml`` listed in
``imsmanifest.xml``; every question a ``multiple_answers_question`` whose
correct answers are the expected options (or "None of these"). The per-answer
feedback conditions come before the one scoring condition, and feedback idents
are ``a<hex>_fb`` (hex digits cannot spell ``correct``, ``wrong``, ``general_``
or ``_all``).

:func:`score_gaps` measures, question by question, how far each platform's
score can be from the project's. Nothing here runs an engine or touches a file.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from .. import DISCLAIMER
from ..errors import DataError, DataErrors
from ..feedback import ACCEPTED, EXPECTED, WORKING_DIAGNOSIS, CaseKey, OptionKey, QuestionKey, StageKey, grade
from ..models import Vocabulary
from ..scoring import CONTRADICTED_WEIGHT, WRONG_PENALTY
from .text import KIND_WORDS, how_lines, masked_firing_lines, why_not_lines
from .words import pair_text

__all__ = [
    "CANVAS_NS",
    "IMSCP_NS",
    "MOODLE_CATEGORY_ROOT",
    "MOODLE_PERCENTS",
    "NONE_OF_THESE",
    "QTI_NS",
    "QuizOption",
    "QuizQuestion",
    "ScoreGap",
    "assessment_ident",
    "canvas_score",
    "check_moodle",
    "expected_split",
    "moodle_score",
    "moodle_xml",
    "project_score",
    "qti_files",
    "qti_package",
    "quiz_questions",
    "score_gaps",
    "zip_bytes",
]

#: The percentages Moodle's importer accepts (``fraction_options_full``), and their negatives.
MOODLE_PERCENTS: tuple[str, ...] = (
    "100",
    "90",
    "83.33333",
    "80",
    "75",
    "70",
    "66.66667",
    "60",
    "50",
    "40",
    "33.33333",
    "30",
    "25",
    "20",
    "16.66667",
    "14.28571",
    "12.5",
    "11.11111",
    "10",
    "5",
    "0",
)
_POSITIVE = tuple(p for p in MOODLE_PERCENTS if p != "0")
_LEAST_PENALTY = "5"  # a wrong pick never costs nothing
MOODLE_CATEGORY_ROOT = "$course$/top/imt-tutor"
MOODLE_IDNUMBER_MAX = 100
MOODLE_NAME_MAX = 255

NONE_OF_THESE = "None of these"

QTI_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
IMSCP_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
CANVAS_NS = "http://canvas.instructure.com/xsd/cccv1p0"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_QTI_XSD = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2p1.xsd"
_IMSCP_XSD = "http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
_CANVAS_XSD = "https://canvas.instructure.com/xsd/cccv1p0.xsd"
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

_EXTRA_KIND_WORDS = {"less_specific": "true, but less specific than the question asks"}


# --------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class QuizOption:
    """One answer of a quiz question. ``option`` is ``None`` for the added
    "None of these"; ``fraction`` is Moodle's percentage (a string of
    :data:`MOODLE_PERCENTS` or its negative); ``correct`` marks the answers
    Canvas wants ticked; ``feedback`` is HTML."""

    option: str | None
    label: str
    verdict: str
    fraction: str
    correct: bool
    feedback: str

    @property
    def percent(self) -> Decimal:
        return Decimal(self.fraction)


@dataclass(frozen=True)
class QuizQuestion:
    """One case question as both platforms ask it."""

    case_id: str
    qid: str
    number: int
    stage_index: int
    single: bool
    name: str
    text: str  # HTML
    options: tuple[QuizOption, ...]
    teaching: str  # HTML: the stage's teaching points
    weight: int = 1  # the question's points (the case file's ``weight``)

    @property
    def idnumber(self) -> str:
        return f"{self.case_id}/{self.qid}"


def _percent_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _nearest(target: Fraction, choices: Iterable[str]) -> str:
    """The choice nearest ``target`` (a percentage); a tie goes to the smaller magnitude."""
    return min(choices, key=lambda c: (abs(Fraction(Decimal(c)) - target), abs(Decimal(c))))


def expected_split(count: int) -> tuple[str, ...]:
    """``count`` allowed positive percentages adding up to 100 (to 4 decimals):
    equal shares where the list has them (3: 33.33333 each), else the most even
    mix of two neighbours (11: nine 10s and two 5s); ``()`` when none exists
    (more than 20)."""
    if count <= 0:
        return ()
    units = {p: int(Decimal(p) * 100000) for p in _POSITIVE}  # in 1e-5 %
    goal, slack = 100 * 100000, 10  # within 0.0001 %
    pairs = sorted(
        ((a, b) for a in _POSITIVE for b in _POSITIVE if units[a] >= units[b]),
        key=lambda pair: (units[pair[0]] - units[pair[1]], -units[pair[0]]),
    )
    for high, low in pairs:
        for many in range(count, 0, -1):
            if abs(units[high] * many + units[low] * (count - many) - goal) <= slack:
                return (high,) * many + (low,) * (count - many)
    return ()


def _weight(option: OptionKey) -> int:
    return CONTRADICTED_WEIGHT if option.kind == "contradicted" else 1


def _penalty(option: OptionKey, total_weight: int) -> str:
    """The allowed negative percentage nearest the project's cost of this wrong pick."""
    cost = WRONG_PENALTY * _weight(option) * 100 / max(total_weight, 1)
    magnitude = _nearest(cost, [p for p in _POSITIVE if Decimal(p) >= Decimal(_LEAST_PENALTY)])
    return f"-{magnitude}"


def _single_fraction(points: float, full: bool) -> str:
    """The allowed percentage nearest ``points`` (0..1); 100 only for an all-right pick."""
    if full:
        return "100"
    return _nearest(Fraction(Decimal(str(points))) * 100, [p for p in MOODLE_PERCENTS if p != "100"])


def _is_single(question: QuestionKey) -> bool:
    """One answer: the working diagnosis (as ``imt-tutor run`` asks it) or a yes/no question."""
    if len(question.options) == 1:
        return True
    return question.key == WORKING_DIAGNOSIS and len(question.expected) == 1


def _hidden(key: CaseKey, question: QuestionKey) -> frozenset[tuple[str, str]]:
    """The conclusions that later questions ask about (never shown before they are asked)."""
    own = {(str(question.key), v) for v in question.expected} if question.kind == "conclusion" else set()
    later = {
        (str(q.key), v)
        for q in key.questions
        if q.number > question.number and q.kind == "conclusion"
        for v in q.expected
    }
    return frozenset(later - own)


def quiz_questions(vocab: Vocabulary, key: CaseKey) -> tuple[QuizQuestion, ...]:
    """Every question of ``key`` as a quiz question: answers, fractions, feedback."""
    out = []
    for question in key.questions:
        stage = key.stages[question.stage_index]
        hidden = _hidden(key, question)
        single = _is_single(question)
        options: list[QuizOption] = []
        if single:
            for entry in question.options:
                score = grade(question, (entry.option,)).score
                fraction = _single_fraction(score.points, score.full)
                feedback = _option_feedback(vocab, question, entry, stage, hidden)
                options.append(
                    QuizOption(entry.option, entry.label, entry.verdict, fraction, entry.verdict == EXPECTED, feedback)
                )
            if len(question.options) == 1:
                score = grade(question, ()).score
                options.append(_none_option(question, _single_fraction(score.points, score.full)))
        else:
            split = iter(expected_split(len(question.expected)) or ["0"] * len(question.expected))
            wrong = [o for o in question.options if o.verdict not in (EXPECTED, ACCEPTED)]
            total_weight = sum(_weight(o) for o in wrong)
            for entry in question.options:
                if entry.verdict == EXPECTED:
                    fraction = next(split)
                elif entry.verdict == ACCEPTED:
                    fraction = "0"
                else:
                    fraction = _penalty(entry, total_weight)
                feedback = _option_feedback(vocab, question, entry, stage, hidden)
                options.append(
                    QuizOption(entry.option, entry.label, entry.verdict, fraction, entry.verdict == EXPECTED, feedback)
                )
            if not question.expected:
                options.append(_none_option(question, "100"))
        stage_count = len(key.stages)
        name = f"{key.case_id} {question.number:02d} {question.qid}"[:MOODLE_NAME_MAX]
        out.append(
            QuizQuestion(
                key.case_id,
                question.qid,
                question.number,
                question.stage_index,
                single,
                name,
                _question_html(vocab, key, stage, stage_count, question),
                tuple(options),
                _teaching_html(stage),
                question.weight,
            )
        )
    return tuple(out)


def _none_option(question: QuestionKey, fraction: str) -> QuizOption:
    right = not question.expected
    return QuizOption(
        None,
        NONE_OF_THESE,
        EXPECTED if right else "not_expected",
        fraction,
        right,
        _none_feedback(question),
    )


# --------------------------------------------------------------------- HTML (built by ElementTree too)


def _el(tag: str, text: str | None = None, parent: ET.Element | None = None) -> ET.Element:
    element = ET.Element(tag) if parent is None else ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _html(*parts: ET.Element) -> str:
    """The elements as an HTML fragment, every text escaped by ElementTree."""
    return "".join(ET.tostring(p, encoding="unicode", method="html") for p in parts)


def _para(text: str, strong: str | None = None) -> ET.Element:
    p = _el("p")
    if strong is not None:
        b = _el("strong", strong, p)
        b.tail = f" {text}" if text else None
    else:
        p.text = text
    return p


def _lines_list(lines: Sequence[str]) -> ET.Element:
    """Indented lines (two spaces a level) as nested lists."""
    root = _el("ul")
    stack: list[tuple[int, ET.Element]] = [(0, root)]
    for line in lines:
        stripped = line.lstrip(" ")
        level = (len(line) - len(stripped)) // 2
        while len(stack) > 1 and stack[-1][0] > level:
            stack.pop()
        current_level, current = stack[-1]
        if level > current_level and len(current):
            current = _el("ul", parent=current[-1])
            stack.append((level, current))
        _el("li", stripped, current)
    return root


def _paragraphs(text: str) -> list[ET.Element]:
    return [_para(" ".join(p.split())) for p in text.strip().split("\n\n") if p.strip()]


def _question_html(vocab: Vocabulary, key: CaseKey, stage: StageKey, count: int, question: QuestionKey) -> str:
    parts = [_para(f"- stage {stage.index + 1} of {count} ({stage.stage_id})", key.title)]
    parts += _paragraphs(stage.narrative)
    parts.append(_para("", "Facts known so far:"))
    facts = _el("ul")
    new = set(stage.new)
    for fact, value in stage.facts.items:
        _el("li", pair_text(vocab, fact, value) + (" (new)" if fact in new else ""), facts)
    if not stage.facts.items:
        _el("li", "(nothing known yet)", facts)
    parts.append(facts)
    parts.append(_para("", question.prompt))
    disclaimer = _el("p")
    _el("em", DISCLAIMER, disclaimer)
    parts.append(disclaimer)
    return _html(*parts)


def _teaching_html(stage: StageKey) -> str:
    if not stage.teaching_points:
        return ""
    items = _el("ul")
    for point in stage.teaching_points:
        _el("li", " ".join(point.split()), items)
    return _html(_para("", "Teaching points of this stage:"), items)


def _how(vocab: Vocabulary, question: QuestionKey, option: OptionKey, hidden: frozenset[tuple[str, str]]) -> list[str]:
    """The HOW chain, with the conclusions later questions ask about masked."""
    if not option.how:
        return how_lines(vocab, question, option)
    lines: list[str] = []
    for firing in option.how:
        lines += masked_firing_lines(vocab, firing, hidden)
    return lines


def _kind_words(option: OptionKey) -> str:
    kind = option.kind or "unsupported"
    return _EXTRA_KIND_WORDS.get(kind) or KIND_WORDS.get(kind, kind.replace("_", " "))


def _option_feedback(
    vocab: Vocabulary, question: QuestionKey, option: OptionKey, stage: StageKey, hidden: frozenset[tuple[str, str]]
) -> str:
    if option.verdict == EXPECTED:
        head = _para("how the rules get there:", "Expected -")
        return _html(head, _lines_list(_how(vocab, question, option, hidden)))
    if option.verdict == ACCEPTED:
        head = _para("neither required nor penalised; how the rules get there:", "Also acceptable -")
        return _html(head, _lines_list(_how(vocab, question, option, hidden)))
    head = _para(f"{_kind_words(option)}. Why not:", "Not expected -")
    return _html(head, _lines_list(why_not_lines(vocab, question, option, stage.facts)))


def _none_feedback(question: QuestionKey) -> str:
    if not question.expected:
        reason = question.nothing_reason or "no rule expects any of these options at this stage."
        return _html(_para(f"nothing applies here: {reason}", "Expected -"))
    wanted = ", ".join(question.option(e).label for e in question.expected)
    return _html(_para(f"the rules do expect something here: {wanted}.", "Not expected -"))


# --------------------------------------------------------------------- checking


def check_moodle(question: QuizQuestion) -> list[str]:
    """What Moodle's importer lets through but its editor refuses, and what aborts an import."""
    problems = []
    fractions = [o.fraction for o in question.options]
    allowed = {*MOODLE_PERCENTS, *(f"-{p}" for p in _POSITIVE)}
    for o in question.options:
        if o.fraction not in allowed:
            problems.append(f"answer '{o.label}' has fraction {o.fraction}, which is not on Moodle's list")
    if len(question.options) < 2:
        problems.append("fewer than two answers (Moodle aborts the whole import)")
    if question.single:
        if fractions.count("100") != 1:
            problems.append(f"a single-choice question needs exactly one answer at 100% ({fractions.count('100')})")
    else:
        positive = sum((Decimal(f) for f in fractions if Decimal(f) > 0), Decimal(0))
        if (positive / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) != 1:
            problems.append(f"the positive fractions add up to {_percent_text(positive)}%, not 100%")
    if len(question.idnumber) > MOODLE_IDNUMBER_MAX:
        problems.append(f"idnumber '{question.idnumber}' is longer than {MOODLE_IDNUMBER_MAX} characters")
    return problems


def _checked(questions: Sequence[QuizQuestion]) -> None:
    errors = [
        DataError(f"case '{q.case_id}': question '{q.qid}': cannot be a Moodle question: {p}", code="quiz-invalid")
        for q in questions
        for p in check_moodle(q)
    ]
    seen: set[str] = set()
    for q in questions:
        if q.idnumber in seen:
            errors.append(DataError(f"case '{q.case_id}': duplicate idnumber '{q.idnumber}'", code="quiz-invalid"))
        seen.add(q.idnumber)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise DataErrors(errors)


# --------------------------------------------------------------------- Moodle XML


def _xml_text(parent: ET.Element, tag: str, text: str, *, html: bool = True) -> ET.Element:
    element = ET.SubElement(parent, tag, {"format": "html"} if html else {})
    _el("text", text, element)
    return element


def _serialise(root: ET.Element) -> str:
    ET.indent(root, space="  ")
    buffer = io.BytesIO()
    ET.ElementTree(root).write(buffer, encoding="UTF-8", xml_declaration=True)
    return buffer.getvalue().decode("utf-8") + "\n"


def _category(case_id: str) -> str:
    return f"{MOODLE_CATEGORY_ROOT}/{case_id.replace('/', '//')}"


def moodle_xml(vocab: Vocabulary, keys: Sequence[CaseKey]) -> str:
    """The cases as one Moodle XML file (a category per case, then its questions)."""
    root = ET.Element("quiz")
    for key in keys:
        questions = quiz_questions(vocab, key)
        _checked(questions)
        category = ET.SubElement(root, "question", {"type": "category"})
        _xml_text(category, "category", _category(key.case_id), html=False)
        info = _html(_para(key.summary, key.title), _para(DISCLAIMER))
        _xml_text(category, "info", info)
        for q in questions:
            element = ET.SubElement(root, "question", {"type": "multichoice"})
            _xml_text(element, "name", q.name, html=False)
            _xml_text(element, "questiontext", q.text)
            _xml_text(element, "generalfeedback", "")
            _el("defaultgrade", str(q.weight), element)
            _el("penalty", "0", element)
            _el("hidden", "0", element)
            _el("idnumber", q.idnumber, element)
            _el("single", "true" if q.single else "false", element)
            _el("shuffleanswers", "0", element)
            _el("answernumbering", "none", element)
            _el("showstandardinstruction", "1", element)
            teaching = q.teaching
            _xml_text(element, "correctfeedback", _html(_para("", "Right.")) + teaching)
            _xml_text(element, "partiallycorrectfeedback", _html(_para("", "Partly right.")) + teaching)
            _xml_text(element, "incorrectfeedback", _html(_para("", "Not right.")) + teaching)
            ET.SubElement(element, "shownumcorrect")
            for o in q.options:
                answer = ET.SubElement(element, "answer", {"fraction": o.fraction, "format": "html"})
                _el("text", _html(_el("p", o.label)), answer)
                _xml_text(answer, "feedback", o.feedback)
    return _serialise(root)


# --------------------------------------------------------------------- QTI 1.2 for Canvas


def _safe_ident(text: str, prefix: str) -> str:
    """``text`` as a QTI ident (a letter, then letters, digits, ``_`` or ``-``);
    a changed text gets a short digest of the original, so two never collide."""
    if _IDENT.fullmatch(text):
        return text
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", text)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{prefix}{cleaned}_{digest}" if not cleaned[:1].isalpha() else f"{cleaned}_{digest}"


def assessment_ident(case_id: str) -> str:
    """The assessment's ident (and its folder in the package) for a case."""
    return _safe_ident(case_id, "c")


def _item_ident(case_id: str, qid: str) -> str:
    # IDs are kebab-case: "_" joins them without a collision ("a-b" + "c" vs "a" + "b-c").
    return _safe_ident(f"{assessment_ident(case_id)}_{qid.replace('.', '_')}", "i")


def _answer_ident(case_id: str, qid: str, option: str | None) -> str:
    """``a`` and 12 hex digits: stable, and no feedback ident made from it can spell a reserved word."""
    seed = "\x1f".join((case_id, qid, option if option is not None else "\x00none"))
    return "a" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:12]


def feedback_ident(answer_ident: str) -> str:
    return f"{answer_ident}_fb"


def _q(tag: str) -> str:
    return f"{{{QTI_NS}}}{tag}"


def _qsub(parent: ET.Element, tag: str, attrs: Mapping[str, str] | None = None, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, _q(tag), dict(attrs or {}))
    if text is not None:
        element.text = text
    return element


def _metafield(parent: ET.Element, label: str, entry: str) -> None:
    field = _qsub(parent, "qtimetadatafield")
    _qsub(field, "fieldlabel", text=label)
    _qsub(field, "fieldentry", text=entry)


def _mattext(parent: ET.Element, text: str, texttype: str = "text/html") -> None:
    material = _qsub(parent, "material")
    _qsub(material, "mattext", {"texttype": texttype}, text)


def _qti_item(section: ET.Element, q: QuizQuestion) -> None:
    ident = _item_ident(q.case_id, q.qid)
    item = _qsub(section, "item", {"ident": ident, "title": f"{q.number:02d} {q.qid}"})
    answers = [(_answer_ident(q.case_id, q.qid, o.option), o) for o in q.options]
    meta = _qsub(_qsub(item, "itemmetadata"), "qtimetadata")
    _metafield(meta, "question_type", "multiple_answers_question")
    _metafield(meta, "points_possible", f"{float(q.weight):.1f}")
    _metafield(meta, "original_answer_ids", ",".join(a for a, _ in answers))
    _metafield(meta, "assessment_question_identifierref", f"{ident}-ref")
    presentation = _qsub(item, "presentation")
    _mattext(presentation, q.text)
    response = _qsub(presentation, "response_lid", {"ident": "response1", "rcardinality": "Multiple"})
    choice = _qsub(response, "render_choice")
    for answer, option in answers:
        label = _qsub(choice, "response_label", {"ident": answer})
        _mattext(label, option.label, "text/plain")
    processing = _qsub(item, "resprocessing")
    outcomes = _qsub(processing, "outcomes")
    _qsub(outcomes, "decvar", {"maxvalue": "100", "minvalue": "0", "varname": "SCORE", "vartype": "Decimal"})
    for answer, _ in answers:  # the feedback first: after the scoring condition Canvas would zero the weights
        condition = _qsub(processing, "respcondition", {"continue": "Yes"})
        _qsub(_qsub(condition, "conditionvar"), "varequal", {"respident": "response1"}, answer)
        _qsub(condition, "displayfeedback", {"feedbacktype": "Response", "linkrefid": feedback_ident(answer)})
    scoring = _qsub(processing, "respcondition", {"continue": "No"})
    every = _qsub(_qsub(scoring, "conditionvar"), "and")
    for answer, option in answers:
        parent = every if option.correct else _qsub(every, "not")
        _qsub(parent, "varequal", {"respident": "response1"}, answer)
    _qsub(scoring, "setvar", {"action": "Set", "varname": "SCORE"}, "100")
    for answer, option in answers:
        feedback = _qsub(item, "itemfeedback", {"ident": feedback_ident(answer)})
        _mattext(_qsub(feedback, "flow_mat"), option.feedback)


def _assessment_xml(vocab: Vocabulary, key: CaseKey, questions: Sequence[QuizQuestion]) -> str:
    ET.register_namespace("", QTI_NS)
    ET.register_namespace("xsi", _XSI)
    ident = assessment_ident(key.case_id)
    root = ET.Element(_q("questestinterop"), {f"{{{_XSI}}}schemaLocation": f"{QTI_NS} {_QTI_XSD}"})
    assessment = _qsub(root, "assessment", {"ident": ident, "title": key.title})
    meta = _qsub(assessment, "qtimetadata")
    _metafield(meta, "cc_maxattempts", "1")
    section = _qsub(assessment, "section", {"ident": "root_section"})
    for q in questions:
        _qti_item(section, q)
    return _serialise(root)


def _meta_xml(key: CaseKey, questions: Sequence[QuizQuestion]) -> str:
    ET.register_namespace("", CANVAS_NS)
    ET.register_namespace("xsi", _XSI)
    ident = assessment_ident(key.case_id)

    def sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
        element = ET.SubElement(parent, f"{{{CANVAS_NS}}}{tag}")
        element.text = text
        return element

    root = ET.Element(
        f"{{{CANVAS_NS}}}quiz", {"identifier": ident, f"{{{_XSI}}}schemaLocation": f"{CANVAS_NS} {_CANVAS_XSD}"}
    )
    sub(root, "title", key.title)
    sub(root, "description", _html(_para(key.summary), _para(DISCLAIMER)))
    sub(root, "shuffle_answers", "false")
    sub(root, "scoring_policy", "keep_highest")
    sub(root, "quiz_type", "assignment")
    sub(root, "points_possible", f"{float(sum(q.weight for q in questions)):.1f}")
    sub(root, "show_correct_answers", "true")
    sub(root, "allowed_attempts", "1")
    sub(root, "one_question_at_a_time", "false")
    sub(root, "cant_go_back", "false")
    sub(root, "available", "false")
    return _serialise(root)


def _manifest_xml(case_ids: Sequence[str]) -> str:
    ET.register_namespace("", IMSCP_NS)
    ET.register_namespace("xsi", _XSI)

    def sub(
        parent: ET.Element, tag: str, attrs: Mapping[str, str] | None = None, text: str | None = None
    ) -> ET.Element:
        element = ET.SubElement(parent, f"{{{IMSCP_NS}}}{tag}", dict(attrs or {}))
        element.text = text
        return element

    digest = hashlib.sha256("\n".join(case_ids).encode("utf-8")).hexdigest()[:16]
    root = ET.Element(
        f"{{{IMSCP_NS}}}manifest",
        {"identifier": f"imt-tutor-{digest}", f"{{{_XSI}}}schemaLocation": f"{IMSCP_NS} {_IMSCP_XSD}"},
    )
    metadata = sub(root, "metadata")
    sub(metadata, "schema", text="IMS Content")
    sub(metadata, "schemaversion", text="1.1.3")
    sub(root, "organizations")
    resources = sub(root, "resources")
    for case_id in case_ids:
        ident = assessment_ident(case_id)
        meta_ident = f"{ident}-meta"
        resource = sub(resources, "resource", {"identifier": ident, "type": "imsqti_xmlv1p2"})
        sub(resource, "file", {"href": f"{ident}/{ident}.xml"})
        sub(resource, "dependency", {"identifierref": meta_ident})
        meta = sub(
            resources,
            "resource",
            {
                "identifier": meta_ident,
                "type": "associatedcontent/imscc_xmlv1p1/learning-application-resource",
                "href": f"{ident}/assessment_meta.xml",
            },
        )
        sub(meta, "file", {"href": f"{ident}/assessment_meta.xml"})
    return _serialise(root)


def qti_files(vocab: Vocabulary, keys: Sequence[CaseKey]) -> dict[str, str]:
    """The package's files, path -> XML text: the manifest, and per case its
    assessment and its Canvas meta file. Nothing else (Canvas parses every ``.xml``)."""
    files: dict[str, str] = {}
    case_ids: list[str] = []
    for key in keys:
        questions = quiz_questions(vocab, key)
        _checked(questions)
        ident = assessment_ident(key.case_id)
        if f"{ident}/{ident}.xml" in files:
            raise DataError(f"case '{key.case_id}' is exported twice", code="quiz-invalid")
        files[f"{ident}/{ident}.xml"] = _assessment_xml(vocab, key, questions)
        files[f"{ident}/assessment_meta.xml"] = _meta_xml(key, questions)
        case_ids.append(key.case_id)
    files["imsmanifest.xml"] = _manifest_xml(case_ids)
    return files


def zip_bytes(files: Mapping[str, str]) -> bytes:
    """A zip of ``files`` built in memory: sorted entries, fixed timestamps and
    permissions, so the same files give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name].encode("utf-8"))
    return buffer.getvalue()


def qti_package(vocab: Vocabulary, keys: Sequence[CaseKey]) -> bytes:
    """The QTI 1.2 package (a zip) of the cases, for Canvas's "QTI .zip file" import."""
    return zip_bytes(qti_files(vocab, keys))


# --------------------------------------------------------------------- how the scores compare


def project_score(question: QuestionKey, picks: Iterable[str]) -> Decimal:
    """What ``imt-tutor grade`` gives ``picks`` (0..1)."""
    return Decimal(str(grade(question, tuple(picks)).score.points))


def _answers_for(quiz: QuizQuestion, picks: frozenset[str]) -> list[QuizOption]:
    """The answers a student who means ``picks`` ticks: "None of these" for no pick."""
    if not picks:
        return [o for o in quiz.options if o.option is None]
    return [o for o in quiz.options if o.option in picks]


def moodle_score(quiz: QuizQuestion, picks: Iterable[str]) -> Decimal:
    """Moodle's mark (0..1) for ``picks``: a single-choice question gives the
    picked answer's fraction; a multiple-answer one the sum of the ticked
    fractions, clamped to [0, 1]."""
    ticked = _answers_for(quiz, frozenset(picks))
    total = sum((o.percent for o in ticked), Decimal(0)) / 100
    return min(max(total, Decimal(0)), Decimal(1))


def canvas_score(quiz: QuizQuestion, picks: Iterable[str]) -> Decimal:
    """Canvas's mark (0..1) for ``picks``: max(0, (right - wrong) / correct)."""
    ticked = _answers_for(quiz, frozenset(picks))
    correct = sum(1 for o in quiz.options if o.correct)
    right = sum(1 for o in ticked if o.correct)
    wrong = len(ticked) - right
    return max(Decimal(0), Decimal(right - wrong) / max(correct, 1))


@dataclass(frozen=True)
class ScoreGap:
    """How far one platform's mark can be from the project's on one question:
    the largest difference over the pick sets (``worst`` one of them) and
    whether every pick set was tried (``exhaustive``)."""

    qid: str
    single: bool
    options: int
    most: Decimal
    worst: tuple[str, ...]
    project: Decimal
    platform: Decimal
    exhaustive: bool


def _pick_sets(quiz: QuizQuestion, question: QuestionKey, limit: int) -> Iterator[tuple[str, ...]]:
    ids = question.option_ids
    if quiz.single:
        yield ()
        yield from ((o,) for o in ids)
        return
    sizes = range(len(ids) + 1) if len(ids) <= limit else [*range(4), *range(max(4, len(ids) - 3), len(ids) + 1)]
    for size in sizes:
        yield from itertools.combinations(ids, size)


def score_gaps(vocab: Vocabulary, key: CaseKey, platform: str, *, limit: int = 12) -> tuple[ScoreGap, ...]:
    """For each question of ``key``: the most the ``platform`` (``moodle`` or
    ``canvas``) mark differs from the project's, over every pick set when the
    question has at most ``limit`` options (else the sets of up to 3 picks and
    of all but up to 3). A single-choice Moodle question takes one pick only."""
    scorer = {"moodle": moodle_score, "canvas": canvas_score}[platform]
    gaps = []
    for quiz, question in zip(quiz_questions(vocab, key), key.questions, strict=True):
        single = quiz.single and platform == "moodle"
        shown = quiz if single else replace(quiz, single=False)
        best: tuple[Decimal, tuple[str, ...], Decimal, Decimal] | None = None
        for picks in _pick_sets(shown, question, limit):
            ours = project_score(question, picks)
            theirs = scorer(shown, picks)
            diff = abs(theirs - ours)
            if best is None or diff > best[0]:
                best = (diff, picks, ours, theirs)
        assert best is not None
        gaps.append(
            ScoreGap(
                question.qid,
                single,
                len(question.options),
                best[0],
                best[1],
                best[2],
                best[3],
                single or len(question.options) <= limit,
            )
        )
    return tuple(gaps)
