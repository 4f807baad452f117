"""``OpenAIExtractor``: fact extraction by any OpenAI-compatible chat server, with no LLM framework."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

import httpx

from agent_memory import _config
from agent_memory._errors import ConfigurationError, ExtractionError
from agent_memory._http import post_json
from agent_memory.extraction._extractor import LLMExtractor
from agent_memory.extraction._prompts import MAX_FACT_CHARS, MAX_FACTS

__all__ = ["OpenAIExtractor", "configured_extractor"]

_log = logging.getLogger("agent_memory.extraction")


class OpenAIExtractor(LLMExtractor):
    """An :class:`Extractor` over an OpenAI-compatible ``/chat/completions`` endpoint: OpenAI,
    ``vllm serve``, Ollama, llama.cpp's server, LM Studio...

    Asks for answers constrained to the answer's JSON schema (``response_format`` of type
    ``json_schema``: vLLM, OpenAI, recent Ollama and llama.cpp's server honour it), at
    ``temperature`` 0. A server that refuses that (a 400 or 422 naming the response format)
    is asked for plain JSON mode from then on, and one that refuses JSON mode for plain
    text, parsed strictly; each step down is recorded once in ``usage.fallbacks``. The
    schemas bound the answer (``max_facts`` facts, ``max_fact_chars`` characters a text)
    and ``max_tokens`` the reply, so that a small model cannot run on until it is cut off:
    keep ``max_facts * max_fact_chars * 3`` under ``max_tokens`` for small models writing
    Chinese (about three tokens a character).
    ``json_mode=False`` starts at plain text. It retries connection errors,
    429 and 5xx answers with backoff, and counts the tokens the server reports in
    ``usage``. A server that cannot be reached or answers an error raises
    :class:`ExtractionError`. ``transport`` is any ``httpx.BaseTransport`` (tests,
    custom networking).

    Example:
        .. code-block:: python

            extractor = OpenAIExtractor("Qwen/Qwen3-8B", base_url="http://127.0.0.1:8001/v1")
            memory.remember(messages, user_id="alice", extractor=extractor)
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: str | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = 2048,
        max_facts: int = MAX_FACTS,
        max_fact_chars: int = MAX_FACT_CHARS,
        json_mode: bool = True,
        timeout: float = 120.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(max_facts=max_facts, max_fact_chars=max_fact_chars)
        if not model or not base_url:
            raise ConfigurationError("OpenAIExtractor needs a model and a base_url (http://host:port/v1)")
        self.model, self.base_url = model, base_url.rstrip("/")
        self.temperature, self.json_mode, self.max_tokens = temperature, json_mode, max_tokens
        self.response_format: str | None = _FORMATS[0] if json_mode else None
        """What is asked for now: ``"json_schema"``, ``"json_object"`` or ``None`` (plain text)."""
        self._format_lock = threading.Lock()
        self.max_retries, self.backoff = max(0, max_retries), backoff
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def complete(self, messages: list[dict[str, str]], schema: Mapping[str, Any]) -> str:
        """The server's reply text to ``messages``, constrained to ``schema`` where the server can."""
        while True:
            asked = self.response_format
            payload: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": self.temperature}
            if self.max_tokens is not None:
                payload["max_tokens"] = self.max_tokens
            if asked is not None:
                payload["response_format"] = _response_format(asked, schema)
            try:
                answer = self._post(payload)
                break
            except ExtractionError as exc:
                if asked is None or not _refused_format(str(exc)):
                    raise
                self._step_down(asked)
        return self._content(answer)

    def _post(self, payload: dict[str, Any]) -> Any:
        return post_json(
            self._client,
            "/chat/completions",
            payload,
            error=ExtractionError,
            server=f"LLM server at {self.base_url}",
            max_retries=self.max_retries,
            backoff=self.backoff,
        )

    def _step_down(self, refused: str) -> None:
        """Ask for the next format from now on (once, whichever thread notices first)."""
        following = _FORMATS[_FORMATS.index(refused) + 1] if refused != _FORMATS[-1] else None
        with self._format_lock:
            if self.response_format == refused:
                self.response_format = following
                self.usage.fallbacks.append(f"{refused} -> {following or 'text'}")
                _log.warning(
                    "the chat server refused %s answers; asking for %s from now on", refused, following or "text"
                )

    def _content(self, answer: Any) -> str:
        usage = answer.get("usage") if isinstance(answer, dict) else None
        usage = usage if isinstance(usage, dict) else {}
        self.usage.add(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
        try:
            content = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise ExtractionError(f"LLM server at {self.base_url} answered no message: {str(answer)[:200]}") from None
        if not isinstance(content, str):
            raise ExtractionError(f"LLM server at {self.base_url} answered a message without text")
        return content


_FORMATS = ("json_schema", "json_object")
_REFUSAL = re.compile(r"answered (400|422):.*(response_format|json_schema|json_object|schema|grammar)", re.I | re.S)


def _response_format(kind: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    if kind == "json_object":
        return {"type": "json_object"}
    return {"type": "json_schema", "json_schema": {"name": str(schema.get("title", "answer")), "schema": dict(schema)}}


def _refused_format(message: str) -> bool:
    """Whether a server's error says it cannot give the response format asked for."""
    return _REFUSAL.search(message) is not None


def configured_extractor(model: str | None, base_url: str | None) -> OpenAIExtractor | None:
    """The extractor that ``--llm-model``/``--llm-base-url`` name, its key from
    ``AGENT_MEMORY_LLM_API_KEY``; ``None`` without a model (the servers then offer no ``remember``)."""
    if not model:
        return None
    return OpenAIExtractor(model, base_url=base_url or "", api_key=_config.llm_api_key())
