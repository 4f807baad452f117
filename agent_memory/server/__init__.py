"""``agent-memory serve``: the HTTP API, its request and response models, the inspector at ``/ui``,
the MCP tools at ``/mcp``, and :class:`agent_memory.MemoryClient`, its Python client.

Internal: ``agent-memory serve`` starts it; each worker builds its app with ``create_app``."""
