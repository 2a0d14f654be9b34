"""How users write: traditional characters and English, brought to the simplified Chinese the corpus uses.

Traditional → simplified is OpenCC's ``t2s`` conversion (the maintained converter, not a hand-made table). English
words are read through the lexicon's ``english`` glossary so an English question reaches the NLU and the index with
the document's words; the bot then answers in Chinese with a short bilingual note.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

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
        out = re.sub(rf"(?<![A-Za-z]){re.escape(phrase)}(?:e?s)?(?![A-Za-z])", glossary[phrase], out,
                     flags=re.IGNORECASE)
    return out


def normalize(text: str, glossary: dict[str, str] | None = None) -> str:
    """What the NLU, the actions and the index read: simplified Chinese, English terms in Chinese."""
    text = to_simplified(text)
    if glossary and is_english(text):  # a question in English; not code-like text or a word mixed into Chinese
        text = from_english(text, glossary)
    return text
