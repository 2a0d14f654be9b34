"""Who may apply: a profile judged against one document's curated conditions, a status per condition."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.knowledge import models as m
from bot.knowledge.parser import citation_text
from bot.knowledge.records import ConditionResult, DocumentInfo, Verdict


def condition_status(c: m.Condition, value: str | None) -> str:
    """met | not_met | unknown (not known yet) | conditional (met or 参照执行, a fact to confirm) | reference."""
    if value is None:
        return "unknown"
    if value in c.accept:
        return "met"
    if value in c.reference:
        return "reference"
    if value in ("unknown", "ambiguous") or value in (c.conditional or []):
        return "conditional"
    return "not_met"


def outcome_of(results: list[ConditionResult]) -> str:
    """The verdict of all conditions: one not met settles it; otherwise the weakest status decides."""
    statuses = {r.status for r in results}
    if not results:
        return "unknown"
    for status, outcome in (("not_met", "not_eligible"), ("unknown", "unknown"), ("conditional", "conditional"),
                            ("reference", "reference")):
        if status in statuses:
            return outcome
    return "eligible"


def check_eligibility(session: Session, doc: DocumentInfo, profile: dict[str, Any]) -> Verdict:
    """A verdict per condition of ``doc`` for a profile {subject_type, registration, hightech}; None = unknown."""
    conds = session.scalars(select(m.Condition).where(m.Condition.document_id == doc.id)
                            .order_by(m.Condition.ordinal)).all()
    results: list[ConditionResult] = []
    missing: list[str] = []
    subject = profile.get("subject_type")
    citations: list[str] = []
    first_section = doc.id
    for c in conds:
        sec = session.get(m.Section, c.section_id)
        citations.append(citation_text(doc.ref, c.section_id, sec.title if sec else ""))
        first_section = first_section if citations[1:] else c.section_id
        if c.applies_to and subject is not None and subject not in c.applies_to:
            continue  # e.g. the high-tech condition does not apply to a university
        value = profile.get(c.field)
        status = condition_status(c, value)
        if status == "unknown":
            missing.append(c.field)
        quote = c.reference_quote if status == "reference" and c.reference_quote else c.quote
        results.append(ConditionResult(c.code, c.label, status, value, citations[-1], quote))
    citation = citations[0] if citations else doc.header_citation
    return Verdict(outcome_of(results), results, sorted(set(missing), key=missing.index), citation, first_section)
