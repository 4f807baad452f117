"""Browser sessions of the inspector (``/ui``): a signed cookie that names an API key, never holds it.

Signing in with a key gives an ``HttpOnly``, ``SameSite=Strict`` cookie holding the
key's id, a random session nonce and the time it was issued, signed with the
server's secret (HMAC-SHA256). Each request checks the signature, the age
(``max_age``) and that the key is still live, so revoking a key ends its sessions
within a second (:meth:`KeyStore.get`). Requests that change something must also
carry the session's CSRF token (``X-CSRF-Token``, or a form's ``csrf`` field),
derived from the nonce with the same secret, so a page of another site can neither
read nor forge it. Workers of one ``serve`` share the secret; signing out is
remembered by the worker that saw it (the cookie is cleared in the browser either way).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time

from agent_memory._errors import AuthenticationError, PermissionDeniedError
from agent_memory.auth._keys import ApiKey, KeyStore

__all__ = ["COOKIE", "Sessions"]

COOKIE = "am_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _sign(secret: bytes, message: str) -> str:
    digest = hmac.new(secret, message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class Sessions:
    """Issues and checks inspector sessions for the keys of one deployment."""

    def __init__(self, keys: KeyStore, secret: bytes | None = None, *, max_age: int = 12 * 3600) -> None:
        self.keys, self.max_age = keys, max_age
        self._secret = secret or secrets.token_bytes(32)
        self._ended: dict[str, float] = {}  # nonce -> when it was signed out
        self._lock = threading.Lock()

    def issue(self, key: ApiKey) -> str:
        """A new session for ``key``: the cookie's value (its CSRF token is :meth:`csrf` of its nonce)."""
        nonce = secrets.token_urlsafe(16)
        body = f"{key.id}.{nonce}.{int(time.time())}"
        return f"{body}.{_sign(self._secret, body)}"

    def resolve(self, cookie: str | None) -> tuple[ApiKey, str]:
        """The live key of a session cookie and the session's nonce, or :class:`AuthenticationError`."""
        parts = (cookie or "").split(".")
        if len(parts) != 4 or not parts[2].isdigit():
            raise AuthenticationError("not signed in")
        key_id, nonce, issued, signature = parts
        if not hmac.compare_digest(signature, _sign(self._secret, f"{key_id}.{nonce}.{issued}")):
            raise AuthenticationError("not signed in")
        if time.time() - int(issued) > self.max_age or nonce in self._ended:
            raise AuthenticationError("the session has ended; sign in again")
        return self.keys.get(key_id), nonce

    def csrf(self, nonce: str) -> str:
        """The CSRF token of the session with this nonce."""
        return _sign(self._secret, f"csrf.{nonce}")

    def check_csrf(self, nonce: str, token: str | None) -> None:
        """:class:`PermissionDeniedError` unless ``token`` is the session's CSRF token."""
        if not token or not hmac.compare_digest(token, self.csrf(nonce)):
            raise PermissionDeniedError("missing or wrong CSRF token")

    def end(self, nonce: str) -> None:
        """Sign a session out (in this process). Kept only ``max_age``: by then its cookie has
        expired anyway, so the record of sign-outs stays bounded."""
        now = time.time()
        with self._lock:
            self._ended = {n: at for n, at in self._ended.items() if now - at <= self.max_age}
            self._ended[nonce] = now
