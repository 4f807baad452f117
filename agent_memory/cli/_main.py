"""The ``agent-memory`` command line; ``agent-memory --help`` lists its commands (from the table below)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TextIO

from agent_memory import _config
from agent_memory._errors import AgentMemoryError, ValidationError
from agent_memory._options import LIST, SEARCH, STORE
from agent_memory._transfer import Record, parse_record
from agent_memory._types import Memory, SearchHit
from agent_memory.cli._serving import SERVICE_COMMANDS, memory_of, system_of
from agent_memory.cli._table import Command, add_option_flags, option_values, parse_metadata

__all__ = ["COMMANDS", "main"]

DEMO_MEMORIES = {
    "alice": [
        "Alice likes coffee",
        "Alice is allergic to peanuts",
        "Alice's daughter is called Emma",
        "Alice works as a nurse on night shifts",
        "用户 Alice 喜欢喝咖啡",
    ],
    "bob": [
        "Bob prefers green tea to coffee",
        "Bob is training for the Berlin marathon",
        "Bob has a cat named Miso",
    ],
}
DEMO_SEARCHES = [
    ("alice", "What does Alice drink in the morning?"),
    ("alice", "Which foods should Alice avoid?"),
    ("alice", "Alice 喝什么？"),
    ("bob", "What sport does Bob do?"),
    ("bob", "What does Alice drink?"),
]


SHOWN_CHARS = 200
"""How much of a memory's text the human output shows (``--json`` shows it whole)."""


def _shown(text: str | None) -> str:
    """A text for a terminal: on one line, cut at :data:`SHOWN_CHARS` characters."""
    line = " ".join((text or "").split())
    return line if len(line) <= SHOWN_CHARS else f"{line[: SHOWN_CHARS - 1]}… ({len(line):,} characters)"


def _print_hits(hits: Sequence[SearchHit], as_json: bool, out: TextIO) -> None:
    if as_json:
        for hit in hits:
            print(json.dumps(hit.to_dict(), ensure_ascii=False), file=out)
        return
    if not hits:
        print("  (no memories found)", file=out)
    for rank, hit in enumerate(hits, 1):
        print(f"  {rank}. {hit.score:.3f}  {_shown(hit.text)}  [{hit.memory.id}]", file=out)


def _print_memories(memories: Sequence[Memory], as_json: bool, out: TextIO) -> None:
    if not memories and not as_json:
        print("  (no memories found)", file=out)
    for m in memories:
        if as_json:
            print(json.dumps(m.to_dict(), ensure_ascii=False), file=out)
        else:
            created = m.created_at.strftime("%Y-%m-%d %H:%M") if m.created_at else "?"
            print(f"{m.id}  {created}  {_shown(m.text)}", file=out)


def _text(value: str) -> str:
    """A text argument; ``-`` reads it from standard input (for long texts)."""
    return sys.stdin.read().strip() if value == "-" else value


def _cmd_add(args: argparse.Namespace, out: TextIO) -> int:
    with memory_of(args) as memory:
        m = memory.store_memory(_text(args.text), user_id=args.user, **option_values(STORE, args))
    _print_memories([m], args.json, out)
    return 0


def _cmd_update(args: argparse.Namespace, out: TextIO) -> int:
    if args.text is None and not args.metadata:
        raise ValidationError("update needs --text and/or --meta")
    with memory_of(args) as memory:
        m = memory.update_memory(
            args.id,
            user_id=args.user,
            text=None if args.text is None else _text(args.text),
            metadata=parse_metadata(args.metadata),
        )
    _print_memories([m], args.json, out)
    return 0


def _cmd_search(args: argparse.Namespace, out: TextIO) -> int:
    with memory_of(args) as memory:
        hits = memory.search_memory(args.query, user_id=args.user, **option_values(SEARCH, args))
    _print_hits(hits, args.json, out)
    return 0


def _cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    with memory_of(args) as memory:
        memories = memory.list_memories(user_id=args.user, **option_values(LIST, args))
    _print_memories(memories, args.json, out)
    return 0


def _cmd_delete(args: argparse.Namespace, out: TextIO) -> int:
    with memory_of(args) as memory:
        deleted = memory.delete_memory(args.id, user_id=args.user)
    print(f"deleted {args.id}" if deleted else f"no memory {args.id} for user {args.user}", file=out)
    return 0 if deleted else 1


def _cmd_forget(args: argparse.Namespace, out: TextIO) -> int:
    if not args.yes:
        if not sys.stdin.isatty():
            raise ValidationError("forget deletes every memory of the user: pass --yes to confirm")
        if input(f"Delete every memory of {args.user!r}? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing deleted", file=out)
            return 1
    with memory_of(args) as memory:
        count = memory.delete_all_memories(user_id=args.user, purge_history=args.purge_history)
    print(f"deleted {count} memories of {args.user}", file=out)
    return 0


def _cmd_history(args: argparse.Namespace, out: TextIO) -> int:
    with memory_of(args) as memory:
        events = memory.history(args.id, user_id=args.user)
    if args.json:
        for e in events:
            print(json.dumps(e.to_dict(), ensure_ascii=False), file=out)
        return 0
    if not events:
        print(f"  (no history for {args.id} of {args.user})", file=out)
    for e in events:
        metadata = f"metadata {_json_text(e.old_metadata)} -> {_json_text(e.new_metadata)}"
        shown = {"create": f"+ {e.new_text}", "delete": f"- {e.old_text}", "metadata": metadata}
        change = shown.get(e.action, f"{e.old_text} -> {e.new_text}")
        print(f"  {e.at.isoformat(timespec='seconds')}  {e.action:<6}  {e.actor:<14}  {_shown(change)}", file=out)
    return 0


def _json_text(metadata: Mapping[str, object] | None) -> str:
    return json.dumps(metadata or {}, ensure_ascii=False, sort_keys=True)


def _read_jsonl(lines: Iterator[str], default_user: str | None) -> list[Record]:
    """Parse and check every line first, so that a file with a bad line writes nothing."""
    records, errors = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(parse_record(json.loads(line), default_user))
        except ValueError as exc:  # JSON errors and ValidationErrors alike
            errors.append(f"line {number}: {exc}")
    if errors:
        raise ValidationError(f"nothing imported; {len(errors)} line(s) rejected:\n  " + "\n  ".join(errors[:20]))
    return records


def _cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    with sys.stdin if args.file == "-" else open(args.file, encoding="utf-8") as handle:
        records = _read_jsonl(iter(handle), args.user)
    with_ids = [r for r in records if r.memory.id]
    groups: dict[tuple[str, str | None, str | None], list[Memory]] = {}
    for r in records:
        if not r.memory.id:
            groups.setdefault((r.memory.user_id, r.memory.agent_id, r.memory.session_id), []).append(r.memory)
    progress = len(records) >= 100 or None
    with system_of(args) as memory:
        report = memory.import_memories(with_ids, progress=progress)
        for (user, agent, session), group in groups.items():
            texts, metadatas = [m.text for m in group], [m.metadata for m in group]
            memory.store_memories(
                texts, user_id=user, agent_id=agent, session_id=session, metadatas=metadatas, progress=progress
            )
    print(
        f"imported {len(records)} memories: with ids {report.created} created, {report.updated} restored to "
        f"the file's version, {report.unchanged} unchanged; {len(records) - len(with_ids)} without ids, by text",
        file=sys.stderr,
    )
    return 0


def _cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    with system_of(args) as memory:
        users = [args.user] if args.user else list(memory.stats().users)
        for user in users:
            for line in memory.export_memories(user_id=user, vectors=args.vectors):
                print(json.dumps(line, ensure_ascii=False), file=out)
    return 0


def _cmd_stats(args: argparse.Namespace, out: TextIO) -> int:
    with memory_of(args) as memory:
        stats = memory.stats()
    if args.json:
        print(json.dumps(dataclasses.asdict(stats), ensure_ascii=False), file=out)
        return 0
    print(f"store:      {stats.path} (collection {stats.collection})", file=out)
    print(
        f"model:      {stats.model or '(not yet used)'}" + (f", {stats.dimension} dims" if stats.dimension else ""),
        file=out,
    )
    print(f"memories:   {stats.total} from {len(stats.users)} user(s)", file=out)
    for user, count in stats.users.items():
        print(f"  {user}: {count}", file=out)
    return 0


def _cmd_reindex(args: argparse.Namespace, out: TextIO) -> int:
    with system_of(args) as memory:
        before = memory.stats()
        count = memory.reindex(keep_old=args.keep_old)
        after = memory.stats()
    was = f"{before.model} ({before.dimension} dims)" if before.model else "(unused)"
    print(f"re-embedded {count} memories: {was} -> {after.model} ({after.dimension} dims)", file=out)
    if args.dimensions:
        print(f"later commands open this collection at {args.dimensions} dimensions, the size it records", file=out)
    return 0


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    with system_of(args, path=args.path or ":memory:") as memory:
        print(f"agent-memory demo with {memory.embedder!r}\n", file=out)
        for user, texts in DEMO_MEMORIES.items():
            memory.store_memories(texts, user_id=user)
            print(f"stored {len(texts)} memories for {user}: " + "; ".join(texts), file=out)
        for user, query in DEMO_SEARCHES:
            print(f"\n[{user}] {query}", file=out)
            _print_hits(memory.search_memory(query, user_id=user, top_k=3), False, out)
        leaked = [h for h in memory.search_memory("coffee", user_id="bob", top_k=10) if h.memory.user_id != "bob"]
        print(f"\nisolation: bob's search for 'coffee' returned {len(leaked)} of alice's memories", file=out)
        print(f"memories stored: alice {memory.count(user_id='alice')}, bob {memory.count(user_id='bob')}", file=out)
    return 0 if not leaked else 1


def _common() -> argparse.ArgumentParser:
    """The options every command takes: where the store is, and how to answer."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", help="hub id or local path (default: $AGENT_MEMORY_MODEL or Qwen3-Embedding-0.6B)")
    common.add_argument("--path", help="Chroma data directory (default: $AGENT_MEMORY_PATH or the user data dir)")
    common.add_argument("--collection", default="memories", help="Chroma collection (default: memories)")
    dims_help = "Matryoshka size (32..model size; default: $AGENT_MEMORY_DIMENSIONS, else the collection's or model's)"
    common.add_argument("--dimensions", type=int, help=dims_help)
    common.add_argument("--device", help="cpu, cuda, mps (default: $AGENT_MEMORY_DEVICE or automatic)")
    common.add_argument("--json", action="store_true", help="print JSON lines")
    common.add_argument("--verbose", action="store_true", help="also the model's loading progress and warnings")
    server_help = "a running agent-memory serve to work through (default: $AGENT_MEMORY_SERVER)"
    common.add_argument("--server", default=_config.memory_server()[0], metavar="URL", help=server_help)
    common.add_argument("--key", help="the API key for --server (default: $AGENT_MEMORY_SERVER_KEY)")
    return common


def _user(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", required=True)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("text", help="the memory's text, or - to read it from standard input")
    _user(p)


def _search_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("query")
    _user(p)


def _list_arguments(p: argparse.ArgumentParser) -> None:
    _user(p)
    p.add_argument(
        "--newest", dest="order", action="store_const", const="newest", default=argparse.SUPPRESS, help="--order newest"
    )


def _update_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    _user(p)
    p.add_argument("--text", help="the new text, or - to read it from standard input")
    help_meta = "the new metadata, replacing it (repeatable)"
    p.add_argument("--meta", dest="metadata", action="append", metavar="KEY=VALUE", help=help_meta)


def _id_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    _user(p)


def _forget_arguments(p: argparse.ArgumentParser) -> None:
    _user(p)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--purge-history", action="store_true", help="also delete the user's change history")


def _import_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="path, or - for standard input")
    p.add_argument("--user", help="store every line for this user")


def _export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", help="only this user (default: every user)")
    p.add_argument("--vectors", action="store_true", help="include each memory's vector (and its model)")


def _reindex_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--keep-old", action="store_true", help="keep the old collection, renamed")


COMMANDS = (
    Command("add", "store a memory for a user", _cmd_add, _add_arguments, STORE),
    Command("search", "search a user's memories", _cmd_search, _search_arguments, SEARCH),
    *SERVICE_COMMANDS,
    Command("list", "list a user's memories", _cmd_list, _list_arguments, LIST),
    Command("update", "change a memory's text (re-embedded) and/or its metadata, keeping its id", _cmd_update,
            _update_arguments),
    Command("delete", "delete one memory", _cmd_delete, _id_arguments),
    Command("forget", "delete every memory of a user", _cmd_forget, _forget_arguments),
    Command("history", "show every change to a memory (create, update, delete)", _cmd_history, _id_arguments),
    Command("import", "store memories from a JSONL file ({'text', 'user_id', 'metadata', ...} per line)",
            _cmd_import, _import_arguments),
    Command("export", "write memories as JSONL to standard output", _cmd_export, _export_arguments),
    Command("stats", "what the store holds", _cmd_stats),
    Command("reindex", "re-embed every memory with --model/--dimensions, switching over when complete", _cmd_reindex,
            _reindex_arguments),
    Command("demo", "store and search example memories for two users (in memory unless --path)", _cmd_demo),
)  # fmt: skip
"""Every command, in the order ``--help`` lists them."""


def _parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(prog="agent-memory")
    parser.add_argument("--version", action="version", version=f"agent-memory {_config.VERSION}")
    parser.description = f"Long-term memory for LLM agents. Commands: {', '.join(c.name for c in COMMANDS)}."
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.help, parents=[common])
        command.arguments(p)
        add_option_flags(p, command.options)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 failed, 2 usage)."""
    args = _parser().parse_args(argv)
    if not args.verbose:  # no load-time noise in a terminal (read when transformers is imported, later)
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        run = next(c.run for c in COMMANDS if c.name == args.command)
        return run(args, out or sys.stdout)
    except AgentMemoryError as exc:
        print(f"agent-memory: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValidationError) else 1
    except OSError as exc:  # an unreadable import file, say
        print(f"agent-memory: error: {exc}", file=sys.stderr)
        return 1
