"""Write a config file atomically: a temporary file in the same folder, fsync, then rename.

A failure at any point (full disk, permissions, a crash) leaves the original byte-identical.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from .errors import WriteRefused


def output_path(target: str) -> Path:
    """`-o PATH`: a file, or PATH/config.json for a folder (a trailing / makes the folder)."""
    path = Path(target).expanduser()
    if target.endswith(("/", os.sep)) or path.is_dir():
        return path / "config.json"
    return path


def write_atomic(path: Path, text: str, replace: bool) -> None:
    """Writes `text` to `path`; an existing file is replaced only when `replace` is true."""
    folder = path.parent
    if path.exists() and not replace:
        raise WriteRefused(f"{path} exists", hint="pass --force to overwrite it, or choose another -o")
    if path.is_dir():
        raise WriteRefused(f"{path} is a folder")
    if not folder.exists():
        if folder.parent.is_dir() and str(path).endswith(f"{os.sep}config.json") and not path.exists():
            _mkdir(folder)
        else:
            raise WriteRefused(f"folder {folder} does not exist", hint="create it first, or end -o with / to write PATH/config.json")
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    fd, tmp = _mkstemp(folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            write_text(handle, text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode if mode is not None else 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise _write_error(path, exc) from None
    except BaseException:
        _remove(tmp)
        raise


def write_text(handle, text: str) -> None:
    """One call to write, kept separate so tests can make it fail half-way."""
    handle.write(text)


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
    return WriteRefused(f"cannot write {path}: {exc.strerror or exc}", hint="nothing was changed")
