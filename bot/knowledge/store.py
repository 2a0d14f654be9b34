"""The policy store: the queries the actions need, over SQLAlchemy (2.0-style ``select``).

Every query returns plain frozen records (:mod:`bot.knowledge.records`, never ORM rows), so callers can use
results from any thread after the session closed. All methods are blocking: async callers wrap them in
``asyncio.to_thread``. The work is done by the modules beside this one — :mod:`.eligibility` (who may apply),
:mod:`.matching` (the user's words → measures, funds, documents) and :mod:`.search` (the index); this class loads
and keeps what they need. Names are re-exported here, where callers have always imported them from.

Every query about one document takes ``doc_id``; without one it is about the primary document (see
:meth:`PolicyStore.document`), except :meth:`PolicyStore.fund`, which also looks in the other documents when the
primary one has no such fund (a fund code names its document).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from bot.db import make_engine
from bot.knowledge import eligibility, matching
from bot.knowledge import models as m
from bot.knowledge.matching import CN_DIGITS, cn_to_int, parse_measure_number
from bot.knowledge.parser import canonical, citation_text
from bot.knowledge.records import (
    MATERIAL_LABELS,
    ConditionResult,
    DocumentInfo,
    FactInfo,
    FundInfo,
    MaterialInfo,
    MeasureInfo,
    NeedMatch,
    StoreNotReady,
    Verdict,
    document_record,
    measure_record,
)
from bot.knowledge.search import document_of, load_index
from bot.knowledge.textindex import DocumentIndex, SearchHit, Tokenizer

__all__ = ["CN_DIGITS", "MATERIAL_LABELS", "ConditionResult", "DocumentInfo", "FactInfo", "FundInfo", "MaterialInfo",
           "MeasureInfo", "NeedMatch", "PolicyStore", "StoreNotReady", "Verdict", "cn_to_int",
           "parse_measure_number"]

T = TypeVar("T")


class PolicyStore:
    """Queries over the ingested documents. The content changes only by `python -m bot ingest`, so a store object
    loads the documents, funds, measures and the search index once and keeps them (about half of the action
    server's time per turn went to re-reading them); a running action server shows a new ingest after a restart."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._index: tuple[DocumentIndex, Tokenizer] | None = None
        self._texts: dict[str, str] | None = None
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
        """Every stored document, by id."""
        return self._memoized(("documents", None), self._load_documents)

    def _load_documents(self) -> list[DocumentInfo]:
        with self._session() as s:
            try:
                return [document_record(r) for r in s.scalars(select(m.Document).order_by(m.Document.id))]
            except Exception as exc:  # table missing: never ingested
                raise StoreNotReady("the policy store is empty: run `python -m bot ingest`") from exc

    def document(self, doc_id: str | None = None) -> DocumentInfo:
        """A document by id; without one, the primary document (found once per store object, like the documents)."""
        if doc_id is None:
            return self._memoized(("primary", None), self._load_primary)[0]
        for d in self.documents():
            if d.id == doc_id:
                return d
        raise KeyError(doc_id)

    def _load_primary(self) -> list[DocumentInfo]:
        """The default document: the one its knowledge.yml marks ``default``, else the first (by id) with curated
        eligibility, else with funds, else the first."""
        docs = self.documents()
        if not docs:
            raise StoreNotReady("no documents in the policy store: run `python -m bot ingest`")
        if marked := [d for d in docs if d.is_default]:
            return marked[:1]
        with self._session() as s:
            curated = set(s.scalars(select(m.Condition.document_id)))
            with_funds = set(s.scalars(select(m.Fund.document_id)))
        return [next((d for d in docs if d.id in curated), next((d for d in docs if d.id in with_funds), docs[0]))]

    def documents_first_primary(self) -> list[DocumentInfo]:
        """Every document, the primary one first (the order answers about several documents take)."""
        primary = self.document()
        return [primary, *(d for d in self.documents() if d.id != primary.id)]

    def documents_named(self, text: str) -> list[DocumentInfo]:
        """The documents a message names (文号, title, short name, alias or a fund's name), primary first."""
        docs = self.documents_first_primary()
        return matching.documents_named(docs, text, {d.id: self.funds(d.id) for d in docs})

    def repeals_named(self, text: str) -> list[tuple[DocumentInfo, dict[str, str]]]:
        """(repealing document, {title, number}) for each repealed document a message names."""
        return matching.repeals_named(self.documents_first_primary(), text)

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

    def _refs(self) -> dict[str, str]:
        return {d.id: d.ref for d in self.documents()}

    def funds(self, doc_id: str | None = None) -> list[FundInfo]:
        doc_id = doc_id or self.document().id
        return self._memoized(("funds", doc_id), lambda: self._load_funds(doc_id))

    def _load_funds(self, doc_id: str) -> list[FundInfo]:
        refs = self._refs()
        with self._session() as s:
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
                    measures=[measure_record(ms, refs) for ms in f.measures],
                ))
            return out

    def fund(self, ref: str, doc_id: str | None = None) -> FundInfo | None:
        """A fund by code, short name, alias, full name, or a text that mentions one of them. Without ``doc_id``:
        the primary document's, else another document's (a fund code from a conversation names its document)."""
        if doc_id is not None:
            return matching.find_fund(self.funds(doc_id), ref)
        for d in self.documents_first_primary():
            if found := matching.find_fund(self.funds(d.id), ref):
                return found
        return None

    def measures(self, doc_id: str | None = None) -> list[MeasureInfo]:
        doc_id = doc_id or self.document().id
        return self._memoized(("measures", doc_id), lambda: self._load_measures(doc_id))

    def _load_measures(self, doc_id: str) -> list[MeasureInfo]:
        refs = self._refs()
        with self._session() as s:
            stmt = (select(m.Measure).where(m.Measure.document_id == doc_id).order_by(m.Measure.number)
                    .options(selectinload(m.Measure.topics), selectinload(m.Measure.fund)))
            return [measure_record(r, refs) for r in s.scalars(stmt)]

    def measure(self, ref: str | int, doc_id: str | None = None) -> MeasureInfo | None:
        """A measure by number ("第5条", "措施五", 5) or by (part of) its title."""
        return matching.find_measure(self.measures(doc_id), ref)

    def measures_for_kinds(self, kinds: list[str], doc_id: str | None = None) -> list[tuple[MeasureInfo, list[str]]]:
        """The measures that name one of these kinds of applicant, each with the words that name it."""
        return matching.measures_naming(self.measures(doc_id), kinds)

    def measures_for_topic(self, topic: str) -> list[MeasureInfo]:
        refs = self._refs()
        with self._session() as s:
            stmt = (select(m.Measure).join(m.Measure.topics).where(m.Topic.code == topic)
                    .order_by(m.Measure.document_id, m.Measure.number)
                    .options(selectinload(m.Measure.topics), selectinload(m.Measure.fund)))
            return [measure_record(r, refs) for r in s.scalars(stmt)]

    def topics(self) -> dict[str, tuple[str, list[str]]]:
        with self._session() as s:
            return {t.code: (t.name, list(t.keywords)) for t in s.scalars(select(m.Topic))}

    def match_need(self, text: str, doc_id: str | None = None) -> NeedMatch | None:
        """The fund and measures of a document that fit a need described in the user's words."""
        doc_id = doc_id or self.document().id
        index, tokenizer = self.index()
        return matching.match_need(text, self.measures(doc_id), self.topics(), index, tokenizer,
                                   lambda code: self.fund(code, doc_id))

    # eligibility

    def check_eligibility(self, profile: dict[str, Any], doc_id: str | None = None) -> Verdict:
        """A verdict per condition for a profile {subject_type, registration, hightech}; None = unknown."""
        doc = self.document(doc_id)
        with self._session() as s:
            return eligibility.check_eligibility(s, doc, profile)

    def subject_types(self, doc_id: str | None = None) -> dict[str, tuple[str, list[str]]]:
        doc = self.document(doc_id)
        with self._session() as s:
            rows = s.scalars(select(m.SubjectType).where(m.SubjectType.document_id == doc.id)).all()
            return {r.code: (r.name, list(r.aliases)) for r in rows}

    # materials and facts

    def materials(self, fund_code: str | None = None, measure_number: int | None = None,
                  subject_type: str | None = None, doc_id: str | None = None) -> list[MaterialInfo]:
        """Materials for a fund or a measure: clause-related first, then typical ones, in curated order. Without
        ``doc_id``, a fund's materials are its document's."""
        if doc_id is None and fund_code and (f := self.fund(fund_code)) is not None:
            doc_id = f.document_id
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
                    self._index = load_index(s)
            return self._index

    def distinctive_words(self, text: str, doc_id: str) -> list[str]:
        """The words of a question that this document's text uses and no other document's does: what ties a
        question to one document when it does not name it ("碳捕集" to the one about carbon capture)."""
        index, tokenizer = self.index()
        with self._lock:
            if self._texts is None:
                self._texts = index.text_by_document()
        own = self._texts.get(doc_id, "")
        others = [t for d, t in self._texts.items() if d != doc_id]
        return [w for w in dict.fromkeys(tokenizer.words(text)) if w in own and not any(w in t for t in others)]

    def words_not_in(self, text: str, passage: str) -> list[str]:
        """The content words of a question (the index's own tokenizer) that a passage does not contain."""
        _, tokenizer = self.index()
        return [w for w in dict.fromkeys(tokenizer.words(text)) if len(w) > 1 and w not in passage.lower()]

    def search(self, query: str, top: int = 5, doc_id: str | None = None) -> list[SearchHit]:
        """The best passages of every document (or of ``doc_id`` only)."""
        if doc_id is None:
            return self.index()[0].search(query, top=top)
        hits = self.index()[0].search(query, top=max(top * 8, 40))
        return [h for h in hits if document_of(h.section_id) == doc_id][:top]
