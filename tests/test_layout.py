"""The architecture, checked: no import cycles, and each layer imports only the layers below it.

Read top-down, the layers are the flow of a call: the public facades and the surfaces (CLI,
the HTTP service, which hosts MCP over HTTP, MCP) → the agent tools the surfaces render →
``MemorySystem`` → extraction → the write path → search → the store → the embedders → the
shared vocabulary (config, errors, ids, types, checks). Every import counts, including those
under ``TYPE_CHECKING`` and inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import agent_memory

ROOT = Path(agent_memory.__file__).parent
# Top to bottom. Within a group, modules may import each other; across groups of one layer, never.
# A sub-package (``agent_memory.cli``) holds every module under it; any other name is one module.
LAYERS: list[list[tuple[str, ...]]] = [
    [("agent_memory", "agent_memory.__main__", "agent_memory.testing", "agent_memory.pytest_plugin")],
    [("agent_memory.validation", "agent_memory.options")],
    [("agent_memory.cli",)],
    [("agent_memory.server",)],  # serve hosts the MCP tools at /mcp
    [("agent_memory.mcp",)],
    [("agent_memory.tools",)],
    [("agent_memory.auth",)],
    [("agent_memory._async",)],
    [("agent_memory._system", "agent_memory._writing", "agent_memory._reading")],
    [("agent_memory.extraction",), ("agent_memory._transfer",)],
    [("agent_memory._writer", "agent_memory._keyed_writes", "agent_memory._batches")],
    [("agent_memory.search",)],
    [("agent_memory.store",)],
    [("agent_memory.embeddings",)],
    [
        tuple(
            f"agent_memory.{name}"
            for name in (
                "_config",
                "_errors",
                "_files",
                "_http",
                "_ids",
                "_options",
                "_processes",
                "_tasks",
                "_times",
                "_types",
                "_validation",
            )
        )
    ],
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module an imported name lives in: the longest known module that prefixes it."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {t for t in map(_resolve, targets) if t and t != module}
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _is_subpackage(name: str) -> bool:
    return name != "agent_memory" and name in MODULES and MODULES[name].name == "__init__.py"


def _place(module: str) -> tuple[int, int]:
    """(layer, group) of a module: the group that names it, or names the sub-package it is in."""
    for layer, groups in enumerate(LAYERS):
        for group, names in enumerate(groups):
            if any(module == n or (_is_subpackage(n) and module.startswith(f"{n}.")) for n in names):
                return layer, group
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        _place(module)


def test_the_checker_sees_a_module_without_a_layer() -> None:
    """A new module must be placed: the package's name places only its facade, not what is under it."""
    MODULES["agent_memory._made_up"] = ROOT / "_made_up.py"
    try:
        with pytest.raises(AssertionError, match=r"agent_memory\._made_up is in no layer"):
            test_every_module_has_a_layer()
    finally:
        del MODULES["agent_memory._made_up"]


def test_layers_import_only_downwards() -> None:
    wrong = []
    for module, imported in GRAPH.items():
        here = _place(module)
        for target in imported:
            there = _place(target)
            if there[0] < here[0] or (there[0] == here[0] and there[1] != here[1]):
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = [*path[path.index(module) :], module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for target in sorted(GRAPH[module]):
            if target != "agent_memory":  # the package's facade imports everything; nothing imports it
                visit(target, [*path, module])
        done.add(module)

    for module in sorted(MODULES):
        visit(module, [])


def test_the_checker_sees_a_cycle_and_an_upward_import() -> None:
    """The checks above can fail: fed a made-up import, they find what is wrong with it."""
    GRAPH["agent_memory._ids"].add("agent_memory._system")
    try:
        for check in (test_no_import_cycles, test_layers_import_only_downwards):
            with pytest.raises(AssertionError, match=r"agent_memory\._ids -> agent_memory\._system"):
                check()
    finally:
        GRAPH["agent_memory._ids"].discard("agent_memory._system")
