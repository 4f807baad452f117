"""Finding a model: hub id or local path, instruction-awareness, and friendly errors."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from agent_memory._errors import ModelNotFoundError

__all__ = ["ModelRef", "looks_instruction_aware_name", "model_not_found", "resolve_model"]

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_QWEN3_EMBEDDING = re.compile(r"qwen3-embedding", re.IGNORECASE)
_HUB_CACHE_SNAPSHOT = re.compile(r"models--(?P<org>[^/\\]+?)--(?P<name>[^/\\]+)[/\\]snapshots[/\\][^/\\]+$")


def looks_instruction_aware_name(name: str) -> bool:
    """Qwen3-Embedding models by name (hub id, path or served name)."""
    return bool(_QWEN3_EMBEDDING.search(name))


@dataclass(frozen=True)
class ModelRef:
    """Where to load a model from, and the name that identifies its vectors."""

    load_from: str
    name: str
    local: bool

    def looks_instruction_aware(self) -> bool:
        """Qwen3-Embedding by name, or a local model whose query prompt is an instruction."""
        if looks_instruction_aware_name(self.name) or looks_instruction_aware_name(self.load_from):
            return True
        if not self.local:
            return False
        st_config = Path(self.load_from) / "config_sentence_transformers.json"
        try:
            prompts = json.loads(st_config.read_text(encoding="utf-8")).get("prompts") or {}
        except (OSError, ValueError):
            return False
        return str(prompts.get("query", "")).startswith("Instruct:")


def resolve_model(model: str, name: str | None = None) -> ModelRef:
    """Resolve ``model`` (a hub id or a local directory) without loading anything.

    A local directory inside the Hugging Face cache is named by its repository
    id, so vectors written with ``Qwen/Qwen3-Embedding-0.6B`` and with its cached
    snapshot count as the same model. A path that does not exist raises
    :class:`ModelNotFoundError` at once, before anything is written.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        resolved = path.resolve()
        if not any((resolved / f).is_file() for f in ("config.json", "modules.json")):
            raise model_not_found(model, reason="that directory has no config.json or modules.json")
        snapshot = _HUB_CACHE_SNAPSHOT.search(str(resolved))
        default_name = f"{snapshot['org']}/{snapshot['name']}" if snapshot else str(resolved)
        return ModelRef(load_from=str(resolved), name=name or default_name, local=True)
    if path.exists() or not _HUB_ID.match(model):
        raise model_not_found(model, reason="no model directory at that path")
    return ModelRef(load_from=model, name=name or model, local=False)


def model_not_found(model: str, *, reason: str) -> ModelNotFoundError:
    """The error for a model that cannot be loaded, saying how to point at a local copy."""
    return ModelNotFoundError(
        f"cannot load embedding model {model!r}: {reason}. Download it once while online "
        f"(it is cached by Hugging Face), or point AGENT_MEMORY_MODEL (or model=...) at a local "
        f"copy, e.g. AGENT_MEMORY_MODEL=/models/Qwen3-Embedding-0.6B"
    )
