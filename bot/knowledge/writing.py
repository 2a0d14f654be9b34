"""How users write: traditional characters, English and typos, brought to the simplified Chinese the corpus uses.

Traditional → simplified is OpenCC's ``t2s`` conversion (the maintained converter, not a hand-made table). English
words are read through the lexicon's ``english`` glossary so an English question reaches the NLU and the index with
the document's words; the bot then answers in Chinese with a short bilingual note. A known term typed with one
character that sounds alike (中观村, 创新劵 — pinyin input slips) is repaired (:class:`TypoRepair`, over the readings table in
:mod:`bot.knowledge.sounds`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from bot.knowledge.sounds import common_chars, slips, sound_alike

_LATIN = re.compile(r"[A-Za-z]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_lock = threading.Lock()

ENGLISH_NOTE = "（本助手用中文解答 / This assistant answers in Chinese.）"


@lru_cache(maxsize=1)
def _converter() -> Any:
    import opencc  # imported on first use: nothing is loaded at import time

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional characters (繁體、臺灣、香港 forms) → simplified; everything else (punctuation included) unchanged."""
    if not text or not _CJK.search(text):
        return text
    with _lock:  # one converter object, used from worker threads
        return _CJK_RUN.sub(lambda m: str(_converter().convert(m.group(0))), text)


def is_english(text: str) -> bool:
    """Written mostly in English (letters outnumber Chinese characters three to one, two words or more)."""
    letters = len(_LATIN.findall(text))
    return letters >= 6 and letters >= 3 * len(_CJK.findall(text)) and len(re.findall(r"[A-Za-z]+", text)) >= 2


def from_english(text: str, glossary: dict[str, str]) -> str:
    """Replace the glossary's English words and phrases (longest first, whole words) with their Chinese words."""
    out = text
    for phrase in sorted(glossary, key=len, reverse=True):
        # plurals too: incubators, businesses, companies
        body = (re.escape(phrase[:-1]) + "(?:y|ies)" if phrase.endswith("y") and phrase[-2:-1] not in "aeiou"
                else re.escape(phrase) + "(?:e?s)?")
        out = re.sub(rf"(?<![A-Za-z]){body}(?![A-Za-z])", glossary[phrase], out, flags=re.IGNORECASE)
    return out


class TypoRepair:
    """Known terms of three characters or more typed with one wrong character that sounds alike.

    Only a substitution is repaired, only into a term the lexicon knows, and only when the typed string is no
    known term itself: "中观村" → "中关村", "创新劵" → "创新券"; "北京的" stays (的 does not sound like 市).
    """

    def __init__(self, terms: Iterable[str]) -> None:
        words = {t for t in terms if _CJK_RUN.fullmatch(t)}
        self.words = words  # every known word, two characters too (企业, 公司)
        self.terms = {t for t in words if len(t) >= 3}
        self._masked: dict[str, list[tuple[str, int]]] = {}
        for term in self.terms:
            for i in range(len(term)):
                self._masked.setdefault(term[:i] + "?" + term[i + 1:], []).append((term, i))
        self._lengths = sorted({len(t) for t in self.terms}, reverse=True)

    def repair(self, text: str) -> str:
        if not self.terms or not _CJK.search(text):
            return text
        chars = list(text)
        i = 0
        while i < len(chars):
            fixed = 0
            for n in self._lengths:
                window = "".join(chars[i:i + n])
                if len(window) < n or window in self.terms or not _CJK_RUN.fullmatch(window):
                    continue
                fixed = self._fix(chars, i, window)
                if fixed:
                    break
            i += fixed or 1
        return self._repair_slips("".join(chars))

    @staticmethod
    def _repair_slips(text: str) -> str:
        """Homophone slips in the two-character words users type most: "我门公司…注测在…能申清不"."""
        table = slips()
        out, i = [], 0
        while i < len(text):
            word = table.get(text[i:i + 2])
            out.append(word or text[i])
            i += 2 if word else 1
        return "".join(out)

    def _fix(self, chars: list[str], start: int, window: str) -> int:
        for j, typed in enumerate(window):
            for term, k in self._masked.get(window[:j] + "?" + window[j + 1:], []):
                if k == j and sound_alike(typed, term[k]) and not self._reads_as_written(window, j):
                    chars[start + j] = term[k]
                    return len(term)
        return 0


    def _reads_as_written(self, window: str, j: int) -> bool:
        """The typed window reads well as it is: a common one-character word at its edge beside a known word
        ("交" + "企业" in 要交企业所得税), not a slip for 小企业. A rare character there (创新劵) is still a slip."""
        if j not in (0, len(window) - 1) or window[j] not in common_chars():
            return False
        return (window[1:] if j == 0 else window[:-1]) in self.words


def expand_abbreviations(text: str, abbreviations: dict[str, str]) -> str:
    """Pinyin initials users type inside Chinese ("我们是gxqy 注册地zgc"): whole Latin tokens only."""
    if not abbreviations or not _LATIN.search(text):
        return text
    return re.sub(r"(?<![A-Za-z])[A-Za-z]{2,6}(?![A-Za-z])",
                  lambda m: abbreviations.get(m.group(0).lower(), m.group(0)), text)


_SPACED = re.compile(r"^(?:[\u4e00-\u9fff][ \u3000]+){3,}[\u4e00-\u9fff]?")


def from_dialect(text: str, dialect: dict[str, str]) -> str:
    """Written Cantonese words (冇, 唔, 喺, 我哋 …) in their Mandarin form, longest first, from the lexicon's table."""
    for word in sorted((w for w in dialect if w in text), key=len, reverse=True):
        text = text.replace(word, dialect[word])
    return text


def unspace(text: str) -> str:
    """"首 都 科 技 创 新 券 在 哪 条 里": characters typed one by one with spaces between them, joined again."""
    if not _SPACED.match(text):
        return text
    return re.sub(r"(?<=[\u4e00-\u9fff])[ \u3000]+(?=[\u4e00-\u9fff])", "", text)


def normalize(text: str, glossary: dict[str, str] | None = None, typos: TypoRepair | None = None,
              abbreviations: dict[str, str] | None = None, dialect: dict[str, str] | None = None) -> str:
    """What the NLU, the actions and the index read: simplified Chinese, written Cantonese in Mandarin, English
    terms in Chinese, pinyin initials spelled out, typos repaired."""
    text = unspace(to_simplified(text))
    if dialect:
        text = from_dialect(text, dialect)
    if glossary and is_english(text):  # a question in English
        text = from_english(text, glossary)
    elif _LATIN.search(text):  # Chinese with pinyin initials or English words in it: "我们是startup 想apply"
        text = expand_abbreviations(text, abbreviations or {})
        text = from_english(text, glossary or {})
    if typos is not None:
        text = typos.repair(text)
    return text
