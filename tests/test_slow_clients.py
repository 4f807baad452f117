"""Slow clients against a real ``agent-memory serve``: a connection that trickles its headers, sends
nothing, or trickles its body is closed within the bounds (``--header-timeout``, ``--body-timeout``),
while the server goes on answering everyone else. Every socket here has a deadline: the test is
bounded in time whatever the server does."""

from __future__ import annotations

import io
import socket
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from agent_memory._processes import free_port, start_server, stop_server
from agent_memory.cli._main import main

BOUND = 1.0  # the server's header and body timeouts, in seconds
GIVE_UP = 8.0  # how long a client below keeps trickling, at most: far past the bound


def _trickle(port: int, opening: bytes, drip: bytes) -> tuple[float, bytes]:
    """Send ``opening``, then a byte of ``drip`` (if any) every 0.2 s until the server closes the
    connection (or ``GIVE_UP`` seconds pass); returns how long the connection lived and what the
    server sent."""
    started, answer = time.monotonic(), b""
    with socket.create_connection(("127.0.0.1", port), timeout=GIVE_UP) as sock:
        sock.settimeout(0.2)
        sock.sendall(opening)
        for tick in range(int(GIVE_UP / 0.2)):
            try:
                chunk = sock.recv(65536)
                if not chunk:
                    break  # closed by the server
                answer += chunk
            except TimeoutError:
                pass
            except OSError:  # reset: closed by the server
                break
            try:
                sock.sendall(drip[tick % len(drip) :][:1] if drip else b"")
            except OSError:
                break
    return time.monotonic() - started, answer


def test_trickling_and_silent_connections_are_closed_within_the_bound(minilm: str, tmp_path: Path) -> None:
    db, out = tmp_path / "db", io.StringIO()
    assert main(["keys", "create", "--user", "alice", "--path", str(db)], out=out) == 0
    key, port = out.getvalue().strip(), free_port()
    command = [sys.executable, "-m", "agent_memory", "serve", "--path", str(db), "--model", minilm, "--port", str(port),
               "--header-timeout", str(BOUND), "--body-timeout", str(BOUND)]  # fmt: skip
    process = start_server(command, f"http://127.0.0.1:{port}/v1/health", timeout=120, log=tmp_path / "serve.log")
    body = (
        f"POST /v1/memories HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    ).encode()
    clients: list[Callable[[], tuple[float, bytes]]] = [
        lambda: _trickle(port, b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", b"a"),  # headers
        lambda: _trickle(port, b"", b""),  # nothing at all
        lambda: _trickle(port, body + b'{"text": "', b"x"),  # a body
        lambda: _trickle(port, b"GET /v1/stats HTTP/1.1\r\nX-", b"b"),  # headers, with a key never sent
        lambda: _trickle(port, body.replace(b"POST /v1/memories", b"GET /v1/health"), b"y"),  # a body never read
    ]
    try:
        with ThreadPoolExecutor(max_workers=len(clients)) as pool:
            slow = [pool.submit(client) for client in clients]
            time.sleep(0.3)
            assert httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=5).status_code == 200  # others are served
            lived = [future.result() for future in slow]
    finally:
        stop_server(process)
    for seconds, _ in lived:
        assert seconds < BOUND + 3.0, lived  # closed by the server, not by the client giving up
    assert lived[2][1].startswith(b"HTTP/1.1 408 ")  # the body that did not arrive: told why
    assert b'"RequestTimeout"' in lived[2][1]
    assert lived[4][1].startswith(b"HTTP/1.1 200 ")  # answered, then closed: its body never came
