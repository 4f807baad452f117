"""Every ```python block of docs/*.md and README.md runs, offline, as a reader would run it.

A page's blocks run in order, in one fresh Python process per page (so a block may use
what an earlier block of the same page defined), in a temporary working directory, with
``HF_HUB_OFFLINE=1`` and ``AGENT_MEMORY_MODEL`` pointing at the packaged all-MiniLM-L6-v2
weights. Top-level ``await`` works, as in ``python -m asyncio``.

A block that cannot run offline (it needs a running server, a GPU or a paid LLM) carries
``<!-- untested: <reason> -->`` on the line just before its fence; it is counted, and
skipped. Any other block that fails fails its page's test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted(ROOT.glob("docs/*.md")), ROOT / "README.md"]
UNTESTED = re.compile(r"^<!--\s*untested:\s*(?P<reason>\S.*?)\s*-->\s*$")
# At most this many blocks may be marked untested: keep the list short, and raise this only with a reason.
MAX_UNTESTED = 3
# A page whose blocks import one of these runs only where that integration is installed.
INTEGRATIONS = {
    "langchain_agent_memory": "langchain_agent_memory",
    "langgraph_agent_memory": "langgraph_agent_memory",
    "llama_index": "llama_index.memory.agent_memory",
}
PAGE_TIMEOUT_S = 300

RUNNER = r"""
import ast, asyncio, inspect, json, sys, traceback

namespace = {"__name__": "__main__"}
for block in json.load(open(sys.argv[1], encoding="utf-8")):
    where = f"{block['page']}, the python block at line {block['line']}"
    print(f"--- {where}", flush=True)
    try:
        code = compile(block["code"], where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)
        if inspect.iscoroutine(result):
            asyncio.run(result)
    except BaseException:
        traceback.print_exc()
        print(f"FAILED: {where}", file=sys.stderr)
        sys.exit(1)
"""


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # the fence's line, from 1
    code: str
    untested: str | None  # the reason, for a block marked untested


def python_blocks(path: Path) -> list[Block]:
    """The page's ```python blocks, in order, each with its untested reason (if marked)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    name, i = path.relative_to(ROOT).as_posix(), 0
    blocks: list[Block] = []
    while i < len(lines):
        fence = lines[i].strip()
        if not fence.startswith("```"):
            i += 1
            continue
        start, end = i, i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if fence == "```python":
            marker = UNTESTED.match(lines[start - 1].strip()) if start else None
            code = "\n".join(lines[start + 1 : end]) + "\n"
            blocks.append(Block(name, start + 1, code, marker["reason"] if marker else None))
        i = end + 1
    return blocks


def stray_markers(path: Path) -> list[int]:
    """Lines of untested markers that are not just before a ```python fence."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        n + 1
        for n, line in enumerate(lines)
        if "untested:" in line
        and line.lstrip().startswith("<!--")
        and (n + 1 >= len(lines) or lines[n + 1].strip() != "```python" or not UNTESTED.match(line.strip()))
    ]


def offline_env(model: str, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_MEMORY_")}
    env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "AGENT_MEMORY_MODEL": model}
    env |= {"AGENT_MEMORY_PATH": str(data), "PYTHONUNBUFFERED": "1"}
    return env


# Pages with a block to run; the rest (prose, or only blocks marked untested) have nothing to test here.
RUNNABLE = [page for page in PAGES if any(b.untested is None for b in python_blocks(page))]


@pytest.mark.parametrize("page", RUNNABLE, ids=[p.relative_to(ROOT).as_posix() for p in RUNNABLE])
def test_page_runs(page: Path, minilm: str, tmp_path: Path) -> None:
    runnable = [b for b in python_blocks(page) if b.untested is None]
    for needle, module in INTEGRATIONS.items():
        if any(needle in b.code for b in runnable):
            pytest.importorskip(module)
    work = tmp_path / "work"
    work.mkdir()
    script = tmp_path / "blocks.json"
    script.write_text(json.dumps([b.__dict__ for b in runnable], ensure_ascii=False), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, str(script)],
        cwd=work,
        env=offline_env(minilm, tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=PAGE_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-8000:]}"


def test_untested_blocks_are_few_and_say_why() -> None:
    untested = [b for page in PAGES for b in python_blocks(page) if b.untested is not None]
    for block in untested:
        print(f"untested: {block.page}:{block.line}: {block.untested}")
    assert len(untested) <= MAX_UNTESTED, [f"{b.page}:{b.line}" for b in untested]
    stray = {page.name: lines for page in PAGES if (lines := stray_markers(page))}
    assert not stray, f"untested markers not on the line just before a ```python fence: {stray}"


def test_blocks_are_found() -> None:
    """The extraction itself: every page with python code yields its blocks."""
    readme = python_blocks(ROOT / "README.md")
    assert readme and "MemorySystem" in readme[0].code
    assert sum(len(python_blocks(page)) for page in PAGES) >= 20
