"""``agent-memory serve``: the memory API over HTTP (FastAPI on uvicorn), authenticated by API keys.

Every route but ``GET /v1/health`` needs ``Authorization: Bearer <key>``
(:mod:`agent_memory.auth._keys`). The user of a call is the key's; a request may name
a ``user_id`` only to repeat it, or, with an admin key, to choose it (then it
must). A key bound to an agent writes as that agent, and sees only that agent's
memories. Errors have one shape, ``{"error": {"type", "message", "status"}}``,
whose ``type`` is the library's exception name (:data:`STATUS` maps it to the
HTTP status). Request bodies are limited in size, each key in rate, and the
access log (logger ``agent_memory.access``, one JSON object a request) never
holds memory text or keys.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

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
from agent_memory._system import MemorySystem
from agent_memory._types import Memory
from agent_memory.auth._keys import ApiKey, KeyStore
from agent_memory.auth._limits import BodyLimit, RateLimiter, error_body
from agent_memory.auth._sessions import COOKIE, UNSAFE_METHODS, Sessions
from agent_memory.extraction._extractor import Extractor
from agent_memory.extraction._openai_chat import configured_extractor
from agent_memory.server._models import (
    Changes,
    Deleted,
    Events,
    Expiry,
    Health,
    Hits,
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
from agent_memory.server._ui import add_inspector

__all__ = ["SERVE_ENV", "STATUS", "ServiceSettings", "app_from_environment", "create_app"]

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

_access = logging.getLogger("agent_memory.access")


@dataclass(frozen=True)
class ServiceSettings:
    """Limits of the service: request body bytes, requests per second (and burst) per key, the
    ``Host`` names it answers to, and the threads its store and model calls run in."""

    max_body_bytes: int = 1_000_000
    rate_per_second: float = 50.0
    rate_burst: int = 100
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]")
    workers: int = 8  # threads for store and model calls (the event loop never makes them)


SERVE_ENV = "AGENT_MEMORY_SERVE"
"""The environment variable through which ``agent-memory serve`` hands its settings to each worker."""


def app_from_environment() -> FastAPI:
    """One ``serve`` worker's app, from the settings the command put in :data:`SERVE_ENV` (uvicorn's
    ``factory``: each worker process opens its own store client and model)."""
    config = json.loads(os.environ[SERVE_ENV])
    access = logging.getLogger("agent_memory.access")
    if not access.handlers:
        access.addHandler(logging.StreamHandler(sys.stderr))
        access.setLevel(logging.INFO)
    memory = MemorySystem(**config["memory"])
    secret = bytes.fromhex(config["session_secret"]) if config.get("session_secret") else None
    memory.embedder.embed_queries(["warm-up"])  # load the model now, not on the first request
    extractor = configured_extractor(config["llm"]["model"], config["llm"]["base_url"])
    settings = ServiceSettings(**{**config["settings"], "allowed_hosts": tuple(config["settings"]["allowed_hosts"])})
    keys = KeyStore(config["keys"])
    return create_app(
        memory, keys, extractor=extractor, settings=settings, ui=config.get("ui", True), session_secret=secret
    )


def create_app(
    memory: MemorySystem,
    keys: KeyStore,
    *,
    extractor: Extractor | None = None,
    settings: ServiceSettings = ServiceSettings(),  # frozen
    ui: bool = True,
    session_secret: bytes | None = None,
) -> FastAPI:
    """The service's ASGI app over ``memory``; ``POST /v1/remember`` exists only with an ``extractor``.
    With ``ui``, the inspector is at ``/ui`` (:mod:`agent_memory.server._ui`); its session cookies are
    signed with ``session_secret`` (random when not given: give every worker the same one)."""

    calls = AsyncMemorySystem(sync=memory, max_workers=settings.workers)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        yield
        await calls.aclose()  # after uvicorn has let the requests in flight finish
        memory.close()

    app = FastAPI(title="agent-memory", version="1", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.keys, app.state.limiter = keys, RateLimiter(settings.rate_per_second, settings.rate_burst)
    app.state.sessions = Sessions(keys, session_secret)
    _routes(app, calls, extractor)
    if ui:
        add_inspector(app, calls, status_of)
    _error_handlers(app)
    app.middleware("http")(_log_access)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    return app


def _caller(request: Request) -> ApiKey:
    """The API key of the request (401 without a live one), counted against its rate: the
    ``Authorization`` header's, else the inspector's session cookie's, whose requests that
    change something must carry the session's CSRF token."""
    header = request.headers.get("authorization", "")
    if header or COOKIE not in request.cookies:
        key = request.app.state.keys.authenticate(header[7:] if header[:7].lower() == "bearer " else None)
    else:
        sessions: Sessions = request.app.state.sessions
        key, nonce = sessions.resolve(request.cookies[COOKIE])
        if request.method in UNSAFE_METHODS:
            sessions.check_csrf(nonce, request.headers.get("x-csrf-token"))
    request.state.key_id = key.id
    request.app.state.limiter.check(key.id)
    return key  # type: ignore[no-any-return]


Caller = Annotated[ApiKey, Depends(_caller)]
InScope = Annotated[Scoped, Depends()]


def _routes(app: FastAPI, memory: AsyncMemorySystem, extractor: Extractor | None) -> None:
    @app.get("/v1/health", response_model=Health, tags=["service"])
    async def health() -> Health:
        """Liveness; needs no key."""
        return Health(status="ok")

    @app.post("/v1/memories", response_model=Memories, status_code=201, tags=["memories"])
    async def store(body: NewMemories, key: Caller) -> Memories:
        """Store one text or many; a text the scope already holds returns the existing memory."""
        user, agent = key.user_for(body.user_id), _agent(key, body.agent_id)
        texts = body.texts if body.texts is not None else [body.text or ""]
        stored = await memory.store_memories(
            texts, user_id=user, metadatas=body.metadatas, agent_id=agent, session_id=body.session_id, actor=key.actor()
        )
        return Memories(memories=[MemoryOut.of(m) for m in stored])

    @app.get("/v1/memories", response_model=Memories, tags=["memories"])
    async def list_memories(
        key: Caller,
        scope: InScope,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
        session_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        tz: str = "UTC",
        order: str = "oldest",
        as_of: str | None = None,
        include_expired: bool = False,
    ) -> Memories:
        """The caller's memories, oldest first, ``limit`` at a time from ``offset``."""
        found = await memory.list_memories(
            user_id=key.user_for(scope.user_id),
            agent_id=_agent(key, scope.agent_id),
            session_id=session_id,
            limit=limit,
            offset=offset,
            since=since,
            until=until,
            tz=tz,
            order=order,
            as_of=as_of,
            include_expired=include_expired,
        )
        return Memories(memories=[MemoryOut.of(m) for m in found])

    @app.get("/v1/memories/{memory_id}", response_model=MemoryOut, tags=["memories"])
    async def get(memory_id: str, key: Caller, scope: InScope) -> MemoryOut:
        """One memory by id (404 for another user's)."""
        return MemoryOut.of(await _owned(memory, memory_id, key, scope.user_id))

    @app.patch("/v1/memories/{memory_id}", response_model=MemoryOut, tags=["memories"])
    async def update(memory_id: str, body: Patch, key: Caller) -> MemoryOut:
        """Replace a memory's text (re-embedded) and/or metadata, keeping its id."""
        user = (await _owned(memory, memory_id, key, body.user_id)).user_id
        changed = await memory.update_memory(
            memory_id, user_id=user, text=body.text, metadata=body.metadata, actor=key.actor()
        )
        return MemoryOut.of(changed)

    @app.post("/v1/memories/{memory_id}/expire", response_model=MemoryOut, tags=["memories"])
    async def expire(memory_id: str, body: Expiry, key: Caller) -> MemoryOut:
        """End a memory's validity (``at``, default now) without erasing it: it leaves default reads,
        ``as_of`` an earlier time still finds it, and ``/restore`` undoes it."""
        user = (await _owned(memory, memory_id, key, body.user_id)).user_id
        return MemoryOut.of(await memory.expire_memory(memory_id, user_id=user, at=body.at, actor=key.actor()))

    @app.post("/v1/memories/{memory_id}/restore", response_model=MemoryOut, tags=["memories"])
    async def restore(memory_id: str, body: Owner, key: Caller) -> MemoryOut:
        """Undo an expiry: the memory holds again."""
        user = (await _owned(memory, memory_id, key, body.user_id)).user_id
        return MemoryOut.of(await memory.restore_memory(memory_id, user_id=user, actor=key.actor()))

    @app.delete("/v1/memories/{memory_id}", status_code=204, tags=["memories"])
    async def delete(memory_id: str, key: Caller, scope: InScope) -> Response:
        """Delete one memory (404 when the caller has none with that id)."""
        user = (await _owned(memory, memory_id, key, scope.user_id)).user_id
        await memory.delete_memory(memory_id, user_id=user, actor=key.actor())
        return Response(status_code=204)

    @app.delete("/v1/memories", response_model=Deleted, tags=["memories"])
    async def delete_all(key: Caller, scope: InScope, confirm: bool = False) -> Deleted:
        """Delete all of the caller's memories (of its agent, for an agent's key); needs ``confirm=true``."""
        if not confirm:
            raise _ConfirmationRequired("deleting all memories needs confirm=true")
        user, agent = key.user_for(scope.user_id), _agent(key, scope.agent_id)
        return Deleted(deleted=await memory.delete_all_memories(user_id=user, agent_id=agent, actor=key.actor()))

    @app.post("/v1/search", response_model=Hits, tags=["search"])
    async def search(body: Recall, key: Caller) -> Hits:
        """The caller's memories most relevant to ``query``, best first (scores in [0, 1])."""
        hits = await memory.search_memory(
            body.query,
            user_id=key.user_for(body.user_id),
            agent_id=_agent(key, body.agent_id),
            session_id=body.session_id,
            top_k=body.top_k,
            task=body.task,
            filters=body.filters,
            min_score=body.min_score,
            mode=body.mode,
            since=body.since,
            until=body.until,
            tz=body.tz,
            as_of=body.as_of,
            include_expired=body.include_expired,
            time_aware=body.time_aware,
            now=body.now,
        )
        return Hits.of(hits)

    @app.get("/v1/memories/{memory_id}/history", response_model=Events, tags=["memories"])
    async def history(memory_id: str, key: Caller, scope: InScope) -> Events:
        """Every change to one of the caller's memories, oldest first (also after it was deleted;
        for a key bound to an agent, only while the memory exists and is that agent's)."""
        if key.agent_id is not None:
            await _owned(memory, memory_id, key, scope.user_id)
        events = await memory.history(memory_id, user_id=key.user_for(scope.user_id))
        return Events(events=[e.to_dict() for e in events])

    @app.get("/v1/stats", response_model=Stats, tags=["service"])
    async def stats(key: Caller, scope: InScope) -> Stats:
        """How many memories the caller has (an agent's key: that agent's; an admin key without a
        user: every user's count)."""
        if key.admin and scope.user_id is None:
            whole = await memory.stats()
            return Stats(memories=whole.total, users=whole.users)
        user = key.user_for(scope.user_id)
        count = await memory.count(user_id=user, agent_id=key.agent_id)  # an agent's key: that agent's only
        return Stats(memories=count, users={user: count})

    if extractor is not None:

        @app.post("/v1/remember", response_model=Changes, tags=["memories"])
        async def remember(body: RememberRequest, key: Caller) -> Changes:
            """Store the lasting facts of a conversation, reconciled with what is remembered."""
            changes = await memory.remember(
                [m.model_dump(exclude_none=True) for m in body.messages],
                user_id=key.user_for(body.user_id),
                extractor=extractor,
                agent_id=_agent(key, body.agent_id),
                session_id=body.session_id,
                actor=key.actor(),
            )
            return Changes(changes=[c.to_dict() for c in changes])


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


async def _log_access(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """One JSON line a request: method, route (its template, not the path), status, time, key id."""
    start = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    _access.info(
        json.dumps(
            {
                "method": request.method,
                "route": getattr(route, "path", "(none)"),
                "status": response.status_code,
                "ms": round((time.perf_counter() - start) * 1000, 2),
                "key": getattr(request.state, "key_id", None),
            }
        )
    )
    return response
