"""The case runner: a fictional case, question by question, with explained feedback.

:class:`CaseRun` is the pure core: built from a rule base, an engine and a
case, it lists the questions with the facts known at each stage, derives the
expected answers (one inference per stage, cached) and turns an answer into
:class:`Feedback` (HOW for right and missed picks, WHY-NOT for wrong ones, the
current conclusions and differential, and the score from
:mod:`imt_tutor.scoring`). :func:`play` is the question loop, talking through
a :class:`Console` (the terminal ones live in :mod:`imt_tutor.cli.console`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from . import DISCLAIMER
from .cases import check_key, facts_at, iter_questions, option_label, qualified_id
from .engines import Engine
from .errors import DataError, Location, did_you_mean
from .explain import why_not
from .feedback import CaseKey, build_key, grade
from .graph import rule_graph
from .models import Case, Facts, Firing, Inference, Question, RuleBase, Stage
from .render.text import Feedback, Section, answer_feedback, why_not_lines, why_not_step_lines, wrap_lines
from .render.words import pair_text
from .rulebase import observed_keys
from .scoring import CaseScore, QuestionScore, score_case

__all__ = [
    "COMMANDS",
    "CaseRun",
    "Console",
    "Feedback",
    "Item",
    "PickError",
    "Section",
    "play",
]

WIDTH = 80
COMMANDS = ("help", "why", "why-not", "hint", "facts", "quit")
NOTHING = ("-", "none")


class PickError(ValueError):
    """An answer that names no option of the question (the message says why)."""


@dataclass(frozen=True)
class Item:
    """One question of the case, in order (``number`` counts from 1)."""

    number: int
    stage_index: int
    stage: Stage
    question: Question
    qid: str


def _indent(lines: list[str], by: str = "  ") -> list[str]:
    return [by + line for line in lines]


class CaseRun:
    """One student's pass through one case (pure: no I/O).

    The case's feedback model (:class:`~imt_tutor.feedback.CaseKey`) is built
    once, from one inference per stage; every answer is graded and explained
    from it alone.
    """

    def __init__(self, base: RuleBase, engine: Engine, case: Case) -> None:
        self.base = base
        self.vocab = base.vocabulary
        self.engine = engine
        self.case = case
        self.items = tuple(
            Item(n, i, stage, q, qualified_id(stage, q)) for n, (i, stage, q) in enumerate(iter_questions(case), 1)
        )
        self._by_qid = {item.qid: item for item in self.items}
        self._inferences: dict[int, Inference] = {}
        self._key: CaseKey | None = None
        self.answers: dict[str, tuple[str, ...]] = {}
        self.feedback: dict[str, Feedback] = {}

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
            raise DataError(f"unknown question '{qid}' in case '{self.case.id}'{did_you_mean(qid, self._by_qid)}")
        return found

    def signature(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Each question ID with its options: what a saved transcript must match."""
        return tuple((item.qid, item.question.options) for item in self.items)

    def facts(self, stage_index: int) -> Facts:
        return facts_at(self.case, stage_index)

    def inference(self, stage_index: int) -> Inference:
        """The engine's inference on the facts known at a stage (computed once)."""
        if stage_index not in self._inferences:
            self._inferences[stage_index] = self.engine.infer(self.facts(stage_index))
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

    # ----------------------------------------------------------------- answering

    def parse_picks(self, qid: str, text: str) -> tuple[str, ...]:
        """Option IDs from ``1,3`` / ``biopsy, nsaids`` / ``-`` (nothing)."""
        item = self.item(qid)
        options = item.question.options
        tokens = [t for t in text.replace(",", " ").split() if t]
        if len(tokens) == 1 and tokens[0].lower() in NOTHING and tokens[0] not in options:
            return ()
        lowered = {o.lower(): o for o in options}
        picks: list[str] = []
        for token in tokens:
            if token.isdigit():
                n = int(token)
                if not 1 <= n <= len(options):
                    raise PickError(f"there is no option {n}: choose from 1 to {len(options)}.")
                pick = options[n - 1]
            elif token.lower() in lowered:
                pick = lowered[token.lower()]
            elif token.lower() in NOTHING:
                raise PickError(f"'{token}' (nothing) cannot be combined with other picks.")
            else:
                raise PickError(f"'{token}' is not an option here{did_you_mean(token, options)}.")
            if pick not in picks:
                picks.append(pick)
        return tuple(picks)

    def answer(self, qid: str, picks: tuple[str, ...] | list[str]) -> Feedback:
        """Record ``picks`` for ``qid`` and explain them (from the key alone)."""
        item = self.item(qid)
        options = item.question.options
        chosen = tuple(dict.fromkeys(picks))
        for pick in chosen:
            if pick not in options:
                raise DataError(f"'{pick}' is not an option of question '{qid}'{did_you_mean(pick, options)}")
        feedback = answer_feedback(self.vocab, self.key, grade(self.key.question(qid), chosen))
        self.answers[qid] = chosen
        self.feedback[qid] = feedback
        return feedback

    def scores(self) -> list[tuple[Item, QuestionScore]]:
        return [(item, self.feedback[item.qid].score) for item in self.items if item.qid in self.feedback]

    def case_score(self) -> CaseScore:
        return score_case(s for _, s in self.scores())

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
        question = item.question
        if question.kind == "next_steps":
            decides = "which next steps the rules suggest now, from the facts known so far (all that apply, or none)."
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

    def hint(self, qid: str, n: int = 0) -> str:
        """Name one known fact that a rule behind an expected option matched
        (the ``n``-th, cycling), without naming the answer."""
        item = self.item(qid)
        found: list[tuple[str, Any]] = []
        for option in self.expected(qid):
            for firing in self.support(item, option):
                for key, value in firing.matched:
                    if self.vocab.fact(key) is not None and (key, value) not in found:
                        found.append((key, value))
        if not found:
            return (
                "Hint: for each option, ask whether what the rules need for it is known yet - "
                "or whether it has already been done."
            )
        new = set(dict(item.stage.reveal.items))
        found.sort(key=lambda pair: pair[0] not in new)
        key, value = found[n % len(found)]
        return f"Hint: think about what this tells you - {pair_text(self.vocab, key, value)}."

    def why_not_command(self, qid: str, arg: str) -> list[str]:
        """``why-not STEP`` at a prompt (STEP: an option number or ID, or any next step)."""
        item = self.item(qid)
        options = item.question.options
        if not arg:
            raise PickError("say which option: why-not NUMBER or why-not ID.")
        target = arg
        if arg.isdigit() and 1 <= int(arg) <= len(options):
            target = options[int(arg) - 1]
        target = {o.lower(): o for o in options}.get(target.lower(), target)
        if item.question.kind == "conclusion":
            if target not in options:
                raise PickError(f"'{arg}' is not an option here{did_you_mean(arg, options)}.")
            rules = self.because(item, target)
            if rules:
                return [f"'{self.label(item, target)}' IS concluded here, by: {', '.join(rules)}."]
            question = self.key.question(item.qid)
            return why_not_lines(self.vocab, question, question.option(target), self.facts(item.stage_index))
        steps = [s.id for s in self.vocab.next_steps]
        if target not in steps:
            raise PickError(f"'{arg}' is not a next step{did_you_mean(arg, steps)}.")
        return why_not_step_lines(self.vocab, why_not(self.base, self.inference(item.stage_index), target))

    def fact_lines(self, stage_index: int) -> list[str]:
        facts = self.facts(stage_index)
        new = dict(self.case.stages[stage_index].reveal.items)
        lines = []
        for key, value in facts.items:
            mark = "  (new)" if key in new else ""
            lines.append(f"- {pair_text(self.vocab, key, value)}{mark}")
        return lines or ["(nothing known yet)"]


# --------------------------------------------------------------------- the loop


class Console(Protocol):
    """Where the loop talks: ``show`` a line (with a tone for colour) and
    ``ask`` for one (raising EOFError / KeyboardInterrupt)."""

    line_number: int

    def show(self, text: str = "", tone: str = "plain") -> None: ...

    def ask(self, prompt: str) -> str: ...


HELP_LINES = (
    "Answer with option numbers or IDs, separated by commas: 1,3 or biopsy, nsaids.",
    "An empty answer (or '-') picks nothing.",
    "Commands at any prompt:",
    "  help          this help",
    "  why           what this question decides and which facts matter",
    "  why-not STEP  why the rules do (not) support an option (number or ID)",
    "  hint          one fact worth thinking about (not the answer)",
    "  facts         the facts known so far",
    "  quit          save and stop (resume later with --resume)",
)


def _paragraph(text: str, width: int, indent: str = "") -> list[str]:
    out: list[str] = []
    for para in text.strip().split("\n\n"):
        out += textwrap.wrap(
            " ".join(para.split()),
            width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [""]
    return out


def show_lines(console: Console, lines: list[str], tone: str = "plain", width: int = WIDTH) -> None:
    for line in wrap_lines(lines, width):
        console.show(line, tone)


def banner(run: CaseRun, console: Console, width: int = WIDTH) -> None:
    show_lines(console, [f"*** {DISCLAIMER} ***"], "warn", width)
    console.show()
    show_lines(console, [f"Case: {run.case.title} ({run.case.id})"], "title", width)
    for line in _paragraph(run.case.summary, width):
        console.show(line)
    console.show(f"{len(run.items)} questions in {len(run.case.stages)} stages. Type 'help' at any prompt.")


def show_stage(run: CaseRun, index: int, console: Console, width: int = WIDTH) -> None:
    stage = run.case.stages[index]
    console.show()
    show_lines(console, [f"== Stage {index + 1} of {len(run.case.stages)}: {stage.id} =="], "title", width)
    for line in _paragraph(stage.narrative, width):
        console.show(line)
    console.show()
    console.show("Facts known so far:", "info")
    show_lines(console, _indent(run.fact_lines(index)), width=width)


def show_teaching_points(run: CaseRun, index: int, console: Console, width: int = WIDTH) -> None:
    points = run.case.stages[index].teaching_points
    if not points:
        return
    console.show()
    console.show("Teaching points:", "info")
    for point in points:
        wrapped = textwrap.wrap(" ".join(point.split()), width - 4, break_long_words=False, break_on_hyphens=False)
        for n, line in enumerate(wrapped):
            console.show(("  - " if n == 0 else "    ") + line)


def show_question(run: CaseRun, item: Item, console: Console, width: int = WIDTH) -> None:
    console.show()
    console.show(f"Question {item.number} of {len(run.items)} ({item.qid})", "question")
    for line in _paragraph(item.question.prompt, width):
        console.show(line, "question")
    for n, option in enumerate(item.question.options, 1):
        show_lines(console, [f"  {n:>2}. {run.label(item, option)}  [{option}]"], width=width)


def show_feedback(feedback: Feedback, console: Console, width: int = WIDTH) -> None:
    console.show()
    for line, tone in feedback.styled_lines(width):
        console.show(line, tone)


def show_scores(run: CaseRun, console: Console, width: int = WIDTH) -> None:
    console.show()
    console.show("Scores:", "title")
    if not run.scores():
        console.show("  (no question answered)")
    for item, score in run.scores():
        show_lines(console, [f"  {score.points:4.2f} / 1  {item.qid}"], width=width)
    total = run.case_score()
    console.show(f"Total: {total.text()}", "title")


AnswerSource = Callable[[Item], tuple[str, ...]]
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
    """
    hints = 0
    while True:
        text = console.ask("Your answer (numbers or IDs; 'help' for commands): " if interactive else "")
        command = _command(text)
        if command is not None:
            name, arg = command
            if not interactive:
                console.show(f"> {text.strip()}", "info")
            if name == "quit":
                return None
            try:
                if name == "help":
                    show_lines(console, list(HELP_LINES), width=width)
                elif name == "why":
                    show_lines(console, run.why(item.qid), width=width)
                elif name == "why-not":
                    show_lines(console, run.why_not_command(item.qid, arg), width=width)
                elif name == "hint":
                    show_lines(console, [run.hint(item.qid, hints)], "warn", width)
                    hints += 1
                elif name == "facts":
                    show_lines(console, run.fact_lines(item.stage_index), width=width)
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
        elif not text.strip():
            confirm = console.ask("Pick nothing? [y/N] ").strip().lower()
            if confirm not in ("y", "yes"):
                continue
        return picks


def play(
    run: CaseRun,
    console: Console,
    *,
    interactive: bool,
    save: SaveHook,
    answers: AnswerSource | None = None,
    width: int = WIDTH,
) -> bool:
    """Ask every unanswered question in order; ``save`` after each answer.

    ``answers`` supplies the picks without asking (an answers file). Returns
    ``False`` if the student quit, ``True`` when every question is answered.
    EOFError and KeyboardInterrupt propagate (the caller saves and explains).
    """
    banner(run, console, width)
    start = run.next_item()
    if start is None:
        console.show()
        console.show("Every question of this case is already answered.", "info")
        show_scores(run, console, width)
        return True
    if start.number > 1:
        console.show(f"Resuming at question {start.number} of {len(run.items)}.", "info")
    for index in range(len(run.case.stages)):
        if index < start.stage_index:
            continue
        show_stage(run, index, console, width)
        for item in run.items:
            if item.stage_index != index or item.qid in run.answers:
                continue
            show_question(run, item, console, width)
            if answers is not None:
                picks = answers(item)
            else:
                got = ask_answer(run, item, console, interactive=interactive, width=width)
                if got is None:
                    return False
                picks = got
            feedback = run.answer(item.qid, picks)
            show_feedback(feedback, console, width)
            save(item, feedback)
        show_teaching_points(run, index, console, width)
    show_scores(run, console, width)
    return True
