"""Fictional teaching cases (``cases/*.yaml``).

A case is a short staged vignette: each stage reveals facts and asks
questions. The expected answers are derived by the rule engine from the facts
known at that stage (an author may override one, giving a reason). Students'
answer files are read by :mod:`imt_tutor.answers`.
"""

from __future__ import annotations

import os
import re
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import WARNING, DataError, Location, Problems, did_you_mean, shown, shown_value
from .loading import YamlList, YamlMap, load_yaml_file
from .models import Case, Facts, Inference, Question, Stage, Vocabulary
from .rulebase import KEBAB
from .vocabulary import contradictions_in, parse_facts, where

__all__ = [
    "QUESTION_KINDS",
    "accepted_answer",
    "check_key",
    "derived_answer",
    "expected_answer",
    "facts_at",
    "find_case",
    "iter_questions",
    "load_case",
    "load_cases",
    "option_label",
    "parse_case",
    "qualified_id",
    "stage_facts",
]

QUESTION_KINDS = ("next_steps", "conclusion")
WORKING_DIAGNOSIS = "working_diagnosis"

QUALIFIED = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*\.[a-z0-9]+(-[a-z0-9]+)*\Z")  # whole: no trailing newline

CASE_KEYS = ("id", "title", "teaser", "summary", "fictional", "hint_penalty", "stages")
STAGE_KEYS = ("id", "narrative", "reveal", "questions", "teaching_points")
QUESTION_KEYS = (
    "id",
    "kind",
    "key",
    "prompt",
    "options",
    "answer",
    "answer_reason",
    "expect_nothing",
    "expect_nothing_reason",
    "weight",
)
#: The most a question may be worth (``weight``, a whole number of points; default 1).
MAX_WEIGHT = 100

# Mapping keys that look like a patient identifier (compared lower-case, "-" as "_").
IDENTIFIER_KEYS = frozenset(
    {
        "name",
        "patient",
        "patient_name",
        "first_name",
        "last_name",
        "surname",
        "full_name",
        "dob",
        "date_of_birth",
        "birth_date",
        "birthdate",
        "mrn",
        "record_number",
        "medical_record_number",
        "hospital_number",
        "nhs_number",
        "ssn",
        "social_security_number",
        "address",
        "postcode",
        "zip",
        "phone",
        "email",
    }
)
_MONTH = (
    r"(?:[Jj]an(?:uary)?|[Ff]eb(?:ruary)?|[Mm]ar(?:ch)?|[Aa]pr(?:il)?|[Mm]ay|[Jj]une?|[Jj]uly?|[Aa]ug(?:ust)?"
    r"|[Ss]ep(?:t(?:ember)?)?|[Oo]ct(?:ober)?|[Nn]ov(?:ember)?|[Dd]ec(?:ember)?)"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
# Calendar dates in their common written forms (2001-02-03, 2001/02/03, 3/2/01,
# 03-02-2001, 03.02.2001, 3 February 2001, 3rd Feb 2001, March 3, 2001): cases
# are fictional and use ages and durations. A year alone ("in 2001") is allowed.
# (Plain regular expressions: they also go into the JSON Schemas.)
DATE_PATTERNS = (
    re.compile(r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b"),
    re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b"),
    re.compile(r"\b\d{1,2}[-.]\d{1,2}[-.]\d{4}\b"),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\.?,?\s+\d{{4}}\b"),
    re.compile(rf"\b{_MONTH}\.?\s+{_DAY},?\s+\d{{4}}\b"),
)
# A title, or "patient", followed by a capitalised name: "patient John Smith", "Mrs Jones".
NAME_PATTERN = re.compile(
    r"\b(?:[Pp]atient|Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+(?!(?:The|This|That|With|And|Has|Had|Is|Was)\b)"
    r"[A-Z][a-z]+(?:[-' ][A-Z][a-z]+)*"
)


# --------------------------------------------------------------------- helpers


def qualified_id(stage: Stage, question: Question) -> str:
    """``stage.question``: how answer files name a question."""
    return f"{stage.id}.{question.id}"


def iter_questions(case: Case) -> Iterator[tuple[int, Stage, Question]]:
    """Every question of ``case`` with its stage and the stage's index."""
    for index, stage in enumerate(case.stages):
        for question in stage.questions:
            yield index, stage, question


# id(case) -> (a weak reference to the case, the facts known at each of its stages).
_STAGE_FACTS: dict[int, tuple[weakref.ref[Case], tuple[Facts, ...]]] = {}


def stage_facts(case: Case) -> tuple[Facts, ...]:
    """The facts known at each stage of ``case``, in one pass over its stages
    (computed once per case object, and forgotten with it)."""
    entry = _STAGE_FACTS.get(id(case))
    if entry is not None and entry[0]() is case:
        return entry[1]
    known: list[Facts] = []
    facts = Facts()
    for stage in case.stages:
        facts = facts.merged(stage.reveal) if stage.reveal.items else facts
        known.append(facts)
    result = tuple(known)
    key = id(case)
    _STAGE_FACTS[key] = (weakref.ref(case, lambda _ref: _STAGE_FACTS.pop(key, None)), result)
    return result


def facts_at(case: Case, stage_index: int) -> Facts:
    """The facts known at stage ``stage_index``: every reveal up to and
    including it (a later reveal of a key replaces the earlier value)."""
    count = len(case.stages)
    if not -count <= stage_index < count:
        raise IndexError(f"case '{case.id}' has no stage {stage_index}")
    return stage_facts(case)[stage_index]


def option_label(vocab: Vocabulary, question: Question, option_id: str) -> str:
    """The student-readable label of one option of ``question``."""
    if question.kind == "conclusion" and question.key is not None:
        return vocab.label(question.key, option_id)
    return vocab.label(option_id)


def derived_answer(question: Question, inference: Inference, vocab: Vocabulary) -> tuple[str, ...]:
    """The answer the engine's inference gives, ignoring any override.

    ``next_steps``: the suggested steps, in options order. ``conclusion`` on
    ``working_diagnosis``: the most specific concluded value, if it is an
    option. Any other ``conclusion``: every concluded value, in options order.
    """
    if question.kind == "next_steps":
        suggested = {step for step, _ in inference.suggestions()}
        return tuple(o for o in question.options if o in suggested)
    key = question.key
    if key is None:
        return ()
    entry = vocab.conclusion(key)
    order = entry.value_ids if entry is not None else question.options
    concluded = [v for v in order if inference.has(key, v)]
    if key == WORKING_DIAGNOSIS:
        if concluded and concluded[-1] in question.options:
            return (concluded[-1],)
        return ()
    return tuple(o for o in question.options if o in concluded)


def accepted_answer(question: Question, inference: Inference) -> tuple[str, ...]:
    """Options accepted without being required (a rule's ``accept``), in options
    order; never any option the author's override expects."""
    if question.kind != "next_steps":
        return ()
    accepted = {step for step, _ in inference.acceptances()}
    required = set(question.answer or ())
    return tuple(o for o in question.options if o in accepted and o not in required)


def expected_answer(question: Question, inference: Inference, vocab: Vocabulary) -> tuple[str, ...]:
    """The answer a student is graded against: the author's override, if
    any, else :func:`derived_answer`."""
    if question.answer is not None:
        return question.answer
    return derived_answer(question, inference, vocab)


def _default_prompt(vocab: Vocabulary, kind: str, key: str | None, options: tuple[str, ...] = ()) -> str:
    """A prompt that says exactly what is graded."""
    if kind == "next_steps":
        return "Which next steps do the findings so far call for? (All that apply, or none.)"
    label = vocab.label(key) if key else "Conclusion"
    if key == WORKING_DIAGNOSIS:
        return "What is the most specific working diagnosis the findings support now? (One answer.)"
    if len(options) == 1 and key is not None:
        return f"{label}: do the findings so far support '{vocab.label(key, options[0])}'? (yes or no)"
    return f"{label}: which of these do the findings so far support? (All that apply, or none.)"


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _at_offset(location: Location | None, text: str, offset: int) -> Location | None:
    """Where character ``offset`` of a one-line plain scalar starting at ``location`` is (else ``location``)."""
    if location is None or location.line <= 0 or "\n" in text[:offset]:
        return location
    return Location(location.path, location.line, location.column + offset)


def _date_in(text: str) -> str | None:
    for pattern in DATE_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group()
    return None


def _normalised(key: str) -> str:
    return key.strip().lower().replace("-", "_").replace(" ", "_")


def _identifier_keys(node: Any, found: list[tuple[str, Location]]) -> None:
    """Every mapping key anywhere under ``node`` that looks like a patient
    identifier, in document order (one iterative walk)."""
    # (mapping or None, key, value), last first: each key is looked at just before its value is walked;
    # only identifier keys and containers are pushed.
    pending: list[tuple[YamlMap | None, Any, Any]] = [(None, None, node)]
    looks: dict[str, bool] = {}
    while pending:
        parent, key, node = pending.pop()
        if parent is not None and isinstance(key, str) and looks[key]:
            found.append((key, parent.key_location(key)))
        if isinstance(node, YamlMap):
            for k, v in reversed(node.items()):
                if isinstance(k, str) and k not in looks:
                    looks[k] = _normalised(k) in IDENTIFIER_KEYS
                if isinstance(v, (YamlMap, YamlList)) or (isinstance(k, str) and looks[k]):
                    pending.append((node, k, v))
        elif isinstance(node, YamlList):
            pending.extend((None, None, item) for item in reversed(node) if isinstance(item, (YamlMap, YamlList)))


# --------------------------------------------------------------------- case files


class _CaseParser:
    """Validates one loaded case document, collecting every problem."""

    def __init__(self, vocab: Vocabulary, path: str, problems: Problems) -> None:
        self.vocab = vocab
        self.path = path
        self.problems = problems
        self.label = "case"
        self.identifiers: set[tuple[str, Location]] = set()

    def add(self, message: str, location: Location | None) -> None:
        self.problems.add(f"{self.label}: {message}", location)

    def hint(self, word: str, choices: Iterable[str]) -> str:
        """A did-you-mean (for the first problems of the file; see :meth:`Problems.did_you_mean`)."""
        return self.problems.did_you_mean(word, choices)

    def unknown_keys(self, node: YamlMap, allowed: tuple[str, ...], what: str) -> None:
        for key in node:
            if key in allowed:
                continue
            if self.identifiers and (key, node.key_location(key)) in self.identifiers:
                continue  # already reported as a patient identifier
            self.add(
                f"unknown key '{shown(key)}' in {what}{self.hint(key, allowed)}",
                node.key_location(key),
            )

    def text(self, node: YamlMap, key: str, what: str, *, required: bool = True) -> str:
        if key not in node:
            if required:
                self.add(f"{what} needs '{shown(key)}'", node.location)
            return ""
        value = node[key]
        if not _is_text(value):
            self.add(f"'{shown(key)}' of {what} must be non-empty text", where(node, key))
            return ""
        self.check_date(value, where(node, key), f"'{key}' of {what}")
        return str(value).strip()

    def check_date(self, text: str, location: Location | None, what: str) -> None:
        """Dates (an error) and what looks like a patient's name (a warning) in case text."""
        date = _date_in(text)
        if date is not None:
            self.add(
                f"{what} contains the date '{shown(date)}'; cases are fictional: use ages and durations, not dates",
                location,
            )
        name = NAME_PATTERN.search(text)
        if name is not None:
            self.problems.add(
                f"{self.label}: {what} contains '{shown(name.group())}', which looks like a patient's name; "
                "cases are fictional: say 'the patient' or 'a 34-year-old woman'",
                _at_offset(location, text, name.start()),
                code="identifier",
                level=WARNING,
            )

    def parse(self, data: Any) -> Case | None:
        if not isinstance(data, YamlMap):
            self.problems.add("a case must be a mapping", Location(self.path, 1, 1))
            return None
        case_id = data.get("id")
        if isinstance(case_id, str) and KEBAB.fullmatch(case_id):
            self.label = f"case '{case_id}'"
        else:
            stem = Path(self.path).stem
            self.label = f"case '{stem}'" if "id" not in data else "case"
            if "id" not in data:
                self.add("a case needs an 'id' (kebab-case, like 'lung-cough-alk-positive')", data.location)
            else:
                self.add(
                    f"case id must be kebab-case (like 'lung-cough-alk-positive'); got {case_id!r}", where(data, "id")
                )
            case_id = None

        found: list[tuple[str, Location]] = []
        _identifier_keys(data, found)
        for key, location in found:
            self.identifiers.add((key, location))
            self.add(
                f"'{key}' looks like a patient identifier; cases are fictional and must not carry "
                "names, dates of birth, record numbers or contact details",
                location,
            )

        self.unknown_keys(data, CASE_KEYS, "a case")
        if data.get("fictional") is not True:
            self.add("cases must declare fictional: true", where(data, "fictional"))
        title = self.text(data, "title", "a case")
        summary = self.text(data, "summary", "a case")
        teaser = self.text(data, "teaser", "a case", required=False)
        penalty = data.get("hint_penalty", 0)
        if isinstance(penalty, str):
            try:
                penalty = float(penalty)
            except ValueError:
                penalty = None
        if isinstance(penalty, bool) or not isinstance(penalty, (int, float)) or not 0 <= penalty <= 1:
            self.add("'hint_penalty' must be a number from 0 to 1 (points per hint)", where(data, "hint_penalty"))
            penalty = 0

        stages: list[Stage] = []
        raw_stages = data.get("stages")
        if "stages" not in data:
            self.add("a case needs 'stages': a list of at least one stage", data.location)
        elif not isinstance(raw_stages, YamlList) or not raw_stages:
            self.add("'stages' must be a list of at least one stage", where(data, "stages"))
        else:
            seen: dict[str, Location] = {}
            for index, raw in enumerate(raw_stages):
                stage = self.stage(raw, raw_stages.item_location(index))
                if stage is None:
                    continue
                first = seen.get(stage.id)
                if first is not None:
                    self.add(f"duplicate stage id '{stage.id}' (first defined at line {first.line})", stage.location)
                    continue
                if stage.location is not None:
                    seen[stage.id] = stage.location
                stages.append(stage)
        self.check_contradictions(stages)
        if case_id is None:
            return None
        return Case(case_id, title, summary, tuple(stages), self.path, data.location, teaser, float(penalty))

    def check_contradictions(self, stages: list[Stage]) -> None:
        """A stage whose reveals contradict each other or an earlier stage's."""
        facts = Facts()
        before: set[str] = set()
        for stage in stages:
            if not stage.reveal.items:
                continue  # the same facts, the same contradictions: nothing new to report
            facts = facts.merged(stage.reveal)
            found = contradictions_in(self.vocab, facts)
            for contradiction in found:
                if contradiction.id not in before:
                    self.add(
                        f"the facts known at stage '{stage.id}' contradict each other: {contradiction.message}",
                        stage.location,
                    )
            before = {c.id for c in found}

    def stage(self, raw: Any, location: Location) -> Stage | None:
        if not isinstance(raw, YamlMap):
            self.add("a stage must be a mapping with id, narrative, reveal and questions", location)
            return None
        stage_id = self.kebab_id(raw, "stage")
        what = f"stage '{stage_id}'" if stage_id else "a stage"
        self.unknown_keys(raw, STAGE_KEYS, what)
        narrative = self.text(raw, "narrative", what)

        reveal = Facts()
        raw_reveal = raw.get("reveal")
        if raw_reveal is not None:
            if not isinstance(raw_reveal, YamlMap):
                self.add(f"'reveal' of {what} must be a mapping of fact key: value", where(raw, "reveal"))
            else:
                reveal = self.reveal(raw_reveal)

        questions: list[Question] = []
        raw_questions = raw.get("questions")
        if not isinstance(raw_questions, YamlList) or not raw_questions:
            self.add(
                f"{what} needs 'questions': a list of at least one question",
                where(raw, "questions") if "questions" in raw else raw.location,
            )
        else:
            seen: dict[str, Location] = {}
            for index, raw_question in enumerate(raw_questions):
                question = self.question(raw_question, raw_questions.item_location(index), stage_id)
                if question is None:
                    continue
                first = seen.get(question.id)
                if first is not None:
                    self.add(
                        f"duplicate question id '{question.id}' in {what} (first defined at line {first.line})",
                        question.location,
                    )
                    continue
                if question.location is not None:
                    seen[question.id] = question.location
                questions.append(question)

        points: list[str] = []
        raw_points = raw.get("teaching_points")
        if raw_points is not None:
            if not isinstance(raw_points, YamlList):
                self.add(f"'teaching_points' of {what} must be a list of text", where(raw, "teaching_points"))
            else:
                for index, point in enumerate(raw_points):
                    if not _is_text(point):
                        self.add(f"a teaching point of {what} must be non-empty text", raw_points.item_location(index))
                        continue
                    self.check_date(point, raw_points.item_location(index), f"a teaching point of {what}")
                    points.append(str(point).strip())
        if not stage_id:
            return None
        return Stage(stage_id, narrative, reveal, tuple(questions), tuple(points), raw.location)

    def kebab_id(self, raw: YamlMap, what: str) -> str:
        value = raw.get("id")
        if "id" not in raw:
            self.add(f"a {what} needs an 'id' (kebab-case)", raw.location)
            return ""
        if not isinstance(value, str) or not KEBAB.fullmatch(value):
            self.add(f"{what} id must be kebab-case (like 'next-steps'); got '{shown(value)}'", where(raw, "id"))
            return ""
        return value

    def reveal(self, raw: YamlMap) -> Facts:
        facts = Facts()
        for key, value in raw.items():
            if self.identifiers and (key, raw.key_location(key)) in self.identifiers:
                continue
            own = Problems()
            parsed = parse_facts(self.vocab, {key: value}, raw.value_location(key), own)
            for error in own.errors:
                self.add(error.message, error.location)
            facts = facts.merged(parsed)
        return facts

    def question(self, raw: Any, location: Location, stage_id: str) -> Question | None:
        if not isinstance(raw, YamlMap):
            self.add("a question must be a mapping with id and kind", location)
            return None
        question_id = self.kebab_id(raw, "question")
        what = f"question '{stage_id}.{question_id}'" if question_id else "a question"
        self.unknown_keys(raw, QUESTION_KEYS, what)

        kind = raw.get("kind")
        if "kind" not in raw:
            self.add(f"{what} needs a 'kind' ({' or '.join(QUESTION_KINDS)})", raw.location)
            kind = None
        elif kind not in QUESTION_KINDS:
            self.add(
                f"unknown question kind '{shown(kind)}' in {what}{self.hint(str(kind), QUESTION_KINDS)}; "
                f"use {' or '.join(QUESTION_KINDS)}",
                where(raw, "kind"),
            )
            kind = None

        key = self.question_key(raw, kind, what)
        choices: tuple[str, ...] | None = None
        if kind == "next_steps":
            choices = tuple(s.id for s in self.vocab.next_steps)
        elif kind == "conclusion" and key is not None:
            entry = self.vocab.conclusion(key)
            choices = entry.value_ids if entry is not None else None

        options = choices or ()
        answer_choices = choices
        if "options" in raw:
            listed = self.ids(raw, "options", what, kind, key, choices, allow_empty=False)
            options = listed or ()
            answer_choices = listed if choices is not None else None  # bad options: check no answer against them
        prompt = self.text(raw, "prompt", what, required=False)
        if not prompt and "prompt" not in raw and kind is not None:
            prompt = _default_prompt(self.vocab, kind, key, options)

        answer: tuple[str, ...] | None = None
        if "answer" in raw:
            answer = self.ids(raw, "answer", what, kind, key, answer_choices, allow_empty=True, as_answer=True)
            if answer is not None and key == WORKING_DIAGNOSIS and len(answer) > 1:
                self.add(
                    f"'answer' of {what}: the working diagnosis is one value, not {len(answer)}", where(raw, "answer")
                )
        reason = self.text(raw, "answer_reason", what, required=False)
        if "answer" in raw and not reason and "answer_reason" not in raw:
            self.add(
                f"{what} overrides the derived answer: 'answer' needs an 'answer_reason' saying why",
                raw.key_location("answer"),
            )
        if "answer_reason" in raw and "answer" not in raw:
            self.add(f"'answer_reason' of {what} needs an 'answer' to explain", raw.key_location("answer_reason"))
        nothing = raw.get("expect_nothing", False)
        if not isinstance(nothing, bool):
            self.add(f"'expect_nothing' of {what} must be true or false", where(raw, "expect_nothing"))
            nothing = False
        nothing_reason = self.text(raw, "expect_nothing_reason", what, required=False)
        if nothing and not nothing_reason and "expect_nothing_reason" not in raw:
            self.add(
                f"{what} expects nothing: 'expect_nothing' needs an 'expect_nothing_reason' saying why",
                raw.key_location("expect_nothing"),
            )
        if "expect_nothing_reason" in raw and not nothing:
            self.add(
                f"'expect_nothing_reason' of {what} needs 'expect_nothing: true'",
                raw.key_location("expect_nothing_reason"),
            )
        weight = raw.get("weight", 1)
        if type(weight) is not int or not 1 <= weight <= MAX_WEIGHT:
            self.add(
                f"'weight' of {what} must be a whole number of points from 1 to {MAX_WEIGHT}; "
                f"got {shown_value(weight)}",
                where(raw, "weight"),
            )
            weight = 1
        if not question_id or kind is None:
            return None
        return Question(
            question_id,
            kind,
            key,
            prompt,
            options,
            answer,
            reason or None,
            raw.location,
            bool(nothing),
            nothing_reason or None,
            weight,
        )

    def question_key(self, raw: YamlMap, kind: str | None, what: str) -> str | None:
        key = raw.get("key")
        if kind == "next_steps":
            if "key" in raw:
                self.add(f"'key' is only for conclusion questions ({what} is next_steps)", raw.key_location("key"))
            return None
        if kind != "conclusion":
            return None
        conclusion_ids = [c.id for c in self.vocab.conclusions]
        if "key" not in raw:
            self.add(
                f"{what} is a conclusion question and needs a 'key': one of {', '.join(conclusion_ids)}", raw.location
            )
            return None
        if not isinstance(key, str) or self.vocab.conclusion(key) is None:
            if isinstance(key, str) and self.vocab.fact(key) is not None:
                self.add(
                    f"'{key}' in {what} is a fact the case reveals, not a conclusion the rules derive",
                    where(raw, "key"),
                )
            else:
                self.add(
                    f"unknown conclusion key '{shown(key)}' in {what}{self.hint(str(key), conclusion_ids)}",
                    where(raw, "key"),
                )
            return None
        return key

    def ids(
        self,
        raw: YamlMap,
        field_name: str,
        what: str,
        kind: str | None,
        key: str | None,
        choices: tuple[str, ...] | None,
        *,
        allow_empty: bool,
        as_answer: bool = False,
    ) -> tuple[str, ...] | None:
        """A list of option ids (``options`` or ``answer``), each one of ``choices``."""
        value = raw[field_name]
        location = where(raw, field_name)
        items: list[Any]
        locations: list[Location | None]
        if isinstance(value, YamlList):
            items = list(value)
            locations = [value.item_location(i) for i in range(len(value))]
        elif isinstance(value, str) and as_answer:
            items, locations = [value], [location]
        else:
            self.add(f"'{shown(field_name)}' of {what} must be a list of ids", location)
            return None
        if not items and not allow_empty:
            self.add(f"'{shown(field_name)}' of {what} must list at least one id", location)
            return None
        clean: list[str] = []
        bad = False
        for item, loc in zip(items, locations, strict=True):
            if not isinstance(item, str):
                self.add(f"'{shown(field_name)}' of {what} must list ids (text); got {shown_value(item)}", loc)
                bad = True
            elif item in clean:
                self.add(f"'{shown(item)}' is listed twice in '{shown(field_name)}' of {what}", loc)
                bad = True
            elif choices is not None and item not in choices:
                self.add(self.bad_option(item, field_name, what, kind, key, choices), loc)
                bad = True
            else:
                clean.append(item)
        return None if bad else tuple(clean)

    def bad_option(
        self, item: str, field_name: str, what: str, kind: str | None, key: str | None, choices: tuple[str, ...]
    ) -> str:
        hint = self.hint(item, choices)
        if field_name == "answer":
            return f"answer '{item}' of {what} is not one of its options{hint}"
        if kind == "next_steps":
            return f"unknown next step '{item}' in the options of {what}{hint}"
        return f"unknown value '{item}' for conclusion '{key}' in the options of {what}{hint}"


def _display(path: str | os.PathLike[str], display_path: str | None) -> str:
    return display_path if display_path is not None else os.fsdecode(path)


def load_case(path: str | os.PathLike[str], vocab: Vocabulary, *, display_path: str | None = None) -> Case:
    """Load and validate one case file; every problem is reported at once."""
    where = _display(path, display_path)
    return parse_case(load_yaml_file(path, expect=dict, display_path=where), vocab, where)


def parse_case(data: Any, vocab: Vocabulary, path: str, warnings: list[DataError] | None = None) -> Case:
    """Validate one loaded case document (``path``: where it was read from);
    every problem is reported at once. Warnings (which stop nothing) are added
    to ``warnings`` when it is given."""
    problems = Problems()
    case = _CaseParser(vocab, path, problems).parse(data)
    if warnings is not None:
        warnings.extend(problems.warnings)
    problems.raise_if_any()
    if case is None:  # pragma: no cover - parse reports a problem whenever it gives up
        raise DataError("not a valid case", Location(path, 1, 1))
    return case


def load_cases(directory: str | os.PathLike[str], vocab: Vocabulary) -> tuple[Case, ...]:
    """Every ``*.yaml`` case of ``directory``, sorted by ID.

    Each file must be named ``<id>.yaml`` and IDs are unique; problems of all
    files are reported together.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise DataError("cases folder not found", Location(os.fsdecode(directory)))
    problems = Problems()
    cases: list[Case] = []
    seen: dict[str, Case] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            case = load_case(path, vocab)
        except DataError as error:
            problems.errors.extend(getattr(error, "errors", [error]))
            continue
        first = seen.get(case.id)
        id_location = case.location
        if first is not None:
            problems.add(f"case '{case.id}': duplicate case id (first defined at {first.location})", id_location)
            continue
        if path.stem != case.id:
            problems.add(f"case '{case.id}': the file should be named '{case.id}.yaml'", id_location)
        seen[case.id] = case
        cases.append(case)
    problems.raise_if_any()
    return tuple(sorted(cases, key=lambda c: c.id))


def find_case(ref: str, directory: str | os.PathLike[str], vocab: Vocabulary) -> Case:
    """The case ``ref`` names: a case ID of ``directory`` or a path to a ``.yaml`` file."""
    if ref.endswith((".yaml", ".yml")) or "/" in ref or os.sep in ref:
        return load_case(ref, vocab)
    folder = Path(directory)
    candidate = folder / f"{ref}.yaml"
    if KEBAB.fullmatch(ref) and candidate.is_file():
        case = load_case(candidate, vocab)
        if case.id != ref:
            raise DataError(f"case '{case.id}': the file should be named '{case.id}.yaml'", case.location)
        return case
    known = sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
    raise DataError(
        f"unknown case '{shown(ref)}'{did_you_mean(ref, known)}", Location(str(folder)), code="unknown-case"
    )


def check_key(case: Case, vocab: Vocabulary, inferences: list[Inference]) -> None:
    """Check the answer key of ``case`` (``inferences``: one per stage), raising
    every problem at once:

    * a question whose expected answer is empty, unless it is marked
      ``expect_nothing`` (with a reason), and one so marked that expects something;
    * a conclusion question whose expected value only restates a fact revealed
      in the same stage (the vocabulary marks such values with ``restates``).
    """
    problems = Problems()
    for index, stage, question in iter_questions(case):
        inference = inferences[index]
        what = f"case '{case.id}': question '{qualified_id(stage, question)}'"
        expected = expected_answer(question, inference, vocab)
        where_ = question.location or case.location
        if not expected and not question.expect_nothing:
            problems.add(
                f"{what} expects nothing at this stage; ask something the rules answer, or mark it "
                "'expect_nothing: true' with an 'expect_nothing_reason'",
                where_,
            )
        elif expected and question.expect_nothing:
            labels = ", ".join(option_label(vocab, question, e) for e in expected)
            problems.add(f"{what} is marked 'expect_nothing' but the rules expect: {labels}", where_)
        if question.kind == "conclusion" and question.key is not None:
            entry = vocab.conclusion(question.key)
            revealed = set(dict(stage.reveal.items))
            for value in expected:
                term = entry.value(value) if entry is not None else None
                restated = [k for k in (term.restates if term else ()) if k in revealed]
                if restated:
                    problems.add(
                        f"{what} only restates what this stage reveals ({', '.join(vocab.label(k) for k in restated)}"
                        f" -> {option_label(vocab, question, value)}); ask what follows from it instead",
                        where_,
                    )
    problems.raise_if_any()
