"""JSON documents of the command line: the ``infer`` report (facts, warnings,
suggestions, accepted steps, conclusions, trace, WHY-NOT), built from data."""

from __future__ import annotations

from typing import Any

from .. import DISCLAIMER
from ..explain import WhyNot
from ..models import Contradiction, Inference, Vocabulary
from .text import gap_text

__all__ = ["infer_json", "why_not_json"]


def why_not_json(vocab: Vocabulary, why: WhyNot) -> dict[str, Any]:
    return {
        "step": why.step,
        "label": vocab.label(why.step),
        "suggested": why.suggested,
        "because": list(why.because),
        "kind": why.kind,
        "rules": [
            {"rule": g.rule, "source": g.source, "kind": g.kind, "unmet": gap_text(vocab, g, why.facts)}
            for g in why.gaps
        ],
    }


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
        doc["why_not"] = [why_not_json(vocab, w) for w in why]
    doc["disclaimer"] = DISCLAIMER
    return doc
