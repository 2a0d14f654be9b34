"""What the store's queries return: plain frozen records (never ORM rows), usable from any thread after the
session closed, and the conversion of a stored row into its record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.knowledge import models as m
from bot.knowledge.parser import citation_text


class StoreNotReady(RuntimeError):
    """The store has not been built: run ``python -m bot ingest``."""


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
    aliases: list[str] = field(default_factory=list)  # what users call it besides 文号 and title (knowledge.yml)
    is_default: bool = False  # questions are about it unless they name another document (knowledge.yml)
    approval: str | None = None  # "已经……审议通过", from the notice

    @property
    def ref(self) -> str:
        return self.doc_number or f"《{self.title}》"

    @property
    def named(self) -> str:
        """The document as an answer names it: 《title》（文号）."""
        return f"《{self.title}》（{self.doc_number}）" if self.doc_number else f"《{self.title}》"

    @property
    def header_citation(self) -> str:
        """Where 文号, issuers and date stand: the notice that issues the measures, not the measures' preamble."""
        return f"{self.ref} 印发通知（文头）"

    def unstated_topic(self, text: str) -> dict[str, Any] | None:
        """The thing the document does not state that a question asks about (longest cue wins), or None."""
        best: tuple[int, dict[str, Any]] | None = None
        lowered = text.lower()
        plain = lowered.replace("的", "")  # "示范区的范围" says what the cue 示范区范围 says
        for item in self.unstated:
            for cue in item.get("cues") or []:
                cue = cue.lower()
                if cue and (cue in lowered or cue.replace("的", "") in plain) and (best is None or len(cue) > best[0]):
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
    search_score: float = 0.0  # the index's score of the document's best measure passage (bot.knowledge.relevance)
    #: measures of other funds that the user's own words name ("公共服务设施" beside a 互联网+ platform)
    others: list[MeasureInfo] = field(default_factory=list)


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


def document_record(r: m.Document) -> DocumentInfo:
    return DocumentInfo(r.id, r.title, r.short_name, r.doc_number, list(r.issuers), r.issued, r.effective,
                        r.effective_date, list(r.repeals), list(r.silent_on), list(r.unstated or []),
                        list(r.aliases or []), bool(r.is_default), r.approval)


def measure_record(r: m.Measure, refs: dict[str, str]) -> MeasureInfo:
    """``refs``: document id → how a citation names the document (文号, else 《title》)."""
    return MeasureInfo(
        section_id=r.id, document_id=r.document_id, number=r.number, title=r.title, text=r.text,
        citation=citation_text(refs[r.document_id], r.id, r.title),
        fund_code=r.fund.code if r.fund else None, fund_name=r.fund.short_name if r.fund else None,
        topics=[t.code for t in r.topics], keywords=list(r.keywords), supports=list(r.supports or []),
    )
