"""A disk cache of vectors for the quality benchmarks, so that tuning loops embed each text once.

:class:`DiskCachedEmbedder` wraps any embedder and keeps its vectors in
``.cache/vectors/`` at the repository root (ignored by git), one file per model
fingerprint and task. A vector is reused only under the same fingerprint (model,
size, query format) and task, so it is exactly what the model would return again.
Never used where latency is measured: a cached query costs nothing.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from agent_memory.embeddings import Embedder, Fingerprint

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[1] / ".cache" / "vectors"


class DiskCachedEmbedder:
    """An :class:`Embedder` that answers from disk what ``inner`` computed before."""

    def __init__(self, inner: Embedder, directory: Path = DEFAULT_DIRECTORY) -> None:
        self.inner = inner
        self.directory = directory
        self._tables: dict[str | None, dict[str, NDArray[np.float32]]] = {}

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def fingerprint(self) -> Fingerprint:
        return self.inner.fingerprint

    def _path(self, task: str | None) -> Path:
        key = f"{self.fingerprint}|{task}".encode()
        return self.directory / f"{hashlib.sha256(key).hexdigest()[:24]}.pkl"

    def _table(self, task: str | None) -> dict[str, NDArray[np.float32]]:
        if task not in self._tables:
            path = self._path(task)
            self._tables[task] = pickle.loads(path.read_bytes()) if path.exists() else {}
        return self._tables[task]

    def _embed(self, texts: Sequence[str], query: bool, task: str | None = None) -> NDArray[np.float32]:
        key = f"query:{task}" if query else None
        table = self._table(key)
        missing = list(dict.fromkeys(t for t in texts if t not in table))
        if missing:
            computed = self.inner.embed_queries(missing, task) if query else self.inner.embed_documents(missing)
            table.update(zip(missing, np.asarray(computed, dtype=np.float32), strict=True))
            self.directory.mkdir(parents=True, exist_ok=True)
            self._path(key).write_bytes(pickle.dumps(table))
        return np.stack([table[t] for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._embed(texts, query=False)

    def embed_queries(self, queries: Sequence[str], task: str | None = None) -> NDArray[np.float32]:
        return self._embed(queries, query=True, task=task)
