"""API keys: only hashes on disk, the user from the key, revocation seen by other readers."""

from __future__ import annotations

import io
import json
import logging
import time
from pathlib import Path

import pytest

from agent_memory import AuthenticationError, ConfigurationError, PermissionDeniedError, ValidationError
from agent_memory.auth._keys import KeyStore
from agent_memory.cli._main import main


def test_the_file_keeps_hashes_never_keys(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys.jsonl")
    record, key = keys.create(user_id="alice", agent_id="planner")
    text = (tmp_path / "keys.jsonl").read_text()
    assert key not in text and key.split("_", 2)[2] not in text
    assert json.loads(text)["user_id"] == "alice" and (tmp_path / "keys.jsonl").stat().st_mode & 0o077 == 0
    assert keys.authenticate(key) == record and record.agent_id == "planner"


def test_the_user_comes_from_the_key(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys.jsonl")
    alice = keys.authenticate(keys.create(user_id="alice")[1])
    admin = keys.authenticate(keys.create(admin=True)[1])
    assert alice.user_for(None) == alice.user_for("alice") == "alice"
    with pytest.raises(PermissionDeniedError):
        alice.user_for("bob")
    assert admin.user_for("bob") == "bob"
    with pytest.raises(ValidationError, match="admin key must name"):
        admin.user_for(None)
    with pytest.raises(ValidationError):
        keys.create(user_id="alice", admin=True)
    with pytest.raises(ValidationError):
        keys.create()


@pytest.mark.parametrize("presented", [None, "", "Bearer x", "amk_", "amk_nope_x", "amk_0123456789ab_guess"])
def test_anything_but_a_live_key_is_refused(tmp_path: Path, presented: str | None) -> None:
    keys = KeyStore(tmp_path / "keys.jsonl")
    keys.create(user_id="alice")
    with pytest.raises(AuthenticationError):
        keys.authenticate(presented)


def test_a_key_with_the_right_id_and_a_wrong_secret_is_refused(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys.jsonl")
    _, key = keys.create(user_id="alice")
    with pytest.raises(AuthenticationError):
        keys.authenticate(key[:-1] + ("A" if key[-1] != "A" else "B"))


def test_a_revocation_reaches_another_reader_within_a_second(tmp_path: Path) -> None:
    admin_side, server_side = KeyStore(tmp_path / "keys.jsonl"), KeyStore(tmp_path / "keys.jsonl", recheck=0.5)
    record, key = admin_side.create(user_id="alice")
    assert server_side.authenticate(key).user_id == "alice"
    assert admin_side.revoke(record.id) and not admin_side.revoke(record.id)
    time.sleep(0.6)
    with pytest.raises(AuthenticationError):
        server_side.authenticate(key)
    assert [k.revoked for k in server_side.list()] == [True]


def test_the_cli_prints_a_key_once_and_lists_without_it(tmp_path: Path) -> None:
    out = io.StringIO()
    assert main(["keys", "create", "--user", "alice", "--path", str(tmp_path)], out=out) == 0
    key = out.getvalue().strip()
    listed = io.StringIO()
    assert main(["keys", "list", "--json", "--path", str(tmp_path)], out=listed) == 0
    (line,) = listed.getvalue().splitlines()
    assert key not in line and json.loads(line)["user_id"] == "alice"
    assert main(["keys", "revoke", "nope", "--path", str(tmp_path)], out=io.StringIO()) == 1


def test_a_key_has_a_label_that_names_it_in_the_actor_and_is_looked_up_by_id(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys.jsonl")
    laptop, _ = keys.create(user_id="alice", label="alice-laptop")
    planner, _ = keys.create(user_id="alice", agent_id="planner")
    assert laptop.actor() == "user via key:alice-laptop" and planner.label == planner.id
    assert planner.actor() == f"agent:planner via key:{planner.id}"
    assert KeyStore(tmp_path / "keys.jsonl").get(laptop.id) == laptop  # read back from the file
    for bad in ("", "two words", "x" * 65, "a/b"):
        with pytest.raises(ValidationError, match="label"):
            keys.create(user_id="bob", label=bad)
    keys.revoke(laptop.id)
    for gone in (laptop.id, "nope"):
        with pytest.raises(AuthenticationError):
            keys.get(gone)


def test_a_keys_file_from_before_labels_still_reads(tmp_path: Path) -> None:
    old = {"op": "create", "sha256": "0" * 64, "id": "abc123", "user_id": "alice", "agent_id": None, "admin": False}
    (tmp_path / "keys.jsonl").write_text(json.dumps({**old, "created_at": "2026-01-01T00:00:00+00:00"}) + "\n")
    record = KeyStore(tmp_path / "keys.jsonl").get("abc123")
    assert record.label == "" and record.name == "abc123" and record.actor() == "user via key:abc123"


def test_the_cli_creates_a_labelled_key(tmp_path: Path) -> None:
    assert (
        main(["keys", "create", "--user", "alice", "--label", "ci-bot", "--path", str(tmp_path)], out=io.StringIO())
        == 0
    )
    listed = io.StringIO()
    assert main(["keys", "list", "--path", str(tmp_path)], out=listed) == 0
    assert "label ci-bot" in listed.getvalue()


def test_a_key_bound_to_an_empty_agent_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = KeyStore(tmp_path / "keys.jsonl")
    with pytest.raises(ValidationError, match="agent_id"):
        keys.create(user_id="alice", agent_id="")
    assert main(["keys", "create", "--user", "alice", "--agent", "", "--path", str(tmp_path)], out=io.StringIO()) == 2
    assert "agent_id" in capsys.readouterr().err and not (tmp_path / "keys.jsonl").exists()


def _line(**fields: object) -> str:
    record = {"op": "create", "sha256": "0" * 64, "id": "abc123", "user_id": "alice", "agent_id": None,
              "admin": False, "created_at": "2026-01-01T00:00:00+00:00", "label": "x"}  # fmt: skip
    return json.dumps({k: v for k, v in {**record, **fields}.items() if v is not ...})


UNREADABLE = {  # what is appended after a good line, and the line that cannot be read
    "admin as a string": (_line(admin="false", user_id=None) + "\n", 2),
    "admin as a number": (_line(admin=1) + "\n", 2),
    "no sha256": (_line(sha256=...) + "\n", 2),
    "a short sha256": (_line(sha256="0" * 63) + "\n", 2),
    "no user and no admin": (_line(user_id=None) + "\n", 2),
    "an admin bound to a user": (_line(admin=True) + "\n", 2),
    "an empty agent": (_line(agent_id="") + "\n", 2),
    "a field this version does not know": (_line(expires_at="2027-01-01") + "\n", 2),
    "a second create of one id": (_line() + "\n" + _line(sha256="1" * 64) + "\n", 3),
    "a revoke cut short": (_line() + '\n{"op": "revoke", "id": "abc1', 3),
    "a revoke of a key never created": ('{"op": "revoke", "id": "nope", "at": "2026-01-02"}\n', 2),
    "an unknown op": ('{"op": "grant", "id": "abc123"}\n', 2),
    "not an object": ("[1, 2]\n", 2),
    "not UTF-8": ('{"op": "create", "label": "\xff"}\n', 2),
}


@pytest.mark.parametrize("damage", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_a_keys_file_with_a_line_it_cannot_read_strictly_accepts_no_key(
    tmp_path: Path, damage: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "keys.jsonl"
    keys = KeyStore(path)
    _, good = keys.create(user_id="bob")
    with path.open("ab") as out:
        out.write(damage[0].encode("utf-8").replace(b"\xc3\xbf", b"\xff"))  # "\xff" alone: not UTF-8
    server = KeyStore(path)
    with (
        caplog.at_level(logging.ERROR, logger="agent_memory.auth"),
        pytest.raises(AuthenticationError, match="unreadable"),
    ):
        server.authenticate(good)  # fails closed: not even the good key, until the file is fixed
    assert f"line {damage[1]}:" in caplog.text and "no API key is accepted" in caplog.text
    with pytest.raises(ConfigurationError, match=f"line {damage[1]}:"):
        server.list()  # what keys list and serve's start-up show
    with pytest.raises(ConfigurationError):
        keys.create(user_id="carol")  # nothing is added to a file that cannot be read
    path.write_text(path.read_text(encoding="utf-8", errors="replace").splitlines()[0] + "\n")  # fixed
    time.sleep(0.6)
    assert server.authenticate(good).user_id == "bob"


def test_a_line_without_its_newline_is_not_glued_to_the_next(tmp_path: Path) -> None:
    path = tmp_path / "keys.jsonl"
    path.write_text(_line())  # a whole record, its newline lost (an editor, say)
    keys = KeyStore(path)
    _, key = keys.create(user_id="bob")
    assert [json.loads(line)["user_id"] for line in path.read_text().splitlines()] == ["alice", "bob"]
    assert keys.authenticate(key).user_id == "bob" and keys.get("abc123").user_id == "alice"


def test_a_keys_file_that_others_may_write_is_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    keys = KeyStore(tmp_path / "keys.jsonl")
    _, key = keys.create(user_id="alice")
    (tmp_path / "keys.jsonl").chmod(0o666)
    with caplog.at_level(logging.WARNING, logger="agent_memory.auth"):
        assert KeyStore(tmp_path / "keys.jsonl").authenticate(key).user_id == "alice"
    assert "may be written by other users" in caplog.text


def test_the_service_answers_a_damaged_keys_file_with_401s_not_500s(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from agent_memory import MemorySystem
    from agent_memory.server._app import ServiceSettings, create_app
    from agent_memory.testing import HashEmbedder

    keys = KeyStore(tmp_path / "keys.jsonl")
    _, key = keys.create(user_id="alice")
    with (tmp_path / "keys.jsonl").open("a") as out:
        out.write(_line(sha256=...) + "\n")  # a valid line but for its hash
    memory = MemorySystem(embedder=HashEmbedder(32), path=":memory:")
    app = create_app(memory, keys, settings=ServiceSettings(allowed_hosts=("testserver",)))
    with TestClient(app, raise_server_exceptions=False) as client:
        for _ in range(3):
            answer = client.get("/v1/memories", headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code == 401 and answer.json()["error"]["type"] == "AuthenticationError"
