"""The library logger: ``agent_memory`` and a child per package, no handlers of its own, and a
record of what used to leave no trace (retries, claim takeovers, format fallbacks, index builds,
refused inputs)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import httpx
import pytest

import agent_memory
from agent_memory import LimitExceededError, Memory, MemorySystem, Scope
from agent_memory.extraction._extractor import Message
from agent_memory.extraction._openai_chat import OpenAIExtractor
from agent_memory.store._retry import RetryingCollection
from agent_memory.testing import HashEmbedder


def _messages(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


def test_the_library_installs_no_handlers() -> None:
    """Where records go is the application's choice (the service adds one to agent_memory.access)."""
    assert agent_memory is not None
    named = [n for n in logging.root.manager.loggerDict if n == "agent_memory" or n.startswith("agent_memory.")]
    assert "agent_memory.store" in named
    loggers = [logging.getLogger(n) for n in named if n != "agent_memory.access"]
    assert [logger.name for logger in loggers if logger.handlers] == []


def test_refused_inputs_and_index_builds_are_recorded(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="agent_memory")
    with MemorySystem(embedder=HashEmbedder(), path=":memory:") as memory:
        with pytest.raises(LimitExceededError):
            memory.search_memory("tea", user_id="alice", top_k=5000)
        memory.store_memories(["Alice likes tea", "Alice has a cat"], user_id="alice")
        memory.search_memory("tea", user_id="alice")
    assert any("max_top_k=1,000" in m for m in _messages(caplog, "agent_memory.validation"))
    assert any("2 memories" in m for m in _messages(caplog, "agent_memory.search"))


def test_retries_are_recorded(caplog: pytest.LogCaptureFixture) -> None:
    class Flaky:
        calls = 0

        def get(self, **kwargs: Any) -> dict[str, list[str]]:
            self.calls += 1
            if self.calls == 1:
                raise httpx.ConnectError("connection refused")
            return {"ids": []}

    caplog.set_level(logging.WARNING, logger="agent_memory")
    assert RetryingCollection(Flaky(), backoff=0.001).get(ids=["x"]) == {"ids": []}
    assert any("retry 1" in m and "connection refused" in m for m in _messages(caplog, "agent_memory.store"))


def test_format_fallbacks_are_recorded(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("response_format", {}).get("type") == "json_schema":
            return httpx.Response(400, text='{"error": "response_format json_schema is not supported"}')
        content = json.dumps({"facts": [{"text": "Likes tea", "message": 1}]})
        return httpx.Response(200, json={"choices": [{"message": {"content": content}}]})

    caplog.set_level(logging.WARNING, logger="agent_memory")
    extractor = OpenAIExtractor("m", base_url="http://llm.test/v1", backoff=0, transport=httpx.MockTransport(handler))
    extractor.extract([Message("user", "I like tea")])
    assert any("json_schema" in m and "json_object" in m for m in _messages(caplog, "agent_memory.extraction"))


def test_claim_takeovers_are_recorded(
    chroma_server: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from agent_memory import _writer

    monkeypatch.setattr(_writer, "STALE_MS", 200)
    caplog.set_level(logging.INFO, logger="agent_memory")
    with MemorySystem(embedder=HashEmbedder(), chroma_url=chroma_server, collection=f"log-{time.time_ns()}") as memory:
        ghost = Memory.create("Alice likes tea", Scope.of("alice"))
        memory.store._claim([ghost])  # a writer that died between claiming and writing
        memory.store_memory("Alice likes tea", user_id="alice")
    assert any(f"claim of {ghost.id}" in m for m in _messages(caplog, "agent_memory.write"))
