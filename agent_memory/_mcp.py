"""An MCP server over a :class:`MemorySystem`: memory tools for any Model Context Protocol client.

Built on the official ``mcp`` SDK (its ``MCPServer``, formerly FastMCP). The
user whose memories the tools touch is fixed by the operator when the server
starts (``--user``): the tools' schemas have no ``user_id``, so a model cannot
read or change another user's memories. ``allow_any_user=True`` (``--allow-any-user``)
adds a required ``user_id`` argument to every tool instead, for trusted
multi-user back ends. Bad arguments come back as MCP tool errors with the
library's message, never as a crashed server.
"""

# No ``from __future__ import annotations``: the SDK builds each tool's schema from its
# annotations, and real objects need no resolving from a module namespace.
import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent_memory._errors import AgentMemoryError, ConfigurationError, ValidationError
from agent_memory._system import MemorySystem
from agent_memory._validation import check_user_id

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

__all__ = ["create_mcp_server"]

_Metadata = dict[str, str | int | float | bool]

_INSTRUCTIONS = (
    "Long-term memory about the user. Search it before answering questions that may depend on what "
    "the user said before; store short, self-contained facts worth remembering (preferences, plans, "
    "names, dates); update or delete a memory when the user corrects or retracts it."
)


def _tools(memory: MemorySystem, agent_id: str | None) -> list[Callable[..., Any]]:
    """The memory tools, each taking ``user_id`` (bound or exposed by :func:`create_mcp_server`).

    The history records their changes as made by ``agent:<agent_id>`` (``agent:mcp`` by default).
    """
    actor = f"agent:{agent_id or 'mcp'}"

    def store_memory(user_id: str, text: str, metadata: _Metadata | None = None) -> dict[str, Any]:
        """Remember one short, self-contained fact about the user (e.g. "Prefers window seats").
        Storing the same text again returns the existing memory. Returns the stored memory with its id."""
        return memory.store_memory(text, user_id=user_id, metadata=metadata, agent_id=agent_id, actor=actor).to_dict()

    def search_memory(user_id: str, query: str, top_k: int = 5) -> list[dict[str, Any]]:
        """Find the user's memories most relevant to a question or topic, best first.
        Each result has the memory's id, text, metadata and a relevance score."""
        return [hit.to_dict() for hit in memory.search_memory(query, user_id=user_id, top_k=top_k)]

    def list_memories(user_id: str, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
        """List the user's memories, oldest first, ``limit`` at a time from ``offset``."""
        return [m.to_dict() for m in memory.list_memories(user_id=user_id, limit=limit, offset=offset)]

    def update_memory(
        user_id: str, memory_id: str, text: str | None = None, metadata: _Metadata | None = None
    ) -> dict[str, Any]:
        """Correct a memory: replace its text (it is re-embedded) and/or its metadata, keeping its id."""
        return memory.update_memory(memory_id, user_id=user_id, text=text, metadata=metadata, actor=actor).to_dict()

    def delete_memory(user_id: str, memory_id: str) -> dict[str, Any]:
        """Forget one memory by its id. Returns whether it existed."""
        return {"deleted": memory.delete_memory(memory_id, user_id=user_id, actor=actor)}

    def delete_all_memories(user_id: str, confirm: bool) -> dict[str, Any]:
        """Forget everything about the user. Only when the user explicitly asks; pass confirm=true."""
        if confirm is not True:
            raise ValidationError("delete_all_memories needs confirm=true")
        return {"deleted": memory.delete_all_memories(user_id=user_id, actor=actor)}

    return [store_memory, search_memory, list_memories, update_memory, delete_memory, delete_all_memories]


def _reporting_errors(tool: Callable[..., Any]) -> Callable[..., Any]:
    """The library's errors (bad input, unknown id) as MCP tool errors the model can read and act on."""
    from mcp.server.mcpserver.exceptions import ToolError

    @functools.wraps(tool)
    def reporting(*args: Any, **kwargs: Any) -> Any:
        try:
            return tool(*args, **kwargs)
        except AgentMemoryError as exc:
            raise ToolError(f"{type(exc).__name__}: {exc}") from exc

    return reporting


def _bind_user(tool: Callable[..., Any], user_id: str) -> Callable[..., Any]:
    """The tool with ``user_id`` fixed and gone from its signature (so from its MCP schema)."""
    signature = inspect.signature(tool)

    @functools.wraps(tool)
    def bound(*args: Any, **kwargs: Any) -> Any:
        return tool(user_id, *args, **kwargs)

    bound.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in signature.parameters.values() if p.name != "user_id"]
    )
    bound.__annotations__ = {k: v for k, v in tool.__annotations__.items() if k != "user_id"}
    del bound.__wrapped__  # schema readers must not see through to user_id
    return bound


def create_mcp_server(
    memory: MemorySystem,
    *,
    user_id: str | None = None,
    allow_any_user: bool = False,
    agent_id: str | None = None,
    name: str = "agent-memory",
) -> "MCPServer":
    """An MCP server whose tools store, search, list, update and delete memories.

    Exactly one of ``user_id`` (every call acts for that user) and
    ``allow_any_user=True`` (every tool takes a ``user_id``) must be given.
    ``agent_id`` tags the memories this server stores.
    """
    try:
        from mcp.server.mcpserver import MCPServer
    except ImportError:
        raise ConfigurationError("the MCP server needs the mcp package: pip install 'agent-memory[mcp]'") from None
    if (user_id is None) == (not allow_any_user):
        raise ConfigurationError("give the server's user (user_id=...) or allow_any_user=True, not both or neither")
    server = MCPServer(name, instructions=_INSTRUCTIONS)
    for tool in _tools(memory, agent_id):
        tool = _reporting_errors(tool)
        server.tool()(tool if allow_any_user else _bind_user(tool, check_user_id(user_id)))
    return server
