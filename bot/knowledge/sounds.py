"""Which characters sound alike: the table :class:`bot.knowledge.writing.TypoRepair` reads.

Pinyin input slips put a character of the same (or a confusable) reading in place of the right one: 中观村 for
中关村, 创新劵 for 创新券. pypinyin knows every character's readings, but importing it loads its phrase dictionary
(60 MB in each process that repairs typos). The few readings the repair needs are small, so they are written once
to ``sounds.txt`` beside this module — one line per reading, toneless, with the initials and finals pinyin input
confuses merged (z/zh, j/q/x, n/l, an/ang …), then every character of the CJK Unified Ideographs block that has it —
and read at run time (about 2 MB). ``tests/knowledge/test_sounds.py`` checks the table against pypinyin.

``common_chars.txt`` lists the characters common as a word of their own (jieba's dictionary), so a repair does not
turn "要交企业所得税" into "要小企业所得税": 交 is a word, and 企业 a known one.

``slips.txt`` maps slips in the two-character words users type most (我门 → 我们, 申清 → 申请), leaving out every
slip that is a word of its own in jieba's dictionary (高薪, 公式).

Regenerate after a pypinyin or jieba upgrade or a change to the merging rules: ``python -m bot.knowledge.sounds``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("sounds.txt")
#: characters common as a word of their own (jieba's dictionary, frequency ≥ COMMON_FREQUENCY): "交" in 要交企业所得税
COMMON = Path(__file__).with_name("common_chars.txt")
COMMON_FREQUENCY = 1000
BLOCK = range(0x4E00, 0xA000)  # CJK Unified Ideographs: the characters pinyin input produces

#: initials and finals pinyin input confuses (z/zh, j/q/x, n/l, an/ang …): 劵 juan ~ 券 quan
_MERGE = [(re.compile(r"^(zh|ch|sh)"), lambda m: m.group(1)[0]), (re.compile(r"^[qx]"), lambda m: "j"),
          (re.compile(r"^l"), lambda m: "n"), (re.compile(r"(an|en|in)g$"), lambda m: m.group(1))]


def merged(reading: str) -> str:
    """One toneless reading with the confusable initials and finals merged: zhuang → zuan, qing → jin."""
    for pattern, repl in _MERGE:
        reading = pattern.sub(repl, reading)
    return reading


def build_table() -> str:
    """The table's text, computed with pypinyin (a build-time dependency: only this function imports it)."""
    from pypinyin import Style, pinyin
    from pypinyin.pinyin_dict import pinyin_dict

    groups: dict[str, list[str]] = {}
    for code in BLOCK:
        if code not in pinyin_dict:
            continue
        char = chr(code)
        for reading in dict.fromkeys(merged(r) for r in pinyin(char, style=Style.NORMAL, heteronym=True)[0]):
            groups.setdefault(reading, []).append(char)
    return "".join(f"{reading}\t{''.join(chars)}\n" for reading, chars in sorted(groups.items()))


#: two-character words users type in nearly every question; a homophone slip in them (我门, 注测, 申清) is repaired
#: when the typed pair is no word of its own (jieba's dictionary): 高薪, 公式 and 企图 stay as typed
CORE_WORDS = ("我们", "注册", "申请", "申报", "资质", "企业", "公司", "材料", "补贴", "政策", "资金", "条件", "证书",
              "高新", "专利", "园区", "认定", "支持", "措施", "文件")
SLIPS = Path(__file__).with_name("slips.txt")


def build_slips() -> str:
    """typed pair → core word, for every homophone slip (the same toneless reading, a common character) that is not
    itself a word in jieba's dictionary (build time: pypinyin and jieba)."""
    import jieba
    from pypinyin import Style, pinyin

    path = Path(jieba.__file__).with_name("dict.txt")
    words = {line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    common = sorted(set(build_common().strip()))

    def exact(char: str) -> set[str]:
        return set(pinyin(char, style=Style.NORMAL, heteronym=True)[0])

    by_reading: dict[str, set[str]] = {}
    for char in common:
        for r in exact(char):
            by_reading.setdefault(r, set()).add(char)
    out: dict[str, str] = {}
    for word in CORE_WORDS:
        for i, char in enumerate(word):
            for alike in sorted(set().union(*(by_reading.get(r, set()) for r in exact(char))) - {char}):
                typed = word[:i] + alike + word[i + 1:]
                if typed not in words and typed not in CORE_WORDS:
                    out.setdefault(typed, word)
    return "".join(f"{typed}\t{word}\n" for typed, word in sorted(out.items()))


@lru_cache(maxsize=1)
def slips() -> dict[str, str]:
    return dict(line.split("\t") for line in SLIPS.read_text(encoding="utf-8").splitlines() if line)


def build_common() -> str:
    """The common single-character words, from jieba's dictionary (a build-time read of its dict.txt)."""
    import jieba

    path = Path(jieba.__file__).with_name("dict.txt")
    chars = []
    for line in path.read_text(encoding="utf-8").splitlines():
        word, freq, *_ = line.split()
        if len(word) == 1 and ord(word) in BLOCK and int(freq) >= COMMON_FREQUENCY:
            chars.append(word)
    return "".join(sorted(set(chars))) + "\n"


@lru_cache(maxsize=1)
def common_chars() -> frozenset[str]:
    return frozenset(COMMON.read_text(encoding="utf-8").strip())


@lru_cache(maxsize=1)
def readings() -> dict[str, tuple[str, ...]]:
    """Each character's merged readings, from the table (loaded on first use, once per process)."""
    out: dict[str, tuple[str, ...]] = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        reading, _, chars = line.partition("\t")
        reading = reading.strip()
        for char in chars:
            out[char] = (*out.get(char, ()), reading)
    return out


def sound_alike(a: str, b: str) -> bool:
    """Two characters share a reading (after merging); a character the table does not know sounds like nothing."""
    table = readings()
    return not set(table.get(a, ())).isdisjoint(table.get(b, ()))


if __name__ == "__main__":
    TABLE.write_text(build_table(), encoding="utf-8")
    COMMON.write_text(build_common(), encoding="utf-8")
    SLIPS.write_text(build_slips(), encoding="utf-8")
    print(f"wrote {TABLE} ({len(readings.__wrapped__())} characters) and {COMMON} "
          f"({len(common_chars.__wrapped__())} common characters)")
