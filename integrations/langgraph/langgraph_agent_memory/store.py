"""``AgentMemoryStore``: a LangGraph ``BaseStore`` on agent-memory, for ``create_agent(store=...)`` and LangMem."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
)

from agent_memory import (
    AsyncMemorySystem,
    ConfigurationError,
    Limits,
    Memory,
    MemorySystem,
    Scope,
    StoreError,
    ValidationError,
)
from agent_memory.validation import check_at_most, check_key, check_metadata, check_text
from langgraph_agent_memory import _values
from langgraph_agent_memory.namespaces import NamespaceError, NamespaceMap, check_namespace

__all__ = ["AgentMemoryStore"]

_PAGE = 1000
MEMORY_KEY = "memory_key"  # agent-memory's metadata key of a keyed memory's key (filterable)
_ANY_ITEM = {_values.INDEXED: {"$in": [True, False]}}  # every item the store put, and nothing else
_INDEXED = {_values.INDEXED: True}


@dataclass(frozen=True)
class _Put:
    """A checked put: where, what, and how long it holds."""

    scope: Scope
    key: str
    value: Mapping[str, Any] | None
    text: str = ""
    metadata: dict[str, Any] | None = None
    ttl: float | None = None


class AgentMemoryStore(BaseStore):
    """A LangGraph store whose items are agent-memory memories, one user's apart from another's.

    ``namespaces`` (a :class:`NamespaceMap`, or its pattern) says which namespace label is the
    user, the agent and the session; by default ``("memories", "{user_id}")`` is a user's items,
    a third label an agent's, a fourth a session's. A namespace it cannot place is refused. A
    ``search`` or ``list_namespaces`` prefix shorter than the user's label reads every user's
    items, so it is refused unless the store is made with ``admin=True`` (for operators' tools,
    never for an agent's).

    Each item is one memory stored under the item's key (:meth:`MemorySystem.put_memory`): a
    second ``put`` of the key updates it, with history, and two keys may hold the same text. The
    value is kept whole (as JSON in the memory's metadata) and comes back exactly as it was put;
    the memory's text is what the ``index`` fields name (``{"fields": [...]}``, LangGraph's paths;
    default: the value's ``content``, else the whole value), embedded without an instruction.
    ``search(query=...)`` is the memory system's default search, with the query instruction:
    ``score`` is its relevance in [0, 1], higher is better. Items put with ``index=False`` are not
    searched by meaning: a query search lists them after the ranked ones, without a score.

    ``ttl`` (minutes) sets the memory's ``valid_until``: an expired item leaves every read, and
    stays in the memory's history (``as_of`` searches of the memory system still find it); a
    read with ``refresh_ttl`` extends it by its ttl. ``ttl_config`` is LangGraph's
    (``default_ttl``, ``refresh_on_read``).

    Everything is checked before anything is written (a batch is checked whole first). ``abatch``
    runs the batch in the memory system's thread pool (:class:`AsyncMemorySystem`), never on the
    event loop.
    """

    supports_ttl = True

    def __init__(
        self,
        memory: MemorySystem,
        *,
        namespaces: NamespaceMap | Sequence[str] | None = None,
        index: dict[str, Any] | None = None,
        admin: bool = False,
        ttl_config: TTLConfig | None = None,
    ) -> None:
        if not isinstance(memory, MemorySystem):
            raise ConfigurationError(f"AgentMemoryStore takes a MemorySystem, got {type(memory).__name__}")
        unknown = set(index or {}) - {"fields"}
        if unknown:
            raise ConfigurationError(
                f"index= takes only 'fields' here, not {sorted(unknown)}: the memory system embeds, with its model"
            )
        self.memory = memory
        if not isinstance(namespaces, NamespaceMap):
            namespaces = NamespaceMap() if namespaces is None else NamespaceMap(tuple(namespaces))
        self.namespaces = namespaces
        self.fields: list[str] | None = list((index or {}).get("fields") or []) or None
        self.admin = admin
        self.ttl_config = ttl_config

    # -- the two methods LangGraph asks for ------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run the operations in order, after checking all of them; one result per operation."""
        ops = list(ops)
        checked = [self._check(op) for op in ops]
        return [self._run(op, put) for op, put in zip(ops, checked, strict=True)]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """:meth:`batch`, run in the memory system's bounded thread pool: the event loop keeps going."""
        return await AsyncMemorySystem.of(self.memory).run(self.batch, list(ops))

    # -- checks ----------------------------------------------------------------------------

    def _check(self, op: Op) -> _Put | None:
        if isinstance(op, PutOp):
            return self._check_put(op)
        if isinstance(op, GetOp):
            self.namespaces.scope_of(op.namespace)
        elif isinstance(op, SearchOp):
            _values.check_filter(op.filter)
            _check_page(op.limit, op.offset, bool(op.query and op.query.strip()), self.memory.limits)
            self._scopes(op.namespace_prefix, "search")
        elif isinstance(op, ListNamespacesOp):
            _check_page(op.limit, op.offset, False, self.memory.limits)
            self._list_scopes(op.match_conditions)
        else:
            raise ValidationError(f"unknown store operation {type(op).__name__}")
        return None

    def _check_put(self, op: PutOp) -> _Put:
        scope = self.namespaces.scope_of(op.namespace)
        key = _check_key(op.key)
        if op.value is None:
            return _Put(scope, key, None)
        ttl = _check_ttl(op.ttl)
        text = None if op.index is False else _values.index_text(_mapping(op.value), _fields(op.index, self.fields))
        metadata: dict[str, Any] = {_values.INDEXED: text is not None}
        if ttl is not None:
            metadata[_values.TTL] = ttl
        metadata[_values.VALUE] = _values.encode(op.value, metadata)
        # The memory system's own checks, now: a batch is refused whole, before its first write.
        return _Put(scope, key, op.value, check_text(text or metadata[_values.VALUE]), check_metadata(metadata), ttl)

    # -- running ---------------------------------------------------------------------------

    def _run(self, op: Op, put: _Put | None) -> Result:
        if put is not None:
            self._put(put)
            return None
        if isinstance(op, GetOp):
            return self._get(op)
        if isinstance(op, SearchOp):
            return self._search(op)
        if isinstance(op, ListNamespacesOp):
            return self._list_namespaces(op)
        raise ValidationError(f"unknown store operation {type(op).__name__}")

    def _put(self, put: _Put) -> None:
        scope = put.scope
        if put.value is None:
            found = self.memory.get_memory_by_key(
                put.key, user_id=scope.user_id, agent_id=scope.agent_id, session_id=scope.session_id
            )
            if found is not None:
                self.memory.delete_memory(found.id, user_id=scope.user_id)
            return
        until = None if put.ttl is None else datetime.now(timezone.utc) + timedelta(minutes=put.ttl)
        self.memory.put_memory(
            put.key,
            put.text,
            user_id=scope.user_id,
            agent_id=scope.agent_id,
            session_id=scope.session_id,
            metadata=put.metadata,
            valid_until=until,
        )

    def _get(self, op: GetOp) -> Item | None:
        scope = self.namespaces.scope_of(op.namespace)
        found = self.memory.get_memory_by_key(
            _check_key(op.key), user_id=scope.user_id, agent_id=scope.agent_id, session_id=scope.session_id
        )
        if found is None or _values.VALUE not in found.metadata or _expired(found):
            return None
        item = self._items([found], [None], op.refresh_ttl)[0]
        return Item(
            namespace=item.namespace,
            key=item.key,
            value=item.value,
            created_at=item.created_at,
            updated_at=item.updated_at,
        )

    def _search(self, op: SearchOp) -> list[SearchItem]:
        where, wanted = _values.check_filter(op.filter), op.offset + op.limit
        query = op.query if op.query and op.query.strip() else None  # an empty query lists, as in LangGraph
        found: list[tuple[float | None, Memory]] = []
        for scope in self._scopes(op.namespace_prefix, "search"):
            found += self._search_scope(scope, query, where, wanted)
        if query is not None:  # ranked first, best first; then the unranked, in the order they were put
            ranked = sorted((h for h in found if h[0] is not None), key=lambda h: h[0] or 0.0, reverse=True)
            found = ranked[:wanted] + [h for h in found if h[0] is None]
        page = found[op.offset : wanted]
        return self._items([m for _, m in page], [s for s, _ in page], op.refresh_ttl)

    def _search_scope(
        self, scope: Scope, query: str | None, where: dict[str, Any] | None, wanted: int
    ) -> list[tuple[float | None, Memory]]:
        """The scope's items that pass ``where``; for a query, those it ranks (with their scores),
        then, while fewer than ``wanted``, those put with ``index=False`` (without)."""
        if query is None:
            return [(None, m) for m in self._scan(scope, where, _ANY_ITEM)]
        ranked = self._ranked(scope, query, where, wanted)
        if len(ranked) >= wanted:
            return ranked
        return ranked + [(None, m) for m in self._scan(scope, where, {_values.INDEXED: False})]

    def _ranked(
        self, scope: Scope, query: str, where: dict[str, Any] | None, wanted: int
    ) -> list[tuple[float | None, Memory]]:
        """The memory system's default search over the scope's indexed items (those passing ``where``:
        found first, then searched among by key)."""
        chroma_where: dict[str, Any] = _INDEXED
        allowed: set[str] | None = None
        if where is not None:
            candidates = list(self._scan(scope, where, _INDEXED))
            if not candidates:
                return []
            allowed = {m.id for m in candidates}
            keys = sorted({m.key for m in candidates if m.key})
            limits = self.memory.limits
            if len(keys) < limits.max_filter_clauses:  # searched among the items that pass
                chroma_where = {"$and": [_INDEXED, {MEMORY_KEY: {"$in": keys}}]}
                wanted = min(limits.max_top_k, 2 * wanted)  # the same key in a narrower scope may not pass
            else:  # too many to name in one filter: the best max_top_k of all, those that pass kept
                wanted = limits.max_top_k
        hits = self.memory.search_memory(
            query,
            user_id=scope.user_id,
            agent_id=scope.agent_id,
            session_id=scope.session_id,
            top_k=wanted,
            filters=chroma_where,
        )
        return [
            (hit.score, hit.memory)
            for hit in hits
            if (allowed is None or hit.memory.id in allowed) and self.namespaces.namespace_of(hit.memory) is not None
        ]

    def _scan(self, scope: Scope, where: dict[str, Any] | None, kind: dict[str, Any]) -> Iterator[Memory]:
        """The scope's items of this ``kind`` that hold now and pass ``where``, in the order they were
        put, read a page at a time."""
        offset = 0
        while True:
            page = self.memory.list_memories(
                user_id=scope.user_id,
                agent_id=scope.agent_id,
                session_id=scope.session_id,
                filters=kind,
                limit=_PAGE,
                offset=offset,
            )
            for m in page:
                if self.namespaces.namespace_of(m) is not None and _values.matches(_value(m), where):
                    yield m
            if len(page) < _PAGE:
                return
            offset += _PAGE

    def _items(self, memories: list[Memory], scores: list[float | None], refresh: bool) -> list[SearchItem]:
        if refresh:
            memories = [self._refreshed(m) for m in memories]
        return [_item(m, self.namespaces.namespace_of(m), s) for m, s in zip(memories, scores, strict=True)]

    def _refreshed(self, memory: Memory) -> Memory:
        """An item with a ttl, its expiry moved to a ttl from now (a read keeps it alive)."""
        ttl = memory.metadata.get(_values.TTL)
        if not isinstance(ttl, int | float) or isinstance(ttl, bool):
            return memory
        until = datetime.now(timezone.utc) + timedelta(minutes=ttl)
        return self.memory.expire_memory(memory.id, user_id=memory.user_id, at=until)

    # -- namespaces ------------------------------------------------------------------------

    def _scopes(self, prefix: Sequence[str], what: str) -> list[Scope]:
        """The scopes a prefix reads: one user's, or (admin only) every user's."""
        prefix = tuple(prefix)
        if prefix:
            check_namespace(prefix, f"{what} prefix")
        fits, scope = self.namespaces.prefix_scope(prefix)
        if not fits:
            return []
        if scope is not None:
            return [scope]
        if not self.admin:
            raise NamespaceError(
                f"a {what} prefix {prefix!r} shorter than the user's label reads every user's items: name the "
                f"user (pattern {self.namespaces.pattern!r}), or make the store with admin=True"
            )
        return [Scope.of(user) for user in self.memory.stats().users]

    def _list_scopes(self, conditions: Sequence[MatchCondition] | None) -> list[Scope]:
        prefixes = [c.path for c in conditions or () if c.match_type == "prefix"]
        fixed = next((p[: p.index("*")] if "*" in p else p for p in prefixes), ())
        return self._scopes(tuple(fixed), "list_namespaces")

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        scopes = self._list_scopes(op.match_conditions)
        found = {self.namespaces.namespace_of(m) for s in scopes for m in self._scan(s, None, _ANY_ITEM)}
        names = [n for n in found if n is not None and all(_fits(c, n) for c in op.match_conditions or ())]
        if op.max_depth is not None:
            names = list({n[: op.max_depth] for n in names})
        return sorted(names)[op.offset : op.offset + op.limit]


def _item(memory: Memory, namespace: tuple[str, ...] | None, score: float | None) -> SearchItem:
    if namespace is None or memory.key is None or memory.created_at is None or memory.updated_at is None:
        raise StoreError(f"memory {memory.id} is not a store item (no namespace, key or times)")
    return SearchItem(
        namespace=namespace,
        key=memory.key,
        value=_value(memory),
        created_at=memory.created_at,
        updated_at=memory.updated_at,
        score=score,
    )


def _value(memory: Memory) -> dict[str, Any]:
    return _values.decode(memory.metadata[_values.VALUE])


def _expired(memory: Memory) -> bool:
    return memory.valid_until is not None and memory.valid_until <= datetime.now(timezone.utc)


def _fits(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    """LangGraph's namespace match: the path's labels (``*`` any label) at the start or the end."""
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    part = namespace[: len(path)] if condition.match_type == "prefix" else namespace[len(namespace) - len(path) :]
    return all(p in ("*", label) for p, label in zip(path, part, strict=True))


def _fields(index: list[str] | None, default: list[str] | None) -> list[str] | None:
    return default if index is None else list(index)


def _mapping(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(f"an item's value is a dict, got {type(value).__name__}")
    return value


def _check_key(key: object) -> str:
    if not isinstance(key, str):
        raise ValidationError(f"an item's key is a str, got {type(key).__name__}")
    return check_key(key)


def _check_ttl(ttl: object) -> float | None:
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl < 1e9:
        raise ValidationError(f"ttl is a positive number of minutes, got {ttl!r}")
    return float(ttl)


def _check_page(limit: object, offset: object, ranked: bool, limits: Limits) -> None:
    """``limit`` and ``offset`` within the memory system's :class:`~agent_memory.Limits`; a search by
    query ranks at most ``max_top_k`` items, so ``offset + limit`` may not pass it."""
    check_at_most(limit, "limit", limits)
    check_at_most(offset, "offset", limits)
    if ranked:
        limits.check("max_top_k", "offset + limit = {n} items ranked", int(limit) + int(offset))  # type: ignore[call-overload]
