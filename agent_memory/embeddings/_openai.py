"""Any OpenAI-compatible ``/v1/embeddings`` server: ``vllm serve``, Hugging Face TEI, and others."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
from numpy.typing import NDArray

from agent_memory import _config
from agent_memory._errors import ConfigurationError, EmbeddingServerError, ModelNotFoundError
from agent_memory._http import post_json
from agent_memory.embeddings._base import BaseEmbedder
from agent_memory.embeddings._models import (
    InstructionAwarenessWarning,
    looks_instruction_aware_name,
    outside_stacklevel,
    resolve_model,
)

__all__ = ["OpenAIEmbedder"]


class OpenAIEmbedder(BaseEmbedder):
    """Embeds through an OpenAI-compatible embeddings endpoint, such as ``vllm serve``.

    The server runs the model; this client adds what servers do not: the Qwen3
    query instruction (documents are sent as they are), batching (``batch_size``
    texts a request, at most ``max_concurrency`` requests at once), timeouts,
    retries with exponential backoff on 429 and 5xx answers and on connection
    errors, and checks of every answer (count, size, finite values).
    ``dimensions`` is passed to the server (Qwen3-Embedding served by vLLM cuts
    and re-normalises itself). ``transport`` is any ``httpx.BaseTransport``, for
    tests or custom networking.

    ``model`` is the server's model name; it is also the fingerprint's model
    name, so serve a local model by the same path the other backends load it from
    to share a collection with them.
    """

    encodes_at_dimension = True

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: str | None = None,
        dimensions: int | None = None,
        instruction_aware: bool | None = None,
        batch_size: int = 64,
        max_concurrency: int = 4,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url:
            raise ConfigurationError("the openai backend needs base_url= (or AGENT_MEMORY_BASE_URL)")
        super().__init__(model=model, dimensions=dimensions)
        self.base_url = base_url.rstrip("/")
        self.batch_size, self.max_concurrency = max(1, batch_size), max(1, max_concurrency)
        self.max_retries, self.backoff = max(0, max_retries), backoff
        self._instruction_aware = instruction_aware
        self._native: int | None = None
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r}, dimensions={self._dimensions})"

    @property
    def instruction_aware(self) -> bool:
        """Whether queries get the ``Instruct:`` prefix: ``instruction_aware=``, else
        ``AGENT_MEMORY_INSTRUCTION_AWARE``, else found out once from the server (see
        :meth:`_detect_instruction_aware`)."""
        if self._instruction_aware is None:
            configured = _config.default_instruction_aware()
            self._instruction_aware = self._detect_instruction_aware() if configured is None else configured
        return self._instruction_aware

    def _detect_instruction_aware(self) -> bool:
        """A Qwen3-Embedding name; else the model the server says it serves (vLLM's ``/v1/models``
        gives its ``root``: a hub id or a path) and that model's query prompt, read where the
        path is on this machine or the model is in the hub cache. Undecided: a warning, once,
        naming the setting, and no instruction."""
        if looks_instruction_aware_name(self.model):
            return True
        root = self._served_root()
        decided = _instruction_of(root) if root is not None else None
        if decided is None:
            warnings.warn(
                f"cannot tell whether the served model {self.model!r} (root: {root!r}) wants the Qwen3 query "
                "instruction; queries go without it. Set instruction_aware= or AGENT_MEMORY_INSTRUCTION_AWARE",
                InstructionAwarenessWarning,
                stacklevel=outside_stacklevel(),
            )
            return False
        return decided

    def _served_root(self) -> str | None:
        """The ``root`` (else ``id``) that ``GET /models`` reports for this model, if the server says."""
        try:
            response = self._client.get("/models")
            entries = response.json().get("data", []) if response.status_code == 200 else []
        except (httpx.HTTPError, ValueError, AttributeError):
            return None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("id") == self.model:
                root = entry.get("root") or entry.get("id")
                return root if isinstance(root, str) else None
        return None

    @property
    def native_dimension(self) -> int:
        """The model's full size, asked of the server once (one tiny request)."""
        if self._native is None:
            self._native = len(self._request(["dimension probe"], with_dimensions=False)[0])
        return self._native

    def close(self) -> None:
        self._client.close()

    def _encode(self, texts: list[str]) -> NDArray[np.float32]:
        batches = [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        if len(batches) == 1:
            return self._request(batches[0])
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(batches))) as pool:
            return np.concatenate(list(pool.map(self._request, batches)))

    def _request(self, batch: list[str], with_dimensions: bool = True) -> NDArray[np.float32]:
        payload: dict[str, Any] = {"model": self.model, "input": batch, "encoding_format": "float"}
        wanted = self._engine_dimensions if with_dimensions else None
        if wanted is not None:
            payload["dimensions"] = wanted
        answer = self._post_with_retries(payload)
        expected = wanted if wanted is not None else self._native
        return self._parse(answer, len(batch), expected)

    def _post_with_retries(self, payload: dict[str, Any]) -> Any:
        server = f"embedding server at {self.base_url}"
        return post_json(
            self._client,
            "/embeddings",
            payload,
            error=EmbeddingServerError,
            server=server,
            max_retries=self.max_retries,
            backoff=self.backoff,
        )

    def _parse(self, answer: Any, count: int, width: int | None) -> NDArray[np.float32]:
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list) or len(data) != count:
            got = len(data) if isinstance(data, list) else "no"
            raise EmbeddingServerError(f"embedding server answered {got} embeddings for {count} inputs")
        if not all(isinstance(item, dict) and isinstance(item.get("embedding"), list) for item in data):
            raise EmbeddingServerError("embedding server answered an item without an embedding list")
        rows = sorted(data, key=lambda item: item.get("index", 0))
        try:
            vectors = np.asarray([item["embedding"] for item in rows], dtype=np.float32)
        except (ValueError, TypeError):  # ragged rows, or values that are not numbers
            raise EmbeddingServerError("embedding server answered embeddings of mixed sizes or non-numbers") from None
        if vectors.ndim != 2 or vectors.shape[1] == 0 or (width is not None and vectors.shape[1] != width):
            raise EmbeddingServerError(f"embedding server answered shape {vectors.shape}, expected width {width}")
        if not np.isfinite(vectors).all():
            raise EmbeddingServerError("embedding server answered NaN or infinite values")
        return vectors


def _instruction_of(model: str) -> bool | None:
    """What the model's own files say about the query instruction; ``None`` when they cannot be read."""
    try:
        return resolve_model(model).query_instruction()
    except ModelNotFoundError:  # a path on the server's machine, not this one
        return looks_instruction_aware_name(model) or None
