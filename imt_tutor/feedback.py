"""THE feedback model: everything a student or an instructor is shown about a
case, computed once per case, as frozen data.

:func:`build_key` runs one inference per stage and derives, for every
question, the expected and accepted options and, for **every** option, either
its HOW chain (the firings behind it) or its WHY-NOT gaps, each with a kind:

* ``not_yet_known``: a fact the case has not revealed yet (premature);
* ``already_done``: the step's own fact is known (it has been done);
* ``contradicted``: a known fact rules it out (an ALK inhibitor for an
  ALK-negative tumour);
* ``unsupported``: no rule ever gives this option;
* ``less_specific`` (working diagnosis only): concluded, but not the most
  specific diagnosis the question asks for.

:func:`grade` scores a student's picks against the key alone: no engine call
per student. Every class round-trips through JSON (:func:`key_to_json`,
:func:`key_from_json`), because the browser page carries the key. Nothing here
builds a sentence; ``render/`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .cases import accepted_answer, check_key, expected_answer, iter_questions, option_label, qualified_id, stage_facts
from .explain import (
    GAP_KINDS,
    LESS_SPECIFIC,
    UNSUPPORTED,
    Gap,
    done_keys_of,
    how_chain,
    rule_gaps,
    weakest,
)
from .graph import producers
from .models import (
    AllOf,
    AnyOf,
    Case,
    Condition,
    Facts,
    FactValue,
    Firing,
    Inference,
    Is,
    Known,
    Not,
    RuleBase,
)
from .scoring import CaseScore, QuestionScore, score_case, score_question, score_unanswered

__all__ = [
    "DIFFERENTIAL",
    "GAP_KINDS",
    "WORKING_DIAGNOSIS",
    "CaseKey",
    "Gap",
    "GradedAnswer",
    "GradedCase",
    "OptionKey",
    "QuestionKey",
    "StageKey",
    "build_key",
    "grade",
    "grade_case",
    "key_from_json",
    "key_to_json",
]

WORKING_DIAGNOSIS = "working_diagnosis"
DIFFERENTIAL = "differential"


EXPECTED = "expected"
ACCEPTED = "accepted"
NOT_EXPECTED = "not_expected"


# --------------------------------------------------------------------- the model


@dataclass(frozen=True)
class OptionKey:
    """One option of a question: its verdict and why."""

    option: str
    label: str
    verdict: str
    because: tuple[str, ...] = ()
    how: tuple[Firing, ...] = ()
    gaps: tuple[Gap, ...] = ()
    kind: str | None = None


@dataclass(frozen=True)
class QuestionKey:
    qid: str
    number: int
    stage_index: int
    kind: str
    key: str | None
    prompt: str
    options: tuple[OptionKey, ...]
    expected: tuple[str, ...]
    accepted: tuple[str, ...]
    because: tuple[str, ...]
    author_reason: str | None = None
    nothing_reason: str | None = None
    weight: int = 1  # points in the case's total

    def option(self, option_id: str) -> OptionKey:
        return self._by_option[option_id]

    @cached_property
    def _by_option(self) -> dict[str, OptionKey]:
        return {entry.option: entry for entry in reversed(self.options)}

    @cached_property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(o.option for o in self.options)

    @cached_property
    def _scoring(self) -> tuple[dict[str, str], dict[str, str], tuple[str, ...]]:
        """What :func:`grade` gives :func:`imt_tutor.scoring.score_question`, worked out once:
        the rule each option's deduction names, each option's gap kind, the less specific options."""
        rules: dict[str, str] = {}
        gaps: dict[str, str] = {}
        partial: list[str] = []
        for entry in self.options:
            if entry.verdict == EXPECTED and entry.because:
                rules[entry.option] = entry.because[0]
            elif entry.gaps:
                rules[entry.option] = entry.gaps[0].rule
            if entry.kind is not None:
                gaps[entry.option] = entry.kind
            if entry.kind == LESS_SPECIFIC:
                partial.append(entry.option)
        return rules, gaps, tuple(partial)

    def labels(self) -> dict[str, str]:
        return {o.option: o.label for o in self.options}


@dataclass(frozen=True)
class StageKey:
    """One stage: the facts known (and which are new), what the rules conclude
    (key, value, rules) and what stays in the differential."""

    stage_id: str
    index: int
    narrative: str
    facts: Facts
    new: tuple[str, ...]
    conclusions: tuple[tuple[str, str, tuple[str, ...]], ...]
    differential: tuple[str, ...]
    teaching_points: tuple[str, ...]


@dataclass(frozen=True)
class CaseKey:
    case_id: str
    title: str
    summary: str
    engine: str
    stages: tuple[StageKey, ...]
    questions: tuple[QuestionKey, ...]
    teaser: str = ""
    hint_penalty: float = 0.0

    def question(self, qid: str) -> QuestionKey:
        return self._by_qid[qid]

    @cached_property
    def weights(self) -> tuple[int, ...]:
        """Each question's weight, in case order (what :class:`GradedCase` totals with)."""
        return tuple(q.weight for q in self.questions)

    @cached_property
    def _by_qid(self) -> dict[str, QuestionKey]:
        """Each question by its ID (the first, should two share one), built once."""
        return {q.qid: q for q in reversed(self.questions)}


# --------------------------------------------------------------------- building the key


def _option_key(
    base: RuleBase,
    inference: Inference,
    question: Any,
    option: str,
    expected: tuple[str, ...],
    accepted: tuple[str, ...],
) -> OptionKey:
    vocab = base.vocabulary
    label = option_label(vocab, question, option)
    if question.kind == "next_steps":
        because = dict(inference.suggestions()).get(option, ())
        if option in accepted:
            chain = how_chain(inference, vocab, accepted=option)
            rules = dict(inference.acceptances()).get(option, ())
            return OptionKey(option, label, ACCEPTED, rules, tuple(chain))
        chain = how_chain(inference, vocab, step=option) if because else []
        if option in expected:
            return OptionKey(option, label, EXPECTED, because, tuple(chain))
        if because:  # suggested, but the author's override does not expect it
            return OptionKey(option, label, NOT_EXPECTED, because, tuple(chain), kind=UNSUPPORTED)
        rules = [r for r in base.rules if option in r.suggest]
        gaps = rule_gaps(base, inference, rules, done_keys_of(vocab, option))
        return OptionKey(option, label, NOT_EXPECTED, gaps=gaps, kind=weakest(gaps))
    key = str(question.key)
    because = next((rules for k, v, rules in inference.conclusions() if k == key and v == option), ())
    chain = how_chain(inference, vocab, conclusion=(key, option)) if because else []
    if option in expected:
        return OptionKey(option, label, EXPECTED, because, tuple(chain))
    if because:
        kind = LESS_SPECIFIC if key == WORKING_DIAGNOSIS else UNSUPPORTED
        return OptionKey(option, label, NOT_EXPECTED, because, tuple(chain), kind=kind)
    rules = list(producers(base.rules, key, (option,)))
    gaps = rule_gaps(base, inference, rules, done_keys_of(vocab, None))
    return OptionKey(option, label, NOT_EXPECTED, gaps=gaps, kind=weakest(gaps))


def build_key(
    base: RuleBase, engine: Any, case: Case, *, check: bool = True, inferences: list[Inference] | None = None
) -> CaseKey:
    """The whole feedback model of ``case``: one inference per stage (or the
    ``inferences`` given, one per stage).

    With ``check`` (the default), the key's problems (empty or restating
    questions, see :func:`imt_tutor.cases.check_key`) are raised first.
    """
    vocab = base.vocabulary
    if inferences is None:
        # A stage that reveals nothing new has the facts of one before it: one engine run per set of facts.
        by_facts: dict[Facts, Inference] = {}
        inferences = []
        for facts in stage_facts(case):
            if facts not in by_facts:
                by_facts[facts] = engine.infer(facts)
            inferences.append(by_facts[facts])
    if check:
        check_key(case, vocab, inferences)
    # Equal inferences (stages that reveal nothing new) are explained once, however many stages share one.
    same: dict[Inference, int] = {}
    group = [same.setdefault(inference, len(same)) for inference in inferences]
    concluded: dict[int, tuple[tuple[str, str, tuple[str, ...]], ...]] = {}
    stages = []
    for index, stage in enumerate(case.stages):
        inference = inferences[index]
        conclusions = concluded.get(group[index])
        if conclusions is None:
            conclusions = concluded[group[index]] = inference.conclusions()
        stages.append(
            StageKey(
                stage.id,
                index,
                stage.narrative,
                inference.facts,
                tuple(k for k, _ in stage.reveal.items),
                conclusions,
                tuple(v for k, v, _ in conclusions if k == DIFFERENTIAL),
                stage.teaching_points,
            )
        )
    explained: dict[tuple[int, str, str | None, str, bool, bool], OptionKey] = {}
    questions = []
    for number, (index, stage, question) in enumerate(iter_questions(case), 1):
        inference = inferences[index]
        expected = expected_answer(question, inference, vocab)
        accepted = accepted_answer(question, inference)
        entries = []
        for option in question.options:
            memo = (group[index], question.kind, question.key, option, option in expected, option in accepted)
            entry = explained.get(memo)
            if entry is None:
                entry = explained[memo] = _option_key(base, inference, question, option, expected, accepted)
            entries.append(entry)
        options = tuple(entries)
        because = tuple(dict.fromkeys(r for o in options if o.verdict == EXPECTED for r in o.because))
        questions.append(
            QuestionKey(
                qualified_id(stage, question),
                number,
                index,
                question.kind,
                question.key,
                question.prompt,
                options,
                expected,
                accepted,
                because,
                question.answer_reason if question.answer is not None else None,
                question.expect_nothing_reason,
                question.weight,
            )
        )
    return CaseKey(
        case.id,
        case.title,
        case.summary,
        getattr(engine, "name", "?"),
        tuple(stages),
        tuple(questions),
        case.teaser,
        case.hint_penalty,
    )


# --------------------------------------------------------------------- grading


@dataclass(frozen=True, slots=True)
class GradedAnswer:
    qid: str
    picks: tuple[str, ...] | None  # None: not answered
    score: QuestionScore
    hints: int = 0


@dataclass(frozen=True, slots=True)
class GradedCase:
    """Every question of a case graded, in case order; ``weights`` are the
    questions' (empty: each weighs 1)."""

    case_id: str
    answers: tuple[GradedAnswer, ...]
    weights: tuple[int, ...] = ()

    @property
    def points(self) -> float:
        return self.total.points

    @property
    def total(self) -> CaseScore:
        return score_case((a.score for a in self.answers), self.weights or None)


def grade(
    question: QuestionKey, picks: Iterable[str] | None, *, hints: int = 0, hint_penalty: float = 0.0
) -> GradedAnswer:
    """Score ``picks`` for one question from the key alone (``None``: unanswered, 0 points)."""
    if picks is None:
        return GradedAnswer(question.qid, None, score_unanswered(question.expected), hints)
    chosen = tuple(dict.fromkeys(picks))
    known = question._by_option
    unknown = [p for p in chosen if p not in known]
    if unknown:
        raise ValueError(f"not an option of {question.qid}: {unknown[0]!r}")
    rules, gaps, partial = question._scoring
    score = score_question(
        chosen,
        question.expected,
        question.option_ids,
        accepted=question.accepted,
        partial=partial,
        gaps=gaps,
        rules=rules,
        hints=hints,
        hint_penalty=hint_penalty,
    )
    return GradedAnswer(question.qid, chosen, score, hints)


def grade_case(
    key: CaseKey, answers: Mapping[str, Iterable[str]], hints: Mapping[str, int] | None = None
) -> GradedCase:
    """Every question of the case, in case order: the answered ones graded,
    the others unanswered (0 points)."""
    used = hints or {}
    return GradedCase(
        key.case_id,
        tuple(
            grade(q, answers.get(q.qid), hints=used.get(q.qid, 0), hint_penalty=key.hint_penalty) for q in key.questions
        ),
        key.weights,
    )


# --------------------------------------------------------------------- JSON


def _value(value: FactValue) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _unvalue(value: Any) -> FactValue:
    return tuple(value) if isinstance(value, list) else str(value)


def condition_to_json(cond: Condition) -> dict[str, Any]:
    if isinstance(cond, Is):
        return {"is": cond.key, "values": list(cond.values), "conclusion": cond.on_conclusion}
    if isinstance(cond, Known):
        return {"known": cond.key}
    if isinstance(cond, Not):
        return {"not": condition_to_json(cond.part)}
    if isinstance(cond, AllOf):
        return {"all": [condition_to_json(p) for p in cond.parts]}
    return {"any": [condition_to_json(p) for p in cond.parts]}


def condition_from_json(data: Mapping[str, Any]) -> Condition:
    if "is" in data:
        return Is(str(data["is"]), tuple(data["values"]), bool(data["conclusion"]))
    if "known" in data:
        return Known(str(data["known"]))
    if "not" in data:
        return Not(condition_from_json(data["not"]))
    if "all" in data:
        return AllOf(tuple(condition_from_json(p) for p in data["all"]))
    return AnyOf(tuple(condition_from_json(p) for p in data["any"]))


def _firing_json(f: Firing) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "matched": [[k, _value(v)] for k, v in f.matched],
        "concluded": [list(pair) for pair in f.concluded],
        "suggested": list(f.suggested),
        "accepted": list(f.accepted),
        "explanation": f.explanation,
        "source": f.source,
    }


def _firing(data: Mapping[str, Any]) -> Firing:
    return Firing(
        data["rule"],
        tuple((k, _unvalue(v)) for k, v in data["matched"]),
        tuple((k, v) for k, v in data["concluded"]),
        tuple(data["suggested"]),
        data["explanation"],
        data["source"],
        tuple(data["accepted"]),
    )


def key_to_json(key: CaseKey) -> dict[str, Any]:
    """The whole key as JSON-ready data (lists, dicts, strings, numbers)."""
    return {
        "case": key.case_id,
        "title": key.title,
        "summary": key.summary,
        "engine": key.engine,
        "teaser": key.teaser,
        "hint_penalty": key.hint_penalty,
        "stages": [
            {
                "id": s.stage_id,
                "index": s.index,
                "narrative": s.narrative,
                "facts": [[k, _value(v)] for k, v in s.facts.items],
                "new": list(s.new),
                "conclusions": [[k, v, list(r)] for k, v, r in s.conclusions],
                "differential": list(s.differential),
                "teaching_points": list(s.teaching_points),
            }
            for s in key.stages
        ],
        "questions": [
            {
                "id": q.qid,
                "number": q.number,
                "stage_index": q.stage_index,
                "kind": q.kind,
                "key": q.key,
                "prompt": q.prompt,
                "expected": list(q.expected),
                "accepted": list(q.accepted),
                "because": list(q.because),
                "author_reason": q.author_reason,
                "nothing_reason": q.nothing_reason,
                "weight": q.weight,
                "options": [
                    {
                        "id": o.option,
                        "label": o.label,
                        "verdict": o.verdict,
                        "because": list(o.because),
                        "kind": o.kind,
                        "how": [_firing_json(f) for f in o.how],
                        "gaps": [
                            {
                                "kind": g.kind,
                                "rule": g.rule,
                                "source": g.source,
                                "condition": condition_to_json(g.condition),
                                "fact": g.fact,
                                "known": list(g.known),
                                "producers": list(g.producers),
                            }
                            for g in o.gaps
                        ],
                    }
                    for o in q.options
                ],
            }
            for q in key.questions
        ],
    }


def key_from_json(data: Mapping[str, Any]) -> CaseKey:
    """The inverse of :func:`key_to_json`."""
    stages = tuple(
        StageKey(
            s["id"],
            s["index"],
            s["narrative"],
            Facts(tuple((k, _unvalue(v)) for k, v in s["facts"])),
            tuple(s["new"]),
            tuple((k, v, tuple(r)) for k, v, r in s["conclusions"]),
            tuple(s["differential"]),
            tuple(s["teaching_points"]),
        )
        for s in data["stages"]
    )
    questions = tuple(
        QuestionKey(
            q["id"],
            q["number"],
            q["stage_index"],
            q["kind"],
            q["key"],
            q["prompt"],
            tuple(
                OptionKey(
                    o["id"],
                    o["label"],
                    o["verdict"],
                    tuple(o["because"]),
                    tuple(_firing(f) for f in o["how"]),
                    tuple(
                        Gap(
                            g["kind"],
                            g["rule"],
                            g["source"],
                            condition_from_json(g["condition"]),
                            g["fact"],
                            tuple(g["known"]),
                            tuple(g["producers"]),
                        )
                        for g in o["gaps"]
                    ),
                    o["kind"],
                )
                for o in q["options"]
            ),
            tuple(q["expected"]),
            tuple(q["accepted"]),
            tuple(q["because"]),
            q["author_reason"],
            q["nothing_reason"],
            int(q.get("weight", 1)),
        )
        for q in data["questions"]
    )
    return CaseKey(
        data["case"],
        data["title"],
        data["summary"],
        data["engine"],
        stages,
        questions,
        data["teaser"],
        data["hint_penalty"],
    )
