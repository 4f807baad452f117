"""API keys for everything that listens on a socket: who may call, and for which user.

A key is bound to one user (optionally to one of that user's agents), or is an
admin key that must name the user of each call. The user always comes from the
key, never from the request: a request naming another user is refused
(:class:`PermissionDeniedError`).

Keys live in a JSON Lines file that holds only their SHA-256, never the key: one
``create`` line per key and one ``revoke`` line per revocation, appended (so
several processes can manage and read one file). A key reads
``amk_<id>_<secret>``; the id finds the record, and the hash of the whole key is
compared in constant time. Readers re-read the file when it changes (checked at
most every ``recheck`` seconds, 0.5 by default), so a revocation reaches every
worker within a second.

The file is read strictly, and fails closed: a line that is not exactly a ``create``
or ``revoke`` record (not JSON, half written, a field missing, unknown or of the wrong
type, a second ``create`` of one id, a ``revoke`` of an id never created) makes the
whole file unreadable, and then no key is accepted (:class:`AuthenticationError`)
until it is fixed; the error, with its line, is logged once (``agent_memory.auth``)
and raised by :meth:`KeyStore.list`, so ``keys list`` and ``serve`` show it. A file
that others may write to is accepted, with a warning.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from agent_memory._errors import (
    AgentMemoryError,
    AuthenticationError,
    ConfigurationError,
    PermissionDeniedError,
    ValidationError,
)
from agent_memory._validation import VIA_KEY, check_actor, check_key_label, check_optional_scope, check_user_id

__all__ = ["KEYS_FILE", "ApiKey", "KeyStore"]

KEYS_FILE = "keys.jsonl"
"""The keys file's name in a data directory, where ``--keys`` does not say otherwise."""
_PREFIX = "amk_"
_log = logging.getLogger("agent_memory.auth")
T = TypeVar("T")


@dataclass(frozen=True)
class ApiKey:
    """What a key may do (never the key itself): act for ``user_id`` (and ``agent_id``), or any user."""

    id: str
    user_id: str | None
    agent_id: str | None = None
    admin: bool = False
    created_at: str = ""
    revoked: bool = False
    label: str = ""
    """The key's name, given when it was created (the key id for keys made before labels)."""

    @property
    def name(self) -> str:
        """What the history calls this key: its label, else its id."""
        return self.label or self.id

    def actor(self, requested: str | None = None) -> str:
        """The actor of the changes made with this key: who (as the request says, else the key's agent,
        else the user) and through which key, ``user via key:laptop``. A key bound to an agent acts
        as that agent only."""
        own = f"agent:{self.agent_id}" if self.agent_id else None
        if requested is not None and own is not None and requested != own:
            raise PermissionDeniedError(f"this key acts as {own}, not as {requested!r}")
        who = requested or own or "user"
        if VIA_KEY in who:
            raise ValidationError("the actor is who made the change; the service adds the key it came through")
        return check_actor(f"{who}{VIA_KEY}{self.name}")

    def user_for(self, requested: str | None) -> str:
        """The user a call with this key acts for, given the user the request names (if any)."""
        if self.admin:
            if requested is None:
                raise ValidationError("an admin key must name the user_id it acts for")
            return check_user_id(requested)
        if self.user_id is None:  # a user key always has one; the keys file is read strictly
            raise AuthenticationError("this key names no user")
        if requested is not None and requested != self.user_id:
            raise PermissionDeniedError("this key may not act for another user")
        return self.user_id

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "agent_id": self.agent_id,
            "admin": self.admin,
            "created_at": self.created_at,
            "revoked": self.revoked,
            "label": self.label,
        }


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyStore:
    """The keys of one deployment, in a JSON Lines file (see the module's docstring)."""

    def __init__(self, path: str | os.PathLike[str], *, recheck: float = 0.5) -> None:
        self.path = Path(path)
        self.recheck = recheck
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[ApiKey, str]] = {}
        self._seen: tuple[int, int] | None = None
        self._checked = 0.0
        self._problem: str | None = None  # why the file cannot be read, while it cannot

    def create(
        self, *, user_id: str | None = None, agent_id: str | None = None, admin: bool = False, label: str | None = None
    ) -> tuple[ApiKey, str]:
        """A new key: its record, and the key itself (shown once; only its hash is kept).
        ``label`` names it in the history (default: its id)."""
        if admin == (user_id is not None):
            raise ValidationError("a key is either bound to a user (user_id=...) or an admin key, not both or neither")
        if agent_id is not None and admin:
            raise ValidationError("an admin key is not bound to an agent")
        if label is not None:
            check_key_label(label)
        check_optional_scope(agent_id, "agent_id")  # "" would read as no agent: a user-wide key
        self.list()  # a file that cannot be read is fixed first
        key_id = secrets.token_hex(6)
        key = f"{_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKey(
            id=key_id,
            user_id=None if user_id is None else check_user_id(user_id),
            agent_id=agent_id,
            admin=admin,
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            label=label or key_id,
        )
        self._append({"op": "create", "sha256": _digest(key), **record.to_dict()})
        return record, key

    def revoke(self, key_id: str) -> bool:
        """Revoke a key by its id; ``False`` when there is no such live key."""
        live = {k.id for k in self.list() if not k.revoked}
        if key_id not in live:
            return False
        self._append({"op": "revoke", "id": key_id, "at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        return True

    def list(self) -> list[ApiKey]:
        """Every key ever created here, revoked ones included (marked); :class:`ConfigurationError`
        when the file cannot be read (then no key is accepted)."""
        with self._lock:
            self._reload(force=True)
            if self._problem is not None:
                raise ConfigurationError(f"{self._problem}; no API key is accepted until the file is fixed")
            return [record for record, _ in self._keys.values()]

    def get(self, key_id: str) -> ApiKey:
        """The live key with this id (a browser session holds the id, never the key), or
        :class:`AuthenticationError` once it is revoked or unknown."""
        return self._live(key_id)[0]

    def authenticate(self, key: str | None) -> ApiKey:
        """The live key this is, or :class:`AuthenticationError`."""
        if not key or not key.startswith(_PREFIX):
            raise AuthenticationError("missing or malformed API key")
        record, digest = self._live(key[len(_PREFIX) :].split("_", 1)[0])
        if not hmac.compare_digest(digest, _digest(key)):
            raise AuthenticationError("unknown or revoked API key")
        return record

    def _live(self, key_id: str) -> tuple[ApiKey, str]:
        """The live key with this id and its hash (the file re-read if it changed), or
        :class:`AuthenticationError`."""
        with self._lock:
            self._reload()
            found, broken = self._keys.get(key_id), self._problem is not None
        if broken:
            raise AuthenticationError("no API key is accepted while the server's keys file is unreadable (see its log)")
        if found is None or found[0].revoked:
            raise AuthenticationError("unknown or revoked API key")
        return found

    def _append(self, line: dict[str, object]) -> None:
        """Append one record; after a line cut short (no newline at the end), on a line of its own."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            size = os.fstat(fd).st_size
            glued = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
            os.write(fd, (("\n" if glued else "") + json.dumps(line) + "\n").encode("utf-8"))
        finally:
            os.close(fd)
        self._checked = 0.0  # this store's own change is seen at once

    def _reload(self, force: bool = False) -> None:
        """Read the file again if it changed (lock held)."""
        now = time.monotonic()
        if not force and now - self._checked < self.recheck:
            return
        self._checked = now
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._keys, self._seen, self._problem = {}, None, None
            return
        if (stat.st_mtime_ns, stat.st_size) == self._seen:
            return
        if stat.st_mode & 0o022:
            _log.warning("the keys file %s may be written by other users: anyone who can may add a key", self.path)
        try:
            self._keys, self._problem = _parse(self.path.read_bytes()), None
        except _Unreadable as exc:
            self._keys, self._problem = {}, f"the keys file {self.path} cannot be read: {exc}"
            _log.error("%s; no API key is accepted until it is fixed", self._problem)
        self._seen = (stat.st_mtime_ns, stat.st_size)


class _Unreadable(Exception):
    """A keys file line that is not exactly a record (the message names the line)."""


_SHA256 = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9A-Za-z-]{1,64}")  # no "_": it ends the id in a key
_CREATE = {"op", "sha256", "id", "user_id", "agent_id", "admin", "created_at"}
_CREATE_OPTIONAL = frozenset({"label", "revoked"})  # older files have neither
_REVOKE = {"op", "id", "at"}


def _parse(data: bytes) -> dict[str, tuple[ApiKey, str]]:
    """Every key in a keys file, or :class:`_Unreadable` for the first line that is not exactly a record."""
    keys: dict[str, tuple[ApiKey, str]] = {}
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict):
                raise ValueError("not a JSON object")
            _apply(entry, keys)
        except (ValueError, AgentMemoryError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise _Unreadable(f"line {number}: {exc}") from None
    return keys


def _apply(entry: dict[str, object], keys: dict[str, tuple[ApiKey, str]]) -> None:
    """Add one record to ``keys`` (``ValueError`` or a library error when it is not exactly one)."""
    if entry.get("op") == "create":
        _fields(entry, _CREATE, _CREATE_OPTIONAL)
        record = _record(entry)
        if record.id in keys:
            raise ValueError(f"a second create line for key {record.id}")
        keys[record.id] = (record, _typed(entry, "sha256", str, _SHA256))
    elif entry.get("op") == "revoke":
        _fields(entry, _REVOKE)
        key_id, _ = _typed(entry, "id", str), _typed(entry, "at", str)
        if key_id not in keys:
            raise ValueError(f"revokes key {key_id}, which no earlier line creates")
        record, digest = keys[key_id]
        keys[key_id] = (ApiKey(**{**record.to_dict(), "revoked": True}), digest)  # type: ignore[arg-type]
    else:
        raise ValueError(f"op must be 'create' or 'revoke', got {entry.get('op')!r}")


def _record(entry: dict[str, object]) -> ApiKey:
    """The key a ``create`` line describes, every field checked (types, and admin or user, never both)."""
    admin = _typed(entry, "admin", bool)
    user_id, agent_id = entry["user_id"], check_optional_scope(entry["agent_id"], "agent_id")
    if admin != (user_id is None) or (admin and agent_id is not None):
        raise ValueError("a key is an admin key (user_id and agent_id null) or a user's key, not both or neither")
    label = _typed(entry, "label", str) if "label" in entry else ""
    return ApiKey(
        id=_typed(entry, "id", str, _KEY_ID),
        user_id=None if user_id is None else check_user_id(user_id),
        agent_id=agent_id,
        admin=admin,
        created_at=_typed(entry, "created_at", str),
        revoked=_typed(entry, "revoked", bool) if "revoked" in entry else False,
        label=label and check_key_label(label),
    )


def _fields(entry: dict[str, object], required: set[str], optional: frozenset[str] = frozenset()) -> None:
    missing, unknown = required - entry.keys(), entry.keys() - required - optional
    if missing or unknown:  # an unknown field may be a restriction this version would ignore: refused
        raise ValueError(f"{entry['op']} line: missing {sorted(missing)}, unknown {sorted(unknown)}")


def _typed(entry: dict[str, object], name: str, kind: type[T], pattern: re.Pattern[str] | None = None) -> T:
    value = entry[name]
    if type(value) is not kind or (pattern is not None and not pattern.fullmatch(str(value))):
        raise ValueError(f"{name} must be a {kind.__name__}" + (" of the right form" if pattern else ""))
    return value
