"""The settings of ``agent-memory serve``, apart from the app: the CLI reads their defaults without
importing FastAPI."""

from __future__ import annotations

from dataclasses import dataclass

from agent_memory._errors import ConfigurationError

__all__ = ["SERVE_ENV", "ServiceSettings"]

SERVE_ENV = "AGENT_MEMORY_SERVE"
"""The environment variable through which ``agent-memory serve`` hands its settings to each worker."""


@dataclass(frozen=True)
class ServiceSettings:
    """Limits of the service: request body bytes, requests per second (and burst) per key, the
    ``Host`` names it answers to, the threads its store and model calls run in; texts embedded per
    second (and burst, also the most one request may embed) per key; seconds a client may take to
    send a request's headers, and its body; sign-in attempts a minute per client address; requests
    of one key answered at once (the rest get 429 at once, so that one key's heavy calls never hold
    every thread; admin keys are not counted). A rate or a count of 0 is no limit."""

    max_body_bytes: int = 1_000_000
    rate_per_second: float = 50.0
    rate_burst: int = 100
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]")
    workers: int = 8  # threads for store and model calls (the event loop never makes them)
    embed_per_second: float = 100.0
    embed_burst: int = 1_000
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    logins_per_minute: int = 10
    in_flight_per_key: int = 4

    def __post_init__(self) -> None:
        if min(self.header_timeout, self.body_timeout) <= 0 or self.max_body_bytes < 1:
            raise ConfigurationError("the header and body timeouts and the body limit must be positive")
        if self.in_flight_per_key < 0:
            raise ConfigurationError("in_flight_per_key must be at least 0 (0 is no limit)")
        for rate, burst in ((self.rate_per_second, self.rate_burst), (self.embed_per_second, self.embed_burst)):
            if rate > 0 and burst < 1:
                raise ConfigurationError("a rate needs a burst of at least 1 (a rate of 0 is no limit)")
