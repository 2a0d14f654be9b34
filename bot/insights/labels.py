"""Labels on unanswered questions, and their export for review (`python -m bot label`, `python -m bot
export-labels`).

A label says what a question should have got: an ``intent`` of the domain, the ``section`` of the corpus that
answers it (a measure's section id, e.g. ``zgc-2022/二/（三）/9``), or ``out_of_scope``. Labels live in the
helpdesk database (table ``helpdesk_labels``), their text masked. They never change the bot by themselves: the
export writes

* ``data/nlu/reviewed.yml``: Rasa NLU YAML, one block per intent (out-of-scope questions under ``out_of_scope``),
  picked up by `make train` once committed;
* ``tests/data/search_reviewed.yml``: labelled search questions (``q`` / ``expect``, the shape of
  ``tests/data/search_questions.yml``) for the search evaluation.

The newest label of a text wins; texts are exported sorted, so the files change only when labels do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable

import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.helpdesk.models import Label
from bot.masking import mask_personal_data

OUT_OF_SCOPE_INTENT = "out_of_scope"
NOT_TRAINABLE = {"nlu_fallback"}
MAX_TEXT = 500


@dataclass(frozen=True)
class LabelInfo:
    id: int
    text: str
    intent: str | None
    section_id: str | None
    out_of_scope: bool
    staff_id: int | None
    created_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "text": self.text, "intent": self.intent, "section": self.section_id,
                "out_of_scope": self.out_of_scope, "staff_id": self.staff_id,
                "created_at": self.created_at.isoformat() + "Z"}


def domain_intents(domain_file: Path) -> set[str]:
    data = yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}
    return {i if isinstance(i, str) else next(iter(i)) for i in data.get("intents", [])}


def _clean(text: str) -> str:
    return " ".join(mask_personal_data(str(text)).split())[:MAX_TEXT]


def add_labels(engine: Engine, texts: Iterable[str], *, intent: str | None = None, section_id: str | None = None,
               out_of_scope: bool = False, staff_id: int | None = None, intents: set[str] | None = None,
               sections: set[str] | None = None, now: datetime | None = None) -> list[LabelInfo]:
    """Label each text (masked, whitespace collapsed). ``intents`` / ``sections``: the known ones, checked when
    given. Raises ValueError for a label that says nothing or a name that does not exist."""
    from bot.helpdesk.service import utcnow

    if out_of_scope and (intent or section_id):
        raise ValueError("a question out of scope has no intent or section")
    if not (out_of_scope or intent or section_id):
        raise ValueError("give an intent, a section, or out of scope")
    if intent and (intent in NOT_TRAINABLE or (intents is not None and intent not in intents)):
        raise ValueError(f"unknown intent {intent!r}")
    if section_id and sections is not None and section_id not in sections:
        raise ValueError(f"unknown section {section_id!r}")
    cleaned = [t for t in dict.fromkeys(_clean(t) for t in texts) if t and not t.startswith("/")]
    if not cleaned:
        raise ValueError("no question to label")
    stamp = now or utcnow()
    with Session(engine, future=True) as s, s.begin():
        rows = [Label(text=t, intent=intent, section_id=section_id, out_of_scope=out_of_scope, staff_id=staff_id,
                      created_at=stamp) for t in cleaned]
        s.add_all(rows)
        s.flush()
        return [_info(r) for r in rows]


def _info(r: Label) -> LabelInfo:
    return LabelInfo(r.id, r.text, r.intent, r.section_id, bool(r.out_of_scope), r.staff_id, r.created_at)


def list_labels(engine: Engine) -> list[LabelInfo]:
    """The newest label of each text."""
    from sqlalchemy import inspect

    if not inspect(engine).has_table(Label.__tablename__):
        return []
    with Session(engine, future=True) as s:
        rows = s.scalars(select(Label).order_by(Label.created_at, Label.id)).all()
        latest = {r.text: _info(r) for r in rows}
    return sorted(latest.values(), key=lambda lab: lab.text)


_ANNOTATION = str.maketrans({"[": "［", "]": "］", "{": "｛", "}": "｝"})


def _literal_safe(text: str) -> str:
    """One line, with no bracket Rasa would read as an entity annotation."""
    return " ".join(text.split()).translate(_ANNOTATION)


def nlu_yaml(labels: list[LabelInfo]) -> str:
    by_intent: dict[str, list[str]] = {}
    for lab in labels:
        intent = OUT_OF_SCOPE_INTENT if lab.out_of_scope else lab.intent
        if intent:
            by_intent.setdefault(intent, []).append(_literal_safe(lab.text))
    lines = ["# Reviewed by staff from the questions the bot could not answer (python -m bot export-labels).",
             "# Generated: edit the labels, not this file; commit it after review, then `make train`.",
             'version: "3.1"', "nlu:"]
    for intent in sorted(by_intent):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in sorted(set(by_intent[intent]))]
    if not by_intent:
        lines[-1] = "nlu: []"
    return "\n".join(lines) + "\n"


def search_yaml(labels: list[LabelInfo]) -> str:
    questions = [{"q": lab.text, "expect": lab.section_id} for lab in labels if lab.section_id]
    head = ("# Labelled search questions reviewed by staff (python -m bot export-labels); the shape of\n"
            "# tests/data/search_questions.yml. Generated: edit the labels, not this file.\n")
    return head + yaml.safe_dump({"questions": questions}, allow_unicode=True, sort_keys=False)


@dataclass(frozen=True)
class ExportResult:
    nlu_examples: int
    search_questions: int


def export_labels(engine: Engine, nlu_file: Path, search_file: Path) -> ExportResult:
    labels = list_labels(engine)
    nlu_file.parent.mkdir(parents=True, exist_ok=True)
    search_file.parent.mkdir(parents=True, exist_ok=True)
    nlu_file.write_text(nlu_yaml(labels), encoding="utf-8")
    search_file.write_text(search_yaml(labels), encoding="utf-8")
    return ExportResult(sum(1 for lab in labels if lab.out_of_scope or lab.intent),
                        sum(1 for lab in labels if lab.section_id))
