"""How a write is split and gated: rounds of :data:`CHUNK` memories (with a progress bar for large
ones), the size under which a write embeds every text while asking the store for duplicates, and
the write lock of a collection."""

from __future__ import annotations

import threading
from collections.abc import Iterator

__all__ = ["CHUNK", "SMALL_WRITE", "WriteLock", "chunks"]

CHUNK = 1000
"""Memories embedded and written per round."""
SMALL_WRITE = 16
"""Writes of at most this many texts embed them all before asking the store for duplicates."""
_PROGRESS_FROM = 1000  # inputs at least this large get a progress bar by default


def chunks(total: int, progress: bool | None, desc: str = "storing memories") -> Iterator[range]:
    """Index ranges of ``CHUNK`` inputs, ticking a progress bar after each one is done."""
    bar = None
    if progress or (progress is None and total >= _PROGRESS_FROM):
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=desc, unit="memory")
    for start in range(0, total, CHUNK):
        chunk = range(start, min(start + CHUNK, total))
        yield chunk
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()


class WriteLock:
    """The write lock of a collection in this process, counting the times it was held: a look-up
    made before taking it still holds if the count has not moved (nothing was written meanwhile)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.writes = 0

    def __enter__(self) -> WriteLock:
        self._lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.writes += 1
        self._lock.release()
