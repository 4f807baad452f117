"""The public surface: explicit ``__all__`` lists that match what the modules export."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

import agent_memory

PUBLIC_MODULES = [
    "agent_memory",
    "agent_memory.embeddings",
    "agent_memory.testing",
    "agent_memory.validation",
    "agent_memory.pytest_plugin",
    "agent_memory.tools",
    "agent_memory.options",
]


@pytest.mark.parametrize("name", [*PUBLIC_MODULES, "agent_memory._validation", "agent_memory._options"])
def test_all_matches_public_names(name: str) -> None:
    module = importlib.import_module(name)

    def defined_here(value: object) -> bool:  # in the module itself or a private module below it
        origin = getattr(value, "__module__", None) or ""
        below = origin.removeprefix(f"{name}.").split(".") if origin.startswith(f"{name}.") else []
        return origin == name or any(part.startswith("_") for part in below)

    public = {n for n, v in vars(module).items() if not n.startswith("_") and defined_here(v)}
    exported = set(module.__all__)
    assert public == exported - {n for n in exported if not defined_here(getattr(module, n))}, (
        f"public but not in __all__: {public - exported}"
    )
    for item in exported:
        assert hasattr(module, item), f"{name}.__all__ names missing {item}"


def test_issue_api_names_are_importable() -> None:
    from agent_memory import TASKS, Memory, MemorySystem, SearchHit, format_query  # noqa: F401


def test_error_tree() -> None:
    for name in agent_memory.__all__:
        obj = getattr(agent_memory, name)
        if inspect.isclass(obj) and issubclass(obj, Exception):
            assert issubclass(obj, agent_memory.AgentMemoryError)
    assert issubclass(agent_memory.ValidationError, ValueError)
    assert issubclass(agent_memory.InvalidTypeError, TypeError)
    assert issubclass(agent_memory.InvalidMetadataError, ValueError)
    assert issubclass(agent_memory.MemoryNotFoundError, KeyError)


def test_package_is_typed() -> None:
    assert (Path(agent_memory.__file__).parent / "py.typed").is_file()


def test_results_are_frozen() -> None:
    memory = agent_memory.Memory(id="1", text="t", user_id="u")
    with pytest.raises(AttributeError):
        memory.text = "x"  # type: ignore[misc]
    hit = agent_memory.SearchHit(memory=memory, score=0.5)
    assert hit.text == "t"
    with pytest.raises(AttributeError):
        hit.score = 1.0  # type: ignore[misc]
    change = agent_memory.MemoryChange("added", "t", memory=memory)
    assert (change.id, change.new_text, change.old_text) == ("1", "t", None)
    with pytest.raises(AttributeError):
        change.event = "deleted"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        agent_memory.Decision("add").action = "none"  # type: ignore[misc]


def test_remember_api_names_are_importable() -> None:
    from agent_memory import Extractor, LLMExtractor, MemoryChange, Message, OpenAIExtractor  # noqa: F401

    assert isinstance(LLMExtractor(lambda messages: "{}"), Extractor)


def test_only_config_reads_the_environment_variables() -> None:
    """``agent_memory._config`` is the one place that reads AGENT_MEMORY_* (its docstrings list them)."""
    import re

    package = Path(agent_memory.__file__).parent
    reads = re.compile(r"(environ\.get\(|getenv\()\s*[\"']AGENT_MEMORY_|environ\[[\"']AGENT_MEMORY_\w+[\"']\](?!\s*=)")
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "_config.py" and reads.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_version_matches_the_project_file() -> None:
    import tomllib

    project = tomllib.loads((Path(agent_memory.__file__).parent.parent / "pyproject.toml").read_text())["project"]
    assert agent_memory.__version__ == project["version"]


def test_memory_store_is_a_deprecated_name_of_the_one_store() -> None:
    with pytest.warns(DeprecationWarning, match="Chroma is the one store"):
        from agent_memory import MemoryStore
    assert MemoryStore is agent_memory.ChromaStore
    assert "MemoryStore" not in agent_memory.__all__
    with pytest.raises(AttributeError):
        agent_memory.NoSuchName  # noqa: B018


def test_store_takes_only_a_chroma_store() -> None:
    from agent_memory.testing import HashEmbedder

    with pytest.raises(agent_memory.ConfigurationError, match="store= takes a ChromaStore, not dict"):
        agent_memory.MemorySystem(embedder=HashEmbedder(), store={})  # type: ignore[arg-type]


def test_the_pytest_plugin_is_registered_and_cheap_to_load() -> None:
    """Installed, agent-memory's fixtures reach every suite without an import; loading the plugin
    must not pull in Chroma or torch, since it loads in every pytest run of the environment."""
    import subprocess
    import sys
    from importlib.metadata import entry_points

    [plugin] = [e for e in entry_points(group="pytest11") if e.value == "agent_memory.pytest_plugin"]
    code = f"import {plugin.value}, sys; print(sorted({{'chromadb', 'torch'}} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"
