"""Configs on this machine: a file, a folder holding config.json, or standard input.

Reads are bounded whatever the file claims to be: at most the size limit plus one byte (so
/dev/zero ends), and pipes and FIFOs are opened without blocking and read against a deadline
(so a FIFO nobody writes to ends too). Process substitution (`<(git show ...)`) keeps working.
"""

from __future__ import annotations

import errno
import os
import select
import stat
import sys
import time
from pathlib import Path

from ..errors import SourceNotFound, SourceUnreadable
from ..units import seconds_setting
from .raw import MAX_CONFIG_BYTES, Origin, RawConfig, parse_bytes, too_big

# Seconds to wait for a pipe's writer to send everything (QWENCFG_READ_TIMEOUT overrides).
READ_TIMEOUT = 10.0


def read_timeout() -> float:
    return seconds_setting("QWENCFG_READ_TIMEOUT", READ_TIMEOUT)


def expand(source: str) -> Path:
    """SOURCE as a path, with ~ expanded; a ~user that does not exist is a missing file."""
    try:
        return Path(source).expanduser()
    except RuntimeError:
        raise SourceNotFound(f"{source}: no such user's home folder", hint="check the path after ~") from None


def lexists(path: Path) -> bool:
    """Whether anything is at `path` (a dangling link too); a name the system refuses is an error."""
    try:
        os.lstat(path)
        return True
    except FileNotFoundError:
        return False
    except NotADirectoryError:
        return False
    except OSError as exc:
        raise _os_error(path, exc) from None


def read_local(path: Path) -> RawConfig:
    """config.json of a folder, or the file itself (a regular file, a pipe or a device)."""
    try:
        if stat.S_ISDIR(os.stat(path).st_mode):
            path = path / "config.json"
            if not lexists(path):
                raise SourceNotFound(f"{path.parent}: folder has no config.json", hint="point at the model folder or the JSON file itself")
    except FileNotFoundError:
        raise _missing(path) from None
    except OSError as exc:
        raise _os_error(path, exc) from None
    return parse_bytes(read_file_bytes(path), Origin(kind="file", label=str(path), path=path))


def read_stdin() -> RawConfig:
    """Standard input (which a run can read once: `refuse_stdin_twice`)."""
    if sys.stdin is None:
        raise SourceUnreadable("<stdin>: standard input is closed", hint="pipe a config in, or give a file")
    try:
        fd = sys.stdin.fileno()
    except (OSError, ValueError):  # a stream without a file descriptor (tests, embedding)
        data = sys.stdin.buffer.read(MAX_CONFIG_BYTES + 1)
    else:
        data = _read_fd(fd, "<stdin>", deadline=None if os.isatty(fd) else time.monotonic() + read_timeout())
    return parse_bytes(data, Origin(kind="stdin", label="<stdin>"))


def read_file_bytes(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        raise _missing(path) from None
    except OSError as exc:
        raise _os_error(path, exc) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise SourceUnreadable(f"{path}: is a folder")
        if stat.S_ISREG(mode):
            size = os.fstat(fd).st_size
            if size > MAX_CONFIG_BYTES:
                raise too_big(str(path), size)
            os.set_blocking(fd, True)
            return _read_fd(fd, str(path), deadline=None)  # still bounded: /proc files say size 0
        return _read_fd(fd, str(path), deadline=time.monotonic() + read_timeout())
    except OSError as exc:
        raise _os_error(path, exc) from None
    finally:
        os.close(fd)


def _read_fd(fd: int, label: str, deadline: float | None) -> bytes:
    """At most the size limit plus one byte; with a deadline, waits for data no longer than that."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_CONFIG_BYTES:
        if deadline is not None:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            if not ready:
                what = "any data" if not size else "the rest of the data"
                raise SourceUnreadable(f"{label}: no writer sent {what} within {read_timeout():g} s", hint="is something writing to this pipe? QWENCFG_READ_TIMEOUT sets the wait")
        try:
            chunk = os.read(fd, min(1 << 20, MAX_CONFIG_BYTES + 1 - size))
        except BlockingIOError:
            continue
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _missing(path: Path) -> SourceNotFound:
    if os.path.islink(path):
        return SourceNotFound(f"{path}: a symbolic link to {os.readlink(path)}, which does not exist", hint="fix or remove the link")
    return SourceNotFound(f"{path}: no such file or folder", hint="check the path")


def _os_error(path: Path, exc: OSError) -> SourceUnreadable | SourceNotFound:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return SourceUnreadable(f"{path}: permission denied", hint="check the file's permissions")
    if exc.errno == errno.ELOOP:
        return SourceNotFound(f"{path}: a loop of symbolic links", hint="fix the links")
    if exc.errno == errno.ENAMETOOLONG:
        return SourceNotFound(f"{path}: the file name is too long for this system", hint="check the path")
    if exc.errno == errno.ENOTDIR:
        return SourceNotFound(f"{path}: a part of the path is not a folder", hint="check the path")
    if exc.errno == errno.EISDIR:
        return SourceUnreadable(f"{path}: is a folder")
    return SourceUnreadable(f"{path}: {exc.strerror or exc}")
