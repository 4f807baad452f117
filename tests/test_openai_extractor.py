"""``OpenAIExtractor`` against a fake OpenAI-compatible chat server (httpx's own ``MockTransport``):
what it sends, how it reads answers and errors, and ``remember`` through it end to end."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from agent_memory import (
    ConfigurationError,
    ExtractionError,
    LLMExtractor,
    MemorySystem,
    Message,
    OpenAIExtractor,
    ValidationError,
)
from agent_memory.extraction._prompts import FACTS_SCHEMA


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
    assert sent[0]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "MemoryFacts", "schema": FACTS_SCHEMA},
    }
    assert extractor.usage.fallbacks == []
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


def test_a_server_without_schemas_gets_json_mode_then_text_and_the_step_down_is_recorded_once() -> None:
    sent: list[object] = []
    refusals = {
        "json_schema": httpx.Response(400, text='{"error": "response_format json_schema is not supported"}'),
        "json_object": httpx.Response(422, text="Unsupported response_format type json_object"),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        asked = json.loads(request.content).get("response_format", {}).get("type")
        sent.append(asked)
        return refusals[asked] if asked in refusals else _answer('{"facts": [{"text": "Likes tea", "message": 1}]}')

    extractor = _extractor(handler)
    said = [Message("user", "I like tea", datetime(2026, 1, 1, tzinfo=timezone.utc))]
    assert extractor.extract(said) == ["Likes tea"] and extractor.extract(said) == ["Likes tea"]
    assert sent == ["json_schema", "json_object", None, None]  # asked again only while stepping down
    assert extractor.usage.fallbacks == ["json_schema -> json_object", "json_object -> text"]
    assert extractor.usage.calls == 2 and extractor.response_format is None


def test_other_client_errors_are_not_mistaken_for_a_refused_format() -> None:
    extractor = _extractor(lambda request: httpx.Response(400, text="the model 'qwen3-8b' does not exist"))
    with pytest.raises(ExtractionError, match="does not exist"):
        extractor.extract([])
    assert extractor.usage.fallbacks == [] and extractor.response_format == "json_schema"


def test_answers_are_bounded_so_a_small_model_cannot_run_past_its_token_limit() -> None:
    from agent_memory.extraction._prompts import BATCH_SCHEMA, DECISION_SCHEMA, MAX_FACT_CHARS, MAX_FACTS

    fact = FACTS_SCHEMA["properties"]["facts"]
    assert fact["maxItems"] == MAX_FACTS and fact["items"]["properties"]["text"]["maxLength"] == MAX_FACT_CHARS
    assert DECISION_SCHEMA["properties"]["text"]["maxLength"] == MAX_FACT_CHARS
    assert BATCH_SCHEMA["properties"]["decisions"]["maxItems"] == MAX_FACTS
    sent: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return _answer('{"facts": []}')

    _extractor(handler).extract([])
    assert sent[0]["max_tokens"] == 2048

    transport = httpx.MockTransport(handler)
    OpenAIExtractor("m", base_url="http://llm/v1", max_facts=8, max_fact_chars=80, transport=transport).extract([])
    bounds = sent[1]["response_format"]["json_schema"]["schema"]["properties"]["facts"]  # type: ignore[index]
    assert bounds["maxItems"] == 8 and bounds["items"]["properties"]["text"]["maxLength"] == 80


def test_every_llm_extractor_asks_with_its_bounds() -> None:
    """The bounds belong to the base class, so any model's extractor (LangChain's too) is held to them."""
    asked: list[object] = []

    class Recording(LLMExtractor):
        def complete(self, messages: list[dict[str, str]], schema: Mapping[str, Any]) -> str:
            asked.append(schema)
            return '{"facts": []}'

    assert Recording(max_facts=3, max_fact_chars=40).extract([]) == []
    facts = asked[0]["properties"]["facts"]  # type: ignore[index]
    assert facts["maxItems"] == 3 and facts["items"]["properties"]["text"]["maxLength"] == 40
    assert FACTS_SCHEMA["properties"]["facts"]["maxItems"] == 20  # the shared schema is left as it was
    for bad in (0, -1, 2.5, "8"):
        with pytest.raises(ValidationError):
            LLMExtractor(max_facts=bad)  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            OpenAIExtractor("m", base_url="http://llm/v1", max_fact_chars=bad)  # type: ignore[arg-type]
