"""The OpenAI-compatible client against a real local HTTP server, well-behaved and misbehaving on purpose."""

from __future__ import annotations

import json
import math
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent_memory import ConfigurationError, EmbeddingServerError, MemorySystem
from agent_memory.embeddings import (
    InstructionAwarenessWarning,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    create_embedder,
)

Behaviour = Callable[[dict[str, Any]], tuple[int, Any]]


class EmbeddingServer:
    """``POST /v1/embeddings`` on 127.0.0.1, answering with the tiny Qwen3 model unless told otherwise."""

    def __init__(self, model: SentenceTransformerEmbedder) -> None:
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.script: list[Behaviour] = []  # one behaviour per request, then normal answers
        self.models: list[dict[str, Any]] | None = None  # GET /v1/models answers these (None: 404)
        self.gets: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.gets.append(self.path)
                found = self.path == "/v1/models" and server.models is not None
                raw = json.dumps({"object": "list", "data": server.models} if found else {"detail": "no"}).encode()
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({**body, "authorization": self.headers.get("Authorization")})
                status, answer = (server.script.pop(0) if server.script else server.answer)(body)
                raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, body: dict[str, Any]) -> tuple[int, Any]:
        vectors = self.model.sentence_transformer.encode(body["input"], prompt="", convert_to_numpy=True)
        if "dimensions" in body:  # what vLLM does for Matryoshka models: cut, then re-normalise
            vectors = vectors[:, : body["dimensions"]]
            vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        data = [{"index": i, "embedding": v.tolist(), "object": "embedding"} for i, v in enumerate(vectors)]
        return 200, {"object": "list", "data": data[::-1], "model": body["model"]}  # any order, by index


@pytest.fixture
def server(tiny_qwen3: str) -> Iterator[EmbeddingServer]:
    running = EmbeddingServer(SentenceTransformerEmbedder(tiny_qwen3))
    yield running
    running.httpd.shutdown()


def _client(server: EmbeddingServer, model: str, **options: Any) -> OpenAIEmbedder:
    return OpenAIEmbedder(model, base_url=server.url, backoff=0.01, **options)


def _probed(server: EmbeddingServer, model: str, **options: Any) -> OpenAIEmbedder:
    """A client that has asked the model's size already, so the next request is the one under test."""
    client = _client(server, model, **options)
    assert client.native_dimension == 64
    server.requests.clear()
    return client


def test_same_vectors_as_sentence_transformers(server: EmbeddingServer, tiny_qwen3: str) -> None:
    client, local = _client(server, tiny_qwen3), SentenceTransformerEmbedder(tiny_qwen3)
    texts = ["Alice likes coffee", "用户 Alice 喜欢喝咖啡", "Bob"]
    np.testing.assert_allclose(client.embed_documents(texts), local.embed_documents(texts), atol=1e-5)
    np.testing.assert_allclose(client.embed_queries(texts, "qa"), local.embed_queries(texts, "qa"), atol=1e-5)
    assert server.requests[-1]["input"][0].startswith("Instruct: Given a user question")  # we add the instruction
    assert client.fingerprint == local.fingerprint  # so one collection can take both


def test_dimensions_are_passed_through(server: EmbeddingServer, tiny_qwen3: str) -> None:
    client = _client(server, tiny_qwen3, dimensions=32)
    local = SentenceTransformerEmbedder(tiny_qwen3, dimensions=32)
    np.testing.assert_allclose(client.embed_queries(["coffee"]), local.embed_queries(["coffee"]), atol=1e-5)
    assert server.requests[-1]["dimensions"] == 32
    assert client.fingerprint == local.fingerprint


def test_batches_and_concurrency_keep_input_order(server: EmbeddingServer, tiny_qwen3: str) -> None:
    client = _client(server, tiny_qwen3, batch_size=16, max_concurrency=3)
    texts = [f"memory number {i}" for i in range(50)]
    vectors = client.embed_documents(texts)
    assert sorted(len(r["input"]) for r in server.requests) == [1, 2, 16, 16, 16]  # 1: the one-off size probe
    np.testing.assert_allclose(vectors, SentenceTransformerEmbedder(tiny_qwen3).embed_documents(texts), atol=1e-5)


def test_api_key_is_sent(server: EmbeddingServer, tiny_qwen3: str) -> None:
    _client(server, tiny_qwen3, api_key="sk-test").embed_documents(["x"])
    assert server.requests[-1]["authorization"] == "Bearer sk-test"


def test_retries_429_and_5xx_with_backoff(server: EmbeddingServer, tiny_qwen3: str) -> None:
    client = _probed(server, tiny_qwen3)
    server.script = [lambda b: (429, {"error": "slow down"}), lambda b: (503, {"error": "busy"})]
    vectors = client.embed_documents(["Alice likes coffee"])
    assert vectors.shape == (1, 64) and len(server.requests) == 3


def test_gives_up_after_max_retries(server: EmbeddingServer, tiny_qwen3: str) -> None:
    client = _probed(server, tiny_qwen3, max_retries=2)
    server.script = [lambda b: (500, {"error": "boom"})] * 3
    with pytest.raises(EmbeddingServerError, match="500"):
        client.embed_documents(["x"])
    assert len(server.requests) == 3


def test_client_errors_are_not_retried(server: EmbeddingServer, tiny_qwen3: str) -> None:
    client = _probed(server, tiny_qwen3)
    server.script = [lambda b: (400, {"error": "model not found"})]
    with pytest.raises(EmbeddingServerError, match=r"400.*model not found"):
        client.embed_documents(["x"])
    assert len(server.requests) == 1


def _slow(body: dict[str, Any]) -> tuple[int, Any]:
    time.sleep(1.0)
    return 200, {"data": []}


MALFORMED: dict[str, tuple[Behaviour, str]] = {
    "wrong count": (lambda b: (200, {"data": [{"index": 0, "embedding": [0.1] * 64}] * 2}), "2 embeddings for 1"),
    "wrong dimension": (lambda b: (200, {"data": [{"index": 0, "embedding": [0.1] * 10}]}), "shape"),
    "NaN": (lambda b: (200, {"data": [{"index": 0, "embedding": [math.nan] * 64}]}), "NaN"),
    "no data": (lambda b: (200, {"object": "list"}), "no embeddings"),
    "not JSON": (lambda b: (200, b"<html>proxy error</html>"), "non-JSON"),
    "strings": (lambda b: (200, {"data": [{"index": 0, "embedding": ["a"] * 64}]}), "non-numbers"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_answers_are_clear_errors(server: EmbeddingServer, tiny_qwen3: str, case: str) -> None:
    behaviour, message = MALFORMED[case]
    client = _probed(server, tiny_qwen3)
    server.script = [behaviour]
    with pytest.raises(EmbeddingServerError, match=message):
        client.embed_documents(["x"])


def test_timeouts_are_retried_then_reported(server: EmbeddingServer, tiny_qwen3: str) -> None:
    client = _probed(server, tiny_qwen3, timeout=0.5, max_retries=1)
    server.script = [_slow, _slow]
    with pytest.raises(EmbeddingServerError, match="cannot reach"):
        client.embed_documents(["x"])


def test_server_down_is_a_clear_error() -> None:
    client = OpenAIEmbedder("m", base_url="http://127.0.0.1:9/v1", backoff=0.01, max_retries=1)
    with pytest.raises(EmbeddingServerError, match="cannot reach the embedding server"):
        client.embed_documents(["x"])


def test_memory_system_end_to_end_and_nothing_written_on_failure(server: EmbeddingServer, tiny_qwen3: str) -> None:
    with MemorySystem(tiny_qwen3, backend="openai", base_url=server.url, path=":memory:") as memory:
        stored = memory.store_memory("Alice likes coffee", user_id="alice")
        assert memory.search_memory("Alice likes coffee", user_id="alice")[0].memory == stored
        server.script = [lambda b: (500, {"error": "down"})] * 4
        with pytest.raises(EmbeddingServerError):
            memory.store_memory("Alice has a dog", user_id="alice")
        assert memory.count() == 1


def test_backend_selection(monkeypatch: pytest.MonkeyPatch, server: EmbeddingServer, tiny_qwen3: str) -> None:
    monkeypatch.setenv("AGENT_MEMORY_BACKEND", "openai")
    monkeypatch.setenv("AGENT_MEMORY_BASE_URL", server.url)
    embedder = create_embedder(tiny_qwen3)
    assert isinstance(embedder, OpenAIEmbedder) and embedder.base_url == server.url
    monkeypatch.delenv("AGENT_MEMORY_BASE_URL")
    with pytest.raises(ConfigurationError, match="base_url"):
        create_embedder(tiny_qwen3)
    with pytest.raises(ConfigurationError, match="unknown backend"):
        create_embedder(tiny_qwen3, backend="tei")
    with pytest.raises(ConfigurationError, match="no_such_option"):
        create_embedder(tiny_qwen3, backend="openai", base_url=server.url, options={"no_such_option": 1})


def _served(name: str, root: str) -> list[dict[str, Any]]:
    """What vLLM's ``GET /v1/models`` says of a model served as ``name`` from ``root``."""
    return [{"id": name, "object": "model", "owned_by": "vllm", "root": root, "parent": None}]


def test_a_qwen3_served_under_another_name_is_known_by_its_root(server: EmbeddingServer, tiny_qwen3: str) -> None:
    server.models = _served("embedder", tiny_qwen3)
    client = _client(server, "embedder")
    assert client.instruction_aware and server.gets == ["/v1/models"]
    local = SentenceTransformerEmbedder(tiny_qwen3)
    queries = ["What does Alice drink?", "Wo wohnt Bob?"]
    np.testing.assert_allclose(client.embed_queries(queries), local.embed_queries(queries), atol=1e-5)
    assert client.instruction_aware and server.gets == ["/v1/models"]  # asked once


def test_a_model_without_the_instruction_is_known_too(server: EmbeddingServer, minilm: str) -> None:
    server.models = _served("embedder", minilm)
    assert _client(server, "embedder").instruction_aware is False


@pytest.mark.parametrize("models", [None, _served("other", "/somewhere"), _served("embedder", "/srv/models/e5")])
def test_an_undecidable_model_warns_once_and_goes_without(
    server: EmbeddingServer, models: list[dict[str, Any]] | None
) -> None:
    server.models = models
    client = _client(server, "embedder")
    with pytest.warns(InstructionAwarenessWarning, match="AGENT_MEMORY_INSTRUCTION_AWARE"):
        assert client.instruction_aware is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert client.instruction_aware is False


def test_the_setting_decides_without_asking(server: EmbeddingServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_MEMORY_INSTRUCTION_AWARE", "true")
    assert _client(server, "embedder").instruction_aware is True
    assert _client(server, "embedder", instruction_aware=False).instruction_aware is False
    monkeypatch.setenv("AGENT_MEMORY_INSTRUCTION_AWARE", "maybe")
    with pytest.raises(ConfigurationError, match="true or false"):
        _ = _client(server, "embedder").instruction_aware
    assert server.gets == []


def test_a_store_at_a_recorded_size_is_cut_here_not_asked_of_the_server(
    server: EmbeddingServer, tiny_qwen3: str, tmp_path: Path
) -> None:
    """A store reindexed at 32 opens at 32 with no size named; the server is asked for its full size
    (a model not trained for Matryoshka may refuse ``dimensions``) and the vector is cut here."""
    path = str(tmp_path / "db")
    with MemorySystem(tiny_qwen3, backend="openai", base_url=server.url, path=path, dimensions=32) as memory:
        memory.store_memory("Alice likes coffee", user_id="alice")
    asked = _client(server, tiny_qwen3, dimensions=32).embed_documents(["Alice likes coffee"])
    server.requests.clear()
    with MemorySystem(tiny_qwen3, backend="openai", base_url=server.url, path=path) as memory:
        assert memory.search_memory("coffee", user_id="alice")[0].text == "Alice likes coffee"
        np.testing.assert_allclose(memory.embedder.embed_documents(["Alice likes coffee"]), asked, atol=1e-5)
    assert server.requests and all("dimensions" not in r for r in server.requests)
