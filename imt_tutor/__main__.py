"""``python -m imt_tutor``: the same CLI as the ``imt-tutor`` console script."""

from __future__ import annotations

from .cli import main

main(prog_name="imt-tutor")
