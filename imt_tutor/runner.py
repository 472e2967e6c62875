"""The case runner: a fictional case, question by question, with explained feedback.

:class:`CaseRun` is the pure core. Built from a rule base, an engine and a
case, it builds the case's feedback model once (:class:`~imt_tutor.feedback.CaseKey`)
and grades every answer from it. What the student sees is worded by
:mod:`imt_tutor.render.text`: short feedback (the score, one sentence per rule,
one line per kind of mistake) with more on demand (``how``, ``why-not``), a
recap that never shows a conclusion before its question has been answered,
tiered hints, and a summary of what to review. :func:`play` is the question
loop, talking through a :class:`Console` (the terminal ones live in
:mod:`imt_tutor.cli.console`). No answer is shown before it is asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from . import DISCLAIMER
from .cases import check_key, facts_at, iter_questions, option_label, qualified_id
from .engines import Engine
from .errors import DataError, Location, did_you_mean, shown
from .explain import why_not
from .feedback import WORKING_DIAGNOSIS, CaseKey, GradedAnswer, build_key, grade
from .graph import rule_graph
from .models import Case, Facts, Firing, Inference, Question, RuleBase, Stage
from .render.text import (
    WIDTH,
    Feedback,
    Section,
    masked_firing_lines,
    needs_lines,
    paragraph,
    recap_lines,
    short_feedback,
    why_not_lines,
    why_not_step_lines,
    wrap_lines,
)
from .render.words import pair_text
from .rulebase import observed_keys
from .scoring import CaseScore, QuestionScore, score_case, weighted_points

__all__ = [
    "COMMANDS",
    "CaseRun",
    "Console",
    "Feedback",
    "Help",
    "Item",
    "PickError",
    "Section",
    "play",
]

COMMANDS = ("help", "why", "why-not", "how", "hint", "facts", "what-if", "back", "quit", "q", "exit")
QUIT = ("quit", "q", "exit")
NOTHING = ("-", "none")
YES = ("yes", "y")
NO = ("no", "n")
DIGITS = re.compile(r"[0-9]{1,4}")  # option numbers: ASCII digits only, of a sane length
MAX_ANSWER_CHARS = 2000


class PickError(ValueError):
    """An answer that names no option of the question (the message says why)."""


class Back(Exception):
    """The student asked to change the previous answer of this stage."""


@dataclass(frozen=True)
class Item:
    """One question of the case, in order (``number`` counts from 1)."""

    number: int
    stage_index: int
    stage: Stage
    question: Question
    qid: str


@dataclass
class Help:
    """What a student asked for on one question: hints, why, why-not, how."""

    hints: int = 0
    why: int = 0
    why_not: list[str] = field(default_factory=list)
    how: int = 0

    def any(self) -> bool:
        return bool(self.hints or self.why or self.why_not or self.how)

    def as_json(self) -> dict[str, object]:
        return {"hints": self.hints, "why": self.why, "why_not": list(self.why_not), "how": self.how}


def _indent(lines: list[str], by: str = "  ") -> list[str]:
    return [by + line for line in lines]


class CaseRun:
    """One student's pass through one case (pure: no I/O).

    The case's feedback model is built once, from one inference per stage;
    every answer is graded and explained from it alone.
    """

    def __init__(
        self, base: RuleBase, engine: Engine, case: Case, *, show_rules: bool = False, width: int = WIDTH
    ) -> None:
        self.base = base
        self.vocab = base.vocabulary
        self.engine = engine
        self.case = case
        self.show_rules = show_rules
        self.width = max(40, min(width, WIDTH))
        self.items = tuple(
            Item(n, i, stage, q, qualified_id(stage, q)) for n, (i, stage, q) in enumerate(iter_questions(case), 1)
        )
        self._by_qid = {item.qid: item for item in self.items}
        self._inferences: dict[int, Inference] = {}
        self._by_facts: dict[Facts, Inference] = {}  # stages with the same facts share one engine run
        self._key: CaseKey | None = None
        self.answers: dict[str, tuple[str, ...]] = {}
        self.feedback: dict[str, Feedback] = {}
        self.graded: dict[str, GradedAnswer] = {}
        self.help: dict[str, Help] = {}
        self._last_recap: list[str] | None = None
        self.told_more = False  # the pointer to 'how' and 'why-not' is shown once

    @property
    def key(self) -> CaseKey:
        """The feedback model of the case (built on first use)."""
        if self._key is None:
            inferences = [self.inference(i) for i in range(len(self.case.stages))]
            self._key = build_key(self.base, self.engine, self.case, check=False, inferences=inferences)
        return self._key

    # ----------------------------------------------------------------- lookup

    def item(self, qid: str) -> Item:
        found = self._by_qid.get(qid)
        if found is None:
            raise DataError(
                f"unknown question '{shown(qid)}' in case '{self.case.id}'{did_you_mean(qid, self._by_qid)}"
            )
        return found

    def signature(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Each question ID with its options: what a saved transcript must match."""
        return tuple((item.qid, item.question.options) for item in self.items)

    def weights(self) -> tuple[tuple[str, int], ...]:
        """The questions weighing more than 1 point, with their weights (as a transcript keeps them)."""
        return tuple((item.qid, item.question.weight) for item in self.items if item.question.weight != 1)

    def facts(self, stage_index: int) -> Facts:
        return facts_at(self.case, stage_index)

    def inference(self, stage_index: int) -> Inference:
        """The engine's inference on the facts known at a stage (computed once)."""
        if stage_index not in self._inferences:
            facts = self.facts(stage_index)
            if facts not in self._by_facts:
                self._by_facts[facts] = self.engine.infer(facts)
            self._inferences[stage_index] = self._by_facts[facts]
        return self._inferences[stage_index]

    def check_key(self) -> None:
        """Raise every problem of the case's answer key (see :func:`cases.check_key`)."""
        check_key(self.case, self.vocab, [self.inference(i) for i in range(len(self.case.stages))])

    def expected(self, qid: str) -> tuple[str, ...]:
        return self.key.question(self.item(qid).qid).expected

    def accepted(self, qid: str) -> tuple[str, ...]:
        """Options a rule accepts here without requiring them (no penalty)."""
        return self.key.question(self.item(qid).qid).accepted

    def label(self, item: Item, option: str) -> str:
        return option_label(self.vocab, item.question, option)

    def next_item(self) -> Item | None:
        """The first question not answered yet."""
        for item in self.items:
            if item.qid not in self.answers:
                return item
        return None

    def help_for(self, qid: str) -> Help:
        return self.help.setdefault(qid, Help())

    def single(self, item: Item) -> bool:
        """Whether the question takes one answer (the most specific working diagnosis)."""
        return item.question.kind == "conclusion" and item.question.key == WORKING_DIAGNOSIS

    def yes_no(self, item: Item) -> bool:
        """A question with a single option is answered yes or no."""
        return len(item.question.options) == 1

    # ----------------------------------------------------------------- reasons

    def because(self, item: Item, option: str) -> tuple[str, ...]:
        """The rules whose firing makes ``option`` true at this question's stage."""
        entry = self.key.question(item.qid).option(option)
        return entry.because if entry.verdict != "accepted" else ()

    def accepted_because(self, item: Item, option: str) -> tuple[str, ...]:
        entry = self.key.question(item.qid).option(option)
        return entry.because if entry.verdict == "accepted" else ()

    def support(self, item: Item, option: str) -> tuple[Firing, ...]:
        """The HOW chain behind ``option``: its rules and those they needed."""
        return self.key.question(item.qid).option(option).how

    def hidden(self) -> frozenset[tuple[str, str]]:
        """What is never shown before the question it would give away is asked:
        every option of a conclusion question not answered yet in the stage
        being worked (its less specific options too: "Consistent with IMT"
        before "the most specific working diagnosis?"), and the values later
        conclusion questions expect."""
        upcoming = self.next_item()
        current = upcoming.stage_index if upcoming is not None else len(self.key.stages)
        return frozenset(
            (str(q.key), v)
            for q in self.key.questions
            if q.kind == "conclusion" and q.qid not in self.answers
            for v in (q.option_ids if q.stage_index <= current else q.expected)
        )

    # ----------------------------------------------------------------- answering

    def parse_picks(self, qid: str, text: str) -> tuple[str, ...]:
        """Option IDs from ``1,3`` / ``biopsy, nsaids`` / ``-`` (nothing) / ``yes``, ``no``."""
        item = self.item(qid)
        options = item.question.options
        if len(text) > MAX_ANSWER_CHARS:
            raise PickError(f"that answer is {len(text):,} characters long; give option numbers or IDs.")
        tokens = [t for t in text.replace(",", " ").split() if t]
        if len(tokens) == 1 and tokens[0].lower() in NOTHING and tokens[0] not in options:
            return ()
        if self.yes_no(item) and len(tokens) == 1 and tokens[0].lower() in YES + NO:
            return options if tokens[0].lower() in YES else ()
        lowered = {o.lower(): o for o in options}
        picks: list[str] = []
        for token in tokens:
            if DIGITS.fullmatch(token):
                n = int(token)
                if not 1 <= n <= len(options):
                    raise PickError(f"there is no option {n}: choose from 1 to {len(options)}.")
                pick = options[n - 1]
            elif token.lower() in lowered:
                pick = lowered[token.lower()]
            elif token.lower() in NOTHING:
                raise PickError(f"'{_shown(token)}' (nothing) cannot be combined with other picks.")
            else:
                raise PickError(f"'{_shown(token)}' is not an option here{did_you_mean(token, options)}.")
            if pick not in picks:
                picks.append(pick)
        if self.single(item) and len(picks) > 1:
            raise PickError("this question takes one answer: the most specific diagnosis.")
        return tuple(picks)

    def answer(self, qid: str, picks: tuple[str, ...] | list[str] | None) -> Feedback:
        """Record ``picks`` for ``qid`` (``None``: left unanswered) and explain them, from the key alone."""
        item = self.item(qid)
        options = item.question.options
        chosen = None if picks is None else tuple(dict.fromkeys(picks))
        for pick in chosen or ():
            if pick not in options:
                raise DataError(
                    f"'{shown(pick)}' is not an option of question '{shown(qid)}'{did_you_mean(pick, options)}"
                )
        used = self.help_for(qid).hints
        graded = grade(self.key.question(qid), chosen, hints=used, hint_penalty=self.key.hint_penalty)
        feedback = short_feedback(self.vocab, self.key, graded, show_rules=self.show_rules, width=self.width)
        self.answers[qid] = chosen or ()
        self.graded[qid] = graded
        self.feedback[qid] = feedback
        return feedback

    def unanswer(self, qid: str) -> None:
        """Forget the answer to ``qid`` (``back``)."""
        for store in (self.answers, self.feedback, self.graded):
            store.pop(qid, None)  # type: ignore[attr-defined]
        self._last_recap = None

    def scores(self) -> list[tuple[Item, QuestionScore]]:
        return [(item, self.graded[item.qid].score) for item in self.items if item.qid in self.graded]

    def case_score(self) -> CaseScore:
        """The answered questions' points (each times its weight) out of their weights."""
        scores = self.scores()
        return score_case((s for _, s in scores), [item.question.weight for item, _ in scores])

    def recap(self, stage_index: int, *, force: bool = False) -> list[str]:
        """The recap at a stage, or ``[]`` when it has not changed since it was last shown."""
        lines = recap_lines(self.vocab, self.key, stage_index, self.hidden())
        if not force and lines == self._last_recap:
            return []
        self._last_recap = lines
        return lines

    # ----------------------------------------------------------------- help at the prompt

    def relevant_rules(self, item: Item) -> list[str]:
        """The rules behind the options, and the rules those depend on."""
        question = item.question
        graph = rule_graph(self.base.rules)
        if question.kind == "next_steps":
            seeds = [r for r in self.base.rules if set(r.suggest) & set(question.options)]
        else:
            seeds = list(graph.producers(question.key or "", question.options))
        return graph.upstream(seeds)

    def why(self, qid: str) -> list[str]:
        """What the question decides and which facts matter to it."""
        item = self.item(qid)
        self.help_for(qid).why += 1
        question = item.question
        if question.kind == "next_steps":
            decides = "which next steps the rules suggest now, from the facts known so far (all that apply, or none)."
        elif self.single(item):
            decides = "the most specific working diagnosis the facts known so far support (one answer)."
        else:
            entry = self.vocab.conclusion(question.key or "")
            what = f"{entry.label} ({entry.description.rstrip('.')})" if entry else question.key
            decides = f"which values of {what} the rules conclude from the facts known so far."
        keys: set[str] = set()
        for rule_id in self.relevant_rules(item):
            rule = self.base.rule(rule_id)
            if rule is not None:
                keys |= observed_keys(rule.when)
        facts = self.facts(item.stage_index)
        lines = [f"This question decides {decides}", "The facts the rules behind these options look at:"]
        for fact in self.vocab.facts:
            if fact.id in keys:
                status = "known" if fact.id in facts else "not known yet"
                lines.append(f"  - {fact.label} ({status})")
        if not keys:
            lines.append("  (none: the rules behind these options look only at other conclusions)")
        return lines

    def hint(self, qid: str, n: int | None = None) -> str:
        """The next hint, tiered: which facts decide it; the section to reread;
        how the options stand (counts only). Never the answer."""
        item = self.item(qid)
        used = self.help_for(qid)
        tier = used.hints if n is None else n
        if n is None:
            used.hints += 1
        question = self.key.question(qid)
        firings = [f for o in question.expected for f in question.option(o).how]
        if tier == 0:
            keys = [k for f in firings for k, _ in f.matched if self.vocab.fact(k) is not None]
            if not keys:
                return (
                    "Hint 1 of 3: none of these options has everything it needs yet; for each, ask what it "
                    "needs ('why-not N') and whether that is known."
                )
            labels = list(dict.fromkeys(self.vocab.label(k) for k in keys))
            return f"Hint 1 of 3: what decides this is {_either(labels)}."
        if tier == 1:
            sources = list(dict.fromkeys(f.source for f in firings))
            if not sources:
                rules = [self.base.rule(r) for r in self.relevant_rules(item)]
                sources = list(dict.fromkeys(r.source for r in rules if r is not None))[:2]
            return f"Hint 2 of 3: reread {_either([f'{s!r}' for s in sources])} in the source."
        if tier == 2:
            counts: dict[str, int] = {}
            for entry in question.options:
                if entry.verdict == "not_expected":
                    counts[entry.kind or "unsupported"] = counts.get(entry.kind or "unsupported", 0) + 1
            words = {
                "not_yet_known": "premature (they need a fact not known yet)",
                "already_done": "already done",
                "contradicted": "ruled out by what is known",
                "unsupported": "not suggested by any rule here",
                "less_specific": "true, but less specific than the answer",
            }
            n_expected = len(question.expected)
            parts = [f"{n} {words[k]}" for k, n in counts.items()]
            expected = (
                "nothing is expected"
                if not n_expected
                else f"{n_expected} option{'s' if n_expected > 1 else ''} expected"
            )
            return f"Hint 3 of 3: {expected}; of the others, {', '.join(parts) or 'none is wrong'}."
        return "No more hints for this question: answer it, then 'how' and 'why-not N' explain every option."

    def how(self, qid: str) -> list[str]:
        """After an answer: the whole chain of rules behind each expected (and accepted) option."""
        item = self.item(qid)
        if qid not in self.answers:
            raise PickError("'how' explains an answer: answer the question first (or ask 'why').")
        self.help_for(qid).how += 1
        question = self.key.question(qid)
        hidden = self.hidden()
        lines: list[str] = []
        for option in (*question.expected, *question.accepted):
            entry = question.option(option)
            lines.append(f"{self.label(item, option)}:")
            for firing in entry.how:
                lines += _indent(masked_firing_lines(self.vocab, firing, hidden))
            if not entry.how:
                lines.append(f"  {question.author_reason or 'No rule supports it at this stage.'}")
        return lines or ["Nothing is expected here: no rule gives any of these options at this stage."]

    def why_not_command(self, qid: str, arg: str) -> list[str]:
        """``why-not STEP``: before answering, what the option needs (not whether
        it holds); after, the full explanation. STEP: an option number or ID, or any next step."""
        item = self.item(qid)
        options = item.question.options
        if not arg:
            raise PickError("say which option: why-not NUMBER or why-not ID.")
        target = arg
        if DIGITS.fullmatch(arg) and 1 <= int(arg) <= len(options):
            target = options[int(arg) - 1]
        target = {o.lower(): o for o in options}.get(target.lower(), target)
        conclusion = item.question.kind == "conclusion"
        if conclusion and target not in options:
            raise PickError(f"'{_shown(arg)}' is not an option here{did_you_mean(arg, options)}.")
        steps = [s.id for s in self.vocab.next_steps]
        if not conclusion and target not in steps:
            raise PickError(f"'{_shown(arg)}' is not a next step{did_you_mean(arg, steps)}.")
        self.help_for(qid).why_not.append(target)
        if qid not in self.answers:
            if conclusion:
                rules = rule_graph(self.base.rules).producers(item.question.key or "", (target,))
            else:
                rules = tuple(r for r in self.base.rules if target in r.suggest or target in r.accept)
            label = self.label(item, target) if target in options else self.vocab.label(target)
            return needs_lines(self.vocab, label, [(r.id, r.source, r.when) for r in rules], self.show_rules)
        if conclusion:
            question = self.key.question(item.qid)
            entry = question.option(target)
            if entry.verdict == "expected":
                return [f"'{entry.label}' IS concluded here, by: {', '.join(entry.because)}."]
            return why_not_lines(self.vocab, question, entry, self.facts(item.stage_index))
        return why_not_step_lines(self.vocab, why_not(self.base, self.inference(item.stage_index), target))

    def what_if_command(self, qid: str, arg: str) -> list[str]:
        """``what-if KEY=VALUE``: what would change at this stage if one fact were different.

        Nothing still to be asked leaks: conclusions an unanswered question
        expects are left out, and so are next steps while this stage's
        next-steps question is unanswered."""
        from .render.whatif import change_text
        from .vocabulary import parse_fact_options
        from .whatif import CONCLUSION, what_if

        item = self.item(qid)
        if not arg or "=" not in arg:
            raise PickError("say which fact: what-if KEY=VALUE (for example what-if alk_ihc=negative).")
        try:
            change = parse_fact_options(self.vocab, [arg])
        except DataError as error:
            raise PickError(_shown(error.message, 120)) from None
        result = what_if(self.engine.infer, self.facts(item.stage_index), change)
        hidden = self.hidden()
        steps_open = any(
            i.question.kind == "next_steps" and i.qid not in self.answers
            for i in self.items
            if i.stage_index == item.stage_index
        )
        asked = ", ".join(
            f"{self.vocab.label(k)} were {self.vocab.label(k, a) if isinstance(a, str) else ', '.join(a)}"
            for k, _, a in result.changed
        )
        lines = [f"What if {asked or 'nothing changed'}?"]
        held = 0
        for change in result.changes:
            if (change.kind == CONCLUSION and (change.key, change.value) in hidden) or (
                change.kind != CONCLUSION and steps_open
            ):
                held += 1
                continue
            lines.append(f"  {change_text(self.vocab, change)}")
        if held:
            lines.append(f"  ({held} more change{'s' if held > 1 else ''} left out: you are asked about them first.)")
        if len(lines) == 1:
            lines.append("  Nothing would change that you may see yet.")
        return lines

    def fact_lines(self, stage_index: int) -> list[str]:
        facts = self.facts(stage_index)
        new = dict(self.case.stages[stage_index].reveal.items)
        lines = []
        for key, value in facts.items:
            mark = "  (new)" if key in new else ""
            lines.append(f"- {pair_text(self.vocab, key, value)}{mark}")
        return lines or ["(nothing known yet)"]

    # ----------------------------------------------------------------- the end

    def review_lines(self) -> list[str]:
        """What to review: each question that lost points, in words, with the
        section to reread; the teaching points of those stages; hints used."""
        lines: list[str] = []
        lost_stages: list[int] = []
        for item, score in self.scores():
            if score.full and not score.deductions:
                continue
            question = self.key.question(item.qid)
            picks = self.answers.get(item.qid, ())
            said = "you said " + (", ".join(self.label(item, p) for p in picks) or "nothing")
            if self.graded[item.qid].picks is None:
                said = "not answered"
            wanted = ", ".join(self.label(item, e) for e in question.expected) or "nothing"
            firing = next(
                (f for e in question.expected for f in question.option(e).how if f.rule in question.option(e).because),
                None,
            )
            because = f", because {firing.explanation[0].lower()}{firing.explanation[1:]}" if firing else ""
            reread = f" Reread: {firing.source}" if firing else ""
            lines.append(f"- {item.qid}: {said}; expected {wanted}{because}{reread}")
            if item.stage_index not in lost_stages:
                lost_stages.append(item.stage_index)
        out: list[str] = []
        if lines:
            out.append("What to review:")
            out += lines
        points = [(self.case.stages[i].id, p) for i in lost_stages for p in self.case.stages[i].teaching_points]
        if points:
            out.append("Teaching points of the stages where you lost points:")
            out += [f"- ({stage}) {point}" for stage, point in points]
        used = [(qid, h) for qid, h in self.help.items() if h.any()]
        if used:
            hints = sum(h.hints for _, h in used)
            asked = ", ".join(f"{qid} ({', '.join(_help_words(h))})" for qid, h in used if _help_words(h))
            out.append(f"Help used: {hints} hint{'s' if hints != 1 else ''}; {asked}.")
        return out


def _help_words(h: Help) -> list[str]:
    words = []
    if h.hints:
        words.append(f"{h.hints} hint{'s' if h.hints > 1 else ''}")
    if h.why:
        words.append("why")
    if h.why_not:
        words.append("why-not " + " ".join(h.why_not))
    if h.how:
        words.append("how")
    return words


def _either(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _shown(text: str, limit: int = 40) -> str:
    """Untrusted text as it may be echoed: control characters escaped, length capped."""
    return shown(text, limit)


# --------------------------------------------------------------------- the loop


class Console(Protocol):
    """Where the loop talks: ``show`` a line (with a tone for colour) and
    ``ask`` for one (raising EOFError / KeyboardInterrupt)."""

    line_number: int

    def show(self, text: str = "", tone: str = "plain") -> None: ...

    def ask(self, prompt: str) -> str: ...


HELP_LINES = (
    "Answer with option numbers or IDs, separated by commas: 1,3 or biopsy, nsaids.",
    "An empty answer (or '-') picks nothing; you are asked to confirm it.",
    "A question with one option takes yes or no.",
    "Commands at any prompt:",
    "  help          this help",
    "  why           what this question decides and which facts matter",
    "  why-not N     what option N needs (after you answer: why it is or is not right)",
    "  hint          a hint (asked again: a stronger one; three at most)",
    "  how           after an answer: the whole chain of rules behind it",
    "  facts         the facts known so far",
    "  what-if K=V   what would change if one fact were different",
    "  back          change your previous answer in this stage",
    "  quit (q)      save and stop (resume later with --resume)",
)


def show_lines(console: Console, lines: list[str], tone: str = "plain", width: int = WIDTH) -> None:
    for line in wrap_lines(lines, width):
        console.show(line, tone)


def banner(run: CaseRun, console: Console, width: int = WIDTH) -> None:
    show_lines(console, [f"*** {DISCLAIMER} ***"], "warn", width)
    console.show()
    show_lines(console, [f"Case: {run.case.title} ({run.case.id})"], "title", width)
    for line in paragraph(run.case.teaser or run.case.summary, width):
        console.show(line)
    console.show(f"{len(run.items)} questions in {len(run.case.stages)} stages. Type 'help' at any prompt.")


def show_stage(run: CaseRun, index: int, console: Console, width: int = WIDTH) -> None:
    stage = run.case.stages[index]
    console.show()
    show_lines(console, [f"== Stage {index + 1} of {len(run.case.stages)}: {stage.id} =="], "title", width)
    for line in paragraph(stage.narrative, width):
        console.show(line)
    console.show()
    console.show("Facts known so far:", "info")
    show_lines(console, _indent(run.fact_lines(index)), width=width)


def show_teaching_points(run: CaseRun, index: int, console: Console, width: int = WIDTH) -> None:
    recap = run.recap(index)
    if recap:
        console.show()
        show_lines(console, recap, "info", width)
    points = run.case.stages[index].teaching_points
    if not points:
        return
    console.show()
    console.show("Teaching points:", "info")
    for point in points:
        for line in paragraph(point, width, indent="  - ", hang="    "):
            console.show(line)


def show_question(run: CaseRun, item: Item, console: Console, width: int = WIDTH) -> None:
    console.show()
    worth = f", worth {item.question.weight} points" if item.question.weight != 1 else ""
    console.show(f"Question {item.number} of {len(run.items)} ({item.qid}{worth})", "question")
    for line in paragraph(item.question.prompt, width):
        console.show(line, "question")
    for n, option in enumerate(item.question.options, 1):
        show_lines(console, [f"  {n:>2}. {run.label(item, option)}  [{option}]"], "option", width)


def show_feedback(run: CaseRun, item: Item, feedback: Feedback, console: Console, width: int = WIDTH) -> None:
    console.show()
    for line, tone in feedback.styled_lines(width):
        console.show(line, tone)
    if not run.told_more:
        show_lines(
            console,
            ["  (More at the next prompt: 'how' shows the whole chain of rules, 'why-not N' any option.)"],
            width=width,
        )
        run.told_more = True
    recap = run.recap(item.stage_index)
    if recap:
        show_lines(console, recap, "info", width)


def show_scores(run: CaseRun, console: Console, width: int = WIDTH, restart: str | None = None) -> None:
    console.show()
    console.show("Scores:", "title")
    if not run.scores():
        console.show("  (no question answered)")
    for item, score in run.scores():
        used = run.help.get(item.qid)
        extra = f"  ({', '.join(_help_words(used))})" if used is not None and used.any() else ""
        weight = item.question.weight
        if weight == 1:
            line = f"  {score.points:4.2f} / 1  {item.qid}{extra}"
        else:  # the question's credit times its weight, as the total counts it
            line = f"  {weighted_points(score, weight):4.2f} / {weight}  {item.qid} (weight {weight}){extra}"
        show_lines(console, [line], width=width)
    total = run.case_score()
    console.show(f"Total: {total.text()}", "title")
    review = run.review_lines()
    if review:
        console.show()
        show_lines(console, review, width=width)
    if restart:
        console.show()
        console.show("To work the case again from the start:")
        for line in command_lines(restart, width):
            console.show(line)


def command_lines(command: str, width: int = WIDTH) -> list[str]:
    """A shell command to copy, indented, continued with `` \\`` before an option when too wide."""
    parts = command.split(" --")
    lines = [f"  {parts[0]}"]
    for part in parts[1:]:
        if len(lines[-1]) + len(part) + 5 > width:
            lines[-1] += " \\"
            lines.append(f"    --{part}")
        else:
            lines[-1] += f" --{part}"
    return lines


AnswerSource = Callable[[Item], "tuple[str, ...] | None"]
SaveHook = Callable[[Item, Feedback], None]


def _command(text: str) -> tuple[str, str] | None:
    words = text.strip().split(None, 1)
    if not words or words[0].lower() not in COMMANDS:
        return None
    return words[0].lower(), (words[1].strip() if len(words) > 1 else "")


def ask_answer(
    run: CaseRun, item: Item, console: Console, *, interactive: bool, width: int = WIDTH
) -> tuple[str, ...] | None:
    """Read one answer (handling commands); ``None`` means the student quit.

    Interactive: a malformed answer is asked again and an empty one confirmed.
    Otherwise (lines from a pipe): a malformed answer is a :class:`DataError`.
    Raises :class:`Back` when the student asks to change the previous answer.
    """
    prompt = "Yes or no? ('help' for commands) " if run.yes_no(item) else ("Your answer? ('help' for commands) ")
    while True:
        text = console.ask(prompt if interactive else "")
        command = _command(text)
        if command is not None:
            name, arg = command
            if not interactive:
                console.show(f"> {_shown(text.strip(), 80)}", "info")
            if name in QUIT:
                return None
            try:
                if name == "help":
                    show_lines(console, list(HELP_LINES), width=width)
                elif name == "why":
                    show_lines(console, run.why(item.qid), width=width)
                elif name == "why-not":
                    show_lines(console, run.why_not_command(item.qid, arg), width=width)
                elif name == "hint":
                    show_lines(console, [run.hint(item.qid)], "warn", width)
                elif name == "how":
                    previous = _previous(run, item)
                    if previous is None:
                        raise PickError("'how' explains an answer you gave in this stage; answer first.")
                    show_lines(console, run.how(previous.qid), width=width)
                elif name == "facts":
                    show_lines(console, run.fact_lines(item.stage_index), width=width)
                elif name == "what-if":
                    show_lines(console, run.what_if_command(item.qid, arg), width=width)
                elif name == "back":
                    if _previous(run, item) is None:
                        raise PickError("there is no earlier answer in this stage to change.")
                    raise Back
            except PickError as error:
                if not interactive:
                    raise DataError(str(error), Location("<stdin>", console.line_number)) from None
                show_lines(console, [f"Sorry: {error}"], "warn", width)
            continue
        try:
            picks = run.parse_picks(item.qid, text)
        except PickError as error:
            if not interactive:
                raise DataError(str(error), Location("<stdin>", console.line_number)) from None
            show_lines(
                console, [f"Sorry: {error} Please try again ('help' explains the answer format)."], "warn", width
            )
            continue
        if not interactive:
            show_lines(console, [f"Answer: {', '.join(picks) or 'nothing'}"], width=width)
        elif not picks and text.strip().lower() not in NOTHING + NO:
            confirm = console.ask("Pick nothing? [y/N] ").strip().lower()
            if confirm not in YES:
                continue
        return picks


def _previous(run: CaseRun, item: Item) -> Item | None:
    """The last answered question of ``item``'s stage before it."""
    before = [i for i in run.items if i.stage_index == item.stage_index and i.number < item.number]
    answered = [i for i in before if i.qid in run.answers]
    return answered[-1] if answered else None


def play(
    run: CaseRun,
    console: Console,
    *,
    interactive: bool,
    save: SaveHook,
    answers: AnswerSource | None = None,
    width: int | None = None,
    restart: str | None = None,
    summary_only: bool = False,
) -> bool:
    """Ask every unanswered question in order; ``save`` after each answer.

    ``answers`` supplies the picks without asking (an answers file; ``None``
    for a question it leaves unanswered). ``summary_only`` prints only the
    final summary. Returns ``False`` if the student quit, ``True`` when every
    question is answered. EOFError and KeyboardInterrupt propagate (the caller
    saves and explains).
    """
    width = run.width if width is None else width
    quiet = _Quiet(console) if summary_only else console
    banner(run, quiet, width)
    start = run.next_item()
    if start is None:
        console.show()
        console.show("You have answered every question of this case already.", "info")
        show_scores(run, console, width, restart)
        return True
    if start.number > 1:
        quiet.show(f"Resuming at question {start.number} of {len(run.items)}.", "info")
    index = start.stage_index
    while index < len(run.case.stages):
        show_stage(run, index, quiet, width)
        pending = [item for item in run.items if item.stage_index == index]
        position = 0
        while position < len(pending):
            item = pending[position]
            if item.qid in run.answers:
                position += 1
                continue
            show_question(run, item, quiet, width)
            if answers is not None:
                picks = answers(item)
            else:
                try:
                    got = ask_answer(run, item, console, interactive=interactive, width=width)
                except Back:
                    previous = _previous(run, item)
                    assert previous is not None
                    run.unanswer(previous.qid)
                    position = pending.index(previous)
                    continue
                if got is None:
                    return False
                picks = got
            feedback = run.answer(item.qid, picks)
            show_feedback(run, item, feedback, quiet, width)
            save(item, feedback)
            position += 1
        show_teaching_points(run, index, quiet, width)
        index += 1
    show_scores(run, console, width, restart)
    return True


class _Quiet:
    """A console that shows nothing (``--summary``) but still reads."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.line_number = console.line_number

    def show(self, text: str = "", tone: str = "plain") -> None:
        pass

    def ask(self, prompt: str) -> str:
        return self.console.ask(prompt)
