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
import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field
from pydantic.fields import FieldInfo

from agent_memory._errors import (
    AgentMemoryError,
    AuthenticationError,
    ConfigurationError,
    PermissionDeniedError,
)
from agent_memory._system import MemorySystem
from agent_memory._validation import check_user_id
from agent_memory.auth._keys import ApiKey, KeyStore
from agent_memory.auth._limits import allowed_hosts as names_for
from agent_memory.extraction._extractor import Extractor
from agent_memory.tools import MemoryTool, memory_tools, tool_error_message

if TYPE_CHECKING:
    from mcp.server.auth.provider import AccessToken
    from mcp.server.mcpserver import MCPServer

__all__ = ["create_mcp_server", "run_http"]

_INSTRUCTIONS = (
    "Long-term memory about the user. Search it before answering questions that may depend on what "
    "the user said before; store short, self-contained facts worth remembering (preferences, plans, "
    "names, dates); update or delete a memory when the user corrects or retracts it."
)
_USER = "The user whose memories this call acts on."
_ADMIN_USER = "The user to act for: only an admin key may name one (and must); a user's key acts for its own user."


def _sdk_function(
    tool: MemoryTool, user_of: Callable[[str | None], str] | None, user_param: inspect.Parameter | None
) -> Callable[..., Any]:
    """``tool`` as a function the SDK reads a tool from: its signature is ``tool.args_schema``'s
    fields (names, types, bounds, defaults and descriptions), plus ``user_param`` when given.

    ``user_of`` turns the ``user_id`` argument (``None`` when absent) into the user to act for;
    without one, the tool's user is bound already. The library's errors (bad input, unknown
    id, a key's grants) become MCP tool errors the model can read and act on.
    """
    from mcp.server.mcpserver.exceptions import ToolError

    def call(**arguments: Any) -> Any:
        try:
            if user_of is None:
                return tool.run(**arguments)
            return tool.run(user_of(arguments.pop("user_id", None)), **arguments)
        except AgentMemoryError as exc:
            raise ToolError(tool_error_message(exc)) from exc

    parameters = [_parameter(name, field) for name, field in tool.args_schema.model_fields.items()]
    if user_param is not None:
        parameters = (
            [user_param, *parameters] if user_param.default is inspect.Parameter.empty else [*parameters, user_param]
        )
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
    and acts for the key's user (:mod:`agent_memory.auth._keys`); with
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
    # The operator's scope: what the server stores is tagged with agent_id, searches see the whole user.
    options: dict[str, Any] = {"agent_id": agent_id, "extractor": extractor, "mode": mode, "tz": "UTC"}
    options |= {"actor": f"agent:{agent_id or 'mcp'}", "user_wide": True}
    if keys is None and not allow_any_user:  # the user fixed for the server's lifetime: no tool argument names one
        rendered = [_sdk_function(t, None, None) for t in memory_tools(memory, user_id=user_id, **options)]
    else:
        user_of, user_param = _user_binding(keys, allow_any_user)
        rendered = [_sdk_function(t, user_of, user_param) for t in memory_tools(memory, user_id=None, **options)]
    if keys is None:
        server = MCPServer(name, instructions=_INSTRUCTIONS)
    else:  # the SDK's bearer middleware; "issuer" is required by its settings but no OAuth server is offered
        auth = AuthSettings(issuer_url="http://127.0.0.1/agent-memory-keys", resource_server_url=None)
        server = MCPServer(name, instructions=_INSTRUCTIONS, token_verifier=_KeyVerifier(keys), auth=auth)
    for function in rendered:
        server.add_tool(function, name=function.__name__, description=function.__doc__)
    return server


def _user_binding(
    keys: KeyStore | None, allow_any_user: bool
) -> tuple[Callable[[str | None], str], inspect.Parameter | None]:
    """Who a call acts for when the server has no fixed user, and the ``user_id`` argument, if any.

    Without keys (``allow_any_user`` over stdio) every tool requires ``user_id``. With keys the
    request's key decides: its own user, or (``allow_any_user``, admin keys only) the user that
    an optional ``user_id`` names; without ``allow_any_user`` the schemas have no ``user_id``.
    """
    if keys is None:
        required = inspect.Parameter(
            "user_id", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[str, Field(description=_USER)]
        )
        return check_user_id, required
    optional = inspect.Parameter(
        "user_id",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[str | None, Field(description=_ADMIN_USER)],
    )
    return _key_user, optional if allow_any_user else None


def _key_user(user_id: str | None) -> str:
    """The user a call acts for: the request's key's own, or one an admin key names."""
    return _request_key().user_for(user_id)


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


def run_http(server: "MCPServer", *, host: str, port: int, allowed_hosts: Sequence[str] = ()) -> None:
    """Serve ``server`` over streamable HTTP at ``/mcp`` until interrupted.

    ``Host`` and ``Origin`` are always checked against DNS rebinding (see
    :func:`agent_memory.auth._limits.allowed_hosts`: a public address needs its names).
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
