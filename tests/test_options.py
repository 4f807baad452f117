"""Options parity: every surface offers every search, list and write option of
``agent_memory._options``, with the same default, or this file names why it does not.

Found by a new maintainer: the same options were typed by hand on about eight surfaces and
had drifted (``recency_half_life`` only in Python; ``valid_from``, ``valid_until`` and
``actor`` missing over HTTP; ``tz`` local in Python and UTC over HTTP). The tables are now
the definition; ``MemorySystem`` and ``MemoryClient`` spell them out for readers and type
checkers, and the rest is derived from them. Like ``tests/test_async.py``'s method check.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from agent_memory import MemoryClient, MemorySystem
from agent_memory._options import LIST, SEARCH, STORE, Option
from agent_memory.cli._main import COMMANDS, _parser
from agent_memory.server import _models
from agent_memory.tools import _TOOLS

_REQUIRED = inspect.Parameter.empty


def _signature(function: Callable[..., Any]) -> dict[str, Any]:
    return {p.name: p.default for p in inspect.signature(function).parameters.values() if p.kind == p.KEYWORD_ONLY}


def _model(model: type[BaseModel]) -> dict[str, Any]:
    return {name: field.default for name, field in model.model_fields.items()}


def _cli(command: str) -> dict[str, Any]:
    parser = _parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found = sub.choices[command]
    return {a.dest: a.default for a in found._actions if a.dest != "help"}


def _tool(name: str) -> dict[str, Any]:
    return _model(next(spec.schema for spec in _TOOLS if spec.name == name))


_OPERATOR = "the operator's choice when the tools are made, not the model's"
_TOOL_SEARCH = dict.fromkeys(("agent_id", "session_id", "mode", "tz"), _OPERATOR) | {
    "task": "the model searches for memories; the task is the memory task",
    "filters": "the model has no metadata schema to filter on",
    "min_score": "the model reads the scores it gets instead",
    "time_aware": "always on: the model names times in its query",
    "now": "the model's 'now' is the call's",
    "recency_half_life": "a ranking policy, the operator's",
    "signals": "a ranking policy, the operator's",
}
EXCEPTIONS: dict[str, dict[str, str]] = {
    "http listing": {"limit": "an HTTP listing is a page: 1 to 1,000, default 100"},
    "tool search_memory": _TOOL_SEARCH,
    "tool list_memories": {
        **{k: v for k, v in _TOOL_SEARCH.items() if k in ("agent_id", "session_id", "tz", "filters")},
        "limit": "a model reads a page at a time: 1 to 100, default 20",
        "order": "newest=true, which a model reads more easily",
        "until": "since is what a model asks for ('what did I say since Monday')",
        "as_of": "a model searches the past (search_memory's as_of)",
    },
    "tool store_memory": {
        **dict.fromkeys(("agent_id", "session_id", "actor"), _OPERATOR),
        "valid_from": "a stored fact holds from now; expire_memory ends it",
        "valid_until": "a stored fact holds from now; expire_memory ends it",
    },
}
"""What a surface leaves out or defaults differently on purpose, and why."""


def _surfaces() -> dict[str, tuple[tuple[Option, ...], Callable[[], dict[str, Any]]]]:
    return {
        "MemorySystem.search_memory": (SEARCH, lambda: _signature(MemorySystem.search_memory)),
        "MemorySystem.list_memories": (LIST, lambda: _signature(MemorySystem.list_memories)),
        "MemorySystem.store_memory": (STORE, lambda: _signature(MemorySystem.store_memory)),
        "MemorySystem.store_memories": (STORE, lambda: _signature(MemorySystem.store_memories)),
        "MemoryClient.search_memory": (SEARCH, lambda: _signature(MemoryClient.search_memory)),
        "MemoryClient.list_memories": (LIST, lambda: _signature(MemoryClient.list_memories)),
        "MemoryClient.store_memory": (STORE, lambda: _signature(MemoryClient.store_memory)),
        "MemoryClient.store_memories": (STORE, lambda: _signature(MemoryClient.store_memories)),
        "http search": (SEARCH, lambda: _model(_models.Recall)),
        "http listing": (LIST, lambda: _model(_models.Listing)),
        "http store": (STORE, lambda: _model(_models.NewMemories)),
        "cli search": (SEARCH, lambda: _cli("search")),
        "cli list": (LIST, lambda: _cli("list")),
        "cli add": (STORE, lambda: _cli("add")),
        "tool search_memory": (SEARCH, lambda: _tool("search_memory")),
        "tool list_memories": (LIST, lambda: _tool("list_memories")),
        "tool store_memory": (STORE, lambda: _tool("store_memory")),
    }


def drift(options: tuple[Option, ...], offered: dict[str, Any], exceptions: dict[str, str]) -> list[str]:
    """What a surface gets wrong: an option it lacks, or gives another default, without a named reason."""
    wrong = []
    for option in options:
        if option.name in exceptions:
            continue
        if option.name not in offered:
            wrong.append(f"lacks {option.name}")
        elif offered[option.name] not in (option.default, _REQUIRED):
            wrong.append(f"defaults {option.name} to {offered[option.name]!r}, not {option.default!r}")
    return wrong


@pytest.mark.parametrize("surface", sorted(_surfaces()))
def test_every_surface_offers_every_option_with_its_default(surface: str) -> None:
    options, offered = _surfaces()[surface]
    assert drift(options, offered(), EXCEPTIONS.get(surface, {})) == []


def test_every_exception_names_a_real_option_and_is_still_needed() -> None:
    surfaces = _surfaces()
    for surface, reasons in EXCEPTIONS.items():
        options, offered = surfaces[surface]
        names = {o.name for o in options}
        assert set(reasons) <= names, f"{surface}: exceptions for options that do not exist"
        for name in reasons:  # an exception the surface no longer needs must go
            option = next(o for o in options if o.name == name)
            assert drift((option,), offered(), {}), f"{surface} now offers {name} as defined: drop the exception"


def test_the_check_sees_a_missing_option_and_another_default() -> None:
    """The check can fail: an option a surface lacks, or defaults otherwise, is reported."""
    for surface, (options, offered) in _surfaces().items():
        new = Option("freshness", None, "days", "A made-up option.")
        assert drift((*options, new), offered(), EXCEPTIONS.get(surface, {})) == ["lacks freshness"], surface
    changed = Option("top_k", 7, "count", "top_k with another default")
    assert drift((changed,), {"top_k": 5}, {}) == ["defaults top_k to 5, not 7"]


def test_the_derived_surfaces_take_a_new_option_by_themselves() -> None:
    """The HTTP models and the CLI flags are built from the table: every option is there."""
    assert set(_models.Recall.model_fields) >= {o.name for o in SEARCH}
    assert set(_models.NewMemories.model_fields) >= {o.name for o in STORE}
    search = next(c for c in COMMANDS if c.name == "search")
    assert search.options is SEARCH


def test_the_zone_defaults_the_same_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """tz is None on every surface, meaning AGENT_MEMORY_TZ, else UTC: one decision, in _config."""
    from agent_memory._times import zone

    assert all(offered().get("tz", None) is None for _, offered in _surfaces().values())
    assert str(zone(None)) == "UTC"
    monkeypatch.setenv("AGENT_MEMORY_TZ", "Asia/Tokyo")
    assert str(zone(None)) == "Asia/Tokyo"
