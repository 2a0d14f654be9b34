"""The eligibility store: queries the actions need, over SQLAlchemy (2.0-style ``select``).

Every query returns plain frozen dataclasses (never ORM rows), so callers can use results from any
thread after the session closed. All methods are blocking: async callers wrap them in
``asyncio.to_thread``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import date
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from bot.db import make_engine
from bot.knowledge import models as m
from bot.knowledge.parser import canonical, citation_text
from bot.knowledge.textindex import DocumentIndex, IndexedPassage, SearchHit, Tokenizer

T = TypeVar("T")

CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


class StoreNotReady(RuntimeError):
    """The store has not been built: run ``python -m bot ingest``."""


# --- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentInfo:
    id: str
    title: str
    short_name: str | None
    doc_number: str | None
    issuers: list[str]
    issued: date | None
    effective: str | None
    effective_date: date | None
    repeals: list[dict[str, str]]
    silent_on: list[str]
    unstated: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return self.doc_number or f"《{self.title}》"

    @property
    def header_citation(self) -> str:
        """Where 文号, issuers and date stand: the notice that issues the measures, not the measures' preamble."""
        return f"{self.ref} 印发通知（文头）"

    def unstated_topic(self, text: str) -> dict[str, Any] | None:
        """The thing the document does not state that a question asks about (longest cue wins), or None."""
        best: tuple[int, dict[str, Any]] | None = None
        for item in self.unstated:
            for cue in item.get("cues") or []:
                if cue and cue.lower() in text.lower() and (best is None or len(cue) > best[0]):
                    best = (len(cue), item)
        return best[1] if best else None


@dataclass(frozen=True)
class MeasureInfo:
    section_id: str
    document_id: str
    number: int
    title: str
    text: str
    citation: str
    fund_code: str | None
    fund_name: str | None
    topics: list[str]
    keywords: list[str]
    supports: list[dict[str, str]] = field(default_factory=list)  # [{kind, quote}]: whom the measure names


@dataclass(frozen=True)
class FundInfo:
    code: str
    document_id: str
    name: str  # the management method's title, without 《》
    short_name: str
    aliases: list[str]
    section_id: str
    citation: str
    intro: str
    measures: list[MeasureInfo]


@dataclass(frozen=True)
class NeedMatch:
    fund: FundInfo
    measures: list[MeasureInfo]
    reasons: dict[int, list[str]]  # measure number → the user's words that point to it


@dataclass(frozen=True)
class ConditionResult:
    code: str
    label: str
    #: met | not_met | unknown (not known yet) | conditional (the user could not say; met or 参照执行 depending on a
    #: fact to confirm) | reference (参照执行)
    status: str
    value: str | None
    citation: str
    quote: str


@dataclass(frozen=True)
class Verdict:
    outcome: str  # eligible | not_eligible | reference | conditional | unknown
    conditions: list[ConditionResult]
    missing: list[str]  # profile fields still needed for a definite answer
    citation: str
    section_id: str


#: how the two kinds of material are labelled wherever they are shown (bot, widget, staff canned replies): the
#: document lists no application materials, so nothing is called "required by the document"
MATERIAL_LABELS = {"clause": "与文件条款相关的材料", "typical": "常见材料（文件未规定，请以官方申报指南为准）"}


@dataclass(frozen=True)
class MaterialInfo:
    name: str
    source: str  # clause (follows from a clause of the document, cited) | typical (not in the document)
    citation: str | None
    quote: str | None
    section_id: str | None = None
    measure_numbers: list[int] = field(default_factory=list)
    subject_types: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FactInfo:
    code: str
    question: str
    quote: str
    citation: str
    section_id: str


# --- parsing user references ----------------------------------------------------------------------


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


# --- the store ------------------------------------------------------------------------------------


class PolicyStore:
    """Queries over the ingested documents. The content changes only by `python -m bot ingest`, so a store object
    loads the documents, funds, measures and the search index once and keeps them (about half of the action
    server's time per turn went to re-reading them); a running action server shows a new ingest after a restart."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._index: tuple[DocumentIndex, Tokenizer] | None = None
        self._lock = threading.Lock()
        self._memo: dict[tuple[str, str | None], list[Any]] = {}

    def _memoized(self, key: tuple[str, str | None], load: Callable[[], list[T]]) -> list[T]:
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = load()
        return list(found)  # a copy: callers may sort or filter it

    @classmethod
    def from_url(cls, url: str) -> PolicyStore:
        engine = make_engine(url)
        return cls(engine)

    def _session(self) -> Session:
        return Session(self.engine, future=True)

    # documents

    def documents(self) -> list[DocumentInfo]:
        return self._memoized(("documents", None), self._load_documents)

    def _load_documents(self) -> list[DocumentInfo]:
        with self._session() as s:
            try:
                rows = s.scalars(select(m.Document).order_by(m.Document.id)).all()
            except Exception as exc:  # table missing: never ingested
                raise StoreNotReady("the policy store is empty: run `python -m bot ingest`") from exc
            return [self._doc_info(r) for r in rows]

    def document(self, doc_id: str | None = None) -> DocumentInfo:
        docs = self.documents()
        if not docs:
            raise StoreNotReady("no documents in the policy store: run `python -m bot ingest`")
        if doc_id is None:
            return self._primary(docs)
        for d in docs:
            if d.id == doc_id:
                return d
        raise KeyError(doc_id)

    def _primary(self, docs: list[DocumentInfo]) -> DocumentInfo:
        """The default document: the first (by id) with curated eligibility, else with funds, else the first."""
        with self._session() as s:
            curated = set(s.scalars(select(m.Condition.document_id)))
            with_funds = set(s.scalars(select(m.Fund.document_id)))
        return next((d for d in docs if d.id in curated), next((d for d in docs if d.id in with_funds), docs[0]))

    @staticmethod
    def _doc_info(r: m.Document) -> DocumentInfo:
        return DocumentInfo(r.id, r.title, r.short_name, r.doc_number, list(r.issuers), r.issued, r.effective,
                            r.effective_date, list(r.repeals), list(r.silent_on), list(r.unstated or []))

    def section_citation(self, section_id: str) -> str:
        with self._session() as s:
            sec = s.get(m.Section, section_id)
            if sec is None:
                raise KeyError(section_id)
            doc = s.get(m.Document, sec.document_id)
            return citation_text(doc.doc_number or f"《{doc.title}》", sec.id, sec.title)

    def section_containing(self, words: str, doc_id: str | None = None) -> str | None:
        """The id of the first section (document order) whose text contains ``words``."""
        doc_id = doc_id or self.document().id
        target = canonical(words)
        with self._session() as s:
            rows = s.scalars(select(m.Section).where(m.Section.document_id == doc_id).order_by(m.Section.ordinal))
            return next((r.id for r in rows if target and target in canonical(r.text)), None)

    def section_text(self, section_id: str) -> str:
        with self._session() as s:
            sec = s.get(m.Section, section_id)
            if sec is None:
                raise KeyError(section_id)
            return sec.text

    # funds and measures

    def _measure_info(self, r: m.Measure, refs: dict[str, str]) -> MeasureInfo:
        return MeasureInfo(
            section_id=r.id, document_id=r.document_id, number=r.number, title=r.title, text=r.text,
            citation=citation_text(refs[r.document_id], r.id, r.title),
            fund_code=r.fund.code if r.fund else None, fund_name=r.fund.short_name if r.fund else None,
            topics=[t.code for t in r.topics], keywords=list(r.keywords), supports=list(r.supports or []),
        )

    def _refs(self, s: Session) -> dict[str, str]:
        return {d.id: d.doc_number or f"《{d.title}》" for d in s.scalars(select(m.Document))}

    def funds(self, doc_id: str | None = None) -> list[FundInfo]:
        doc_id = doc_id or self.document().id
        return self._memoized(("funds", doc_id), lambda: self._load_funds(doc_id))

    def _load_funds(self, doc_id: str) -> list[FundInfo]:
        with self._session() as s:
            refs = self._refs(s)
            stmt = (select(m.Fund).where(m.Fund.document_id == doc_id).order_by(m.Fund.id)
                    .options(selectinload(m.Fund.measures).selectinload(m.Measure.topics)))
            out = []
            for f in s.scalars(stmt):
                section = s.get(m.Section, f.section_id)
                out.append(FundInfo(
                    code=f.code, document_id=f.document_id, name=f.name, short_name=f.short_name,
                    aliases=list(f.aliases), section_id=f.section_id,
                    citation=citation_text(refs[f.document_id], f.section_id, f.group_title),
                    intro=section.text if section else "",
                    measures=[self._measure_info(ms, refs) for ms in f.measures],
                ))
            return out

    def fund(self, ref: str, doc_id: str | None = None) -> FundInfo | None:
        """A fund by code, short name, alias, full name, or a text that mentions one of them."""
        ref_c = canonical(ref)
        funds = self.funds(doc_id)
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

    def measures(self, doc_id: str | None = None) -> list[MeasureInfo]:
        doc_id = doc_id or self.document().id
        return self._memoized(("measures", doc_id), lambda: self._load_measures(doc_id))

    def _load_measures(self, doc_id: str) -> list[MeasureInfo]:
        with self._session() as s:
            refs = self._refs(s)
            stmt = (select(m.Measure).where(m.Measure.document_id == doc_id).order_by(m.Measure.number)
                    .options(selectinload(m.Measure.topics), selectinload(m.Measure.fund)))
            return [self._measure_info(r, refs) for r in s.scalars(stmt)]

    def measure(self, ref: str | int, doc_id: str | None = None) -> MeasureInfo | None:
        """A measure by number ("第5条", "措施五", 5) or by (part of) its title."""
        number = ref if isinstance(ref, int) else parse_measure_number(str(ref))
        measures = self.measures(doc_id)
        if number is not None:
            return next((x for x in measures if x.number == number), None)
        ref_c = canonical(str(ref))
        if len(ref_c) < 2:
            return None
        for x in measures:
            if ref_c in canonical(x.title) or canonical(x.title) in ref_c:
                return x
        return None

    def measures_for_kinds(self, kinds: list[str], doc_id: str | None = None) -> list[tuple[MeasureInfo, list[str]]]:
        """The measures that name one of these kinds of applicant, each with the words that name it."""
        out = []
        for x in self.measures(doc_id):
            quotes = list(dict.fromkeys(w["quote"] for w in x.supports if w.get("kind") in kinds))
            if quotes:
                out.append((x, quotes))
        return out

    def measures_for_topic(self, topic: str) -> list[MeasureInfo]:
        with self._session() as s:
            refs = self._refs(s)
            stmt = (select(m.Measure).join(m.Measure.topics).where(m.Topic.code == topic)
                    .order_by(m.Measure.document_id, m.Measure.number)
                    .options(selectinload(m.Measure.topics), selectinload(m.Measure.fund)))
            return [self._measure_info(r, refs) for r in s.scalars(stmt)]

    def topics(self) -> dict[str, tuple[str, list[str]]]:
        with self._session() as s:
            return {t.code: (t.name, list(t.keywords)) for t in s.scalars(select(m.Topic))}

    def match_need(self, text: str, doc_id: str | None = None) -> NeedMatch | None:
        """The fund and measures that fit a need described in the user's words.

        Two signals, both from curated and source text: the need topics whose words the user used
        (e.g. 融资 → measures 5–7) and the BM25 ranking of measure passages. The fund is the one of the
        best measure; the measures listed are that fund's measures either signal points to.
        """
        doc_id = doc_id or self.document().id
        index, tokenizer = self.index()
        expanded = canonical(text + " " + " ".join(tokenizer.query_tokens(text)))
        measures = {x.section_id: x for x in self.measures(doc_id)}
        if not measures:
            return None
        reasons: dict[str, list[str]] = {sid: [] for sid in measures}
        score: dict[str, float] = {sid: 0.0 for sid in measures}
        topics = self.topics()
        def matched(words: set[str], already: list[str]) -> list[str]:
            out: list[str] = []
            for w in sorted(words, key=len, reverse=True):
                c = canonical(w)
                if c and c in expanded and not any(c in canonical(r) for r in [*already, *out]):
                    out.append(w)
            return out

        for sid, x in measures.items():
            own = matched(set(x.keywords), [])
            topic_words: set[str] = set()
            for code in x.topics:
                name, keywords = topics.get(code, ("", []))
                topic_words.update([name, *keywords])
            shared = matched(topic_words, own)
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
        fund = self.fund(top.fund_code or "", doc_id) if top.fund_code else None
        if fund is None:
            return None
        chosen = [measures[sid] for sid in ranked
                  if measures[sid].fund_code == fund.code and (reasons[sid] or score[sid] >= 0.5 * score[ranked[0]])]
        chosen.sort(key=lambda x: x.number)
        return NeedMatch(fund=fund, measures=chosen,
                         reasons={x.number: reasons[x.section_id] for x in chosen})

    # eligibility

    def check_eligibility(self, profile: dict[str, Any], doc_id: str | None = None) -> Verdict:
        """A verdict per condition for a profile {subject_type, registration, hightech}; None = unknown."""
        doc = self.document(doc_id)
        with self._session() as s:
            conds = s.scalars(select(m.Condition).where(m.Condition.document_id == doc.id)
                              .order_by(m.Condition.ordinal)).all()
            results: list[ConditionResult] = []
            missing: list[str] = []
            subject = profile.get("subject_type")
            section_ids: list[str] = []
            first_section = doc.id
            for c in conds:
                sec = s.get(m.Section, c.section_id)
                citation = citation_text(doc.ref, c.section_id, sec.title if sec else "")
                section_ids.append(citation)
                first_section = first_section if section_ids[1:] else c.section_id
                if c.applies_to and subject is not None and subject not in c.applies_to:
                    continue  # e.g. the high-tech condition does not apply to a university
                value = profile.get(c.field)
                if value is None:
                    status = "unknown"
                    missing.append(c.field)
                elif value in c.accept:
                    status = "met"
                elif value in c.reference:
                    status = "reference"
                elif value in ("unknown", "ambiguous") or value in (c.conditional or []):
                    status = "conditional"
                else:
                    status = "not_met"
                quote = c.reference_quote if status == "reference" and c.reference_quote else c.quote
                results.append(ConditionResult(c.code, c.label, status, value, citation, quote))
        statuses = {r.status for r in results}
        if not results:
            outcome = "unknown"
        elif "not_met" in statuses:
            outcome = "not_eligible"
        elif "unknown" in statuses:
            outcome = "unknown"
        elif "conditional" in statuses:
            outcome = "conditional"
        elif "reference" in statuses:
            outcome = "reference"
        else:
            outcome = "eligible"
        citation = section_ids[0] if section_ids else doc.header_citation
        return Verdict(outcome, results, sorted(set(missing), key=missing.index), citation, first_section)

    def subject_types(self, doc_id: str | None = None) -> dict[str, tuple[str, list[str]]]:
        doc = self.document(doc_id)
        with self._session() as s:
            rows = s.scalars(select(m.SubjectType).where(m.SubjectType.document_id == doc.id)).all()
            return {r.code: (r.name, list(r.aliases)) for r in rows}

    # materials and facts

    def materials(self, fund_code: str | None = None, measure_number: int | None = None,
                  subject_type: str | None = None, doc_id: str | None = None) -> list[MaterialInfo]:
        """Materials for a fund or a measure: clause-related first, then typical ones, in curated order."""
        doc = self.document(doc_id)
        if measure_number is not None and fund_code is None:
            x = self.measure(measure_number, doc.id)
            fund_code = x.fund_code if x else None
        with self._session() as s:
            rows = s.scalars(select(m.Material).where(m.Material.document_id == doc.id)
                             .order_by(m.Material.ordinal)).all()
            out = []
            for r in rows:
                if fund_code and r.fund_codes and fund_code not in r.fund_codes:
                    continue
                if measure_number is not None and r.measure_numbers and measure_number not in r.measure_numbers:
                    continue
                if subject_type and r.subject_types and subject_type not in r.subject_types:
                    continue
                citation = None
                if r.section_id:
                    sec = s.get(m.Section, r.section_id)
                    citation = citation_text(doc.ref, r.section_id, sec.title if sec else "")
                out.append(MaterialInfo(r.name, r.source, citation, r.quote, r.section_id,
                                        list(r.measure_numbers), list(r.subject_types)))
        out.sort(key=lambda x: x.source != "clause")
        return out

    def facts(self, doc_id: str | None = None) -> dict[str, FactInfo]:
        doc = self.document(doc_id)
        with self._session() as s:
            out = {}
            for r in s.scalars(select(m.Fact).where(m.Fact.document_id == doc.id)):
                sec = s.get(m.Section, r.section_id)
                out[r.code] = FactInfo(r.code, r.question, r.quote,
                                       citation_text(doc.ref, r.section_id, sec.title if sec else ""), r.section_id)
            return out

    # document index

    def index(self) -> tuple[DocumentIndex, Tokenizer]:
        """The BM25 index over the stored passages, built once per store object."""
        with self._lock:
            if self._index is None:
                with self._session() as s:
                    try:
                        lexicon = s.scalars(select(m.LexiconEntry)).all()
                        passages = s.scalars(select(m.Passage).order_by(m.Passage.id)).all()
                    except Exception as exc:
                        raise StoreNotReady("the policy store is empty: run `python -m bot ingest`") from exc
                    tokenizer = Tokenizer(terms=[e.surface for e in lexicon if e.canonical is None],
                                          synonyms=[(e.surface, e.canonical) for e in lexicon if e.canonical])
                    items = [IndexedPassage(p.section_id, p.citation, p.title, p.text, list(p.tokens))
                             for p in passages]
                self._index = (DocumentIndex(items, tokenizer), tokenizer)
            return self._index

    def search(self, query: str, top: int = 5) -> list[SearchHit]:
        return self.index()[0].search(query, top=top)
