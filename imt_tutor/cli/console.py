"""The terminal consoles of the case runner: click output with styles, and
prompts read so that Ctrl-C is never lost. Only ``cli/`` imports click.
"""

from __future__ import annotations

import os
import select
import sys
from collections.abc import Callable, Mapping
from typing import IO, Any

import click

__all__ = ["STYLES", "ClickConsole", "StreamConsole", "TerminalLines", "colour_allowed"]

STYLES: dict[str, dict[str, Any]] = {
    "title": {"bold": True},
    "good": {"fg": "green", "bold": True},
    "bad": {"fg": "red", "bold": True},
    "info": {"fg": "cyan", "bold": True},
    "warn": {"fg": "yellow"},
    "question": {"bold": True},
}


def colour_allowed(env: Mapping[str, str] | None = None) -> bool | None:
    """``False`` when NO_COLOR is set (to anything), else ``None``: click decides
    (no colour when the output is not a terminal)."""
    env = os.environ if env is None else env
    return False if env.get("NO_COLOR") else None


class TerminalLines:
    """Lines typed at a terminal, read so that Ctrl-C is never lost.

    ``input()`` can miss a Ctrl-C pressed between the prompt being written and
    the read starting: the signal is noted, then the process blocks in
    ``read()`` until Enter (measured here: 16 of 40 immediate Ctrl-Cs on a
    busy machine). Waiting in short ``select`` calls returns to Python often
    enough for the pending KeyboardInterrupt to be raised at once.
    """

    def __init__(self, fd: int, poll: float = 0.1) -> None:
        self.fd = fd
        self.poll = poll
        self.pending = b""

    def readline(self) -> str:
        while b"\n" not in self.pending:
            ready, _, _ = select.select([self.fd], [], [], self.poll)
            if not ready:
                continue  # back in Python: a pending Ctrl-C is raised here
            chunk = os.read(self.fd, 4096)
            if not chunk:  # Ctrl-D
                if not self.pending:
                    raise EOFError
                break
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode("utf-8", errors="replace").rstrip("\r")


class ClickConsole:
    """The terminal console: click.echo with styles; prompts read from the
    terminal (standard input unless ``lines`` says otherwise)."""

    def __init__(self, color: bool | None = None, err: bool = False, lines: TerminalLines | None = None) -> None:
        self.color = color
        self.err = err
        self.line_number = 0
        self.lines = lines

    def show(self, text: str = "", tone: str = "plain") -> None:
        style = STYLES.get(tone)
        message = click.style(text, **style) if style and text and self.color is not False else text
        click.echo(message, color=self.color, err=self.err)

    def ask(self, prompt: str) -> str:
        if self.lines is None:
            self.lines = TerminalLines(sys.stdin.fileno())
        click.echo(prompt, nl=False, err=self.err)
        line = self.lines.readline()
        self.line_number += 1
        return line


def stream_lines(stream: IO[str]) -> Callable[[], str]:
    """``stream.readline``, but bytes that are not UTF-8 become U+FFFD (as at
    the terminal) instead of a UnicodeDecodeError, whatever the locale says."""
    raw = getattr(stream, "buffer", None)
    if raw is None:
        return stream.readline

    def readline() -> str:
        return raw.readline().decode("utf-8", errors="replace")

    return readline


class StreamConsole:
    """Answers read from a non-interactive stream, one line per answer."""

    def __init__(self, output: ClickConsole, lines: Callable[[], str]) -> None:
        self.output = output
        self.readline = lines
        self.line_number = 0

    def show(self, text: str = "", tone: str = "plain") -> None:
        self.output.show(text, tone)

    def ask(self, prompt: str) -> str:
        line = self.readline()
        if not line:
            raise EOFError
        self.line_number += 1
        return line.rstrip("\r\n")
