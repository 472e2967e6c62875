"""Where the bundled rules and cases live, in a checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _bundled(name: str) -> Path:
    # A wheel carries them inside the package (see pyproject.toml, force-include);
    # a checkout or an editable install has them at the top of the repository.
    inside = _HERE / "_bundled" / name
    if inside.is_dir():
        return inside
    return _HERE.parent / name


def rules_dir() -> Path:
    return _bundled("rules")


def cases_dir() -> Path:
    return _bundled("cases")


def examples_dir() -> Path:
    return _bundled("examples")
