"""From the user's words to the store's records: a measure or fund by reference, the fund and measures that fit a
need, and the documents a message names (by 文号, title, short name, alias or fund name — repealed ones too)."""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.knowledge.parser import canonical
from bot.knowledge.records import DocumentInfo, FundInfo, MeasureInfo, NeedMatch
from bot.knowledge.textindex import DocumentIndex, Tokenizer

CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def cn_to_int(text: str) -> int | None:
    """"5", "五", "十二", "二十" → int."""
    if text.isdigit():
        return int(text)
    if not text or any(ch not in CN_DIGITS and ch != "十" for ch in text):
        return None
    if "十" not in text:
        return CN_DIGITS[text] if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    return (CN_DIGITS.get(tens, 0) if tens else 1) * 10 + (CN_DIGITS.get(ones, 0) if ones else 0)


_N = r"([0-9]{1,2}|[一二两三四五六七八九十]{1,3})"
_MEASURE_REFS = [re.compile(p) for p in (
    rf"(?:第|措施|条款)\s*{_N}", rf"{_N}\s*(?:条|项|款|号措施|号)",
)]


def parse_measure_number(text: str) -> int | None:
    """"第5条", "措施五", "第十二项", "5号措施", "条款7", "5" → the number."""
    text = text.strip()
    for pattern in _MEASURE_REFS:
        if m_ := pattern.search(text):
            return cn_to_int(m_.group(1))
    if re.fullmatch(_N, text):
        return cn_to_int(text)
    return None


def find_fund(funds: list[FundInfo], ref: str) -> FundInfo | None:
    """A fund by code, short name, alias, full name, or a text that mentions one of them."""
    ref_c = canonical(ref)
    for f in funds:
        if ref_c in {canonical(x) for x in (f.code, f.short_name, f.name, *f.aliases)}:
            return f
    best: tuple[int, FundInfo] | None = None
    for f in funds:
        for name in (f.short_name, *f.aliases):
            n = canonical(name)
            if n and (n in ref_c or (len(ref_c) >= 2 and ref_c in canonical(f.name))):
                if best is None or len(n) > best[0]:
                    best = (len(n), f)
    return best[1] if best else None


def find_measure(measures: list[MeasureInfo], ref: str | int) -> MeasureInfo | None:
    """A measure by number ("第5条", "措施五", 5) or by (part of) its title."""
    number = ref if isinstance(ref, int) else parse_measure_number(str(ref))
    if number is not None:
        return next((x for x in measures if x.number == number), None)
    ref_c = canonical(str(ref))
    if len(ref_c) < 2:
        return None
    for x in measures:
        if ref_c in canonical(x.title) or canonical(x.title) in ref_c:
            return x
    return None


def measures_naming(measures: list[MeasureInfo], kinds: list[str]) -> list[tuple[MeasureInfo, list[str]]]:
    """The measures that name one of these kinds of applicant, each with the words that name it."""
    out = []
    for x in measures:
        quotes = list(dict.fromkeys(w["quote"] for w in x.supports if w.get("kind") in kinds))
        if quotes:
            out.append((x, quotes))
    return out


def match_need(text: str, measures_list: list[MeasureInfo], topics: dict[str, tuple[str, list[str]]],
               index: DocumentIndex, tokenizer: Tokenizer,
               fund_of: Callable[[str], FundInfo | None]) -> NeedMatch | None:
    """The fund and measures of one document that fit a need described in the user's words.

    Two signals, both from curated and source text: the need topics whose words the user used
    (e.g. 融资 → measures 5–7) and the BM25 ranking of measure passages. The fund is the one of the
    best measure; the measures listed are that fund's measures either signal points to.
    """
    expanded = canonical(text + " " + " ".join(tokenizer.query_tokens(text)))
    measures = {x.section_id: x for x in measures_list}
    if not measures:
        return None
    reasons: dict[str, list[str]] = {sid: [] for sid in measures}
    score: dict[str, float] = {sid: 0.0 for sid in measures}

    def matched(words: set[str], already: list[str]) -> list[str]:
        out: list[str] = []
        for w in sorted(words, key=len, reverse=True):
            c = canonical(w)
            if c and c in expanded and not any(c in canonical(r) for r in [*already, *out]):
                out.append(w)
        return out

    owns = {sid: matched(set(x.keywords), []) for sid, x in measures.items()}
    every_own = [w for words in owns.values() for w in words]
    for sid, x in measures.items():
        own = owns[sid]
        topic_words: set[str] = set()
        for code in x.topics:
            name, keywords = topics.get(code, ("", []))
            topic_words.update([name, *keywords])
        # a topic word inside another measure's keyword says nothing more ("融资" in "融资租赁" is 第6条's)
        shared = matched(topic_words, every_own)
        # The measure's own keywords explain the match best; a topic word shared by the whole fund
        # (融资 for 5–7) is given only when the measure has none of its own.
        reasons[sid] = own or shared
        score[sid] += len(own) + 0.5 * len(shared)
    hits = [h for h in index.search(text, top=8) if h.section_id in measures]
    if hits:
        best = hits[0].score
        for h in hits:
            score[h.section_id] += 2.0 * h.score / best
    ranked = sorted((sid for sid in measures if score[sid] > 0), key=lambda sid: -score[sid])
    if not ranked:
        return None
    top = measures[ranked[0]]
    fund = fund_of(top.fund_code) if top.fund_code else None
    if fund is None:
        return None
    chosen = [measures[sid] for sid in ranked
              if measures[sid].fund_code == fund.code and (reasons[sid] or score[sid] >= 0.5 * score[ranked[0]])]
    chosen.sort(key=lambda x: x.number)
    # a measure of another fund whose own keyword the user typed is named too (a keyword of three characters or
    # more: 公共服务设施, 互联网+; not a generic 活动)
    others = sorted((measures[sid] for sid in ranked if measures[sid].fund_code != fund.code
                     and any(len(w) >= 3 for w in owns[sid])), key=lambda x: x.number)
    return NeedMatch(fund=fund, measures=chosen,
                     reasons={x.number: reasons[x.section_id] for x in [*chosen, *others]},
                     search_score=hits[0].score if hits else 0.0, others=others)


# --- documents a message names ----------------------------------------------------------------------

_NUMBER = re.compile(r"(.+?发)\D*(\d{4})\D*(\d{1,3})\s*号")


def names_number(doc_number: str, text: str) -> bool:
    """The text quotes this 文号, however bracketed: 京科发〔2022〕4号, 京科发[2022]4号, 京科发2022年第4号, 22年4号文."""
    parts = _NUMBER.fullmatch(doc_number.strip())
    if parts is None:
        return canonical(doc_number) in canonical(text)
    prefix, year, number = parts.groups()
    # without the issuer's prefix ("2019年的11号文") only when it says 号文: a bare "2024年1号" may be a date
    tail = r"\s*号" if prefix in text else r"\s*号文"
    listed = r"(?:\d{1,3}\s*号?\s*[和、及与,，]\s*)*"  # "中科园发〔2019〕11号和25号"
    return re.search(rf"(?<!\d)(?:{year}|{year[2:]}年)\D{{0,3}}{listed}(?<!\d){number}{tail}", text) is not None


def plain(text: str) -> str:
    """Comparison form for names: :func:`canonical` without punctuation (《》, 〈〉, brackets, commas)."""
    return re.sub(r"[\W_]+", "", canonical(text))


def names_title(title: str, text: str) -> bool:
    """The text quotes the title (punctuation and a closing "(试行)" aside), or the part of it after "关于"."""
    c = plain(text)
    for t in dict.fromkeys((plain(title), plain(re.sub(r"[(（][^()（）]*[)）]\s*$", "", title.strip())))):
        core = t.removeprefix("关于")
        if t and (t in c or (len(core) >= 8 and core in c)):
            return True
    return False


def documents_named(docs: list[DocumentInfo], text: str, funds: dict[str, list[FundInfo]] | None = None) \
        -> list[DocumentInfo]:
    """The stored documents the text names by 文号, title, short name or alias, or by one of their funds' names."""
    c = plain(text)
    out = []
    for d in docs:
        words = [w for w in (d.short_name, *d.aliases) if w]
        named = (d.doc_number and names_number(d.doc_number, text)) or names_title(d.title, text) \
            or any(plain(w) in c for w in words)
        if not named and funds:
            named = any(plain(n) in c for f in funds.get(d.id, []) for n in (f.name, f.short_name, *f.aliases)
                        if len(plain(n)) >= 4)
        if named:
            out.append(d)
    return out


def repeals_named(docs: list[DocumentInfo], text: str) -> list[tuple[DocumentInfo, dict[str, str]]]:
    """(the document that repeals it, the repealed {title, number}) for each repealed document the text names."""
    out = []
    for d in docs:
        for r in d.repeals:
            if (r.get("number") and names_number(r["number"], text)) or (
                    r.get("title") and names_title(r["title"], text)):
                out.append((d, r))
    # a title inside a longer one named too (11号's title is part of 25号's, its 实施办法) is not named on its own
    return [(d, r) for d, r in out if r.get("number") and names_number(r["number"], text)
            or not any(o is not r and plain(r["title"]) in plain(o["title"]) for _, o in out)]
