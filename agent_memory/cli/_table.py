"""The CLI's one command table, and its flags for the Python API's options.

Each :class:`Command` is a row: its name, what it does, the function that runs it, its own
arguments, and which of the Python API's options it offers (:mod:`agent_memory._options`);
the parser, the help and the dispatch are all built from the rows. An option becomes a flag
named after it (``--top-k``, ``--as-of``; ``--agent``, ``--session``, ``--filter`` and
``--meta`` keep the CLI's short names), with its doc as help, so a new option of
``search_memory`` is a new flag of ``search`` without a line here.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TextIO

from agent_memory._errors import ValidationError
from agent_memory._options import Option, named
from agent_memory._times import relative_time
from agent_memory._validation import check_json

__all__ = ["Command", "add_option_flags", "option_values", "parse_metadata"]

Arguments = Callable[[argparse.ArgumentParser], None]


def _none(parser: argparse.ArgumentParser) -> None:
    """A command with no arguments of its own."""


@dataclass(frozen=True)
class Command:
    """One CLI command: ``run(args, out)`` returns the exit status."""

    name: str
    help: str
    run: Callable[[argparse.Namespace, TextIO], int]
    arguments: Arguments = _none
    options: tuple[Option, ...] = ()
    """The Python API's options the command offers as flags."""


FLAGS = {
    "agent_id": ("--agent",),
    "session_id": ("--session",),
    "filters": ("--filter",),
    "metadata": ("--meta",),
    "top_k": ("-k", "--top-k"),
}
"""The flags whose names are not the option's own."""
_TYPES: dict[str, Callable[[str], Any]] = {"count": int, "number": float, "days": float}
_HELP_TIME = " ISO 8601, or 7d, 2w, 12h, 30m ago."


def add_option_flags(parser: argparse.ArgumentParser, options: Sequence[Option]) -> None:
    """A flag for each option, with the option's doc as help and its default."""
    for option in options:
        flags = FLAGS.get(option.name, (f"--{option.name.replace('_', '-')}",))
        settings: dict[str, Any] = {"dest": option.name, "help": option.doc.replace("%", "%%")}
        if option.kind == "flag" and option.default:
            flags, settings["action"] = (f"--no-{option.name.replace('_', '-')}",), "store_false"
            settings["help"] = f"Turn off: {settings['help']}"
        elif option.kind == "flag":
            settings["action"] = "store_true"
        elif option.kind == "metadata":
            settings.update(action="append", metavar="KEY=VALUE", help=f"{settings['help']} (repeatable)")
        elif option.kind == "choice":
            settings.update(choices=option.choices, default=option.default)
        elif option.kind == "choices":
            names = ",".join(option.choices)
            settings.update(metavar="NAMES", help=f"{settings['help']} Comma-separated, from {names}; none for none.")
        else:
            metavar = "JSON" if option.kind == "filters" else flags[-1].lstrip("-").replace("-", "_").upper()
            settings.update(type=_TYPES.get(option.kind, str), default=option.default, metavar=metavar)
            if option.kind == "time":
                settings["help"] += _HELP_TIME
        parser.add_argument(*flags, **settings)


def option_values(options: Sequence[Option], args: argparse.Namespace) -> dict[str, Any]:
    """The options' values as the Python API takes them: times parsed (relative forms count back from
    now), ``--filter`` as JSON, ``--meta`` pairs as metadata."""
    values = named(tuple(options), args)
    now = datetime.now(timezone.utc)
    for option in options:
        value = values[option.name]
        if value is None:
            continue
        if option.kind == "time":
            values[option.name] = relative_time(value, now, values.get("tz"))
        elif option.kind == "filters":
            values[option.name] = check_json(value, "--filter")
        elif option.kind == "metadata":
            values[option.name] = parse_metadata(value)
        elif option.kind == "choices":
            values[option.name] = [] if value.strip() in ("", "none") else [n.strip() for n in value.split(",")]
    return values


def parse_metadata(pairs: Sequence[str] | None) -> dict[str, Any] | None:
    """``key=value`` pairs; values that parse as JSON numbers or booleans keep that type."""
    if not pairs:
        return None
    metadata: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise ValidationError(f"--meta takes key=value, got {pair!r}")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        metadata[key] = value if isinstance(value, (int, float, bool)) else raw
    return metadata
