"""The agent memory tools, defined once: what an LLM agent may do with a :class:`MemorySystem`.

Each :class:`MemoryTool` holds a tool's name, the description the model reads, its
arguments (a pydantic model: names, types, bounds, a description for every one) and
the function that runs it. The surfaces render these definitions and add nothing of
their own: the MCP server (``agent-memory mcp``) publishes them as MCP tools, and
``langchain_agent_memory.create_memory_tools`` as LangChain tools. So a model sees the
same tools, with the same names, arguments and errors, whichever way it reaches the
memory.

The tools act for one user. :func:`memory_tools` with a ``user_id`` fixes it: no
argument lets the model reach another user's memories. With ``user_id=None`` each
tool's ``run`` takes the user as its first parameter, for a surface that learns it per
call (the MCP server over HTTP takes it from the request's API key).

>>> from agent_memory import MemorySystem
>>> from agent_memory.tools import memory_tools
>>> with MemorySystem(path=":memory:") as memory:                   # doctest: +SKIP
...     tools = {t.name: t for t in memory_tools(memory, user_id="alice")}
...     tools["store_memory"].run(text="Alice likes coffee")
...     tools["search_memory"].run(query="What does Alice drink?", top_k=3)
"""

# No ``from __future__ import annotations``: surfaces build signatures from these models'
# annotations, which must be real objects.
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from agent_memory import _config
from agent_memory._errors import AgentMemoryError, ConfigurationError, MemoryNotFoundError, ValidationError
from agent_memory._options import MODES
from agent_memory._system import MemorySystem
from agent_memory._times import check_time, zone
from agent_memory._types import SearchHit
from agent_memory._validation import check_actor, check_choice, check_optional_scope, check_user_id
from agent_memory.extraction._extractor import Extractor

__all__ = ["TOOL_NAMES", "MemoryTool", "argument_problems", "memory_tools", "tool_error_message"]


_Record = dict[str, Any]
_Records = list[dict[str, Any]]
_Metadata = dict[str, str | int | float | bool]
_DIGITS = 4  # score and similarity in results: enough to rank by, without spending the model's context


@dataclass(frozen=True)
class MemoryTool:
    """One memory tool, as every surface publishes it.

    ``run(**arguments)`` (``run(user_id, **arguments)`` when the tools were made with
    ``user_id=None``) validates the arguments against ``args_schema`` and returns a
    JSON-able result, of type ``result_type``. Bad input raises the library's
    :class:`~agent_memory.ValidationError` (or another :class:`~agent_memory.AgentMemoryError`),
    which a surface turns into a tool error with :func:`tool_error_message`.
    """

    name: str
    description: str
    args_schema: type[BaseModel]
    run: Callable[..., Any]
    result_type: Any


def tool_error_message(exc: AgentMemoryError) -> str:
    """What the model reads when a tool fails: the library's exception, named, and its message,
    e.g. ``ValidationError: query must not be empty or whitespace``. One text on every surface,
    so a model (and a test) sees the same error whichever way it called."""
    return f"{type(exc).__name__}: {exc}"


def argument_problems(errors: Iterable[Mapping[str, Any]]) -> str:
    """Pydantic's errors for a tool's arguments (``ValidationError.errors()``), as the model
    reads them: each field and why, e.g. ``top_k: Input should be greater than or equal to 1``."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in errors)


class _Arguments(BaseModel):
    """A tool's arguments: an argument the tool does not have is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


_MEMORY_ID = "The memory's id, as search and list results give it."


class _StoreMemory(_Arguments):
    text: str = Field(description="One short, self-contained fact about the user, e.g. 'Alice likes coffee'.")
    metadata: _Metadata | None = Field(
        default=None,
        description='Labels kept with the memory, e.g. {"source": "chat"}: values are text, numbers or booleans.',
    )
    kind: Literal["event", "state"] | None = Field(
        default=None,
        description="event: it happened ('bought a kettle'); state: it holds until it changes ('lives in Porto'). "
        "Omit when unsure: it is guessed.",
    )


class _SearchMemory(_Arguments):
    query: str = Field(description="What you want to know about the user, as a question or keywords.")
    top_k: int = Field(default=5, ge=1, le=50, description="How many memories to return (1-50).")
    since: str | None = Field(
        default=None,
        description="Only memories stored at or after this time (ISO 8601, e.g. 2026-11-21; "
        "without an offset, {zone}).",
    )
    until: str | None = Field(
        default=None, description="Only memories stored before this time (ISO 8601; without an offset, {zone})."
    )
    as_of: str | None = Field(
        default=None,
        description="Search what held at this time instead of what holds now (ISO 8601; without an offset, {zone}).",
    )
    include_expired: bool = Field(default=False, description="Also search memories that no longer hold.")


class _ListMemories(_Arguments):
    limit: int = Field(default=20, ge=1, le=100, description="How many memories to return (1-100).")
    offset: int = Field(default=0, ge=0, description="How many to skip: the next page starts at offset + limit.")
    newest: bool = Field(default=False, description="List the latest first instead of the oldest.")
    since: str | None = Field(
        default=None, description="Only memories stored at or after this time (ISO 8601; without an offset, {zone})."
    )
    include_expired: bool = Field(default=False, description="Also list memories that no longer hold.")


class _UpdateMemory(_Arguments):
    memory_id: str = Field(description=_MEMORY_ID)
    text: str | None = Field(default=None, description="The corrected fact, replacing the text (omit to keep it).")
    metadata: _Metadata | None = Field(
        default=None, description="Labels replacing the memory's metadata (omit to keep them)."
    )


class _ExpireMemory(_Arguments):
    memory_id: str = Field(description=_MEMORY_ID)
    at: str | None = Field(
        default=None,
        description="When it stopped being true (ISO 8601; without an offset, {zone}); omit for now.",
    )


class _DeleteMemory(_Arguments):
    memory_id: str = Field(description=_MEMORY_ID)


class _DeleteAllMemories(_Arguments):
    confirm: bool = Field(description="Must be true: the user explicitly asked to forget everything.")


class _Turn(_Arguments):
    model_config = ConfigDict(extra="forbid", title="Message")

    role: str = Field(description="Who said it: user or assistant.")
    content: str = Field(description="What was said.")
    time: str | None = Field(default=None, description="When, as ISO 8601 (relative dates are resolved against it).")


class _Remember(_Arguments):
    messages: list[_Turn] = Field(description="The recent messages of the conversation, oldest first.")


def memory_tools(
    memory: MemorySystem,
    *,
    user_id: str | None,
    agent_id: str | None = None,
    session_id: str | None = None,
    extractor: Extractor | None = None,
    mode: str = "hybrid",
    tz: str | None = None,
    actor: str | None = None,
    user_wide: bool = False,
) -> list[MemoryTool]:
    """The memory tools over ``memory``: those named in :data:`TOOL_NAMES`, ``remember`` only
    with an ``extractor``.

    ``user_id`` fixes the user every tool acts for (``None``: each ``run`` takes it first).
    What the tools store is tagged with ``agent_id`` and ``session_id``; searching, listing,
    ``delete_all_memories``, and updating, expiring or deleting by id, see only that agent's
    and session's memories (another's id is not found), or (with ``user_wide=True``, the MCP
    server's ``--agent``) all of the user's. ``mode`` is how
    ``search_memory`` searches (``"hybrid"`` or ``"dense"``): the operator's choice, not the
    model's. Times the model gives without an offset are read in ``tz`` (an IANA name;
    default ``AGENT_MEMORY_TZ``, else UTC, as everywhere), and the descriptions say so. ``actor`` is who the
    history records (default ``agent:<agent_id>``, else ``user``).

    Everything is checked here, so that a bad scope, mode or zone fails before any tool runs.
    """
    if user_id is not None:
        check_user_id(user_id)
    if extractor is not None and not isinstance(extractor, Extractor):
        raise ConfigurationError(f"extractor {extractor!r} does not implement the Extractor protocol")
    actions = _Actions(
        memory,
        (check_optional_scope(agent_id, "agent_id"), check_optional_scope(session_id, "session_id")),
        extractor,
        check_choice(mode, MODES, "mode"),
        tz,
        check_actor(actor, agent_id),
        user_wide,
    )
    here = _zone_name(tz)
    specs = [spec for spec in _TOOLS if extractor is not None or not spec.needs_extractor]
    return [_tool(spec, _in_zone(spec, here), actions, user_id) for spec in specs]


def _zone_name(tz: str | None) -> str:
    """How the descriptions name the zone naive times are read in (and a check of ``tz``)."""
    zone(tz)
    return f"in {tz or _config.default_zone()}"


def _in_zone(spec: "_Spec", where: str) -> type[_Arguments]:
    """A tool's arguments, titled with its name, with ``{zone}`` in their descriptions filled in."""
    schema, name = spec.schema, spec.name
    fields = {
        field: (info.annotation, Field(default=info.default, description=info.description.format(zone=where)))
        for field, info in schema.model_fields.items()
        if info.description is not None and "{zone}" in info.description
    }
    return cast("type[_Arguments]", pydantic.create_model(name, __base__=schema, **fields))  # type: ignore[call-overload]


def _tool(spec: "_Spec", schema: type[_Arguments], actions: "_Actions", user_id: str | None) -> MemoryTool:
    """The tool ``spec`` describes: its ``run`` checks the arguments against ``schema``, then acts."""

    def arguments(given: dict[str, Any]) -> Any:
        try:
            return schema.model_validate(given)
        except pydantic.ValidationError as exc:
            raise ValidationError(f"invalid arguments for {spec.name}: {argument_problems(exc.errors())}") from None

    def run(user_id: str, /, **given: Any) -> Any:  # positional only: a user_id argument is refused
        return spec.act(actions, check_user_id(user_id), arguments(given))

    bound = run if user_id is None else functools.partial(run, user_id)
    return MemoryTool(spec.name, spec.description, schema, bound, spec.result)


def _found(hit: SearchHit) -> _Record:
    """A search result: the memory's fields, with score and similarity rounded."""
    return {**hit.to_dict(), "score": round(hit.score, _DIGITS), "similarity": round(hit.similarity, _DIGITS)}


class _Actions:
    """What each tool does, given the user and its checked arguments; one method per tool."""

    def __init__(
        self,
        memory: MemorySystem,
        scope: tuple[str | None, str | None],
        extractor: Extractor | None,
        mode: str,
        tz: str | None,
        actor: str,
        user_wide: bool,
    ) -> None:
        self.memory, self.extractor, self.mode, self.tz, self.actor = memory, extractor, mode, tz, actor
        self.agent_id, self.session_id = scope
        # What searching, listing and deleting all see: the whole user, or only this agent's and session's.
        self.seen_agent, self.seen_session = (None, None) if user_wide else scope

    def store_memory(self, user_id: str, args: _StoreMemory) -> _Record:
        stored = self.memory.store_memory(
            args.text,
            user_id=user_id,
            metadata=args.metadata,
            kind=args.kind,
            agent_id=self.agent_id,
            session_id=self.session_id,
            actor=self.actor,
        )
        return stored.to_dict()

    def search_memory(self, user_id: str, args: _SearchMemory) -> _Records:
        hits = self.memory.search_memory(
            args.query,
            user_id=user_id,
            top_k=args.top_k,
            mode=self.mode,
            since=args.since,
            until=args.until,
            tz=self.tz,
            as_of=args.as_of,
            include_expired=args.include_expired,
            time_aware=True,
            agent_id=self.seen_agent,
            session_id=self.seen_session,
        )
        return [_found(hit) for hit in hits]

    def list_memories(self, user_id: str, args: _ListMemories) -> _Records:
        found = self.memory.list_memories(
            user_id=user_id,
            limit=args.limit,
            offset=args.offset,
            order="newest" if args.newest else "oldest",
            since=args.since,
            tz=self.tz,
            include_expired=args.include_expired,
            agent_id=self.seen_agent,
            session_id=self.seen_session,
        )
        return [m.to_dict() for m in found]

    def _seen(self, user_id: str, memory_id: str) -> bool:
        """Whether these tools see the memory: any of the user's, or only their agent's and session's."""
        if self.seen_agent is None and self.seen_session is None:
            return True
        found = self.memory.get_memory(memory_id, user_id=user_id)
        if found is None:
            return False
        return self.seen_agent in (None, found.agent_id) and self.seen_session in (None, found.session_id)

    def _unseen(self, memory_id: str) -> MemoryNotFoundError:
        return MemoryNotFoundError(f"no memory {memory_id!r} among the memories these tools see")

    def update_memory(self, user_id: str, args: _UpdateMemory) -> _Record:
        memory_id, text, metadata = args.memory_id, args.text, args.metadata
        if not self._seen(user_id, memory_id):
            raise self._unseen(memory_id)
        return self.memory.update_memory(
            memory_id, user_id=user_id, text=text, metadata=metadata, actor=self.actor
        ).to_dict()

    def expire_memory(self, user_id: str, args: _ExpireMemory) -> _Record:
        at = check_time(args.at, "at", self.tz)
        if not self._seen(user_id, args.memory_id):
            raise self._unseen(args.memory_id)
        return self.memory.expire_memory(args.memory_id, user_id=user_id, at=at, actor=self.actor).to_dict()

    def delete_memory(self, user_id: str, args: _DeleteMemory) -> _Record:
        seen = self._seen(user_id, args.memory_id)
        deleted = seen and self.memory.delete_memory(args.memory_id, user_id=user_id, actor=self.actor)
        return {"id": args.memory_id, "deleted": deleted}

    def delete_all_memories(self, user_id: str, args: _DeleteAllMemories) -> _Record:
        if args.confirm is not True:
            raise ValidationError(
                "delete_all_memories needs confirm=true: only when the user asks to forget everything"
            )
        deleted = self.memory.delete_all_memories(
            user_id=user_id, agent_id=self.seen_agent, session_id=self.seen_session, actor=self.actor
        )
        return {"deleted": deleted}

    def remember(self, user_id: str, args: _Remember) -> _Records:
        if self.extractor is None:  # the tool is only made with one
            raise ConfigurationError("remember needs an extractor (an LLM)")
        changes = self.memory.remember(
            [turn.model_dump() for turn in args.messages],
            user_id=user_id,
            extractor=self.extractor,
            agent_id=self.agent_id,
            session_id=self.session_id,
            actor=self.actor,
        )
        return [change.to_dict() for change in changes]


@dataclass(frozen=True)
class _Spec:
    """One tool, in one place: its name (the Python API's method), the description the model reads,
    its arguments and result type, and what it does (an :class:`_Actions` method)."""

    name: str
    description: str
    schema: type[_Arguments]
    result: Any
    act: Callable[[_Actions, str, Any], Any]
    needs_extractor: bool = False


_TOOLS = (
    _Spec(
        "store_memory",
        "Remember one lasting, self-contained fact about the user (a preference, a relationship, a plan, a "
        "constraint), e.g. 'Prefers window seats', so it can be recalled in later conversations. One fact per "
        "call; storing the same text again returns the existing memory. Returns the stored memory with its "
        "id.",
        _StoreMemory,
        _Record,
        _Actions.store_memory,
    ),
    _Spec(
        "search_memory",
        "Search what you remember about the user: the memories most relevant to a question or topic, best "
        "first. Use it before answering anything that may depend on what the user said before. Only what "
        "holds now is searched, unless as_of asks for what held then or include_expired for everything; a "
        "time the query names ('in 2022', 'last week') selects what held then. Each result is a memory (id, "
        "text, metadata, validity) with its score (the relevance in [0, 1], higher is more relevant) and its "
        "similarity (the cosine similarity to the query).",
        _SearchMemory,
        _Records,
        _Actions.search_memory,
    ),
    _Spec(
        "list_memories",
        "List the user's memories that hold now, oldest first (newest=true: latest first), limit at a time "
        "from offset; include_expired=true lists those that no longer hold too. To answer a question, "
        "searching finds the relevant ones.",
        _ListMemories,
        _Records,
        _Actions.list_memories,
    ),
    _Spec(
        "update_memory",
        "Correct a memory: replace its text (it is re-embedded) and/or its metadata, keeping its id. Returns "
        "the updated memory.",
        _UpdateMemory,
        _Record,
        _Actions.update_memory,
    ),
    _Spec(
        "expire_memory",
        "Mark a memory as no longer true (the user moved, changed jobs, sold the car) without forgetting it: "
        "it stays as the past, found when asked about that time. Returns the memory, now with its "
        "valid_until.",
        _ExpireMemory,
        _Record,
        _Actions.expire_memory,
    ),
    _Spec(
        "delete_memory",
        "Forget one memory by its id, erasing it: for what is wrong or what the user asked you to forget (for "
        "what stopped being true, expire_memory keeps the past). Returns whether it existed.",
        _DeleteMemory,
        _Record,
        _Actions.delete_memory,
    ),
    _Spec(
        "delete_all_memories",
        "Forget everything remembered about the user, erasing it. Only when the user explicitly asks for it; "
        "pass confirm=true. Returns how many memories were deleted.",
        _DeleteAllMemories,
        _Record,
        _Actions.delete_all_memories,
    ),
    _Spec(
        "remember",
        "Remember a conversation: the lasting facts about the user in it are stored, each reconciled with "
        "what is already remembered (added, or refining an older memory, or replacing or ending one that "
        "stopped being true: kept as the past). Give the recent messages, oldest first, in the user's "
        "language. Returns one change per fact: event (added, updated, superseded, expired, unchanged, "
        "skipped), id, fact, old_text, new_text, problem.",
        _Remember,
        _Records,
        _Actions.remember,
        needs_extractor=True,
    ),
)
"""Every tool, one record each, in the order :func:`memory_tools` returns them."""

TOOL_NAMES = tuple(spec.name for spec in _TOOLS)
"""Every tool's name, in the order :func:`memory_tools` returns them (``remember`` only with an extractor).
They are :class:`MemorySystem`'s method names, so the tools read like the Python API."""
