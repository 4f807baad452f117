"""Defaults and the environment variables that change them (explicit arguments always win)."""

from __future__ import annotations

import os

from agent_memory._errors import ConfigurationError

VERSION = "0.1.0"
"""This release (``agent_memory.__version__``; pyproject.toml says the same, a test checks it)."""

__all__ = [
    "DEFAULT_BACKEND",
    "DEFAULT_COLLECTION",
    "DEFAULT_MODEL",
    "VERSION",
    "default_backend",
    "default_chroma_url",
    "default_device",
    "default_dimensions",
    "default_instruction_aware",
    "default_model",
    "default_path",
    "default_zone",
    "embeddings_server",
    "keys_file",
    "limits_setting",
    "llm_api_key",
    "llm_base_url",
    "llm_model",
    "memory_server",
]

DEFAULT_MODEL = "Qwen/Qwen3-Embedding-0.6B"
DEFAULT_COLLECTION = "memories"
DEFAULT_BACKEND = "auto"


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def default_model() -> str:
    """``AGENT_MEMORY_MODEL`` (hub id or local path), else Qwen3-Embedding-0.6B."""
    return _env("AGENT_MEMORY_MODEL") or DEFAULT_MODEL


def default_backend() -> str:
    """``AGENT_MEMORY_BACKEND`` (``transformers``, ``sentence-transformers``, ``vllm``, ``openai``), else ``auto``."""
    return _env("AGENT_MEMORY_BACKEND") or DEFAULT_BACKEND


def default_instruction_aware() -> bool | None:
    """``AGENT_MEMORY_INSTRUCTION_AWARE`` (``true``/``false``): whether a served model's queries get
    the ``Instruct:`` prefix; unset: found out from the server (the openai backend)."""
    value = _env("AGENT_MEMORY_INSTRUCTION_AWARE")
    if value is None:
        return None
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"AGENT_MEMORY_INSTRUCTION_AWARE={value!r}: use true or false")


def limits_setting() -> str | None:
    """``AGENT_MEMORY_LIMITS`` (``"max_texts=1000,max_top_k=100"``; parsed by ``_validation.default_limits``)."""
    return _env("AGENT_MEMORY_LIMITS")


def default_zone() -> str:
    """``AGENT_MEMORY_TZ`` (an IANA name), else ``UTC``: the zone of times given without an offset,
    and of the time words of queries, on every surface (a query means the same wherever it runs)."""
    return _env("AGENT_MEMORY_TZ") or "UTC"


def default_chroma_url() -> str | None:
    """``AGENT_MEMORY_CHROMA_URL``: a Chroma server to use instead of an embedded store."""
    return _env("AGENT_MEMORY_CHROMA_URL")


def default_path() -> str:
    """``AGENT_MEMORY_PATH``, else the per-user data directory (e.g. ``~/.local/share/agent-memory``)."""
    path = _env("AGENT_MEMORY_PATH")
    if path:
        return path
    from platformdirs import user_data_dir

    return user_data_dir("agent-memory", appauthor=False)


def default_dimensions() -> int | None:
    """``AGENT_MEMORY_DIMENSIONS``: the Matryoshka output size, when ``dimensions`` is not given."""
    value = _env("AGENT_MEMORY_DIMENSIONS")
    if value is None:
        return None
    if not value.isdigit():
        raise ConfigurationError(f"AGENT_MEMORY_DIMENSIONS={value!r}: use a whole number (32..model size)")
    return int(value)


def default_device() -> str | None:
    """``AGENT_MEMORY_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``), else chosen automatically."""
    return _env("AGENT_MEMORY_DEVICE")


def embeddings_server() -> tuple[str | None, str | None]:
    """``AGENT_MEMORY_BASE_URL`` and ``AGENT_MEMORY_API_KEY``: the openai backend's embeddings server."""
    return _env("AGENT_MEMORY_BASE_URL"), _env("AGENT_MEMORY_API_KEY")


def memory_server() -> tuple[str | None, str | None]:
    """``AGENT_MEMORY_SERVER`` and ``AGENT_MEMORY_SERVER_KEY``: a running ``agent-memory serve``
    that the CLI works through, and its API key."""
    return _env("AGENT_MEMORY_SERVER"), _env("AGENT_MEMORY_SERVER_KEY")


def keys_file() -> str | None:
    """``AGENT_MEMORY_KEYS``: the API keys file of ``serve`` and ``mcp --http``."""
    return _env("AGENT_MEMORY_KEYS")


def llm_model() -> str | None:
    """``AGENT_MEMORY_LLM_MODEL``: the chat model that ``remember`` uses in the servers."""
    return _env("AGENT_MEMORY_LLM_MODEL")


def llm_base_url() -> str | None:
    """``AGENT_MEMORY_LLM_BASE_URL``: the OpenAI-compatible chat server of that model."""
    return _env("AGENT_MEMORY_LLM_BASE_URL")


def llm_api_key() -> str | None:
    """``AGENT_MEMORY_LLM_API_KEY``: that server's key."""
    return _env("AGENT_MEMORY_LLM_API_KEY")
