"""Lexical matching: a tokenizer for English and CJK text, and a BM25 index that is updated in place.

English words are lower-cased, stopwords dropped, irregular past forms made base forms
("bought" is "buy", :mod:`agent_memory.search._lemmas`) and Snowball-stemmed ("hospitals"
matches "hospital"). Han, Kana and Hangul have no spaces between words, so a run of
them becomes overlapping character bigrams ("我喜欢喝咖啡" gives 我喜, 喜欢, 欢喝, 喝咖,
咖啡), the usual CJK approach of search engines: "咖啡" in a question then matches the
memory. A lone CJK character stays a token of its own.

Scores are BM25 (Lucene's idf; ``k1=0.9``, ``b=0.4``, Anserini's defaults, which suit
short texts better than ``b=0.75``) divided by what a memory of
average length holding each of the query's distinct terms once would score (the sum of
their idfs, where a term no memory contains counts with the largest idf), capped at 1.
So a score is in [0, 1], does not depend on the other memories' scores, and stays small
when only common words (the user's name, present in every memory) match while the
query's rare words do not.
"""

from __future__ import annotations

import math
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from agent_memory.search._lemmas import IRREGULAR

__all__ = ["LexicalIndex", "tokenize"]

K1 = 0.9
B = 0.4

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_]+")
_IS_CJK = re.compile(rf"[{_CJK}]")


@lru_cache(maxsize=1)
def _english() -> tuple[frozenset[str], object]:
    import Stemmer
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN), Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    stemmer = _english()[1]
    return str(stemmer.stemWord(word))  # type: ignore[attr-defined]


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def tokenize(text: str) -> list[str]:
    """The terms of ``text``: stemmed English words without stopwords, and CJK character bigrams."""
    stopwords = _english()[0]
    terms: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        word = match.group()
        if _IS_CJK.match(word):
            terms += _bigrams(word)
        elif word not in stopwords and (len(word) > 1 or word.isdigit()):
            terms.append(_stem(IRREGULAR.get(word, word)))  # "bought" is "buy"
    return terms


class LexicalIndex:
    """BM25 over documents in numbered slots, added and removed one at a time.

    Removing a document frees nothing in the postings (a removed slot is only marked
    dead), so the index is rebuilt by its owner when dead slots pile up; see
    :attr:`dead`. Not thread-safe: its owner locks.
    """

    def __init__(self) -> None:
        self._terms: dict[str, int] = {}
        self._postings: list[tuple[array[int], array[int]]] = []  # per term id: slots, frequencies
        self._df: list[int] = []
        self._doc_terms: list[array[int] | None] = []  # per slot: its distinct term ids (None: dead)
        self._lengths = np.zeros(64)
        self._alive = np.zeros(64, dtype=bool)
        self._total_length = 0
        self._bytes = 0
        self.live = 0
        self.dead = 0

    def alive(self, slots: int) -> NDArray[np.bool_]:
        """Which of the first ``slots`` slots hold a live document."""
        return self._alive[:slots]

    @property
    def slots(self) -> int:
        return len(self._doc_terms)

    def _grow(self) -> None:
        if self.slots == len(self._alive):
            self._lengths = np.concatenate([self._lengths, np.zeros_like(self._lengths)])
            self._alive = np.concatenate([self._alive, np.zeros_like(self._alive)])

    def add(self, terms: Sequence[str]) -> int:
        """Index a document's terms in a new slot; returns the slot."""
        self._grow()
        slot = len(self._doc_terms)
        counts = Counter(terms)
        ids = array("i")
        for term, count in counts.items():
            term_id = self._term_id(term)
            slots, freqs = self._postings[term_id]
            slots.append(slot)
            freqs.append(count)
            self._df[term_id] += 1
            ids.append(term_id)
        self._doc_terms.append(ids)
        self._lengths[slot], self._alive[slot] = len(terms), True
        self._total_length += len(terms)
        self._bytes += 80 + 12 * len(ids)  # the slot's term-id array and its two postings entries
        self.live += 1
        return slot

    def remove(self, slot: int) -> None:
        """Take a slot's document out of the statistics and every future score."""
        ids = self._doc_terms[slot]
        if ids is None:
            return
        for term_id in ids:
            self._df[term_id] -= 1
        self._doc_terms[slot], self._alive[slot] = None, False
        self._total_length -= int(self._lengths[slot])
        self.live -= 1
        self.dead += 1

    def _term_id(self, term: str) -> int:
        term_id = self._terms.get(term)
        if term_id is None:
            term_id = self._terms[term] = len(self._df)
            self._postings.append((array("i"), array("i")))
            self._df.append(0)
            self._bytes += 250 + len(term)  # dict entry, two arrays, the string
        return term_id

    @staticmethod
    def _idf(df: int, documents: int) -> float:
        return math.log(1.0 + (documents - df + 0.5) / (df + 0.5))

    def scores(
        self, terms: Iterable[str], visible: NDArray[np.bool_] | None = None
    ) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """``(slots, scores)`` of the live documents sharing a term with the query; scores in (0, 1].

        With ``visible`` (a mask over slots), only those documents are scored, and the statistics
        (how many documents hold each term, their average length) come from them alone: a score
        then says nothing about the documents the caller cannot see.
        """
        distinct = set(terms)
        alive = self._alive[: self.slots] if visible is None else self._alive[: self.slots] & visible[: self.slots]
        documents = self.live if visible is None else int(alive.sum())
        if not distinct or not documents:
            return np.zeros(0, dtype=np.intp), np.zeros(0)
        lengths = self._lengths[: self.slots]
        average = self._total_length / self.live if visible is None else float(lengths[alive].sum()) / documents
        norm = K1 * (1.0 - B + B * lengths / max(average, 1e-9))
        total, ceiling = np.zeros(self.slots), 0.0
        for term in distinct:
            slots, freqs, df = self._postings_of(term, None if visible is None else alive)
            idf = self._idf(df, documents)
            ceiling += idf
            if df:
                total[slots] += idf * freqs * (K1 + 1.0) / (freqs + norm[slots])
        found = np.flatnonzero((total > 0) & alive)
        return found, np.minimum(total[found] / ceiling, 1.0)

    def _postings_of(
        self, term: str, among: NDArray[np.bool_] | None
    ) -> tuple[NDArray[np.int32], NDArray[np.float64], int]:
        """A term's slots and frequencies (only those ``among`` marks, if given), and how many live
        documents of those hold it."""
        term_id = self._terms.get(term)
        if term_id is None:
            return np.zeros(0, dtype=np.int32), np.zeros(0), 0
        slots = np.frombuffer(self._postings[term_id][0], dtype=np.int32)
        freqs = np.frombuffer(self._postings[term_id][1], dtype=np.int32).astype(np.float64)
        if among is None:
            return slots, freqs, self._df[term_id]
        kept = among[slots]
        return slots[kept], freqs[kept], int(kept.sum())

    def nbytes(self) -> int:
        """About how much memory the index holds: postings, per-slot arrays, the vocabulary."""
        return self._bytes + self._lengths.nbytes + self._alive.nbytes
