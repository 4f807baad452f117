"""The default search and its parts: hybrid (dense + lexical) retrieval, score fusion, an optional
reranker, and time named in a query.

Internal: the public API is :class:`agent_memory.MemorySystem`'s search methods."""
