"""``agent-memory serve``: the memory API over HTTP (FastAPI on uvicorn), authenticated by API keys.

One app answers ``/v1`` (this module's routes), ``/ui`` (the inspector) and ``/mcp``
(the MCP tools, :mod:`agent_memory.mcp._server`), behind one gate
(:mod:`agent_memory.auth._gate`) that checks Host and Origin, the API key
(``Authorization: Bearer <key>``, :mod:`agent_memory.auth._keys`) before any body is
read, each key's rate, body sizes and read times, and writes the access log (logger
``agent_memory.access``, one JSON object a request, never memory text or keys).

The user of a call is the key's; a request may name a ``user_id`` only to repeat it,
or, with an admin key, to choose it (then it must). A key bound to an agent writes as
that agent, and sees only that agent's memories. Routes that embed charge each key's
budget of work (texts embedded a second). Errors have one shape, ``{"error": {"type",
"message", "status"}}``, whose ``type`` is the library's exception name (:data:`STATUS`
maps it to the HTTP status); anything unexpected is a logged 500 in that shape.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route
from starlette.types import ASGIApp

from agent_memory._async import AsyncMemorySystem
from agent_memory._errors import (
    AgentMemoryError,
    AuthenticationError,
    ConfigurationError,
    EmbedderMismatchError,
    EmbeddingError,
    ExtractionError,
    MemoryNotFoundError,
    ModelNotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    StoreError,
    ValidationError,
)
from agent_memory._options import LIST, SEARCH, STORE, named
from agent_memory._system import MemorySystem
from agent_memory._types import Memory
from agent_memory._validation import check_json
from agent_memory.auth._gate import MCP_PATH, Gate, Policy, caller_of
from agent_memory.auth._keys import ApiKey, KeyStore
from agent_memory.auth._limits import InFlight, RateLimiter, error_body
from agent_memory.auth._sessions import Sessions
from agent_memory.extraction._extractor import Extractor
from agent_memory.extraction._openai_chat import configured_extractor
from agent_memory.mcp._server import HttpEndpoint, HttpOptions, create_mcp_server
from agent_memory.server._listen import SlowClientProtocol
from agent_memory.server._models import (
    Changes,
    Deleted,
    Events,
    Expiry,
    Health,
    Hits,
    Listing,
    Memories,
    MemoryOut,
    NewMemories,
    Owner,
    Patch,
    Recall,
    RememberRequest,
    Scoped,
    Stats,
)
from agent_memory.server._settings import SERVE_ENV, ServiceSettings
from agent_memory.server._ui import add_inspector

__all__ = ["REMEMBER", "ROUTES", "SERVE_ENV", "STATUS", "ServiceSettings", "app_from_environment", "create_app"]

STATUS: dict[type[AgentMemoryError], int] = {
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    RateLimitedError: 429,
    MemoryNotFoundError: 404,
    EmbedderMismatchError: 409,
    ValidationError: 422,
    ConfigurationError: 400,
    EmbeddingError: 503,
    ExtractionError: 503,
    ModelNotFoundError: 503,
    StoreError: 503,
}
"""The HTTP status of each library error (the nearest listed base class decides)."""
_DEFAULTS, _MCP_DEFAULTS = ServiceSettings(), HttpOptions()


def app_from_environment() -> FastAPI:
    """One ``serve`` worker's app, from the settings the command put in :data:`SERVE_ENV` (uvicorn's
    ``factory``: each worker process opens its own store client and model)."""
    config = json.loads(os.environ[SERVE_ENV])
    for name in ("agent_memory.access", "agent_memory.server", "agent_memory.auth"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(logging.StreamHandler(sys.stderr))
            logger.setLevel(logging.INFO)
    memory = MemorySystem(**config["memory"])
    secret = bytes.fromhex(config["session_secret"]) if config.get("session_secret") else None
    memory.warm_up()  # the model loads now, not on the first request
    extractor = configured_extractor(config["llm"]["model"], config["llm"]["base_url"])
    settings = ServiceSettings(**{**config["settings"], "allowed_hosts": tuple(config["settings"]["allowed_hosts"])})
    SlowClientProtocol.header_timeout = settings.header_timeout  # this worker's connections
    mcp = HttpOptions(**config["mcp"]) if config.get("mcp") is not None else None
    return create_app(
        memory,
        KeyStore(config["keys"]),
        extractor=extractor,
        settings=settings,
        ui=config.get("ui", True),
        session_secret=secret,
        mcp=mcp,
    )


def create_app(
    memory: MemorySystem,
    keys: KeyStore,
    *,
    extractor: Extractor | None = None,
    settings: ServiceSettings = _DEFAULTS,
    ui: bool = True,
    session_secret: bytes | None = None,
    mcp: HttpOptions | None = _MCP_DEFAULTS,
) -> FastAPI:
    """The service's ASGI app over ``memory``; ``POST /v1/remember`` exists only with an ``extractor``.
    With ``ui``, the inspector is at ``/ui`` (:mod:`agent_memory.server._ui`); its session cookies are
    signed with ``session_secret`` (random when not given: give every worker the same one). With
    ``mcp``, the MCP tools are at ``/mcp``, each call acting for its request's key."""

    calls = AsyncMemorySystem(sync=memory, max_workers=settings.workers)
    endpoint = None
    if mcp is not None:
        endpoint = HttpEndpoint(create_mcp_server(memory, keyed=True, extractor=extractor, **vars(mcp)))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        async with AsyncExitStack() as running:
            if endpoint is not None:
                await running.enter_async_context(endpoint.running())
            yield
        await calls.aclose()  # after uvicorn has let the requests in flight finish
        memory.close()

    app = _Service(title="agent-memory", version="1", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.keys, app.state.sessions = keys, Sessions(keys, session_secret)
    app.state.limiter = RateLimiter(settings.rate_per_second, settings.rate_burst)
    app.state.logins = RateLimiter(settings.logins_per_minute / 60, settings.logins_per_minute, unit="sign-ins")
    work = RateLimiter(settings.embed_per_second, settings.embed_burst, unit="texts embedded")
    app.state.policy = Policy(
        keys, app.state.sessions, app.state.limiter, work, settings.allowed_hosts, settings.max_body_bytes,
        settings.body_timeout, InFlight(settings.in_flight_per_key),
    )  # fmt: skip
    app.state.memory, app.state.extractor = calls, extractor
    _routes(app, extractor)
    if ui:
        add_inspector(app, calls, status_of)
    if endpoint is not None:
        app.router.routes.append(Route(MCP_PATH, endpoint, include_in_schema=False))
    _error_handlers(app)
    return app


class _Service(FastAPI):
    """FastAPI behind the gate: the gate wraps even FastAPI's own error handling, so that nothing
    reaches a route before its checks and it sees (and logs) whatever escapes."""

    def build_middleware_stack(self) -> ASGIApp:
        return Gate(super().build_middleware_stack(), self.state.policy, self.router.routes)


def _caller(request: Request) -> ApiKey:
    """The API key the gate admitted the request with (checked, and counted against its rate)."""
    return caller_of(request.scope).key


def _work(request: Request) -> Callable[[Iterable[str]], None]:
    """Charges the caller's budget of work with the texts a call embeds (429 past it)."""
    return caller_of(request.scope).embeds


def _calls(request: Request) -> AsyncMemorySystem:
    return request.app.state.memory  # type: ignore[no-any-return]


Caller = Annotated[ApiKey, Depends(_caller)]
Work = Annotated[Callable[[Iterable[str]], None], Depends(_work)]
Calls = Annotated[AsyncMemorySystem, Depends(_calls)]
InScope = Annotated[Scoped, Depends()]


def _acting(key: ApiKey, options: dict[str, Any]) -> dict[str, Any]:
    """A call's options as the key may send them: its agent (a key bound to one acts as it), and the
    actor the history records, through the key."""
    acting = {**options, "agent_id": _agent(key, options.get("agent_id"))}
    if "actor" in options:
        acting["actor"] = key.actor(options["actor"])
    return acting


async def health() -> Health:
    """Liveness; needs no key."""
    return Health(status="ok")


async def store(body: NewMemories, key: Caller, work: Work, memory: Calls) -> Memories:
    """Store one text or many; a text the scope already holds returns the existing memory."""
    texts = body.texts if body.texts is not None else [body.text or ""]
    options = _acting(key, named(STORE, body))
    work(texts)
    stored = await memory.store_memories(texts, user_id=key.user_for(body.user_id), metadatas=body.metadatas, **options)
    return Memories(memories=[MemoryOut.of(m) for m in stored])


async def list_memories(listing: Annotated[Listing, Query()], key: Caller, memory: Calls) -> Memories:
    """The caller's memories, oldest first, ``limit`` at a time from ``offset`` (every list option)."""
    options = _acting(key, named(LIST, listing)) | {
        "limit": listing.limit,
        "filters": check_json(listing.filters, "filters"),
    }
    found = await memory.list_memories(user_id=key.user_for(listing.user_id), **options)
    return Memories(memories=[MemoryOut.of(m) for m in found])


async def get(memory_id: str, key: Caller, scope: InScope, memory: Calls) -> MemoryOut:
    """One memory by id (404 for another user's)."""
    return MemoryOut.of(await _owned(memory, memory_id, key, scope.user_id))


async def update(memory_id: str, body: Patch, key: Caller, work: Work, memory: Calls) -> MemoryOut:
    """Replace a memory's text (re-embedded) and/or metadata, keeping its id."""
    user = (await _owned(memory, memory_id, key, body.user_id)).user_id
    work([] if body.text is None else [body.text])
    changed = await memory.update_memory(
        memory_id, user_id=user, text=body.text, metadata=body.metadata, actor=key.actor()
    )
    return MemoryOut.of(changed)


async def expire(memory_id: str, body: Expiry, key: Caller, memory: Calls) -> MemoryOut:
    """End a memory's validity (``at``, default now) without erasing it: it leaves default reads,
    ``as_of`` an earlier time still finds it, and ``/restore`` undoes it."""
    user = (await _owned(memory, memory_id, key, body.user_id)).user_id
    return MemoryOut.of(await memory.expire_memory(memory_id, user_id=user, at=body.at, actor=key.actor()))


async def restore(memory_id: str, body: Owner, key: Caller, memory: Calls) -> MemoryOut:
    """Undo an expiry: the memory holds again."""
    user = (await _owned(memory, memory_id, key, body.user_id)).user_id
    return MemoryOut.of(await memory.restore_memory(memory_id, user_id=user, actor=key.actor()))


async def delete(memory_id: str, key: Caller, scope: InScope, memory: Calls) -> Response:
    """Delete one memory (404 when the caller has none with that id)."""
    user = (await _owned(memory, memory_id, key, scope.user_id)).user_id
    await memory.delete_memory(memory_id, user_id=user, actor=key.actor())
    return Response(status_code=204)


async def delete_all(key: Caller, scope: InScope, memory: Calls, confirm: bool = False) -> Deleted:
    """Delete all of the caller's memories (of its agent, for an agent's key); needs ``confirm=true``."""
    if not confirm:
        raise _ConfirmationRequired("deleting all memories needs confirm=true")
    user, agent = key.user_for(scope.user_id), _agent(key, scope.agent_id)
    return Deleted(deleted=await memory.delete_all_memories(user_id=user, agent_id=agent, actor=key.actor()))


async def search(body: Recall, key: Caller, work: Work, memory: Calls) -> Hits:
    """The caller's memories most relevant to ``query``, best first (scores in [0, 1]; every search option)."""
    options = _acting(key, named(SEARCH, body))
    work([body.query])
    return Hits.of(await memory.search_memory(body.query, user_id=key.user_for(body.user_id), **options))


async def history(memory_id: str, key: Caller, scope: InScope, memory: Calls) -> Events:
    """Every change to one of the caller's memories, oldest first (also after it was deleted;
    for a key bound to an agent, only while the memory exists and is that agent's)."""
    if key.agent_id is not None:
        await _owned(memory, memory_id, key, scope.user_id)
    events = await memory.history(memory_id, user_id=key.user_for(scope.user_id))
    return Events(events=[e.to_dict() for e in events])


async def stats(key: Caller, scope: InScope, memory: Calls) -> Stats:
    """How many memories the caller has (an agent's key: that agent's; an admin key without a
    user: every user's count)."""
    if key.admin and scope.user_id is None:
        whole = await memory.stats()
        return Stats(memories=whole.total, users=whole.users)
    user = key.user_for(scope.user_id)
    count = await memory.count(user_id=user, agent_id=key.agent_id)  # an agent's key: that agent's only
    return Stats(memories=count, users={user: count})


async def remember(body: RememberRequest, key: Caller, work: Work, memory: Calls, request: Request) -> Changes:
    """Store the lasting facts of a conversation, reconciled with what is remembered."""
    user, agent = key.user_for(body.user_id), _agent(key, body.agent_id)
    work([m.content for m in body.messages])
    changes = await memory.remember(
        [m.model_dump(exclude_none=True) for m in body.messages],
        user_id=user,
        extractor=request.app.state.extractor,
        agent_id=agent,
        session_id=body.session_id,
        actor=key.actor(),
    )
    return Changes(changes=[c.to_dict() for c in changes])


@dataclass(frozen=True)
class _Route:
    method: str
    path: str
    handler: Callable[..., Any]
    model: Any = None
    status: int = 200
    tag: str = "memories"


ROUTES = (
    _Route("GET", "/v1/health", health, Health, tag="service"),
    _Route("POST", "/v1/memories", store, Memories, 201),
    _Route("GET", "/v1/memories", list_memories, Memories),
    _Route("GET", "/v1/memories/{memory_id}", get, MemoryOut),
    _Route("PATCH", "/v1/memories/{memory_id}", update, MemoryOut),
    _Route("POST", "/v1/memories/{memory_id}/expire", expire, MemoryOut),
    _Route("POST", "/v1/memories/{memory_id}/restore", restore, MemoryOut),
    _Route("DELETE", "/v1/memories/{memory_id}", delete, None, 204),
    _Route("DELETE", "/v1/memories", delete_all, Deleted),
    _Route("POST", "/v1/search", search, Hits, tag="search"),
    _Route("GET", "/v1/memories/{memory_id}/history", history, Events),
    _Route("GET", "/v1/stats", stats, Stats, tag="service"),
)
"""The ``/v1`` API, one row a route (``POST /v1/remember`` is added when there is an extractor)."""
REMEMBER = _Route("POST", "/v1/remember", remember, Changes)


def _routes(app: FastAPI, extractor: Extractor | None) -> None:
    for route in ROUTES if extractor is None else (*ROUTES, REMEMBER):
        model = {} if route.model is None else {"response_model": route.model}
        add = app.api_route(route.path, methods=[route.method], status_code=route.status, tags=[route.tag], **model)
        add(route.handler)


def _agent(key: ApiKey, requested: str | None) -> str | None:
    """The agent a call acts as: the key's, if it has one (another one is refused)."""
    if key.agent_id is None:
        return requested
    if requested not in (None, key.agent_id):
        raise PermissionDeniedError("this key may not act as another agent")
    return key.agent_id


async def _owned(memory: AsyncMemorySystem, memory_id: str, key: ApiKey, requested_user: str | None) -> Memory:
    """The caller's memory with this id, or :class:`MemoryNotFoundError` (also for another agent's)."""
    user = key.user_for(requested_user)
    found = await memory.get_memory(memory_id, user_id=user)
    if found is None or (key.agent_id is not None and found.agent_id != key.agent_id):
        raise MemoryNotFoundError(f"no memory {memory_id!r} for this caller")
    return found


class _ConfirmationRequired(AgentMemoryError):
    """A destructive call without ``confirm=true``."""


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, kind, message), status_code=status, headers=headers)


def status_of(exc: AgentMemoryError) -> int:
    """The HTTP status of a library error (:data:`STATUS`; 400 for anything unlisted)."""
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AgentMemoryError)
    async def library_error(_: Request, exc: AgentMemoryError) -> JSONResponse:
        status = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, RateLimitedError):
            headers = {"Retry-After": str(exc.retry_after)}
        return _error(status, type(exc).__name__.lstrip("_"), str(exc), headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
        return _error(exc.status_code, kind, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _error(422, "ValidationError", where)

    @app.exception_handler(Exception)
    async def failed(_: Request, exc: Exception) -> JSONResponse:
        """Anything unexpected: a 500 in the error shape (the gate logs it, without its message)."""
        return _error(500, "InternalError", "the server failed to answer this request; the error is in its log")
