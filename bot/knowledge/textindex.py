"""Chinese document index: jieba tokenisation with the policy lexicon, synonym expansion, BM25.

Passages and their tokens live in the store (built by ``ingest``), so every action server and every
machine searches the same index; :class:`DocumentIndex` only builds the BM25 weights in memory from
them, which takes milliseconds for a few hundred passages.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Iterable

import jieba
from rank_bm25 import BM25Okapi

from bot.knowledge.writing import to_simplified

log = logging.getLogger(__name__)

STOPWORDS = frozenset(
    """的 了 吗 呢 啊 吧 么 呀 嘛 哦 哈 喔 是 在 和 与 及 或 对 把 被 给 让 从 向 到 为 以 等 之 其 这 那 这个 那个 哪个 哪些
    个 些 有 没有 有没有 什么 啥 怎么 怎么样 怎样 如何 多少 吗 我 我们 咱们 你 你们 您 他 她 它 他们 公司 单位 能 能不能 可以 可不可以
    要 想 想要 需要 请问 请 一下 了解 知道 问 问问 咨询 政策 措施 方面 相关 关于 有关 哪 谁 也 都 就 还 又 再 很 太 更 最 不 没
    会 该 应该 得 地 着 过 吧 一 一个 能否 是否 呗 哪里 如果 然后 还是 或者 因为 所以 但是 就是 现在 目前 今年 那么 这么 怎
    支持 扶持 补贴 补助 资助 奖励 申请 申报 报 拿 能报 能拿 可申请 办法 不 没 行 给 搞 做 弄 挺 特别 比较 一些 东西 事 事情""".split()
)
_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff]")


_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


def char_bigrams(text: str) -> list[str]:
    """Character bigrams of the Chinese runs, as "#ab": robust to typos and segmentation differences."""
    out = []
    for run in _CJK_RUN.findall(text):
        out.extend(f"#{run[i:i + 2]}" for i in range(len(run) - 1))
    return [b for b in out if b[1:] not in STOPWORDS]


@dataclass(frozen=True)
class SearchHit:
    section_id: str
    citation: str
    title: str
    text: str
    score: float

    def as_dict(self) -> dict[str, object]:
        return {
            "section_id": self.section_id,
            "citation": self.citation,
            "title": self.title,
            "text": self.text,
            "score": round(self.score, 4),
        }


class Tokenizer:
    """jieba with the policy terms as a user dictionary, plus synonym expansion for queries."""

    def __init__(self, terms: Iterable[str] = (), synonyms: Iterable[tuple[str, str]] = ()) -> None:
        self._jieba = jieba.Tokenizer()
        self._synonyms: dict[str, set[str]] = {}
        words = set(terms)
        for surface, canonical in synonyms:
            self._synonyms.setdefault(surface.lower(), set()).add(canonical)
            words.update((surface, canonical))
        for word in sorted(words):
            if len(word) > 1:
                self._jieba.add_word(word, freq=2000)
        # Longest first, so "风投基金" is seen before "风投".
        self._surfaces = sorted(self._synonyms, key=len, reverse=True)

    def words(self, text: str) -> list[str]:
        """Content words of a text, lower-cased, without stop words and punctuation."""
        out = []
        for token in self._jieba.lcut(text.lower()):
            token = token.strip()
            if token and token not in STOPWORDS and _TOKEN_OK.search(token):
                out.append(token)
        return out

    def index_tokens(self, text: str) -> list[str]:
        return self.words(text) + char_bigrams(text)

    def query_tokens(self, query: str) -> list[str]:
        """The query's words plus the document's words for any user term found in it.

        A question made only of common words ("谁可以申请") keeps them: every question gets its best passages.
        """
        query = to_simplified(query)
        tokens = self.words(query) + char_bigrams(query)
        if not tokens:
            tokens = [t for t in (w.strip() for w in self._jieba.lcut(query.lower())) if _TOKEN_OK.search(t)]
            tokens += [f"#{run[i:i + 2]}" for run in _CJK_RUN.findall(query) for i in range(len(run) - 1)]
        lowered = query.lower()
        for surface in self._surfaces:
            if surface in lowered:
                for canonical in sorted(self._synonyms[surface]):
                    tokens.extend(self.words(canonical))
                lowered = lowered.replace(surface, " ")
        return tokens


@dataclass(frozen=True)
class IndexedPassage:
    section_id: str
    citation: str
    title: str
    text: str
    tokens: list[str]


class DocumentIndex:
    """BM25 over passages; results are deduplicated per section (its best passage)."""

    def __init__(self, passages: list[IndexedPassage], tokenizer: Tokenizer) -> None:
        self._passages = passages
        self._tokenizer = tokenizer
        self._bm25 = BM25Okapi([p.tokens or ["∅"] for p in passages]) if passages else None

    def __len__(self) -> int:
        return len(self._passages)

    def text_by_document(self) -> dict[str, str]:
        """Each document's passages, titles and texts joined, lower-cased; a section id starts with its
        document's id."""
        out: dict[str, list[str]] = {}
        for p in self._passages:
            out.setdefault(p.section_id.split("/", 1)[0], []).append(f"{p.title} {p.text}".lower())
        return {doc: "\n".join(parts) for doc, parts in out.items()}

    def search(self, query: str, top: int = 5) -> list[SearchHit]:
        """The best passages (one per section) with their BM25 scores, best first — every passage that shares a word
        with the question, weak ones too: the caller decides what is good enough (see :mod:`relevance`)."""
        if self._bm25 is None:
            return []
        tokens = self._tokenizer.query_tokens(query)
        if not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        ranked = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)
        hits: list[SearchHit] = []
        seen: set[str] = set()
        for i in ranked:
            if scores[i] <= 0 or len(hits) >= top:
                break
            p = self._passages[i]
            if p.section_id in seen:
                continue
            seen.add(p.section_id)
            hits.append(SearchHit(p.section_id, p.citation, p.title, p.text, float(scores[i])))
        return hits
