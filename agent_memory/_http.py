"""POSTs to OpenAI-compatible servers (embeddings, chat) with timeouts, retries and backoff."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import httpx

from agent_memory._errors import AgentMemoryError

__all__ = ["post_json"]

_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def post_json(
    client: httpx.Client,
    path: str,
    payload: dict[str, Any],
    *,
    error: type[AgentMemoryError],
    server: str,
    max_retries: int,
    backoff: float,
) -> Any:
    """The JSON answer to ``payload``, retrying connection errors, 429 and 5xx answers with
    exponential backoff (longer if the server says ``Retry-After``); ``error`` when it gives up.
    ``server`` names the server in messages (``embedding server at http://...``)."""
    for attempt in range(max_retries + 1):
        last = attempt == max_retries
        try:
            response = client.post(path, json=payload)
        except httpx.TransportError as exc:
            if last:
                raise error(f"cannot reach the {server}: {exc}") from exc
            _sleep(backoff, attempt, None)
            continue
        if response.status_code in _RETRY_STATUS and not last:
            _sleep(backoff, attempt, response.headers.get("retry-after"))
            continue
        if response.status_code >= 400:
            raise error(f"{server} answered {response.status_code}: {response.text[:300]}")
        try:
            return response.json()
        except ValueError:
            raise error(f"{server} answered non-JSON") from None
    raise AssertionError("unreachable")  # the loop returns or raises on its last attempt


def _sleep(backoff: float, attempt: int, retry_after: str | None) -> None:
    delay = backoff * 2**attempt
    if retry_after is not None:
        with contextlib.suppress(ValueError):  # an HTTP date instead of seconds: keep the backoff
            delay = max(delay, min(float(retry_after), 60.0))
    time.sleep(delay)
