"""The document index as the store serves it: BM25 over the passages and lexicon that ``ingest`` stored."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.knowledge import models as m
from bot.knowledge.records import StoreNotReady
from bot.knowledge.textindex import DocumentIndex, IndexedPassage, Tokenizer


def load_index(session: Session) -> tuple[DocumentIndex, Tokenizer]:
    """The index over every stored document's passages, with the tokenizer that built their tokens."""
    try:
        lexicon = session.scalars(select(m.LexiconEntry)).all()
        passages = session.scalars(select(m.Passage).order_by(m.Passage.id)).all()
    except Exception as exc:
        raise StoreNotReady("the policy store is empty: run `python -m bot ingest`") from exc
    tokenizer = Tokenizer(terms=[e.surface for e in lexicon if e.canonical is None],
                          synonyms=[(e.surface, e.canonical) for e in lexicon if e.canonical])
    items = [IndexedPassage(p.section_id, p.citation, p.title, p.text, list(p.tokens)) for p in passages]
    return DocumentIndex(items, tokenizer), tokenizer


def document_of(section_id: str) -> str:
    """The document a section (or search hit) belongs to: section ids start with the document id."""
    return section_id.split("/", 1)[0]
