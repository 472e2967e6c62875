"""JSON Schemas of the files authors write (rules, vocabulary, fidelity table,
cases) and of students' answer files, generated from the parsers' key tables
and the bundled vocabulary; and the generated parts of ``docs/authoring.md``.

The schemas are for editors (``# yaml-language-server: $schema=...``): the
loader stays the judge, and ``tests/test_schema.py`` keeps the two in step.
:func:`schema_problems` validates loaded YAML against a schema with the
``jsonschema`` library (a test dependency, imported only there) and maps each
error's JSON path back to ``path:line:col``.

Regenerate the committed files after changing a key table, a field's
description or the vocabulary: ``python -m imt_tutor.schema``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .answers import ANSWER_KEYS, MAX_STUDENT_CHARS, OPTIONAL_ANSWER_KEYS
from .cases import CASE_KEYS, DATE_PATTERNS, QUESTION_KEYS, QUESTION_KINDS, STAGE_KEYS
from .check import CODES
from .errors import DataError, Location, Problem, did_you_mean
from .fidelity import CHECK_KEYS, EXPECTATION_KEYS, ROW_KEYS, TABLE_KEYS
from .loading import YamlList, YamlMap
from .models import RuleBase, Vocabulary
from .rulebase import CONDITION_KEYS, KEBAB, RULE_FILE_KEYS, RULE_KEYS, THEN_KEYS
from .vocabulary import (
    CONCLUSION_KEYS,
    CONCLUSION_TERM_KEYS,
    CONTRADICTION_KEYS,
    FACT_KEYS,
    RESERVED_KEYS,
    SNAKE,
    STEP_KEYS,
    TERM_KEYS,
    VOCABULARY_KEYS,
)

__all__ = [
    "FIELDS",
    "SCHEMA_FILES",
    "TABLES",
    "authoring_parts",
    "build_schemas",
    "refresh_generated",
    "schema_problems",
    "schemas_text",
]

DRAFT = "http://json-schema.org/draft-07/schema#"
ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILES = {
    "rules": "rules.schema.json",
    "vocabulary": "vocabulary.schema.json",
    "fidelity": "fidelity.schema.json",
    "case": "case.schema.json",
    "answers": "answers.schema.json",
}

# --------------------------------------------------------------------- the key tables, documented

#: Each table of keys the parsers accept, with where it is used: (title, keys).
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "rule-file": ("A rule file (`rules/*.yaml`)", RULE_FILE_KEYS),
    "rule": ("A rule", RULE_KEYS),
    "then": ("A rule's `then`", THEN_KEYS),
    "condition": ("A condition (`when`), besides `fact: value` and `conclusion: value`", CONDITION_KEYS),
    "case": ("A case (`cases/<id>.yaml`)", CASE_KEYS),
    "stage": ("A stage of a case", STAGE_KEYS),
    "question": ("A question of a stage", QUESTION_KEYS),
    "vocabulary": ("The vocabulary (`rules/vocabulary.yaml`)", VOCABULARY_KEYS),
    "fact": ("A fact of the vocabulary", FACT_KEYS),
    "conclusion": ("A conclusion of the vocabulary", CONCLUSION_KEYS),
    "term": ("A value of a fact, or a next step's label", TERM_KEYS),
    "conclusion-term": ("A value of a conclusion", CONCLUSION_TERM_KEYS),
    "step": ("A next step of the vocabulary", STEP_KEYS),
    "contradiction": ("A contradiction of the vocabulary", CONTRADICTION_KEYS),
    "fidelity": ("The fidelity table (`rules/fidelity.yaml`)", TABLE_KEYS),
    "row": ("A row of the fidelity table", ROW_KEYS),
    "check": ("A check of a fidelity row", CHECK_KEYS),
    "answers": ("A student's answer file", (*ANSWER_KEYS, *OPTIONAL_ANSWER_KEYS)),
}

#: (table, key) -> (required, what it means). A test checks it covers the tables exactly.
FIELDS: dict[tuple[str, str], tuple[bool, str]] = {
    ("rule-file", "rules"): (True, "The rules of this file: a non-empty list."),
    ("rule", "id"): (True, "Kebab-case, unique across every rule file (`mass-needs-biopsy`)."),
    ("rule", "when"): (True, "The condition under which the rule fires (see the conditions below)."),
    ("rule", "then"): (True, "What the rule does: `conclude`, `suggest` and/or `accept`."),
    ("rule", "explanation"): (True, "One line a student reads: why this follows, in the source's words."),
    ("rule", "source"): (True, "The section heading of the source document it rests on, exactly as listed."),
    ("then", "conclude"): (False, "`conclusion: value` (or a list of values) the rule concludes."),
    ("then", "suggest"): (False, "Next steps the rule suggests: the student is expected to pick them."),
    ("then", "accept"): (
        False,
        "Next steps the rule accepts without requiring them (the source's 'may be considered').",
    ),
    ("condition", "all"): (False, "A list of conditions that must all hold."),
    ("condition", "any"): (False, "A list of conditions of which one must hold (no conclusion under it)."),
    ("condition", "not"): (False, "A condition that must not hold (no conclusion under it)."),
    ("condition", "known"): (False, "A fact key whose value is known, whatever it is."),
    ("condition", "unknown"): (False, "A fact key whose value is not known yet."),
    ("case", "id"): (True, "Kebab-case; the file is named `<id>.yaml`."),
    ("case", "title"): (True, "A short title students see."),
    ("case", "teaser"): (False, "What a student reads before starting: no outcome (default: the summary)."),
    ("case", "summary"): (
        True,
        "One sentence on what the case is about (for the instructor: it may tell the outcome).",
    ),
    ("case", "hint_penalty"): (False, "Points a hint costs, from 0 to 1 (default 0)."),
    ("case", "fictional"): (True, "Must be `true`: every case is fictional."),
    ("case", "stages"): (True, "The stages, in order: a non-empty list."),
    ("stage", "id"): (True, "Kebab-case, unique in the case."),
    ("stage", "narrative"): (True, "What the student reads at this stage."),
    ("stage", "reveal"): (
        False,
        "Facts this stage makes known (`fact: value`, or a list for a list-valued fact); they add up, "
        "and a later stage may replace a value.",
    ),
    ("stage", "questions"): (True, "The questions asked at this stage: a non-empty list."),
    ("stage", "teaching_points"): (False, "Lines shown after the stage's questions."),
    ("question", "id"): (True, "Kebab-case, unique in the stage; answer files name it `stage.question`."),
    ("question", "kind"): (True, "`next_steps` (pick the steps to take now) or `conclusion` (pick values of `key`)."),
    ("question", "key"): (False, "For a `conclusion` question (and only there): the conclusion it asks about."),
    ("question", "prompt"): (False, "The question's text (a default is written from the kind and key)."),
    ("question", "options"): (
        False,
        "The options offered (default: every next step, or every value of `key`); none twice.",
    ),
    ("question", "answer"): (
        False,
        "An override of the answer the rules derive (needs `answer_reason`); rarely right.",
    ),
    ("question", "answer_reason"): (False, "Why the override: shown to the student with the answer."),
    ("question", "expect_nothing"): (
        False,
        "`true` where the right answer is to pick nothing (needs `expect_nothing_reason`).",
    ),
    ("question", "expect_nothing_reason"): (False, "Why nothing is expected: shown to the student."),
    ("question", "weight"): (False, "The points the question is worth in the case's total: 1 to 100 (default 1)."),
    ("vocabulary", "sections"): (True, "The source document's section headings, exactly as written there."),
    ("vocabulary", "facts"): (True, "`fact_key: {label, description, multi, values}`: what cases reveal."),
    ("vocabulary", "conclusions"): (True, "`conclusion_key: {label, description, values}`: what rules derive."),
    ("vocabulary", "next_steps"): (True, "`step_id: {label, description, done_when}`: what rules suggest."),
    ("vocabulary", "contradictions"): (False, "Facts that cannot all hold of one patient: `{id, when, message}`."),
    ("fact", "label"): (True, "The fact's name as students read it."),
    ("fact", "description"): (True, "One line on what the fact is."),
    ("fact", "multi"): (False, "`true` for a list-valued fact (`symptoms: [cough, fever]`)."),
    ("fact", "values"): (True, "`value_id: {label, description}`: the values a case may give it."),
    ("conclusion", "label"): (True, "The conclusion's name as students read it."),
    ("conclusion", "description"): (True, "One line on what it is."),
    ("conclusion", "values"): (True, "`value_id: {label, description, restates}`, least to most specific."),
    ("term", "label"): (True, "The value's name as students read it."),
    ("term", "description"): (True, "One line on what it means."),
    ("conclusion-term", "label"): (True, "The value's name as students read it."),
    ("conclusion-term", "description"): (True, "One line on what it means."),
    ("conclusion-term", "restates"): (
        False,
        "Fact keys this value only puts in other words: asking for it in the stage that reveals one of them "
        "tests nothing.",
    ),
    ("step", "label"): (True, "The step's name as students read it."),
    ("step", "description"): (True, "One line on what it is for."),
    ("step", "done_when"): (
        False,
        "Facts that, once known, mean the step has been done (a key, or `{key: [values]}`); no rule may "
        "suggest it then.",
    ),
    ("contradiction", "id"): (True, "Kebab-case, unique."),
    ("contradiction", "when"): (True, "At least two fact tests (`key: value(s)`, `known: key`, `unknown: key`)."),
    ("contradiction", "message"): (True, "What is contradictory, as `check` and `infer` report it."),
    ("fidelity", "facts"): (True, "The rows: each fact (claim) of the source document, in the project's words."),
    ("row", "id"): (True, "Kebab-case, unique."),
    ("row", "section"): (True, "The section heading the claim comes from."),
    ("row", "claim"): (True, "One line, in the project's words, never the document's sentence."),
    ("row", "rules"): (False, "The rules that encode the claim (with `checks`)."),
    ("row", "checks"): (False, "`infer` checks that hold of those rules (with `rules`)."),
    ("row", "not_encoded"): (False, "Instead of rules and checks: why the rules cannot encode the claim."),
    ("check", "facts"): (True, "Facts as a case would reveal them."),
    ("check", "concludes"): (False, "`conclusion: value(s)` the rules must draw."),
    ("check", "not_concludes"): (False, "`conclusion: value(s)` the rules must not draw."),
    ("check", "suggests"): (False, "Next steps the rules must suggest."),
    ("check", "not_suggests"): (False, "Next steps the rules must not suggest."),
    ("check", "accepts"): (False, "Next steps the rules must accept without requiring them."),
    ("answers", "student"): (True, f"Who answered: text of at most {MAX_STUDENT_CHARS} characters."),
    ("answers", "case"): (True, "The case ID."),
    ("answers", "answers"): (True, "`stage.question: [option ids]` (or one ID, or `[]` to pick nothing)."),
    ("answers", "submitted_at"): (False, "When: an ISO 8601 date and time with a time zone (`2026-03-02T09:30:00Z`)."),
    ("answers", "hints"): (False, "`stage.question: n`: the hints used (written by the browser page and `run`)."),
    ("answers", "because"): (False, "Information only (written by `imt-tutor key --format json`)."),
    ("answers", "accepted"): (False, "Information only (written by `imt-tutor key --format json`)."),
    ("answers", "weights"): (
        False,
        "Information only (written by `imt-tutor key`): the case file's weights are the ones that count.",
    ),
    ("answers", "disclaimer"): (False, "Information only (written by `imt-tutor key --format json`)."),
}


def _doc(table: str, key: str) -> str:
    return FIELDS[(table, key)][1]


def _required(table: str) -> list[str]:
    return [k for k in TABLES[table][1] if FIELDS[(table, k)][0]]


# --------------------------------------------------------------------- building blocks

KEBAB_PATTERN = KEBAB.pattern
SNAKE_PATTERN = SNAKE.pattern
TEXT = {"type": "string", "pattern": r"\S"}
ONE_LINE = {"type": "string", "pattern": r"^\s*\S[^\n]*\s*$"}
# A calendar date looks like a date of birth: case text must not hold one.
DATE = "|".join(p.pattern for p in DATE_PATTERNS)
CASE_TEXT = {"type": "string", "pattern": r"\S", "not": {"pattern": DATE}}


def _enum(values: Iterable[str]) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def _one_or_list(item: dict[str, Any], *, min_items: int = 1) -> dict[str, Any]:
    listed: dict[str, Any] = {"type": "array", "items": item}
    if min_items:
        listed["minItems"] = min_items
    return {"anyOf": [item, listed]}


def _object(
    table: str,
    properties: Mapping[str, Any],
    *,
    extra: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """An object of ``table``: exactly its keys, the required ones required,
    each property described from :data:`FIELDS`."""
    keys = TABLES[table][1]
    missing = [k for k in keys if k not in properties or (table, k) not in FIELDS]
    if missing:
        raise KeyError(f"schema.py does not describe the field(s) {', '.join(missing)} of '{table}' yet")
    props = {k: {**properties[k], "description": _doc(table, k)} for k in keys}
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if description:
        out = {"description": description, **out}
    required = _required(table)
    if required:
        out["required"] = required
    if extra:
        out.update(extra)
    return out


def _fact_value(vocab: Vocabulary, key: str) -> dict[str, Any]:
    fact = vocab.fact(key)
    assert fact is not None
    item = _enum(fact.value_ids)
    if fact.multi:
        return _one_or_list(item)
    return {"anyOf": [item, {"type": "array", "items": item, "minItems": 1, "maxItems": 1}]}


def _described(schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {"description": text, **schema}


def _facts(vocab: Vocabulary, *, min_properties: int = 0) -> dict[str, Any]:
    """A mapping of fact key: value(s), as a case reveals them."""
    out: dict[str, Any] = {
        "type": "object",
        "properties": {f.id: _described(_fact_value(vocab, f.id), f"{f.label}: {f.description}") for f in vocab.facts},
        "additionalProperties": False,
    }
    if min_properties:
        out["minProperties"] = min_properties
    return out


def _conclusions(vocab: Vocabulary, *, min_items: int = 0) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            c.id: _described(_one_or_list(_enum(c.value_ids), min_items=min_items), f"{c.label}: {c.description}")
            for c in vocab.conclusions
        },
        "additionalProperties": False,
        "minProperties": 1,
    }


def _steps(vocab: Vocabulary) -> dict[str, Any]:
    return _enum(s.id for s in vocab.next_steps)


# --------------------------------------------------------------------- rules


def _conditions(vocab: Vocabulary) -> dict[str, Any]:
    """``condition`` (where conclusions may be required: the top of ``when`` and
    its ``all``) and ``nested`` (under ``any`` and ``not``: facts only)."""
    fact_ids = _enum(f.id for f in vocab.facts)

    def condition(top: bool) -> dict[str, Any]:
        here, nested = ("#/definitions/condition", "#/definitions/nested") if top else ("#/definitions/nested",) * 2
        props: dict[str, Any] = {f.id: _described(_one_or_list(_enum(f.value_ids)), f.description) for f in vocab.facts}
        if top:
            props.update(
                {
                    c.id: _described(_one_or_list(_enum(c.value_ids)), f"(a conclusion) {c.description}")
                    for c in vocab.conclusions
                }
            )
        props.update(
            {
                "all": {
                    "type": "array",
                    "items": {"$ref": here},
                    "minItems": 1,
                    "description": _doc("condition", "all"),
                },
                "any": {
                    "type": "array",
                    "items": {"$ref": nested},
                    "minItems": 1,
                    "description": _doc("condition", "any"),
                },
                "not": {"$ref": nested, "description": _doc("condition", "not")},
                "known": {**fact_ids, "description": _doc("condition", "known")},
                "unknown": {**fact_ids, "description": _doc("condition", "unknown")},
            }
        )
        return {"type": "object", "properties": props, "additionalProperties": False, "minProperties": 1}

    return {"condition": condition(True), "nested": condition(False)}


def rules_schema(base: RuleBase) -> dict[str, Any]:
    vocab = base.vocabulary
    steps = _one_or_list(_steps(vocab), min_items=0)
    then = _object(
        "then",
        {"conclude": _conclusions(vocab), "suggest": steps, "accept": steps},
        extra={"minProperties": 1},
    )
    rule = _object(
        "rule",
        {
            "id": {"type": "string", "pattern": KEBAB_PATTERN},
            "when": {"$ref": "#/definitions/condition"},
            "then": {"$ref": "#/definitions/then"},
            "explanation": ONE_LINE,
            "source": _enum(vocab.sections),
        },
    )
    return {
        "$schema": DRAFT,
        "title": "imt-tutor rule file",
        "description": "Rules of imt-tutor (TEACHING AID ONLY - not a diagnostic tool). See docs/authoring.md.",
        **_object("rule-file", {"rules": {"type": "array", "items": {"$ref": "#/definitions/rule"}, "minItems": 1}}),
        "definitions": {"rule": rule, "then": then, **_conditions(vocab)},
    }


# --------------------------------------------------------------------- vocabulary


def vocabulary_schema() -> dict[str, Any]:
    snake_names = {"pattern": SNAKE_PATTERN}
    fact_names = {"pattern": SNAKE_PATTERN, "not": {"enum": list(RESERVED_KEYS)}}

    def terms(ref: str) -> dict[str, Any]:
        return {
            "type": "object",
            "propertyNames": snake_names,
            "additionalProperties": {"$ref": ref},
            "minProperties": 1,
        }

    term = _object("term", {"label": TEXT, "description": TEXT})
    conclusion_term = _object(
        "conclusion-term",
        {"label": TEXT, "description": TEXT, "restates": {"type": "array", "items": {"type": "string"}}},
    )
    fact = _object(
        "fact",
        {"label": TEXT, "description": TEXT, "multi": {"type": "boolean"}, "values": terms("#/definitions/term")},
    )
    conclusion = _object(
        "conclusion", {"label": TEXT, "description": TEXT, "values": terms("#/definitions/conclusion_term")}
    )
    done_when_item = {
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": _one_or_list({"type": "string"}, min_items=0),
            },
        ]
    }
    step = _object(
        "step", {"label": TEXT, "description": TEXT, "done_when": {"type": "array", "items": done_when_item}}
    )
    fact_test = {
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": _one_or_list({"type": "string"}, min_items=0),
    }
    contradiction = _object(
        "contradiction",
        {
            "id": {"type": "string", "pattern": KEBAB_PATTERN},
            "when": {"type": "array", "items": fact_test, "minItems": 2},
            "message": TEXT,
        },
    )

    def mapping(ref: str, names: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "propertyNames": names, "additionalProperties": {"$ref": ref}, "minProperties": 1}

    return {
        "$schema": DRAFT,
        "title": "imt-tutor vocabulary",
        "description": "The vocabulary of imt-tutor (TEACHING AID ONLY - not a diagnostic tool).",
        **_object(
            "vocabulary",
            {
                "sections": {"type": "array", "items": TEXT, "minItems": 1},
                "facts": mapping("#/definitions/fact", fact_names),
                "conclusions": mapping("#/definitions/conclusion", snake_names),
                "next_steps": mapping("#/definitions/step", snake_names),
                "contradictions": {"type": "array", "items": {"$ref": "#/definitions/contradiction"}},
            },
        ),
        "definitions": {
            "term": term,
            "conclusion_term": conclusion_term,
            "fact": fact,
            "conclusion": conclusion,
            "step": step,
            "contradiction": contradiction,
        },
    }


# --------------------------------------------------------------------- fidelity table


def fidelity_schema(base: RuleBase) -> dict[str, Any]:
    vocab = base.vocabulary
    steps = _one_or_list(_steps(vocab))
    check = _object(
        "check",
        {
            "facts": _facts(vocab, min_properties=1),
            "concludes": _conclusions(vocab, min_items=1),
            "not_concludes": _conclusions(vocab, min_items=1),
            "suggests": steps,
            "not_suggests": steps,
            "accepts": steps,
        },
        extra={"anyOf": [{"required": [k]} for k in EXPECTATION_KEYS]},
    )
    row = _object(
        "row",
        {
            "id": {"type": "string", "pattern": KEBAB_PATTERN},
            "section": _enum(vocab.sections),
            "claim": ONE_LINE,
            "rules": {"type": "array", "items": _enum(r.id for r in base.rules), "minItems": 1, "uniqueItems": True},
            "checks": {"type": "array", "items": {"$ref": "#/definitions/check"}, "minItems": 1},
            "not_encoded": ONE_LINE,
        },
        extra={
            "oneOf": [
                {"required": ["rules", "checks"], "not": {"required": ["not_encoded"]}},
                {
                    "required": ["not_encoded"],
                    "not": {"anyOf": [{"required": ["rules"]}, {"required": ["checks"]}]},
                },
            ]
        },
    )
    return {
        "$schema": DRAFT,
        "title": "imt-tutor fidelity table",
        "description": "Each fact of the source document with the rules that encode it (TEACHING AID ONLY).",
        **_object("fidelity", {"facts": {"type": "array", "items": {"$ref": "#/definitions/row"}, "minItems": 1}}),
        "definitions": {"row": row, "check": check},
    }


# --------------------------------------------------------------------- cases


def case_schema(vocab: Vocabulary) -> dict[str, Any]:
    steps = _steps(vocab)
    conclusion_ids = [c.id for c in vocab.conclusions]
    ids_list = {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": True}
    question = _object(
        "question",
        {
            "id": {"type": "string", "pattern": KEBAB_PATTERN},
            "kind": _enum(QUESTION_KINDS),
            "key": _enum(conclusion_ids),
            "prompt": CASE_TEXT,
            "options": ids_list,
            "answer": {"anyOf": [{"type": "string"}, {**ids_list, "minItems": 0}]},
            "answer_reason": CASE_TEXT,
            "expect_nothing": {"type": "boolean"},
            "expect_nothing_reason": CASE_TEXT,
            "weight": {"type": "integer", "minimum": 1, "maximum": 100},
        },
        extra={
            "dependencies": {"answer": ["answer_reason"], "answer_reason": ["answer"]},
            "allOf": [
                {
                    "if": {"properties": {"kind": {"const": "next_steps"}}, "required": ["kind"]},
                    "then": {
                        "not": {"required": ["key"]},
                        "properties": {
                            "options": {"items": steps},
                            "answer": {"anyOf": [steps, {"type": "array", "items": steps}]},
                        },
                    },
                },
                {
                    "if": {"properties": {"kind": {"const": "conclusion"}}, "required": ["kind"]},
                    "then": {"required": ["key"]},
                },
                {
                    "if": {"properties": {"expect_nothing": {"const": True}}, "required": ["expect_nothing"]},
                    "then": {"required": ["expect_nothing_reason"]},
                },
                {
                    "if": {"required": ["expect_nothing_reason"]},
                    "then": {"properties": {"expect_nothing": {"const": True}}, "required": ["expect_nothing"]},
                },
                *(
                    {
                        "if": {"properties": {"key": {"const": c.id}}, "required": ["key"]},
                        "then": {
                            "properties": {
                                "options": {"items": _enum(c.value_ids)},
                                "answer": {
                                    "anyOf": [_enum(c.value_ids), {"type": "array", "items": _enum(c.value_ids)}]
                                },
                            }
                        },
                    }
                    for c in vocab.conclusions
                ),
            ],
        },
    )
    stage = _object(
        "stage",
        {
            "id": {"type": "string", "pattern": KEBAB_PATTERN},
            "narrative": CASE_TEXT,
            "reveal": _facts(vocab),
            "questions": {"type": "array", "items": {"$ref": "#/definitions/question"}, "minItems": 1},
            "teaching_points": {"type": "array", "items": CASE_TEXT},
        },
    )
    return {
        "$schema": DRAFT,
        "title": "imt-tutor case",
        "description": "A fictional teaching case of imt-tutor (TEACHING AID ONLY - not a diagnostic tool).",
        **_object(
            "case",
            {
                "id": {"type": "string", "pattern": KEBAB_PATTERN},
                "title": CASE_TEXT,
                "teaser": CASE_TEXT,
                "summary": CASE_TEXT,
                "hint_penalty": {
                    "anyOf": [
                        {"type": "number", "minimum": 0, "maximum": 1},
                        {"type": "string", "pattern": r"^\s*[0-9.eE+-]+\s*$"},
                    ]
                },
                "fictional": {"const": True},
                "stages": {"type": "array", "items": {"$ref": "#/definitions/stage"}, "minItems": 1},
            },
        ),
        "definitions": {"stage": stage, "question": question},
    }


# --------------------------------------------------------------------- answer files


# The answer parser forgives another letter case and surrounding spaces in IDs.
ANY_CASE_KEBAB = r"^\s*[A-Za-z0-9]+(-[A-Za-z0-9]+)*\s*$"
ANY_CASE_QUALIFIED = r"^\s*[A-Za-z0-9]+(-[A-Za-z0-9]+)*\.[A-Za-z0-9]+(-[A-Za-z0-9]+)*\s*$"


def answers_schema(vocab: Vocabulary) -> dict[str, Any]:
    known = sorted({s.id for s in vocab.next_steps} | {v for c in vocab.conclusions for v in c.value_ids})
    # Any letter case, spaces around: the IDs are listed for the editor's completion, not enforced.
    pick = {"type": "string", "pattern": r"\S", "examples": known}
    return {
        "$schema": DRAFT,
        "title": "imt-tutor answer file",
        "description": "A student's answers to one fictional case (TEACHING AID ONLY - not a diagnostic tool).",
        **_object(
            "answers",
            {
                # Not empty, and not starting like a spreadsheet formula.
                "student": {"type": "string", "pattern": r"^\s*[^\s=+\-@]", "maxLength": MAX_STUDENT_CHARS},
                "case": {"type": "string", "pattern": ANY_CASE_KEBAB},
                "answers": {
                    "type": "object",
                    "patternProperties": {ANY_CASE_QUALIFIED: {"anyOf": [pick, {"type": "array", "items": pick}]}},
                    "additionalProperties": False,
                },
                "submitted_at": {"type": ["string", "null"]},
                "hints": {
                    "type": ["object", "null"],
                    "patternProperties": {ANY_CASE_QUALIFIED: {"type": "integer", "minimum": 0, "maximum": 100}},
                    "additionalProperties": False,
                },
                "because": {"type": "object"},
                "accepted": {"type": "object"},
                "weights": {"type": "object"},
                "disclaimer": {"type": "string"},
            },
        ),
    }


def build_schemas(base: RuleBase) -> dict[str, dict[str, Any]]:
    """Every schema, by the names of :data:`SCHEMA_FILES`."""
    vocab = base.vocabulary
    return {
        "rules": rules_schema(base),
        "vocabulary": vocabulary_schema(),
        "fidelity": fidelity_schema(base),
        "case": case_schema(vocab),
        "answers": answers_schema(vocab),
    }


def schemas_text(base: RuleBase) -> dict[str, str]:
    """File name -> the text of each schema file (as committed under ``schemas/``)."""
    return {
        SCHEMA_FILES[name]: json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
        for name, schema in build_schemas(base).items()
    }


# --------------------------------------------------------------------- validating with jsonschema


def _node_at(data: Any, path: Iterable[Any], file: str) -> tuple[Any, Location]:
    """The node at JSON ``path`` of loaded YAML ``data`` and where it is written."""
    node = data
    location = getattr(data, "location", Location(file, 1, 1))
    for step in path:
        if isinstance(node, YamlMap) and step in node:
            location = node.value_location(step)
            node = node[step]
        elif isinstance(node, YamlList) and isinstance(step, int) and 0 <= step < len(node):
            location = node.item_location(step)
            node = node[step]
        else:
            break
    return node, location


def _extra_key(node: Any, schema: Mapping[str, Any]) -> str | None:
    if not isinstance(node, YamlMap):
        return None
    allowed = set(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    for key in node:
        if key not in allowed and not any(p.search(key) for p in patterns):
            return str(key)
    return None


def _most_telling(error: Any) -> Any:
    """The error that says most, within an ``anyOf``/``oneOf`` failure: not a
    mismatch of type where a branch of the right type failed for a reason,
    the deepest in the document, recursively."""
    while error.context:
        candidates = [e for e in error.context if e.validator != "type"] or list(error.context)
        error = max(candidates, key=lambda e: len(e.absolute_path))
    return error


def _message(error: Any) -> str:
    if error.validator == "enum" and isinstance(error.instance, str):
        choices = [str(c) for c in error.validator_value]
        shown = ", ".join(choices) if len(choices) <= 12 else ", ".join(choices[:12]) + ", ..."
        return f"{error.instance!r} is not one of {shown}{did_you_mean(error.instance, choices)}"
    if error.validator == "not" and error.validator_value == {"pattern": DATE}:
        return "the text holds a calendar date: cases are fictional: use ages and durations, not dates"
    return str(error.message)


def schema_problems(data: Any, schema: Mapping[str, Any], path: str) -> list[Problem]:
    """Every error of ``data`` (loaded YAML) against ``schema``, each located at
    the YAML node its JSON path leads to (the key itself for an unknown key).

    Needs the ``jsonschema`` library (a test dependency; not needed to run imt-tutor).
    """
    import jsonschema  # here: imt-tutor itself never needs it

    validator = jsonschema.Draft7Validator(schema)
    problems: list[Problem] = []
    for error in validator.iter_errors(data):
        best = _most_telling(error)
        node, location = _node_at(data, best.absolute_path, path)
        message = _message(best)
        key = _extra_key(node, best.schema) if best.validator == "additionalProperties" else None
        if key is not None and isinstance(node, YamlMap):
            location = node.key_location(key)
            message = f"unknown key {key!r}{did_you_mean(key, best.schema.get('properties', {}))}"
        elif best.validator == "dependencies" and isinstance(node, YamlMap):
            # At the key that needs another, as the loader says it.
            for needing, needed in best.validator_value.items():
                if needing in node and any(k not in node for k in needed):
                    location = node.key_location(needing)
                    break
        problems.append(DataError(f"schema: {message}", location, code="schema"))
    return sorted(problems, key=lambda p: (p.location.line, p.location.column) if p.location else (0, 0))


# --------------------------------------------------------------------- docs/authoring.md

BEGIN = "<!-- BEGIN GENERATED: {} (python -m imt_tutor.schema) -->"
END = "<!-- END GENERATED: {} -->"


def _escape_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _field_table(table: str) -> list[str]:
    title, keys = TABLES[table]
    lines = [f"**{title}**", "", "| field | required | meaning |", "|---|---|---|"]
    for key in keys:
        required, meaning = FIELDS[(table, key)]
        lines.append(f"| `{key}` | {'yes' if required else 'no'} | {_escape_cell(meaning)} |")
    return [*lines, ""]


def authoring_parts() -> dict[str, str]:
    """The generated parts of ``docs/authoring.md``: the fields of each file
    (from the parsers' key tables) and the codes of ``check``."""
    groups = {
        "rule-fields": ("rule-file", "rule", "then", "condition"),
        "case-fields": ("case", "stage", "question"),
        "vocabulary-fields": ("vocabulary", "fact", "conclusion", "term", "conclusion-term", "step", "contradiction"),
        "fidelity-fields": ("fidelity", "row", "check"),
        "answer-fields": ("answers",),
    }
    parts = {
        name: "\n".join(line for table in tables for line in _field_table(table)).rstrip() + "\n"
        for name, tables in groups.items()
    }
    codes = ["| code | level | meaning |", "|---|---|---|"]
    codes += [f"| `{c.code}` | {c.level} | {_escape_cell(c.summary)} |" for c in CODES]
    parts["check-codes"] = "\n".join(codes) + "\n"
    return parts


def refresh_document(text: str, parts: Mapping[str, str]) -> str:
    """``text`` with each generated part replaced by its current version."""
    for name, body in parts.items():
        begin, end = BEGIN.format(name), END.format(name)
        start = text.find(begin)
        stop = text.find(end)
        if start < 0 or stop < start:
            raise ValueError(f"docs/authoring.md has no generated part '{name}'")
        text = text[: start + len(begin)] + "\n" + body + text[stop:]
    return text


def refresh_generated(base: RuleBase, root: Path = ROOT) -> list[Path]:
    """Rewrite ``schemas/*.json`` and the generated parts of
    ``docs/authoring.md`` under ``root``; the paths that changed."""
    changed: list[Path] = []
    folder = root / "schemas"
    folder.mkdir(exist_ok=True)
    for name, text in schemas_text(base).items():
        target = folder / name
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            changed.append(target)
    doc = root / "docs" / "authoring.md"
    old = doc.read_text(encoding="utf-8")
    new = refresh_document(old, authoring_parts())
    if new != old:
        doc.write_text(new, encoding="utf-8")
        changed.append(doc)
    return changed


def main(argv: list[str] | None = None) -> int:
    """``python -m imt_tutor.schema``: regenerate from the bundled rule base (silently)."""
    from .files import rules_dir
    from .rulebase import load_rulebase

    del argv
    refresh_generated(load_rulebase(rules_dir()))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
