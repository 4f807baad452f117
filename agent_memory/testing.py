"""Test helpers that ship with the library.

Two things every test suite of an agent-memory integration needs, offline and fast:

* :func:`build_tiny_qwen3_embedding` writes a tiny, randomly initialised
  Qwen3-Embedding model to disk in the layout of the real hub repositories
  (``config.json`` naming ``Qwen3ForCausalLM``, a byte-level BPE ``tokenizer.json``
  that appends ``<|endoftext|>``, left padding, and the sentence-transformers
  files with last-token pooling and the Qwen3 query prompt). It loads through
  every code path a real Qwen3-Embedding model does, in well under a second.
* :class:`HashEmbedder`, a deterministic embedder with no model at all, for
  benchmarks and tests of the storage layer where the model is not the subject.
* :class:`ScriptedLLM`, a chat-completion function that answers from a script,
  for :class:`~agent_memory.LLMExtractor` in tests, and :class:`FakeChatServer`,
  an OpenAI-compatible chat server that does the same over HTTP (the stand-ins for
  a paid LLM API; the LangChain and LlamaIndex suites also use their frameworks'
  own fake models).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import Awaitable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from agent_memory._tasks import format_query
from agent_memory.embeddings._base import Fingerprint, normalize_rows

__all__ = [
    "QWEN3_EMBEDDING_SHAPES",
    "ConstantEmbedder",
    "FakeChatServer",
    "HashEmbedder",
    "ScriptedLLM",
    "build_qwen3_embedding_architecture",
    "build_tiny_qwen3_embedding",
    "build_tiny_qwen3_reranker",
    "event_loop_ticks",
]

_T = TypeVar("_T")

_EOS = "<|endoftext|>"
_SPECIAL_TOKENS = [_EOS, "<|im_start|>", "<|im_end|>"]
_CORPUS = [
    "Alice likes coffee and reads in the morning.",
    "Bob is allergic to peanuts and prefers tea.",
    "Instruct: Given a user query, retrieve relevant memories\nQuery:What does Alice drink?",
    "The weather is lovely today. It's so sunny outside! He drove to the stadium.",
    "用户 Alice 喜欢喝咖啡。Bob 对花生过敏。今天天气很好。",
    "Given a web search query, retrieve relevant passages that answer the query.",
    "def retrieve(query): return [m for m in memories if query in m]",
]


def _train_tokenizer(vocab_size: int, extra: Sequence[str] = ()):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_CORPUS * 4 + list(extra), trainer=trainer)
    eos_id = tokenizer.token_to_id(_EOS)
    # Like the real Qwen3-Embedding tokenizer: every sequence ends with <|endoftext|>,
    # the token whose hidden state last-token pooling reads.
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"$A:0 {_EOS}:0",
        pair=f"$A:0 {_EOS}:0 $B:1 {_EOS}:1",
        special_tokens=[(_EOS, eos_id)],
    )
    return tokenizer


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_sentence_transformers_files(path: Path, hidden_size: int, max_length: int) -> None:
    _write_json(
        path / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    (path / "1_Pooling").mkdir(exist_ok=True)
    (path / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        path / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": hidden_size,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": False,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": True,
            "include_prompt": True,
        },
    )
    _write_json(path / "sentence_bert_config.json", {"max_seq_length": max_length, "do_lower_case": False})
    query_prompt = format_query("", "Given a web search query, retrieve relevant passages that answer the query")
    _write_json(
        path / "config_sentence_transformers.json",
        {
            "prompts": {"query": query_prompt, "document": ""},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


QWEN3_EMBEDDING_SHAPES: dict[str, dict[str, int]] = {
    "0.6B": {"hidden_size": 1024, "num_hidden_layers": 28, "num_attention_heads": 16, "intermediate_size": 3072},
    "4B": {"hidden_size": 2560, "num_hidden_layers": 36, "num_attention_heads": 32, "intermediate_size": 9728},
    "8B": {"hidden_size": 4096, "num_hidden_layers": 36, "num_attention_heads": 32, "intermediate_size": 12288},
}
"""The published Qwen3-Embedding configurations (all: 8 KV heads, head_dim 128, 151,669-token vocabulary)."""

_TINY_SHAPE: dict[str, Any] = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 32,
    "intermediate_size": 128,
}


def build_tiny_qwen3_embedding(
    path: str | Path, *, seed: int = 0, vocab_size: int = 512, max_length: int = 8192
) -> Path:
    """Write a tiny random Qwen3-Embedding model to ``path`` and return the path.

    The shapes are small (hidden 64, 2 layers, 4 heads, 2 KV heads, head_dim 32,
    intermediate 128) but the architecture, tokenizer behaviour and file layout
    are those of ``Qwen/Qwen3-Embedding-*``. ``head_dim`` is 32 because vLLM's
    CPU attention kernels reject 16.
    """
    return _build_qwen3(path, _TINY_SHAPE, seed=seed, vocab_size=vocab_size, max_length=max_length)


def build_qwen3_embedding_architecture(
    path: str | Path, size: str = "0.6B", *, seed: int = 0, dtype: str = "float32", device: str = "cpu"
) -> Path:
    """Write a randomly initialised model with the real shapes of Qwen3-Embedding-``size``.

    For speed measurements, which do not depend on weight values: no download.
    The tokenizer is the tiny model's (a few hundred tokens) while the embedding
    table has the real 151,669 rows. ``device`` is where the weights are drawn
    (a GPU makes the 8B model's quick).
    """
    if size not in QWEN3_EMBEDDING_SHAPES:
        raise ValueError(f"size must be one of {', '.join(QWEN3_EMBEDDING_SHAPES)}, got {size!r}")
    shared = {"num_key_value_heads": 8, "head_dim": 128, "rope_theta": 1000000}
    shape: dict[str, Any] = {**QWEN3_EMBEDDING_SHAPES[size], **shared}
    return _build_qwen3(path, shape, seed=seed, vocab_size=512, dtype=dtype, device=device, model_vocab=151669)


def build_tiny_qwen3_reranker(path: str | Path, *, seed: int = 0) -> Path:
    """Write a tiny random Qwen3-Reranker (``Qwen3ForCausalLM``, "yes"/"no" tokens) to ``path``.

    Same tiny shapes and tokenizer recipe as :func:`build_tiny_qwen3_embedding`,
    with the language-model head the reranker's yes/no scoring reads.
    """
    return _build_qwen3(path, _TINY_SHAPE, seed=seed, vocab_size=512, reranker=True)


def _build_qwen3(
    path: str | Path,
    shape: dict[str, Any],
    *,
    seed: int,
    vocab_size: int,
    max_length: int = 8192,
    dtype: str = "float32",
    device: str = "cpu",
    model_vocab: int | None = None,
    reranker: bool = False,
) -> Path:
    import torch
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM, Qwen3Model

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=_train_tokenizer(vocab_size, ["yes", "no", "yes no"] * 20 if reranker else ()),
        eos_token=_EOS,
        pad_token=_EOS,
        padding_side="left",
        model_max_length=32768,
    )
    tokenizer.save_pretrained(path)
    config = Qwen3Config(
        vocab_size=model_vocab or len(tokenizer),
        max_position_embeddings=32768,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        **shape,
    )
    torch.manual_seed(seed)
    with torch.device(device):
        model = (Qwen3ForCausalLM if reranker else Qwen3Model)(config).to(getattr(torch, dtype))
    model.save_pretrained(path)
    config_file = path / "config.json"
    saved = json.loads(config_file.read_text(encoding="utf-8"))
    saved["architectures"] = ["Qwen3ForCausalLM"]  # as in the real hub repositories
    _write_json(config_file, saved)
    if not reranker:
        _write_sentence_transformers_files(path, config.hidden_size, max_length)
    return path


class HashEmbedder:
    """A deterministic, model-free :class:`~agent_memory.embeddings.Embedder`.

    Each text maps to a pseudo-random unit vector seeded by its SHA-256, so equal
    texts get equal vectors and different texts nearly orthogonal ones. Queries
    are formatted with the task instruction first, like a Qwen3 model, so a query
    never equals the document with the same text. Costs microseconds per text:
    use it where the model is not what is being tested or measured.
    """

    def __init__(self, dimension: int = 64, *, model: str = "hash-embedder") -> None:
        self._dimension = dimension
        self._fingerprint = Fingerprint(model=model, dimension=dimension, query_format="instruct")

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def fingerprint(self) -> Fingerprint:
        return self._fingerprint

    def _vector(self, text: str) -> NDArray[np.float32]:
        seed = int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self._dimension, dtype=np.float32)

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        return normalize_rows(np.stack([self._vector(t) for t in texts]))

    def embed_queries(self, queries: Sequence[str], task: str | None = None) -> NDArray[np.float32]:
        return self.embed_documents([format_query(q, task) for q in queries])


class ConstantEmbedder(HashEmbedder):
    """Every memory gets the same vector and every query another one (cosine 0.71 to it).

    Dense scores then carry no information, so whatever ranks memories is the
    search's lexical side: use it to test word matching on its own.
    """

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return super().embed_documents(["same"] * len(texts))

    def embed_queries(self, queries: Sequence[str], task: str | None = None) -> NDArray[np.float32]:
        both = super().embed_documents(["same", "query"])
        mixed = (both[0] + both[1]) / np.linalg.norm(both[0] + both[1])
        return np.repeat(mixed[None, :], len(queries), axis=0).astype(np.float32)


class ScriptedLLM:
    """A stand-in for a chat model: answers each call with the next of ``replies`` (objects are
    sent as their JSON), and keeps every prompt it was given in ``prompts``."""

    def __init__(self, replies: Sequence[object]) -> None:
        self.replies = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in replies]
        self.prompts: list[list[dict[str, str]]] = []

    def __call__(self, messages: list[dict[str, str]]) -> str:
        self.prompts.append(messages)
        if len(self.prompts) > len(self.replies):
            raise AssertionError(f"call {len(self.prompts)} has no scripted reply: {messages[-1]['content']!r}")
        return self.replies[len(self.prompts) - 1]


class FakeChatServer(ThreadingHTTPServer):
    """An OpenAI-compatible ``/v1/chat/completions`` server on 127.0.0.1 that answers each request
    with the next of ``replies`` (objects as their JSON) and keeps the requests in ``requests``.

    Serves from a daemon thread from the start; ``shutdown()`` stops it. ``url`` is the base URL.
    """

    def __init__(self, replies: Sequence[object], *, usage: tuple[int, int] = (0, 0)) -> None:
        self.replies = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in replies]
        self.requests: list[dict[str, Any]] = []
        self.usage = usage
        super().__init__(("127.0.0.1", 0), _chat_handler(self))
        self.url = f"http://127.0.0.1:{self.server_address[1]}/v1"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """The completion for ``request``: the next scripted reply, as an assistant message."""
        self.requests.append(request)
        content = self.replies[len(self.requests) - 1]
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "scripted"),
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {
                "prompt_tokens": self.usage[0],
                "completion_tokens": self.usage[1],
                "total_tokens": sum(self.usage),
            },
        }


def _chat_handler(server: FakeChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = json.dumps(server.answer(request)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


async def event_loop_ticks(awaitable: Awaitable[_T]) -> tuple[_T, int]:
    """Await ``awaitable`` and count how often the event loop ran something else meanwhile.

    A coroutine that blocks the loop (synchronous model work inside ``async def``)
    gives 0 or 1; one that hands the work to a thread gives many.
    """
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    try:
        result = await awaitable
    finally:
        task.cancel()
    return result, ticks
