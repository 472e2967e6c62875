"""The command line: the group, its global options, ONE error boundary, and the
commands, each imported only when it is used. Nothing clinical happens here.

Every :class:`~imt_tutor.errors.ImtTutorError` that reaches the group becomes
its message on standard error, one line per problem, and the exit code of its
class (1 for bad data); usage errors are click's (exit 2); Ctrl-C exits 130; a
closed pipe ends quietly. Library messages never name the command line's
options: the hints that do (``use --engine builtin``) are added here, by the
error's ``code``. TEACHING AID ONLY - never a diagnostic tool.

``imt-tutor --version`` and ``imt-tutor --help`` import no command module, no
rule engine and no renderer (``tests/test_imports.py``).
"""

from __future__ import annotations

import errno
import gc
import importlib
import importlib.util
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from .. import DISCLAIMER, __version__, dist_version
from ..errors import DataError, DataErrors, ImtTutorError, shown

__all__ = [
    "COMMANDS",
    "CONTEXT",
    "ENGINE_CHOICES",
    "GC_THRESHOLDS",
    "HINTS",
    "INTERRUPTED",
    "MAX_PROBLEMS_PER_FILE",
    "ImtTutorGroup",
    "LazyCommand",
    "LibraryFailure",
    "capped_lines",
    "error_lines",
    "main",
    "more_problems_line",
    "tune_gc",
]

CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# The names of engines.ENGINE_CHOICES, spelt here so that parsing the global options
# imports no engine (a test checks the two agree).
ENGINE_CHOICES = ("auto", "durable_rules", "builtin")

#: What the command line adds to a library error, by the error's ``code``.
HINTS = {
    "unknown-case": "'imt-tutor cases' lists them",
    "engine-unavailable": "use --engine builtin",
    "no-home": "pass --transcript PATH, or set XDG_DATA_HOME",
    "locked": "wait for it to finish, or choose another --transcript PATH",
}

INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a process stopped by Ctrl-C


# --------------------------------------------------------------------- the error boundary


#: The problems shown per file, in every text output: the rest of a file's are
#: counted on one line (the library collects them all; JSON output keeps them all).
MAX_PROBLEMS_PER_FILE = 100

_Item = TypeVar("_Item")


def more_problems_line(path: str, more: int) -> str:
    """The line that stands for a file's problems past :data:`MAX_PROBLEMS_PER_FILE`."""
    return f"{path}: ... and {more:,} more problem{'' if more == 1 else 's'} in this file"


def capped_lines(
    items: Iterable[_Item],
    path: Callable[[_Item], str],
    line: Callable[[_Item], str],
    limit: int = MAX_PROBLEMS_PER_FILE,
) -> list[str]:
    """``line(item)`` for each item, in order, but at most ``limit`` for each
    ``path(item)``: right after a file's last shown line, one line says how many
    more that file has (:func:`more_problems_line`). One pass to count, one to show."""
    items = list(items)
    totals = Counter(path(item) for item in items)
    shown_so_far: Counter[str] = Counter()
    lines = []
    for item in items:
        where = path(item)
        shown_so_far[where] += 1
        count = shown_so_far[where]
        if count <= limit:
            lines.append(line(item))
        if count == limit and totals[where] > limit:
            lines.append(more_problems_line(where, totals[where] - limit))
    return lines


def _problems(error: ImtTutorError) -> Iterator[ImtTutorError]:
    if isinstance(error, DataErrors):
        yield from error.errors
    else:
        yield error


def _path_of(problem: ImtTutorError) -> str:
    location = getattr(problem, "location", None)
    return shown(location.path) if location is not None else "imt-tutor"


def _error_line(problem: ImtTutorError) -> str:
    hint = HINTS.get(problem.code or "")
    return shown(f"{problem}; {hint}" if hint else str(problem))


def error_lines(error: ImtTutorError) -> list[str]:
    """The lines the command line prints for ``error``: one per problem (at most
    :data:`MAX_PROBLEMS_PER_FILE` per file, then how many more), each with the
    command line's hint for its ``code``, if any, and every control character
    escaped (a problem is one line, and acts on no terminal)."""
    return capped_lines(_problems(error), _path_of, _error_line)


#: The cyclic garbage collector's thresholds for a command (CPython's default is
#: 700, 10, 10). The data a command builds (YAML trees, rules, keys) holds no
#: cycles, yet the default collects after every 700 new objects and walks every
#: live object again and again: a third or more of loading a large rule base, and
#: more than linear in its size. mypy's command line does the same.
GC_THRESHOLDS = (200_000, 30, 30)


def tune_gc() -> None:
    """Run the cyclic garbage collector less often (:data:`GC_THRESHOLDS`): on
    CPython, unless its first threshold is already as high. For a command line
    process (``benchmarks/scale.py`` applies it too); the library never does."""
    if sys.implementation.name == "cpython" and gc.get_threshold()[0] < GC_THRESHOLDS[0]:
        gc.set_threshold(*GC_THRESHOLDS)


class _ClosedStdin:
    """Stands in for a closed standard input (``<&-``): using it in any way is
    one data error, not an ``AttributeError`` on ``None``."""

    def __getattr__(self, name: str) -> Any:
        raise DataError("standard input is closed; give the input another way, or run from a terminal", code="no-stdin")


def _guard_streams() -> None:
    if sys.stdin is None:
        sys.stdin = _ClosedStdin()  # type: ignore[assignment]


def _replace_unencodable() -> None:
    """An output encoding that cannot show a character (``PYTHONIOENCODING=latin-1``)
    shows ``?`` for it instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("_", "-")
        if reconfigure is not None and encoding not in ("utf-8", "utf8"):
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):  # pragma: no cover - a stream that cannot be reconfigured
                pass


class OutputFailure(click.ClickException):
    """Standard output cannot be written (a full disk, a closed or bad descriptor): one line, exit 1."""

    def __init__(self, error: OSError) -> None:
        super().__init__(f"cannot write the output: {error.strerror or error}")

    def show(self, file: Any = None) -> None:
        try:
            click.echo(self.format_message(), file=file, err=True)
        except (OSError, ValueError):  # pragma: no cover - standard error is gone too
            pass


class LibraryFailure(click.ClickException):
    """An :class:`ImtTutorError` on its way out: its lines, its class's exit code."""

    def __init__(self, error: ImtTutorError) -> None:
        super().__init__("\n".join(error_lines(error)))
        self.error = error
        self.exit_code = error.exit_code  # type: ignore[misc]  # per error class, not per click class

    def show(self, file: Any = None) -> None:
        click.echo(self.format_message(), file=file, err=True)


# --------------------------------------------------------------------- lazy commands


class LazyCommand:
    """A command known by name, module and one-line help until it is used."""

    def __init__(self, target: str, short_help: str) -> None:
        self.target = target  # "package.module:attribute"
        self.short_help = short_help

    def load(self) -> click.Command:
        module_name, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


# The one-line help of each command is the first paragraph of its help, kept here so
# that 'imt-tutor --help' imports none of the command modules (a test checks they agree).
COMMANDS: dict[str, LazyCommand] = {
    "cases": LazyCommand(
        "imt_tutor.cli.cases:cases_command",
        "List the fictional teaching cases: ID, title, a teaser that gives nothing away, stages.",
    ),
    "check": LazyCommand(
        "imt_tutor.cli.check:check_command", "Check rules, vocabulary and cases: every problem at once."
    ),
    "grade": LazyCommand(
        "imt_tutor.cli.grade:grade_command", "Grade answer files into a gradebook, feedback files and an item analysis."
    ),
    "export": LazyCommand("imt_tutor.cli.export:export_group", "Export the cases as browser pages or LMS quizzes."),
    "graph": LazyCommand(
        "imt_tutor.cli.check:graph_command", "Draw the rule network: facts, rules, conclusions, steps."
    ),
    "new-case": LazyCommand(
        "imt_tutor.cli.check:new_case_command", "Write a fictional skeleton case that check passes."
    ),
    "vocab": LazyCommand("imt_tutor.cli.check:vocab_command", "List every fact, conclusion and next step, or KEY."),
    "infer": LazyCommand(
        "imt_tutor.cli.infer:infer", "Infer conclusions and next steps from the facts of a fictional patient."
    ),
    "key": LazyCommand(
        "imt_tutor.cli.run:key_command",
        "Print the answer key of CASE, as derived by the rules, as an answers file\n"
        "('student: key') that scores full marks with 'imt-tutor run CASE --answers'.",
    ),
    "rules": LazyCommand(
        "imt_tutor.cli.rules:rules_command", "List the rules, or show RULE_ID, each with the section it cites."
    ),
    "run": LazyCommand(
        "imt_tutor.cli.run:run_command",
        "Work through a fictional CASE (an ID from 'imt-tutor cases', or a case file),\n"
        "question by question, with every expected answer explained by the rules.",
    ),
}


def _escaped(error: click.ClickException) -> click.ClickException:
    """``error`` with its message's control characters escaped: click's usage
    errors quote the words of the command line (``Got unexpected extra
    argument (y\\x07)``), which must not act on the terminal."""
    if not isinstance(error, LibraryFailure):
        error.message = "\n".join(shown(line) for line in error.message.split("\n"))
    return error


class ImtTutorGroup(click.Group):
    """The ``imt-tutor`` group: commands imported on use, and the one place
    where library errors, Ctrl-C and their exit codes are handled."""

    def __init__(self, *args: Any, lazy_commands: dict[str, LazyCommand] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy_commands:
            command = self.lazy_commands[cmd_name].load()
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's command list, with the one-line help of each command not
        loaded yet taken from :data:`COMMANDS` (so that ``--help`` loads none)."""
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            command = super().get_command(ctx, name)
            if command is None:
                # A stand-in with the same first paragraph: click shortens it the same way.
                command = click.Command(name, help=self.lazy_commands[name].short_help)
            if not command.hidden:
                rows.append((name, command))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in rows])

    def main(self, args: Sequence[str] | None = None, *more: Any, **options: Any) -> Any:  # type: ignore[override]
        """click's ``main``, refusing a closed standard output (``>&-``) first:
        whatever the command, its output would be lost."""
        if sys.stdout is None:
            if sys.stderr is not None:
                sys.stderr.write("imt-tutor: standard output is closed; nothing could be shown\n")
                sys.stderr.flush()
            sys.exit(1)
        _replace_unencodable()
        tune_gc()
        return super().main(args, *more, **options)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.ClickException as error:
            raise _escaped(error) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            _guard_streams()
            result = super().invoke(ctx)
            if sys.stdout is not None:
                sys.stdout.flush()  # a full disk is found here, not at exit
            return result
        except OSError as error:
            if error.errno == errno.EPIPE:
                raise  # click ends a broken pipe quietly
            raise OutputFailure(error) from None
        except ImtTutorError as error:
            raise LibraryFailure(error) from None
        except click.ClickException as error:  # a usage error of a command: words of the command line
            raise _escaped(error) from None
        except KeyboardInterrupt:
            click.echo("", err=True)  # after the terminal's ^C
            click.echo("Interrupted.", err=True)
            raise click.exceptions.Exit(INTERRUPTED) from None


# --------------------------------------------------------------------- version


def _engine_label() -> str:
    """What ``--engine auto`` picks, as engines.engine_label words it."""
    version = dist_version("durable_rules", "durable_rules_engine", "durable")
    if version is None:
        return "builtin evaluator"
    return f"durable_rules {version}" if version else "durable_rules"


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"imt-tutor {__version__} (engine: {_engine_label()})\n{DISCLAIMER}", color=ctx.color)
    ctx.exit()


# --------------------------------------------------------------------- the group


@click.group(
    cls=ImtTutorGroup,
    lazy_commands=COMMANDS,
    context_settings=CONTEXT,
    help=f"""imt-tutor: practise the differential diagnosis of inflammatory
myofibroblastic tumours (IMTs) on fictional cases, with every inference explained
and cited to the source document.

\b
{DISCLAIMER}

\b
Examples:
  imt-tutor cases
  imt-tutor run lung-cough-alk-positive
  imt-tutor infer examples/lung-mass.yaml
  imt-tutor infer --fact site=lung --fact symptoms=cough --why-not biopsy
  imt-tutor rules mass-needs-biopsy
""",
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the version and exit.",
)
@click.option(
    "--rules-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Use the rule base in this folder instead of the bundled one.",
)
@click.option(
    "--engine",
    type=click.Choice(ENGINE_CHOICES),
    default="auto",
    show_default=True,
    help="Rule engine: durable_rules, or the builtin evaluator (auto: durable_rules where it runs).",
)
@click.pass_context
def main(ctx: click.Context, rules_dir: Path | None, engine: str) -> None:
    from .common import State  # here, not at the top: --help and --version never get this far

    ctx.obj = State(rules_dir, engine)
