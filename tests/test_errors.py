"""errors.py: the one escape for untrusted text echoed in a message."""

from __future__ import annotations

import difflib
import random

import pytest

from imt_tutor.errors import (
    EXACT_CHOICES,
    MAX_COMPARED,
    MAX_HINTS,
    DataError,
    Location,
    Problems,
    did_you_mean,
    shown,
    suggester,
)
from imt_tutor.models import RuleBase


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("block key\n", "block key\\n"),
        ("a\tb", "a\\tb"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("\x1b[2J", "\\x1b[2J"),
        ("back\bspace", "back\\x08space"),
        ("abc\u202ecba", "abc\\u202ecba"),
        ("\u2066x\u2069", "\\u2066x\\u2069"),
        ("\x9b31m", "\\x9b31m"),
        ("caf\u00e9 \u00b2", "caf\u00e9 \u00b2"),
    ],
)
def test_shown_escapes_every_control_character(text: str, expected: str) -> None:
    assert shown(text) == expected


def test_shown_limit() -> None:
    assert shown("x" * 50, 10) == "x" * 9 + "…"
    assert shown(42) == "42"


def test_did_you_mean_escapes_its_suggestion() -> None:
    assert did_you_mean("site", ["site\x1b[2J"]) == " (did you mean 'site\\x1b[2J'?)"


def test_a_key_with_a_newline_stays_on_one_line() -> None:
    error = DataError(f"unknown fact '{shown('block key' + chr(10))}'", Location("f.yaml", 2, 1))
    assert str(error) == "f.yaml:2:1: unknown fact 'block key\\n'"


# --------------------------------------------------------------------- did-you-mean: capped and cached


def _reference(word: str, choices: list[str]) -> str:
    """The did-you-mean before it was indexed: difflib over every choice, then the letter case."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    return f" (did you mean '{close[0]}'?)" if close else ""


def _misspellings(word: str, rng: random.Random) -> list[str]:
    i = rng.randrange(len(word))
    return [
        word[:i] + word[i + 1 :],
        word[:i] + "x" + word[i:],
        word[:i] + "q" + word[i + 1 :],
        word[:i] + word[i + 1 : i + 2] + word[i : i + 1] + word[i + 2 :],
        word.upper(),
        word[::-1],
        "".join(rng.sample(word, len(word))),
    ]


def test_did_you_mean_gives_difflibs_answer_for_a_small_vocabulary(base: RuleBase) -> None:
    vocab = base.vocabulary
    sets = [
        [s.id for s in vocab.next_steps],
        [f.id for f in vocab.facts],
        [c.id for c in vocab.conclusions],
        [r.id for r in base.rules],
        list(vocab.sections),
        *[list(f.value_ids) for f in vocab.facts],
    ]
    rng = random.Random(11)
    checked = 0
    for choices in sets:
        for choice in choices:
            for word in _misspellings(choice, rng):
                assert did_you_mean(word, choices) == _reference(word, choices), (word, choices)
                checked += 1
    assert checked > 500


def _values(n: int) -> tuple[str, ...]:
    syllables = ["ka", "lo", "mi", "ne", "pu", "ra", "si", "to", "vu", "ze"]
    return tuple("".join(syllables[int(d)] for d in f"{i:05d}") + "_site" for i in range(n))


def test_did_you_mean_over_a_huge_vocabulary_compares_a_bounded_number_of_choices() -> None:
    values = _values(8000)
    assert len(values) > EXACT_CHOICES
    found = suggester(values)
    assert suggester(values) is found  # built once per set of choices
    assert suggester(list(values)) is found  # an equal list finds it too
    for value in values[::400]:
        misspelt = value[:3] + value[4] + value[3] + value[5:]  # two letters swapped
        before = found.compared
        hint = did_you_mean(misspelt, values)
        assert 1 <= found.compared - before <= MAX_COMPARED
        # the suggestion is at least as close as the value misspelt (difflib's measure; a tie: the later text)
        suggested = hint.removeprefix(" (did you mean '").removesuffix("'?)")
        assert suggested in values
        ratio = difflib.SequenceMatcher(None, misspelt, suggested).ratio()
        assert (ratio, suggested) >= (difflib.SequenceMatcher(None, misspelt, value).ratio(), value)
        # asked again: answered from the cache, nothing compared
        answered, compared = found.answered, found.compared
        assert did_you_mean(misspelt, values) == hint
        assert (found.answered, found.compared) == (answered + 1, compared)
    for word in ("kalomienpu_site", "kalominepu_sit", "KALOMINEPU_SITE"):  # as difflib over all 8,000 says
        assert did_you_mean(word, values) == _reference(word, list(values)) != ""
    assert did_you_mean("zzzzzzzzzzzzzzz", values) == ""


def test_a_validation_pass_suggests_for_its_first_problems_only() -> None:
    problems = Problems()
    hints = [problems.did_you_mean("lungs", ("lung", "liver")) for _ in range(MAX_HINTS + 5)]
    assert hints[:MAX_HINTS] == [" (did you mean 'lung'?)"] * MAX_HINTS
    assert hints[MAX_HINTS:] == [""] * 5
