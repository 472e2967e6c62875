"""The ``infer`` report: the JSON document and the student-readable text."""

from __future__ import annotations

import textwrap
from typing import Any

from . import DISCLAIMER
from .explain import WhyNot, firing_lines, pair_text
from .models import Contradiction, Inference, Vocabulary

SHARPENING = "working_diagnosis"


def concluded_by_key(inference: Inference, vocab: Vocabulary) -> list[tuple[str, tuple[str, ...]]]:
    """Each conclusion key with its concluded values, least to most specific."""
    out = []
    concluded = {(k, v) for k, v, _ in inference.conclusions()}
    for key in vocab.conclusions:
        values = tuple(t.id for t in key.values if (key.id, t.id) in concluded)
        if values:
            out.append((key.id, values))
    return out


def conclusion_lines(inference: Inference, vocab: Vocabulary) -> list[str]:
    """``Working diagnosis: A -> B -> C`` (it sharpens); other keys list their values."""
    lines = []
    for key, values in concluded_by_key(inference, vocab):
        sep = " -> " if key == SHARPENING else "; "
        lines.append(f"{vocab.label(key)}: {sep.join(vocab.label(key, v) for v in values)}")
    return lines


def infer_json(
    inference: Inference,
    vocab: Vocabulary,
    engine: str,
    why: list[WhyNot] | None = None,
    warnings: tuple[Contradiction, ...] = (),
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "engine": engine,
        "facts": {k: list(v) if isinstance(v, tuple) else v for k, v in inference.facts.items},
        "warnings": [{"id": c.id, "message": c.message} for c in warnings],
        "suggestions": [
            {"id": step, "label": vocab.label(step), "because": list(rules)} for step, rules in inference.suggestions()
        ],
        "accepted": [
            {"id": step, "label": vocab.label(step), "because": list(rules)} for step, rules in inference.acceptances()
        ],
        "conclusions": [{"key": k, "value": v, "because": list(rules)} for k, v, rules in inference.conclusions()],
        "trace": [
            {
                "rule": f.rule,
                "matched": {k: list(v) if isinstance(v, tuple) else v for k, v in f.matched},
                "concluded": [{"key": k, "value": v} for k, v in f.concluded]
                + [{"suggest": s} for s in f.suggested]
                + [{"accept": s} for s in f.accepted],
                "explanation": f.explanation,
                "source": f.source,
            }
            for f in inference.trace
        ],
    }
    if why is not None:
        doc["why_not"] = [w.as_json() for w in why]
    doc["disclaimer"] = DISCLAIMER
    return doc


def infer_text(
    inference: Inference,
    vocab: Vocabulary,
    engine: str,
    why: list[WhyNot] | None = None,
    warnings: tuple[Contradiction, ...] = (),
) -> str:
    lines = [f"*** {DISCLAIMER} ***", f"engine: {engine}", ""]
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
    lines += [f"  {line}" for line in conclusion_lines(inference, vocab)] or ["  (none)"]
    lines += ["", "Suggested next steps:"]
    suggestions = inference.suggestions()
    lines += [f"  - {vocab.label(s)}  (because: {', '.join(rules)})" for s, rules in suggestions] or ["  (none)"]
    accepted = inference.acceptances()
    if accepted:
        lines += ["", "Also acceptable (not required):"]
        lines += [f"  - {vocab.label(s)}  (because: {', '.join(rules)})" for s, rules in accepted]
    for w in why or []:
        lines += ["", f"Why not {w.step}?"] + [f"  {line}" for line in w.lines()]
    return "\n".join(wrap_lines(lines))


def wrap_lines(lines: list[str], width: int = 80) -> list[str]:
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
