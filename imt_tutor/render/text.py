"""The terminal's words for the feedback model: an answer's feedback as titled
sections, HOW chains, WHY-NOT gaps, the stage's conclusions.

Functions from the model (:mod:`imt_tutor.feedback`) to text; no I/O.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from .. import DISCLAIMER
from ..explain import Gap, WhyNot
from ..feedback import ACCEPTED, WORKING_DIAGNOSIS, CaseKey, GradedAnswer, OptionKey, QuestionKey
from ..models import Contradiction, Facts, Firing, Inference, Is, Known, Not, Vocabulary
from ..scoring import QuestionScore
from .words import condition_text, deduction_text, either, pair_text

__all__ = [
    "SHARPENING",
    "WIDTH",
    "Feedback",
    "Section",
    "answer_feedback",
    "banner",
    "conclusion_lines",
    "firing_lines",
    "gap_text",
    "how_lines",
    "infer_text",
    "why_not_lines",
    "why_not_step_lines",
    "wrap_lines",
]

WIDTH = 80
SHARPENING = WORKING_DIAGNOSIS  # the conclusion whose values sharpen: A -> B -> C


@dataclass(frozen=True)
class Section:
    """One block of feedback; ``tone`` is good, bad or info (for colour)."""

    title: str
    lines: tuple[str, ...]
    tone: str = "info"


@dataclass(frozen=True)
class Feedback:
    """What the runner says about one answer, and its score."""

    qid: str
    picks: tuple[str, ...]
    expected: tuple[str, ...]
    score: QuestionScore
    sections: tuple[Section, ...]

    def styled_lines(self, width: int = WIDTH) -> list[tuple[str, str]]:
        """(line, tone) pairs, wrapped to ``width`` columns; tone ``plain`` for bodies."""
        out: list[tuple[str, str]] = []
        for section in self.sections:
            out += [(line, section.tone) for line in wrap_lines([section.title], width)]
            out += [(line, "plain") for line in wrap_lines([f"  {line}" for line in section.lines], width)]
        return out

    def text(self, width: int = WIDTH) -> str:
        return "\n".join(line for line, _ in self.styled_lines(width))


def wrap_lines(lines: list[str], width: int = WIDTH) -> list[str]:
    """Wrap long lines to ``width`` columns, continuing under their own indent."""
    out: list[str] = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
            continue
        stripped = line.lstrip(" ")
        indent = " " * (len(line) - len(stripped))
        hang = indent + "    "
        out.extend(
            textwrap.wrap(
                stripped,
                width,
                initial_indent=indent,
                subsequent_indent=hang,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return out


# --------------------------------------------------------------------- HOW


def firing_lines(vocab: Vocabulary, firing: Firing) -> list[str]:
    """One firing: rule, matched facts, what it concluded/suggested, citation."""
    lines = [f"{firing.rule}  [{firing.source}]"]
    if firing.matched:
        lines.append("  matched: " + "; ".join(pair_text(vocab, k, v) for k, v in firing.matched))
    else:
        lines.append("  matched: (no observed fact: only what is still unknown)")
    for key, value in firing.concluded:
        lines.append(f"  concludes: {pair_text(vocab, key, value)}")
    for step in firing.suggested:
        lines.append(f"  suggests: {vocab.label(step)}")
    for step in firing.accepted:
        lines.append(f"  accepts (not required): {vocab.label(step)}")
    lines.append(f"  because: {firing.explanation}")
    return lines


def how_lines(vocab: Vocabulary, question: QuestionKey, option: OptionKey) -> list[str]:
    lines: list[str] = []
    for firing in option.how:
        lines += firing_lines(vocab, firing)
    if not option.how:
        if option.verdict == ACCEPTED:
            return [f"Accepted by: {', '.join(option.because)}."]
        if question.author_reason:
            lines.append(f"The case's author expects it here: {question.author_reason}")
        else:
            lines.append("No rule supports it at this stage.")
    return lines


def conclusion_lines(vocab: Vocabulary, conclusions: tuple[tuple[str, str, tuple[str, ...]], ...]) -> list[str]:
    """``Working diagnosis: A -> B -> C`` (it sharpens); other keys list their values."""
    concluded = {(k, v) for k, v, _ in conclusions}
    lines = []
    for key in vocab.conclusions:
        values = [t.id for t in key.values if (key.id, t.id) in concluded]
        if values:
            sep = " -> " if key.id == SHARPENING else "; "
            lines.append(f"{key.label}: {sep.join(vocab.label(key.id, v) for v in values)}")
    return lines


# --------------------------------------------------------------------- WHY-NOT


def gap_text(vocab: Vocabulary, gap: Gap, facts: Facts) -> str:
    """Why the rule of ``gap`` does not fire for these facts, in words."""
    cond = gap.condition
    needs = f"needs {condition_text(vocab, cond)}"
    if isinstance(cond, Is) and cond.on_conclusion:
        return f"{needs}, which the rules have not concluded for this case (it comes from: {', '.join(gap.producers)})"
    if isinstance(cond, (Is, Known)):
        if cond.key not in facts:
            return f"{needs}, but {vocab.label(cond.key)} is not known yet"
        return f"{needs}, but it is {either(vocab, cond.key, facts.values_of(cond.key))}"
    if isinstance(cond, Not) and isinstance(cond.part, (Is, Known)):
        key = cond.part.key
        done = [s.label for s in vocab.next_steps if any(k == key for k, _ in s.done_when)]
        extra = f" (so {done[0].lower()} is already done)" if done else ""
        return f"{needs}, but it is {either(vocab, key, facts.values_of(key))}{extra}"
    return f"{needs}, which this case does not meet"


def why_not_lines(vocab: Vocabulary, question: QuestionKey, option: OptionKey, facts: Facts) -> list[str]:
    """Why the rules do not support ``option`` here (WHY-NOT)."""
    label = option.label
    lines: list[str]
    if question.kind == "next_steps":
        if option.because:
            lines = [f"'{label}' IS suggested here, by: {', '.join(option.because)}."]
        elif not option.gaps:
            lines = [f"'{label}' is not suggested: no rule supports this step here."]
        else:
            lines = [f"'{label}' is not suggested here:"]
            lines += [f"  {g.rule} [{g.source}] {gap_text(vocab, g, facts)}." for g in option.gaps]
    elif option.because:
        labels = question.labels()
        wanted = ", ".join(f"'{labels[v]}'" for v in question.expected) or "nothing"
        lines = [
            f"'{label}' IS concluded here, by: {', '.join(option.because)}; but the question asks for {wanted}"
            + (" (the most specific working diagnosis)." if question.key == WORKING_DIAGNOSIS else ".")
        ]
    elif not option.gaps:
        lines = [f"'{label}' is not concluded: no rule concludes it."]
    else:
        lines = [f"'{label}' is not concluded here:"]
        lines += [f"  {g.rule} [{g.source}] {gap_text(vocab, g, facts)}." for g in option.gaps]
    if question.author_reason:
        lines.append(f"The case's author says: {question.author_reason}")
    return lines


# --------------------------------------------------------------------- one answer


def answer_feedback(vocab: Vocabulary, key: CaseKey, graded: GradedAnswer) -> Feedback:
    """The feedback on one graded answer, as titled sections."""
    question = key.question(graded.qid)
    stage = key.stages[question.stage_index]
    score = graded.score
    labels = question.labels()
    chosen = graded.picks
    expected = question.expected
    head = [f"Your answer: {', '.join(labels[p] for p in chosen) or 'nothing'}"]
    head.append(f"Expected: {', '.join(labels[e] for e in expected) or 'nothing'}")
    if question.accepted:
        head.append(f"Also acceptable (no penalty): {', '.join(labels[a] for a in question.accepted)}")
    head += [f"  {deduction_text(d, labels)}" for d in score.deductions]
    tone = "good" if score.full else "bad"
    sections = [Section(f"Score: {score.points:.2f} / 1", tuple(head), tone)]
    if not chosen and not expected:
        sections.append(
            Section("Right: nothing applies here.", ("No rule expects any of these options at this stage.",), "good")
        )
    for pick in score.hits:
        title = f"Right: {labels[pick]} - how the rules get there:"
        sections.append(Section(title, tuple(how_lines(vocab, question, question.option(pick))), "good"))
    for pick in score.wrong:
        title = f"Not expected: {labels[pick]} - why not:"
        lines = why_not_lines(vocab, question, question.option(pick), stage.facts)
        sections.append(Section(title, tuple(lines), "bad"))
    for pick in score.missed:
        title = f"Missed: {labels[pick]} - how the rules get there:"
        sections.append(Section(title, tuple(how_lines(vocab, question, question.option(pick))), "bad"))
    for pick in score.accepted:
        title = f"Also acceptable: {labels[pick]} - neither required nor penalised:"
        sections.append(Section(title, tuple(how_lines(vocab, question, question.option(pick))), "good"))
    conclusions = conclusion_lines(vocab, stage.conclusions) or ["(nothing yet)"]
    if stage.differential:
        differential = [vocab.label("differential", v) for v in stage.differential]
    else:
        differential = ["(nothing the rules leave open at this stage)"]
    sections += [
        Section("What the rules now conclude:", tuple(conclusions)),
        Section("Still in the differential:", tuple(differential)),
    ]
    return Feedback(graded.qid, chosen, expected, score, tuple(sections))


# --------------------------------------------------------------------- infer


def why_not_step_lines(vocab: Vocabulary, why: WhyNot) -> list[str]:
    """``--why-not STEP`` in words: suggested by whom, or each rule's gap."""
    label = vocab.label(why.step)
    if why.suggested:
        return [f"'{label}' IS suggested here, by: {', '.join(why.because)}."]
    if not why.gaps:
        return [f"'{label}' is not suggested: no rule supports this step here."]
    out = [f"'{label}' is not suggested here:"]
    out += [f"  {g.rule} [{g.source}] {gap_text(vocab, g, why.facts)}." for g in why.gaps]
    return out


def banner() -> str:
    """The disclaimer line every text output starts with."""
    return f"*** {DISCLAIMER} ***"


def infer_text(
    inference: Inference,
    vocab: Vocabulary,
    engine: str,
    why: list[WhyNot] | None = None,
    warnings: tuple[Contradiction, ...] = (),
) -> str:
    lines = [banner(), f"engine: {engine}", ""]
    for contradiction in warnings:
        lines.append(f"Warning: these facts contradict each other: {contradiction.message}")
    if warnings:
        lines.append("")
    lines.append("Facts:")
    if inference.facts.items:
        lines += [f"  {pair_text(vocab, k, v)}" for k, v in inference.facts.items]
    else:
        lines.append("  (none)")
    lines += ["", "How the rules reason (rule -> matched facts -> cited section):"]
    if inference.trace:
        for n, firing in enumerate(inference.trace, 1):
            first, *rest = firing_lines(vocab, firing)
            lines.append(f"{n:>2}. {first}")
            lines += [f"    {line}" for line in rest]
    else:
        lines.append("  No rule applies to these facts yet.")
    lines += ["", "Conclusions:"]
    lines += [f"  {line}" for line in conclusion_lines(vocab, inference.conclusions())] or ["  (none)"]
    lines += ["", "Suggested next steps:"]
    suggestions = inference.suggestions()
    lines += [f"  - {vocab.label(s)}  (because: {', '.join(rules)})" for s, rules in suggestions] or ["  (none)"]
    accepted = inference.acceptances()
    if accepted:
        lines += ["", "Also acceptable (not required):"]
        lines += [f"  - {vocab.label(s)}  (because: {', '.join(rules)})" for s, rules in accepted]
    for w in why or []:
        lines += ["", f"Why not {w.step}?"] + [f"  {line}" for line in why_not_step_lines(vocab, w)]
    return "\n".join(wrap_lines(lines))
