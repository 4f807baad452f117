"""The inspector at /ui over HTTP: sign-in, sessions bound to keys, CSRF, escaping, headers, and
clients that try to cheat. The same flows in a real browser are in ``tests/browser``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent_memory import MemorySystem
from agent_memory._transfer import parse_record
from agent_memory.auth._keys import KeyStore
from agent_memory.server._app import ServiceSettings, create_app
from agent_memory.testing import HashEmbedder

XSS = [
    "<script>alert('x')</script>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
]


class Site:
    """The service's app with a key per role, and a browser-like client per key."""

    def __init__(self, tmp: Path) -> None:
        self.memory = MemorySystem(embedder=HashEmbedder(32), path=":memory:")
        self.keys = KeyStore(tmp / "keys.jsonl")
        self.alice_key, self.alice = self.keys.create(user_id="alice", label="alice-laptop")
        self.bob = self.keys.create(user_id="bob")[1]
        self.admin = self.keys.create(admin=True, label="ops")[1]
        self.app = create_app(self.memory, self.keys, settings=ServiceSettings(allowed_hosts=("testserver",)))
        self.clients: list[TestClient] = []

    def client(self) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        client.__enter__()
        self.clients.append(client)
        return client

    def signed_in(self, key: str) -> tuple[TestClient, str]:
        """A client signed in with ``key``, and its session's CSRF token."""
        client = self.client()
        form = client.get("/ui/login")
        token = re.search(r'name="login_token" value="([^"]+)"', form.text)
        assert token is not None
        answer = client.post("/ui/login", data={"key": key, "login_token": token.group(1)})
        assert answer.status_code == 303 and answer.headers["location"] == "/ui/memories", answer.text
        page = client.get("/ui/memories")
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
        assert page.status_code == 200 and csrf is not None
        return client, csrf.group(1)

    def close(self) -> None:
        for client in reversed(self.clients):
            client.__exit__(None, None, None)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = Site(tmp_path)
    yield s
    s.close()


def test_signing_in_sets_a_strict_http_only_cookie_and_never_puts_the_key_in_a_url(site: Site) -> None:
    client = site.client()
    form = client.get("/ui/login")
    assert form.status_code == 200 and 'type="password"' in form.text and 'method="post"' in form.text
    token = re.search(r'name="login_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    answer = client.post("/ui/login", data={"key": site.alice, "login_token": token})
    cookie = answer.headers["set-cookie"]
    assert "am_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert site.alice not in cookie and site.alice not in answer.headers["location"]
    page = client.get("/ui/memories")
    assert site.alice not in page.text


def test_sign_in_needs_the_forms_own_token_and_a_live_key(site: Site) -> None:
    client = site.client()
    forged = client.post("/ui/login", data={"key": site.alice, "login_token": "guessed"})
    assert forged.status_code == 403 and "am_session" not in forged.headers.get("set-cookie", "")
    token = re.search(r'name="login_token" value="([^"]+)"', client.get("/ui/login").text).group(1)  # type: ignore[union-attr]
    wrong = client.post("/ui/login", data={"key": "amk_000000000000_nope", "login_token": token})
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.text
    assert client.get("/ui/memories").headers["location"] == "/ui/login"


def test_pages_carry_a_strict_content_security_policy(site: Site) -> None:
    client, _ = site.signed_in(site.alice)
    for path in ("/ui/login", "/ui/memories", "/ui/search?q=x", "/ui/static/ui.js"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"], path
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"  # the browser keeps the Origin the gate checks
    page = client.get("/ui/memories").text
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # no inline script
    assert not re.search(r"\son[a-z]+=", page)  # no inline handler
    assert " style=" not in page


def test_a_user_key_sees_its_own_memories_only_and_memory_text_is_escaped(site: Site) -> None:
    site.memory.store_memories(["Alice likes green tea", *XSS], user_id="alice")
    site.memory.store_memory("Bob's secret plan", user_id="bob")
    client, _ = site.signed_in(site.alice)
    for path in ("/ui/memories", "/ui/memories?user=bob", "/ui/search?q=plan&user=bob"):
        page = client.get(path)
        assert page.status_code == 200 and "Bob&#39;s secret plan" not in page.text and "secret plan" not in page.text
    page = client.get("/ui/memories").text
    assert "Alice likes green tea" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "<img src=x" not in page and 'href="javascript:' not in page


def test_an_admin_picks_the_user(site: Site) -> None:
    site.memory.store_memory("Alice likes green tea", user_id="alice")
    site.memory.store_memory("Bob plays chess", user_id="bob")
    client, _ = site.signed_in(site.admin)
    assert "Bob plays chess" in client.get("/ui/memories?user=bob").text
    alice = client.get("/ui/memories?user=alice").text
    assert "Alice likes green tea" in alice and "Bob plays chess" not in alice
    assert 'list="known-users"' in alice and '<option value="bob">' in alice


def test_changes_by_session_need_the_csrf_token_and_name_the_key_in_the_history(site: Site) -> None:
    memory = site.memory.store_memory("Alice likes green tea", user_id="alice")
    client, csrf = site.signed_in(site.alice)
    url = f"/v1/memories/{memory.id}"
    assert client.patch(url, json={"text": "Alice likes black tea"}).status_code == 403
    assert client.patch(url, json={"text": "x"}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.delete(url).status_code == 403
    assert site.memory.get_memory(memory.id, user_id="alice").text == "Alice likes green tea"  # type: ignore[union-attr]
    changed = client.patch(url, json={"text": "Alice likes black tea"}, headers={"X-CSRF-Token": csrf})
    assert changed.status_code == 200 and changed.json()["text"] == "Alice likes black tea"
    [_, update] = site.memory.history(memory.id, user_id="alice")
    assert update.actor == "user via key:alice-laptop"
    page = client.get(f"/ui/memories/{memory.id}/history").text
    assert "Alice likes green tea" in page and "Alice likes black tea" in page and "user via key:alice-laptop" in page
    tagged = client.patch(url, json={"metadata": {"src": "<b>chat</b>"}}, headers={"X-CSRF-Token": csrf})
    assert tagged.status_code == 200
    page = client.get(f"/ui/memories/{memory.id}/history").text
    assert "metadata before</span> (none)" in page
    assert "<code>src=&lt;b&gt;chat&lt;/b&gt;</code>" in page  # escaped, as every text
    stolen = site.client()  # another origin's request carries no cookie: SameSite=Strict; a bare one is 401
    assert stolen.patch(url, json={"text": "x"}, headers={"X-CSRF-Token": csrf}).status_code == 401


def test_a_session_cannot_reach_another_users_memory(site: Site) -> None:
    bobs = site.memory.store_memory("Bob plays chess", user_id="bob")
    client, csrf = site.signed_in(site.alice)
    headers = {"X-CSRF-Token": csrf}
    assert client.get(f"/v1/memories/{bobs.id}").status_code == 404
    assert client.delete(f"/v1/memories/{bobs.id}?user_id=bob", headers=headers).status_code == 403
    assert client.delete(f"/v1/memories/{bobs.id}", headers=headers).status_code == 404
    assert client.post("/v1/memories", json={"text": "x", "user_id": "bob"}, headers=headers).status_code == 403
    assert "Bob plays chess" not in client.get(f"/ui/memories/{bobs.id}/history").text
    assert site.memory.list_memories(user_id="bob") == [bobs]


def test_revoking_the_key_ends_its_sessions_and_signing_out_ends_one(site: Site) -> None:
    client, csrf = site.signed_in(site.alice)
    other, _ = site.signed_in(site.alice)
    cookie = client.cookies["am_session"]
    answer = client.post("/ui/logout", data={"csrf": csrf})
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/login"
    replay = site.client()
    replay.cookies.set("am_session", cookie)
    assert replay.get("/ui/memories").headers["location"] == "/ui/login"
    assert replay.get("/v1/memories").status_code == 401
    assert other.get("/ui/memories").status_code == 200
    site.keys.revoke(site.alice_key.id)
    assert other.get("/ui/memories").headers["location"] == "/ui/login"
    assert other.get("/v1/memories").status_code == 401


def test_a_forged_or_tampered_cookie_is_refused(site: Site) -> None:
    client, _ = site.signed_in(site.alice)
    key_id, nonce, issued, signature = client.cookies["am_session"].split(".")
    bob_id = next(k.id for k in site.keys.list() if k.user_id == "bob")
    for forged in (f"{bob_id}.{nonce}.{issued}.{signature}", f"{key_id}.{nonce}.{int(issued) + 1}.{signature}", "x"):
        cheat = site.client()
        cheat.cookies.set("am_session", forged)
        assert cheat.get("/v1/memories").status_code == 401
        assert cheat.get("/ui/memories").headers["location"] == "/ui/login"


def test_search_shows_score_and_similarity_and_the_export_is_what_the_cli_imports(site: Site) -> None:
    stored = site.memory.store_memories(["Alice likes green tea", "Alice works as a nurse"], user_id="alice")
    client, _ = site.signed_in(site.alice)
    page = client.get("/ui/search", params={"q": "Alice likes green tea", "mode": "dense"}).text
    assert page.index("Alice likes green tea") < page.index("Alice works as a nurse")
    assert 'class="num score"' in page and 'class="num similarity"' in page
    export = client.get("/ui/export")
    assert export.headers["content-disposition"] == 'attachment; filename="memories-alice.jsonl"'
    records = [parse_record(json.loads(line)) for line in export.text.splitlines()]
    assert sorted(r.memory.text for r in records) == sorted(m.text for m in stored)


def test_filters_and_paging(site: Site) -> None:
    site.memory.store_memories([f"memory {i:03d}" for i in range(60)], user_id="alice")
    site.memory.store_memory("tagged one", user_id="alice", metadata={"topic": "food"}, session_id="s1")
    client, _ = site.signed_in(site.alice)
    first = client.get("/ui/memories").text
    assert "tagged one" in first and 'rel="next"' in first  # newest first, 50 a page
    second = client.get("/ui/memories?page=1").text
    assert "memory 000" in second and 'rel="prev"' in second and 'rel="next"' not in second
    oldest = client.get("/ui/memories?order=oldest").text
    assert "memory 000" in oldest and "tagged one" not in oldest
    for query in ("meta_key=topic&meta_value=food", "session=s1"):
        page = client.get(f"/ui/memories?{query}").text
        assert "tagged one" in page and "memory 001" not in page, query
    assert "memory 001" not in client.get("/ui/memories?since=2999-01-01").text


def test_workers_sharing_the_secret_accept_each_others_sessions(site: Site) -> None:
    client, _ = site.signed_in(site.alice)
    cookie = client.cookies["am_session"]
    settings = ServiceSettings(allowed_hosts=("testserver",))
    for secret, status in ((None, 401), (b"s" * 32, 200)):
        if secret is not None:  # the first app's secret, as `serve` hands one to every worker
            site.app.state.sessions._secret = secret
            cookie = site.app.state.sessions.issue(site.alice_key)
        own = MemorySystem(embedder=HashEmbedder(32), path=":memory:")  # each worker opens its own
        other = create_app(own, site.keys, settings=settings, session_secret=secret)
        with TestClient(other) as worker:
            worker.cookies.set("am_session", cookie)
            assert worker.get("/v1/memories").status_code == status


def test_the_api_alone_has_no_inspector(site: Site) -> None:
    with TestClient(
        create_app(site.memory, site.keys, settings=ServiceSettings(allowed_hosts=("testserver",)), ui=False)
    ) as bare:
        assert bare.get("/ui/login").status_code == 404
        assert bare.get("/v1/health").status_code == 200
