"""``MemoryClient``: :class:`MemorySystem`'s methods, answered by a running ``agent-memory serve``.

For programs (and the CLI's ``--server``) that share one memory service instead
of opening a store: the same method names and keyword arguments, the same
result types, and the service's errors raised as the library's own exceptions.
The API key decides the user; ``user_id`` may repeat it (or, with an admin key,
choose it). ``transport`` takes any ``httpx.BaseTransport`` (an
``httpx.ASGITransport`` or ``MockTransport`` in tests).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import quote

import httpx

from agent_memory import _config, _errors
from agent_memory._errors import AgentMemoryError, ConfigurationError, RateLimitedError, ValidationError
from agent_memory._options import LIST, SEARCH, STORE, Option, as_days
from agent_memory._times import check_time, zone
from agent_memory._types import Memory, MemoryStats, MetadataValue, SearchHit
from agent_memory._validation import check_metadatas
from agent_memory.store._history import HistoryEvent

__all__ = ["MemoryClient"]

_PAGE = 1000  # the service's largest page
_AS = {
    "RequestTooLarge": ValidationError,
    "ConfirmationRequired": ValidationError,
    "NotFound": _errors.MemoryNotFoundError,  # a route that does not exist: no such memory there
}


class MemoryClient:
    """A client of the ``/v1`` API at ``url`` (``http://127.0.0.1:8080``), acting with API key ``key``."""

    def __init__(
        self, url: str, key: str, *, timeout: float = 60.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        if not url or not key:
            raise ConfigurationError("a memory service needs its URL and an API key")
        headers = {"Authorization": f"Bearer {key}"}
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)
        self.url = url

    def store_memory(
        self,
        text: str,
        *,
        user_id: str | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        actor: str | None = None,
        valid_from: datetime | str | None = None,
        valid_until: datetime | str | None = None,
        kind: str | None = None,
    ) -> Memory:
        """Store one memory (see :meth:`MemorySystem.store_memory`); the service records ``actor``
        through this client's key (``agent:planner via key:laptop``)."""
        options = _json(STORE, locals())
        return _memories(self._call("POST", "/v1/memories", json={"text": text, "user_id": user_id, **options}))[0]

    def store_memories(
        self,
        texts: Sequence[str],
        *,
        user_id: str | None = None,
        metadatas: Sequence[Mapping[str, MetadataValue] | None] | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        progress: bool | None = None,
        actor: str | None = None,
        valid_from: datetime | str | None = None,
        valid_until: datetime | str | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
        kind: str | None = None,
    ) -> list[Memory]:
        """Store many memories (see :meth:`MemorySystem.store_memories`; ``progress`` is the
        server's business and is ignored)."""
        metas = None
        if metadatas is not None:  # checked here: the same errors as in process
            metas = [dict(m) for m in check_metadatas(metadatas, len(texts), metadata)]
        body = {"texts": list(texts), "metadatas": metas, "user_id": user_id, **_json(STORE, locals())}
        return _memories(self._call("POST", "/v1/memories", json=body))

    def search_memory(
        self,
        query: str,
        *,
        user_id: str | None = None,
        top_k: int = 5,
        task: str | None = None,
        filters: Mapping[str, Any] | None = None,
        min_score: float | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        mode: str = "hybrid",
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        tz: str | tzinfo | None = None,
        time_aware: bool = True,
        now: datetime | str | None = None,
        as_of: datetime | str | None = None,
        include_expired: bool = False,
        recency_half_life: timedelta | float | None = None,
        signals: Iterable[str] | None = None,
    ) -> list[SearchHit]:
        """The most relevant memories, best first (see :meth:`MemorySystem.search_memory`). Naive
        times, and the query's time words, are read here, in ``tz`` (default ``AGENT_MEMORY_TZ``,
        else UTC), as in process: the service is told the times with their offsets."""
        if time_aware and now is None:  # "yesterday" is read in this caller's zone, not the service's
            now = datetime.now(zone(tz))
        body = {"query": query, "user_id": user_id, **_json(SEARCH, locals())}
        answer = self._call("POST", "/v1/search", json=body)
        return [SearchHit(_memory(h), float(h["score"]), float(h["similarity"])) for h in answer["hits"]]

    def get_memory(self, memory_id: str, *, user_id: str | None = None) -> Memory | None:
        """One memory by id, or ``None``."""
        try:
            return _memory(self._call("GET", _path(memory_id), params=_params(user_id=user_id)))
        except _errors.MemoryNotFoundError:
            return None

    def list_memories(
        self,
        *,
        user_id: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        filters: Mapping[str, Any] | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        tz: str | tzinfo | None = None,
        order: str = "oldest",
        as_of: datetime | str | None = None,
        include_expired: bool = False,
    ) -> list[Memory]:
        """The memories in the order they were stored (see :meth:`MemorySystem.list_memories`); all
        of them, a page of ``_PAGE`` at a time, when ``limit`` is ``None``."""
        options = _json(LIST, locals())
        options["filters"] = None if filters is None else json.dumps(dict(filters))
        query = _params(user_id=user_id, **{k: _param(v) for k, v in options.items() if k not in ("limit", "offset")})
        found: list[Memory] = []
        while limit is None or len(found) < limit:
            size = _PAGE if limit is None else min(_PAGE, limit - len(found))
            page = _memories(self._call("GET", "/v1/memories", params={**query, "offset": offset, "limit": size}))
            found += page
            offset += len(page)
            if len(page) < size:
                break
        return found

    def update_memory(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        text: str | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
    ) -> Memory:
        """Change a memory's text and/or metadata, keeping its id."""
        body = {"text": text, "metadata": None if metadata is None else dict(metadata), "user_id": user_id}
        return _memory(self._call("PATCH", _path(memory_id), json=body))

    def expire_memory(
        self, memory_id: str, *, user_id: str | None = None, at: datetime | str | None = None, tz: str | None = None
    ) -> Memory:
        """End a memory's validity without erasing it (see :meth:`MemorySystem.expire_memory`)."""
        body = {"user_id": user_id, **_times(tz, at=at)}
        return _memory(self._call("POST", _path(memory_id) + "/expire", json=body))

    def restore_memory(self, memory_id: str, *, user_id: str | None = None) -> Memory:
        """Undo an expiry (see :meth:`MemorySystem.restore_memory`)."""
        return _memory(self._call("POST", _path(memory_id) + "/restore", json={"user_id": user_id}))

    def delete_memory(self, memory_id: str, *, user_id: str | None = None) -> bool:
        """Delete one memory; ``False`` when there is none with that id."""
        try:
            self._call("DELETE", _path(memory_id), params=_params(user_id=user_id))
        except _errors.MemoryNotFoundError:
            return False
        return True

    def delete_all_memories(
        self, *, user_id: str | None = None, agent_id: str | None = None, purge_history: bool = False
    ) -> int:
        """Delete all of the user's memories (of one agent); the service keeps their history."""
        if purge_history:
            raise ConfigurationError("purging the history is not offered by the service; run it where the store is")
        params = _params(user_id=user_id, agent_id=agent_id, confirm="true")
        return int(self._call("DELETE", "/v1/memories", params=params)["deleted"])

    def history(self, memory_id: str, *, user_id: str | None = None) -> list[HistoryEvent]:
        """Every change to a memory, oldest first."""
        events = self._call("GET", f"{_path(memory_id)}/history", params=_params(user_id=user_id))["events"]
        return [HistoryEvent(**{**e, "at": datetime.fromisoformat(e["at"])}) for e in events]

    def count(self, *, user_id: str | None = None) -> int:
        """How many memories the user has (an admin key without a user: everyone)."""
        return int(self._call("GET", "/v1/stats", params=_params(user_id=user_id))["memories"])

    def stats(self) -> MemoryStats:
        """The key's user's count (an admin key's: every user's); the store's details stay on the server."""
        answer = self._call("GET", "/v1/stats")
        return MemoryStats(answer["memories"], answer["users"], "(service)", self.url, None, None)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MemoryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            answer = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise _errors.StoreError(f"cannot reach the memory service at {self.url}: {exc}") from exc
        if answer.status_code == 204:
            return None
        try:
            body = answer.json()
        except ValueError:
            raise _errors.StoreError(f"the memory service answered {answer.status_code} without JSON") from None
        if answer.status_code >= 400:
            raise _error_of(body.get("error") if isinstance(body, dict) else None, answer)
        return body


def _times(tz: str | tzinfo | None, **times: datetime | str | None) -> dict[str, object]:
    """Times as ISO 8601 with their offset, naive ones read here, in ``tz`` (default ``AGENT_MEMORY_TZ``,
    else UTC): the service must not read them in its own zone."""
    moments = {name: check_time(value, name, tz) for name, value in times.items()}
    return {k: None if v is None else v.isoformat() for k, v in moments.items()}


def _json(options: tuple[Option, ...], given: Mapping[str, Any]) -> dict[str, Any]:
    """The options' values (a method's ``locals()``) as the service takes them: times with their
    offsets, durations in days, the zone by name (the client's default when not given)."""
    tz = given.get("tz")
    values: dict[str, Any] = {}
    for option in options:
        value = given.get(option.name, option.default)
        if option.kind == "time":
            value = _times(tz, **{option.name: value})[option.name]
        elif option.kind == "days":
            value = as_days(value)
        elif option.kind == "zone":
            value = getattr(zone(value), "key", None) or _config.default_zone()
        elif option.kind in ("filters", "metadata") and value is not None:
            value = dict(value)
        elif option.kind == "choices" and value is not None:
            value = list(value)
        values[option.name] = value
    return values


def _param(value: object) -> object:
    """A query-string value: ``true``/``false`` for booleans."""
    return str(value).lower() if isinstance(value, bool) else value


def _path(memory_id: str) -> str:
    """The route of one memory; the id is escaped, so it can never name another route."""
    return f"/v1/memories/{quote(memory_id, safe='')}"


def _params(**values: object) -> dict[str, object]:
    return {k: v for k, v in values.items() if v is not None}


def _memory(data: Mapping[str, Any]) -> Memory:
    def when(key: str) -> datetime | None:
        return datetime.fromisoformat(data[key]) if data.get(key) else None

    return Memory(
        data["id"],
        data["text"],
        data["user_id"],
        data.get("agent_id"),
        data.get("session_id"),
        dict(data.get("metadata") or {}),
        when("created_at"),
        when("updated_at"),
        when("valid_from"),
        when("valid_until"),
        data.get("supersedes"),
        data.get("key"),
        data.get("kind"),
    )


def _memories(answer: Mapping[str, Any]) -> list[Memory]:
    return [_memory(m) for m in answer["memories"]]


def _error_of(error: Any, answer: httpx.Response) -> AgentMemoryError:
    """The library's exception for the service's error answer."""
    if not isinstance(error, dict):
        return _errors.StoreError(f"the memory service answered {answer.status_code}")
    kind, message = str(error.get("type")), str(error.get("message"))
    if kind == "RateLimitedError":
        return RateLimitedError(message, retry_after=int(answer.headers.get("Retry-After", "1")))
    found = _AS.get(kind) or getattr(_errors, kind, None)
    if isinstance(found, type) and issubclass(found, AgentMemoryError):
        return found(message)
    return _errors.StoreError(f"the memory service answered {answer.status_code}: {message}")
