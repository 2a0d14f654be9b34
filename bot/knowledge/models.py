"""SQLAlchemy tables of the eligibility store.

Declarative with ``Mapped`` annotations (what 1.4 supports; the models carry over to 2.0's
``mapped_column`` unchanged in meaning). Text ids are the parser's section ids, so every row that
states a fact points back to the words of the document.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Boolean, Column, Date, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, declarative_base, relationship
from sqlalchemy.types import JSON

Base = declarative_base()

measure_topics = Table(
    "measure_topics",
    Base.metadata,
    Column("measure_id", ForeignKey("measures.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_code", ForeignKey("topics.code", ondelete="CASCADE"), primary_key=True),
)


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[str] = Column(String(64), primary_key=True)
    title: Mapped[str] = Column(Text, nullable=False)
    short_name: Mapped[str | None] = Column(Text)
    notice_title: Mapped[str | None] = Column(Text)
    #: how the notice says the measures were adopted ("已经……审议通过")
    approval: Mapped[str | None] = Column(Text)
    doc_number: Mapped[str | None] = Column(String(64))
    issuers: Mapped[list[str]] = Column(JSON, nullable=False, default=list)
    issued: Mapped[date | None] = Column(Date)
    effective: Mapped[str | None] = Column(Text)
    effective_date: Mapped[date | None] = Column(Date)
    repeals: Mapped[list[dict[str, str]]] = Column(JSON, nullable=False, default=list)
    silent_on: Mapped[list[str]] = Column(JSON, nullable=False, default=list)
    #: what users ask that the document does not state: [{code, topic, cues, section_id, quote}]
    unstated: Mapped[list[dict[str, Any]]] = Column(JSON, nullable=False, default=list)
    #: what users call the document besides its 文号 and title (knowledge.yml document.aliases)
    aliases: Mapped[list[str]] = Column(JSON, nullable=False, default=list)
    #: the document questions are about unless they name another (knowledge.yml document.default)
    is_default: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    checksum: Mapped[str] = Column(String(64), nullable=False)

    sections: Mapped[list[Section]] = relationship(
        "Section", back_populates="document", cascade="all, delete-orphan", order_by="Section.ordinal"
    )


class Section(Base):
    __tablename__ = "sections"

    id: Mapped[str] = Column(String(255), primary_key=True)
    document_id: Mapped[str] = Column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False)
    parent_id: Mapped[str | None] = Column(String(255))
    ordinal: Mapped[int] = Column(Integer, nullable=False)
    level: Mapped[int] = Column(Integer, nullable=False)
    label: Mapped[str] = Column(String(32), nullable=False)
    title: Mapped[str] = Column(Text, nullable=False)
    text: Mapped[str] = Column(Text, nullable=False)

    document: Mapped[Document] = relationship("Document", back_populates="sections")


class Fund(Base):
    __tablename__ = "funds"
    __table_args__ = (UniqueConstraint("document_id", "code"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    document_id: Mapped[str] = Column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False)
    code: Mapped[str] = Column(String(64), nullable=False)
    name: Mapped[str] = Column(Text, nullable=False)  # 《…支持资金管理办法(试行)》 without 《》
    short_name: Mapped[str] = Column(Text, nullable=False)
    aliases: Mapped[list[str]] = Column(JSON, nullable=False, default=list)
    section_id: Mapped[str] = Column(ForeignKey("sections.id"), nullable=False)
    group_title: Mapped[str] = Column(Text, nullable=False)

    measures: Mapped[list[Measure]] = relationship(
        "Measure", back_populates="fund", order_by="Measure.number"
    )


class Topic(Base):
    __tablename__ = "topics"

    code: Mapped[str] = Column(String(64), primary_key=True)
    name: Mapped[str] = Column(Text, nullable=False)
    keywords: Mapped[list[str]] = Column(JSON, nullable=False, default=list)


class Measure(Base):
    __tablename__ = "measures"

    id: Mapped[str] = Column(ForeignKey("sections.id"), primary_key=True)  # the section id
    document_id: Mapped[str] = Column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False)
    number: Mapped[int] = Column(Integer, nullable=False)
    title: Mapped[str] = Column(Text, nullable=False)
    text: Mapped[str] = Column(Text, nullable=False)
    fund_id: Mapped[int | None] = Column(ForeignKey("funds.id"))
    keywords: Mapped[list[str]] = Column(JSON, nullable=False, default=list)
    #: kinds of applicant the measure names: [{kind, quote}] (empty: it names no one in particular)
    supports: Mapped[list[dict[str, str]]] = Column(JSON, nullable=False, default=list)

    fund: Mapped[Fund | None] = relationship("Fund", back_populates="measures")
    topics: Mapped[list[Topic]] = relationship("Topic", secondary=measure_topics)


class SubjectType(Base):
    __tablename__ = "subject_types"
    __table_args__ = (UniqueConstraint("document_id", "code"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    document_id: Mapped[str] = Column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False)
    code: Mapped[str] = Column(String(64), nullable=False)
    name: Mapped[str] = Column(Text, nullable=False)
    aliases: Mapped[list[str]] = Column(JSON, nullable=False, default=list)


class Condition(Base):
    """One eligibility condition: a profile field and the values that meet it."""

    __tablename__ = "conditions"

    id: Mapped[int] = Column(Integer, primary_key=True)
    document_id: Mapped[str] = Column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False)
    ordinal: Mapped[int] = Column(Integer, nullable=False)
    code: Mapped[str] = Column(String(64), nullable=False)
    field: Mapped[str] = Column(String(64), nullable=False)
    label: Mapped[str] = Column(Text, nullable=False)
    accept: Mapped[list[str]] = Column(JSON, nullable=False)
    reference: Mapped[list[str]] = Column(JSON, nullable=False, default=list)
    applies_to: Mapped[list[str]] = Column(JSON, nullable=False, default=list)  # empty: everyone
    conditional: Mapped[list[str]] = Column(JSON, nullable=False, default=list)  # met or 参照执行, not yet known which
    section_id: Mapped[str] = Column(ForeignKey("sections.id"), nullable=False)
    quote: Mapped[str] = Column(Text, nullable=False)
    reference_quote: Mapped[str | None] = Column(Text)


class Material(Base):
    __tablename__ = "materials"

    id: Mapped[int] = Column(Integer, primary_key=True)
    document_id: Mapped[str] = Column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False)
    ordinal: Mapped[int] = Column(Integer, nullable=False)
    name: Mapped[str] = Column(Text, nullable=False)
    source: Mapped[str] = Column(String(16), nullable=False)  # "clause" | "typical"
    fund_codes: Mapped[list[str]] = Column(JSON, nullable=False, default=list)  # empty: every fund
    measure_numbers: Mapped[list[int]] = Column(JSON, nullable=False, default=list)  # empty: every
    subject_types: Mapped[list[str]] = Column(JSON, nullable=False, default=list)  # empty: everyone
    section_id: Mapped[str | None] = Column(ForeignKey("sections.id"))
    quote: Mapped[str | None] = Column(Text)


class Fact(Base):
    __tablename__ = "facts"
    __table_args__ = (UniqueConstraint("document_id", "code"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    document_id: Mapped[str] = Column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False)
    code: Mapped[str] = Column(String(64), nullable=False)
    question: Mapped[str] = Column(Text, nullable=False)
    section_id: Mapped[str] = Column(ForeignKey("sections.id"), nullable=False)
    quote: Mapped[str] = Column(Text, nullable=False)


class Passage(Base):
    """A searchable passage of the document index, with its tokens (built at ingest)."""

    __tablename__ = "passages"

    id: Mapped[int] = Column(Integer, primary_key=True)
    document_id: Mapped[str] = Column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False)
    section_id: Mapped[str] = Column(ForeignKey("sections.id"), nullable=False)
    citation: Mapped[str] = Column(Text, nullable=False)
    title: Mapped[str] = Column(Text, nullable=False)
    text: Mapped[str] = Column(Text, nullable=False)
    tokens: Mapped[list[str]] = Column(JSON, nullable=False)


class LexiconEntry(Base):
    """A policy term for the tokeniser; with ``canonical`` set, a user's word for a document term."""

    __tablename__ = "lexicon"

    id: Mapped[int] = Column(Integer, primary_key=True)
    surface: Mapped[str] = Column(String(128), nullable=False)
    canonical: Mapped[str | None] = Column(String(128))


class Meta(Base):
    __tablename__ = "meta"

    key: Mapped[str] = Column(String(64), primary_key=True)
    value: Mapped[str] = Column(Text, nullable=False)
