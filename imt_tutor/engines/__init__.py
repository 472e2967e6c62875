"""Engine choice: durable_rules where it can be imported, else the builtin
evaluator of the same rules (Python 3.13+, where durable-rules cannot run)."""

from __future__ import annotations

from typing import Protocol

from ..errors import ImtTutorError
from ..models import Facts, Inference, RuleBase
from . import durable as durable_engine
from .builtin import ENGINE_NAME as BUILTIN
from .builtin import BuiltinEngine

ENGINE_CHOICES = ("auto", durable_engine.ENGINE_NAME, BUILTIN)


class Engine(Protocol):
    """A rule engine: ``infer`` facts; a context manager that ``close``s on exit."""

    name: str

    def infer(self, facts: Facts) -> Inference: ...

    def close(self) -> None: ...

    def __enter__(self) -> Engine: ...

    def __exit__(self, *exc: object) -> None: ...


def default_engine_name() -> str:
    return durable_engine.ENGINE_NAME if durable_engine.available() else BUILTIN


def engine_label(name: str) -> str:
    """``durable_rules 2.0.28`` or ``builtin evaluator``, for --version and reports."""
    if name == durable_engine.ENGINE_NAME:
        return durable_engine.engine_label()
    return "builtin evaluator"


def make_engine(base: RuleBase, choice: str = "auto") -> Engine:
    """Build the chosen engine (``auto`` prefers durable_rules)."""
    name = default_engine_name() if choice == "auto" else choice
    if name == durable_engine.ENGINE_NAME:
        if not durable_engine.available():
            raise ImtTutorError("durable_rules is not available on this Python", code="engine-unavailable")
        return durable_engine.DurableEngine(base)
    if name == BUILTIN:
        return BuiltinEngine(base)
    raise ImtTutorError(f"unknown engine {choice!r}; choose one of {', '.join(ENGINE_CHOICES)}")
