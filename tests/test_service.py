"""``agent-memory serve``: the /v1 API, its keys, its limits, and a client that tries to cheat."""

from __future__ import annotations

import io
import json
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from agent_memory import MemorySystem
from agent_memory._processes import free_port, start_server, stop_server
from agent_memory.auth._keys import KeyStore
from agent_memory.cli._main import main
from agent_memory.server._app import ServiceSettings, create_app
from agent_memory.testing import HashEmbedder

TEST_HOST = ServiceSettings(allowed_hosts=("testserver",))  # TestClient's Host


class Service:
    """An app over an in-memory store, with a key per role, driven by FastAPI's TestClient (httpx)."""

    def __init__(self, tmp: Path, service_settings: ServiceSettings = TEST_HOST) -> None:
        self.memory = MemorySystem(embedder=HashEmbedder(32), path=":memory:")
        self.keys = KeyStore(tmp / "keys.jsonl")
        self.alice = self.keys.create(user_id="alice")[1]
        self.bob = self.keys.create(user_id="bob")[1]
        self.planner = self.keys.create(user_id="alice", agent_id="planner")[1]
        self.admin = self.keys.create(admin=True)[1]
        self.client = TestClient(create_app(self.memory, self.keys, settings=service_settings))
        self.client.__enter__()  # runs the app's start-up; close() its shutdown (which closes the memory)

    def close(self) -> None:
        self.client.__exit__(None, None, None)

    def call(self, method: str, url: str, key: str | None, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return self.client.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    s = Service(tmp_path)
    yield s
    s.close()


def test_store_search_get_update_history_delete(service: Service) -> None:
    stored = service.call("POST", "/v1/memories", service.alice, json={"texts": ["Alice likes tea", "Alice has a cat"]})
    assert stored.status_code == 201
    tea, cat = stored.json()["memories"]
    assert tea["user_id"] == "alice"
    hits = service.call("POST", "/v1/search", service.alice, json={"query": "Alice likes tea", "top_k": 1}).json()
    assert hits["hits"][0]["id"] == tea["id"] and 0 <= hits["hits"][0]["score"] <= 1
    assert service.call("GET", f"/v1/memories/{cat['id']}", service.alice).json()["text"] == "Alice has a cat"
    patched = service.call("PATCH", f"/v1/memories/{tea['id']}", service.alice, json={"text": "Alice likes coffee"})
    assert patched.json()["text"] == "Alice likes coffee"
    events = service.call("GET", f"/v1/memories/{tea['id']}/history", service.alice).json()["events"]
    assert [e["action"] for e in events] == ["create", "update"]
    assert service.call("DELETE", f"/v1/memories/{tea['id']}", service.alice).status_code == 204
    assert service.call("GET", f"/v1/memories/{tea['id']}", service.alice).status_code == 404
    listed = service.call("GET", "/v1/memories", service.alice).json()["memories"]
    assert [m["text"] for m in listed] == ["Alice has a cat"]
    assert service.call("GET", "/v1/stats", service.alice).json() == {"memories": 1, "users": {"alice": 1}}
    assert service.call("GET", "/v1/health", None).json() == {"status": "ok"}


def test_no_key_a_forged_key_and_a_revoked_key_get_401(service: Service) -> None:
    for key in (None, "amk_000000000000_forged", service.alice[:-2] + "xx"):
        answer = service.call("GET", "/v1/memories", key)
        assert answer.status_code == 401 and answer.json()["error"]["type"] == "AuthenticationError"
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    key_id = service.bob.split("_")[1]
    assert service.keys.revoke(key_id)
    assert service.call("GET", "/v1/memories", service.bob).status_code == 401
    # A bad body without a key is still a 401: nothing about the API leaks to a stranger.
    assert service.call("POST", "/v1/search", None, json={"nonsense": 1}).status_code == 401


def test_bob_cannot_reach_alices_memories(service: Service) -> None:
    mine = service.call("POST", "/v1/memories", service.alice, json={"text": "Alice's PIN is 1234"}).json()
    memory_id = mine["memories"][0]["id"]
    for method, url, body in [
        ("GET", f"/v1/memories/{memory_id}", None),
        ("PATCH", f"/v1/memories/{memory_id}", {"text": "hacked"}),
        ("DELETE", f"/v1/memories/{memory_id}", None),
    ]:
        assert service.call(method, url, service.bob, json=body).status_code == 404
    assert service.call("GET", "/v1/memories?user_id=alice", service.bob).status_code == 403
    stolen = service.call("POST", "/v1/search", service.bob, json={"query": "PIN", "user_id": "alice"})
    assert stolen.status_code == 403 and stolen.json()["error"]["type"] == "PermissionDeniedError"
    assert service.call("POST", "/v1/search", service.bob, json={"query": "PIN"}).json() == {"hits": []}
    assert service.memory.get_memory(memory_id, user_id="alice").text == "Alice's PIN is 1234"  # type: ignore[union-attr]


def test_admin_keys_must_name_the_user(service: Service) -> None:
    nameless = service.call("POST", "/v1/memories", service.admin, json={"text": "x"})
    assert nameless.status_code == 422 and "admin key must name" in nameless.json()["error"]["message"]
    named = service.call("POST", "/v1/memories", service.admin, json={"text": "Carol likes jazz", "user_id": "carol"})
    assert named.status_code == 201 and named.json()["memories"][0]["user_id"] == "carol"
    assert service.call("GET", "/v1/stats", service.admin).json()["users"] == {"carol": 1}


def test_an_agents_key_writes_as_that_agent_and_sees_only_its_memories(service: Service) -> None:
    service.call("POST", "/v1/memories", service.alice, json={"text": "general fact"})
    planned = service.call("POST", "/v1/memories", service.planner, json={"text": "plan: book flights"}).json()
    assert planned["memories"][0]["agent_id"] == "planner"
    listed = service.call("GET", "/v1/memories", service.planner).json()["memories"]
    assert [m["text"] for m in listed] == ["plan: book flights"]
    other = service.call("POST", "/v1/memories", service.planner, json={"text": "x", "agent_id": "writer"})
    assert other.status_code == 403


def test_errors_have_one_shape_and_fitting_statuses(service: Service) -> None:
    cases = [
        ("POST", "/v1/search", {"query": "   "}, 422, "ValidationError"),
        ("POST", "/v1/search", {"query": "x", "mode": "fuzzy"}, 422, "ValidationError"),
        ("POST", "/v1/memories", {"text": "a", "texts": ["b"]}, 422, "ValidationError"),
        ("POST", "/v1/memories", {"text": "a", "surprise": 1}, 422, "ValidationError"),
        ("DELETE", "/v1/memories", None, 400, "ConfirmationRequired"),
        ("GET", "/v1/memories/nope", None, 404, "MemoryNotFoundError"),
    ]
    for method, url, body, status, kind in cases:
        answer = service.call(method, url, service.alice, json=body)
        assert answer.status_code == status, (url, answer.text)
        error = answer.json()["error"]
        assert error["type"] == kind and error["status"] == status and error["message"]
    service.call("POST", "/v1/memories", service.alice, json={"text": "a"})
    assert service.call("DELETE", "/v1/memories?confirm=true", service.alice).json() == {"deleted": 1}


def test_body_size_and_rate_are_limited(tmp_path: Path) -> None:
    s = Service(tmp_path, ServiceSettings(2_000, 1.0, 3, ("testserver",)))
    try:
        big = s.call("POST", "/v1/memories", s.alice, json={"text": "x" * 5_000})
        assert big.status_code == 413 and big.json()["error"]["type"] == "RequestTooLarge"
        statuses = [s.call("GET", "/v1/stats", s.bob).status_code for _ in range(5)]
        assert statuses[:2] == [200, 200] and statuses[-1] == 429
        limited = s.call("GET", "/v1/stats", s.bob)
        assert int(limited.headers["Retry-After"]) >= 1
        assert s.call("GET", "/v1/stats", s.admin).status_code == 200  # another key has its own bucket
    finally:
        s.close()


def test_the_openapi_schema_is_valid_and_lists_every_route(service: Service) -> None:
    schema = service.call("GET", "/openapi.json", None).json()
    validate(schema)
    assert {"/v1/memories", "/v1/memories/{memory_id}", "/v1/memories/{memory_id}/history", "/v1/search"} <= set(
        schema["paths"]
    )
    assert "/v1/remember" not in schema["paths"]  # only with an LLM


def test_the_access_log_has_no_text_and_no_key(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="agent_memory.access"):
        service.call("POST", "/v1/memories", service.alice, json={"text": "Alice's secret diary entry"})
        service.call("GET", "/v1/memories", "amk_000000000000_wrong")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "agent_memory.access"]
    assert [(line["route"], line["status"]) for line in lines] == [("/v1/memories", 201), ("/v1/memories", 401)]
    assert "secret" not in caplog.text and service.alice not in caplog.text and "wrong" not in caplog.text


operations = st.lists(
    st.tuples(
        st.sampled_from(["get", "patch", "delete", "search", "list", "delete_all", "history", "store"]),
        st.integers(min_value=0, max_value=2),
        st.sampled_from([None, "alice", "bob"]),
    ),
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations)
def test_no_sequence_of_bobs_requests_touches_alice(tmp_path: Path, steps: list[tuple[str, int, str | None]]) -> None:
    s = Service(tmp_path / str(time.monotonic_ns()))
    try:
        texts = ["Alice likes tea", "Alice's PIN is 1234", "Alice lives in Porto"]
        ids = [m["id"] for m in s.call("POST", "/v1/memories", s.alice, json={"texts": texts}).json()["memories"]]
        before = {m.id: m for m in s.memory.list_memories(user_id="alice")}
        for action, which, named in steps:
            answer = _bob_does(s, action, ids[which], named)
            assert "Alice" not in answer.text, (action, answer.text)
        assert {m.id: m for m in s.memory.list_memories(user_id="alice")} == before
    finally:
        s.close()


def _bob_does(s: Service, action: str, memory_id: str, named: str | None) -> httpx.Response:
    query = f"?user_id={named}" if named else ""
    body = {"user_id": named} if named else {}
    calls = {
        "get": ("GET", f"/v1/memories/{memory_id}{query}", None),
        "patch": ("PATCH", f"/v1/memories/{memory_id}", {"text": "Bob was here", **body}),
        "delete": ("DELETE", f"/v1/memories/{memory_id}{query}", None),
        "search": ("POST", "/v1/search", {"query": "Alice tea PIN Porto", **body}),
        "list": ("GET", f"/v1/memories{query}", None),
        "delete_all": ("DELETE", f"/v1/memories?confirm=true{'&user_id=' + named if named else ''}", None),
        "history": ("GET", f"/v1/memories/{memory_id}/history{query}", None),
        "store": ("POST", "/v1/memories", {"text": "Bob likes Alice's tea", **body}),
    }
    method, url, json_body = calls[action]
    answer = s.call(method, url, s.bob, json=json_body)
    if action == "store" and answer.status_code == 201:  # his own memory may name her; it is his
        s.call("DELETE", "/v1/memories?confirm=true", s.bob)
        return httpx.Response(201)
    return answer


def test_serve_runs_as_a_process_and_refuses_without_keys(minilm: str, tmp_path: Path) -> None:
    db = tmp_path / "db"
    assert main(["serve", "--path", str(db), "--model", minilm]) != 0  # no key yet: it does not start
    out = io.StringIO()
    assert main(["keys", "create", "--user", "alice", "--path", str(db)], out=out) == 0
    key, log = out.getvalue().strip(), tmp_path / "serve.log"
    process, url = _serve(minilm, log, "--path", str(db))
    try:
        auth = {"Authorization": f"Bearer {key}"}
        assert httpx.get(f"{url}/memories", timeout=30).status_code == 401
        assert (
            httpx.post(f"{url}/memories", json={"text": "Alice likes tea"}, headers=auth, timeout=60).status_code == 201
        )
        hits = httpx.post(f"{url}/search", json={"query": "What does Alice drink?"}, headers=auth, timeout=60).json()
        assert hits["hits"][0]["text"] == "Alice likes tea"
        assert httpx.get(f"{url}/health", headers={"Host": "evil.example"}, timeout=30).status_code == 400
    finally:
        stop_server(process)
    assert '"route": "/v1/search"' in log.read_text() and "Alice" not in log.read_text()


def _serve(minilm: str, log: Path, *options: str) -> tuple[subprocess.Popen[bytes], str]:
    """``agent-memory serve`` as a process of its own, once it answers; its process and its /v1 URL."""
    port = free_port()
    command = [sys.executable, "-m", "agent_memory", "serve", "--model", minilm, "--port", str(port), *options]
    process = start_server(command, f"http://127.0.0.1:{port}/v1/health", timeout=120, log=log)
    return process, f"http://127.0.0.1:{port}/v1"


def test_two_workers_on_one_chroma_server_store_a_text_once(minilm: str, tmp_path: Path, chroma_server: str) -> None:
    keys = KeyStore(tmp_path / "keys.jsonl")
    key = keys.create(user_id="alice")[1]
    assert main(["serve", "--keys", str(keys.path), "--model", minilm, "--workers", "2", "--path", str(tmp_path)]) != 0
    collection = f"workers-{time.monotonic_ns()}"
    options = ["--keys", str(keys.path), "--workers", "2", "--chroma-url", chroma_server, "--collection", collection]
    options += ["--in-flight", "0"]  # twelve writes of one key at once, all answered: no cap on requests in flight
    process, url = _serve(minilm, tmp_path / "serve.log", *options)
    try:
        auth = {"Authorization": f"Bearer {key}"}

        def store(_: int) -> str:
            answer = httpx.post(f"{url}/memories", json={"text": "Alice likes tea"}, headers=auth, timeout=120)
            assert answer.status_code == 201, answer.text
            return str(answer.json()["memories"][0]["id"])

        with ThreadPoolExecutor(max_workers=12) as pool:
            ids = set(pool.map(store, range(24)))
        assert len(ids) == 1
        listed = httpx.get(f"{url}/memories", headers=auth, timeout=60).json()["memories"]
        assert [m["id"] for m in listed] == list(ids)
    finally:
        stop_server(process)


def test_stopping_the_service_lets_writes_in_flight_finish(minilm: str, tmp_path: Path) -> None:
    db = tmp_path / "db"
    out = io.StringIO()
    assert main(["keys", "create", "--user", "alice", "--path", str(db)], out=out) == 0
    key = out.getvalue().strip()
    process, url = _serve(minilm, tmp_path / "serve.log", "--path", str(db))
    texts = [f"Alice remembers thing number {i} from the long list" for i in range(600)]
    try:
        auth = {"Authorization": f"Bearer {key}"}
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(httpx.post, f"{url}/memories", json={"texts": texts}, headers=auth, timeout=120)
            time.sleep(0.5)  # the batch is being embedded and written now
            process.send_signal(signal.SIGTERM)
            answer = pending.result()
        assert answer.status_code == 201 and len(answer.json()["memories"]) == len(texts)
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once done
    finally:
        stop_server(process)
    with MemorySystem(minilm, path=str(db)) as memory:
        assert memory.count(user_id="alice") == len(texts)


def test_an_agents_key_sees_neither_another_agents_history_nor_its_count(service: Service) -> None:
    general = service.call("POST", "/v1/memories", service.alice, json={"text": "Alice's diary entry"}).json()
    memory_id = general["memories"][0]["id"]
    service.call("POST", "/v1/memories", service.planner, json={"text": "plan: book flights"})
    assert service.call("GET", f"/v1/memories/{memory_id}/history", service.planner).status_code == 404
    assert service.call("GET", f"/v1/memories/{memory_id}/history", service.alice).status_code == 200
    assert service.call("GET", "/v1/stats", service.planner).json() == {"memories": 1, "users": {"alice": 1}}


def test_a_streamed_body_over_the_limit_is_a_413_and_writes_nothing(tmp_path: Path) -> None:
    s = Service(tmp_path, ServiceSettings(2_000, 50.0, 100, ("testserver",)))
    try:
        chunks = [b'{"text": "Alice likes tea"}', b" " * 3_000]  # valid JSON first: the rest must not be ignored

        def body() -> Iterator[bytes]:
            yield from chunks

        headers = {"Authorization": f"Bearer {s.alice}", "Content-Type": "application/json"}
        answer = s.client.post("/v1/memories", content=body(), headers=headers)
        assert answer.status_code == 413 and answer.json()["error"]["type"] == "RequestTooLarge"
        assert s.memory.count(user_id="alice") == 0
    finally:
        s.close()
