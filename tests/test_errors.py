"""errors.py: the one escape for untrusted text echoed in a message."""

from __future__ import annotations

import pytest

from imt_tutor.errors import DataError, Location, did_you_mean, shown


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
