"""Project exceptions and source locations.

Every error a user can cause is an :class:`ImtTutorError`. Data errors carry
where they happened (path, 1-based line and column) and print as one line:
``path:line:col: message``. Each error class carries the ``exit_code`` the
command line exits with, and an error may carry a ``code`` (a stable name such
as ``unknown-case``) by which the command line adds its own hints; messages
never name command-line options.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"
LEVELS = (ERROR, WARNING)


@dataclass(frozen=True)
class Location:
    """A 1-based position in a file (``line``/``column`` 0 when unknown)."""

    path: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.path
        return f"{self.path}:{self.line}:{max(self.column, 1)}"


class ImtTutorError(Exception):
    """Base class of every error the library raises on purpose.

    ``code`` names the kind of problem (``None``: no particular kind), so that
    a front end can add its own advice without parsing the message.
    """

    exit_code = 1

    def __init__(self, *args: object, code: str | None = None) -> None:
        super().__init__(*args)
        self.code = code


class DataError(ImtTutorError):
    """Bad data (YAML, rules, cases, facts, answers): the CLI exits 1.

    One data error is one *problem*: a message, where it is (``location``), a
    ``code`` naming its kind and a ``level`` (``error``, or ``warning`` for
    what an author should look at but that does not stop anything).
    ``str(error)`` is the one-line ``path:line:col: message`` form.
    """

    exit_code = 1

    def __init__(
        self, message: str, location: Location | None = None, *, code: str | None = None, level: str = ERROR
    ) -> None:
        super().__init__(message, code=code)
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}")
        self.message = message
        self.location = location
        self.level = level

    def __str__(self) -> str:
        if self.location is None:
            return self.message
        return f"{self.location}: {self.message}"


class DataErrors(DataError):
    """Several data errors collected by one validation pass (one per line)."""

    def __init__(self, errors: list[DataError]) -> None:
        if not errors:
            raise ValueError("DataErrors needs at least one error")
        super().__init__(errors[0].message, errors[0].location, code=errors[0].code)
        self.errors = list(errors)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class EngineError(ImtTutorError):
    """The rule engine failed (an action raised, a session leaked, ...)."""

    exit_code = 1


#: One located problem of a validation pass (a :class:`DataError`, raised or collected).
Problem = DataError


# Control characters (C0, DEL, C1), line and paragraph separators, and the format
# characters that reorder or hide text (bidi overrides and isolates, zero-width
# characters, BOM): never echoed to a terminal as they are.
UNSAFE_CHARACTERS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: object, limit: int | None = None) -> str:
    """Untrusted text as it may be echoed in a message: every control or
    invisible formatting character escaped (``\\n``, ``\\x1b``, ``\\u202e``), so it
    can neither act on a terminal nor split a message over two lines; cut to
    ``limit`` characters (with ``…``) when given."""
    escaped = UNSAFE_CHARACTERS.sub(_escape, str(text))
    if limit is not None and len(escaped) > limit:
        escaped = escaped[: max(limit - 1, 0)] + "…"
    return escaped


#: Words longer than this get no did-you-mean (every ID is far shorter).
MAX_SUGGESTED = 200


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or ``""`` (always ``""``
    for a word longer than :data:`MAX_SUGGESTED` characters: nothing is that close)."""
    if len(str(word)) > MAX_SUGGESTED:
        return ""
    choices = list(choices)
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        if str(word).lower() in lowered:
            close = [lowered[str(word).lower()]]
    return f" (did you mean '{shown(close[0])}'?)" if close else ""


class Problems:
    """Collects every problem of one validation pass, then raises the errors
    together (warnings are kept in ``warnings`` and never raised)."""

    def __init__(self) -> None:
        self.errors: list[DataError] = []
        self.warnings: list[DataError] = []

    def add(self, message: str, location: Location | None, *, code: str | None = None, level: str = ERROR) -> None:
        problem = DataError(message, location, code=code, level=level)
        (self.warnings if level == WARNING else self.errors).append(problem)

    def raise_if_any(self) -> None:
        if self.errors:
            if len(self.errors) == 1:
                raise self.errors[0]
            raise DataErrors(self.errors)
