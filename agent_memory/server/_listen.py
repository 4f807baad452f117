"""How ``agent-memory serve`` listens: uvicorn's h11 protocol, with a bound on slow clients.

uvicorn keeps a connection open for as long as its client keeps sending, however slowly:
a client that trickles a request's headers a byte at a time holds its connection for
good. :class:`SlowClientProtocol` closes a connection whose client has not sent a whole
request's headers within ``header_timeout`` seconds of connecting, or of the end of the
previous response (which also bounds a body the app never read). The body of a request
the app reads is bounded by the gate's ``body_timeout`` (:mod:`agent_memory.auth._gate`).
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["SlowClientProtocol"]

_log = logging.getLogger("agent_memory.server")


class SlowClientProtocol(H11Protocol):
    """uvicorn's h11 protocol (``uvicorn.run(..., http=SlowClientProtocol)``), which closes a connection
    whose client is slower than ``header_timeout`` seconds to send a request's headers."""

    header_timeout = 10.0
    """Seconds; each ``serve`` worker sets it from its settings before it accepts a connection."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_timer()

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a request's headers are in: the app (and the gate) have it now
            self._stop_header_timer()

    def on_response_complete(self) -> None:
        self._start_header_timer()  # first: the base class may read a pipelined request at once
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def _start_header_timer(self) -> None:
        self._stop_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            _log.debug("closed a connection that sent no whole request in %g s", self.header_timeout)
            self.transport.close()
