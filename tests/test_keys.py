"""API keys: only hashes on disk, the user from the key, revocation seen by other readers."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from agent_memory import AuthenticationError, PermissionDeniedError, ValidationError
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
