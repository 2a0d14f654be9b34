"""The policy corpus on disk: documents, their curated knowledge, and the shared lexicon.

Layout (see README)::

    policy_corpus/
      lexicon.yml                 synonyms, user-dictionary terms, need topics (all documents)
      <doc-id>/source.txt         the document as extracted (UTF-8, UTF-8 with BOM, or GBK)
      <doc-id>/knowledge.yml      optional curated knowledge citing sections of source.txt

A document folder without knowledge.yml is still parsed and searchable. :func:`load_corpus` parses and
checks everything before anything is written, so a bad file never leaves a half-built store.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.parser import DocumentError, PolicyDocument, canonical, parse_text, read_text

log = logging.getLogger(__name__)

SOURCE_NAME = "source.txt"
KNOWLEDGE_NAME = "knowledge.yml"
LEXICON_NAME = "lexicon.yml"
PROFILE_FIELDS = {
    "subject_type": {"enterprise", "university", "research_institute", "service_org", "social_org", "other"},
    # beijing: in Beijing, not known whether inside the 示范区 (a district or park name)
    "registration": {"zgc", "beijing_other", "beijing", "outside"},
    # certified: high-tech, the certificate not named
    "hightech": {"national", "zgc", "certified", "none"},
}
MATERIAL_SOURCES = ("clause", "typical")


class CorpusError(ValueError):
    """The corpus cannot be ingested; ``problems`` lists every reason found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Lexicon:
    synonyms: dict[str, list[str]] = field(default_factory=dict)  # canonical → user words
    terms: list[str] = field(default_factory=list)
    topics: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: kinds of applicant the measures name: code → {name, words}
    applicant_kinds: dict[str, dict[str, Any]] = field(default_factory=dict)

    def pairs(self) -> list[tuple[str, str]]:
        return [(s, c) for c, surfaces in self.synonyms.items() for s in surfaces]


@dataclass
class CorpusDocument:
    doc: PolicyDocument
    knowledge: dict[str, Any]
    source_path: Path
    checksum: str


@dataclass
class Corpus:
    lexicon: Lexicon
    documents: list[CorpusDocument]
    warnings: list[str] = field(default_factory=list)


def load_lexicon(corpus_dir: Path) -> Lexicon:
    path = corpus_dir / LEXICON_NAME
    if not path.exists():
        return Lexicon()
    data = _yaml(path)
    return Lexicon(
        synonyms={str(k): [str(s) for s in v] for k, v in (data.get("synonyms") or {}).items()},
        terms=[str(t) for t in data.get("terms") or []],
        topics=_topics(data),
        applicant_kinds={str(k): dict(v) for k, v in (data.get("applicant_kinds") or {}).items()},
    )


def _topics(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Need topics with every word for them: the document's words (``topics``) and the words users type, which the
    NLU tags (``entities.topic``: 买专利, 核心技术人员, 公共服务设施) — one list of user words, used by both."""
    user_words = (data.get("entities") or {}).get("topic") or {}
    out: dict[str, dict[str, Any]] = {}
    for code, topic in (data.get("topics") or {}).items():
        keywords = [str(w) for w in topic.get("keywords") or []]
        keywords += [str(w) for w in user_words.get(code) or [] if str(w) not in keywords]
        out[str(code)] = {**dict(topic), "keywords": keywords}
    return out


def _yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CorpusError([f"{path}: not valid YAML: {exc}"]) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CorpusError([f"{path}: expected a mapping at the top level"])
    return data


def document_dirs(corpus_dir: Path) -> list[Path]:
    return sorted(p for p in corpus_dir.iterdir() if p.is_dir() and (p / SOURCE_NAME).exists())


def load_corpus(corpus_dir: Path) -> Corpus:
    """Parse every document and check its curated knowledge; raise CorpusError listing all problems."""
    if not corpus_dir.is_dir():
        raise CorpusError([f"{corpus_dir}: corpus folder not found"])
    lexicon = load_lexicon(corpus_dir)
    problems: list[str] = []
    documents: list[CorpusDocument] = []
    warnings: list[str] = []
    dirs = document_dirs(corpus_dir)
    if not dirs:
        problems.append(f"{corpus_dir}: no document folders (<doc-id>/{SOURCE_NAME})")
    for folder in dirs:
        source = folder / SOURCE_NAME
        try:
            text = read_text(source)
            doc = parse_text(folder.name, text)
        except DocumentError as exc:
            problems.append(str(exc))
            continue
        warnings.extend(doc.warnings)
        knowledge_path = folder / KNOWLEDGE_NAME
        knowledge = _yaml(knowledge_path) if knowledge_path.exists() else {}
        if not knowledge:
            warnings.append(f"{folder.name}: no {KNOWLEDGE_NAME}; searchable, but no funds/eligibility")
        problems.extend(f"{knowledge_path}: {p}" for p in check_knowledge(doc, knowledge, lexicon))
        checksum = hashlib.sha256(source.read_bytes()).hexdigest()
        documents.append(CorpusDocument(doc, knowledge, source, checksum))
    defaults = [d.doc.doc_id for d in documents if (d.knowledge.get("document") or {}).get("default")]
    if len(defaults) > 1:
        problems.append(f"{corpus_dir}: more than one document is marked default: {', '.join(defaults)}")
    if problems:
        raise CorpusError(problems)
    return Corpus(lexicon, documents, warnings)


def _quote_ok(doc: PolicyDocument, section_id: str, quote: str) -> bool:
    section = doc.section(section_id)
    return canonical(quote) in canonical(section.title + section.text)


def check_knowledge(doc: PolicyDocument, knowledge: dict[str, Any], lexicon: Lexicon) -> list[str]:
    """Every cited section exists; every quote occurs in the section it cites; codes are known."""
    problems: list[str] = []
    ids = {s.id for s in doc.sections}

    def cite(where: str, item: dict[str, Any], *, required: bool = True, quote_key: str = "quote") -> None:
        section_id = item.get("section")
        if not section_id:
            if required:
                problems.append(f"{where}: no section cited")
            return
        if section_id not in ids:
            problems.append(f"{where}: cites section {section_id!r}, which does not exist")
            return
        quote = item.get(quote_key)
        if quote is not None and not _quote_ok(doc, section_id, str(quote)):
            problems.append(f"{where}: {quote_key} {quote!r} does not occur in {section_id}")

    declared = (knowledge.get("document") or {}).get("id")
    if declared and declared != doc.doc_id:
        problems.append(f"document.id {declared!r} does not match the folder name {doc.doc_id!r}")
    parsed_funds = {f.section_id for f in doc.funds}
    fund_codes = set()
    for i, fund in enumerate(knowledge.get("funds") or []):
        cite(f"funds[{i}]", fund)
        fund_codes.add(fund.get("code"))
        if fund.get("section") not in parsed_funds:
            problems.append(f"funds[{i}]: {fund.get('section')!r} sets up no 支持资金管理办法 in the text")
    numbers = {m.number for m in doc.measures}
    for i, measure in enumerate(knowledge.get("measures") or []):
        cite(f"measures[{i}]", measure)
        if measure.get("section") in ids and doc.section(measure["section"]).number is None:
            problems.append(f"measures[{i}]: {measure['section']!r} is not a numbered measure")
        for topic in measure.get("topics") or []:
            if topic not in lexicon.topics:
                problems.append(f"measures[{i}]: topic {topic!r} is not in {LEXICON_NAME}")
        for j, who in enumerate(measure.get("supports") or []):
            cite(f"measures[{i}].supports[{j}]", {"section": measure.get("section"), "quote": who.get("quote")})
            if not who.get("quote"):
                problems.append(f"measures[{i}].supports[{j}]: needs the words of the measure that name the kind")
            if who.get("kind") not in lexicon.applicant_kinds:
                problems.append(f"measures[{i}].supports[{j}]: kind {who.get('kind')!r} is not in {LEXICON_NAME}")
    subject_codes = {s.get("code") for s in knowledge.get("subject_types") or []}
    eligibility = knowledge.get("eligibility") or {}
    for i, cond in enumerate(eligibility.get("conditions") or []):
        where = f"eligibility.conditions[{i}]"
        item = {"section": eligibility.get("section"), **cond}
        cite(where, item)
        if cond.get("reference_quote"):
            cite(where, item, quote_key="reference_quote")
        field_name = cond.get("field")
        if field_name not in PROFILE_FIELDS:
            problems.append(f"{where}: field {field_name!r} is not one of {sorted(PROFILE_FIELDS)}")
            continue
        for value in [*(cond.get("accept") or []), *(cond.get("reference") or []), *(cond.get("conditional") or [])]:
            if value not in PROFILE_FIELDS[field_name]:
                problems.append(f"{where}: value {value!r} is not a {field_name}")
        for code in cond.get("applies_to") or []:
            if code not in subject_codes:
                problems.append(f"{where}: applies_to {code!r} is not a subject type")
    if methods := knowledge.get("support_methods"):
        cite("support_methods", methods)
        for name in methods.get("items") or []:
            if canonical(name) not in canonical(str(methods.get("quote", ""))):
                problems.append(f"support_methods: {name!r} is not in its quote")
    for i, item in enumerate(knowledge.get("unstated") or []):
        cite(f"unstated[{i}]", item)
        if not item.get("cues") or not item.get("topic") or not item.get("quote"):
            problems.append(f"unstated[{i}]: needs a topic, cue words and the nearest clause's quote")
    for i, fact in enumerate(knowledge.get("facts") or []):
        cite(f"facts[{i}]", fact)
        if not fact.get("quote"):
            problems.append(f"facts[{i}]: a fact needs the quote it rests on")
    for i, material in enumerate(knowledge.get("materials") or []):
        where = f"materials[{i}] {material.get('name', '')!r}"
        source = material.get("source")
        if source == "clause":
            cite(where, material)
            if not material.get("quote"):
                problems.append(f"{where}: a clause material needs the clause it rests on")
        elif source == "typical":
            if material.get("section") or material.get("quote"):
                problems.append(f"{where}: a typical material cites nothing (it is not in the document)")
        else:
            problems.append(f"{where}: source must be one of {MATERIAL_SOURCES}, not {source!r}")
        funds = material.get("funds", "all")
        if funds != "all":
            for code in funds:
                if code not in fund_codes:
                    problems.append(f"{where}: fund {code!r} is not defined in funds")
        for n in material.get("measures") or []:
            if n not in numbers:
                problems.append(f"{where}: measure {n} does not exist")
    return problems
