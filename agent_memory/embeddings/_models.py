"""Finding a model: hub id or local path, instruction-awareness, and friendly errors."""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import warnings
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from agent_memory._errors import ModelNotFoundError

if TYPE_CHECKING:
    import torch

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "InstructionAwarenessWarning",
    "ModelRef",
    "SharedModels",
    "TextTruncatedWarning",
    "auto_device",
    "half_precision_dtype",
    "looks_instruction_aware_name",
    "model_not_found",
    "resolve_model",
    "warn_truncated",
]

DEFAULT_MAX_LENGTH = 8192
"""Token limit per text, as in the Qwen3-Embedding model card (the model itself takes 32K)."""

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_QWEN3_EMBEDDING = re.compile(r"qwen3-embedding", re.IGNORECASE)
_HUB_CACHE_SNAPSHOT = re.compile(r"models--(?P<org>[^/\\]+?)--(?P<name>[^/\\]+)[/\\]snapshots[/\\][^/\\]+$")


def looks_instruction_aware_name(name: str) -> bool:
    """Qwen3-Embedding models by name (hub id, path or served name)."""
    return bool(_QWEN3_EMBEDDING.search(name))


_Model = TypeVar("_Model")


class SharedModels(Generic[_Model]):
    """Loaded models shared by every embedder of a process, one per key, each loaded once.

    Loading happens under the lock, so two threads asking for the same model at
    once load it once; it is cheap next to a load that takes seconds.
    """

    def __init__(self) -> None:
        self._models: dict[Hashable, _Model] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], _Model]) -> _Model:
        """The model for ``key``, loaded by ``load()`` the first time."""
        with self._lock:
            if key not in self._models:
                self._models[key] = load()
            return self._models[key]

    def discard(self, key: Hashable, model: _Model) -> None:
        """Forget ``model`` (after it was shut down) if it is still the one shared under ``key``."""
        with self._lock:
            if self._models.get(key) is model:
                del self._models[key]

    def clear(self) -> None:
        with self._lock:
            self._models.clear()

    def __len__(self) -> int:
        return len(self._models)


class InstructionAwarenessWarning(UserWarning):
    """Whether a served model wants the query instruction could not be found out; queries go without it."""


class TextTruncatedWarning(UserWarning):
    """A text was longer than the model's token limit and was truncated before embedding."""


_PACKAGE = str(Path(__file__).resolve().parent.parent)


def outside_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside agent-memory (the
    user's line), however deep in the package the warning is raised: for the function that
    calls this one and then ``warnings.warn``."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def warn_truncated(count: int, limit: int) -> None:
    """Warn that ``count`` texts were cut, pointing at the user's line that led here."""
    if count:
        warnings.warn(
            f"{count} text(s) longer than {limit} tokens were truncated before embedding",
            TextTruncatedWarning,
            stacklevel=outside_stacklevel(),
        )


def auto_device() -> str:
    """CUDA when available, then Apple's MPS, else the CPU."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def half_precision_dtype() -> torch.dtype:
    """bfloat16 where the GPU supports it, else float16."""
    import torch

    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@dataclass(frozen=True)
class ModelRef:
    """Where to load a model from, and the name that identifies its vectors."""

    load_from: str
    name: str
    local: bool

    def looks_instruction_aware(self) -> bool:
        """Qwen3-Embedding by name, or a model whose query prompt is an instruction."""
        return self.query_instruction() is True

    def query_instruction(self) -> bool | None:
        """Whether queries get the ``Instruct:`` prefix: by a Qwen3-Embedding name, else by the
        query prompt in the model's ``config_sentence_transformers.json`` (local, or in the hub
        cache); ``None`` when there is no such file to read."""
        if looks_instruction_aware_name(self.name) or looks_instruction_aware_name(self.load_from):
            return True
        filename = "config_sentence_transformers.json"
        st_config = Path(self.load_from) / filename if self.local else _cached_file(self.load_from, filename)
        if st_config is None:
            return None
        try:
            prompts = json.loads(st_config.read_text(encoding="utf-8")).get("prompts") or {}
        except (OSError, ValueError):
            return None
        return str(prompts.get("query", "")).startswith("Instruct:")

    def is_qwen3(self) -> bool:
        """A Qwen3 model: by its config (local or cached), else by a Qwen3-Embedding name."""
        config = Path(self.load_from) / "config.json" if self.local else _cached_file(self.load_from)
        if config is not None:
            try:
                return bool(json.loads(config.read_text(encoding="utf-8")).get("model_type") == "qwen3")
            except (OSError, ValueError):
                return False
        return looks_instruction_aware_name(self.load_from)

    def local_files_only(self) -> bool:
        """Whether to load without the network: a local directory or a cached hub model.

        Raises :class:`ModelNotFoundError` when it would need a download and
        ``HF_HUB_OFFLINE`` forbids one.
        """
        if self.local or _cached_file(self.load_from) is not None:
            return True
        if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
            reason = "it is not in the Hugging Face cache and HF_HUB_OFFLINE is set"
            raise model_not_found(self.load_from, reason=reason)
        return False


def _cached_file(repo_id: str, filename: str = "config.json") -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, filename)
    return Path(found) if isinstance(found, str) else None


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
