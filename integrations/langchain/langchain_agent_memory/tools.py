"""Memory tools for LangChain agents, bound to one user that the model cannot change."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import ParamSpec

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, Field

from agent_memory import SEARCH_MODES, AgentMemoryError, AsyncMemorySystem, Extractor, MemorySystem, Scope, SearchHit
from agent_memory.validation import check_choice

__all__ = ["create_memory_tools"]

P = ParamSpec("P")


class _SaveMemory(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="One short, self-contained fact about the user, e.g. 'Alice likes coffee'.")


class _SearchMemories(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(description="What you want to know about the user, as a question or keywords.")
    top_k: int = Field(default=5, ge=1, le=50, description="How many memories to return (1-50).")
    since: str | None = Field(
        default=None, description="Only memories saved at or after this time (ISO 8601, e.g. 2026-11-21)."
    )
    until: str | None = Field(default=None, description="Only memories saved before this time (ISO 8601).")


class _Remember(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="What the user said that may hold lasting facts about them, in their own words.")


class _DeleteMemory(BaseModel):
    model_config = ConfigDict(extra="forbid")
    memory_id: str = Field(description="The id of a memory, as returned by search_memories or save_memory.")


def create_memory_tools(
    memory: MemorySystem,
    *,
    user_id: str,
    agent_id: str | None = None,
    session_id: str | None = None,
    extractor: Extractor | None = None,
    mode: str = "hybrid",
    tz: str | None = None,
) -> list[BaseTool]:
    """``save_memory``, ``search_memories`` and ``delete_memory`` tools for one user, and
    ``remember`` when an ``extractor`` is given (such as a :class:`LangChainExtractor`).

    ``user_id`` (and ``agent_id``/``session_id``) are fixed here, not tool
    arguments: whatever the model sends, it only reads and changes this user's
    memories. Bad arguments come back to the model as tool errors, not exceptions.
    ``mode`` is how ``search_memories`` searches (``"hybrid"`` or ``"dense"``, as in
    :meth:`MemorySystem.search_memory`); the operator chooses it, not the model.
    Its results carry ``score`` (the relevance they are ranked by) and
    ``similarity`` (the cosine similarity); the model may narrow it to a span of time
    (``since``/``until``, ISO 8601), read in ``tz`` when it gives no offset (an IANA
    name: the user's zone; default this process's local zone).
    ``remember`` hands what the user said to :meth:`MemorySystem.remember`: the
    extractor's model lists the lasting facts and reconciles each with what is
    remembered; the tool returns the changes made (added, updated, deleted, unchanged).
    """
    Scope.of(user_id, agent_id, session_id)  # fail now on a bad scope or mode, not at the first tool call
    check_choice(mode, SEARCH_MODES, "mode")

    def save_memory(text: str) -> str:
        saved = memory.store_memory(text, user_id=user_id, agent_id=agent_id, session_id=session_id)
        return json.dumps({"saved": True, "id": saved.id, "text": saved.text}, ensure_ascii=False)

    def search_memories(query: str, top_k: int = 5, since: str | None = None, until: str | None = None) -> str:
        hits = memory.search_memory(
            query,
            user_id=user_id,
            top_k=top_k,
            agent_id=agent_id,
            session_id=session_id,
            mode=mode,
            since=since,
            until=until,
            tz=tz,
        )
        return json.dumps([_found(h) for h in hits], ensure_ascii=False)

    def delete_memory(memory_id: str) -> str:
        deleted = memory.delete_memory(memory_id, user_id=user_id)
        return json.dumps({"deleted": deleted, "id": memory_id})

    def remember(text: str) -> str:
        assert extractor is not None
        changes = memory.remember(
            [{"role": "user", "content": text}],
            user_id=user_id,
            extractor=extractor,
            agent_id=agent_id,
            session_id=session_id,
        )
        return json.dumps([c.to_dict() for c in changes], ensure_ascii=False)

    specs: list[tuple[Callable[..., str], type[BaseModel], str]] = [
        (
            save_memory,
            _SaveMemory,
            "Save a lasting fact about the user (a preference, a relationship, a plan, "
            "a constraint) so it can be recalled in later conversations. Save one fact per call.",
        ),
        (
            search_memories,
            _SearchMemories,
            "Search what you remember about the user. Returns a JSON list of memories (id, text, score, "
            "similarity), most relevant first: score is the relevance in [0, 1] (higher is more relevant), "
            "similarity the cosine similarity. Use it before answering personal questions.",
        ),
        (
            delete_memory,
            _DeleteMemory,
            "Delete a memory that is wrong or that the user asked you to forget, "
            "by its id. Returns whether it was deleted.",
        ),
    ]
    if extractor is not None:
        specs.append(
            (
                remember,
                _Remember,
                "Remember what the user just told you: the lasting facts in it are stored, or update, "
                "replace or remove what you remembered before. Returns the changes made as JSON.",
            )
        )
    pool = AsyncMemorySystem.of(memory)
    return [
        StructuredTool.from_function(
            func=_reporting_errors(func),
            coroutine=_awaiting(pool, _reporting_errors(func)),
            name=func.__name__,
            description=description,
            args_schema=schema,
            handle_tool_error=True,
            handle_validation_error=_bad_arguments,
        )
        for func, schema, description in specs
    ]


def _bad_arguments(error: Exception) -> str:
    """What the model sees for arguments that do not fit the tool's schema: each field and why,
    so that it can call again correctly (LangChain's default names neither)."""
    errors = getattr(error, "errors", None)
    if not callable(errors):
        return f"Invalid arguments: {error}"
    fields = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in errors())
    return f"Invalid arguments: {fields}"


def _awaiting(pool: AsyncMemorySystem, func: Callable[P, str]) -> Callable[P, Awaitable[str]]:
    """The tool's coroutine (``ainvoke``): the same function, in the memory system's bounded pool."""

    @functools.wraps(func)
    async def run(*args: P.args, **kwargs: P.kwargs) -> str:
        return await pool.run(func, *args, **kwargs)

    return run


def _found(hit: SearchHit) -> dict[str, object]:
    """A search hit as the tool reports it: both numbers rounded, to spare the model's context."""
    return {"id": hit.memory.id, "text": hit.text, "score": round(hit.score, 4), "similarity": round(hit.similarity, 4)}


def _reporting_errors(func: Callable[P, str]) -> Callable[P, str]:
    """Turn agent-memory's errors into tool errors, which the model sees and can correct."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> str:
        try:
            return func(*args, **kwargs)
        except AgentMemoryError as exc:
            raise ToolException(str(exc)) from exc

    return wrapper
