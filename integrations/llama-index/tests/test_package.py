"""Packaging: LlamaIndex's namespace-package convention, the import paths, and the example."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT.parents[1] / "examples" / "llamaindex_pipeline.py"


def test_namespace_packages_have_no_init() -> None:
    assert not (ROOT / "llama_index" / "__init__.py").exists()
    for kind in ("embeddings", "vector_stores", "memory"):
        assert not (ROOT / "llama_index" / kind / "__init__.py").exists()
        assert (ROOT / "llama_index" / kind / "agent_memory" / "__init__.py").is_file()


def test_import_paths() -> None:
    from llama_index.embeddings.agent_memory import Qwen3Embedding
    from llama_index.memory.agent_memory import AgentMemoryBlock
    from llama_index.vector_stores.agent_memory import AgentMemoryVectorStore

    assert Qwen3Embedding.class_name() and AgentMemoryVectorStore.class_name() and AgentMemoryBlock
    import llama_index.core  # the core still imports beside our namespace packages

    assert llama_index.core.__version__


def test_llamaindex_pipeline_example(minilm: str) -> None:
    env = {**os.environ, "AGENT_MEMORY_MODEL": minilm, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    billing = out.split("query: When does the billing service ship?")[1].splitlines()[1]
    assert "billing service every Tuesday" in billing
    second = out.split("second conversation")[1]
    assert "My dog is a beagle called Rex." in second.split("alice's long-term memories")[0]
