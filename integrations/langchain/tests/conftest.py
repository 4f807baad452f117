"""Fixtures: the tiny Qwen3-Embedding model (built once per session) and the real MiniLM, offline."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from agent_memory.pytest_plugin import offline_environment

offline_environment()

__all__ = ["tiny_model_for_standard_suites"]


@pytest.fixture(scope="session", autouse=True)
def tiny_model_for_standard_suites(tiny_qwen3: str) -> Iterator[None]:
    """The standard suites take model parameters from class properties, which read this variable."""
    os.environ["AGENT_MEMORY_TEST_TINY_QWEN3"] = tiny_qwen3
    yield
    os.environ.pop("AGENT_MEMORY_TEST_TINY_QWEN3", None)
