"""agent-memory: long-term memory for LLM agents, on Qwen3-Embedding and Chroma.

>>> from agent_memory import MemorySystem
>>> with MemorySystem(path=":memory:") as memory:              # doctest: +SKIP
...     memory.store_memory("Alice likes coffee", user_id="alice")
...     memory.search_memory("What does Alice drink?", user_id="alice")

Memories are embedded without an instruction; queries with one
(``Instruct: {task}\\nQuery:{query}``), which is how Qwen3-Embedding retrieves best.
"""

from agent_memory import _config
from agent_memory._async import AsyncMemorySystem
from agent_memory._config import DEFAULT_MODEL
from agent_memory._errors import (
    AgentMemoryError,
    AuthenticationError,
    ConfigurationError,
    EmbedderMismatchError,
    EmbeddingError,
    EmbeddingServerError,
    ExtractionError,
    InvalidDimensionsError,
    InvalidFilterError,
    InvalidMetadataError,
    InvalidTypeError,
    LimitExceededError,
    MemoryNotFoundError,
    ModelNotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    StoreError,
    UnknownTaskError,
    ValidationError,
)
from agent_memory._options import MODES as SEARCH_MODES
from agent_memory._system import MemorySystem
from agent_memory._tasks import DEFAULT_TASK, TASKS, format_query
from agent_memory._transfer import ImportReport
from agent_memory._types import Memory, MemoryStats, MetadataValue, Scope, SearchHit
from agent_memory._validation import Limits
from agent_memory.extraction._extractor import Decision, Extractor, Fact, LLMExtractor, Message, TokenUsage
from agent_memory.extraction._openai_chat import OpenAIExtractor
from agent_memory.extraction._prompts import MAX_FACT_CHARS, MAX_FACTS
from agent_memory.extraction._remember import MemoryChange
from agent_memory.search._rerank import Qwen3Reranker, Reranker
from agent_memory.server._client import MemoryClient
from agent_memory.store._chroma_store import ChromaStore
from agent_memory.store._history import HistoryEvent

__version__ = _config.VERSION


def __getattr__(name: str) -> object:
    if name == "MemoryStore":  # removed in 0.2: Chroma is the one store (docs: architecture)
        import warnings

        warnings.warn(
            "agent_memory.MemoryStore is deprecated and will be removed: Chroma is the one store; "
            "type against ChromaStore",
            DeprecationWarning,
            stacklevel=2,
        )
        return ChromaStore
    raise AttributeError(f"module 'agent_memory' has no attribute {name!r}")


__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_TASK",
    "MAX_FACTS",
    "MAX_FACT_CHARS",
    "SEARCH_MODES",
    "TASKS",
    "AgentMemoryError",
    "AsyncMemorySystem",
    "AuthenticationError",
    "ChromaStore",
    "ConfigurationError",
    "Decision",
    "EmbedderMismatchError",
    "EmbeddingError",
    "EmbeddingServerError",
    "ExtractionError",
    "Extractor",
    "Fact",
    "HistoryEvent",
    "ImportReport",
    "InvalidDimensionsError",
    "InvalidFilterError",
    "InvalidMetadataError",
    "InvalidTypeError",
    "LLMExtractor",
    "LimitExceededError",
    "Limits",
    "Memory",
    "MemoryChange",
    "MemoryClient",
    "MemoryNotFoundError",
    "MemoryStats",
    "MemorySystem",
    "Message",
    "MetadataValue",
    "ModelNotFoundError",
    "OpenAIExtractor",
    "PermissionDeniedError",
    "Qwen3Reranker",
    "RateLimitedError",
    "Reranker",
    "Scope",
    "SearchHit",
    "StoreError",
    "TokenUsage",
    "UnknownTaskError",
    "ValidationError",
    "__version__",
    "format_query",
]
