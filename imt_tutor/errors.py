"""Project exceptions and source locations.

Every error a user can cause is an :class:`ImtTutorError`. Data errors carry
where they happened (path, 1-based line and column) and print as one line:
``path:line:col: message``. Each error class carries the ``exit_code`` the
command line exits with, and an error may carry a ``code`` (a stable name such
as ``unknown-case``) by which the command line adds its own hints; messages
never name command-line options.
"""

from __future__ import annotations

import heapq
import re
from collections import OrderedDict
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


def shown_value(value: object, limit: int = 80) -> str:
    """A loaded value as its author would recognise it in a message: ``nothing``,
    ``true``, ``a mapping``, ``a list``, text quoted and :func:`shown`, a number as written."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"'{shown(value, limit)}'"
    return repr(value)


#: Words longer than this get no did-you-mean (every ID is far shorter).
MAX_SUGGESTED = 200
#: Up to this many choices, a word is compared with every choice of a fitting length: the answer is
#: difflib's own closest match.
EXACT_CHOICES = 256
#: Past :data:`EXACT_CHOICES`, a word is compared only with the choices within about two edits of it (one
#: character deleted from each gives the same text), at most this many: the work per word stays bounded.
MAX_COMPARED = 16
#: Choices longer than this are not indexed by their deletions in a large set (only found spelt exactly).
_MAX_INDEXED = 64
_CUTOFF = 0.6
_CACHED_SETS = 32
_CACHED_WORDS = 4096


def _close_enough(word_length: int, length: int) -> bool:
    """difflib's ``real_quick_ratio`` bound (2 * shorter / both) is at least the cutoff."""
    total = word_length + length
    return (2.0 * min(word_length, length) / total if total else 1.0) >= _CUTOFF


def _deletions(text: str) -> set[str]:
    """``text`` and every text one character shorter."""
    return {text, *[text[:i] + text[i + 1 :] for i in range(len(text))]}


class Suggester:
    """Did-you-mean over one set of choices: built once per set (see :func:`suggester`),
    with a cache of its answers.

    ``compared`` counts the choices compared with a word so far (the work the
    caps bound); ``answered`` counts the words answered from the cache.
    """

    def __init__(self, choices: Iterable[object]) -> None:
        self.choices = tuple(c for c in choices if isinstance(c, str))
        self.compared = 0
        self.answered = 0
        self.lowered = {c.lower(): c for c in self.choices}
        self._by_length: dict[int, list[str]] = {}
        for choice in self.choices:
            self._by_length.setdefault(len(choice), []).append(choice)
        self._deleted: dict[str, int | list[int]] | None = None
        self._answers: dict[str, str | None] = {}

    @property
    def exact(self) -> bool:
        """Whether every choice of a fitting length is compared (a small set)."""
        return len(self.choices) <= EXACT_CHOICES

    def closest(self, word: str) -> str | None:
        """The closest choice (difflib's ratio of at least 0.6, else the same
        word in another letter case), or ``None``."""
        if word in self._answers:
            self.answered += 1
            return self._answers[word]
        found = self._closest(word)
        if len(self._answers) < _CACHED_WORDS:
            self._answers[word] = found
        return found

    def _closest(self, word: str) -> str | None:
        size = len(word)
        if self.exact:
            candidates = [c for length, group in self._by_length.items() if _close_enough(size, length) for c in group]
        else:
            candidates = [c for c in self._near(word) if _close_enough(size, len(c))]
        self.compared += len(candidates)
        import difflib  # here: only a problem asks for a did-you-mean (and a batch reads mostly good files)

        close = difflib.get_close_matches(word, candidates, n=1, cutoff=_CUTOFF)
        if close:
            return close[0]
        return self.lowered.get(word.lower())

    def _near(self, word: str) -> list[str]:
        """At most :data:`MAX_COMPARED` choices that share a deletion with ``word``, in choice order."""
        deleted = self._deleted
        if deleted is None:
            deleted = self._deleted = {}
            for index, choice in enumerate(self.choices):
                for text in _deletions(choice) if len(choice) <= _MAX_INDEXED else (choice,):
                    entry = deleted.get(text)
                    if entry is None:
                        deleted[text] = index  # most texts belong to one choice: no list for them
                    elif isinstance(entry, int):
                        deleted[text] = [entry, index]
                    else:
                        entry.append(index)
        found: set[int] = set()
        for text in _deletions(word):
            entry = deleted.get(text)
            if isinstance(entry, int):
                found.add(entry)
            elif entry is not None:
                found.update(entry)
        chosen = sorted(found) if len(found) <= MAX_COMPARED else heapq.nsmallest(MAX_COMPARED, found)
        return [self.choices[i] for i in chosen]


_SUGGESTERS: OrderedDict[tuple[object, ...], Suggester] = OrderedDict()
# Immutable choice objects seen lately, by identity (each kept alive here, so its id stays its own):
# the same tuple passed again costs no hashing of its choices.
_BY_IDENTITY: OrderedDict[int, tuple[object, Suggester]] = OrderedDict()


def suggester(choices: Iterable[object]) -> Suggester:
    """The :class:`Suggester` of ``choices``, built once per set of choices
    (the last few sets are kept)."""
    seen = _BY_IDENTITY.get(id(choices))
    if seen is not None and seen[0] is choices:
        return seen[1]
    key = tuple(choices)
    try:
        found = _SUGGESTERS.get(key)
    except TypeError:  # an unhashable choice: nothing to cache it by
        return Suggester(key)
    if found is None:
        found = _SUGGESTERS[key] = Suggester(key)
        if len(_SUGGESTERS) > _CACHED_SETS:
            _SUGGESTERS.popitem(last=False)
    else:
        _SUGGESTERS.move_to_end(key)
    if isinstance(choices, (tuple, frozenset)):
        _BY_IDENTITY[id(choices)] = (choices, found)
        if len(_BY_IDENTITY) > _CACHED_SETS:
            _BY_IDENTITY.popitem(last=False)
    return found


def did_you_mean(word: object, choices: Iterable[object]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or ``""`` (always ``""``
    for a word longer than :data:`MAX_SUGGESTED` characters: nothing is that close).

    The choices are indexed once per set and the answers cached, and the work
    per word is bounded however many choices there are (see :class:`Suggester`).
    """
    text = str(word)
    if len(text) > MAX_SUGGESTED:
        return ""
    close = suggester(choices).closest(text)
    return f" (did you mean '{shown(close)}'?)" if close is not None else ""


#: One validation pass suggests a did-you-mean for this many problems at most (:meth:`Problems.did_you_mean`);
#: the rest are reported without one (nobody reads that far, and each costs a search).
MAX_HINTS = 100


class Problems:
    """Collects every problem of one validation pass, then raises the errors
    together (warnings are kept in ``warnings`` and never raised)."""

    def __init__(self) -> None:
        self.errors: list[DataError] = []
        self.warnings: list[DataError] = []
        self.hints = 0  # did-you-mean searches made for this pass

    def did_you_mean(self, word: object, choices: Iterable[object]) -> str:
        """:func:`did_you_mean` for the first :data:`MAX_HINTS` problems that ask, then ``""``."""
        if self.hints >= MAX_HINTS:
            return ""
        self.hints += 1
        return did_you_mean(word, choices)

    def add(self, message: str, location: Location | None, *, code: str | None = None, level: str = ERROR) -> None:
        problem = DataError(message, location, code=code, level=level)
        (self.warnings if level == WARNING else self.errors).append(problem)

    def raise_if_any(self) -> None:
        if self.errors:
            if len(self.errors) == 1:
                raise self.errors[0]
            raise DataErrors(self.errors)
