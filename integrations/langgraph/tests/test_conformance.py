"""LangGraph's own store behaviour tests, run against InMemoryStore (the reference) and AgentMemoryStore.

LangGraph ships no standard store test suite, so these are its stores' behaviour tests rewritten in
this project's style (langgraph, MIT, LangChain, Inc.: ``libs/checkpoint/tests/test_store.py``,
``libs/checkpoint-sqlite/tests/test_store.py`` and ``test_async_store.py``,
``libs/checkpoint-postgres/tests/test_store.py``). Each test runs on both stores with the same
calls and the same embeddings (:mod:`_embeddings`). AgentMemoryStore is made with the pattern
``("{user_id}", "{agent_id}", "{session_id}")`` (so that the tests' namespaces, up to three
labels, place) and ``admin=True`` (the tests search and list across their "users").

Where the stores differ, the test says so and asserts each store's behaviour; the reasons are
listed in docs/langgraph.md ("Differences from InMemoryStore"). Namespaces of four labels in the
originals are three here: the pattern places at most three.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _embeddings import DIMS, CharacterEmbedder, CharacterEmbeddings
from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchOp,
)
from langgraph.store.memory import InMemoryStore
from langgraph_agent_memory import AgentMemoryStore

from agent_memory import MemorySystem

PATTERN = ("{user_id}", "{agent_id}", "{session_id}")
Make = Callable[..., BaseStore]


@pytest.fixture(params=["reference", "agent-memory"])
def make(request: pytest.FixtureRequest) -> Iterator[Make]:
    """Makes the store under test, with ``index={"fields": ...}`` when given."""
    systems: list[MemorySystem] = []

    def build(fields: list[str] | None = None) -> BaseStore:
        if request.param == "reference":
            index: dict[str, Any] = {"dims": DIMS, "embed": CharacterEmbeddings()}
            return InMemoryStore(index={**index, "fields": fields} if fields else index)  # type: ignore[typeddict-item]
        systems.append(MemorySystem(embedder=CharacterEmbedder(), path=":memory:"))
        return AgentMemoryStore(systems[-1], namespaces=PATTERN, index={"fields": fields}, admin=True)

    yield build
    for system in systems:
        system.close()


@pytest.fixture
def store(make: Make) -> BaseStore:
    return make()


def ours(store: BaseStore) -> bool:
    return isinstance(store, AgentMemoryStore)


def keys(items: list[Any]) -> list[str]:
    return [item.key for item in items]


# -- batches (sqlite/postgres test_store.py) --------------------------------------------------


def test_batch_order(store: BaseStore) -> None:
    store.put(("test", "foo"), "key1", {"data": "value1"})
    store.put(("test", "bar"), "key2", {"data": "value2"})
    results = store.batch(
        [
            GetOp(("test", "foo"), "key1"),
            PutOp(("test", "bar"), "key2", {"data": "value2"}),
            SearchOp(("test",), {"data": "value1"}, 10, 0),
            ListNamespacesOp(None, None, 10, 0),
            GetOp(("test",), "key3"),
        ]
    )
    first = results[0]
    assert isinstance(first, Item) and (first.key, first.namespace, first.value) == (
        "key1",
        ("test", "foo"),
        {"data": "value1"},
    )
    assert results[1] is None and results[4] is None
    assert keys(results[2]) == ["key1"]  # type: ignore[arg-type]
    assert {("test", "foo"), ("test", "bar")} <= set(results[3])  # type: ignore[arg-type]
    results = store.batch(
        [
            SearchOp(("test",), None, 5, 0),
            GetOp(("test", "bar"), "key2"),
            ListNamespacesOp(None, None, 5, 0),
            PutOp(("test",), "key3", {"data": "value3"}),
            GetOp(("test", "foo"), "key1"),
        ]
    )
    assert len(results[0]) >= 2 and results[1].value == {"data": "value2"}  # type: ignore[arg-type,union-attr]
    assert results[3] is None and results[4].value == {"data": "value1"}  # type: ignore[union-attr]
    assert store.get(("test",), "key3").value == {"data": "value3"}  # type: ignore[union-attr]


def test_batch_get_put_and_delete(store: BaseStore) -> None:
    store.batch(
        [
            PutOp(("test",), "key1", {"data": "value1"}),
            PutOp(("test",), "key2", {"data": "value2"}),
            PutOp(("test",), "key3", None),  # a delete of nothing
        ]
    )
    got = store.batch([GetOp(("test",), "key1"), GetOp(("test",), "key2"), GetOp(("test",), "key3")])
    assert [g.key if g else None for g in got] == ["key1", "key2", None]  # type: ignore[union-attr]


def test_batch_search_ops(store: BaseStore) -> None:
    for namespace, key, value in [
        (("test", "foo"), "key1", {"data": "value1", "tag": "a"}),
        (("test", "bar"), "key2", {"data": "value2", "tag": "a"}),
        (("test", "baz"), "key3", {"data": "value3", "tag": "b"}),
    ]:
        store.put(namespace, key, value)
    tagged, two, narrow = store.batch(
        [
            SearchOp(("test",), {"tag": "a"}, 10, 0),
            SearchOp(("test",), None, 2, 0),
            SearchOp(("test", "foo"), None, 10, 0),
        ]
    )
    assert sorted(keys(tagged)) == ["key1", "key2"]  # type: ignore[arg-type]
    assert len(two) == 2  # type: ignore[arg-type]
    assert [i.namespace for i in narrow] == [("test", "foo")]  # type: ignore[union-attr]


def test_batch_list_namespaces_ops(store: BaseStore) -> None:
    for namespace in [("test", "documents", "public"), ("test", "documents", "private"), ("test", "images", "public")]:
        store.put(namespace, "doc", {"content": "x"})
    store.put(("prod", "documents", "public"), "doc", {"content": "x"})
    every, shallow, public = store.batch(
        [
            ListNamespacesOp(None, None, 10, 0),
            ListNamespacesOp(None, 2, 10, 0),
            ListNamespacesOp((MatchCondition("suffix", ("public",)),), None, 10, 0),
        ]
    )
    assert len(every) == 4  # type: ignore[arg-type]
    assert all(len(n) <= 2 for n in shallow)  # type: ignore[union-attr]
    assert sorted(public) == [  # type: ignore[type-var]
        ("prod", "documents", "public"),
        ("test", "documents", "public"),
        ("test", "images", "public"),
    ]


# -- basic operations ---------------------------------------------------------------------


def test_basic_store_ops(store: BaseStore) -> None:
    namespace = ("test", "documents")
    store.put(namespace, "doc1", {"title": "Test Document", "content": "Hello, World!"})
    item = store.get(namespace, "doc1")
    assert item and (item.namespace, item.key) == (namespace, "doc1")
    assert item.value == {"title": "Test Document", "content": "Hello, World!"}
    time.sleep(0.01)
    store.put(namespace, "doc1", {"title": "Updated Document", "content": "Hello, Updated!"})
    updated = store.get(namespace, "doc1")
    assert updated and updated.value == {"title": "Updated Document", "content": "Hello, Updated!"}
    assert updated.updated_at > item.updated_at
    if ours(store):  # the memory keeps when it was first stored; InMemoryStore re-stamps both times
        assert updated.created_at == item.created_at
    assert store.get(("test", "other_documents"), "doc1") is None
    store.delete(namespace, "doc1")
    assert store.get(namespace, "doc1") is None


def test_search_filters_and_pages(store: BaseStore) -> None:
    for namespace, key, value in [
        (("test", "docs"), "doc1", {"title": "First Doc", "author": "Alice", "tags": ["important"]}),
        (("test", "docs"), "doc2", {"title": "Second Doc", "author": "Bob", "tags": ["draft"]}),
        (("test", "images"), "img1", {"title": "Image 1", "author": "Alice", "tags": ["final"]}),
    ]:
        store.put(namespace, key, value)
    assert len(store.search(("test",))) == 3
    assert {i.namespace for i in store.search(("test", "docs"))} == {("test", "docs")}
    assert sorted(keys(store.search(("test",), filter={"author": "Alice"}))) == ["doc1", "img1"]
    assert keys(store.search(("test",), filter={"tags": ["draft"]})) == ["doc2"]
    assert len(store.search(("test",), limit=2)) == 2 and len(store.search(("test",), offset=2)) == 1
    assert keys(store.search(("test",))) == ["doc1", "doc2", "img1"]  # both list in the order put


def test_namespace_rules(store: BaseStore) -> None:
    doc = {"foo": "bar"}
    for bad in [(), ("the", "thing.about"), ("some", "fun", ""), ("langgraph", "foo")]:
        with pytest.raises(InvalidNamespaceError):
            store.put(bad, "foo", doc)
    store.put(("foo", "langgraph", "foo"), "bar", doc)
    assert store.get(("foo", "langgraph", "foo"), "bar").value == doc  # type: ignore[union-attr]
    assert store.search(("foo", "langgraph", "foo"), query="bar")[0].value == doc
    store.delete(("foo", "langgraph", "foo"), "bar")
    assert store.get(("foo", "langgraph", "foo"), "bar") is None
    if ours(store):  # LangGraph's rules hold on every path here, batch included
        with pytest.raises(InvalidNamespaceError):
            store.batch([PutOp(("langgraph", "foo"), "bar", doc)])
    else:  # InMemoryStore checks only in put(): a batch writes under "langgraph"
        store.batch([PutOp(("langgraph", "foo"), "bar", doc)])
        assert store.get(("langgraph", "foo"), "bar").value == doc  # type: ignore[union-attr]


async def test_namespace_rules_async(store: BaseStore) -> None:
    for bad in [(), ("the", "thing.about"), ("langgraph", "foo")]:
        with pytest.raises(InvalidNamespaceError):
            await store.aput(bad, "foo", {"foo": "bar"})
    await store.aput(("valid", "namespace"), "key", {"foo": "bar"})
    assert (await store.aget(("valid", "namespace"), "key")).value == {"foo": "bar"}  # type: ignore[union-attr]
    assert (await store.asearch(("valid", "namespace")))[0].value == {"foo": "bar"}
    await store.adelete(("valid", "namespace"), "key")
    assert await store.aget(("valid", "namespace"), "key") is None


def test_values_round_trip_exactly(store: BaseStore) -> None:
    value = {"content": "x", "nested": {"a": [1, 2.5, None, True, {"b": "ü"}]}, "n": 3, "empty": {}}
    store.put(("test",), "k", value)
    assert store.get(("test",), "k").value == value  # type: ignore[union-attr]


# -- namespaces (checkpoint/sqlite/postgres) ------------------------------------------------

NAMESPACES = [
    ("a", "b", "c"),
    ("a", "b", "d"),
    ("a", "b", "e"),
    ("a", "b", "f"),
    ("a", "c", "f"),
    ("b", "a", "f"),
    ("users", "123"),
    ("users", "456", "settings"),
    ("admin", "users", "789"),
]


def test_list_namespaces_basic(store: BaseStore) -> None:
    for i, namespace in enumerate(NAMESPACES):
        store.put(namespace, f"id_{i}", {"data": f"value_{i:02d}"})
    ab = [("a", "b", "c"), ("a", "b", "d"), ("a", "b", "e"), ("a", "b", "f")]
    assert sorted(store.list_namespaces(prefix=("a", "b"))) == ab
    f = [("a", "b", "f"), ("a", "c", "f"), ("b", "a", "f")]
    assert sorted(store.list_namespaces(suffix=("f",))) == f
    assert sorted(store.list_namespaces(prefix=("a",), suffix=("f",))) == f[:2]
    assert sorted(store.list_namespaces(prefix=("a", "b"), max_depth=2)) == [("a", "b")]
    assert store.list_namespaces(prefix=("a", "b"), limit=2) == ab[:2]
    assert store.list_namespaces(prefix=("a", "b"), offset=2) == ab[2:]
    assert sorted(store.list_namespaces(prefix=("a", "*", "f"))) == f[:2]
    assert sorted(store.list_namespaces(suffix=("*", "f"))) == f
    assert store.list_namespaces(prefix=("nonexistent",)) == []
    assert store.list_namespaces(prefix=("users", "123")) == [("users", "123")]


def test_list_namespaces_with_wildcards(store: BaseStore) -> None:
    for i, namespace in enumerate(
        [("users", "123"), ("users", "456"), ("users", "789", "settings"), ("guests", "456", "preferences")]
    ):
        store.put(namespace, f"id_{i}", {"data": "x"})
    assert sorted(store.list_namespaces(prefix=("users", "*"))) == [
        ("users", "123"),
        ("users", "456"),
        ("users", "789", "settings"),
    ]
    assert store.list_namespaces(suffix=("*", "preferences")) == [("guests", "456", "preferences")]
    assert store.list_namespaces(prefix=("*", "users"), suffix=("*", "settings")) == []


def test_list_namespaces_pagination_depth_and_empty(store: BaseStore) -> None:
    assert store.list_namespaces() == []
    for i in range(20):
        store.put(("namespace", f"sub_{i:02d}"), f"id_{i:02d}", {"data": "x"})
    for offset in (0, 5, 15):
        got = store.list_namespaces(prefix=("namespace",), limit=5, offset=offset)
        assert got == [("namespace", f"sub_{i:02d}") for i in range(offset, offset + 5)]
    store.put(("h", "i", "j"), "k", {"data": "x"})
    assert sorted(store.list_namespaces(max_depth=1)) == [("h",), ("namespace",)]


def test_search_namespace_segment_boundary(store: BaseStore) -> None:
    for namespace in [("foo",), ("foo", "child"), ("foo", "child", "deep"), ("foobar",), ("foobar", "baz"), ("foo2",)]:
        store.put(namespace, "k", {"v": 1})

    def found(prefix: tuple[str, ...]) -> set[tuple[str, ...]]:
        return {item.namespace for item in store.search(prefix, limit=100)}

    assert found(("foo",)) == {("foo",), ("foo", "child"), ("foo", "child", "deep")}
    assert found(("foobar",)) == {("foobar",), ("foobar", "baz")}
    assert found(("foo2",)) == {("foo2",)} and found(("fo",)) == set()
    assert found(()) == found(("foo",)) | found(("foobar",)) | found(("foo2",))  # admin: every user


def test_labels_are_literal_and_case_sensitive(store: BaseStore) -> None:
    for namespace in [("user_1",), ("user_1", "child"), ("userX1",), ("a%b",), ("axxb",), ("star*",), ("starX",)]:
        store.put(namespace, "k", {"v": 1})
    store.put(("Foo",), "k", {"v": "upper"})
    store.put(("foo",), "k", {"v": "lower"})
    store.put(("users", "alice"), "k", {"v": 1})
    store.put(("users", "alice\n"), "k", {"v": 2})

    def found(prefix: tuple[str, ...]) -> set[tuple[str, ...]]:
        return {item.namespace for item in store.search(prefix, limit=100)}

    assert found(("user_1",)) == {("user_1",), ("user_1", "child")}
    assert found(("a%b",)) == {("a%b",)} and found(("star*",)) == {("star*",)}
    assert found(("foo",)) == {("foo",)} and found(("Foo",)) == {("Foo",)}
    assert set(store.list_namespaces(suffix=["alice"], limit=100)) == {("users", "alice")}
    assert set(store.list_namespaces(prefix=["users", "alice"], limit=100)) == {("users", "alice")}


# -- filters (sqlite test_store.py) ---------------------------------------------------------


def test_filter_values_are_literal(store: BaseStore) -> None:
    for key, access in [("doc1", "public"), ("doc2", "private"), ("doc3", "secret")]:
        store.put(("docs",), key, {"access": access, "title": f"{access} document"})
    for value in ["public' OR '1'='1", "public'; --", "public' UNION SELECT * FROM store --", "''''"]:
        assert store.search(("docs",), filter={"access": value}) == []
    store.put(("docs",), "doc4", {"title": "O'Brien's Document", "access": "public"})
    assert keys(store.search(("docs",), filter={"title": "O'Brien's Document"})) == ["doc4"]
    store.put(("docs",), "doc5", {"access-level": "public", "123abc": "ok"})
    assert keys(store.search(("docs",), filter={"access-level": "public"})) == ["doc5"]
    assert keys(store.search(("docs",), filter={"123abc": "ok"})) == ["doc5"]


def test_numeric_and_boolean_filters(store: BaseStore) -> None:
    for i, price in enumerate([10, 20, 30]):
        store.put(("items",), f"item{i + 1}", {"price": price, "active": price != 20})
    assert sorted(keys(store.search(("items",), filter={"price": {"$gt": 15}}))) == ["item2", "item3"]
    assert len(store.search(("items",), filter={"price": {"$lt": float("inf")}})) == 3
    assert len(store.search(("items",), filter={"price": {"$gt": float("-inf")}})) == 3
    assert store.search(("items",), filter={"price": {"$eq": float("nan")}}) == []
    assert len(store.search(("items",), filter={"price": {"$lt": 10**100}})) == 3
    assert keys(store.search(("items",), filter={"price": {"$gte": 20, "$lte": 20}})) == ["item2"]
    assert sorted(keys(store.search(("items",), filter={"price": {"$ne": 20}}))) == ["item1", "item3"]
    assert keys(store.search(("items",), filter={"active": False})) == ["item2"]
    store.put(("items",), "item4", {"price": -10})
    assert keys(store.search(("items",), filter={"price": {"$lt": 0}})) == ["item4"]


# -- vector search (checkpoint/sqlite/postgres) ---------------------------------------------

DOCS = [
    ("doc1", {"text": "short text"}),
    ("doc2", {"text": "longer text document"}),
    ("doc3", {"text": "longest text document here"}),
    ("doc4", {"description": "text in description field"}),
    ("doc5", {"content": "text in content field"}),
    ("doc6", {"body": "text in body field"}),
]


def test_vector_insert_with_auto_embedding(store: BaseStore) -> None:
    for key, value in DOCS:
        store.put(("test",), key, value)
    found = keys(store.search(("test",), query="long text"))
    assert "doc2" in found and "doc3" in found
    scores = [r.score for r in store.search(("test",), query="long text")]
    assert all(s is not None for s in scores) and scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    if ours(store):  # the library's relevance, in [0, 1]
        assert all(0.0 <= s <= 1.0 for s in scores)  # type: ignore[operator]


async def test_vector_insert_with_auto_embedding_async(store: BaseStore) -> None:
    for key, value in DOCS:
        await store.aput(("test",), key, value)
    found = keys(await store.asearch(("test",), query="long text"))
    assert "doc2" in found and "doc3" in found


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_vector_update_with_embedding(store: BaseStore, asynchronous: bool) -> None:
    async def put(key: str, value: dict[str, Any], **kw: Any) -> None:
        await store.aput(("test",), key, value, **kw) if asynchronous else store.put(("test",), key, value, **kw)

    async def search(query: str, **kw: Any) -> list[Any]:
        return (
            await store.asearch(("test",), query=query, **kw)
            if asynchronous
            else store.search(("test",), query=query, **kw)
        )

    await put("doc1", {"text": "zany zebra Xerxes"})
    await put("doc2", {"text": "something about dogs"})
    await put("doc3", {"text": "text about birds"})
    initial = await search("Zany Xerxes")
    assert initial[0].key == "doc1"
    await put("doc1", {"text": "new text about dogs"})
    after = next((r.score for r in await search("Zany Xerxes") if r.key == "doc1"), 0.0)
    assert after < initial[0].score
    assert all(r.score > after for r in await search("new text about dogs") if r.key == "doc1")
    await put("doc4", {"text": "new text about dogs"}, index=False)
    assert "doc4" not in keys(await search("new text about dogs", limit=3))
    unranked = [r for r in await search("new text about dogs", limit=10) if r.key == "doc4"]
    assert [r.score for r in unranked] == [None]  # listed after the ranked ones, without a score


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_vector_search_with_filters(store: BaseStore, asynchronous: bool) -> None:
    for key, value in [
        ("doc1", {"text": "red apple", "color": "red", "score": 4.5}),
        ("doc2", {"text": "red car", "color": "red", "score": 3.0}),
        ("doc3", {"text": "green apple", "color": "green", "score": 4.0}),
        ("doc4", {"text": "blue car", "color": "blue", "score": 3.5}),
    ]:
        store.put(("test",), key, value)

    async def search(query: str, where: dict[str, Any]) -> list[str]:
        found = (
            await store.asearch(("test",), query=query, filter=where)
            if asynchronous
            else store.search(("test",), query=query, filter=where)
        )
        return keys(found)

    assert (await search("apple", {"color": "red"}))[0] == "doc1"
    assert len(await search("apple", {"color": "red"})) == 2
    assert (await search("car", {"color": "red"}))[0] == "doc2"
    bluish = await search("bbbbluuu", {"score": {"$gt": 3.2}})
    assert sorted(bluish) == ["doc1", "doc3", "doc4"] and bluish[0] == "doc4"
    assert await search("apple", {"score": {"$gte": 4.0}, "color": "green"}) == ["doc3"]


async def test_concurrent_async_writes_and_filtered_searches(store: BaseStore) -> None:
    colors, things, scores = (
        ["red", "blue", "green", "yellow", "purple"],
        ["apple", "car", "house", "book", "phone"],
        [
            3.0,
            3.5,
            4.0,
            4.5,
            5.0,
        ],
    )
    docs = [
        (
            f"doc{i}",
            {"text": f"{colors[i % 5]} {things[i % 5]}", "color": colors[i % 5], "score": scores[i % 5], "index": i},
        )
        for i in range(20)
    ]
    await asyncio.gather(*(store.aput(("test",), k, v) for k, v in docs))
    await asyncio.gather(*(store.adelete(("test",), k) for k, _ in docs))
    await asyncio.gather(*(store.aput(("test",), k, v) for k, v in docs))
    queries: list[tuple[str, dict[str, Any]]] = [
        ("apple", {"color": "red"}),
        ("phone", {"score": {"$gt": 4.99}}),
        ("book", {"score": {"$lte": 3.5}}),
        ("car", {"score": {"$lt": 5.1}, "color": "blue"}),
        ("house", {"index": {"$gt": 10}}),
    ]
    results = await asyncio.gather(*(store.asearch(("test",), query=q, filter=f) for q, f in queries))
    for found, (_, where) in zip(results, queries, strict=True):
        assert found
        for item in found:
            assert item.value.get("color", item.value["color"]) == where.get("color", item.value["color"])
    assert {r.value["score"] for r in results[1]} == {5.0} and all(r.value["index"] > 10 for r in results[4])


def test_vector_search_pagination_and_edge_cases(store: BaseStore) -> None:
    for i in range(5):
        store.put(("test",), f"doc{i}", {"text": f"test document number {i}"})
    first, second = (
        store.search(("test",), query="test", limit=2),
        store.search(("test",), query="test", limit=2, offset=2),
    )
    assert len(first) == len(second) == 2 and first[0].key != second[0].key
    assert len(store.search(("test",), query="test", limit=10)) == 5
    for query in ["", None, "test " * 100, "test!@#$%^&*()"]:
        assert len(store.search(("test",), query=query)) == 5


def test_embed_with_fields(make: Make) -> None:
    store = make(fields=["key0", "key1", "key3"])
    store.put(("test",), "doc1", {"key1": "xxx", "key2": "yyy", "key3": "zzz"})
    store.put(("test",), "doc2", {"key0": "uuu", "key1": "vvv", "key2": "www", "key3": "xxx"})
    assert sorted(keys(store.search(("test",), query="xxx"))) == ["doc1", "doc2"]
    assert store.search(("test",), query="uuu")[0].key == "doc2"
    per_put = make(fields=["key17"])
    per_put.put(("test",), "doc3", {"key0": "aaa", "key1": "bbb", "key2": "ccc"}, index=["key0", "key1"])
    per_put.put(("test",), "doc4", {"key0": "eee", "key1": "bbb", "key3": "ggg"}, index=["key1", "key3"])
    assert per_put.search(("test",), query="aaa")[0].key == "doc3"
    assert per_put.search(("test",), query="ggg")[0].key == "doc4"
    per_put.put(("test",), "doc5", {"key0": "hhh", "key1": "iii"}, index=False)
    unranked = [r for r in per_put.search(("test",), query="hhh") if r.key == "doc5"]
    assert [r.score for r in unranked] == [None]
    if ours(store):
        # One memory, one vector per item: the fields' texts are embedded together, so an item
        # matching on one field ranks by the whole text (InMemoryStore keeps a vector per field
        # and scores an item by its best one: "xxx" then scores doc1 and doc2 alike).
        item = store.search(("test",), query="xxx")[0]
        assert item.score is not None and 0.0 <= item.score <= 1.0


def test_non_ascii(store: BaseStore) -> None:
    texts = ["这是中文", "これは日本語です", "이건 한국어야", "Это русский", "यह रूसी है"]
    for i, text in enumerate(texts, start=1):
        store.put(("user_123", "memories"), str(i), {"text": text})
    for i, text in enumerate(texts, start=1):
        assert store.search(("user_123", "memories"), query=text)[0].key == str(i)
