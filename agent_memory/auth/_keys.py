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
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from agent_memory._errors import AuthenticationError, PermissionDeniedError, ValidationError
from agent_memory._validation import VIA_KEY, check_key_label, check_user_id

__all__ = ["KEYS_FILE", "ApiKey", "KeyStore"]

KEYS_FILE = "keys.jsonl"
"""The keys file's name in a data directory, where ``--keys`` does not say otherwise."""
_PREFIX = "amk_"


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

    def actor(self) -> str:
        """The actor of the changes made with this key: who (the key's agent, else the user) and
        through which key, ``user via key:laptop``."""
        who = f"agent:{self.agent_id}" if self.agent_id else "user"
        return f"{who}{VIA_KEY}{self.name}"

    def user_for(self, requested: str | None) -> str:
        """The user a call with this key acts for, given the user the request names (if any)."""
        if self.admin:
            if requested is None:
                raise ValidationError("an admin key must name the user_id it acts for")
            return check_user_id(requested)
        assert self.user_id is not None  # a user key always has one
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
        """Every key ever created here, revoked ones included (marked)."""
        with self._lock:
            self._reload(force=True)
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
            found = self._keys.get(key_id)
        if found is None or found[0].revoked:
            raise AuthenticationError("unknown or revoked API key")
        return found

    def _append(self, line: dict[str, object]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
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
            self._keys, self._seen = {}, None
            return
        if (stat.st_mtime_ns, stat.st_size) == self._seen:
            return
        self._keys = _parse(self.path.read_text(encoding="utf-8"))
        self._seen = (stat.st_mtime_ns, stat.st_size)


def _parse(text: str) -> dict[str, tuple[ApiKey, str]]:
    keys: dict[str, tuple[ApiKey, str]] = {}
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line being appended right now
        if entry.get("op") == "create":
            fields = {k: entry.get(k) for k in ("id", "user_id", "agent_id", "admin", "created_at")}
            fields["label"] = entry.get("label") or ""
            keys[entry["id"]] = (ApiKey(**fields), entry["sha256"])
        elif entry.get("op") == "revoke" and entry.get("id") in keys:
            record, digest = keys[entry["id"]]
            keys[entry["id"]] = (ApiKey(**{**record.to_dict(), "revoked": True}), digest)  # type: ignore[arg-type]
    return keys
