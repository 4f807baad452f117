"""The CLI's commands that listen on a socket or manage who may call them: ``mcp``, ``serve``, ``keys``."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from agent_memory import _config
from agent_memory._errors import ConfigurationError, MemoryNotFoundError
from agent_memory._options import MODES
from agent_memory._system import MemorySystem
from agent_memory.auth._keys import KEYS_FILE, ApiKey, KeyStore
from agent_memory.cli._table import Command
from agent_memory.extraction._openai_chat import configured_extractor
from agent_memory.server._client import MemoryClient

if TYPE_CHECKING:
    from agent_memory.mcp._server import HttpOptions

__all__ = ["SERVICE_COMMANDS", "memory_of", "system_of"]


def memory_of(args: argparse.Namespace) -> MemorySystem | MemoryClient:
    """A running service's client with ``--server`` (and ``--key``), else the store the options describe."""
    if not args.server:
        return system_of(args)
    key = args.key or _config.memory_server()[1]
    if not key:
        raise ConfigurationError("--server needs an API key: --key KEY or AGENT_MEMORY_SERVER_KEY")
    return MemoryClient(args.server, key)


def system_of(args: argparse.Namespace, *, path: str | None = None) -> MemorySystem:
    """The :class:`MemorySystem` the common options describe (commands that need the store itself)."""
    if getattr(args, "server", None):
        raise ConfigurationError(f"{args.command} works on the store itself, not through --server")
    return MemorySystem(
        args.model,
        path=path or args.path,
        collection=args.collection,
        dimensions=args.dimensions,
        device=args.device,
    )


def _cmd_mcp(args: argparse.Namespace, out: TextIO) -> int:
    from agent_memory.mcp._server import HttpOptions, create_mcp_server

    if args.http is not None:  # the same app as serve, with these choices for its /mcp
        if args.user is not None:
            raise ConfigurationError(
                "over HTTP each request's API key says the user; --user is for stdio "
                "(create a key: agent-memory keys create --user NAME)"
            )
        return _serve(args, args.http, HttpOptions(args.mode, args.allow_any_user, args.agent))
    extractor = configured_extractor(args.llm_model, args.llm_base_url)
    with system_of(args) as memory:
        server = create_mcp_server(
            memory,
            user_id=args.user,
            allow_any_user=args.allow_any_user,
            agent_id=args.agent,
            extractor=extractor,
            mode=args.mode,
        )
        memory.warm_up()  # the model loads now, not on the first tool call
        server.run("stdio")
    return 0


def _cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    from agent_memory.mcp._server import HttpOptions

    return _serve(args, args.port, None if args.no_mcp else HttpOptions())


def _serve(args: argparse.Namespace, port: int, mcp: HttpOptions | None) -> int:
    """Run the service (``/v1``, ``/ui`` and, with ``mcp`` options, ``/mcp``) on ``port`` until stopped."""
    import dataclasses

    import uvicorn

    from agent_memory.auth._limits import allowed_hosts
    from agent_memory.server._listen import SlowClientProtocol
    from agent_memory.server._settings import SERVE_ENV, ServiceSettings

    keys, hosts = _live_keys(args), tuple(allowed_hosts(args.host, args.allowed_host))
    workers, ui = getattr(args, "workers", 1), not getattr(args, "no_ui", False)
    chroma_url = getattr(args, "chroma_url", None) or _config.default_chroma_url()
    embed_url = getattr(args, "embed_url", None)
    if workers > 1 and (args.path or not chroma_url):
        raise ConfigurationError(
            "--workers above 1 share one Chroma server (--chroma-url): an embedded store is one process's"
        )
    settings = ServiceSettings(
        args.max_body, args.rate, args.burst, hosts, embed_per_second=args.embed_rate, embed_burst=args.embed_burst,
        header_timeout=args.header_timeout, body_timeout=args.body_timeout, logins_per_minute=args.logins,
        in_flight_per_key=args.in_flight,
    )  # fmt: skip
    os.environ[SERVE_ENV] = json.dumps(
        {
            "memory": {"model": args.model, "path": args.path, "chroma_url": None if args.path else chroma_url,
                       "collection": args.collection, "dimensions": args.dimensions, "device": args.device,
                       "backend": "openai" if embed_url else None, "base_url": embed_url},
            "keys": str(keys.path),
            "settings": dataclasses.asdict(settings),
            "llm": {"model": args.llm_model, "base_url": args.llm_base_url},
            "ui": ui,
            "mcp": None if mcp is None else dataclasses.asdict(mcp),
            "session_secret": secrets.token_hex(32),  # one for all workers: a session works on any of them
        }
    )  # fmt: skip
    base = f"http://{args.host}:{port}"
    served = [f"{base}/v1"] + [f"{base}/ui"] * ui + [f"{base}/mcp"] * (mcp is not None)
    print(f"agent-memory: serving {', '.join(served)} (keys: {keys.path})", file=sys.stderr)
    uvicorn.run(
        "agent_memory.server._app:app_from_environment",
        factory=True,
        workers=workers,
        host=args.host,
        port=port,
        http=SlowClientProtocol,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=30,
    )
    return 0


def _keys(args: argparse.Namespace) -> KeyStore:
    return KeyStore(args.keys or _config.keys_file() or Path(args.path or _config.default_path()) / KEYS_FILE)


def _live_keys(args: argparse.Namespace) -> KeyStore:
    """The keys file a server checks requests against; it must hold a live key."""
    keys = _keys(args)
    if not any(not k.revoked for k in keys.list()):
        raise ConfigurationError(
            f"no API key in {keys.path}: nothing that listens on a socket runs without one "
            "(create one: agent-memory keys create --user NAME, or --admin)"
        )
    return keys


def _cmd_keys(args: argparse.Namespace, out: TextIO) -> int:
    keys = _keys(args)
    if args.action == "create":
        record, key = keys.create(user_id=args.user, agent_id=args.agent, admin=args.admin, label=args.label)
        print(f"created key {record.id} for {record.user_id or 'admin'}; it is shown only now:", file=sys.stderr)
        print(key, file=out)
    elif args.action == "revoke":
        if not keys.revoke(args.id):
            raise MemoryNotFoundError(f"no live key {args.id!r} in {keys.path}")
        print(f"revoked key {args.id}", file=out)
    else:
        for record in keys.list():
            print(json.dumps(record.to_dict()) if args.json else _key_line(record), file=out)
    return 0


def _key_line(record: ApiKey) -> str:
    agent = f", agent {record.agent_id}" if record.agent_id else ""
    who = "admin" if record.admin else f"user {record.user_id}{agent}"
    label = f"  label {record.label}" if record.label and record.label != record.id else ""
    return f"{record.id}  {who}{label}  created {record.created_at}" + ("  REVOKED" if record.revoked else "")


_KEYS_HELP = f"the API keys file (default: $AGENT_MEMORY_KEYS, else {KEYS_FILE} in --path)"


def _listening(p: argparse.ArgumentParser) -> None:
    """Where the service listens, whom it answers and its limits (serve, and mcp --http)."""
    from agent_memory.server._settings import ServiceSettings

    defaults = ServiceSettings()
    allowed_help = "a Host name clients use (repeatable); required with a --host other than loopback"
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME", help=allowed_help)
    p.add_argument("--keys", help=_KEYS_HELP)
    p.add_argument("--max-body", type=int, default=defaults.max_body_bytes, help="largest request body in bytes")
    per_key = "requests a second per key, per worker"
    p.add_argument("--rate", type=float, default=defaults.rate_per_second, help=f"{per_key} (0: no limit)")
    p.add_argument("--burst", type=int, default=defaults.rate_burst, help="requests a key may make at once")
    embed_help = f"texts embedded a second per key, per worker (default {defaults.embed_per_second:g}; 0: no limit)"
    p.add_argument("--embed-rate", type=float, default=defaults.embed_per_second, help=embed_help)
    burst_help = f"texts a key may embed at once, and in one request (default {defaults.embed_burst})"
    p.add_argument("--embed-burst", type=int, default=defaults.embed_burst, help=burst_help)
    header_help = f"seconds a client may take to send a request's headers (default {defaults.header_timeout:g})"
    p.add_argument("--header-timeout", type=float, default=defaults.header_timeout, help=header_help)
    body_help = f"seconds a client may take to send a request's body (default {defaults.body_timeout:g})"
    p.add_argument("--body-timeout", type=float, default=defaults.body_timeout, help=body_help)
    logins_help = f"sign-ins to /ui a minute per client address (default {defaults.logins_per_minute})"
    p.add_argument("--logins", type=int, default=defaults.logins_per_minute, help=logins_help)
    in_flight = defaults.in_flight_per_key
    in_flight_help = f"requests of one key answered at once, per worker (default {in_flight}; 0: no limit)"
    p.add_argument("--in-flight", type=int, default=defaults.in_flight_per_key, help=in_flight_help)


def _llm_options(p: argparse.ArgumentParser) -> None:
    model, url = _config.llm_model(), _config.llm_base_url()
    p.add_argument("--llm-model", default=model, help="offer remember, run by this chat model on --llm-base-url")
    url_help = "an OpenAI-compatible chat server (http://host:port/v1; key in AGENT_MEMORY_LLM_API_KEY)"
    p.add_argument("--llm-base-url", default=url, help=url_help)


def _mcp_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", help="the user every tool call acts for (the model cannot choose another)")
    p.add_argument("--allow-any-user", action="store_true", help="instead: every tool takes a user_id argument")
    p.add_argument("--agent", help="agent id to tag stored memories with")
    p.add_argument("--http", type=int, metavar="PORT", help="serve's app on this port (MCP at /mcp) instead of stdio")
    p.add_argument("--mode", choices=MODES, default="hybrid", help="search_memory's mode: hybrid or dense")
    _listening(p)
    _llm_options(p)


def _serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--workers", type=int, default=1, help="worker processes (above 1: with --chroma-url)")
    p.add_argument("--chroma-url", help="the Chroma server the workers share (default: $AGENT_MEMORY_CHROMA_URL)")
    p.add_argument("--embed-url", help="embed with this OpenAI-compatible server (vllm serve: http://host:port/v1)")
    p.add_argument("--no-ui", action="store_true", help="serve without the inspector at /ui")
    p.add_argument("--no-mcp", action="store_true", help="serve without the MCP tools at /mcp")
    _listening(p)
    _llm_options(p)


def _keys_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("create", "list", "revoke"))
    p.add_argument("id", nargs="?", help="the key id to revoke")
    p.add_argument("--user", help="create: the user the key acts for")
    p.add_argument("--agent", help="create: also bind the key to this agent")
    p.add_argument("--admin", action="store_true", help="create: a key that may act for any user it names")
    p.add_argument("--label", help="create: the key's name in the history (default: its id)")
    p.add_argument("--keys", help=_KEYS_HELP)


SERVICE_COMMANDS = (
    Command("mcp", "serve memory tools over the Model Context Protocol (stdio, or --http)", _cmd_mcp, _mcp_arguments),
    Command("serve", "the memory API over HTTP (/v1, /ui, /mcp), every call authenticated by an API key", _cmd_serve,
            _serve_arguments),
    Command("keys", "create, list or revoke the API keys of the HTTP servers", _cmd_keys, _keys_arguments),
)  # fmt: skip
"""The commands that listen on a socket or manage who may call them."""
