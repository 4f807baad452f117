"""One definition of the memory tools (``agent_memory.tools``), two renderings: the MCP server's
tools and ``create_memory_tools`` publish the same names, descriptions and arguments, and
report the same library error with the same message."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_agent_memory import LangChainExtractor, create_memory_tools
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from mcp import Client

from agent_memory import AgentMemoryError, MemoryNotFoundError, MemorySystem, ValidationError
from agent_memory.mcp._server import create_mcp_server
from agent_memory.testing import HashEmbedder
from agent_memory.tools import TOOL_NAMES, tool_error_message


@pytest.fixture
def hashed() -> Iterator[MemorySystem]:
    with MemorySystem(embedder=HashEmbedder(), path=":memory:") as system:
        yield system


def _mcp_tools(server: Any) -> list[Any]:
    async def run() -> list[Any]:
        async with Client(server) as client:
            return list((await client.list_tools()).tools)

    return asyncio.run(run())


def _mcp_call(server: Any, name: str, arguments: dict[str, Any]) -> Any:
    async def run() -> Any:
        async with Client(server) as client:
            return await client.call_tool(name, arguments)

    return asyncio.run(run())


def _langchain_call(tool: BaseTool, arguments: dict[str, Any]) -> ToolMessage:
    result = tool.invoke({"name": tool.name, "args": arguments, "id": "c1", "type": "tool_call"})
    assert isinstance(result, ToolMessage)
    return result


def test_both_surfaces_publish_the_same_tools(hashed: MemorySystem) -> None:
    extractor = LangChainExtractor(FakeListChatModel(responses=["{}"]))
    mcp_tools = _mcp_tools(create_mcp_server(hashed, user_id="alice", extractor=extractor))
    # The MCP server reads naive times in UTC; a LangChain operator in UTC gets the very same text.
    langchain_tools = create_memory_tools(hashed, user_id="alice", extractor=extractor, tz="UTC")
    assert [t.name for t in mcp_tools] == [t.name for t in langchain_tools] == list(TOOL_NAMES)
    for mcp_tool, langchain_tool in zip(mcp_tools, langchain_tools, strict=True):
        assert mcp_tool.description == langchain_tool.description and len(mcp_tool.description) > 40
        published = mcp_tool.input_schema
        rendered = langchain_tool.tool_call_schema.model_json_schema()  # type: ignore[union-attr]
        assert published["properties"] == rendered["properties"], mcp_tool.name  # types, bounds, defaults too
        assert published.get("required", []) == rendered.get("required", []), mcp_tool.name
        assert published.get("$defs") == rendered.get("$defs"), mcp_tool.name
        assert all(p["description"] for p in published["properties"].values())
        assert "user_id" not in published["properties"]
    search = {t.name: t for t in mcp_tools}["search_memory"].input_schema["properties"]
    assert (search["top_k"]["minimum"], search["top_k"]["maximum"]) == (1, 50)
    assert "in UTC" in search["since"]["description"]


def test_the_descriptions_name_the_operators_zone(hashed: MemorySystem) -> None:
    tools = {t.name: t for t in create_memory_tools(hashed, user_id="alice", tz="Asia/Shanghai")}
    schema = tools["search_memory"].tool_call_schema.model_json_schema()  # type: ignore[union-attr]
    assert all("in Asia/Shanghai" in schema["properties"][arg]["description"] for arg in ("since", "until", "as_of"))
    with pytest.raises(ValidationError, match="time zone"):
        create_memory_tools(hashed, user_id="alice", tz="Mars/Olympus")


def test_legacy_names_warn_and_keep_the_old_names_working(hashed: MemorySystem) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new names warn about nothing
        assert [t.name for t in create_memory_tools(hashed, user_id="alice")] == list(TOOL_NAMES[:-1])
    with pytest.warns(DeprecationWarning, match=r"removed in 0\.3") as caught:
        tools = {t.name: t for t in create_memory_tools(hashed, user_id="alice", legacy_names=True)}
    message = str(caught[0].message)
    assert "store_memory" in message and "search_memory" in message
    assert caught[0].filename == __file__  # it points at the caller
    assert list(tools) == ["save_memory", "search_memories", *TOOL_NAMES[2:-1]]
    stored = json.loads(tools["save_memory"].invoke({"text": "Alice likes coffee"}))
    found = json.loads(tools["search_memories"].invoke({"query": "coffee"}))
    assert [h["id"] for h in found] == [stored["id"]] and found[0]["user_id"] == "alice"


def test_one_library_error_reads_the_same_on_both_surfaces(hashed: MemorySystem) -> None:
    server = create_mcp_server(hashed, user_id="alice")
    langchain_tools = {t.name: t for t in create_memory_tools(hashed, user_id="alice")}
    expected: list[tuple[str, dict[str, Any], AgentMemoryError]] = []
    with pytest.raises(ValidationError) as empty:
        hashed.search_memory("   ", user_id="alice")
    expected.append(("search_memory", {"query": "   "}, empty.value))
    with pytest.raises(MemoryNotFoundError) as unknown:
        hashed.update_memory("nope", user_id="alice", text="x")
    expected.append(("update_memory", {"memory_id": "nope", "text": "x"}, unknown.value))
    for name, arguments, error in expected:
        message = tool_error_message(error)
        assert message.startswith(f"{type(error).__name__}: ")
        from_langchain = _langchain_call(langchain_tools[name], arguments)
        from_mcp = _mcp_call(server, name, arguments)
        assert from_langchain.status == "error" and from_langchain.content == message
        assert from_mcp.is_error and from_mcp.content[0].text == f"Error executing tool {name}: {message}"
    refused = _langchain_call(langchain_tools["delete_all_memories"], {"confirm": False})
    assert _mcp_call(server, "delete_all_memories", {"confirm": False}).content[0].text.endswith(str(refused.content))
