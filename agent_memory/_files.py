"""The files that hold memories belong to their owner alone: a ``0700`` directory, ``0600`` files.

Memories, their history and the API keys file are readable only by the OS user who made
them, whatever the process's umask: another local user must not read them from disk
any more than through the service. A store found open to others is used as it is, with
a warning (once per directory) that says how to close it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

from agent_memory._errors import StoreError

__all__ = ["private_directory", "private_files"]

_log = logging.getLogger("agent_memory.store")
_warned: set[str] = set()
_umask_lock = threading.Lock()


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Files (and directories) created meanwhile are the owner's alone (umask ``077``).

    The umask is the process's: a file another thread creates meanwhile is private too, never less.
    """
    with _umask_lock:
        previous = os.umask(0o077)
        try:
            yield
        finally:
            os.umask(previous)


def private_directory(path: str | os.PathLike[str], *, check: tuple[str, ...] = ()) -> Path:
    """Create ``path`` (and missing parents) with mode ``0700``; when it already existed, warn once if
    it, or one of the files named in ``check`` inside it, can be read or written by others. A file
    where the directory should be is a :class:`StoreError`."""
    directory = Path(path)
    if directory.exists() and not directory.is_dir():
        raise StoreError(f"{directory} is a file, not a directory: memories need a directory of their own")
    existed = directory.is_dir()
    with private_files():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if existed:
        _warn_if_open(directory, [directory / name for name in check])
    return directory


def _warn_if_open(directory: Path, files: list[Path]) -> None:
    key = str(directory.resolve())
    if key in _warned:
        return
    open_to_others = [p for p in [directory, *files] if p.exists() and stat.S_IMODE(p.stat().st_mode) & 0o077]
    if open_to_others:
        _warned.add(key)
        names = ", ".join(f"{p} ({stat.S_IMODE(p.stat().st_mode):o})" for p in open_to_others)
        _log.warning(
            "memories at %s can be read by other local users: %s; close them with: chmod -R go-rwx %s",
            directory,
            names,
            directory,
        )
