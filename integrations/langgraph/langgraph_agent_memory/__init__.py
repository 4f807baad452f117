"""LangChain agents the v1 way on agent-memory: a LangGraph store (``create_agent(store=...)``,
LangMem) and memory middleware (``create_agent(middleware=[...])``)."""

from langgraph_agent_memory.middleware import AgentMemoryMiddleware
from langgraph_agent_memory.namespaces import DEFAULT_PATTERN, NamespaceError, NamespaceMap
from langgraph_agent_memory.store import AgentMemoryStore

__all__ = ["DEFAULT_PATTERN", "AgentMemoryMiddleware", "AgentMemoryStore", "NamespaceError", "NamespaceMap"]
