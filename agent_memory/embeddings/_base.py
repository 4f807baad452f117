"""The embedder protocol and the mechanics every backend shares.

A backend implements :meth:`BaseEmbedder._encode` (raw vectors at the model's
full size, in input order) and :attr:`BaseEmbedder.native_dimension`; the base
class does the rest the same way for every backend: the query instruction,
Matryoshka truncation with re-normalisation, and output validation.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from agent_memory._errors import EmbeddingError, InvalidDimensionsError, InvalidTypeError, ValidationError
from agent_memory._tasks import format_query, resolve_task
from agent_memory.embeddings._models import resolve_model

__all__ = [
    "MIN_DIMENSIONS",
    "BaseEmbedder",
    "Embedder",
    "Fingerprint",
    "as_unit_rows",
    "check_given_vectors",
    "check_vectors",
    "normalize_rows",
    "truncate_and_normalize",
    "validate_dimensions",
]

MIN_DIMENSIONS = 32
"""Smallest Matryoshka size Qwen3-Embedding is trained for."""

INSTRUCT_FORMAT = "Instruct: {task}\nQuery:{query}"
PLAIN_FORMAT = "{query}"


@dataclass(frozen=True)
class Fingerprint:
    """What makes stored vectors comparable: model, output size and query format.

    Two embedders with equal fingerprints produce vectors that can share a
    collection. The store records it and refuses to mix in vectors of another.
    """

    model: str
    dimension: int
    query_format: str

    def to_metadata(self) -> dict[str, str | int]:
        """Flat form stored in the Chroma collection's metadata."""
        return {"am_model": self.model, "am_dimension": self.dimension, "am_query_format": self.query_format}

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, object] | None) -> Fingerprint | None:
        """Read a fingerprint back from collection metadata; ``None`` when absent."""
        if not metadata or "am_model" not in metadata:
            return None
        return cls(
            model=str(metadata["am_model"]),
            dimension=int(str(metadata["am_dimension"])),
            query_format=str(metadata["am_query_format"]),
        )

    def __str__(self) -> str:
        return f"{self.model} ({self.dimension} dims, queries as {self.query_format!r})"


@runtime_checkable
class Embedder(Protocol):
    """What :class:`~agent_memory.MemorySystem` needs from an embedding model.

    Both methods return float32 arrays of shape ``(len(texts), dimension)`` with
    unit-norm rows, in input order. Documents are embedded as they are; queries
    with the task instruction when the model is instruction-aware.
    """

    @property
    def dimension(self) -> int: ...

    @property
    def fingerprint(self) -> Fingerprint: ...

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]: ...

    def embed_queries(self, queries: Sequence[str], task: str | None = None) -> NDArray[np.float32]: ...


def normalize_rows(vectors: NDArray[np.floating]) -> NDArray[np.float32]:
    """L2-normalise each row; all-zero rows stay zero instead of becoming NaN."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalized: NDArray[np.float32] = vectors / np.maximum(norms, np.finfo(np.float32).tiny)
    return normalized


def truncate_and_normalize(vectors: NDArray[np.floating], dimensions: int | None) -> NDArray[np.float32]:
    """Matryoshka truncation: keep the first ``dimensions`` values, then re-normalise.

    Re-normalising matters: the cut vector of a unit vector is shorter than one,
    and cosine scores computed as dot products would shrink with it.
    """
    if dimensions is not None:
        vectors = vectors[:, :dimensions]
    return normalize_rows(vectors)


def validate_dimensions(dimensions: object, native: int | None = None) -> int | None:
    """Check a Matryoshka size: ``None``, or an int in ``32..native``."""
    if dimensions is None:
        return None
    if isinstance(dimensions, bool) or not isinstance(dimensions, int):
        raise InvalidTypeError(f"dimensions must be an int, got {type(dimensions).__name__}")
    upper = native if native is not None else math.inf
    if not MIN_DIMENSIONS <= dimensions <= upper:
        limit = f"{MIN_DIMENSIONS}..{native}" if native is not None else f"at least {MIN_DIMENSIONS}"
        raise InvalidDimensionsError(f"dimensions must be {limit}, got {dimensions}")
    return dimensions


def check_vectors(vectors: object, count: int, dimension: int, source: str) -> NDArray[np.float32]:
    """Check an embedder's output before it reaches the store: shape, dtype, finiteness."""
    array = np.asarray(vectors, dtype=np.float32)
    if array.shape != (count, dimension):
        raise EmbeddingError(f"{source} returned shape {array.shape}, expected ({count}, {dimension})")
    if not np.isfinite(array).all():
        raise EmbeddingError(f"{source} returned NaN or infinite values")
    return array


def as_unit_rows(vectors: object, count: int, source: str) -> NDArray[np.float32]:
    """Another library's embeddings (any size) as unit-norm float32 rows, checked first.

    For adapters that take vectors from embedding models agent-memory does not
    run: refuses ragged, empty, miscounted or non-finite output.
    """
    try:
        array = np.asarray(vectors, dtype=np.float32)
    except ValueError:
        raise EmbeddingError(f"{source} returned vectors of different lengths") from None
    if array.ndim != 2 or array.shape[0] != count or array.shape[1] == 0:
        raise EmbeddingError(f"{source} returned shape {array.shape}, expected ({count}, dimension)")
    if not np.isfinite(array).all():
        raise EmbeddingError(f"{source} returned NaN or infinite values")
    return normalize_rows(array)


def check_given_vectors(vectors: object, count: int, dimension: int) -> NDArray[np.float32]:
    """Document vectors a caller computed itself (``put_memories(vectors=...)``), as the store keeps
    them: ``count`` rows of ``dimension`` finite values, none all zero, made unit-norm. Checked
    before anything is written; :class:`ValidationError` otherwise."""
    try:
        array = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError):
        raise InvalidTypeError("vectors must be rows of numbers of one length (a list of lists, or an array)") from None
    if array.shape != (count, dimension):
        raise ValidationError(
            f"vectors has shape {array.shape}, expected ({count}, {dimension}): one per text, of the embedder's size"
        )
    if not np.isfinite(array).all():
        raise ValidationError("vectors holds NaN or infinite values")
    if count and not np.abs(array).max(axis=1).all():
        raise ValidationError("vectors holds a row of zeros, which points nowhere")
    return normalize_rows(array)


class BaseEmbedder(ABC):
    """Shared logic of the built-in backends; subclasses only run the model.

    ``instruction_aware`` says whether queries get the ``Instruct: ...`` prefix.
    Subclasses resolve it (for example from the model's name) before the first
    query is embedded.
    """

    encodes_at_dimension = False
    """True for backends whose ``_encode`` already returns ``dimensions``-sized rows
    (a server or engine that applies Matryoshka itself); the base class re-normalises."""

    def __init__(self, *, model: str, dimensions: int | None) -> None:
        self.model = model
        self._dimensions = validate_dimensions(dimensions)
        self._cut_here = False

    def open_at(self, dimension: int) -> None:
        """Return vectors of ``dimension`` values from now on: the size a store recorded, taken when
        the caller named none. Cut here, not by a server or engine: one may refuse ``dimensions``
        for a model not trained for Matryoshka, even at the model's own size; cutting the full
        vector and re-normalising is what a Matryoshka server does anyway."""
        self._dimensions = validate_dimensions(dimension)
        self._cut_here = True

    @property
    def _engine_dimensions(self) -> int | None:
        """The size to ask a server or engine for (``None``: its full size)."""
        return None if self._cut_here else self._dimensions

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing to release
        """Release what the backend holds (an engine, a connection pool); a no-op by default."""

    @property
    @abstractmethod
    def native_dimension(self) -> int:
        """The model's full output size (may load the model)."""

    @property
    @abstractmethod
    def instruction_aware(self) -> bool:
        """Whether queries are formatted with the task instruction (may load the model)."""

    @abstractmethod
    def _encode(self, texts: list[str]) -> NDArray[np.float32]:
        """Run the model on already formatted texts; full-size rows in input order."""

    @property
    def dimension(self) -> int:
        """Size of the returned vectors: ``dimensions`` when set, else the model's size."""
        return validate_dimensions(self._dimensions, self.native_dimension) or self.native_dimension

    @property
    def fingerprint(self) -> Fingerprint:
        query_format = INSTRUCT_FORMAT if self.instruction_aware else PLAIN_FORMAT
        return Fingerprint(model=self.model, dimension=self.dimension, query_format=query_format)

    def format_query(self, query: str, task: str | None = None) -> str:
        """The text the model sees for ``query``: instruction-prefixed when instruction-aware."""
        instruction = resolve_task(task)  # validated even where it is not used
        return format_query(query, instruction) if self.instruction_aware else query

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed texts exactly as given (no instruction added); unit-norm float32 rows."""
        dimension = self.dimension
        if not texts:
            return np.zeros((0, dimension), dtype=np.float32)
        width = dimension if self.encodes_at_dimension and not self._cut_here else self.native_dimension
        raw = check_vectors(self._encode(list(texts)), len(texts), width, type(self).__name__)
        return truncate_and_normalize(raw, dimension)

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed stored texts: never with an instruction."""
        return self.encode(texts)

    def embed_queries(self, queries: Sequence[str], task: str | None = None) -> NDArray[np.float32]:
        """Embed search queries: with the task instruction when the model is instruction-aware."""
        return self.encode([self.format_query(q, task) for q in queries])


class LocalModelEmbedder(BaseEmbedder):
    """Base of the backends that load the model in this process (sentence-transformers,
    transformers, vLLM): the model is resolved once to what is loaded and the name its
    fingerprint records (``name`` overrides it), and whether queries get the instruction
    is detected from the model unless ``instruction_aware`` says so."""

    def __init__(self, model: str, *, name: str | None, dimensions: int | None, instruction_aware: bool | None) -> None:
        self._ref = resolve_model(model, name)
        super().__init__(model=self._ref.name, dimensions=dimensions)
        self._instruction_aware = instruction_aware

    @property
    def instruction_aware(self) -> bool:
        if self._instruction_aware is None:
            self._instruction_aware = self._detect_instruction_aware()
        return self._instruction_aware

    def _detect_instruction_aware(self) -> bool:
        """Qwen3-Embedding and its kin, by name or configuration (see :meth:`ModelRef.looks_instruction_aware`)."""
        return self._ref.looks_instruction_aware()
