"""Limits of what a caller of the HTTP service may send: body size, and requests per second per key."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_memory._errors import ConfigurationError, RateLimitedError

__all__ = ["LOOPBACK", "BodyLimit", "RateLimiter", "allowed_hosts", "error_body"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def error_body(status: int, kind: str, message: str) -> dict[str, dict[str, object]]:
    """The service's one error shape: ``{"error": {"type", "message", "status"}}``."""
    return {"error": {"type": kind, "message": message, "status": status}}


def allowed_hosts(host: str, named: Sequence[str]) -> list[str]:
    """The ``Host`` names a server listening on ``host`` accepts (DNS-rebinding protection).

    On a loopback address the loopback names (plus any named); elsewhere only the
    names given (``--allowed-host``), which must then be given: a server reachable
    from other machines must know what it is called.
    """
    names = [n.strip() for n in named if n.strip()]
    if host in LOOPBACK:
        return [*names, "127.0.0.1", "localhost", "[::1]"]
    if not names:
        raise ConfigurationError(f"listening on {host} needs the host names clients use: --allowed-host NAME")
    return names


class RateLimiter:
    """A token bucket per key: ``rate`` requests a second on average, ``burst`` at once.

    Kept in the worker's memory, so with ``--workers N`` a key may make N times the
    rate in all; the README says so.
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key_id: str) -> None:
        """Take one request from the key's bucket, or raise :class:`RateLimitedError`."""
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key_id] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / self.rate))
                raise RateLimitedError(f"too many requests for this key; retry after {wait} s", retry_after=wait)
            self._buckets[key_id] = (tokens - 1.0, now)


class BodyLimit:
    """ASGI middleware answering 413 to a request body over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen, over = 0, False

        async def counting() -> Message:
            nonlocal seen, over
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:  # the app never sees the body; whatever it answers becomes a 413
                over = True
                raise _TooLarge
            return message

        async def answering(message: Message) -> None:
            if not over:
                await send(message)
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                await self._refuse(send)

        try:
            await self.app(scope, counting, answering)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        payload = json.dumps(error_body(413, "RequestTooLarge", f"request body over {self.max_bytes} bytes")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


class _TooLarge(Exception):
    """Raised out of ``receive`` so that the app stops reading an oversized body."""
