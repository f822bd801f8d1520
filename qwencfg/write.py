"""Write a config file without ever losing or damaging what is there.

A regular file is replaced atomically: a temporary file in the same folder, fsync, then rename,
with the original's mode, owner and group. A failure at any point leaves the original
byte-identical. A symbolic link is written through to its target; a hard-linked file is
rewritten in place so its links stay one file; a device or a pipe (`-o /dev/stdout`) is written
into, never renamed over. An edit holds a lock on the file from its read to its write, and
refuses to write if the file changed under it anyway.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Iterator

from .errors import WriteRefused

LOCK_WAIT = 30.0  # seconds to wait for another qwencfg editing the same file


def output_path(target: str) -> Path:
    """`-o PATH`: a file, or PATH/config.json for a folder (a trailing / makes the folder)."""
    try:
        path = Path(target).expanduser()
    except RuntimeError:
        raise WriteRefused(f"{target}: no such user's home folder") from None
    if target.endswith(("/", os.sep)) or _is_dir(path):
        return path / "config.json"
    return path


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def edit_target(path: Path) -> Path:
    """The file an edit of `path` really changes: the target of a symbolic link.

    A link into the Hugging Face cache is refused: its target is a content-addressed blob that
    other revisions share."""
    if not os.path.islink(path):
        return path
    try:
        followed = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise WriteRefused(f"{path} is a loop of symbolic links", hint="fix the links, or choose another -o") from None
        raise WriteRefused(f"{path} is a symbolic link to {os.path.realpath(path)}, which does not exist", hint="fix the link, or choose another -o") from None
    if not stat.S_ISREG(followed.st_mode):
        return path  # /dev/stdout and its kind: written into through the link, never renamed over
    target = Path(os.path.realpath(path))
    if target.parent.name == "blobs" and target.parent.parent.name.startswith(("models--", "datasets--", "spaces--")):
        raise WriteRefused(f"{path} is a link into the Hugging Face cache", hint="write an edited copy with -o PATH instead")
    return target


@contextlib.contextmanager
def locked_for_edit(path: Path) -> Iterator[None]:
    """Holds an exclusive lock on the file at `path` (through links) while an edit reads and writes it.

    The lock is on the file itself, so no lock file is left behind; after a rename the path names
    a new file, so the lock is taken again until it is on the file the path names."""
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            yield  # nothing to lock: the read will say the file is missing
            return
        except OSError as exc:
            raise _write_error(path, exc) from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                yield
                return
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise WriteRefused(f"{path} is being edited by another process", hint="try again when it is done") from None
                    time.sleep(0.05)
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
            if same:
                yield
                return
        finally:
            os.close(fd)  # releases the lock


def write_atomic(path: Path, text: str, replace: bool, expected: str | None = None) -> None:
    """Writes `text` to `path`; an existing file is replaced only when `replace` is true.

    `expected` is the text the edit was made from: if the file no longer holds it, nothing is
    written (someone changed it in between)."""
    existing = _lstat(path)
    if existing is not None and stat.S_ISLNK(existing.st_mode):
        path = edit_target(path)
        existing = _lstat(path) if not os.path.islink(path) else os.stat(path)
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise WriteRefused(f"{path} is a folder")
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        _write_into(path, existing, text)  # a device or a pipe: written into, never renamed over
        return
    if existing is not None and not replace:
        raise WriteRefused(f"{path} exists", hint="pass --force to overwrite it, or choose another -o")
    if expected is not None and existing is not None and _read(path) != expected.encode("utf-8"):
        raise WriteRefused(f"{path} changed while it was being edited", hint="nothing was written; run the command again")
    folder = path.parent
    if not folder.exists():
        if folder.parent.is_dir() and path.name == "config.json":
            _mkdir(folder)
        else:
            raise WriteRefused(f"folder {folder} does not exist", hint="create it first, or end -o with / to write PATH/config.json")
    if existing is not None and existing.st_nlink > 1:
        _rewrite_in_place(path, text)  # a rename would split the hard links
        return
    fd, tmp = _mkstemp(folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            write_text(handle, text)
            handle.flush()
            os.fsync(handle.fileno())
        if existing is not None:
            os.chmod(tmp, stat.S_IMODE(existing.st_mode))
            with contextlib.suppress(PermissionError):  # not ours to give away unless we are root
                os.chown(tmp, existing.st_uid, existing.st_gid)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise _write_error(path, exc) from None
    except BaseException:
        _remove(tmp)
        raise


def is_read_only(path: Path) -> bool:
    """A file nobody may write (0444): an edit of it needs --force."""
    try:
        return not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    except OSError:
        return False


def write_text(handle, text: str) -> None:
    """One call to write, kept separate so tests can make it fail half-way."""
    handle.write(text)


def _write_into(path: Path, existing: os.stat_result, text: str) -> None:
    flags = os.O_WRONLY | os.O_NOCTTY
    if stat.S_ISSOCK(existing.st_mode):
        raise WriteRefused(f"{path} is a socket", hint="choose a file, a folder or a device for -o")
    if stat.S_ISFIFO(existing.st_mode):
        flags |= os.O_NONBLOCK  # no reader: refuse at once instead of waiting for one
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise WriteRefused(f"{path} is a pipe that nobody reads", hint="start the reader first, or choose another -o") from None
        raise _write_error(path, exc) from None
    try:
        os.set_blocking(fd, True)
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data) :]
    except OSError as exc:
        raise _write_error(path, exc) from None
    finally:
        os.close(fd)


def _rewrite_in_place(path: Path, text: str) -> None:
    data = text.encode("utf-8")
    try:
        with open(path, "r+b") as handle:
            handle.write(data)
            handle.truncate()
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise _write_error(path, exc) from None


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise _write_error(path, exc) from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _write_error(path, exc) from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _mkstemp(folder: Path) -> tuple[int, str]:
    try:
        return tempfile.mkstemp(prefix=".config.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _write_error(folder, exc) from None


def _mkdir(folder: Path) -> None:
    try:
        folder.mkdir()
    except OSError as exc:
        raise _write_error(folder, exc) from None


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _write_error(path: Path, exc: OSError) -> WriteRefused:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return WriteRefused(f"cannot write {path}: permission denied", hint="check the folder's permissions; nothing was changed")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return WriteRefused(f"cannot write {path}: the disk is full", hint="free some space; the original file is unchanged")
    if exc.errno == errno.ENAMETOOLONG:
        return WriteRefused(f"cannot write {path}: the file name is too long for this system", hint="choose a shorter -o")
    return WriteRefused(f"cannot write {path}: {exc.strerror or exc}", hint="nothing was changed")
