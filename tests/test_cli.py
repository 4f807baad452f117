"""The ``agent-memory`` command, through its installed entry point and in-process."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent_memory.cli._main import main


def _cli(*args: str, model: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("agent-memory", path=str(Path(sys.executable).parent)) or shutil.which("agent-memory")
    assert executable, "the agent-memory entry point is not installed"
    quieted = ("TRANSFORMERS_VERBOSITY", "HF_HUB_DISABLE_PROGRESS_BARS")  # what an in-process main() set here
    env = {k: v for k, v in os.environ.items() if k not in quieted}
    env.update(AGENT_MEMORY_MODEL=model, HF_HUB_OFFLINE="1")
    return subprocess.run(
        [executable, *args], capture_output=True, text=True, env=env, input=stdin, timeout=300, check=False
    )


def _main(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


def test_demo_through_the_entry_point(minilm: str) -> None:
    result = _cli("demo", model=minilm)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "用户 Alice 喜欢喝咖啡" in out
    first_search = out.split("[alice] What does Alice drink in the morning?")[1].splitlines()
    assert first_search[1].strip().split("  ")[1] == "Alice likes coffee"
    bob_section = out.split("[bob] What does Alice drink?")[1].split("isolation")[0]
    assert "Alice" not in bob_section  # bob never sees alice's memories
    assert "returned 0 of alice's memories" in out


def test_add_search_list_export_import_forget_through_the_entry_point(minilm: str, tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    added = _cli(
        "add",
        "Alice likes coffee",
        "--user",
        "alice",
        "--meta",
        "source=chat",
        "--meta",
        "turn=2",
        "--path",
        db,
        "--json",
        model=minilm,
    )
    assert added.returncode == 0, added.stderr
    memory = json.loads(added.stdout)
    assert memory["metadata"] == {"source": "chat", "turn": 2}
    lines = "\n".join(
        json.dumps(r)
        for r in [
            {"text": "Alice has a dog named Rex", "user_id": "alice"},
            {"text": "Bob prefers tea", "user_id": "bob", "metadata": {"source": "import"}},
        ]
    )
    imported = _cli("import", "-", "--path", db, model=minilm, stdin=lines)
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 memories" in imported.stderr
    search = _cli("search", "What does Alice drink?", "--user", "alice", "--path", db, "--json", model=minilm)
    hits = [json.loads(line) for line in search.stdout.splitlines()]
    assert hits[0]["text"] == "Alice likes coffee" and {h["user_id"] for h in hits} == {"alice"}
    exported = _cli("export", "--path", db, model=minilm)
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert sorted(r["text"] for r in records) == ["Alice has a dog named Rex", "Alice likes coffee", "Bob prefers tea"]
    forget = _cli("forget", "--user", "alice", "--yes", "--path", db, model=minilm)
    assert "deleted 2 memories of alice" in forget.stdout
    stats = _cli("stats", "--path", db, "--json", model=minilm)
    assert json.loads(stats.stdout)["users"] == {"bob": 1}


def test_in_process_commands(minilm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_MEMORY_MODEL", minilm)
    db = str(tmp_path / "db")
    code, out = _main("add", "Alice likes coffee", "--user", "alice", "--path", db, "--json")
    memory_id = json.loads(out)["id"]
    assert _main("list", "--user", "alice", "--path", db)[1].startswith(memory_id)
    code, out = _main("search", "coffee", "--user", "alice", "--path", db, "--filter", '{"source": "none"}')
    assert code == 0 and "no memories found" in out
    code, out = _main("stats", "--path", db)
    assert "memories:   1 from 1 user(s)" in out and "384 dims" in out
    assert _main("delete", memory_id, "--user", "bob", "--path", db)[0] == 1
    assert _main("delete", memory_id, "--user", "alice", "--path", db) == (0, f"deleted {memory_id}\n")


def test_errors_are_messages_not_tracebacks(
    minilm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENT_MEMORY_MODEL", minilm)
    db = str(tmp_path / "db")
    assert _main("add", "   ", "--user", "alice", "--path", db)[0] == 2
    assert "agent-memory: error: text must not be empty" in capsys.readouterr().err
    assert _main("search", "x", "--user", "alice", "--path", db, "--task", "memroy")[0] == 2
    assert "unknown task" in capsys.readouterr().err
    assert _main("search", "x", "--user", "alice", "--path", db, "--filter", "{bad")[0] == 2
    assert _main("add", "x", "--user", "a", "--path", db, "--model", "/no/such/model")[0] == 1
    assert "AGENT_MEMORY_MODEL" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert _main("forget", "--user", "alice", "--path", db)[0] == 2  # no --yes and no terminal to ask


def test_import_validates_every_line_before_writing(
    minilm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENT_MEMORY_MODEL", minilm)
    db = str(tmp_path / "db")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"text": "good line", "user_id": "alice"}\nnot json\n{"user_id": "alice"}\n'
        '{"text": "no user"}\n{"text": "bad meta", "user_id": "a", "metadata": {"x": [1]}}\n'
    )
    assert _main("import", str(bad), "--path", db)[0] == 2
    err = capsys.readouterr().err
    assert "line 2" in err and "line 3: text must be a str" in err and "line 4: no user_id" in err
    assert "line 5: metadata['x']" in err and "\n  line 1:" not in err
    assert _main("import", str(bad), "--path", db, "--user", "alice")[0] == 2
    assert _main("stats", "--path", db, "--json")[1].count('"total": 0') == 1
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(json.dumps({"text": f"fact {i}", "metadata": {"i": i}}) for i in range(5)))
    assert _main("import", str(good), "--path", db, "--user", "alice")[0] == 0
    assert _main("import", str(good), "--path", db, "--user", "alice")[0] == 0  # again: no duplicates
    assert json.loads(_main("stats", "--path", db, "--json")[1])["users"] == {"alice": 5}


def test_version_and_a_description_generated_from_the_command_table(capsys: pytest.CaptureFixture[str]) -> None:
    from agent_memory import __version__
    from agent_memory.cli._main import COMMANDS, _parser

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"agent-memory {__version__}"
    parser = _parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    names = [c.name for c in COMMANDS]
    assert list(commands) == names and len(set(names)) == len(names)  # one row a command, one command a row
    assert all(name in str(parser.description) for name in names)


def test_update_add_from_stdin_long_texts_cut_and_an_empty_list_said(
    minilm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_MEMORY_MODEL", minilm)
    hashed_cli = str(tmp_path / "db")
    long_text = "Alice wrote a very long note. " * 2000  # ~60,000 characters
    monkeypatch.setattr("sys.stdin", io.StringIO(long_text))
    code, out = _main("add", "-", "--user", "alice", "--json", "--path", hashed_cli)
    assert code == 0 and json.loads(out)["text"] == long_text.strip()  # --json keeps it whole
    memory_id = json.loads(out)["id"]
    code, out = _main("list", "--user", "alice", "--path", hashed_cli)
    assert code == 0 and len(out) < 400 and "(59,999 characters)" in out
    code, out = _main(
        "update",
        memory_id,
        "--user",
        "alice",
        "--text",
        "Alice likes tea",
        "--meta",
        "topic=drinks",
        "--json",
        "--path",
        hashed_cli,
    )
    changed = json.loads(out)
    assert code == 0 and changed["id"] == memory_id and changed["text"] == "Alice likes tea"
    assert changed["metadata"] == {"topic": "drinks"}
    assert _main("update", memory_id, "--user", "alice", "--path", hashed_cli)[0] == 2  # nothing to change
    assert _main("update", memory_id, "--user", "bob", "--text", "x", "--path", hashed_cli)[0] == 1  # not bob's
    code, out = _main("list", "--user", "nobody", "--path", hashed_cli)
    assert code == 0 and out.strip() == "(no memories found)"


def test_stderr_stays_quiet_unless_verbose(minilm: str, tmp_path: Path) -> None:
    search = ["search", "coffee", "--user", "alice", "--path", str(tmp_path / "db")]  # loads the model
    quiet = _cli(*search, model=minilm)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    verbose = _cli(*search, "--verbose", model=minilm)
    assert verbose.returncode == 0 and "Loading weights" in verbose.stderr
