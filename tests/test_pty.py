"""The real console script in a pseudo-terminal: answer, Ctrl-C, resume."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only")

LUNG = "lung-cough-alk-positive"
PROMPT = b"Your answer? ('help' for commands) "
TIMEOUT = 60.0


def one_command(text: str) -> str:
    """The resume command as one line: the CLI prints it indented and continued with a backslash."""
    return text.replace("Continue with:\n  ", "Continue with: ").replace(" \\\n    ", " ")


def script() -> str:
    beside = Path(sys.executable).parent / "imt-tutor"
    found = str(beside) if beside.exists() else shutil.which("imt-tutor")
    if not found:
        pytest.skip("the imt-tutor console script is not installed")
    return found


class Terminal:
    """A child process on a pseudo-terminal, read and written with timeouts."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        import pty

        self.output = b""
        self.mark = 0
        self.status: int | None = None
        pid, fd = pty.fork()
        if pid == 0:  # the child: become the console script
            try:
                os.execve(args[0], args, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd

    def _read(self, timeout: float) -> bool:
        """Read what is there (waiting up to ``timeout``); False at end of output."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.output += chunk
        return bool(chunk)

    def expect(self, needle: bytes, timeout: float = TIMEOUT) -> bytes:
        """Wait for ``needle`` after the last match; return the text up to it."""
        deadline = time.monotonic() + timeout
        while True:
            at = self.output.find(needle, self.mark)
            if at >= 0:
                seen = self.output[self.mark : at + len(needle)]
                self.mark = at + len(needle)
                return seen
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (not self._read(min(remaining, 1.0)) and self.poll() is not None):
                self.kill()
                pytest.fail(f"no {needle!r} (timed out or exited); output so far:\n{self.text}")

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def poll(self) -> int | None:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def wait(self, timeout: float = TIMEOUT) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"the process did not exit; output:\n{self.output.decode(errors='replace')}")
            self._read(0.1)
        while self._read(0.1) and len(self.output) < 10_000_000:
            pass
        os.close(self.fd)
        assert self.status is not None
        return self.status

    def kill(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.status = -9

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", errors="replace").replace("\r\n", "\n")


def environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    env.update({"NO_COLOR": "1", "TERM": "dumb", "XDG_DATA_HOME": str(tmp_path / "xdg"), "PYTHONUNBUFFERED": "1"})
    return env


def test_ctrl_c_saves_and_resume_continues(tmp_path: Path) -> None:
    exe = script()
    transcript = tmp_path / "t.json"
    env = environment(tmp_path)

    term = Terminal([exe, "run", LUNG, "--transcript", str(transcript)], env)
    try:
        first = term.expect(PROMPT)
        assert b"TEACHING AID ONLY" in first
        assert b"Question 1 of 13 (presentation.next-steps)" in first
        term.send(b"1\n")
        assert b"Question 2 of 13 (presentation.pattern)" in term.expect(PROMPT)
        term.send(b"42\n")  # no such option: asked again
        assert b"Sorry: there is no option 42: choose from 1 to 4." in term.expect(PROMPT)
        term.send(b"2,3\n")
        assert b"Question 3 of 13 (imaging.next-steps)" in term.expect(PROMPT)
        term.send(b"\x03")  # Ctrl-C
        status = term.wait()
    finally:
        term.kill()
    assert status == 130, term.text
    assert "Interrupted." in term.text
    assert "Traceback" not in term.text
    assert [line for line in term.text.splitlines() if len(line) > 80 and str(tmp_path) not in line] == []
    assert f"Continue with: imt-tutor run {LUNG} --resume --transcript {transcript}" in one_command(term.text)

    saved = json.loads(transcript.read_text(encoding="utf-8"))
    assert saved["case"] == LUNG
    assert [(a["question"], a["picks"]) for a in saved["answers"]] == [
        ("presentation.next-steps", ["cross_sectional_imaging"]),
        ("presentation.pattern", ["general_symptoms", "lung_symptoms"]),
    ]

    term = Terminal([exe, "run", LUNG, "--resume", "--transcript", str(transcript)], env)
    try:
        before = term.expect(PROMPT)
        assert b"Resuming at question 3 of 13." in before
        assert re.findall(rb"Question (\d+) of 13", before) == [b"3"]
        assert b"Question 3 of 13 (imaging.next-steps)\r\nWhich next steps" in before
        term.send(b"\n")  # an empty answer is confirmed first
        term.expect(b"Pick nothing? [y/N] ")
        term.send(b"n\n")
        term.expect(PROMPT)
        term.send(b"2\n")
        assert b"Question 4 of 13 (imaging.working-diagnosis)" in term.expect(PROMPT)
        term.send(b"\x04")  # Ctrl-D: end of input
        status = term.wait()
    finally:
        term.kill()
    assert status == 1, term.text
    assert "End of input before the last question." in term.text
    assert "Traceback" not in term.text
    saved = json.loads(transcript.read_text(encoding="utf-8"))
    assert [a["question"] for a in saved["answers"]][-1] == "imaging.next-steps"
    assert saved["answers"][-1]["points"] == 1.0


def test_ctrl_c_right_after_the_prompt_is_never_lost(tmp_path: Path) -> None:
    """input() can note a Ctrl-C that lands between the prompt and the read and
    then wait for Enter (16 times in 40 here, on a busy machine). Each try
    presses Ctrl-C the moment the prompt appears; each must stop the run."""
    exe = script()
    env = environment(tmp_path)
    for attempt in range(8):
        transcript = tmp_path / f"t{attempt}.json"
        term = Terminal([exe, "run", LUNG, "--transcript", str(transcript)], env)
        try:
            term.expect(PROMPT)
            term.send(b"\x03")
            status = term.wait(timeout=15.0)
        finally:
            term.kill()
        assert status == 130, (attempt, term.text)
        assert "Interrupted." in term.text


def test_a_whole_case_at_60_columns_breaks_no_word(tmp_path: Path) -> None:
    """A student on a narrow terminal: every line fits in 60 columns, so the
    terminal never has to break a word (our wrapping never does)."""
    import subprocess

    exe = script()
    env = environment(tmp_path) | {"COLUMNS": "60", "LINES": "40"}
    key = subprocess.run([exe, "key", LUNG], capture_output=True, text=True, env=env, check=True).stdout
    answers = [
        line.split(":", 1)[1].strip().strip("[]").replace(" ", "") or "-"
        for line in key.splitlines()
        if line.startswith("  ") and not line.lstrip().startswith("#")
    ]
    transcript = tmp_path / "t.json"
    term = Terminal([exe, "run", LUNG, "--transcript", str(transcript)], env)
    try:
        for answer in answers:
            term.expect(b"('help' for commands) ")
            term.send(answer.encode() + b"\n")
        status = term.wait()
    finally:
        term.kill()
    assert status == 0, term.text
    assert "Total: 13.00 / 13.00 (100.0%)" in term.text
    prompt = "('help' for commands) "  # what the student types after it is theirs to wrap
    long = [line for line in term.text.splitlines() if len(line.split(prompt)[0]) > 60 and str(tmp_path) not in line]
    assert long == [], long


def test_ctrl_c_at_continue_the_saved_run_exits_130_and_keeps_it(tmp_path: Path) -> None:
    exe = script()
    transcript = tmp_path / "t.json"
    env = environment(tmp_path)
    term = Terminal([exe, "run", LUNG, "--transcript", str(transcript)], env)
    try:
        term.expect(PROMPT)
        term.send(b"1\n")
        term.expect(PROMPT)
        term.send(b"q\n")
        assert term.wait() == 0
    finally:
        term.kill()
    saved = transcript.read_bytes()
    for attempt in range(4):  # Ctrl-C the moment the question appears: it must never wait for Enter
        term = Terminal([exe, "run", LUNG, "--transcript", str(transcript)], env)
        try:
            term.expect(b"Continue it? [Y/n]: ")
            term.send(b"\x03")
            status = term.wait(timeout=15.0)
        finally:
            term.kill()
        assert status == 130, (attempt, term.text)
        assert "Traceback" not in term.text and "Aborted!" not in term.text
        assert "Interrupted." in term.text
        assert transcript.read_bytes() == saved
    term = Terminal([exe, "run", LUNG, "--transcript", str(transcript)], env)
    try:
        term.expect(b"Continue it? [Y/n]: ")
        term.send(b"\n")
        assert b"Question 2 of 13" in term.expect(PROMPT)
        term.send(b"q\n")
        assert term.wait() == 0
    finally:
        term.kill()
