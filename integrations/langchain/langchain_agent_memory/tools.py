"""Memory tools for LangChain agents, bound to one user that the model cannot change.

The tools are agent-memory's own (:mod:`agent_memory.tools`): the same names, descriptions,
arguments and error messages as the MCP server's, rendered here as LangChain tools.
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException

from agent_memory import AgentMemoryError, AsyncMemorySystem, Extractor, MemorySystem
from agent_memory.tools import MemoryTool, argument_problems, memory_tools, tool_error_message

__all__ = ["create_memory_tools"]

_LEGACY_NAMES = {"store_memory": "save_memory", "search_memory": "search_memories"}
"""The names of 0.1, which ``legacy_names=True`` keeps until 0.3."""


def create_memory_tools(
    memory: MemorySystem,
    *,
    user_id: str,
    agent_id: str | None = None,
    session_id: str | None = None,
    extractor: Extractor | None = None,
    mode: str = "hybrid",
    tz: str | None = None,
    legacy_names: bool = False,
) -> list[BaseTool]:
    """agent-memory's tools for one user: ``store_memory``, ``search_memory``, ``list_memories``,
    ``update_memory``, ``expire_memory``, ``delete_memory``, ``delete_all_memories`` (which the model
    must call with ``confirm=true``), and ``remember`` when an ``extractor`` is given (such as a
    :class:`LangChainExtractor`). They are the MCP server's tools, with its names, descriptions
    and arguments (:mod:`agent_memory.tools`); each returns its result as JSON.

    ``user_id`` (and ``agent_id``/``session_id``) are fixed here, not tool arguments: whatever
    the model sends, it only reads and changes this user's memories (an argument the schema does
    not have is a tool error). What the tools store is tagged with the agent and session, and
    they search, list and delete all within them. Bad arguments and the library's errors come
    back to the model as tool errors naming the field or the error, not as exceptions.
    ``mode`` is how ``search_memory`` searches (``"hybrid"`` or ``"dense"``, as in
    :meth:`MemorySystem.search_memory`); the operator chooses it, not the model. Search results
    are memories with ``score`` (the relevance they are ranked by) and ``similarity`` (the cosine
    similarity), both rounded to 4 places. Times the model gives without an offset
    (``since``/``until``/``as_of``/``at``, ISO 8601) are read in ``tz`` (an IANA name: the
    user's zone; default ``AGENT_MEMORY_TZ``, else UTC), and the tools' descriptions say so.
    ``remember`` takes the recent messages (``role``, ``content``, optional ``time``) and hands
    them to :meth:`MemorySystem.remember`: the extractor's model lists the lasting facts and
    reconciles each with what is remembered; the tool returns the changes made.

    ``legacy_names=True`` (deprecated, removed in 0.3) names two tools as 0.1 did:
    ``save_memory`` for ``store_memory`` and ``search_memories`` for ``search_memory``.
    """
    tools = memory_tools(
        memory, user_id=user_id, agent_id=agent_id, session_id=session_id, extractor=extractor, mode=mode, tz=tz
    )
    if legacy_names:
        warnings.warn(
            "create_memory_tools(legacy_names=True) is deprecated and will be removed in 0.3: the tools "
            "save_memory and search_memories are now store_memory and search_memory, as on the MCP server",
            DeprecationWarning,
            stacklevel=2,
        )
    pool = AsyncMemorySystem.of(memory)
    return [
        _structured(tool, pool, _LEGACY_NAMES.get(tool.name, tool.name) if legacy_names else tool.name)
        for tool in tools
    ]


def _structured(tool: MemoryTool, pool: AsyncMemorySystem, name: str) -> StructuredTool:
    """``tool`` as a LangChain tool named ``name``, run in ``pool`` when awaited."""
    func = _as_json(tool)
    return StructuredTool.from_function(
        func=func,
        coroutine=_awaiting(pool, func),
        name=name,
        description=tool.description,
        args_schema=tool.args_schema,
        handle_tool_error=True,
        handle_validation_error=_bad_arguments,
    )


def _as_json(tool: MemoryTool) -> Callable[..., str]:
    """The tool's function, its result as JSON text; agent-memory's errors become tool errors,
    which the model sees (the same text as on the MCP server) and can correct."""

    def run(**arguments: Any) -> str:
        try:
            return json.dumps(tool.run(**arguments), ensure_ascii=False)
        except AgentMemoryError as exc:
            raise ToolException(tool_error_message(exc)) from exc

    run.__name__ = run.__qualname__ = tool.name
    return run


def _bad_arguments(error: Exception) -> str:
    """What the model sees for arguments that do not fit the tool's schema: each field and why,
    so that it can call again correctly (LangChain's default names neither)."""
    errors = getattr(error, "errors", None)
    if not callable(errors):
        return f"Invalid arguments: {error}"
    return f"Invalid arguments: {argument_problems(errors())}"


def _awaiting(pool: AsyncMemorySystem, func: Callable[..., str]) -> Callable[..., Awaitable[str]]:
    """The tool's coroutine (``ainvoke``): the same function, in the memory system's bounded pool."""

    @functools.wraps(func)
    async def run(**arguments: Any) -> str:
        return await pool.run(func, **arguments)

    return run
