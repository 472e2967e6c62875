"""``imt-tutor export``: the cases in other forms, for students who never open
a terminal. Each format is a subcommand, imported only when it is used (like
the top-level commands), from its own module: add a line to
:data:`EXPORTERS`."""

from __future__ import annotations

from typing import Any

import click

from .. import DISCLAIMER
from . import CONTEXT, ImtTutorGroup, LazyCommand

__all__ = ["EXPORTERS", "ExportGroup", "export_group"]

#: Each format: its command ("module:attribute") and the first paragraph of its help
#: (so that 'imt-tutor export --help' imports none of them; a test checks they agree).
EXPORTERS: dict[str, LazyCommand] = {
    "html": LazyCommand(
        "imt_tutor.cli.export_html:html_command",
        "Write one self-contained HTML page per case, and an index, for the browser.",
    ),
    "moodle": LazyCommand("imt_tutor.cli.export_quiz:moodle_command", "Write the cases as Moodle XML questions."),
    "qti": LazyCommand("imt_tutor.cli.export_quiz:qti_command", "Write the cases as a QTI 1.2 package for Canvas."),
}


class ExportGroup(ImtTutorGroup):
    """Subcommands loaded on use, as the top-level group loads its commands.
    Errors are handled once, by the top-level group's boundary."""

    def invoke(self, ctx: click.Context) -> Any:
        return click.Group.invoke(self, ctx)


@click.group(
    "export",
    cls=ExportGroup,
    lazy_commands=EXPORTERS,
    context_settings=CONTEXT,
    help=f"""Export the cases as browser pages or LMS quizzes.

Each format is a subcommand: html writes pages that students open in a
browser; moodle and qti write quizzes that Moodle and Canvas import.

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor export html --out pages/
  imt-tutor export html lung-cough-alk-positive --out pages/ --single-file
""",
)
def export_group() -> None:
    pass
