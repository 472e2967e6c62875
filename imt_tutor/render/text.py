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
from ..models import Condition, Contradiction, Facts, FactValue, Firing, Inference, Is, Known, Not, Vocabulary
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
    return masked_firing_lines(vocab, firing, frozenset())


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


# --------------------------------------------------------------------- the student's session (short feedback)

KIND_WORDS = {
    "not_yet_known": "premature",
    "already_done": "already done",
    "contradicted": "ruled out by what is known",
    "unsupported": "no rule suggests it here",
}
Hidden = frozenset[tuple[str, str]]


def paragraph(text: str, width: int = WIDTH, indent: str = "", hang: str | None = None) -> list[str]:
    """``text`` wrapped to ``width`` (never inside a word); blank lines separate paragraphs."""
    out: list[str] = []
    for para in text.strip().split("\n\n"):
        out += textwrap.wrap(
            " ".join(para.split()),
            width,
            initial_indent=indent,
            subsequent_indent=indent if hang is None else hang,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [""]
    return out


def cite(firing_rule: str, source: str, show_rules: bool) -> str:
    """``[section]``, or ``[rule; section]`` with ``show_rules``."""
    return f"[{firing_rule}; {source}]" if show_rules else f"[{source}]"


def _leaf_words(vocab: Vocabulary, option: OptionKey) -> str:
    """The kind of an option's gap, with the fact that settles it, in plain words."""
    kind = option.kind or "unsupported"
    words = KIND_WORDS.get(kind, kind)
    gap = next((g for g in option.gaps if g.kind == kind and g.fact), None)
    if gap is None or gap.fact is None:
        return words
    if kind == "not_yet_known":
        return f"{words}: {vocab.label(gap.fact)} is not known yet"
    known = ", ".join(vocab.label(gap.fact, v) for v in gap.known)
    return f"{words} ({vocab.label(gap.fact)}: {known})"


def _because(option: OptionKey, show_rules: bool) -> str:
    """The explanation of the rule that gives ``option`` (the first of its rules), cited."""
    rule = option.because[0] if option.because else None
    firing = next((f for f in option.how if f.rule == rule), None)
    if firing is None:
        return ""
    return f"{firing.explanation} {cite(firing.rule, firing.source, show_rules)}"


def short_feedback(
    vocab: Vocabulary, key: CaseKey, graded: GradedAnswer, *, show_rules: bool = False, width: int = WIDTH
) -> Feedback:
    """A few lines: the score; each expected option with the one sentence of
    its rule (each rule once); each wrong pick by the kind of its gap (grouped);
    accepted picks; then how to ask for more."""
    question = key.question(graded.qid)
    score = graded.score
    labels = question.labels()
    amounts = {d.option: d.points for d in score.deductions if d.option is not None}
    if any(d.kind in ("nothing_picked", "unanswered") for d in score.deductions) and question.expected:
        share = round(1 / len(question.expected), 2)
        amounts.update({o: share for o in question.expected})
    lines: list[str] = []
    if graded.picks is None:
        lines.append("Not answered (0 points).")
    elif not graded.picks and not question.expected:
        reason = question.nothing_reason or "no rule expects any of these options at this stage."
        lines.append(f"Right: nothing applies here. {reason}")
    if score.full and graded.picks is not None and question.expected and not score.accepted:
        # all right: the one sentence of each rule behind the answer, each rule once, each section cited once
        by_source: dict[str, list[str]] = {}
        for option in question.expected:
            entry = question.option(option)
            rule = entry.because[0] if entry.because else None
            firing = next((f for f in entry.how if f.rule == rule), None)
            if firing is None:
                by_source.setdefault("", []).append(question.author_reason or "")
                continue
            cited = cite(firing.rule, firing.source, show_rules) if show_rules else f"[{firing.source}]"
            sentences = by_source.setdefault(cited, [])
            if firing.explanation not in sentences:
                sentences.append(firing.explanation)
        body: list[str] = []
        for cited, sentences in by_source.items():
            body += paragraph(f"- {' '.join(sentences)} {cited}".rstrip(), width - 2, hang="  ")
        title = f"Score: {score.points:.2f} / 1 - all right."
        return Feedback(graded.qid, graded.picks, question.expected, score, (Section(title, tuple(body), "good"),))
    # the expected options, grouped by the rule that gives them
    groups: dict[str, list[str]] = {}
    for option in question.expected:
        entry = question.option(option)
        groups.setdefault(_because(entry, show_rules) or (question.author_reason or ""), []).append(option)
    for sentence, options in groups.items():
        hits = [o for o in options if o in score.hits]
        missed = [o for o in options if o not in score.hits]
        parts = []
        if hits:
            parts.append(f"Right: {', '.join(labels[o] for o in hits)}.")
        for o in missed:
            standin = next((d.option for d in score.deductions if d.kind == "less_specific" and d.option), None)
            if standin is not None and question.key == WORKING_DIAGNOSIS:
                parts.append(
                    f"Less specific: {labels[standin]} is true, but less specific than {labels[o]}"
                    f" (-{amounts.get(standin, 0):.2f})."
                )
            else:
                parts.append(f"Missed: {labels[o]} (-{amounts.get(o, 0):.2f}).")
        lines.append(" ".join([*parts, sentence]).strip())
    # wrong picks, grouped by what argues against them
    wrong_groups: dict[str, list[str]] = {}
    for option in score.wrong:
        wrong_groups.setdefault(_leaf_words(vocab, question.option(option)), []).append(option)
    for words, options in wrong_groups.items():
        costs = [f"-{amounts.get(o, 0):.2f}" for o in options]
        cost = f"{costs[0]} each" if len(costs) > 1 and len(set(costs)) == 1 else ", ".join(costs)
        lines.append(f"Not expected: {', '.join(labels[o] for o in options)} ({cost}): {words}.")
    for option in score.accepted:
        entry = question.option(option)
        sentence = ""
        firing = next((f for f in entry.how if f.rule in entry.because), None)
        if firing is not None:
            sentence = f" {firing.explanation} {cite(firing.rule, firing.source, show_rules)}"
        lines.append(f"Also acceptable (no penalty): {labels[option]}.{sentence}")
    hints = next((d for d in score.deductions if d.kind == "hints"), None)
    if hints is not None:
        lines.append(f"Hints used: {hints.expected_count} (-{hints.points:.2f}).")
    tone = "good" if score.full else "bad"
    title = f"Score: {score.points:.2f} / 1"
    body = []
    for line in lines:
        body += paragraph(line, width - 2, hang="  ")
    return Feedback(graded.qid, graded.picks or (), question.expected, score, (Section(title, tuple(body), tone),))


def masked_firing_lines(vocab: Vocabulary, firing: Firing, hidden: Hidden, show_rules: bool = True) -> list[str]:
    """:func:`firing_lines`, with conclusions still to be asked about shown as such."""

    def shown(key: str, value: FactValue) -> str:
        values = value if isinstance(value, tuple) else (value,)
        if any((key, v) in hidden for v in values):
            return f"{vocab.label(key)}: (you are asked about it later)"
        return pair_text(vocab, key, value)

    head = f"{firing.rule}  [{firing.source}]" if show_rules else f"[{firing.source}]"
    lines = [head]
    if firing.matched:
        lines.append("  matched: " + "; ".join(shown(k, v) for k, v in firing.matched))
    else:
        lines.append("  matched: (no observed fact: only what is still unknown)")
    for key, value in firing.concluded:
        lines.append(f"  concludes: {shown(key, value)}")
    for step in firing.suggested:
        lines.append(f"  suggests: {vocab.label(step)}")
    for step in firing.accepted:
        lines.append(f"  accepts (not required): {vocab.label(step)}")
    lines.append(f"  because: {firing.explanation}")
    return lines


def recap_lines(vocab: Vocabulary, key: CaseKey, stage_index: int, hidden: Hidden) -> list[str]:
    """What the rules conclude at a stage and what stays open, leaving out
    every value that a question not yet answered expects."""
    stage = key.stages[stage_index]
    shown = tuple(c for c in stage.conclusions if (c[0], c[1]) not in hidden and c[0] != "differential")
    lines = ["What the rules now conclude:"]
    lines += [f"  {line}" for line in conclusion_lines(vocab, shown)] or ["  (nothing yet)"]
    open_values = [v for v in stage.differential if ("differential", v) not in hidden]
    lines.append("Still in the differential:")
    if open_values:
        lines += [f"  {vocab.label('differential', v)}" for v in open_values]
    elif any(("differential", v) in hidden for v in stage.differential):
        lines.append("  (you are asked about it later)")
    else:
        lines.append("  (nothing the rules leave open at this stage)")
    return lines


def needs_lines(vocab: Vocabulary, label: str, rules: list[tuple[str, str, Condition]], show_rules: bool) -> list[str]:
    """What an option needs (each rule that can give it, its conditions in
    words), saying nothing of whether they hold."""
    if not rules:
        return [f"No rule ever gives '{label}'."]
    lines = [f"'{label}' follows when{' one of these holds' if len(rules) > 1 else ''}:"]
    for rule_id, source, when in rules:
        lines.append(f"  - {condition_text(vocab, when)} {cite(rule_id, source, show_rules)}")
    return lines
