"""The exception tree of agent-memory, documented in one place.

::

    AgentMemoryError                      base of everything this library raises on purpose
    ├── ValidationError (ValueError)      bad input, raised before anything is written
    │   ├── InvalidTypeError (TypeError)  a value of the wrong type (text that is not a str, ...)
    │   ├── InvalidMetadataError          metadata Chroma cannot store, or a reserved key
    │   ├── InvalidFilterError            a ``filters`` expression Chroma does not accept
    │   ├── UnknownTaskError              a task name that is neither in TASKS nor an instruction
    │   ├── InvalidDimensionsError        a Matryoshka dimension outside 32..model size
    │   └── LimitExceededError            over one of the Limits (texts per call, metadata keys, top_k...)
    ├── ConfigurationError (ValueError)   arguments that contradict each other, unknown backend
    ├── ModelNotFoundError (OSError)      the model is neither a local path nor in the hub cache
    ├── EmbedderMismatchError             the collection was written by another model/dimension
    ├── EmbeddingError                    an embedder returned vectors of the wrong shape or NaN
    │   └── EmbeddingServerError          an embedding server is down, refused, or answered nonsense
    ├── ExtractionError                   an LLM's answer to fact extraction could not be used (not JSON, ...)
    ├── MemoryNotFoundError (KeyError)    no memory with that id in the caller's scope
    ├── StoreError                        the vector store failed (Chroma's own error is chained)
    ├── AuthenticationError               a service call without a valid API key (HTTP 401)
    ├── PermissionDeniedError             the API key may not act for the user named (HTTP 403)
    └── RateLimitedError                  the API key sent more requests than its rate (HTTP 429)

Every error raised because of bad input is raised before the store is touched,
so a failed call leaves the store exactly as it was.
"""

from __future__ import annotations

__all__ = [
    "AgentMemoryError",
    "AuthenticationError",
    "ConfigurationError",
    "EmbedderMismatchError",
    "EmbeddingError",
    "EmbeddingServerError",
    "ExtractionError",
    "InvalidDimensionsError",
    "InvalidFilterError",
    "InvalidMetadataError",
    "InvalidTypeError",
    "LimitExceededError",
    "MemoryNotFoundError",
    "ModelNotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "StoreError",
    "UnknownTaskError",
    "ValidationError",
]


class AgentMemoryError(Exception):
    """Base class of every error agent-memory raises on purpose."""


class ValidationError(AgentMemoryError, ValueError):
    """An argument is invalid; nothing was written."""


class InvalidTypeError(ValidationError, TypeError):
    """An argument has the wrong type (for example text that is not a ``str``)."""


class InvalidMetadataError(ValidationError):
    """Metadata that Chroma cannot store (nested, list, None, NaN) or that uses a reserved key."""


class InvalidFilterError(ValidationError):
    """A ``filters`` expression that is not valid Chroma ``where`` syntax."""


class UnknownTaskError(ValidationError):
    """A task that is neither a key of ``TASKS`` nor an instruction sentence."""


class InvalidDimensionsError(ValidationError):
    """A Matryoshka ``dimensions`` value outside ``32..model size``."""


class LimitExceededError(ValidationError):
    """A size, count, depth or time over one of :class:`~agent_memory.Limits`; ``limit`` names it
    (``"max_metadata_keys"``, say). Raised before anything is written or sent to the store."""

    def __init__(self, message: str, *, limit: str) -> None:
        super().__init__(message)
        self.limit = limit


class ConfigurationError(AgentMemoryError, ValueError):
    """Constructor arguments that cannot be used together, or an unknown backend."""


class ModelNotFoundError(AgentMemoryError, OSError):
    """The embedding model could not be found locally or downloaded."""


class EmbedderMismatchError(AgentMemoryError):
    """The collection holds vectors of another model, dimension or query format."""


class EmbeddingError(AgentMemoryError):
    """An embedder returned vectors of the wrong shape, or non-finite values."""


class EmbeddingServerError(EmbeddingError):
    """An embedding server could not be reached, kept failing, or answered something malformed."""


class ExtractionError(AgentMemoryError):
    """An LLM's answer to fact extraction or reconciliation could not be used (not JSON, wrong shape).

    Raised by extractors; :meth:`MemorySystem.remember` raises it for the extraction
    step (nothing is written) and handles it per fact for decisions (see ``on_invalid``).
    """


class MemoryNotFoundError(AgentMemoryError, KeyError):
    """No memory with that id exists in the caller's scope."""

    def __str__(self) -> str:  # KeyError would print the message with quotes
        return str(self.args[0]) if self.args else ""


class StoreError(AgentMemoryError):
    """The vector store failed; the original exception is chained as ``__cause__``."""


class AuthenticationError(AgentMemoryError):
    """A call to the service or an HTTP MCP server came without a valid API key (missing, unknown, revoked)."""


class PermissionDeniedError(AgentMemoryError):
    """The API key is valid but may not act for the user the request names."""


class RateLimitedError(AgentMemoryError):
    """The API key sent more requests than its rate allows; ``retry_after`` says how many seconds to wait."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
