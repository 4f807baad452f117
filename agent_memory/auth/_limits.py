"""Limits of what a caller of the HTTP service may do: requests, or texts embedded, per second per key
(or per client address, for signing in), and requests being answered at once per key."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence

from agent_memory._errors import ConfigurationError, RateLimitedError, ValidationError

__all__ = ["LOOPBACK", "InFlight", "RateLimiter", "allowed_hosts", "error_body"]

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
    """A token bucket per name (an API key's id, a client's address): ``rate`` units a second on
    average, ``burst`` at once. A unit is a request, or a text embedded (``unit`` names it in errors).

    Kept in the worker's memory, so with ``--workers N`` a key may make N times the
    rate in all; the docs say so. Buckets that have filled up again are forgotten once
    there are more than ``max_names``, so many names cannot grow it without bound.
    """

    def __init__(self, rate: float, burst: int, *, unit: str = "requests", max_names: int = 10_000) -> None:
        self.rate, self.burst, self.unit, self.max_names = rate, burst, unit, max_names
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, name: str, cost: int = 1) -> None:
        """Take ``cost`` units from the bucket of ``name``, or raise :class:`RateLimitedError` (nothing
        taken). A cost over the burst can never be paid: :class:`ValidationError`, naming the burst."""
        if self.rate <= 0 or cost <= 0:
            return
        if cost > self.burst:
            raise ValidationError(f"one request may use at most {self.burst} {self.unit}; this one needs {cost}")
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(name, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < cost:
                self._buckets[name] = (tokens, now)
                wait = max(1, math.ceil((cost - tokens) / self.rate))
                raise RateLimitedError(f"too many {self.unit} for this caller; retry after {wait} s", retry_after=wait)
            self._buckets[name] = (tokens - cost, now)
            if len(self._buckets) > self.max_names:
                self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have filled up again: forgetting them changes nothing (lock held)."""
        self._buckets = {
            name: (tokens, last)
            for name, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * self.rate < self.burst
        }


class InFlight:
    """Requests being answered per name (an API key's id): at most ``limit`` at once; 0 is no limit.

    Kept in the worker's memory, like :class:`RateLimiter`. Only the gate counts, on the
    event loop, so there is no lock; a name is forgotten when its last request ends.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._running: dict[str, int] = {}

    def enter(self, name: str) -> bool:
        """Count one more request of ``name``, or raise :class:`RateLimitedError` (nothing counted).
        Whether it was counted: with no limit nothing is, and :meth:`leave` must not be called."""
        if self.limit <= 0:
            return False
        running = self._running.get(name, 0)
        if running >= self.limit:
            message = f"this key already has {self.limit} requests being answered: wait for one"
            raise RateLimitedError(message, retry_after=1)
        self._running[name] = running + 1
        return True

    def leave(self, name: str) -> None:
        """One request of ``name`` that :meth:`enter` counted has ended."""
        left = self._running.pop(name) - 1
        if left:
            self._running[name] = left
