"""Tests of imt_tutor.files: bundled folders, the data folder, regular-file-only
capped reads (a FIFO never hangs) and atomic writes."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from imt_tutor import files, transcript
from imt_tutor.errors import DataError, Location
from imt_tutor.files import (
    AtomicWriter,
    cases_dir,
    data_dir,
    default_transcript_path,
    examples_dir,
    open_regular,
    read_capped,
    rules_dir,
    write_atomic,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs and symbolic links as on POSIX")


def test_bundled_folders() -> None:
    assert (rules_dir() / "vocabulary.yaml").is_file()
    assert any(cases_dir().glob("*.yaml"))
    assert (examples_dir() / "lung-mass.yaml").is_file()


def test_data_folder_and_its_old_home(tmp_path: Path) -> None:
    assert data_dir({"XDG_DATA_HOME": "/x"}, "linux", tmp_path) == Path("/x/imt-tutor")
    assert default_transcript_path("c", {"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "imt-tutor/transcripts/c.json"
    # transcript.py's callers still find them there.
    assert transcript.data_dir is data_dir
    assert transcript.default_transcript_path is default_transcript_path


def test_read_capped_reads_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"x" * 10)
    assert read_capped(path, 10) == b"x" * 10


def test_read_capped_refuses_a_large_file_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 11)

    def no_open(*args: object) -> int:
        raise AssertionError("the file was opened")

    monkeypatch.setattr(files.os, "open", no_open)
    with pytest.raises(DataError) as excinfo:
        read_capped(path, 10)
    assert excinfo.value.code == "too-large"
    assert excinfo.value.location == Location(str(path))


def test_read_capped_refuses_a_file_that_grew(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "grows.txt"
    path.write_bytes(b"x" * 5)
    real_open = os.open

    def grow_then_open(target: str, flags: int) -> int:
        Path(target).write_bytes(b"x" * 50)  # between the stat and the read
        return real_open(target, flags)

    monkeypatch.setattr(files.os, "open", grow_then_open)
    with pytest.raises(DataError, match="too large"):
        read_capped(path, 10)


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as excinfo:
        read_capped(tmp_path, 10, display_path="here")
    assert str(excinfo.value) == "here: cannot read file: it is a folder, not a file"


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as excinfo:
        read_capped(tmp_path / "none", 10, display_path="none")
    assert str(excinfo.value) == "none: cannot read file: No such file or directory"


@posix_only
def test_a_device_is_not_a_file() -> None:
    with pytest.raises(DataError, match="character device"):
        read_capped("/dev/zero", 10)


@posix_only
def test_a_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(DataError) as excinfo:
        read_capped(fifo, 10)
    assert excinfo.value.message == "cannot read file: it is a named pipe (FIFO), not a regular file"


@posix_only
def test_a_fifo_swapped_in_after_the_stat_never_hangs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    (tmp_path / "regular").write_bytes(b"x")
    regular = (tmp_path / "regular").stat()  # what the stat saw, before a FIFO took the file's place
    real_stat = os.stat
    monkeypatch.setattr(files.os, "stat", lambda p, *a, **k: regular if Path(p) == fifo else real_stat(p, *a, **k))
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            read_capped(fifo, 10)
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "reading the FIFO blocked"
    assert isinstance(outcome[0], DataError)
    assert "named pipe" in str(outcome[0])


@posix_only
def test_a_symbolic_link_loop(tmp_path: Path) -> None:
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    with pytest.raises(DataError) as excinfo:
        read_capped(loop, 10)
    assert excinfo.value.message.startswith("cannot read file: Too many levels of symbolic links")


def test_open_regular_gives_a_binary_handle(tmp_path: Path) -> None:
    path = tmp_path / "lines.txt"
    path.write_bytes(b"a\nb\n")
    with open_regular(path, 100) as handle:
        assert handle.readline() == b"a\n"


# --------------------------------------------------------------------- writing


def test_write_atomic_text_and_bytes(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_atomic(target, "héllo\n")
    assert target.read_bytes() == "héllo\n".encode()
    write_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temporary file left


@posix_only
def test_written_files_get_the_usual_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_atomic(target, "x")
    streamed = tmp_path / "streamed.txt"
    with AtomicWriter(streamed) as out:
        out.write("x")
    old = os.umask(0)
    os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~old
    assert stat.S_IMODE(streamed.stat().st_mode) == 0o666 & ~old


def test_a_failed_rename_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old", encoding="utf-8")

    def broken(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", broken)
    with pytest.raises(DataError) as excinfo:
        write_atomic(target, "new")
    assert str(excinfo.value) == f"{target}: cannot write file: No space left on device"
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_an_error_while_writing_discards_the_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), AtomicWriter(target) as out:
        out.write("half")
        assert any(p.name.startswith(".out.csv.") for p in tmp_path.iterdir())  # the hidden temporary file
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_text_utf8_cannot_encode_is_one_located_error_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.md"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(DataError) as excinfo:
        write_atomic(target, "name: \udcff")
    assert str(excinfo.value).startswith(f"{target}: cannot write file: the text holds ")
    assert excinfo.value.code == "unwritable"
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.md"]


def test_a_full_disk_while_writing_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.md"
    target.write_text("old", encoding="utf-8")

    def full(*args: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "write", full)
    with pytest.raises(DataError, match="cannot write file: No space left on device"):
        write_atomic(target, "new text")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.md"]


def test_writing_over_a_folder_or_into_a_missing_one(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot write file: it is a folder"):
        write_atomic(tmp_path, "x")
    with pytest.raises(DataError, match="cannot write file"):
        write_atomic(tmp_path / "no" / "such" / "x.txt", "x")
    write_atomic(tmp_path / "made" / "x.txt", "x", make_parents=True)
    assert (tmp_path / "made" / "x.txt").read_text(encoding="utf-8") == "x"


# --------------------------------------------------------------------- locks, write targets, no home (hardening)


def test_a_lock_is_exclusive_and_let_go(tmp_path: Path) -> None:
    target = tmp_path / "t.json"
    with files.FileLock(target, "in use") as held:
        assert held.path == tmp_path / "t.json.lock"
        assert held.path.read_text(encoding="ascii").strip() == str(os.getpid())
        with pytest.raises(DataError) as caught:
            files.FileLock(target, "in use").acquire()
        assert caught.value.code == "locked"
        assert str(caught.value) == f"{target}: in use (by process {os.getpid()})"
    assert not (tmp_path / "t.json.lock").exists()
    with files.FileLock(target):
        pass


def test_a_stale_lock_is_taken_over(tmp_path: Path) -> None:
    target = tmp_path / "t.json"
    (tmp_path / "t.json.lock").write_text("999999999\n", encoding="ascii")  # its process is gone: no flock held
    with files.FileLock(target) as held:
        assert held.path.read_text(encoding="ascii").strip() == str(os.getpid())


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_check_target_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "x.json"
    os.mkfifo(fifo)
    kinds = (
        (fifo, "a named pipe (FIFO), not a regular file"),
        (tmp_path, "a folder, not a file"),
        (Path(os.devnull), "a character device, not a regular file"),
    )
    for path, words in kinds:
        with pytest.raises(DataError) as caught:
            files.check_target(path, "cannot save transcript")
        assert str(caught.value) == f"{path}: cannot save transcript: it is {words}"
    files.check_target(tmp_path / "new" / "t.json")  # a missing file in a missing folder is fine
    assert (tmp_path / "new").is_dir() and not list((tmp_path / "new").iterdir())


def test_no_home_folder_is_a_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    with pytest.raises(DataError) as caught:
        files.data_dir({}, "linux")
    assert caught.value.code == "no-home"
    assert files.data_dir({"XDG_DATA_HOME": "/x"}, "linux") == Path("/x/imt-tutor")
