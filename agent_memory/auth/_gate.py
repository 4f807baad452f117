"""The one gate in front of everything ``agent-memory serve`` answers: ``/v1``, ``/ui`` and ``/mcp``.

A pure ASGI wrapper, so that it runs before any route reads or parses a byte of the
body. For each request, in this order:

1. ``Host`` must name this server (:func:`host_allowed`: a bare name, as a proxy on
   80/443 sends it, or ``name:port``), else 400; an ``Origin``, when the request has
   one, must name it too, else 403 (DNS rebinding, a page of another site).
2. The caller: ``Authorization: Bearer <key>``, or on ``/v1`` the inspector's session
   cookie, whose requests that change something must carry the session's CSRF token.
   ``/mcp`` takes only bearer keys. Without a live key: 401, before the body is read.
   Only ``/v1/health``, ``/openapi.json`` and the inspector's pages (which sign in
   themselves) are answered without one.
3. The caller's rate (requests a second per key), and how many of its requests are being
   answered (``in_flight`` per key; admin keys are not counted), else 429 with ``Retry-After``.
4. The body: at most ``max_body`` bytes (declared or streamed), else 413; all of it
   within ``body_timeout`` seconds, else 408 and the connection is closed.
5. Whatever the app raises becomes a 500 in the service's error shape, logged
   (``agent_memory.server``) with its traceback but not its message, which may quote
   a memory.
6. One access-log line (``agent_memory.access``, JSON) for every request, refused or
   not: method, route template, status, milliseconds, key id. Never text or a key.

The routes read the caller from the request's state (:func:`caller_of`).
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_memory._errors import AgentMemoryError, AuthenticationError, PermissionDeniedError, RateLimitedError
from agent_memory.auth._keys import ApiKey, KeyStore
from agent_memory.auth._limits import InFlight, RateLimiter, error_body
from agent_memory.auth._sessions import COOKIE, UNSAFE_METHODS, Sessions

__all__ = ["MCP_PATH", "PUBLIC", "Caller", "Gate", "Policy", "caller_of", "host_allowed", "hostname"]

MCP_PATH = "/mcp"
PUBLIC = frozenset({"/v1/health", "/openapi.json"})
"""The only paths answered without a key (besides the inspector's pages, which sign in themselves)."""
_UI = "/ui"
_STATE = "agent_memory.caller"  # where the caller is kept in the request's state
_access = logging.getLogger("agent_memory.access")
_log = logging.getLogger("agent_memory.server")


@dataclass(frozen=True)
class Caller:
    """Who a request comes from: its live API key, the inspector session's nonce when the key came
    from a session cookie, and the key's budget of work."""

    key: ApiKey
    session: str | None
    work: RateLimiter

    def embeds(self, texts: Iterable[str]) -> None:
        """Charge the texts a call embeds to the key's budget (:class:`RateLimitedError` past it): one
        unit a text, and one more for each further :data:`CHARS_PER_UNIT` characters, so that long
        texts cost what they cost the model."""
        self.work.check(self.key.id, sum(embedding_units(text) for text in texts))


CHARS_PER_UNIT = 500
"""Characters of text that count as one text embedded (a long memory); a longer text counts more."""


def embedding_units(text: str) -> int:
    """What embedding ``text`` costs of a key's budget of work: one per :data:`CHARS_PER_UNIT`
    characters started (an empty text too counts one)."""
    return max(1, -(-len(text) // CHARS_PER_UNIT))


def caller_of(scope: Scope) -> Caller:
    """The caller the gate admitted this request for, or :class:`AuthenticationError`."""
    found = scope.get("state", {}).get(_STATE)
    if not isinstance(found, Caller):
        raise AuthenticationError("this request came without an API key")
    return found


@dataclass(frozen=True)
class Policy:
    """What the gate checks against: the keys and sessions, the limits, and the names of this server."""

    keys: KeyStore
    sessions: Sessions
    requests: RateLimiter
    work: RateLimiter
    hosts: tuple[str, ...]
    max_body: int
    body_timeout: float
    in_flight: InFlight


def hostname(value: str) -> str:
    """The name in a ``Host`` header or an allowed host, without its port: ``[::1]:8080`` is ``[::1]``."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end > 0 else ""
    return value.rpartition(":")[0] if value.count(":") == 1 else value


def host_allowed(name: str, allowed: Sequence[str]) -> bool:
    """Whether a host name is one of ``allowed`` (``*`` is any, ``*.example.com`` any below it)."""
    for pattern in allowed:
        pattern = hostname(pattern)
        if pattern == "*" or pattern == name or (pattern.startswith("*.") and name.endswith(pattern[1:])):
            return bool(name)
    return False


class _Refusal(Exception):
    """An answer the gate gives instead of the app's."""

    def __init__(self, status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.headers = status, kind, headers or {}

    @classmethod
    def of(cls, exc: AgentMemoryError) -> _Refusal:
        """The answer to a failed check of the caller: 401 (no live key), 403 (CSRF), 429 (rate)."""
        if isinstance(exc, RateLimitedError):
            return cls(429, "RateLimitedError", str(exc), {"Retry-After": str(exc.retry_after)})
        if isinstance(exc, AuthenticationError):
            return cls(401, "AuthenticationError", str(exc), {"WWW-Authenticate": "Bearer"})
        return cls(403 if isinstance(exc, PermissionDeniedError) else 400, type(exc).__name__, str(exc))


class Gate:
    """The ASGI app that checks every request before ``app`` sees it (see the module's docstring).
    ``routes`` name the route template of a refused request in the access log."""

    def __init__(self, app: ASGIApp, policy: Policy, routes: Sequence[BaseRoute] = ()) -> None:
        self.app, self.policy, self.routes = app, policy, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # nothing here speaks it
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange, started, entered = _Exchange(receive, send, self.policy), time.perf_counter(), None
        try:
            entered = self._enter(self._admit(scope))
            exchange.check_declared_size(scope)
            await self.app(scope, exchange.receive, exchange.send)
            if exchange.refusal is not None:
                raise exchange.refusal
        except _Refusal as refusal:
            await exchange.refuse(refusal)
        except AgentMemoryError as exc:  # the caller's checks: key, CSRF, rate
            await exchange.refuse(_Refusal.of(exc))
        except Exception as exc:  # noqa: BLE001 (whatever escapes the app is answered here, and logged)
            await self._failed(scope, exchange, exc)
        finally:
            if entered is not None:
                self.policy.in_flight.leave(entered)
            self._log_access(scope, exchange.status, started)

    def _admit(self, scope: Scope) -> Caller | None:
        """Check ``Host``, ``Origin``, the caller's key and its rate; keep the caller in the state."""
        headers = Headers(scope=scope)
        if not host_allowed(hostname(headers.get("host", "")), self.policy.hosts):
            raise _Refusal(400, "InvalidHost", "this server does not answer to that Host")
        origin = headers.get("origin")
        if origin is not None and not host_allowed(_origin_host(origin), self.policy.hosts):
            raise _Refusal(403, "InvalidOrigin", "requests from that Origin are refused")
        caller = self._caller(scope, headers)
        if caller is not None:
            scope.setdefault("state", {})[_STATE] = caller
            self.policy.requests.check(caller.key.id)
        return caller

    def _enter(self, caller: Caller | None) -> str | None:
        """Count the request against its key's requests in flight (429 over the limit); the key id, if counted.
        An admin key is not counted: it is the operator's, and serves many users (a backend's)."""
        if caller is None or caller.key.admin or not self.policy.in_flight.enter(caller.key.id):
            return None
        return caller.key.id

    def _caller(self, scope: Scope, headers: Headers) -> Caller | None:
        """The request's caller; ``None`` where none is needed (the public paths, the inspector's pages)."""
        path, method = scope["path"], scope["method"]
        if path in PUBLIC:
            return None
        bearer, cookie = headers.get("authorization"), cookie_parser(headers.get("cookie", "")).get(COOKIE)
        if path == _UI or path.startswith(f"{_UI}/"):  # pages show the sign-in form to a stranger
            if bearer is None and cookie is not None and method not in UNSAFE_METHODS:
                try:
                    return self._session(cookie, method, None)
                except AuthenticationError:
                    return None
            return None
        if bearer is not None or cookie is None or path == MCP_PATH or path.startswith(f"{MCP_PATH}/"):
            key = bearer[7:] if bearer is not None and bearer[:7].lower() == "bearer " else None
            return Caller(self.policy.keys.authenticate(key), None, self.policy.work)
        return self._session(cookie, method, headers.get("x-csrf-token"))

    def _session(self, cookie: str, method: str, csrf: str | None) -> Caller:
        """The caller of an inspector session; what changes something must carry its CSRF token."""
        key, nonce = self.policy.sessions.resolve(cookie)
        if method in UNSAFE_METHODS:
            self.policy.sessions.check_csrf(nonce, csrf)
        return Caller(key, nonce, self.policy.work)

    async def _failed(self, scope: Scope, exchange: _Exchange, exc: Exception) -> None:
        """The app raised: the gate's own refusal if it cut the body short, else a logged 500."""
        if exchange.refusal is not None:
            await exchange.refuse(exchange.refusal)
            return
        _log.error("%s %s failed:\n%s", scope["method"], self._route(scope), _trace(exc))
        message = "the server failed to answer this request; the error is in its log"
        await exchange.refuse(_Refusal(500, "InternalError", message))

    def _log_access(self, scope: Scope, status: int | None, started: float) -> None:
        caller = scope.get("state", {}).get(_STATE)
        line = {
            "method": scope["method"],
            "route": self._route(scope),
            "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 2),
            "key": caller.key.id if isinstance(caller, Caller) else None,
        }
        _access.info(json.dumps(line))

    def _route(self, scope: Scope) -> str:
        """The route template of the request (never its path, which may hold anything)."""
        route = scope.get("route")
        if route is None:
            route = next((r for r in self.routes if r.matches(scope)[0] is not Match.NONE), None)
        return str(getattr(route, "path", "(none)"))


class _Exchange:
    """One request as the gate passes it on: its body read within the limits, and the status the
    client got. Once the gate refuses the body, what the app answers is dropped for the refusal."""

    def __init__(self, receive: Receive, send: Send, policy: Policy) -> None:
        self._receive, self._send, self.policy = receive, send, policy
        self.deadline = time.monotonic() + policy.body_timeout
        self.seen, self.complete = 0, False
        self.refusal: _Refusal | None = None
        self.status: int | None = None  # once the response has started

    def check_declared_size(self, scope: Scope) -> None:
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.policy.max_body:
            raise self._too_large()

    async def receive(self) -> Message:
        if self.refusal is not None:
            raise self.refusal  # the app reads no more of a refused body
        if self.complete:
            return await self._receive()  # the body is in: waiting for a disconnect is not bounded
        try:
            with anyio.fail_after(max(0.0, self.deadline - time.monotonic())):
                message = await self._receive()
        except TimeoutError:
            seconds = self.policy.body_timeout
            self.refusal = _Refusal(408, "RequestTimeout", f"the request body did not arrive within {seconds:g} s")
            raise self.refusal from None
        self.seen += len(message.get("body", b""))
        if self.seen > self.policy.max_body:  # the app never sees the rest; its answer becomes the 413
            self.refusal = self._too_large()
            raise self.refusal
        self.complete = message["type"] != "http.request" or not message.get("more_body", False)
        return message

    async def send(self, message: Message) -> None:
        if self.refusal is not None:
            return
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self._send(message)

    async def refuse(self, refusal: _Refusal) -> None:
        """Answer with ``refusal`` (in the error shape), unless an answer has started already; the
        connection is closed after it, since the client may still be sending a body."""
        if self.status is not None:
            return
        payload = json.dumps(error_body(refusal.status, refusal.kind, str(refusal))).encode()
        headers = {**refusal.headers, "content-type": "application/json", "connection": "close"}
        headers["content-length"] = str(len(payload))
        self.status = refusal.status
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        await self._send({"type": "http.response.start", "status": refusal.status, "headers": raw})
        await self._send({"type": "http.response.body", "body": payload})

    def _too_large(self) -> _Refusal:
        return _Refusal(413, "RequestTooLarge", f"request body over {self.policy.max_body} bytes")


def _origin_host(origin: str) -> str:
    """The host name of an ``Origin`` header; empty for ``null`` or anything but http(s)."""
    parts = urlsplit(origin.strip())
    return hostname(parts.netloc) if parts.scheme in ("http", "https") else ""


def _trace(exc: BaseException) -> str:
    """``exc``'s traceback, and those of the exceptions it was raised from or while handling, with
    each exception's type but not its message (a message may quote a memory's text)."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(parts) < 8:
        kind = f"{type(current).__module__}.{type(current).__qualname__} (message not logged)"
        parts.append("".join(traceback.format_tb(current.__traceback__)) + kind)
        current = current.__cause__ or current.__context__
    return "\n-- raised while handling, or from --\n".join(parts)
