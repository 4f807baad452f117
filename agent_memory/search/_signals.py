"""The default search's signals beyond words and vectors, each optional (``signals=``).

Applied to the hybrid search's candidates, each by a fixed rule, none relative to the other
results, so the fused score stays in [0, 1] and means the same thing whatever else was found:

* ``hubness``: some memories are close to every query about their user (short, general
  ones: "Daniel grew up in Hamburg"); they crowd out the memory that answers. A memory's
  cosine similarity is lowered by ``HUBNESS`` times how much closer it lies to the user's
  average memory than the user's memories do on average: ``cos(q, d) - HUBNESS * (cos(d, c) -
  mean cos(d', c))``, ``c`` the direction of the mean of the user's memory vectors (read
  from the store, up to :data:`CENTROID_SAMPLE` of the newest, and read again when the
  user's count has moved by a fifth). This replaces the cosine in the fusion; ``similarity``
  stays the plain cosine.
* ``content``: in a transcript, a line with few words of content next to the user's typical
  line ("Caroline: Thanks, Mel!", "Caroline: Cool! What did it look like?") rarely answers
  anything. The score of a memory written as a transcript line (``"Name: text"``) is
  multiplied by ``1 - CONTENT * exp(-terms / (CONTENT_SCALE * mean terms))``, its terms
  counted as BM25 counts them (stopwords out) outside the questions it asks (a question
  states nothing), the mean over the user's transcript lines. Other memories (facts, which
  are concise by design) are left alone.
* ``subject``: when the query names a person whom some candidates are about, a candidate
  about someone else loses ``SUBJECT`` of its score (see :mod:`agent_memory.search._entities`).

The weights were chosen on the tuning half of every store shape (``benchmarks/tune_search.py``)
and are reported on the other half (``docs/performance.md``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agent_memory._errors import InvalidTypeError, ValidationError
from agent_memory._options import SIGNALS
from agent_memory.search._entities import split_speaker
from agent_memory.search._lexical import tokenize

__all__ = [
    "CENTROID_SAMPLE",
    "DEFAULT_SIGNALS",
    "SIGNALS",
    "Centroid",
    "SignalWeights",
    "check_signals",
    "content_factors",
    "content_terms",
    "hubness_adjusted",
    "stale",
]

DEFAULT_SIGNALS = frozenset(SIGNALS)
"""What ``search_memory`` applies unless ``signals=`` says otherwise: all of them."""
CENTROID_SAMPLE = 1000
"""Newest memory vectors of a user read to estimate the direction of the user's average memory."""


@dataclass(frozen=True)
class SignalWeights:
    """How much each signal can take from a score (see the module's docstring)."""

    hubness: float = 0.2
    content: float = 0.3
    content_scale: float = 0.35
    subject: float = 0.1


def check_signals(signals: object) -> frozenset[str]:
    """``signals=``: ``None`` for the default, else an iterable of names from :data:`SIGNALS`."""
    if signals is None:
        return DEFAULT_SIGNALS
    if isinstance(signals, str | bytes) or not isinstance(signals, Iterable):
        raise InvalidTypeError(f"signals must be a list of names from {', '.join(SIGNALS)}, got {signals!r}")
    names = list(itertools.islice(signals, len(SIGNALS) * 4 + 1))
    if len(names) > len(SIGNALS) * 4:
        raise ValidationError(f"signals names at most the {len(SIGNALS)} signals: {', '.join(SIGNALS)}")
    unknown = [n for n in names if n not in SIGNALS]
    if unknown:
        raise ValidationError(f"unknown search signal(s) {unknown!r}: expected names from {', '.join(SIGNALS)}")
    return frozenset(names)


@dataclass(frozen=True)
class Centroid:
    """The direction of a user's average memory vector, the mean cosine of the user's memories to it,
    and how many memories the user had when it was read."""

    direction: NDArray[np.float32]
    mean_cosine: float
    count: int

    @classmethod
    def of(cls, vectors: NDArray[np.float32], count: int) -> Centroid | None:
        """From a sample of the user's vectors; ``None`` when there is none."""
        if not len(vectors):
            return None
        mean = vectors.astype(np.float64).mean(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm == 0.0:
            return None
        return cls((mean / norm).astype(np.float32), norm, count)


def stale(centroid: Centroid | None, count: int) -> bool:
    """Whether a user's centroid should be read again: none yet, or the user's count moved by a fifth."""
    return centroid is None or abs(count - centroid.count) > 0.2 * centroid.count


def hubness_adjusted(
    similarity: NDArray[np.float64], vectors: Sequence[NDArray[Any] | None], centroid: Centroid | None, weight: float
) -> NDArray[np.float64]:
    """``similarity`` lowered for memories nearer the user's average memory than usual (raised for those
    farther). ``vectors`` are the memories' vectors, in the same order (``None`` for one not known:
    left as it is)."""
    if centroid is None or not weight or not len(similarity):
        return similarity
    direction = centroid.direction.astype(np.float64)
    typical = np.array([centroid.mean_cosine if v is None else float(v @ direction) for v in vectors])
    adjusted: NDArray[np.float64] = similarity - weight * (typical - centroid.mean_cosine)
    return adjusted


_QUESTION = re.compile(r"[^.!?。！？\n]*[?？]")


def content_terms(text: str, terms: Sequence[str]) -> int | None:
    """How many of ``text``'s ``terms`` (its BM25 terms) are content, those outside its questions,
    when ``text`` is a transcript line; ``None`` for any other memory."""
    name, said = split_speaker(text)
    if name is None:
        return None
    if "?" not in said and "？" not in said:
        return len(terms)
    return len(tokenize(name)) + len(tokenize(_QUESTION.sub(" ", said)))  # the speaker counts, the questions not


def content_factors(terms: NDArray[np.float64], mean_terms: float, weights: SignalWeights) -> NDArray[np.float64]:
    """Per memory, ``1 - CONTENT * exp(-terms / (CONTENT_SCALE * mean_terms))``; 1 where ``terms`` is
    NaN (not a transcript line)."""
    if not weights.content or mean_terms <= 0:
        return np.ones(len(terms))
    factors = 1.0 - weights.content * np.exp(-terms / (weights.content_scale * mean_terms))
    found: NDArray[np.float64] = np.where(np.isnan(terms), 1.0, factors)
    return found
