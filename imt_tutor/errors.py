"""Project exceptions and source locations.

Every error a user can cause is an :class:`ImtTutorError`. Data errors carry
where they happened (path, 1-based line and column) and print as one line:
``path:line:col: message``. Each error class carries the ``exit_code`` the
command line exits with, and an error may carry a ``code`` (a stable name such
as ``unknown-case``) by which the command line adds its own hints; messages
never name command-line options.
"""

from __future__ import annotations

from dataclasses import dataclass


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

    ``str(error)`` is the one-line ``path:line:col: message`` form.
    """

    exit_code = 1

    def __init__(self, message: str, location: Location | None = None, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.message = message
        self.location = location

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
