"""Write a parsed, checked corpus into the store and build the document index, in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.db import make_engine
from bot.knowledge import models as m
from bot.knowledge.corpus import Corpus, CorpusDocument, load_corpus
from bot.knowledge.parser import citation_text
from bot.knowledge.textindex import Tokenizer

log = logging.getLogger(__name__)

SCHEMA_VERSION = "6"  # 4: measures.supports, conditions.conditional, documents.unstated; 5: documents.aliases,
# is_default; 6: documents.approval

Progress = Callable[[str], None]


@dataclass(frozen=True)
class IngestReport:
    documents: int
    sections: int
    measures: int
    funds: int
    passages: int
    warnings: list[str]


def tokenizer_for(corpus: Corpus) -> Tokenizer:
    return Tokenizer(terms=tokenizer_terms(corpus), synonyms=corpus.lexicon.pairs())


def prepare_schema(engine: Engine) -> None:
    """Create the tables; recreate them when they were made by another schema version."""
    tables = set(inspect(engine).get_table_names())
    if "meta" not in tables and tables & set(m.Base.metadata.tables):
        m.Base.metadata.drop_all(engine)
    elif "meta" in tables:
        with Session(engine) as session:
            version = session.get(m.Meta, "schema_version")
            if version is None or version.value != SCHEMA_VERSION:
                log.info("store schema changed; rebuilding tables")
                m.Base.metadata.drop_all(engine)
    m.Base.metadata.create_all(engine)


def ingest_corpus(target: Engine | str, corpus: Corpus | Path) -> IngestReport:
    """A fresh store from a corpus (or its directory), quietly: what tests, benchmarks and the launcher need.

    ``target`` is an engine (kept open: the caller reads the store on it) or a database URL (its engine is let go
    once the store is written)."""
    if not isinstance(corpus, Corpus):
        corpus = load_corpus(corpus)
    if isinstance(target, Engine):
        return ingest(target, corpus, progress=lambda _: None)
    engine = make_engine(target)
    try:
        return ingest(engine, corpus, progress=lambda _: None)
    finally:
        engine.dispose()


def ingest(engine: Engine, corpus: Corpus, progress: Progress = log.info) -> IngestReport:
    """Replace the store's contents with ``corpus``. Readers see the old or the new corpus, never half."""
    prepare_schema(engine)
    tokenizer = tokenizer_for(corpus)
    counts = {"sections": 0, "measures": 0, "funds": 0, "passages": 0}
    with Session(engine) as session, session.begin():
        for table in reversed(m.Base.metadata.sorted_tables):
            session.execute(delete(table))
        session.add(m.Meta(key="schema_version", value=SCHEMA_VERSION))
        for topic_code, topic in corpus.lexicon.topics.items():
            session.add(m.Topic(code=topic_code, name=topic["name"], keywords=topic.get("keywords") or []))
        for canonical, surfaces in corpus.lexicon.synonyms.items():
            for surface in surfaces:
                session.add(m.LexiconEntry(surface=surface, canonical=canonical))
        for term in tokenizer_terms(corpus):
            session.add(m.LexiconEntry(surface=term, canonical=None))
        session.flush()
        for cdoc in corpus.documents:
            progress(f"{cdoc.doc.doc_id}: {len(cdoc.doc.sections)} sections, "
                     f"{len(cdoc.doc.measures)} measures, {len(cdoc.doc.funds)} funds")
            for key, n in _write_document(session, cdoc, tokenizer).items():
                counts[key] += n
    return IngestReport(documents=len(corpus.documents), warnings=corpus.warnings, **counts)


def tokenizer_terms(corpus: Corpus) -> list[str]:
    terms = set(corpus.lexicon.terms)
    for topic in corpus.lexicon.topics.values():
        terms.update(topic.get("keywords") or [])
    for cdoc in corpus.documents:
        for measure in cdoc.knowledge.get("measures") or []:
            terms.update(measure.get("keywords") or [])
    return sorted(terms)


def _write_document(session: Session, cdoc: CorpusDocument, tokenizer: Tokenizer) -> dict[str, int]:
    doc, knowledge = cdoc.doc, cdoc.knowledge
    meta = knowledge.get("document") or {}
    doc_ref = doc.doc_number or f"《{doc.title}》"
    session.add(
        m.Document(
            id=doc.doc_id,
            title=doc.title,
            short_name=meta.get("short_name"),
            notice_title=doc.notice_title,
            approval=doc.approval,
            doc_number=doc.doc_number,
            issuers=doc.issuers,
            issued=doc.issued,
            effective=doc.effective,
            effective_date=doc.effective_date,
            repeals=[{"title": r.title, "number": r.number} for r in doc.repeals],
            silent_on=list(meta.get("silent_on") or []),
            unstated=[{"code": u["code"], "topic": u["topic"], "cues": list(u["cues"]), "section_id": u["section"],
                       "quote": u["quote"]} for u in knowledge.get("unstated") or []],
            aliases=[str(a) for a in meta.get("aliases") or []],
            is_default=bool(meta.get("default")),
            checksum=cdoc.checksum,
        )
    )
    sections = doc.sections
    for ordinal, s in enumerate(sections):
        session.add(m.Section(id=s.id, document_id=doc.doc_id, parent_id=s.parent_id, ordinal=ordinal,
                              level=s.level, label=s.label, title=s.title, text=s.text))
    session.flush()

    # Funds: what the text sets up, named and aliased by the curated file where it has an entry.
    curated_funds = {f["section"]: f for f in knowledge.get("funds") or []}
    fund_rows: dict[str, m.Fund] = {}
    for i, fund in enumerate(doc.funds, start=1):
        cur = curated_funds.get(fund.section_id, {})
        row = m.Fund(document_id=doc.doc_id, code=cur.get("code") or f"fund{i}", name=fund.name,
                     short_name=cur.get("short_name") or fund.short_name, aliases=cur.get("aliases") or [],
                     section_id=fund.section_id, group_title=fund.group_title)
        session.add(row)
        fund_rows[fund.section_id] = row
    session.flush()

    curated_measures = {c["section"]: c for c in knowledge.get("measures") or []}
    topics = {t.code: t for t in session.scalars(select(m.Topic))}
    keywords_by_section: dict[str, list[str]] = {}
    for s in doc.measures:
        cur = curated_measures.get(s.id, {})
        fund = fund_rows.get(s.parent_id or "")
        keywords = list(cur.get("keywords") or [])
        keywords_by_section[s.id] = keywords
        session.add(m.Measure(id=s.id, document_id=doc.doc_id, number=s.number, title=s.title, text=s.text,
                              fund_id=fund.id if fund else None, keywords=keywords,
                              supports=[{"kind": w["kind"], "quote": w["quote"]} for w in cur.get("supports") or []],
                              topics=[topics[c] for c in cur.get("topics") or [] if c in topics]))

    for i, st in enumerate(knowledge.get("subject_types") or []):
        session.add(m.SubjectType(document_id=doc.doc_id, code=st["code"], name=st["name"],
                                  aliases=st.get("aliases") or []))
    eligibility = knowledge.get("eligibility") or {}
    for i, c in enumerate(eligibility.get("conditions") or []):
        session.add(m.Condition(document_id=doc.doc_id, ordinal=i, code=c["code"], field=c["field"],
                                label=c["label"], accept=c.get("accept") or [], reference=c.get("reference") or [],
                                applies_to=c.get("applies_to") or [], conditional=c.get("conditional") or [],
                                section_id=c.get("section") or eligibility["section"], quote=c["quote"],
                                reference_quote=c.get("reference_quote")))
    for i, mat in enumerate(knowledge.get("materials") or []):
        funds = mat.get("funds", "all")
        session.add(m.Material(document_id=doc.doc_id, ordinal=i, name=mat["name"], source=mat["source"],
                               fund_codes=[] if funds == "all" else list(funds),
                               measure_numbers=list(mat.get("measures") or []),
                               subject_types=list(mat.get("subject_types") or []),
                               section_id=mat.get("section"), quote=mat.get("quote")))
    facts = list(knowledge.get("facts") or [])
    for f in facts:
        session.add(m.Fact(document_id=doc.doc_id, code=f["code"], question=f["question"],
                           section_id=f["section"], quote=f["quote"]))

    # The document index: a passage per measure (its title, text and curated keywords), and a passage
    # per paragraph elsewhere, so an answer quotes the paragraph that says it.
    passages = 0
    fund_by_group = {f.section_id: curated_funds.get(f.section_id, {}) for f in doc.funds}
    for s in sections:
        citation = citation_text(doc_ref, s.id, s.title)
        if s.number is not None:
            pieces = [s.text]
            extra = " ".join(keywords_by_section.get(s.id, []))
        else:
            pieces = s.paragraphs
            cur = fund_by_group.get(s.id, {})
            extra = " ".join([cur.get("short_name", ""), *cur.get("aliases", [])])
        for piece in pieces:
            if not piece:
                continue
            tokens = tokenizer.index_tokens(f"{s.title} {piece} {extra}")
            session.add(m.Passage(document_id=doc.doc_id, section_id=s.id, citation=citation,
                                  title=s.title, text=piece, tokens=tokens))
            passages += 1
    return {"sections": len(sections), "measures": len(doc.measures), "funds": len(doc.funds),
            "passages": passages}
