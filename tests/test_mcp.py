"""The MCP server as a real subprocess, driven by the official SDK's client over stdio and HTTP."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mcp import Client, StdioServerParameters
from numpy.typing import NDArray

from agent_memory import ConfigurationError, LLMExtractor, MemorySystem, ValidationError
from agent_memory._cli import main
from agent_memory._mcp import create_mcp_server
from agent_memory.testing import FakeChatServer, HashEmbedder, ScriptedLLM, free_port, stop_server

TOOLS = {"store_memory", "search_memory", "list_memories", "update_memory", "delete_memory", "delete_all_memories"}


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
    seen["errors"] = [
        await client.call_tool("search_memory", {"query": "   "}),
        await client.call_tool("update_memory", {"memory_id": "nope", "text": "x"}),
        await client.call_tool("delete_all_memories", {"confirm": False}),
    ]
    # An argument the schema does not have is ignored: the server's user still applies.
    seen["ignored"] = _result(await client.call_tool("store_memory", {"text": "Smuggled", "user_id": "mallory"}))
    seen["after"] = _result(await client.call_tool("list_memories", {}))
    return seen


def _check(seen: dict[str, Any]) -> None:
    assert set(seen["tools"]) == TOOLS
    assert all("user_id" not in t.input_schema.get("properties", {}) for t in seen["tools"].values())
    assert all(t.description for t in seen["tools"].values())
    assert seen["search"][0]["text"] == "Alice likes coffee" and seen["search"][0]["user_id"] == "alice"
    assert seen["updated"]["text"] == "Alice likes tea"
    assert {m["text"] for m in seen["list"]} == {"Alice likes tea", "Alice has a dog named Biscuit"}
    assert seen["delete"] == {"deleted": True}
    assert all(e.is_error for e in seen["errors"])
    messages = [e.content[0].text for e in seen["errors"]]
    assert "ValidationError" in messages[0] and "MemoryNotFoundError" in messages[1] and "confirm" in messages[2]
    assert seen["ignored"]["user_id"] == "alice"
    assert [m["text"] for m in seen["after"]] == ["Alice has a dog named Biscuit", "Smuggled"]


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
        assert [m.text for m in memory.list_memories(user_id="alice")] == ["Alice has a dog named Biscuit", "Smuggled"]
        assert memory.count(user_id="mallory") == 0


@pytest.fixture
def http_server(minilm: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    command = _command(minilm, tmp_path / "db", "--http", str(port))
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    try:
        assert process.poll() is None, (tmp_path / "server.log").read_text()
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop_server(process)


def test_http_server_store_search_list_update_delete(http_server: str) -> None:
    async def run() -> dict[str, Any]:
        async with Client(http_server, read_timeout_seconds=120) as client:
            return await _session(client)

    _check(asyncio.run(run()))


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

    monkeypatch.setattr("agent_memory._mcp.create_mcp_server", create)
    command = _command(minilm, tmp_path / "db")[3:]  # from "mcp" on
    assert main(command) == 0 and main([*command, "--mode", "dense"]) == 0
    assert modes == ["hybrid", "dense"]
    with pytest.raises(SystemExit):
        main([*command, "--mode", "sparse"])
    assert "invalid choice: 'sparse'" in capsys.readouterr().err


def test_the_readme_client_configuration_is_valid_json() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("```json\n", 1)[1].split("```", 1)[0]
    config = json.loads(block)
    server = config["mcpServers"]["agent-memory"]
    assert server["command"] == "agent-memory" and server["args"][:3] == ["mcp", "--user", "alice"]


def test_remember_is_offered_with_an_extractor_and_reconciles() -> None:
    with MemorySystem(embedder=HashEmbedder(), path=":memory:") as memory:
        old = memory.store_memory("Alice lives in Paris", user_id="alice")
        memory.store_memory("Bob lives in Paris", user_id="bob")
        script = ScriptedLLM([{"facts": ["Alice lives in Berlin"]}, {"action": "update", "id": "1"}])
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
