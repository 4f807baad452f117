"""``OpenAIExtractor`` against a fake OpenAI-compatible chat server (httpx's own ``MockTransport``):
what it sends, how it reads answers and errors, and ``remember`` through it end to end."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from agent_memory import ConfigurationError, ExtractionError, MemorySystem, OpenAIExtractor


def _answer(content: object, usage: dict[str, int] | None = None) -> httpx.Response:
    body = {"choices": [{"message": {"role": "assistant", "content": content}}], "usage": usage or {}}
    return httpx.Response(200, json=body)


def _extractor(handler: Callable[[httpx.Request], httpx.Response]) -> OpenAIExtractor:
    return OpenAIExtractor(
        "qwen3-8b", base_url="http://llm.test/v1", api_key="k", backoff=0, transport=httpx.MockTransport(handler)
    )


def test_it_asks_for_json_at_temperature_zero_and_counts_tokens(hashed: MemorySystem) -> None:
    sent: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url == "http://llm.test/v1/chat/completions"
        assert request.headers["authorization"] == "Bearer k"
        sent.append(json.loads(request.content))
        return _answer(
            '<think>The user likes tea.</think>{"facts": ["Alice likes tea"]}',
            {"prompt_tokens": 300, "completion_tokens": 20},
        )

    extractor = _extractor(handler)
    [change] = hashed.remember([{"role": "user", "content": "I like tea"}], user_id="alice", extractor=extractor)
    assert change.event == "added" and change.new_text == "Alice likes tea"
    assert sent[0]["model"] == "qwen3-8b" and sent[0]["temperature"] == 0.0
    assert sent[0]["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in sent[0]["messages"]] == ["system", "user"]  # type: ignore[attr-defined]
    assert (extractor.usage.calls, extractor.usage.input_tokens, extractor.usage.output_tokens) == (1, 300, 20)


def test_busy_answers_are_retried_and_errors_are_extraction_errors() -> None:
    replies = iter([httpx.Response(503), _answer('{"facts": []}')])
    assert _extractor(lambda request: next(replies)).extract([]) == []
    for response in (httpx.Response(400, text="bad model"), httpx.Response(200, json={"choices": []})):
        with pytest.raises(ExtractionError):
            _extractor(lambda request, r=response: r).extract([])  # type: ignore[misc]
    with pytest.raises(ExtractionError, match="without text"):
        _extractor(lambda request: _answer(None)).extract([])


def test_a_server_failing_during_a_decision_is_reported_in_the_change(hashed: MemorySystem) -> None:
    hashed.store_memory("Alice lives in Paris", user_id="alice")
    replies = iter([_answer('{"facts": ["Alice lives in Berlin"]}'), httpx.Response(500, text="overloaded")])
    extractor = OpenAIExtractor(
        "m", base_url="http://llm.test/v1", max_retries=0, transport=httpx.MockTransport(lambda r: next(replies))
    )
    [change] = hashed.remember([{"role": "user", "content": "x"}], user_id="alice", extractor=extractor)
    assert change.event == "added" and change.problem is not None and "answered 500" in change.problem


def test_model_and_url_are_required() -> None:
    with pytest.raises(ConfigurationError):
        OpenAIExtractor("", base_url="http://llm.test/v1")
