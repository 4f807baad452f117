"""Storage: memories in Chroma (the record layout, claims across processes, the change feed), when
each holds, the change history, and where a store lives.

Internal: the public store class is :class:`agent_memory.ChromaStore`."""
