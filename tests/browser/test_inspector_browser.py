"""The inspector in a real browser: Playwright driving Debian's headless Chromium against a real
``agent-memory serve`` (MiniLM embeddings, an embedded store), seeded through the /v1 API.

Screenshots of the main views go to ``$AGENT_MEMORY_ARTIFACTS`` (default: pytest's temporary
directory). Without a Chromium binary the module is skipped, unless
``AGENT_MEMORY_REQUIRE_BROWSER=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_memory._processes import free_port, start_server, stop_server
from agent_memory.auth._keys import KeyStore

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("AGENT_MEMORY_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("AGENT_MEMORY_REQUIRE_BROWSER") == "1":
        raise RuntimeError("no Chromium binary: apt-get install chromium (or set AGENT_MEMORY_CHROMIUM)")
    pytest.skip("no Chromium binary (apt-get install chromium)", allow_module_level=True)

VENDOR = Path(__file__).parent / "vendor"
XSS = [
    "<script>alert('script')</script>",
    "<img src=x onerror=\"alert('img')\">",
    "<a href=\"javascript:alert('link')\">click me</a>",
]
ALICE = [
    "Alice works as a nurse at the city hospital",
    "Alice is allergic to peanuts",
    "Alice lives in Porto with her cat Miso",
    "Alice plays the violin on Sundays",
]


class Served:
    """A running ``agent-memory serve`` with keys for alice, bob and an admin."""

    def __init__(self, base: str, keys: dict[str, str]) -> None:
        self.base, self.keys = base, keys

    def api(self, method: str, path: str, key: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[key]}"}
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=60, **kwargs)

    def texts(self, user: str) -> list[str]:
        found = self.api("GET", "/v1/memories", "admin", params={"user_id": user, "limit": 1000})
        return [m["text"] for m in found.json()["memories"]]


@pytest.fixture(scope="module")
def served(minilm: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("served")
    store = KeyStore(data / "keys.jsonl")
    keys = {
        "alice": store.create(user_id="alice", label="alice-laptop")[1],
        "bob": store.create(user_id="bob", label="bob-phone")[1],
        "admin": store.create(admin=True, label="ops")[1],
    }
    port = free_port()
    command = [sys.executable, "-m", "agent_memory", "serve", "--path", str(data / "store"), "--model", minilm,
               "--port", str(port), "--keys", str(data / "keys.jsonl")]  # fmt: skip
    process = start_server(command, f"http://127.0.0.1:{port}/v1/health", timeout=180, log=data / "serve.log")
    try:
        yield Served(f"http://127.0.0.1:{port}", keys)
    finally:
        stop_server(process)


@pytest.fixture
def seeded(served: Served) -> Served:
    """Alice's four facts plus the XSS texts, and one of Bob's, stored afresh for each test."""
    for user in ("alice", "bob"):
        served.api("DELETE", "/v1/memories", "admin", params={"user_id": user, "confirm": "true"})
    served.api("POST", "/v1/memories", "alice", json={"texts": [*ALICE, *XSS]})
    served.api("POST", "/v1/memories", "bob", json={"text": "Bob keeps his savings under the mattress"})
    return served


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    """A fresh browser context; any dialog, page error or console error fails the test."""
    context = browser.new_context(base_url=served.base, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    tab.problems = problems
    yield tab
    context.close()
    assert problems == []


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("AGENT_MEMORY_ARTIFACTS") or tmp_path_factory.mktemp("artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(page: Any, served: Served, who: str) -> None:
    page.goto("/ui")
    page.get_by_label("API key").fill(served.keys[who])
    page.get_by_label("API key").press("Enter")  # the keyboard alone signs in
    page.wait_for_url("**/ui/memories**")


def row(page: Any, text: str) -> Any:
    return page.locator("table.memories tbody tr").filter(has=page.get_by_text(text, exact=True))


def test_a_developer_finds_why_a_wrong_fact_was_recalled_fixes_it_and_sees_the_fix(
    page: Any, seeded: Served, artifacts: Path
) -> None:
    """Done when: sign in, search, edit inline, search again, read the history, all in the browser."""
    sign_in(page, seeded, "alice")
    cells = page.locator("table.memories td.text").all_inner_texts()
    assert sorted(cells) == sorted([*ALICE, *XSS]) and "Bob keeps his savings under the mattress" not in cells
    page.screenshot(path=str(artifacts / "memories.png"), full_page=True)

    page.get_by_role("link", name="Search").click()
    page.get_by_label("Query").fill("What is Alice allergic to?")
    page.get_by_role("button", name="Search").click()
    first = page.locator("table.hits tbody tr").first
    assert first.locator("td.text").inner_text() == "Alice is allergic to peanuts"
    score, similarity = (float(first.locator(f"td.{c}").inner_text()) for c in ("score", "similarity"))
    assert 0 < score <= 1 and -1 <= similarity <= 1
    page.screenshot(path=str(artifacts / "search.png"), full_page=True)

    page.get_by_role("link", name="Memories").click()
    wrong = row(page, "Alice is allergic to peanuts")
    wrong.get_by_text("Edit", exact=True).click()
    wrong.get_by_label("Text").fill("Alice is allergic to shellfish")
    wrong.get_by_role("button", name="Save").click()
    page.wait_for_selector("#status:has-text('Memory saved.')")
    assert "Alice is allergic to shellfish" in page.locator("table.memories td.text").all_inner_texts()

    page.get_by_role("link", name="Search").click()
    page.get_by_label("Query").fill("What is Alice allergic to?")
    page.get_by_role("button", name="Search").click()
    assert page.locator("table.hits tbody tr td.text").first.inner_text() == "Alice is allergic to shellfish"

    page.locator("table.hits tbody tr").first.get_by_role("link", name="History").click()
    page.wait_for_url("**/history**")
    events = page.locator(".timeline li")
    assert events.count() == 2
    assert "Alice is allergic to peanuts" in events.nth(1).inner_text()
    assert "Alice is allergic to shellfish" in events.nth(1).inner_text()
    assert "user via key:alice-laptop" in events.nth(1).inner_text()
    page.screenshot(path=str(artifacts / "history.png"), full_page=True)


def test_memory_text_that_looks_like_markup_renders_as_text(page: Any, seeded: Served) -> None:
    sign_in(page, seeded, "alice")
    for text in XSS:
        assert row(page, text).count() == 1, text  # shown verbatim, as text
    assert page.locator("table.memories img").count() == 0
    assert page.locator("table.memories a[href^='javascript:']").count() == 0
    page.get_by_role("link", name="Search").click()
    page.get_by_label("Query").fill("alert click me")
    page.get_by_role("button", name="Search").click()
    assert page.locator("table.hits img, table.hits script").count() == 0
    # the page fixture fails the test on any dialog, page error or console error


def test_add_and_delete_with_confirmation(page: Any, seeded: Served) -> None:
    sign_in(page, seeded, "alice")
    page.get_by_text("Add a memory").click()
    page.locator("form[data-api=add]").get_by_label("Text").fill("Alice started learning Portuguese")
    page.locator("form[data-api=add]").get_by_label("Metadata (JSON object)").fill('{"topic": "languages"}')
    page.get_by_role("button", name="Add").click()
    page.wait_for_selector("#status:has-text('Memory added.')")
    added = row(page, "Alice started learning Portuguese")
    assert "topic=languages" in added.inner_text()

    target = row(page, "Alice plays the violin on Sundays")
    target.get_by_text("Delete", exact=True).click()
    assert "Delete this memory for good?" in target.inner_text()  # asked first
    target.get_by_role("button", name="Yes, delete").click()
    page.wait_for_selector("#status:has-text('Memory deleted.')")
    assert "Alice plays the violin on Sundays" not in seeded.texts("alice")
    assert "Alice started learning Portuguese" in seeded.texts("alice")


def test_delete_all_needs_the_user_id_typed(page: Any, seeded: Served) -> None:
    sign_in(page, seeded, "alice")
    page.get_by_text("Delete all of alice's memories").click()
    zone = page.locator("form[data-api=delete-all]")
    zone.get_by_label("Type alice to confirm").fill("alic")
    zone.get_by_role("button", name="Delete all").click()
    page.wait_for_selector("#status.error")
    assert len(seeded.texts("alice")) == len(ALICE) + len(XSS)  # nothing deleted
    zone.get_by_label("Type alice to confirm").fill("alice")
    zone.get_by_role("button", name="Delete all").click()
    page.wait_for_selector("#status:has-text('All memories deleted.')")
    assert seeded.texts("alice") == [] and seeded.texts("bob") == ["Bob keeps his savings under the mattress"]


def test_an_admin_switches_users(page: Any, seeded: Served, artifacts: Path) -> None:
    sign_in(page, seeded, "admin")
    page.get_by_label("User", exact=True).fill("bob")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_url("**user=bob**")
    assert page.locator("table.memories td.text").all_inner_texts() == ["Bob keeps his savings under the mattress"]
    page.get_by_label("User", exact=True).fill("alice")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_url("**user=alice**")
    assert sorted(page.locator("table.memories td.text").all_inner_texts()) == sorted([*ALICE, *XSS])
    row(page, "Alice lives in Porto with her cat Miso").get_by_role("link", name="History").click()
    page.wait_for_url("**/history**")
    assert "create" in page.locator(".timeline").inner_text()
    page.screenshot(path=str(artifacts / "admin.png"), full_page=True)


def test_sign_out(page: Any, seeded: Served) -> None:
    sign_in(page, seeded, "alice")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/ui/login")
    page.goto("/ui/memories")
    assert page.url.endswith("/ui/login") and page.get_by_label("API key").is_visible()


def test_phone_width_and_keyboard(browser: Any, seeded: Served, artifacts: Path) -> None:
    context = browser.new_context(base_url=seeded.base, viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, seeded, "alice")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scroll
    page.screenshot(path=str(artifacts / "phone.png"), full_page=True)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    target = row(page, "Alice plays the violin on Sundays").get_by_text("Edit", exact=True)
    target.focus()
    page.keyboard.press("Enter")  # a <summary> opens from the keyboard
    assert row(page, "Alice plays the violin on Sundays").get_by_label("Text").is_visible()
    context.close()


def test_no_serious_accessibility_violations(browser: Any, seeded: Served) -> None:
    """axe-core (vendored), run on each main view. The check's own script needs the page's CSP
    bypassed in this context only: the pages allow no script but their own."""
    context = browser.new_context(base_url=seeded.base, bypass_csp=True)
    page = context.new_page()
    page.goto("/ui/login")
    views = ["/ui/login"]
    sign_in(page, seeded, "alice")
    memory_id = row(page, "Alice is allergic to peanuts").get_attribute("data-id")
    views += ["/ui/memories", "/ui/search?q=allergic", f"/ui/memories/{memory_id}/history"]
    found: dict[str, list[str]] = {}
    for view in views:
        if view == "/ui/login":
            page.context.clear_cookies()
        elif not page.context.cookies():
            sign_in(page, seeded, "alice")
        page.goto(view)
        page.add_script_tag(path=str(VENDOR / "axe.min.js"))
        result = page.evaluate("async () => await axe.run()")
        bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
        found[view] = [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in bad]
    context.close()
    assert found == {view: [] for view in views}
