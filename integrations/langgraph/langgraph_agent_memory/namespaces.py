"""How LangGraph namespaces name agent-memory scopes: :class:`NamespaceMap`.

A LangGraph store files items under namespaces, tuples of labels such as
``("memories", "alice")``. agent-memory keeps memories per user, optionally narrowed to an
agent and a session. A :class:`NamespaceMap` is a pattern of labels that says which label is
which: ``("memories", "{user_id}", "{agent_id}", "{session_id}")`` (the default) places
``("memories", "alice")`` in Alice's memories, ``("memories", "alice", "planner")`` in those of
her agent ``planner``, and ``("memories", "alice", "planner", "s1")`` in one of its sessions.

A namespace the pattern cannot place (another first label, a missing user, a label too many)
is refused with :class:`NamespaceError`: it is never written to a shared scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from langgraph.store.base import InvalidNamespaceError

from agent_memory import Memory, Scope, ValidationError

__all__ = ["DEFAULT_PATTERN", "NamespaceError", "NamespaceMap"]

USER, AGENT, SESSION = "{user_id}", "{agent_id}", "{session_id}"
_PLACEHOLDERS = (USER, AGENT, SESSION)
DEFAULT_PATTERN = ("memories", USER, AGENT, SESSION)
"""``("memories", "{user_id}")`` is a user's, a third label names an agent, a fourth a session."""


class NamespaceError(InvalidNamespaceError, ValidationError):
    """A namespace that LangGraph's rules or the store's :class:`NamespaceMap` refuse (a
    :class:`langgraph.store.base.InvalidNamespaceError` and an agent-memory :class:`ValidationError`)."""


def check_namespace(namespace: object, name: str = "namespace") -> tuple[str, ...]:
    """LangGraph's own rules, on every operation: a tuple of non-empty ``str`` labels without ``.``,
    the first of which is not ``langgraph``."""
    if not isinstance(namespace, tuple | list) or not namespace:
        raise NamespaceError(f"a {name} is a non-empty tuple of labels, got {namespace!r}")
    for label in namespace:
        if not isinstance(label, str) or not label or "." in label:
            raise NamespaceError(f"{name} labels are non-empty str without '.', got {label!r} in {namespace!r}")
    if namespace[0] == "langgraph":
        raise NamespaceError(f"a {name} may not start with 'langgraph' (LangGraph reserves it): {namespace!r}")
    return tuple(namespace)


@dataclass(frozen=True)
class NamespaceMap:
    """A pattern of namespace labels: literal labels, and ``{user_id}``, ``{agent_id}`` and
    ``{session_id}`` where the scope's ids go.

    ``{user_id}`` is required. ``{agent_id}`` and ``{session_id}`` may only end the pattern,
    and a namespace may stop before them: with the default pattern, ``("memories", "alice")``
    is Alice's own scope and ``("memories", "alice", "planner")`` her agent's. A literal label
    must be given as it is. Each namespace names one scope and each scope one namespace, so
    what the store reads back is filed where it was put.
    """

    pattern: tuple[str, ...] = DEFAULT_PATTERN

    def __post_init__(self) -> None:
        pattern = tuple(self.pattern)
        object.__setattr__(self, "pattern", pattern)
        if pattern.count(USER) != 1 or any(pattern.count(p) > 1 for p in _PLACEHOLDERS):
            raise NamespaceError(f"a namespace pattern names {USER} once (and the others at most once): {pattern!r}")
        optional = pattern[self.required :]
        if any(label in (AGENT, SESSION) for label in pattern[: self.required]) or list(optional) != [
            p for p in (AGENT, SESSION) if p in optional
        ]:
            raise NamespaceError(f"{AGENT} and {SESSION} may only end a namespace pattern, in that order: {pattern!r}")
        check_namespace(tuple(label.strip("{}") for label in pattern), "namespace pattern")

    @property
    def required(self) -> int:
        """How many labels every namespace has: up to the last label that is not an agent or session."""
        return max(i for i, label in enumerate(self.pattern) if label not in (AGENT, SESSION)) + 1

    @property
    def user_position(self) -> int:
        return self.pattern.index(USER)

    def scope_of(self, namespace: Sequence[str]) -> Scope:
        """The scope a namespace names; :class:`NamespaceError` for one the pattern cannot place."""
        namespace = check_namespace(namespace)
        if not self.required <= len(namespace) <= len(self.pattern) or not self._literals_fit(namespace):
            raise NamespaceError(
                f"namespace {namespace!r} does not fit the store's pattern {self.pattern!r}: it is not placed "
                "in any user's memories (configure the store's namespaces= to place it)"
            )
        ids = {label: given for label, given in zip(self.pattern, namespace, strict=False) if label in _PLACEHOLDERS}
        try:
            return Scope.of(ids[USER], ids.get(AGENT), ids.get(SESSION))
        except ValidationError as exc:
            raise NamespaceError(f"namespace {namespace!r}: {exc}") from None

    def _literals_fit(self, labels: tuple[str, ...]) -> bool:
        """Whether the labels, as far as they go, are the pattern's literal labels where it has them."""
        pairs = zip(self.pattern, labels, strict=False)
        return all(label == given for label, given in pairs if label not in _PLACEHOLDERS)

    def namespace_of(self, memory: Memory) -> tuple[str, ...] | None:
        """The namespace of a memory's scope; ``None`` for a scope the pattern has no namespace for
        (a session without an agent, say)."""
        values = {USER: memory.user_id, AGENT: memory.agent_id, SESSION: memory.session_id}
        labels = [values.get(label, label) for label in self.pattern]
        while len(labels) > self.required and labels[-1] is None:
            labels.pop()
        if any(label is None for label in labels):
            return None
        return tuple(str(label) for label in labels)

    def prefix_scope(self, prefix: Sequence[str]) -> tuple[bool, Scope | None]:
        """What a search prefix covers: ``(False, None)`` when no namespace can start with it,
        ``(True, scope)`` for the scope it stays within, ``(True, None)`` when it is shorter than
        the user's label and so crosses users."""
        prefix = tuple(prefix)
        if len(prefix) > len(self.pattern) or not self._literals_fit(prefix):
            return False, None
        if len(prefix) <= self.user_position:
            return True, None
        placed = self.scope_of(prefix + tuple(self.pattern[len(prefix) : self.required]))
        return True, placed
