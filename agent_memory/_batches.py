"""How a write is split: rounds of :data:`CHUNK` memories (with a progress bar for large ones), and
the size under which a write embeds every text before asking the store for duplicates."""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["CHUNK", "SMALL_WRITE", "chunks"]

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
