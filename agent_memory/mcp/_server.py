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
Over HTTP it is ``agent-memory serve``'s ``/mcp`` (:class:`HttpEndpoint`), behind the
service's one gate (:mod:`agent_memory.auth._gate`): Host and Origin, the API key,
rates, body limits and the access log are checked there, and each tool call acts for
the key of its request, scoped as on ``/v1`` (a key bound to an agent writes as that
agent and sees only its memories).

MCP sampling (asking the client's own model) is not used: the 2026-07-28
protocol revision deprecates it.
"""

# No ``from __future__ import annotations``: the SDK builds each tool's schema from its
# annotations, and real objects need no resolving from a module namespace.
import asyncio
import contextlib
import functools
import inspect
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field
from pydantic.fields import FieldInfo

from agent_memory._errors import AgentMemoryError, AuthenticationError, ConfigurationError
from agent_memory._system import MemorySystem
from agent_memory._validation import VIA_KEY, check_user_id
from agent_memory.auth._gate import caller_of
from agent_memory.auth._keys import ApiKey
from agent_memory.extraction._extractor import Extractor
from agent_memory.tools import MemoryTool, memory_tools, tool_error_message

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context, MCPServer

__all__ = ["HttpEndpoint", "HttpOptions", "create_mcp_server"]

_INSTRUCTIONS = (
    "Long-term memory about the user. Search it before answering questions that may depend on what "
    "the user said before; store short, self-contained facts worth remembering (preferences, plans, "
    "names, dates); update or delete a memory when the user corrects or retracts it."
)
_USER = "The user whose memories this call acts on."
_ADMIN_USER = "The user to act for: only an admin key may name one (and must); a user's key acts for its own user."


@dataclass(frozen=True)
class HttpOptions:
    """The operator's choices for ``serve``'s ``/mcp``: ``search_memory``'s mode, whether the tools take
    a ``user_id`` (for admin keys), and the agent that user keys' writes are tagged with."""

    mode: str = "hybrid"
    allow_any_user: bool = False
    agent_id: str | None = None


def _sdk_function(
    tool: MemoryTool, act: Callable[..., Any], user_param: inspect.Parameter | None, context: bool = False
) -> Callable[..., Any]:
    """``tool`` as a function the SDK reads a tool from: its signature is ``tool.args_schema``'s
    fields (names, types, bounds, defaults and descriptions), plus ``user_param`` when given,
    plus the SDK's request ``Context`` as ``ctx`` with ``context``.

    ``act`` runs the call with those arguments. The library's errors (bad input, unknown id,
    a key's grants or budget) become MCP tool errors the model can read and act on.
    """
    from mcp.server.mcpserver import Context
    from mcp.server.mcpserver.exceptions import ToolError

    def call(**arguments: Any) -> Any:
        try:
            return act(**arguments)
        except AgentMemoryError as exc:
            raise ToolError(tool_error_message(exc)) from exc

    parameters = [_parameter(name, field) for name, field in tool.args_schema.model_fields.items()]
    if user_param is not None:
        parameters = (
            [user_param, *parameters] if user_param.default is inspect.Parameter.empty else [*parameters, user_param]
        )
    if context:  # the SDK hands the request's context to the parameter annotated with Context
        parameters.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context))
        call.__annotations__ = {"ctx": Context}
    call.__name__ = call.__qualname__ = tool.name
    call.__doc__ = tool.description
    call.__signature__ = inspect.Signature(parameters, return_annotation=tool.result_type)  # type: ignore[attr-defined]
    return call


def _parameter(name: str, field: FieldInfo) -> inspect.Parameter:
    """A schema field as a keyword parameter whose annotation carries its description and bounds."""
    annotated: Any = Annotated  # a type built at run time, from the schema
    parts = (field.annotation, *field.metadata, Field(description=field.description))
    annotation = annotated[parts]
    default = inspect.Parameter.empty if field.is_required() else field.default
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def create_mcp_server(
    memory: MemorySystem,
    *,
    user_id: str | None = None,
    allow_any_user: bool = False,
    keyed: bool = False,
    agent_id: str | None = None,
    extractor: Extractor | None = None,
    name: str = "agent-memory",
    mode: str = "hybrid",
) -> "MCPServer":
    """An MCP server whose tools store, search, list, update, delete and remember memories.

    Over stdio, exactly one of ``user_id`` (every call acts for that user) and
    ``allow_any_user=True`` (every tool takes a ``user_id``) must be given. With
    ``keyed=True`` (``serve``'s ``/mcp``, see :class:`HttpEndpoint`) each call acts for the
    API key its request came with, which the service's gate has checked: the key's user,
    and for a key bound to an agent, that agent (its writes, and all it sees); with
    ``allow_any_user=True`` the tools also take an optional ``user_id``, which only an
    admin key may set to another user (and must set). ``agent_id`` tags the memories
    stored for a user's key or over stdio. With an ``extractor`` (an
    :class:`~agent_memory.OpenAIExtractor`, say) the server also has ``remember``.
    ``mode`` is how ``search_memory`` searches: ``"hybrid"`` (BM25 and dense) or ``"dense"``.
    """
    try:
        from mcp.server.mcpserver import MCPServer
    except ImportError:
        raise ConfigurationError("the MCP server needs the mcp package: pip install 'agent-memory[mcp]'") from None
    if keyed and user_id is not None:
        raise ConfigurationError("with keys the user comes from each request's key: user_id= is for stdio only")
    if not keyed and (user_id is None) == (not allow_any_user):
        raise ConfigurationError("give the server's user (user_id=...) or allow_any_user=True, not both or neither")
    options: dict[str, Any] = {"extractor": extractor, "mode": mode, "tz": "UTC"}
    if keyed:
        rendered = _keyed_functions(memory, options, agent_id, allow_any_user)
    else:  # the operator's scope: what the server stores is tagged with agent_id, searches see the whole user
        options |= {"agent_id": agent_id, "actor": f"agent:{agent_id or 'mcp'}", "user_wide": True}
        rendered = _stdio_functions(memory, options, user_id)
    server = MCPServer(name, instructions=_INSTRUCTIONS)
    for function in rendered:
        server.add_tool(function, name=function.__name__, description=function.__doc__)
    return server


def _stdio_functions(memory: MemorySystem, options: dict[str, Any], user_id: str | None) -> list[Callable[..., Any]]:
    """The tools for one fixed user (no tool argument names one), or with a required ``user_id``."""
    if user_id is not None:
        return [_sdk_function(t, t.run, None) for t in memory_tools(memory, user_id=user_id, **options)]
    required = inspect.Parameter(
        "user_id", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[str, Field(description=_USER)]
    )

    def any_user(tool: MemoryTool) -> Callable[..., Any]:
        return lambda user_id, **arguments: tool.run(check_user_id(user_id), **arguments)

    tools = memory_tools(memory, user_id=None, **options)
    return [_sdk_function(t, any_user(t), required) for t in tools]


def _keyed_functions(
    memory: MemorySystem, options: dict[str, Any], agent_id: str | None, allow_any_user: bool
) -> list[Callable[..., Any]]:
    """The tools of ``serve``'s ``/mcp``: each call runs the tool as made for the request's key."""

    @functools.lru_cache(maxsize=256)
    def tools_for(key: ApiKey) -> dict[str, MemoryTool]:
        if key.agent_id is not None:  # as on /v1: writes as that agent, sees only its memories
            scope: dict[str, Any] = {"agent_id": key.agent_id, "actor": key.actor(), "user_wide": False}
        else:
            scope = {"agent_id": agent_id, "actor": f"agent:{agent_id or 'mcp'}{VIA_KEY}{key.name}", "user_wide": True}
        return {t.name: t for t in memory_tools(memory, user_id=None, **options, **scope)}

    def keyed(name: str) -> Callable[..., Any]:
        def act(ctx: "Context[Any, Any]", user_id: str | None = None, **arguments: Any) -> Any:
            caller = caller_of(_scope_of(ctx))
            user = caller.key.user_for(user_id)
            caller.embeds(_texts_embedded(name, arguments))
            return tools_for(caller.key)[name].run(user, **arguments)

        return act

    optional = inspect.Parameter(
        "user_id",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[str | None, Field(description=_ADMIN_USER)],
    )
    templates = memory_tools(memory, user_id=None, **options)  # the schemas: the same for every key
    return [_sdk_function(t, keyed(t.name), optional if allow_any_user else None, context=True) for t in templates]


def _scope_of(ctx: "Context[Any, Any]") -> Any:
    """The ASGI scope of the HTTP request a tool call came in (the gate keeps the caller there)."""
    request = ctx.request_context.request
    if request is None:
        raise AuthenticationError("this call came without an HTTP request, so without an API key")
    return request.scope


def _texts_embedded(tool: str, arguments: Mapping[str, Any]) -> list[str]:
    """The texts a tool call embeds, which its key's budget of work pays for (as on ``/v1``)."""
    text = {"store_memory": "text", "search_memory": "query", "update_memory": "text"}.get(tool)
    if text is not None:
        return [str(arguments[text])] if isinstance(arguments.get(text), str) else []
    if tool == "remember":
        messages = arguments.get("messages")
        return (
            [str(m.get("content", "")) for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []
        )
    return []


class HttpEndpoint:
    """A keyed MCP server's streamable HTTP endpoint, for ``serve``'s ``/mcp``.

    Stateless (any worker answers any request; nothing is kept between requests), JSON
    responses, and no checks of its own: the service's gate checks Host, Origin, the key,
    rates and sizes before a request gets here. The SDK's session manager runs within the
    app's lifespan (``async with endpoint.running():``), one for each event loop that runs
    it (a test may run one app in several).
    """

    def __init__(self, server: "MCPServer") -> None:
        self.server = server
        self._handlers: dict[asyncio.AbstractEventLoop, Any] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        handler = self._handlers.get(asyncio.get_running_loop())
        if handler is None:
            raise RuntimeError("the MCP endpoint is not running: enter HttpEndpoint.running() in the app's lifespan")
        await handler(scope, receive, send)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        from mcp.server.transport_security import TransportSecuritySettings
        from starlette.routing import Route

        gated = TransportSecuritySettings(enable_dns_rebinding_protection=False)  # the gate checks Host and Origin
        app = self.server.streamable_http_app(stateless_http=True, json_response=True, transport_security=gated)
        loop, route = asyncio.get_running_loop(), app.routes[0]  # its one route, /mcp, without its middleware
        if not isinstance(route, Route):
            raise ConfigurationError("the MCP SDK's HTTP app has no plain route at /mcp: this version is not supported")
        async with self.server.session_manager.run():
            self._handlers[loop] = route.endpoint
            try:
                yield
            finally:
                del self._handlers[loop]
