"""An MCP server over a :class:`MemorySystem`: memory tools for any Model Context Protocol client.

Built on the official ``mcp`` SDK (its ``MCPServer``, formerly FastMCP). The
user whose memories the tools touch is fixed by the operator when the server
starts (``--user``): the tools' schemas have no ``user_id``, so a model cannot
read or change another user's memories. ``allow_any_user=True`` (``--allow-any-user``)
adds a required ``user_id`` argument to every tool instead, for trusted
multi-user back ends. Bad arguments come back as MCP tool errors with the
library's message, never as a crashed server.

With an ``extractor`` (``--llm-model``/``--llm-base-url`` on the command line:
any OpenAI-compatible chat server), a ``remember`` tool stores the lasting facts
of a conversation, reconciled with what is remembered (:meth:`MemorySystem.remember`).
MCP sampling (asking the client's own model) is not used: the 2026-07-28
protocol revision deprecates it.
"""

# No ``from __future__ import annotations``: the SDK builds each tool's schema from its
# annotations, and real objects need no resolving from a module namespace.
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from agent_memory._errors import (
    AgentMemoryError,
    AuthenticationError,
    ConfigurationError,
    PermissionDeniedError,
    ValidationError,
)
from agent_memory._extraction import Extractor
from agent_memory._hybrid import MODES
from agent_memory._keys import ApiKey, KeyStore
from agent_memory._limits import allowed_hosts as names_for
from agent_memory._system import MemorySystem
from agent_memory._times import check_time
from agent_memory._validation import check_choice, check_user_id

if TYPE_CHECKING:
    from mcp.server.auth.provider import AccessToken
    from mcp.server.mcpserver import MCPServer

__all__ = ["create_mcp_server", "run_http"]

_Metadata = dict[str, str | int | float | bool]

_INSTRUCTIONS = (
    "Long-term memory about the user. Search it before answering questions that may depend on what "
    "the user said before; store short, self-contained facts worth remembering (preferences, plans, "
    "names, dates); update or delete a memory when the user corrects or retracts it."
)


class _Turn(BaseModel):
    role: str = Field(description="Who said it: user or assistant.")
    content: str = Field(description="What was said.")
    time: str | None = Field(default=None, description="When, as ISO 8601 (relative dates are resolved against it).")


def _tools(
    memory: MemorySystem, agent_id: str | None, extractor: Extractor | None, mode: str
) -> list[Callable[..., Any]]:
    """The memory tools, each taking ``user_id`` (bound or exposed by :func:`create_mcp_server`).

    ``search_memory`` searches in ``mode`` (``"hybrid"`` or ``"dense"``), which the operator chose.

    The history records their changes as made by ``agent:<agent_id>`` (``agent:mcp`` by default).
    """
    actor = f"agent:{agent_id or 'mcp'}"

    def store_memory(user_id: str, text: str, metadata: _Metadata | None = None) -> dict[str, Any]:
        """Remember one short, self-contained fact about the user (e.g. "Prefers window seats").
        Storing the same text again returns the existing memory. Returns the stored memory with its id."""
        return memory.store_memory(text, user_id=user_id, metadata=metadata, agent_id=agent_id, actor=actor).to_dict()

    def search_memory(
        user_id: str,
        query: str,
        top_k: int = 5,
        since: str | None = None,
        until: str | None = None,
        as_of: str | None = None,
        include_expired: bool = False,
    ) -> list[dict[str, Any]]:
        """Find the user's memories most relevant to a question or topic, best first: those that
        hold now, or held at as_of (ISO 8601), or all (include_expired). A time the query names
        ("in 2022", "last week") selects what held then. Each result has the memory's id, text,
        metadata and validity, its score (the relevance in [0, 1], higher is more relevant) and
        its similarity (the cosine similarity to the query).
        since/until (ISO 8601; without an offset, UTC) keep memories stored in that span."""
        found = memory.search_memory(
            query,
            user_id=user_id,
            top_k=top_k,
            mode=mode,
            since=since,
            until=until,
            tz="UTC",
            as_of=as_of,
            include_expired=include_expired,
            time_aware=True,
        )
        return [hit.to_dict() for hit in found]

    def list_memories(
        user_id: str,
        limit: int = 20,
        offset: int = 0,
        newest: bool = False,
        since: str | None = None,
        include_expired: bool = False,
    ) -> list[dict[str, Any]]:
        """List the user's memories that hold now (include_expired=true: also those that no longer
        do), oldest first (newest=true: latest first), ``limit`` at a time from ``offset``; since
        (ISO 8601; without an offset, UTC) keeps those stored from then on."""
        order = "newest" if newest else "oldest"
        found = memory.list_memories(
            user_id=user_id,
            limit=limit,
            offset=offset,
            order=order,
            since=since,
            tz="UTC",
            include_expired=include_expired,
        )
        return [m.to_dict() for m in found]

    def update_memory(
        user_id: str, memory_id: str, text: str | None = None, metadata: _Metadata | None = None
    ) -> dict[str, Any]:
        """Correct a memory: replace its text (it is re-embedded) and/or its metadata, keeping its id."""
        return memory.update_memory(memory_id, user_id=user_id, text=text, metadata=metadata, actor=actor).to_dict()

    def expire_memory(user_id: str, memory_id: str, at: str | None = None) -> dict[str, Any]:
        """Mark a memory as no longer true (the user moved, changed jobs, sold the car) without
        forgetting it: it stays as the past, found when asked about that time. ``at`` (ISO 8601;
        without an offset, UTC) is when it stopped being true, default now."""
        at_time = None if at is None else check_time(at, "at", "UTC")
        return memory.expire_memory(memory_id, user_id=user_id, at=at_time, actor=actor).to_dict()

    def delete_memory(user_id: str, memory_id: str) -> dict[str, Any]:
        """Forget one memory by its id, erasing it (for what the user wants gone; for what stopped
        being true, expire_memory keeps the past). Returns whether it existed."""
        return {"deleted": memory.delete_memory(memory_id, user_id=user_id, actor=actor)}

    def delete_all_memories(user_id: str, confirm: bool) -> dict[str, Any]:
        """Forget everything about the user. Only when the user explicitly asks; pass confirm=true."""
        if confirm is not True:
            raise ValidationError("delete_all_memories needs confirm=true")
        return {"deleted": memory.delete_all_memories(user_id=user_id, actor=actor)}

    def remember(user_id: str, messages: list[_Turn]) -> list[dict[str, Any]]:
        """Remember a conversation: the lasting facts about the user in it are stored, each reconciled
        with what is already remembered (added, or refining an older memory, or replacing or ending one
        that stopped being true: kept as the past). Give the recent messages, oldest first, in the user's language.
        Returns one change per fact: event (added, updated, superseded, expired, unchanged, skipped), id,
        fact, old_text, new_text, problem."""
        assert extractor is not None  # the tool is only offered with one
        changes = memory.remember(
            [turn.model_dump() for turn in messages],
            user_id=user_id,
            extractor=extractor,
            agent_id=agent_id,
            actor=actor,
        )
        return [change.to_dict() for change in changes]

    tools: list[Callable[..., Any]] = [
        store_memory,
        search_memory,
        list_memories,
        update_memory,
        expire_memory,
        delete_memory,
        delete_all_memories,
    ]
    return tools if extractor is None else [*tools, remember]


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
    keys: KeyStore | None = None,
    agent_id: str | None = None,
    extractor: Extractor | None = None,
    name: str = "agent-memory",
    mode: str = "hybrid",
) -> "MCPServer":
    """An MCP server whose tools store, search, list, update, delete and remember memories.

    Over stdio, exactly one of ``user_id`` (every call acts for that user) and
    ``allow_any_user=True`` (every tool takes a ``user_id``) must be given. Over
    HTTP, give ``keys`` instead: every request needs ``Authorization: Bearer <key>``
    and acts for the key's user (:mod:`agent_memory._keys`); with
    ``allow_any_user=True`` the tools also take an optional ``user_id``, which only
    an admin key may set to another user (and must set). ``agent_id`` tags the
    memories this server stores. With an ``extractor`` (an
    :class:`~agent_memory.OpenAIExtractor`, say) the server also has ``remember``.
    ``mode`` is how ``search_memory`` searches: ``"hybrid"`` (BM25 and dense) or ``"dense"``.
    """
    try:
        from mcp.server.auth.settings import AuthSettings
        from mcp.server.mcpserver import MCPServer
    except ImportError:
        raise ConfigurationError("the MCP server needs the mcp package: pip install 'agent-memory[mcp]'") from None
    if keys is not None and user_id is not None:
        raise ConfigurationError("with keys the user comes from each request's key: user_id= is for stdio only")
    if keys is None and (user_id is None) == (not allow_any_user):
        raise ConfigurationError("give the server's user (user_id=...) or allow_any_user=True, not both or neither")
    if extractor is not None and not isinstance(extractor, Extractor):
        raise ConfigurationError(f"extractor {extractor!r} does not implement the Extractor protocol")
    if keys is None:
        server = MCPServer(name, instructions=_INSTRUCTIONS)
    else:  # the SDK's bearer middleware; "issuer" is required by its settings but no OAuth server is offered
        auth = AuthSettings(issuer_url="http://127.0.0.1/agent-memory-keys", resource_server_url=None)
        server = MCPServer(name, instructions=_INSTRUCTIONS, token_verifier=_KeyVerifier(keys), auth=auth)
    for tool in _tools(memory, agent_id, extractor, check_choice(mode, MODES, "mode")):
        if keys is not None:  # errors of the key's grants are tool errors too
            server.tool()(_reporting_errors(_bind_key(tool, expose_user=allow_any_user)))
        elif allow_any_user:
            server.tool()(_reporting_errors(tool))
        else:
            server.tool()(_bind_user(_reporting_errors(tool), check_user_id(user_id)))
    return server


class _KeyVerifier:
    """The SDK's ``TokenVerifier`` over a :class:`KeyStore`: the key's grants travel as claims."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    async def verify_token(self, token: str) -> "AccessToken | None":
        from mcp.server.auth.provider import AccessToken

        try:
            key = self.keys.authenticate(token)
        except AuthenticationError:
            return None
        claims = {"user_id": key.user_id, "agent_id": key.agent_id, "admin": key.admin}
        return AccessToken(token="", client_id=key.id, scopes=[], claims=claims)


def _request_key() -> ApiKey:
    """The API key of the HTTP request this tool call came in. Keys bound to an agent are for the
    HTTP service, which scopes every call to the agent; the MCP tools act for a whole user."""
    from mcp.server.auth.middleware.auth_context import get_access_token

    token = get_access_token()
    if token is None or token.claims is None:
        raise AuthenticationError("this call came without an API key")
    claims = token.claims
    if claims["agent_id"] is not None:
        raise PermissionDeniedError("a key bound to an agent cannot use the MCP server; use a user's key")
    return ApiKey(id=token.client_id, user_id=claims["user_id"], agent_id=None, admin=claims["admin"])


def _bind_key(tool: Callable[..., Any], *, expose_user: bool) -> Callable[..., Any]:
    """The tool acting for the request's key's user; ``user_id`` is gone from its signature,
    or (``expose_user``) optional, for admin keys to name the user."""
    signature = inspect.signature(tool)
    rest = [p for p in signature.parameters.values() if p.name != "user_id"]

    @functools.wraps(tool)
    def bound(*args: Any, user_id: str | None = None, **kwargs: Any) -> Any:
        return tool(_request_key().user_for(user_id), *args, **kwargs)

    annotations = {k: v for k, v in tool.__annotations__.items() if k != "user_id"}
    if expose_user:
        optional = inspect.Parameter("user_id", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=str | None)
        rest.append(optional)
        annotations["user_id"] = str | None
    bound.__signature__ = signature.replace(parameters=rest)  # type: ignore[attr-defined]
    bound.__annotations__ = annotations
    del bound.__wrapped__  # schema readers must see this signature, not the tool's
    return bound


def run_http(server: "MCPServer", *, host: str, port: int, allowed_hosts: Sequence[str] = ()) -> None:
    """Serve ``server`` over streamable HTTP at ``/mcp`` until interrupted.

    ``Host`` and ``Origin`` are always checked against DNS rebinding (see
    :func:`agent_memory._limits.allowed_hosts`: a public address needs its names).
    """
    import uvicorn
    from mcp.server.transport_security import TransportSecuritySettings

    hosts = [f"{name}:*" for name in names_for(host, allowed_hosts)]
    origins = [f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")]
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )
    app = server.streamable_http_app(host=host, transport_security=security)
    uvicorn.run(app, host=host, port=port, log_level="warning")
