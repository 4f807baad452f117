"""The memory inspector: server-rendered pages at ``/ui`` over the service's own API.

Pages (Jinja2, every value escaped) show a user's memories, a search with each hit's
score and similarity, and one memory's history. Every change (add, edit, delete,
delete all) is made by the page's one script calling the ``/v1`` API with the
session cookie and the session's CSRF token (:mod:`agent_memory.auth._sessions`), so it
goes through the same checks, limits and history as any client's. No script runs
inline (the Content-Security-Policy forbids it), no key ever appears in a URL, and
every asset is in the package: it works offline.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_memory._async import AsyncMemorySystem
from agent_memory._errors import AgentMemoryError, AuthenticationError, RateLimitedError, ValidationError
from agent_memory.auth._gate import caller_of
from agent_memory.auth._keys import ApiKey
from agent_memory.auth._sessions import COOKIE, Sessions

__all__ = ["CSP", "add_inspector"]

_HERE = Path(__file__).parent / "ui"
PAGE = 50
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
"""No inline script or style, nothing from elsewhere, never framed."""
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # Nothing leaves for another origin, and the pages' own form posts keep their Origin (under
    # no-referrer a browser sends "Origin: null", which the gate refuses: any page can send that).
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_LOGIN_COOKIE = "am_login"  # the sign-in form's own CSRF token (double submit: no session yet)

Page = Callable[[Request, ApiKey, str], Awaitable[Response]]


def add_inspector(app: FastAPI, memory: AsyncMemorySystem, status_of: Callable[[AgentMemoryError], int]) -> None:
    """Mount the inspector's pages and assets on ``app`` (whose state holds the keys and sessions)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(default=True))
    env.filters["when"] = _when
    ui = _Inspector(env, memory, status_of)
    app.mount("/ui/static", StaticFiles(directory=_HERE / "static"), name="ui-static")
    app.add_middleware(_SecureHeaders)
    app.get("/ui", include_in_schema=False)(ui.home)
    app.get("/ui/login", include_in_schema=False)(ui.login_form)
    app.post("/ui/login", include_in_schema=False)(ui.login)
    app.post("/ui/logout", include_in_schema=False)(ui.logout)
    app.get("/ui/memories", include_in_schema=False)(ui.signed_in(ui.memories))
    app.get("/ui/search", include_in_schema=False)(ui.signed_in(ui.search))
    app.get("/ui/memories/{memory_id}/history", include_in_schema=False)(ui.signed_in(ui.history))
    app.get("/ui/export", include_in_schema=False)(ui.signed_in(ui.export))


class _SecureHeaders:
    """Adds :data:`_HEADERS` to every answer under ``/ui`` (pure ASGI: it streams whatever it wraps)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/ui" or path.startswith("/ui/")):
            await self.app(scope, receive, send)
            return

        async def headed(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(_HEADERS)
            await send(message)

        await self.app(scope, receive, headed)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


class _Inspector:
    def __init__(self, env: Any, memory: AsyncMemorySystem, status_of: Callable[[AgentMemoryError], int]) -> None:
        self.env, self.memory, self.status_of = env, memory, status_of

    def render(self, name: str, code: int = 200, **values: Any) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(name).render(**values), status_code=code)

    def signed_in(self, page: Page) -> Callable[[Request], Awaitable[Response]]:
        """A page for the key of a live session (the gate found it, and counted it against its rate):
        the sign-in form otherwise; a library error as a page."""

        async def guarded(request: Request) -> Response:
            try:
                caller = caller_of(request.scope)
            except AuthenticationError:
                return RedirectResponse("/ui/login", status_code=303)
            if caller.session is None:  # a bearer key is for the API; the pages are a session's
                return RedirectResponse("/ui/login", status_code=303)
            key, csrf = caller.key, request.app.state.sessions.csrf(caller.session)
            try:
                return await page(request, key, csrf)
            except AgentMemoryError as exc:
                status = self.status_of(exc)
                return self.render("error.html", status, key=key, csrf=csrf, error=exc, status=status)

        guarded.__name__ = page.__name__
        return guarded

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/ui/memories", status_code=303)

    async def login_form(self, request: Request, error: str | None = None, status: int = 200) -> Response:
        token = secrets.token_urlsafe(16)
        response = self.render("login.html", status, login_token=token, error=error)
        response.set_cookie(_LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/ui")
        return response

    async def login(self, request: Request) -> Response:
        try:  # before the form is read: attempts a minute per client address
            request.app.state.logins.check(request.client.host if request.client else "")
        except RateLimitedError as exc:
            response = await self.login_form(request, "Too many sign-in attempts; try again later.", 429)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        form = await _form(request)
        expected = request.cookies.get(_LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(form.get("login_token", ""), expected):
            return await self.login_form(request, "The sign-in form expired; try again.", 403)
        try:
            key = request.app.state.keys.authenticate(form.get("key", "").strip())
        except AuthenticationError:
            return await self.login_form(request, "That key is unknown or revoked.", 401)
        cookie = request.app.state.sessions.issue(key)
        response = RedirectResponse("/ui/memories", status_code=303)
        secure = request.url.scheme == "https"
        response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", secure=secure, path="/")
        response.delete_cookie(_LOGIN_COOKIE, path="/ui")
        return response

    async def logout(self, request: Request) -> Response:
        """End the session, and clear its cookie, only with the session's CSRF token: a form on another
        site (which cannot know it, and whose request carries no cookie) changes nothing."""
        sessions: Sessions = request.app.state.sessions
        try:
            _, nonce = sessions.resolve(request.cookies.get(COOKIE))
        except AuthenticationError:
            return RedirectResponse("/ui/login", status_code=303)  # no session here to end: nothing changes
        sessions.check_csrf(nonce, (await _form(request)).get("csrf"))  # a 403 otherwise, cookie kept
        sessions.end(nonce)
        response = RedirectResponse("/ui/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    async def memories(self, request: Request, key: ApiKey, csrf: str) -> Response:
        q = request.query_params
        user, page = await self._user(request, key), _page(q.get("page"))
        meta_key, meta_value = q.get("meta_key", "").strip(), q.get("meta_value", "")
        found = await self.memory.list_memories(
            user_id=user,
            agent_id=key.agent_id or q.get("agent") or None,
            session_id=q.get("session") or None,
            filters={meta_key: _typed(meta_value)} if meta_key else None,
            since=q.get("since") or None,
            until=q.get("until") or None,
            order="oldest" if q.get("order") == "oldest" else "newest",
            include_expired=q.get("expired") == "1",
            limit=PAGE + 1,
            offset=page * PAGE,
        )
        return self.render(
            "memories.html",
            **await self._common(request, key, csrf, user),
            memories=found[:PAGE],
            page=page,
            more=len(found) > PAGE,
            link=lambda **change: _link(request, **change),
        )

    async def search(self, request: Request, key: ApiKey, csrf: str) -> Response:
        q = request.query_params
        user, query = await self._user(request, key), q.get("q", "").strip()
        hits = []
        if query:
            hits = await self.memory.search_memory(
                query,
                user_id=user,
                agent_id=key.agent_id,
                top_k=20,
                mode="dense" if q.get("mode") == "dense" else "hybrid",
                as_of=q.get("as_of") or None,
                include_expired=q.get("expired") == "1",
                time_aware=q.get("time_aware", "1") == "1",
            )
        return self.render("search.html", **await self._common(request, key, csrf, user), query=query, hits=hits)

    async def history(self, request: Request, key: ApiKey, csrf: str) -> Response:
        user, memory_id = await self._user(request, key), request.path_params["memory_id"]
        current = await self.memory.get_memory(memory_id, user_id=user)
        if key.agent_id is not None and (current is None or current.agent_id != key.agent_id):
            current, events = None, []  # an agent's key sees only its agent's memories
        else:
            events = await self.memory.history(memory_id, user_id=user)
        common = await self._common(request, key, csrf, user)
        return self.render("history.html", **common, memory_id=memory_id, current=current, events=events)

    async def export(self, request: Request, key: ApiKey, csrf: str) -> Response:
        user = await self._user(request, key)
        records = await run_in_threadpool(lambda: list(self.memory.sync.export_memories(user_id=user)))
        if key.agent_id is not None:
            records = [r for r in records if r.get("agent_id") == key.agent_id]
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        disposition = f'attachment; filename="memories-{_filename(user)}.jsonl"'
        return Response(body, media_type="application/x-ndjson", headers={"Content-Disposition": disposition})

    async def _user(self, request: Request, key: ApiKey) -> str:
        """The user shown: the key's own, or for an admin key the one picked (``?user=``)."""
        if not key.admin:
            return key.user_for(None)
        picked = request.query_params.get("user")
        if not picked:
            users = await self._users(request)
            if not users:
                raise ValidationError("no user has memories yet: name one")
            picked = users[0]
        return key.user_for(picked)

    async def _users(self, request: Request) -> list[str]:
        """Every user with memories (an admin's choice), counted once a request: it scans the store."""
        if not hasattr(request.state, "users"):
            request.state.users = sorted((await self.memory.stats()).users)
        return request.state.users  # type: ignore[no-any-return]

    async def _common(self, request: Request, key: ApiKey, csrf: str, user: str) -> dict[str, Any]:
        users = (await self._users(request))[:500] if key.admin else []
        return {"key": key, "csrf": csrf, "user": user, "users": users, "q": request.query_params}


async def _form(request: Request) -> dict[str, str]:
    """A urlencoded form's fields (the first value of each)."""
    body = (await request.body()).decode("utf-8", "replace")
    return {name: values[0] for name, values in parse_qs(body, keep_blank_values=True).items()}


def _page(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 7 else 0


def _typed(value: str) -> object:
    """A metadata filter value as typed: a number or boolean when it reads as one (JSON), else text."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return parsed if isinstance(parsed, (int, float, bool)) else value


def _link(request: Request, **change: object) -> str:
    """This page's URL with some query parameters changed (``None`` drops one)."""
    params = dict(request.query_params)
    for name, value in change.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = str(value)
    return f"{request.url.path}?{urlencode(params)}"


def _filename(user: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in user)[:64] or "user"
