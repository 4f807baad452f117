"""A bounded in-process cache of vectors, so a text is embedded once per model.

Agents repeat themselves: the same query is searched turn after turn, the same
fact is stored for several users, a deleted memory is stored again. Each of
these is a model call that a dictionary look-up can answer. Keys carry the
embedder's :class:`Fingerprint` (model, size, query format) and, for queries,
the task, so a vector is only ever reused where the model would return it again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from agent_memory.embeddings._base import Fingerprint

__all__ = ["EmbeddingCache"]

_Compute = Callable[[list[str]], NDArray[np.float32]]
_Key = tuple[Fingerprint, str | None, str]


class EmbeddingCache:
    """Least-recently-used vectors keyed by (fingerprint, task, text); ``max_entries=0`` disables it.

    ``task`` is ``None`` for documents. Only texts missing from the cache reach
    ``compute``, once each and in one call, so a batch keeps its batching.
    Thread-safe; the model runs outside the lock.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[_Key, NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def embed(
        self, fingerprint: Fingerprint, task: str | None, texts: list[str], compute: _Compute
    ) -> NDArray[np.float32]:
        """Vectors for ``texts`` in order, running ``compute`` only on those not cached."""
        if self.max_entries <= 0 or not texts:
            return compute(texts)
        keys = [(fingerprint, task, text) for text in texts]
        found = self._get_many(keys)
        missing = list(dict.fromkeys(text for key, text in zip(keys, texts, strict=True) if key not in found))
        if missing:
            computed = compute(missing)
            fresh: dict[_Key, NDArray[np.float32]] = {
                (fingerprint, task, text): computed[i].copy() for i, text in enumerate(missing)
            }
            self._put_many(fresh)
            found.update(fresh)
        return np.stack([found[key] for key in keys])

    def _get_many(self, keys: list[_Key]) -> dict[_Key, NDArray[np.float32]]:
        found: dict[_Key, NDArray[np.float32]] = {}
        with self._lock:
            for key in keys:
                vector = self._entries.get(key)
                if vector is not None:
                    self._entries.move_to_end(key)
                    found[key] = vector
            self.hits += sum(key in found for key in keys)
            self.misses += sum(key not in found for key in keys)
        return found

    def _put_many(self, fresh: dict[_Key, NDArray[np.float32]]) -> None:
        with self._lock:
            self._entries.update(fresh)
            for key in fresh:
                self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
