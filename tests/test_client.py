"""MemoryClient and the CLI's --server against a real service (uvicorn on a socket, in a thread)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import uvicorn

from agent_memory import (
    AuthenticationError,
    Memory,
    MemoryClient,
    MemoryNotFoundError,
    MemorySystem,
    PermissionDeniedError,
    RateLimitedError,
    Scope,
    ValidationError,
)
from agent_memory._processes import free_port
from agent_memory.auth._keys import KeyStore
from agent_memory.cli._main import main
from agent_memory.server._app import ServiceSettings, create_app
from agent_memory.testing import HashEmbedder


@dataclass
class Running:
    url: str
    keys: dict[str, str]
    memory: MemorySystem


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Running]:
    memory = MemorySystem(embedder=HashEmbedder(32), path=":memory:")
    keys = KeyStore(tmp_path / "keys.jsonl")
    made = {"alice": keys.create(user_id="alice")[1], "bob": keys.create(user_id="bob")[1]}
    made["admin"] = keys.create(admin=True)[1]
    port = free_port()
    app = create_app(memory, keys, settings=ServiceSettings(rate_per_second=5.0, rate_burst=60))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield Running(f"http://127.0.0.1:{port}", made, memory)
    server.should_exit = True
    thread.join(10)


def test_the_client_gives_what_the_system_gives(service: Running) -> None:
    with MemoryClient(service.url, service.keys["alice"]) as alice:
        tea, cat = alice.store_memories(["Alice likes tea", "Alice has a cat"], metadatas=[{"src": "chat"}, None])
        assert service.memory.get_memory(tea.id, user_id="alice") == tea
        again = alice.store_memory("Alice likes tea", user_id="alice")
        assert again == tea
        hits = alice.search_memory("Alice likes tea", top_k=1)
        direct = service.memory.search_memory("Alice likes tea", user_id="alice", top_k=1)
        assert hits == direct
        updated = alice.update_memory(tea.id, text="Alice likes coffee")
        assert updated.text == "Alice likes coffee" and alice.get_memory(tea.id) == updated
        assert [e.action for e in alice.history(tea.id)] == ["create", "update"]
        assert alice.history(tea.id) == service.memory.history(tea.id, user_id="alice")  # metadata too
        assert alice.history(tea.id)[1].old_metadata == {"src": "chat"}
        assert alice.list_memories(limit=1) == [updated] and alice.list_memories(offset=1) == [cat]
        assert alice.count() == 2 and alice.stats().users == {"alice": 2}
        assert alice.delete_memory(cat.id) and not alice.delete_memory(cat.id)
        assert alice.get_memory(cat.id) is None
        assert alice.delete_all_memories() == 1 and alice.count() == 0
        both = alice.store_memories(["Alice runs", "Alice swims"], metadata={"topic": "sport"})  # one for all
        assert [m.metadata for m in both] == [{"topic": "sport"}] * 2
        assert both == service.memory.list_memories(user_id="alice")


def test_the_services_errors_are_the_librarys(service: Running) -> None:
    with MemoryClient(service.url, service.keys["bob"]) as bob:
        with pytest.raises(ValidationError):
            bob.search_memory("   ")
        with pytest.raises(PermissionDeniedError):
            bob.list_memories(user_id="alice")
        with pytest.raises(MemoryNotFoundError):
            bob.update_memory("0" * 32, text="x")
    with MemoryClient(service.url, "amk_000000000000_nope") as stranger, pytest.raises(AuthenticationError):
        stranger.count()
    with MemoryClient(service.url, service.keys["admin"]) as admin:
        with pytest.raises(ValidationError, match="admin key must name"):
            admin.store_memory("x")
        assert admin.store_memory("Carol likes jazz", user_id="carol").user_id == "carol"
        with pytest.raises(RateLimitedError) as limited:
            for _ in range(200):
                admin.count(user_id="carol")
    assert limited.value.retry_after >= 1


def test_the_cli_works_through_a_running_service(service: Running) -> None:
    def cli(*args: str) -> tuple[int, str]:
        out = io.StringIO()
        return main([*args, "--server", service.url, "--key", service.keys["alice"]], out=out), out.getvalue()

    assert cli("add", "Alice likes tea", "--user", "alice")[0] == 0
    code, found = cli("search", "tea", "--user", "alice")
    assert code == 0 and "Alice likes tea" in found
    assert "Alice likes tea" in cli("list", "--user", "alice")[1]
    assert cli("search", "tea", "--user", "bob")[0] == 1  # alice's key cannot act for bob
    assert cli("reindex")[0] != 0  # needs the store itself
    assert service.memory.count(user_id="alice") == 1


def test_the_client_sends_times_with_their_offset(service: Running) -> None:
    week_ago = datetime.now(timezone.utc) - timedelta(days=7)
    old = Memory.create("Alice moved to Porto", Scope.of("alice"), created_at=week_ago)
    service.memory.writer.upsert([old], lambda ms: service.memory.embedder.embed_documents([m.text for m in ms]), "t")
    with MemoryClient(service.url, service.keys["alice"]) as alice:
        alice.store_memory("Alice ate sushi")
        naive_yesterday = (datetime.now() - timedelta(days=1)).replace(tzinfo=None)  # this process's zone
        assert [m.text for m in alice.list_memories(since=naive_yesterday)] == ["Alice ate sushi"]
        assert [m.text for m in alice.list_memories(order="newest")] == ["Alice ate sushi", "Alice moved to Porto"]
        assert [h.text for h in alice.search_memory("Alice", until=naive_yesterday)] == ["Alice moved to Porto"]


def test_an_id_can_never_name_another_route(service: Running) -> None:
    with MemoryClient(service.url, service.keys["alice"]) as alice:
        alice.store_memory("Alice likes tea")
        assert alice.get_memory("../memories") is None and not alice.delete_memory("..")
        assert alice.count() == 1


def test_validity_through_the_service_the_client_and_the_cli(service: Running) -> None:
    """Expired memories stay out of reads over HTTP too; as_of, include_expired and a time the query
    names work through MemoryClient and the CLI's --server, and never reach another user's memories."""
    porto = service.memory.store_memory("Alice lives in Porto", user_id="alice", valid_from="2019-01-01T00:00:00Z")
    service.memory.expire_memory(porto.id, user_id="alice", at="2023-03-01T00:00:00Z")
    service.memory.store_memory("Alice lives in Berlin", user_id="alice", valid_from="2023-03-01T00:00:00Z")
    service.memory.store_memory("Bob lives in Porto", user_id="bob", valid_from="2019-01-01T00:00:00Z")
    with MemoryClient(service.url, service.keys["alice"]) as alice:
        assert [h.text for h in alice.search_memory("Porto lives")] == ["Alice lives in Berlin"]
        then = alice.search_memory("Porto lives", as_of="2022-01-01T00:00:00Z")
        assert [h.text for h in then] == ["Alice lives in Porto"] and then[0].memory.valid_until is not None
        every = alice.list_memories(include_expired=True)
        assert [m.text for m in every] == ["Alice lives in Porto", "Alice lives in Berlin"]
        assert every[0] == service.memory.get_memory(porto.id, user_id="alice")  # validity survives the wire
        named = alice.search_memory("Where did Alice live in 2022?", time_aware=True, now="2026-11-28T12:00:00Z")
        assert named[0].text == "Alice lives in Porto"
        assert {h.memory.user_id for h in alice.search_memory("Porto", include_expired=True, top_k=10)} == {"alice"}
    out = io.StringIO()
    cli = ["--server", service.url, "--key", service.keys["alice"], "--user", "alice"]
    assert main(["list", *cli, "--include-expired"], out=out) == 0
    assert "Porto" in out.getvalue() and "Berlin" in out.getvalue()
    out = io.StringIO()
    assert main(["search", "lives", *cli, "--as-of", "2020-06-01"], out=out) == 0
    assert "Porto" in out.getvalue() and "Berlin" not in out.getvalue()


def test_expire_and_restore_over_http_and_bob_cannot_do_either_to_alice(service: Running) -> None:
    kept = service.memory.store_memory("Alice has a cat", user_id="alice")
    with MemoryClient(service.url, service.keys["bob"]) as bob:
        for attempt in (bob.expire_memory, bob.restore_memory):
            with pytest.raises(MemoryNotFoundError):
                attempt(kept.id)
            with pytest.raises(PermissionDeniedError):  # naming alice does not make bob alice
                attempt(kept.id, user_id="alice")
    assert service.memory.get_memory(kept.id, user_id="alice") == kept
    with MemoryClient(service.url, service.keys["alice"]) as alice:
        ended = alice.expire_memory(kept.id, at="2025-05-01T12:00:00", tz="Europe/Lisbon")
        assert ended.valid_until == datetime(2025, 5, 1, 11, tzinfo=timezone.utc)  # naive: read in the client's tz
        assert alice.list_memories() == []
        assert alice.restore_memory(kept.id).valid_until is None
        assert [m.id for m in alice.list_memories()] == [kept.id]
    actions = [e.action for e in service.memory.history(kept.id, user_id="alice")]
    assert actions == ["create", "expire", "restore"]
