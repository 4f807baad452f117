"""One process per embedded data directory: Chroma's embedded store is not safe across processes.

Any number of stores in one process may share a directory (Chroma shares one
system per path within a process). A second process that opens the directory
gets a :class:`StoreError` instead of silently corrupting it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from agent_memory._errors import StoreError

__all__ = ["acquire", "release"]

_LOCK_NAME = "agent-memory.lock"
_HELD: dict[str, tuple[int, int]] = {}  # directory -> (file descriptor, stores open in this process)
_GUARD = threading.Lock()


def acquire(directory: str) -> str:
    """Take the directory for this process (again, if it has it already); returns the key to release."""
    key = str(Path(directory).resolve())
    with _GUARD:
        if key in _HELD:
            fd, count = _HELD[key]
            _HELD[key] = (fd, count + 1)
            return key
        _HELD[key] = (_lock_file(key), 1)
    return key


def release(key: str) -> None:
    """Give the directory back once the last store of this process on it is closed."""
    with _GUARD:
        fd, count = _HELD.pop(key)
        if count > 1:
            _HELD[key] = (fd, count - 1)
        else:
            os.close(fd)  # closing the descriptor drops the lock


def _lock_file(directory: str) -> int:
    try:
        import fcntl
    except ImportError:  # not POSIX: no guard
        return os.open(os.devnull, os.O_RDONLY)
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        fd = os.open(os.path.join(directory, _LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o644)
    except FileExistsError:
        raise StoreError(f"the data directory {directory} is a file, not a directory") from None
    except OSError as exc:
        raise StoreError(f"the data directory {directory} cannot be written ({exc.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise StoreError(
            f"the data directory {directory} is in use by process {holder}: an embedded store is safe for "
            f"one process at a time. To share it, run `agent-memory serve` on it and work through the "
            f"service (`agent-memory --server URL --key KEY ...`, or MemoryClient), or keep the memories "
            f"on a Chroma server (chroma_url=)"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd
