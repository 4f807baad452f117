"""The one gate in front of ``agent-memory serve`` (``/v1``, ``/ui``, ``/mcp``): what it checks before a
route runs, and in which order; the budget of work; errors in one shape; one access-log line a request.

In process (FastAPI's TestClient, or the app called as ASGI where the test must see every ``receive``);
the slow clients of a real ``serve`` are in ``tests/test_slow_clients.py``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from agent_memory import ConfigurationError, MemorySystem
from agent_memory.auth._keys import KeyStore
from agent_memory.server._app import ServiceSettings, create_app
from agent_memory.testing import HashEmbedder

HOSTS = ("testserver", "memory.example.com")
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}


class Served:
    """The service's app over an in-memory store, a key per role, and a TestClient (lifespan entered)."""

    def __init__(self, tmp: Path, memory: MemorySystem | None = None, **settings: Any) -> None:
        self.memory = memory or MemorySystem(embedder=HashEmbedder(32), path=":memory:")
        self.keys = KeyStore(tmp / "keys.jsonl")
        self.alice = self.keys.create(user_id="alice")[1]
        self.bob = self.keys.create(user_id="bob")[1]
        self.planner = self.keys.create(user_id="alice", agent_id="planner", label="planner-bot")[1]
        self.app = create_app(self.memory, self.keys, settings=ServiceSettings(allowed_hosts=HOSTS, **settings))
        self.client = TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)
        self.client.__enter__()

    def call(self, method: str, url: str, key: str | None, **kwargs: Any) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **({"Authorization": f"Bearer {key}"} if key else {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def tool(self, key: str | None, name: str, arguments: dict[str, Any], **headers: str) -> httpx.Response:
        """One MCP ``tools/call`` to ``/mcp`` (stateless: no session to open first)."""
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
        return self.call("POST", "/mcp", key, json=body, headers={**MCP_HEADERS, **headers})

    def close(self) -> None:
        self.client.__exit__(None, None, None)


def tool_result(answer: httpx.Response) -> tuple[bool, Any]:
    """(is_error, the result, or the error's text) of an MCP tool call's answer."""
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    if result["isError"]:
        return True, result["content"][0]["text"]
    content = result["structuredContent"]
    return False, content["result"] if set(content) == {"result"} else content


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    s = Served(tmp_path)
    yield s
    s.close()


def is_error_shape(answer: httpx.Response, status: int | None = None) -> bool:
    error = answer.json()["error"]
    return set(error) == {"type", "message", "status"} and error["status"] == answer.status_code == (
        status or answer.status_code
    )


async def asgi(app: Any, method: str, path: str, headers: dict[str, str], chunks: list[bytes], delay: float = 0.0):  # type: ignore[no-untyped-def]
    """Call ``app`` as a server would, with the body in ``chunks`` (``delay`` seconds before each);
    returns the status, the response headers and how many times the app asked for the body."""
    asked, sent = 0, iter(chunks)

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        await asyncio.sleep(delay)
        chunk = next(sent, b"")
        return {"type": "http.request", "body": chunk, "more_body": chunk != b""}

    answer: dict[str, Any] = {}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"], answer["headers"] = message["status"], dict(message["headers"])

    raw = [(k.lower().encode(), v.encode()) for k, v in {"host": "testserver", **headers}.items()]
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": raw, "client": ("127.0.0.1", 5000), "server": ("testserver", 80), "scheme": "http",
             "http_version": "1.1", "root_path": "", "asgi": {"version": "3.0"}, "state": {}}  # fmt: skip
    await app(scope, receive, send)
    return answer["status"], answer["headers"], asked


def test_the_key_is_checked_before_a_byte_of_the_body_is_read(served: Served) -> None:
    huge = {"content-type": "application/json", "content-length": str(50_000_000)}
    for headers, chunks in [(huge, [b"{" * 1000]), ({"content-type": "application/json"}, [b'{"text": ', b"]]]"])]:
        for key in (None, "amk_000000000000_forged"):
            auth = {"authorization": f"Bearer {key}"} if key else {}
            status, _, asked = asyncio.run(asgi(served.app, "POST", "/v1/memories", {**headers, **auth}, chunks))
            assert (status, asked) == (401, 0)  # not 413, not 422: the app never asked for the body
    status, _, asked = asyncio.run(asgi(served.app, "POST", "/mcp", huge, [b"x"]))
    assert (status, asked) == (401, 0)
    # with a live key the same bodies are refused for what they are
    status, _, asked = asyncio.run(
        asgi(served.app, "POST", "/v1/memories", {**huge, "authorization": f"Bearer {served.alice}"}, [b"{"])
    )
    assert (status, asked) == (413, 0)
    bad = served.call("POST", "/v1/memories", served.alice, content=b'{"text": ]]]')
    assert bad.status_code == 422 and is_error_shape(bad)


def test_a_body_that_does_not_arrive_in_time_is_a_408_and_the_connection_closes(tmp_path: Path) -> None:
    s = Served(tmp_path, body_timeout=0.5)
    try:
        auth = {"authorization": f"Bearer {s.alice}", "content-type": "application/json", "content-length": "100"}
        trickle = [b"{", b'"', b"t", b"e", b"x", b"t"] * 5  # a byte every 0.2 s: 6 s in all
        started = time.monotonic()
        status, headers, _ = asyncio.run(asyncio.wait_for(asgi(s.app, "POST", "/v1/memories", auth, trickle, 0.2), 5))
        assert status == 408 and headers[b"connection"] == b"close" and time.monotonic() - started < 2
        assert s.memory.count(user_id="alice") == 0
    finally:
        s.close()


def test_host_and_origin_name_this_server_bare_or_with_a_port(served: Served) -> None:
    for host in ("memory.example.com", "memory.example.com:443", "MEMORY.example.com:8080", "testserver"):
        assert served.call("GET", "/v1/health", None, headers={"Host": host}).status_code == 200, host
        answer = served.tool(served.alice, "list_memories", {}, Host=host)  # behind a TLS proxy: a bare Host
        assert not tool_result(answer)[0], host
    for host in ("evil.example", "memory.example.com.evil.example", "", "[::1]"):
        refused = served.call("GET", "/v1/health", None, headers={"Host": host})
        assert refused.status_code == 400 and is_error_shape(refused), host
        assert served.tool(served.alice, "list_memories", {}, Host=host).status_code == 400
    for origin in ("https://memory.example.com", "http://testserver:3000"):
        assert served.call("GET", "/v1/memories", served.alice, headers={"Origin": origin}).status_code == 200
    for origin in ("https://evil.example", "null", "file://", "https://memory.example.com.evil.example"):
        refused = served.call("GET", "/v1/memories", served.alice, headers={"Origin": origin})
        assert refused.status_code == 403 and refused.json()["error"]["type"] == "InvalidOrigin", origin
        assert served.tool(served.alice, "list_memories", {}, Origin=origin).status_code == 403


def test_mcp_is_behind_the_gate_and_takes_only_bearer_keys(served: Served) -> None:
    for key in (None, "amk_000000000000_forged"):
        refused = served.tool(key, "list_memories", {})
        assert refused.status_code == 401 and is_error_shape(refused)
    served.call("POST", "/v1/memories", served.alice, json={"text": "Alice likes tea"})
    stored = tool_result(served.tool(served.alice, "store_memory", {"text": "Alice likes jazz"}))[1]
    assert stored["user_id"] == "alice" and stored["agent_id"] is None
    assert served.memory.history(stored["id"], user_id="alice")[-1].actor.startswith("agent:mcp via key:")
    assert tool_result(served.tool(served.bob, "list_memories", {}))[1] == []  # bob's key: bob's memories


def test_an_agents_key_works_over_mcp_scoped_as_on_the_api(served: Served) -> None:
    general = served.memory.store_memory("Alice's diary: the PIN is 1234", user_id="alice")
    error, planned = tool_result(served.tool(served.planner, "store_memory", {"text": "plan: book flights"}))
    assert not error and planned["agent_id"] == "planner"
    assert served.memory.history(planned["id"], user_id="alice")[-1].actor == "agent:planner via key:planner-bot"
    listed = tool_result(served.tool(served.planner, "list_memories", {}))[1]
    found = tool_result(served.tool(served.planner, "search_memory", {"query": "diary PIN 1234", "top_k": 5}))[1]
    assert [m["text"] for m in listed] == [h["text"] for h in found] == ["plan: book flights"]
    for name, arguments in [
        ("update_memory", {"memory_id": general.id, "text": "hacked"}),
        ("expire_memory", {"memory_id": general.id}),
    ]:
        error, message = tool_result(served.tool(served.planner, name, arguments))
        assert error and "MemoryNotFoundError" in message
    assert tool_result(served.tool(served.planner, "delete_memory", {"memory_id": general.id}))[1]["deleted"] is False
    assert tool_result(served.tool(served.planner, "delete_all_memories", {"confirm": True}))[1] == {"deleted": 1}
    assert served.memory.get_memory(general.id, user_id="alice") == general  # untouched, not expired


def test_every_request_is_logged_once_without_text_or_key(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="agent_memory.access"):
        served.call("POST", "/v1/memories", served.alice, json={"text": "Alice's secret diary entry"})
        served.call("GET", "/v1/memories", "amk_000000000000_wrong")
        served.call("GET", "/v1/health", None, headers={"Host": "evil.example"})
        served.tool(served.alice, "store_memory", {"text": "another secret"})
        served.call("GET", "/nowhere/secret", None)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "agent_memory.access"]
    assert [(line["route"], line["status"]) for line in lines] == [
        ("/v1/memories", 201),
        ("/v1/memories", 401),
        ("/v1/health", 400),
        ("/mcp", 200),
        ("(none)", 401),
    ]
    assert lines[0]["key"] == lines[3]["key"] == served.alice.split("_")[1] and lines[1]["key"] is None
    assert "secret" not in caplog.text and served.alice not in caplog.text and "wrong" not in caplog.text


SECRET = "Alice's diary: the PIN is 1234"


class _Failing(MemorySystem):
    """A store whose count fails unexpectedly, with a message that quotes a memory."""

    def count(self, **scope: Any) -> int:
        raise RuntimeError(SECRET)


def test_an_unexpected_error_is_a_logged_500_in_the_error_shape(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    s = Served(tmp_path, memory=_Failing(embedder=HashEmbedder(32), path=":memory:"))
    try:
        with caplog.at_level(logging.INFO):
            failed = s.call("GET", "/v1/stats", s.alice)
        assert (
            failed.status_code == 500 and is_error_shape(failed) and failed.json()["error"]["type"] == "InternalError"
        )
        [logged] = [r for r in caplog.records if r.name == "agent_memory.server"]
        assert "GET /v1/stats failed" in logged.getMessage() and "RuntimeError" in logged.getMessage()
        assert "_Failing" in logged.getMessage() or "count" in logged.getMessage()  # the traceback
        assert "PIN" not in caplog.text and "PIN" not in failed.text
        assert '"status": 500' in caplog.text  # and an access-log line
    finally:
        s.close()


def test_numbers_past_what_the_store_takes_come_back_in_the_error_shape(served: Served) -> None:
    served.call("POST", "/v1/memories", served.alice, json={"text": "Alice likes tea"})
    answers = [
        served.call("GET", "/v1/memories?offset=4294967296", served.alice),
        served.call("GET", f"/v1/memories?offset={2**63}", served.alice),
        served.call("POST", "/v1/search", served.alice, json={"query": "tea", "top_k": 2**63}),
        served.call("POST", "/v1/search", served.alice, json={"query": "tea", "top_k": 2**64}),
    ]
    for answer in answers:  # the library's limits: a 422 naming the limit, never a plain-text 500
        assert answer.status_code == 422 and is_error_shape(answer), answer.text
        assert "max_offset" in answer.text or "max_top_k" in answer.text or "less than or equal" in answer.text


def test_the_budget_of_work_counts_texts_not_requests(tmp_path: Path) -> None:
    s = Served(tmp_path, embed_per_second=0.1, embed_burst=10)  # a text back every 10 s
    try:
        texts = [f"fact {i}" for i in range(10)]
        assert s.call("POST", "/v1/memories", s.alice, json={"texts": texts}).status_code == 201
        over = s.call("POST", "/v1/search", s.alice, json={"query": "fact"})
        assert over.status_code == 429 and int(over.headers["Retry-After"]) >= 5 and is_error_shape(over)
        assert "texts embedded" in over.json()["error"]["message"]
        assert s.call("POST", "/v1/search", s.bob, json={"query": "fact"}).status_code == 200  # bob's own budget
        error, message = tool_result(s.tool(s.alice, "store_memory", {"text": "one more"}))  # MCP pays from it too
        assert error and "RateLimitedError" in message
        too_big = s.call("POST", "/v1/memories", s.bob, json={"texts": [f"t{i}" for i in range(11)]})
        assert too_big.status_code == 422 and "at most 10 texts embedded" in too_big.json()["error"]["message"]
        assert s.call("GET", "/v1/memories", s.alice).status_code == 200  # reading embeds nothing
        assert s.memory.count(user_id="alice") == 10 and s.memory.count(user_id="bob") == 0
    finally:
        s.close()


def test_sign_in_attempts_are_limited_per_client_address(tmp_path: Path) -> None:
    s = Served(tmp_path, logins_per_minute=3)
    try:
        statuses = [
            s.client.post("/ui/login", data={"key": "amk_0_x", "login_token": "t"}).status_code for _ in range(4)
        ]
        assert statuses == [403, 403, 403, 429]
        assert "Too many sign-in attempts" in s.client.post("/ui/login", data={}).text
    finally:
        s.close()


def test_signing_out_needs_the_sessions_csrf_token(served: Served) -> None:
    client = TestClient(served.app, follow_redirects=False)
    token = client.get("/ui/login").text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/ui/login", data={"key": served.alice, "login_token": token}).status_code == 303
    for forged in ({}, {"csrf": "forged"}):
        answer = client.post("/ui/logout", data=forged)
        assert "am_session" not in answer.headers.get("set-cookie", "")  # the cookie is kept
        assert client.get("/ui/memories").status_code == 200  # and the session alive
    stranger = TestClient(served.app, follow_redirects=False)  # another site's form: no cookie comes with it
    assert "am_session" not in stranger.post("/ui/logout", data={}).headers.get("set-cookie", "")


def test_settings_that_would_refuse_everyone_are_refused() -> None:
    for wrong in ({"header_timeout": 0}, {"body_timeout": -1}, {"max_body_bytes": 0}, {"embed_burst": 0},
                  {"in_flight_per_key": -1}):  # fmt: skip
        with pytest.raises(ConfigurationError):
            ServiceSettings(**wrong)  # type: ignore[arg-type]
    assert ServiceSettings(embed_per_second=0, embed_burst=0).embed_burst == 0  # no limit at all


def test_the_budget_counts_long_texts_for_what_they_cost(tmp_path: Path) -> None:
    """A text counts one unit per 500 characters started: 1,000 texts of 900 characters (a 0.9 MB body
    that cost 58 CPU seconds with MiniLM on this project's machine) are over the default burst."""
    from agent_memory.auth._gate import embedding_units

    assert [embedding_units(t) for t in ("", "tea", "x" * 500, "x" * 501, "x" * 100_000)] == [1, 1, 1, 2, 200]
    s = Served(tmp_path, embed_per_second=0.1, embed_burst=10)
    try:
        assert s.call("POST", "/v1/memories", s.alice, json={"texts": ["x" * 1000] * 5}).status_code == 201
        over = s.call("POST", "/v1/memories", s.bob, json={"texts": ["y" * 1000] * 6})  # 12 units
        assert over.status_code == 422 and "needs 12" in over.json()["error"]["message"]
    finally:
        s.close()


class _HoldingEmbedder(HashEmbedder):
    """Holds every query that says "hold" until ``release`` is set: requests that stay in flight."""

    def __init__(self) -> None:
        super().__init__(32)
        self.held, self.release = threading.Semaphore(0), threading.Event()

    def embed_queries(self, queries: Any, task: str | None = None) -> Any:
        if any("hold" in q for q in queries):
            self.held.release()
            assert self.release.wait(30), "the test never released its held requests"
        return super().embed_queries(queries, task)


def test_a_key_has_at_most_its_limit_of_requests_in_flight(tmp_path: Path) -> None:
    """One key's slow calls (searches at the limits take seconds) cannot hold every thread of the service:
    past ``in_flight_per_key`` its next request is a 429 at once; other keys, the user's agent key
    included, are answered, and the key's slots come back as its requests finish, refused or not."""
    embedder = _HoldingEmbedder()
    s = Served(tmp_path, MemorySystem(embedder=embedder, path=":memory:"), in_flight_per_key=2)
    admin = s.keys.create(admin=True)[1]  # an operator's backend, for many users: not counted
    try:
        search = lambda key, query: s.call("POST", "/v1/search", key, json={"query": query})  # noqa: E731
        for_alice = lambda query: s.call("POST", "/v1/search", admin, json={"query": query, "user_id": "alice"})  # noqa: E731
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            held = [pool.submit(search, s.alice, f"hold {i}") for i in range(2)]
            held += [pool.submit(for_alice, f"hold admin {i}") for i in range(2)]
            for _ in held:
                assert embedder.held.acquire(timeout=30)
            over = search(s.alice, "tea")
            assert over.status_code == 429 and over.headers["Retry-After"] == "1" and is_error_shape(over)
            assert "2 requests being answered" in over.json()["error"]["message"]
            assert s.tool(s.alice, "search_memory", {"query": "tea"}).status_code == 429  # /mcp counts too
            assert search(s.bob, "tea").status_code == 200 and search(s.planner, "tea").status_code == 200
            assert for_alice("tea").status_code == 200
            embedder.release.set()
            assert [f.result(timeout=30).status_code for f in held] == [200] * 4
        bad = [s.call("POST", "/v1/search", s.alice, json={"query": "tea", "top_k": 0}) for _ in range(3)]
        assert [b.status_code for b in bad] == [422] * 3  # refused by the app: their slots come back too
        assert [search(s.alice, "tea").status_code for _ in range(3)] == [200, 200, 200]
    finally:
        embedder.release.set()
        s.close()
