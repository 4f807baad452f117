"""The MCP server as a real subprocess, driven by the official SDK's client over stdio and HTTP."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from numpy.typing import NDArray

from agent_memory import ConfigurationError, LLMExtractor, MemorySystem, ValidationError
from agent_memory._processes import free_port, stop_server
from agent_memory.cli._main import main
from agent_memory.mcp._server import create_mcp_server
from agent_memory.testing import FakeChatServer, HashEmbedder, ScriptedLLM

TOOLS = {
    "store_memory",
    "search_memory",
    "list_memories",
    "update_memory",
    "expire_memory",
    "delete_memory",
    "delete_all_memories",
}


class ConstantEmbedder(HashEmbedder):
    """Every text gets the same vector: dense search cannot tell memories apart, hybrid finds the exact word."""

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return super().embed_documents(["same"] * len(texts))

    def embed_queries(self, queries: Sequence[str], task: str | None = None) -> NDArray[np.float32]:
        return self.embed_documents(queries)


def _result(result: Any) -> Any:
    assert not result.is_error, result.content
    content = result.structured_content
    return content["result"] if set(content) == {"result"} else content  # lists come wrapped, objects as they are


async def _session(client: Client) -> dict[str, Any]:
    """Every tool once, as an agent would use them; returns what came back."""
    tools = {t.name: t for t in (await client.list_tools()).tools}
    seen: dict[str, Any] = {"tools": tools}
    first = {"text": "Alice likes coffee", "metadata": {"src": "chat"}}
    stored = _result(await client.call_tool("store_memory", first))
    _result(await client.call_tool("store_memory", {"text": "Alice has a dog named Biscuit"}))
    seen["search"] = _result(await client.call_tool("search_memory", {"query": "What does Alice drink?", "top_k": 2}))
    updated = _result(await client.call_tool("update_memory", {"memory_id": stored["id"], "text": "Alice likes tea"}))
    seen["updated"] = updated
    seen["list"] = _result(await client.call_tool("list_memories", {}))
    seen["delete"] = _result(await client.call_tool("delete_memory", {"memory_id": stored["id"]}))
    seen["deleted_id"] = stored["id"]
    seen["errors"] = [
        await client.call_tool("search_memory", {"query": "   "}),
        await client.call_tool("update_memory", {"memory_id": "nope", "text": "x"}),
        await client.call_tool("delete_all_memories", {"confirm": False}),
    ]
    # An argument the schema does not have is ignored: the server's user still applies.
    seen["ignored"] = _result(await client.call_tool("store_memory", {"text": "Smuggled", "user_id": "mallory"}))
    seen["after"] = _result(await client.call_tool("list_memories", {}))
    dog = seen["after"][0]["id"]  # the dog is gone: kept as the past, not forgotten
    seen["expired"] = _result(await client.call_tool("expire_memory", {"memory_id": dog, "at": "2025-01-01T00:00:00"}))
    seen["now"] = _result(await client.call_tool("list_memories", {}))
    seen["then"] = _result(await client.call_tool("search_memory", {"query": "dog", "as_of": "2024-06-01T00:00:00Z"}))
    return seen


def _check(seen: dict[str, Any]) -> None:
    assert set(seen["tools"]) == TOOLS
    assert all("user_id" not in t.input_schema.get("properties", {}) for t in seen["tools"].values())
    assert all(t.description for t in seen["tools"].values())
    assert seen["search"][0]["text"] == "Alice likes coffee" and seen["search"][0]["user_id"] == "alice"
    assert seen["updated"]["text"] == "Alice likes tea"
    assert {m["text"] for m in seen["list"]} == {"Alice likes tea", "Alice has a dog named Biscuit"}
    assert seen["delete"] == {"id": seen["deleted_id"], "deleted": True}
    assert all(e.is_error for e in seen["errors"])
    messages = [e.content[0].text for e in seen["errors"]]
    assert "ValidationError" in messages[0] and "MemoryNotFoundError" in messages[1] and "confirm" in messages[2]
    assert seen["ignored"]["user_id"] == "alice"
    assert [m["text"] for m in seen["after"]] == ["Alice has a dog named Biscuit", "Smuggled"]
    assert seen["expired"]["valid_until"] == "2025-01-01T00:00:00+00:00"  # without an offset: UTC
    assert [m["text"] for m in seen["now"]] == ["Smuggled"]
    assert "Alice has a dog named Biscuit" in [h["text"] for h in seen["then"]]


def _command(minilm: str, path: Path, *extra: str) -> list[str]:
    options = ["--model", minilm, "--path", str(path), "--user", "alice", *extra]
    return [sys.executable, "-m", "agent_memory", "mcp", *options]


def test_stdio_server_store_search_list_update_delete(minilm: str, tmp_path: Path) -> None:
    command = _command(minilm, tmp_path / "db")
    params = StdioServerParameters(command=command[0], args=command[1:])

    async def run() -> dict[str, Any]:
        async with Client(params, read_timeout_seconds=120) as client:
            return await _session(client)

    _check(asyncio.run(run()))
    with MemorySystem(minilm, path=str(tmp_path / "db")) as memory:  # it really wrote to the store
        stored = memory.list_memories(user_id="alice", include_expired=True)  # the expired dog is kept
        assert [m.text for m in stored] == ["Alice has a dog named Biscuit", "Smuggled"]
        assert memory.count(user_id="mallory") == 0


def _new_key(db: Path, *options: str) -> str:
    out = io.StringIO()
    assert main(["keys", "create", "--path", str(db), *options], out=out) == 0
    return out.getvalue().strip()


def _start_http(
    minilm: str, db: Path, log: Path, *options: str, serve: bool = False
) -> tuple[subprocess.Popen[bytes], int]:
    """``agent-memory mcp --http PORT`` (or ``serve --port PORT``: the same app) once it listens."""
    port = free_port()
    how = ["serve", "--port", str(port)] if serve else ["mcp", "--http", str(port)]
    command = [sys.executable, "-m", "agent_memory", *how, "--model", minilm, "--path", str(db)]
    process = subprocess.Popen(
        [*command, *options], stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    assert process.poll() is None, log.read_text()
    return process, port


@dataclass
class HttpServer:
    url: str
    db: Path
    keys: dict[str, str]


@pytest.fixture
def http_server(minilm: str, tmp_path: Path) -> Iterator[HttpServer]:
    db = tmp_path / "db"
    keys = {"alice": _new_key(db, "--user", "alice"), "bob": _new_key(db, "--user", "bob")}
    process, port = _start_http(minilm, db, tmp_path / "server.log", serve=True)  # MCP at serve's /mcp
    try:
        yield HttpServer(f"http://127.0.0.1:{port}/mcp", db, keys)
    finally:
        stop_server(process)


def _client(url: str, key: str | None) -> Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    transport = streamable_http_client(url, http_client=create_mcp_http_client(headers=headers))
    return Client(transport, read_timeout_seconds=120)


def test_http_server_store_search_list_update_delete(http_server: HttpServer) -> None:
    async def run() -> dict[str, Any]:
        async with _client(http_server.url, http_server.keys["alice"]) as client:
            return await _session(client)

    _check(asyncio.run(run()))


def _initialize(url: str, key: str | None, host: str | None = None) -> int:
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    headers |= {"Authorization": f"Bearer {key}"} if key else {}
    headers |= {"Host": host} if host else {}
    client = {"name": "curl", "version": "1"}
    params = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": client}
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
    return httpx.post(url, json=body, headers=headers, timeout=30).status_code


def test_http_server_refuses_calls_without_a_live_key(http_server: HttpServer) -> None:
    assert _initialize(http_server.url, None) == 401
    assert _initialize(http_server.url, "amk_000000000000_forged") == 401
    assert _initialize(http_server.url, http_server.keys["bob"]) == 200
    key_id = http_server.keys["bob"].split("_")[1]
    assert main(["keys", "revoke", key_id, "--path", str(http_server.db)], out=io.StringIO()) == 0
    time.sleep(1.0)  # a revocation reaches a running server within a second
    assert _initialize(http_server.url, http_server.keys["bob"]) == 401


def test_bobs_key_never_reaches_alices_memories(http_server: HttpServer) -> None:
    async def run() -> tuple[Any, Any, Any, Any, str]:
        async with _client(http_server.url, http_server.keys["alice"]) as alice:
            stored = _result(await alice.call_tool("store_memory", {"text": "Alice's PIN is 1234"}))
        async with _client(http_server.url, http_server.keys["bob"]) as bob:
            listed = _result(await bob.call_tool("list_memories", {}))
            found = _result(await bob.call_tool("search_memory", {"query": "PIN", "top_k": 5}))
            smuggled = await bob.call_tool("list_memories", {"user_id": "alice"})  # not in the schema: ignored
            deleted = await bob.call_tool("delete_memory", {"memory_id": stored["id"]})
        return listed, found, _result(smuggled), _result(deleted), stored["id"]

    listed, found, smuggled, deleted, pin = asyncio.run(run())
    assert listed == [] and found == [] and smuggled == [] and deleted == {"id": pin, "deleted": False}


def test_a_key_bound_to_an_agent_writes_as_it_and_sees_only_its_memories(http_server: HttpServer) -> None:
    agent_key = _new_key(http_server.db, "--user", "alice", "--agent", "planner")

    async def run() -> tuple[Any, Any, Any, Any, Any]:
        async with _client(http_server.url, http_server.keys["alice"]) as alice:
            general = _result(await alice.call_tool("store_memory", {"text": "Alice's PIN is 1234"}))
        async with _client(http_server.url, agent_key) as planner:
            planned = _result(await planner.call_tool("store_memory", {"text": "plan: book flights"}))
            listed = _result(await planner.call_tool("list_memories", {}))
            found = _result(await planner.call_tool("search_memory", {"query": "PIN 1234", "top_k": 5}))
            touched = await planner.call_tool("update_memory", {"memory_id": general["id"], "text": "hacked"})
        return planned, listed, found, touched, general

    planned, listed, found, touched, general = asyncio.run(run())
    assert planned["agent_id"] == "planner" and planned["user_id"] == "alice"
    assert [m["text"] for m in listed] == [h["text"] for h in found] == ["plan: book flights"]
    assert touched.is_error and "MemoryNotFoundError" in touched.content[0].text
    assert general["agent_id"] is None


def test_a_public_address_checks_host_and_admin_keys_name_the_user(minilm: str, tmp_path: Path) -> None:
    db = tmp_path / "db"
    admin = _new_key(db, "--admin")
    options = ("--host", "0.0.0.0", "--allowed-host", "127.0.0.1", "--allow-any-user")
    process, port = _start_http(minilm, db, tmp_path / "server.log", *options)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        assert _initialize(url, admin, host="evil.example") in (400, 403, 421)  # a forged Host is refused
        assert _initialize(url, admin) == 200

        async def run() -> tuple[Any, Any]:
            async with _client(url, admin) as client:
                nameless = await client.call_tool("store_memory", {"text": "x"})
                named = await client.call_tool("store_memory", {"text": "Carol likes jazz", "user_id": "carol"})
                return nameless, _result(named)

        nameless, named = asyncio.run(run())
        assert nameless.is_error and "user_id" in nameless.content[0].text
        assert named["user_id"] == "carol"
    finally:
        stop_server(process)


def test_http_needs_keys_and_named_hosts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "db")
    assert main(["mcp", "--path", db, "--model", "m", "--http", "1"]) != 0
    assert "no API key" in capsys.readouterr().err
    assert main(["mcp", "--path", db, "--model", "m", "--http", "1", "--user", "alice"]) != 0
    assert "--user is for stdio" in capsys.readouterr().err


def test_any_user_mode_puts_user_id_in_every_schema() -> None:
    with MemorySystem(embedder=HashEmbedder(), path=":memory:") as memory:
        server = create_mcp_server(memory, allow_any_user=True)

        async def run() -> tuple[list[Any], Any, Any]:
            async with Client(server) as client:
                tools = (await client.list_tools()).tools
                await client.call_tool("store_memory", {"user_id": "bob", "text": "Bob likes tea"})
                mine = await client.call_tool("list_memories", {"user_id": "bob"})
                theirs = await client.call_tool("list_memories", {"user_id": "carol"})
                return tools, mine, theirs

        tools, mine, theirs = asyncio.run(run())
    assert all("user_id" in t.input_schema["required"] for t in tools)
    assert [m["text"] for m in _result(mine)] == ["Bob likes tea"] and _result(theirs) == []


def test_the_operator_must_choose_the_user() -> None:
    with MemorySystem(embedder=HashEmbedder(), path=":memory:") as memory:
        with pytest.raises(ConfigurationError, match="user"):
            create_mcp_server(memory)
        with pytest.raises(ConfigurationError, match="not both"):
            create_mcp_server(memory, user_id="alice", allow_any_user=True)


def test_search_uses_the_servers_mode_and_reports_score_and_similarity() -> None:
    facts = ["Alice moved to Lisbon last spring", "Alice has a dog called Biscuit", "Alice is allergic to peanuts"]

    async def search(server: Any) -> Any:
        async with Client(server) as client:
            return _result(await client.call_tool("search_memory", {"query": "Biscuit", "top_k": 3}))

    with MemorySystem(embedder=ConstantEmbedder(), path=":memory:") as memory:
        memory.store_memories(facts, user_id="alice")
        hybrid = asyncio.run(search(create_mcp_server(memory, user_id="alice")))
        dense = asyncio.run(search(create_mcp_server(memory, user_id="alice", mode="dense")))
        with pytest.raises(ValidationError, match="mode must be one of"):
            create_mcp_server(memory, user_id="alice", mode="sparse")
    assert hybrid[0]["text"] == facts[1]  # the exact word, found by the default hybrid search
    assert [h["similarity"] for h in hybrid] == pytest.approx([hybrid[0]["similarity"]] * 3)  # not by the vectors
    assert all({"score", "similarity"} <= set(h) for h in hybrid + dense)
    assert len({h["score"] for h in dense}) == 1  # dense search alone cannot tell them apart


def test_the_cli_passes_its_search_mode_to_the_server(
    minilm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    modes: list[str] = []

    class Server:
        def run(self, *args: Any, **kwargs: Any) -> None:
            """Return at once instead of serving."""

    def create(memory: MemorySystem, **options: Any) -> Server:
        modes.append(options["mode"])
        return Server()

    monkeypatch.setattr("agent_memory.mcp._server.create_mcp_server", create)
    command = _command(minilm, tmp_path / "db")[3:]  # from "mcp" on
    assert main(command) == 0 and main([*command, "--mode", "dense"]) == 0
    assert modes == ["hybrid", "dense"]
    with pytest.raises(SystemExit):
        main([*command, "--mode", "sparse"])
    assert "invalid choice: 'sparse'" in capsys.readouterr().err


def test_the_documented_client_configuration_is_valid_json() -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "mcp.md").read_text(encoding="utf-8")
    block = page.split("```json\n", 1)[1].split("```", 1)[0]
    config = json.loads(block)
    server = config["mcpServers"]["agent-memory"]
    assert server["command"] == "agent-memory" and server["args"][:3] == ["mcp", "--user", "alice"]


def test_remember_is_offered_with_an_extractor_and_reconciles() -> None:
    with MemorySystem(embedder=HashEmbedder(), path=":memory:") as memory:
        old = memory.store_memory("Alice lives in Paris", user_id="alice")
        memory.store_memory("Bob lives in Paris", user_id="bob")
        decided = {"decisions": [{"fact": "1", "action": "update", "id": "1.1"}]}
        script = ScriptedLLM([{"facts": ["Alice lives in Berlin"]}, decided])
        server = create_mcp_server(memory, user_id="alice", extractor=LLMExtractor(script))

        async def run() -> tuple[set[str], Any, Any]:
            async with Client(server) as client:
                tools = {t.name: t for t in (await client.list_tools()).tools}
                said = [{"role": "user", "content": "I live in Berlin now.", "time": "2024-05-08T10:00:00"}]
                changes = await client.call_tool("remember", {"messages": said})
                bad = await client.call_tool("remember", {"messages": [{"role": "user", "content": 5}]})
                return tools, changes, bad

        tools, changes, bad = asyncio.run(run())
        assert "user_id" not in tools["remember"].input_schema["properties"]
        [change] = _result(changes)
        assert (change["event"], change["id"], change["old_text"]) == ("updated", old.id, "Alice lives in Paris")
        assert change["new_text"] == "Alice lives in Berlin"
        assert bad.is_error
        assert "[2024-05-08 (Wednesday) 10:00] user: I live in Berlin now." in script.prompts[0][-1]["content"]
        assert [m.text for m in memory.list_memories(user_id="bob")] == ["Bob lives in Paris"]
        assert memory.history(old.id, user_id="alice")[-1].actor == "agent:mcp"
    with MemorySystem(embedder=HashEmbedder(), path=":memory:") as memory, pytest.raises(ConfigurationError):
        create_mcp_server(memory, user_id="alice", extractor=object())  # type: ignore[arg-type]


def test_the_cli_server_remembers_through_an_openai_compatible_llm(minilm: str, tmp_path: Path) -> None:
    llm = FakeChatServer([{"facts": ["Alice is allergic to peanuts"]}])
    url = llm.url
    command = _command(minilm, tmp_path / "db", "--llm-model", "scripted", "--llm-base-url", url)
    params = StdioServerParameters(command=command[0], args=command[1:])

    async def run() -> Any:
        async with Client(params, read_timeout_seconds=120) as client:
            said = [{"role": "user", "content": "I'm allergic to peanuts."}]
            return _result(await client.call_tool("remember", {"messages": said}))

    try:
        [change] = asyncio.run(run())
    finally:
        llm.shutdown()
    assert (change["event"], change["new_text"], change["problem"]) == ("added", "Alice is allergic to peanuts", None)
    assert llm.requests[0]["model"] == "scripted"
    with MemorySystem(minilm, path=str(tmp_path / "db")) as memory:
        assert [m.text for m in memory.list_memories(user_id="alice")] == ["Alice is allergic to peanuts"]


def test_the_servers_agent_tags_what_it_stores_and_its_reads_see_the_whole_user() -> None:
    with MemorySystem(embedder=HashEmbedder(), path=":memory:") as memory:
        memory.store_memory("Alice likes tea", user_id="alice")  # stored by no agent
        server = create_mcp_server(memory, user_id="alice", agent_id="planner")

        async def run() -> tuple[Any, Any, Any]:
            async with Client(server) as client:
                stored = _result(await client.call_tool("store_memory", {"text": "Alice likes coffee"}))
                found = _result(await client.call_tool("search_memory", {"query": "Alice likes", "top_k": 5}))
                return stored, found, _result(await client.call_tool("list_memories", {}))

        stored, found, listed = asyncio.run(run())
        assert stored["agent_id"] == "planner"
        assert memory.history(stored["id"], user_id="alice")[-1].actor == "agent:planner"
    assert {h["text"] for h in found} == {m["text"] for m in listed} == {"Alice likes tea", "Alice likes coffee"}
