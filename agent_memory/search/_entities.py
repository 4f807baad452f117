"""Whom a memory is about, and whom a query asks about: names found by rules, no model.

A memory's **subject** is the person (or thing) it is about, read from how memories are
written:

* a transcript line's speaker: a short label before a colon at its start
  (``"Melanie: I painted a sunset"``; a full-width colon too);
* a leading name: the first word, when it is capitalised and not a common sentence
  opener (``"Alice lives in Porto"``, ``"Caroline's sister ..."``); ``The``, ``I``, ``My``,
  ``Yesterday`` and the like are not names;
* in Chinese, a leading personal name: a common surname and the character after it
  (``"李娜是一名医生"``: 李娜; ``"张小明..."``: 张小, which is enough to tell people apart
  in one user's memories).

The **query's entities** are the subjects of the candidate memories that the query names:
as a capitalised word (a query in lower case names no one, and so changes nothing), or,
for Chinese names, as a substring. When the query names someone, a candidate whose subject
is someone else is about another person ("What does Melanie like?" is not answered by
Caroline's turns): :func:`subject_factors` lowers its score. Memories with no subject, and
queries that name no subject, are left alone, so a store whose memories all name the user
ranks exactly as without this signal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["query_subjects", "speaker", "split_speaker", "subject", "subject_factors"]

_LABEL = re.compile(r"^\s*([^\s:：][^:：\n]{0,30}?)\s*[:：]")
_LEADING = re.compile(r"^\W*([A-Z][\w-]*)(?:['’]s)?\b")
_CAPITALISED = re.compile(r"\b([A-Z][\w-]*)")
_HAN = re.compile(r"^\s*([\u4e00-\u9fff]{3})")
_IS_HAN = re.compile(r"[\u4e00-\u9fff]")
_OPENERS = frozenset(
    {
        "a",
        "about",
        "after",
        "all",
        "also",
        "an",
        "and",
        "any",
        "as",
        "at",
        "because",
        "before",
        "both",
        "but",
        "by",
        "can",
        "could",
        "dear",
        "did",
        "do",
        "does",
        "during",
        "each",
        "even",
        "every",
        "few",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "here",
        "hers",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "just",
        "last",
        "let",
        "many",
        "may",
        "me",
        "might",
        "more",
        "most",
        "my",
        "next",
        "no",
        "not",
        "now",
        "of",
        "oh",
        "ok",
        "okay",
        "on",
        "once",
        "one",
        "only",
        "or",
        "our",
        "over",
        "please",
        "she",
        "since",
        "so",
        "some",
        "still",
        "such",
        "than",
        "thanks",
        "thank",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "though",
        "thus",
        "to",
        "today",
        "tomorrow",
        "too",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "very",
        "was",
        "we",
        "well",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "would",
        "yes",
        "yeah",
        "yesterday",
        "yet",
        "you",
        "your",
        "hey",
        "hi",
        "hello",
        "wow",
        "sure",
        "great",
        "nice",
        "cool",
        "awesome",
        "sorry",
        "user",
        "users",
    }
)
# The most common Chinese surnames (two-character ones first); a name is the surname and one or two characters.
_SURNAMES_2 = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐")
_SURNAMES_1 = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方邹熊孟秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温"
    "康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴"
    "霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄"
    "窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池"
    "乐匡钮"
)


def split_speaker(text: str) -> tuple[str | None, str]:
    """A transcript line's speaker, lower-cased, and what was said; ``(None, text)`` for any other text."""
    label = _LABEL.match(text)
    if label is None or len(label.group(1).split()) > 3:
        return None, text
    return label.group(1).strip().casefold(), text[label.end() :]


def speaker(text: str) -> str | None:
    """The speaker of a transcript line (``"Melanie: ..."``), lower-cased; ``None`` for any other text."""
    return split_speaker(text)[0]


def subject(text: str) -> str | None:
    """Whom ``text`` is about, lower-cased (see the module's docstring); ``None`` when it names no one first."""
    said = speaker(text)
    if said is not None:
        return said
    leading = _LEADING.match(text)
    if leading:
        word = leading.group(1).casefold()
        return None if word in _OPENERS else word
    han = _HAN.match(text)
    if han:
        run = han.group(1)
        if run[:2] in _SURNAMES_2:
            return run
        if run[0] in _SURNAMES_1:
            return run[:2]
    return None


def query_subjects(query: str, subjects: Sequence[str | None]) -> set[str]:
    """The subjects among ``subjects`` that ``query`` names: as a capitalised word (or words), or,
    for a Chinese name, anywhere in it."""
    words = {w.casefold() for w in _CAPITALISED.findall(query)}
    lowered = query.casefold()
    named = set()
    for found in {s for s in subjects if s is not None}:
        if found in words or (" " in found and found in lowered) or (_IS_HAN.match(found) and found in query):
            named.add(found)
    return named


def subject_factors(query: str, texts: Sequence[str], weight: float) -> NDArray[np.float64]:
    """Per text, ``1 - weight`` when the query names a subject of these texts and the text's own
    subject is someone else; 1 otherwise."""
    subjects = [subject(t) for t in texts]
    named = query_subjects(query, subjects)
    factors = np.ones(len(texts))
    if named and weight:
        other = [s is not None and s not in named for s in subjects]
        factors[np.asarray(other, dtype=bool)] = 1.0 - weight
    return factors
