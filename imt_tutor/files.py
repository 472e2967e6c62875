"""Files: the bundled folders, the user's data folder, size-capped reads of
regular files only, and atomic writes.

Every file imt-tutor reads goes through :func:`read_capped` (or
:func:`open_regular` for line-by-line reading): the path is ``stat``-ed first,
anything but a regular file (a folder, a FIFO, a device, a socket) is refused
with a located one-line :class:`DataError`, the file is opened non-blocking (a
FIFO swapped in after the ``stat`` can never hang the reader) and never more
than ``limit + 1`` bytes are read.

Every file imt-tutor writes goes through :func:`write_atomic` or
:class:`AtomicWriter`: a temporary file in the same folder, flushed and
``fsync``-ed, renamed over the target, then the folder ``fsync``-ed. An
interrupted write leaves the old file (or none), never a half-written one.
"""

from __future__ import annotations

import errno
import math
import os
import stat
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .errors import DataError, Location, shown

__all__ = [
    "APP",
    "AtomicWriter",
    "FileLock",
    "cases_dir",
    "check_target",
    "data_dir",
    "default_transcript_path",
    "examples_dir",
    "open_regular",
    "read_capped",
    "rules_dir",
    "size_text",
    "too_large",
    "write_atomic",
]

APP = "imt-tutor"
_HERE = Path(__file__).resolve().parent
_MIB = 1024 * 1024


# --------------------------------------------------------------------- bundled folders


def _bundled(name: str) -> Path:
    # A wheel carries them inside the package (see pyproject.toml, force-include);
    # a checkout or an editable install has them at the top of the repository.
    inside = _HERE / "_bundled" / name
    if inside.is_dir():
        return inside
    return _HERE.parent / name


def rules_dir() -> Path:
    """The bundled rule base."""
    return _bundled("rules")


def cases_dir() -> Path:
    """The bundled fictional cases."""
    return _bundled("cases")


def examples_dir() -> Path:
    """The bundled example fact files."""
    return _bundled("examples")


# --------------------------------------------------------------------- the user's data folder


def data_dir(env: Mapping[str, str] | None = None, platform: str | None = None, home: Path | None = None) -> Path:
    """The user's data folder for imt-tutor (like platformdirs' user_data_dir).

    Linux and other Unix: ``$XDG_DATA_HOME/imt-tutor`` (an absolute
    ``XDG_DATA_HOME`` only), default ``~/.local/share/imt-tutor``; macOS:
    ``~/Library/Application Support/imt-tutor``; Windows:
    ``%LOCALAPPDATA%\\imt-tutor`` (else ``%APPDATA%``, else ``~\\AppData\\Local``).
    """
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if platform.startswith("win"):
        for name in ("LOCALAPPDATA", "APPDATA"):
            value = env.get(name, "")
            if value:
                return Path(value) / APP
        return _home(home) / "AppData" / "Local" / APP
    if platform == "darwin":
        return _home(home) / "Library" / "Application Support" / APP
    xdg = env.get("XDG_DATA_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / APP
    return _home(home) / ".local" / "share" / APP


def _home(home: Path | None) -> Path:
    """The home folder, or a :class:`DataError` (code ``no-home``) when there is
    none (``HOME`` unset and a user without a passwd entry, as in containers)."""
    if home is not None:
        return home
    try:
        found = Path.home()
    except (RuntimeError, KeyError, OSError):
        found = None
    if found is None or not str(found) or not found.is_absolute():
        raise DataError("there is no home folder to keep the user's data in", code="no-home")
    return found


def default_transcript_path(case_id: str, env: Mapping[str, str] | None = None) -> Path:
    """``<data folder>/transcripts/<case-id>.json``."""
    return data_dir(env) / "transcripts" / f"{case_id}.json"


# --------------------------------------------------------------------- reading


def size_text(size: int) -> str:
    """``1.1 MiB``: a size rounded up to a tenth of a MiB."""
    tenths = math.ceil(size * 10 / _MIB)
    return f"{tenths // 10}.{tenths % 10} MiB"


def too_large(path: str, size: int | None, limit: int) -> DataError:
    """The one error for a file over its size limit (code ``too-large``)."""
    limit_text = f"{limit / _MIB:g} MiB"
    shown = size_text(size) if size is not None else f"more than {limit_text}"
    return DataError(f"file is too large ({shown}; limit {limit_text})", Location(path), code="too-large")


_KINDS = (
    (stat.S_ISDIR, "it is a folder, not a file"),
    (stat.S_ISFIFO, "it is a named pipe (FIFO), not a regular file"),
    (stat.S_ISCHR, "it is a character device, not a regular file"),
    (stat.S_ISBLK, "it is a block device, not a regular file"),
    (stat.S_ISSOCK, "it is a socket, not a regular file"),
)


def _not_regular(mode: int) -> str:
    for test, text in _KINDS:
        if test(mode):
            return text
    return "it is not a regular file"


def _cannot_read(shown: str, error: OSError) -> DataError:
    reason = error.strerror or str(error)
    if error.errno == errno.ELOOP:
        reason += " (a symbolic link loop?)"
    return DataError(f"cannot read file: {reason}", Location(shown), code="unreadable")


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
_OPEN_FLAGS |= getattr(os, "O_BINARY", 0)


def _open_checked(path: str | os.PathLike[str], limit: int, shown: str) -> tuple[int, int]:
    """(descriptor, size) of a regular file of at most ``limit`` bytes, opened
    for reading: ``stat`` before opening (a FIFO or a device is never opened),
    ``fstat`` after (it may have been swapped). Raises :class:`DataError`."""
    try:
        before = os.stat(path)
    except OSError as error:
        raise _cannot_read(shown, error) from None
    if not stat.S_ISREG(before.st_mode):
        raise DataError(f"cannot read file: {_not_regular(before.st_mode)}", Location(shown), code="not-a-file")
    if before.st_size > limit:
        raise too_large(shown, before.st_size, limit)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        raise _cannot_read(shown, error) from None
    try:
        after = os.fstat(fd)
        if not stat.S_ISREG(after.st_mode):
            raise DataError(f"cannot read file: {_not_regular(after.st_mode)}", Location(shown), code="not-a-file")
        if after.st_size > limit:
            raise too_large(shown, after.st_size, limit)
        return fd, after.st_size
    except BaseException:
        os.close(fd)
        raise


def open_regular(path: str | os.PathLike[str], limit: int, *, display_path: str | None = None) -> IO[bytes]:
    """Open a regular file of at most ``limit`` bytes for binary reading.

    The path is ``stat``-ed before it is opened (so a FIFO or a device is never
    opened) and the open file is checked again (it may have been swapped).
    Raises :class:`DataError` located at the path.
    """
    shown = display_path if display_path is not None else os.fsdecode(path)
    fd, _ = _open_checked(path, limit, shown)
    try:
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_capped(path: str | os.PathLike[str], limit: int, *, display_path: str | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (see :func:`open_regular`).

    At most ``limit + 1`` bytes are read, so a file that grows while it is read
    is still refused. (Read with ``os.read`` in pieces sized by ``fstat``: a
    batch reads thousands of small files, and a buffer of ``limit`` bytes for
    each would cost more than the reading.)
    """
    shown = display_path if display_path is not None else os.fsdecode(path)
    fd, size = _open_checked(path, limit, shown)
    try:
        chunks: list[bytes] = []
        total = 0
        want = min(size, limit) + 1
        while total <= limit:
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total == size and len(chunk) < want:
                break  # all that fstat counted, and a short read: the end (no second read to learn it)
            want = min(max(want, 65536), limit + 1 - total)
    except OSError as error:
        raise _cannot_read(shown, error) from None
    finally:
        os.close(fd)
    if total > limit:
        raise too_large(shown, None, limit)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)  # b"" for an empty file


# --------------------------------------------------------------------- writing


def check_target(path: str | os.PathLike[str], what: str = "cannot write file") -> None:
    """Refuse, before anything is asked or computed, a file that could not be
    written later: ``path`` must be a regular file or not exist, and its folder
    (created if missing) must take a new file. Raises :class:`DataError`."""
    target = Path(path)
    shown = os.fsdecode(path)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise DataError(f"{what}: {error.strerror or error}", Location(shown), code="unwritable") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise DataError(f"{what}: {_not_regular(mode)}", Location(shown), code="not-a-file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise DataError(f"{what}: {error.strerror or error}", Location(shown), code="unwritable") from None


class FileLock:
    """An exclusive lock for the life of a ``with`` block, on ``NAME.lock``
    beside ``path`` (``fcntl.flock``, so the lock of a process that is gone is
    free again: a stale lock is taken over). The lock file holds the PID of its
    holder, and is removed when the lock is let go. Where ``fcntl`` is missing
    (Windows) the lock file is created exclusively instead. A lock held by another process raises
    :class:`DataError` (code ``locked``)."""

    def __init__(self, path: str | os.PathLike[str], what: str = "this file is in use") -> None:
        target = Path(path)
        self.path = target.with_name(target.name + ".lock")
        self.shown = os.fsdecode(path)
        self.what = what
        self.fd: int | None = None

    def _busy(self, pid: str) -> DataError:
        holder = f" (by process {pid})" if pid.isdigit() else ""
        return DataError(f"{self.what}{holder}", Location(self.shown), code="locked")

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            self._acquire_exclusive()
            return
        for _ in range(10):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
            except OSError as error:
                raise DataError(
                    f"cannot lock: {error.strerror or error}", Location(self.shown), code="unwritable"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                pid = os.read(fd, 32).decode("ascii", "replace").strip()
                os.close(fd)
                raise self._busy(pid) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except OSError:
                same = False
            if not same:  # removed by its last holder after we opened it: lock the new one
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
            self.fd = fd
            return
        raise self._busy("")  # pragma: no cover - lost the race ten times

    def _acquire_exclusive(self) -> None:  # pragma: no cover - Windows
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                pid = self.path.read_text(encoding="ascii").strip()
            except OSError:
                pid = ""
            raise self._busy(pid) from None
        except OSError as error:
            raise DataError(
                f"cannot lock: {error.strerror or error}", Location(self.shown), code="unwritable"
            ) from None
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self.fd = fd

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()


def _sync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicWriter:
    """Write a file atomically, as a stream::

        with AtomicWriter(path) as out:
            out.write(text)

    The text (UTF-8, ``\\n`` newlines, or bytes with ``binary=True``) goes to a
    hidden temporary file beside ``path`` (``.NAME.XXXX.tmp``), created when the
    writer is opened; leaving the ``with`` block normally syncs it and renames
    it over ``path``; an exception removes it and leaves ``path`` as it was.
    A process killed meanwhile leaves ``path`` untouched (and at most the
    hidden temporary file). Errors are :class:`DataError` located at ``path``
    (``what`` words them: ``cannot write file: ...``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        binary: bool = False,
        make_parents: bool = False,
        sync: bool = True,
        what: str = "cannot write file",
    ) -> None:
        self.path = Path(path)
        self.binary = binary
        self.make_parents = make_parents
        self.sync = sync
        self.what = what
        self.tmp: str | None = None
        self.handle: IO[Any] | None = None

    def _error(self, error: OSError) -> DataError:
        return DataError(f"{self.what}: {error.strerror or error}", Location(str(self.path)), code="unwritable")

    def _create(self) -> int:
        """The hidden temporary file beside the target (``.NAME.XXXXXXXX.tmp``), opened
        for writing; created with the mode ``open()`` would give (the umask applies)."""
        target = self.path
        if self.make_parents:
            target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            raise IsADirectoryError(errno.EISDIR, "it is a folder", str(target))
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        for _ in range(100):
            tmp = os.path.join(target.parent, f".{target.name}.{os.urandom(4).hex()}.tmp")
            try:
                fd = os.open(tmp, flags, 0o666)
            except FileExistsError:
                continue
            self.tmp = tmp
            return fd
        raise FileExistsError(errno.EEXIST, "no free temporary name", str(target))  # pragma: no cover

    def _install(self) -> None:
        """Rename the (closed) temporary file over the target."""
        assert self.tmp is not None
        os.replace(self.tmp, self.path)
        self.tmp = None
        if self.sync:
            _sync_dir(self.path.parent)

    def open(self) -> IO[Any]:
        try:
            fd = self._create()
            if self.binary:
                self.handle = os.fdopen(fd, "wb")
            else:
                self.handle = os.fdopen(fd, "w", encoding="utf-8", newline="")
        except OSError as error:
            self.discard()
            raise self._error(error) from None
        return self.handle

    def commit(self) -> None:
        assert self.handle is not None and self.tmp is not None
        try:
            self.handle.flush()
            if self.sync:
                os.fsync(self.handle.fileno())
            self.handle.close()
            self._install()
        except OSError as error:
            self.discard()
            raise self._error(error) from None

    def write_all(self, payload: bytes) -> None:
        """Write ``payload`` as the whole file, atomically, without a stream (a
        batch writes thousands of small files)."""
        try:
            fd = self._create()
            try:
                view = memoryview(payload)
                while view:
                    view = view[os.write(fd, view) :]
                if self.sync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            self._install()
        except OSError as error:
            self.discard()
            raise self._error(error) from None

    def discard(self) -> None:
        """Remove the temporary file (the target is left as it was)."""
        if self.handle is not None:
            try:
                self.handle.close()
            except OSError:
                pass
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = None

    def __enter__(self) -> IO[Any]:
        return self.open()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()
            if isinstance(value, UnicodeEncodeError):
                raise self._unencodable(value) from None

    def _unencodable(self, error: UnicodeEncodeError) -> DataError:
        """Text that UTF-8 cannot encode (a lone surrogate: a command-line word in
        bytes that are not UTF-8) is one located error, and nothing is written."""
        char = shown(error.object[error.start : error.start + 1]) if isinstance(error.object, str) else "?"
        return DataError(
            f"{self.what}: the text holds {char}, which UTF-8 cannot encode (a name typed in another encoding?)",
            Location(str(self.path)),
            code="unwritable",
        )


def write_atomic(
    path: str | os.PathLike[str],
    data: str | bytes,
    *,
    make_parents: bool = False,
    sync: bool = True,
    what: str = "cannot write file",
) -> None:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically: a
    temporary file in the same folder, fsync, rename, folder fsync."""
    writer = AtomicWriter(path, binary=isinstance(data, bytes), make_parents=make_parents, sync=sync, what=what)
    if isinstance(data, bytes):
        payload = data
    else:
        try:
            payload = data.encode("utf-8")
        except UnicodeEncodeError as error:
            raise writer._unencodable(error) from None
    writer.write_all(payload)
