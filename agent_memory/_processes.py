"""Server processes for this repository's tests and benchmarks: start one, wait for it, stop it.

Private: the pytest plugin's ``chroma_server`` fixture uses it, and so do the repository's
own suites (``chroma run``, ``vllm serve``, ``agent-memory serve``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["free_port", "start_server", "stop_server"]


def start_server(
    command: Sequence[str], health_url: str, *, timeout: float = 120.0, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a server process in a session of its own and wait until ``health_url`` answers 200.

    For tests and benchmarks that need a real ``chroma run`` or ``vllm serve`` on
    127.0.0.1. Raises ``RuntimeError`` (and stops the process) if it exits or does
    not answer in ``timeout`` seconds; stop it with :func:`stop_server`.
    """
    import httpx

    sink = log.open("wb") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(list(command), stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(health_url, timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    stop_server(process)
    raise RuntimeError(f"{command[0]} did not answer {health_url} in {timeout:.0f} s" + (f"; see {log}" if log else ""))


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop a server started by :func:`start_server`, and its workers, by its PID."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
