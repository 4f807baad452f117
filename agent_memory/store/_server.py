"""Connecting to a Chroma server (``chroma run``, or Chroma's distributed deployment)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from agent_memory._errors import ConfigurationError, StoreError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

__all__ = ["server_client"]


def _address(url: str) -> tuple[str, int, bool]:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"chroma_url must look like http://host:8000, got {url!r}")
    ssl = parts.scheme == "https"
    return parts.hostname, parts.port or (443 if ssl else 8000), ssl


def server_client(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    tenant: str | None = None,
    database: str | None = None,
) -> ClientAPI:
    """A ``chromadb.HttpClient`` for ``url``; token authentication goes in ``headers``
    (``{"Authorization": "Bearer <token>"}`` or ``{"X-Chroma-Token": "<token>"}``).

    An unreachable server, a refused token or an unknown tenant/database is a
    :class:`StoreError` that says which server.
    """
    import chromadb
    import httpx
    from chromadb.config import Settings
    from chromadb.errors import ChromaError

    host, port, ssl = _address(url)
    try:
        return chromadb.HttpClient(
            host=host,
            port=port,
            ssl=ssl,
            headers=dict(headers or {}),
            settings=Settings(anonymized_telemetry=False),
            tenant=tenant or "default_tenant",
            database=database or "default_database",
        )
    except (httpx.HTTPError, ChromaError, ValueError) as exc:
        raise StoreError(f"cannot use the Chroma server at {url}: {exc}") from exc
