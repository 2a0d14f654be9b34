"""Entity vocabulary: users' words for profile facts, topics, funds and document facts → codes.

One table (``entities`` in ``policy_corpus/lexicon.yml`` plus each document's fund names) serves the NLU (the
spaCy pipeline's entity_ruler patterns, and the synonyms exported to ``data/nlu/entities.yml``) and the actions,
which map any entity text, or a whole message the NLU did not annotate, to codes with :meth:`Vocabulary.find`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.corpus import LEXICON_NAME, KNOWLEDGE_NAME, document_dirs
from bot.knowledge.matching import parse_measure_number
from bot.knowledge.writing import TypoRepair

HIGHTECH_NONE = "none"
_ANNOTATION = re.compile(r'\[([^\]]+)\]\{"entity":\s*"(\w+)",\s*"value":\s*"([^"]+)"\}')
MEASURE_PATTERN = (r"(?:第\s*(?:[0-9]{1,2}|[一二两三四五六七八九十]{1,3})\s*(?:(?:条|项|款|点)|(?![个次批年季位名期轮天届部分]))"
                   r"|措施\s*(?:[0-9]{1,2}|[一二两三四五六七八九十]{1,3})"
                   r"|(?:[0-9]{1,2}|十[一二三四五六七八九]?|[一二]十[一二三四五六七八九]?)\s*条"
                   r"|(?:[0-9]{1,2}|[一二两三四五六七八九十]{1,3})\s*号措施"
                   r"|条款\s*[0-9]{1,2})")


#: When a message mentions several values of one entity, the more telling one wins: a certificate beats a
#: "not high-tech" (不是国高但有中关村高新), and a definite place beats a bare district (北京非示范区).
WEAK_VALUES = {"hightech": ("none",), "registration": ("beijing",), "subject_type": ("ambiguous",)}


def preferred(entity: str, codes: list[str]) -> str | None:
    codes = [c for c in codes if c]
    if not codes:
        return None
    weak = WEAK_VALUES.get(entity, ())
    strong = [c for c in codes if c not in weak]
    return strong[0] if strong else codes[0]


@dataclass(frozen=True)
class Match:
    entity: str
    value: str
    start: int
    end: int
    text: str


#: a kind named as the other party of a deal ("从高校买个专利", "跟研究所合作"), not as who applies
COUNTERPART_BEFORE = re.compile(r"(?:从|向|跟|和|与|同)[^，,。；;？?！!\s]{0,2}$")
COUNTERPART_AFTER = re.compile(r"^[^，,。；;？?！!\s]{0,3}?(?:买|购|采购|引进|合作|受让|转让|授权|许可|签|租|借|拿)")


def is_counterpart(text: str, start: int, end: int) -> bool:
    """The words at text[start:end] name the other party of a deal, not the applicant."""
    return bool(COUNTERPART_BEFORE.search(text[:start]) and COUNTERPART_AFTER.search(text[end:end + 6]))


class Vocabulary:
    def __init__(self, entities: dict[str, dict[str, list[str]]], negations: list[str],
                 not_followed_by: dict[str, list[str]], other_policies: list[str] | None = None,
                 pending: list[str] | None = None, ambiguous_subjects: dict[str, dict[str, Any]] | None = None,
                 applicant_kinds: dict[str, dict[str, Any]] | None = None,
                 english: dict[str, str] | None = None, off_topics: list[str] | None = None,
                 abbreviations: dict[str, str] | None = None, dialect: dict[str, str] | None = None) -> None:
        self.entities = entities
        #: written Cantonese → Mandarin (冇 → 没有, 喺 → 在)
        self.dialect = dialect or {}
        #: pinyin initials users type inside Chinese (gxqy → 高新企业, zgc → 中关村)
        self.abbreviations = {k.lower(): v for k, v in (abbreviations or {}).items()}
        #: matters outside enterprise support funds that share words with the document (房贷, 信用卡, 出口退税)
        self.off_topics = sorted(off_topics or [], key=len, reverse=True)
        #: kinds 三（一） does not settle by name → {options, note}, keyed by (part of) the user's word
        self.ambiguous_subjects = ambiguous_subjects or {}
        #: kinds of applicant the measures name → {name, words}
        self.applicant_kinds = applicant_kinds or {}
        #: English words → the corpus's Chinese words
        self.english = english or {}
        self.pending = sorted(pending or [], key=len, reverse=True)
        #: policies users ask about that the corpus does not cover (专精特新, 加计扣除 …)
        self.other_policies = sorted(other_policies or [], key=len, reverse=True)
        self.negations = sorted(negations, key=len, reverse=True)
        self.not_followed_by = not_followed_by
        #: a surface right after one of these is part of another word ("另外资金" holds no 外资)
        self.not_preceded_by: dict[str, list[str]] = {}

    @classmethod
    def from_corpus(cls, corpus_dir: Path) -> Vocabulary:
        data: dict[str, Any] = yaml.safe_load((corpus_dir / LEXICON_NAME).read_text(encoding="utf-8")) or {}
        entities = {name: {code: list(words) for code, words in table.items()}
                    for name, table in (data.get("entities") or {}).items()}
        funds: dict[str, list[str]] = {}
        for folder in document_dirs(corpus_dir):
            path = folder / KNOWLEDGE_NAME
            if not path.exists():
                continue
            knowledge = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for fund in knowledge.get("funds") or []:
                words = funds.setdefault(fund["code"], [])
                words.extend([f"{fund['short_name']}资金", fund["short_name"], *fund.get("aliases", [])])
        entities["fund"] = funds
        vocabulary = cls(entities, list(data.get("negations") or []), dict(data.get("not_followed_by") or {}),
                   list(data.get("other_policies") or []), list(data.get("pending") or []),
                   dict(data.get("ambiguous_subjects") or {}), dict(data.get("applicant_kinds") or {}),
                   {str(k): str(v) for k, v in (data.get("english") or {}).items()},
                   list(data.get("off_topics") or []),
                   {str(k): str(v) for k, v in (data.get("abbreviations") or {}).items()},
                   {str(k): str(v) for k, v in (data.get("dialect") or {}).items()})
        vocabulary.not_preceded_by = {str(k): [str(b) for b in v] for k, v in (data.get("not_preceded_by") or {}).items()}
        return vocabulary

    def learn(self, examples_dir: Path, skip: str = "entities.yml") -> int:
        """Add the entity spans annotated in the NLU training data (typos such as 国搞 included).

        A span is taken only when it is two characters or more and no other code already claims it.
        Returns how many surfaces were added.
        """
        claimed = {w.lower(): code for table in self.entities.values() for code, ws in table.items() for w in ws}
        added = 0
        for path in sorted(examples_dir.glob("*.yml")):
            if path.name == skip:
                continue
            for span, entity, value in _ANNOTATION.findall(path.read_text(encoding="utf-8")):
                if entity not in self.entities or len(span) < 2 or span.lower() in claimed:
                    continue
                self.entities[entity].setdefault(value, []).append(span)
                claimed[span.lower()] = value
                added += 1
        self.__dict__.pop("_compiled", None)
        return added

    @cached_property
    def typos(self) -> TypoRepair:
        """Repairs one sound-alike wrong character in the terms users type (中观村 → 中关村)."""
        words = [w for table in self.entities.values() for ws in table.values() for w in ws]
        words += [w for k in self.applicant_kinds.values() for w in k.get("words") or []]
        words += [*self.other_policies, *self.ambiguous_subjects]
        return TypoRepair(words)

    def kinds_in(self, text: str) -> list[str]:
        """The kinds of applicant a text names (lexicon ``applicant_kinds``), longest word first, each once."""
        pairs = sorted(((w, code) for code, k in self.applicant_kinds.items() for w in k.get("words") or []),
                       key=lambda p: -len(p[0]))
        lowered, found = text.lower(), []
        for word, code in pairs:
            if word.lower() in lowered:
                counterpart = all(is_counterpart(lowered, m.start(), m.end())
                                  for m in re.finditer(re.escape(word.lower()), lowered))
                lowered = lowered.replace(word.lower(), " ")
                if code not in found and not counterpart:
                    found.append(code)
        return found

    def kind_name(self, code: str) -> str:
        return str((self.applicant_kinds.get(code) or {}).get("name") or code)

    def ambiguity(self, text: str) -> tuple[str, dict[str, Any]] | None:
        """(the user's word, {options, note}) when the text names a kind 三（一） does not settle."""
        for key in sorted(self.ambiguous_subjects, key=len, reverse=True):
            if key in text:
                return key, self.ambiguous_subjects[key]
        return None

    def other_policy_in(self, text: str) -> str | None:
        lowered = text.lower()
        return next((t for t in self.other_policies if t.lower() in lowered), None)

    def off_topic_in(self, text: str) -> str | None:
        lowered = text.lower()
        return next((t for t in self.off_topics if t.lower() in lowered), None)

    def _surface_pattern(self, word: str) -> str:
        escaped = "".join(f"(?<!{re.escape(b)})" for b in self.not_preceded_by.get(word, [])) + re.escape(word)
        blocked = self.not_followed_by.get(word)
        if blocked:
            escaped += "(?!" + "|".join(re.escape(b) for b in blocked) + ")"
        return escaped

    def surfaces(self, entity: str) -> list[tuple[str, str]]:
        """(surface, code) pairs, longest surface first."""
        pairs = [(w, code) for code, words in self.entities.get(entity, {}).items() for w in words]
        return sorted(pairs, key=lambda p: (-len(p[0]), p[0]))

    def negated_hightech_pattern(self) -> str:
        terms = "|".join(re.escape(w) for w, _ in self.surfaces("hightech"))
        negs = "|".join(re.escape(n) for n in self.negations)
        # "没有去评过高新", "还没拿过国高"
        before = (f"(?:暂时|目前|还)?(?:{negs})(?:去|再)?(?:认定|评上|评|拿到|拿|通过|获得|取得|申请到|申请|办|属于|是)?"
                  f"(?:过)?(?:的)?(?:{terms})")
        # "高企和中关村高新都没有": every certificate named, then denied
        # ("国高中关村高新都没有": the two named without a word between them)
        both = f"(?:{terms})(?:资质)?(?:和|、|跟|与|或|还是|，|,|\\s)?(?:{terms})(?:资质)?(?:都|也|全)(?:还)?(?:没有|没|不是|没评上)"
        before = f"{both}|{before}"
        if not self.pending:
            return before
        after = "|".join(re.escape(p) for p in self.pending)
        # "中关村高新没有过期" still holds it
        return f"(?:{before}|(?:{terms})(?:资质|证书|认定)?(?:还|也)?(?:{after})(?!过期|到期|失效|问题|被取消))"

    def pattern(self, entity: str) -> str:
        """One regex for an entity: alternatives longest first, with the not-followed-by guards."""
        alternatives = [self._surface_pattern(w) for w, _ in self.surfaces(entity)]
        if entity == "hightech":
            alternatives.insert(0, self.negated_hightech_pattern())
        if entity == "measure":
            return MEASURE_PATTERN
        return "(?:" + "|".join(alternatives) + ")"

    @cached_property
    def _compiled(self) -> dict[str, re.Pattern[str]]:
        names = [*self.entities, "measure"]
        return {name: re.compile(self.pattern(name), re.IGNORECASE) for name in names}

    def code(self, entity: str, text: str) -> str | None:
        """The code for one entity text ("国高" → national, "不是国高" → none, "第五条" → "5")."""
        text = text.strip()
        if entity == "measure":
            number = parse_measure_number(text)
            return str(number) if number is not None else None
        table = self.entities.get(entity, {})
        if text in table:
            return text
        if entity == "hightech" and re.fullmatch(self.negated_hightech_pattern(), text, re.IGNORECASE):
            return HIGHTECH_NONE
        for surface, code in self.surfaces(entity):
            if surface.lower() == text.lower():
                return code
        found = self.find(text, entity)
        return found[0].value if found else None

    def best(self, text: str, entity: str) -> str | None:
        """The one code a message gives for an entity (see :data:`WEAK_VALUES`)."""
        return preferred(entity, [m.value for m in self.find(text, entity)])

    def without(self, text: str, entity: str) -> str:
        """The text with every mention of an entity blanked out ("文号多少 孵化器能申请不" → " 多少 孵化器能申请不")."""
        for m in sorted(self.find(text, entity), key=lambda m: -m.start):
            text = text[:m.start] + " " + text[m.end:]
        return text

    def find(self, text: str, entity: str) -> list[Match]:
        """Every mention of an entity in a text, with its code."""
        out = []
        for m in self._compiled[entity].finditer(text):
            value = self.code(entity, m.group(0)) if entity == "measure" else self._code_of_surface(entity, m.group(0))
            if value:
                out.append(Match(entity, value, m.start(), m.end(), m.group(0)))
        return out

    def _code_of_surface(self, entity: str, surface: str) -> str | None:
        if entity == "hightech" and re.fullmatch(self.negated_hightech_pattern(), surface, re.IGNORECASE):
            return HIGHTECH_NONE
        for word, code in self.surfaces(entity):
            if word.lower() == surface.lower():
                return code
        return None

    def synonyms(self) -> dict[str, list[str]]:
        """code → surfaces, for the NLU's EntitySynonymMapper (a surface maps to one code across entities)."""
        seen: dict[str, str] = {}
        out: dict[str, list[str]] = {}
        for entity in self.entities:
            for surface, code in self.surfaces(entity):
                key = surface.lower()
                if key in seen or surface == code:
                    continue
                seen[key] = code
                out.setdefault(code, []).append(surface)
        return out

    def conflicts(self) -> list[str]:
        """Surfaces that map to different codes (the NLU's synonym table cannot hold both)."""
        codes: dict[str, set[tuple[str, str]]] = {}
        for entity in self.entities:
            for surface, code in self.surfaces(entity):
                codes.setdefault(surface.lower(), set()).add((entity, code))
        return sorted(f"{s}: {sorted(v)}" for s, v in codes.items() if len({c for _, c in v}) > 1)


def export_nlu(vocab: Vocabulary) -> str:
    """The Rasa NLU file with the synonym table (surface → code) for ``EntitySynonymMapper``.

    The entities themselves come from the spaCy pipeline (``bot/nlu/spacy_pipeline.py``)."""
    lines = [
        "# Generated by `python -m bot export-nlu` from policy_corpus/lexicon.yml, the funds of each knowledge.yml",
        "# and the spans annotated in data/nlu. Do not edit by hand: edit those files and run `make train` (a test",
        "# checks it is current).",
        'version: "3.1"',
        "nlu:",
    ]
    for code, surfaces in sorted(vocab.synonyms().items()):
        lines += [f"- synonym: {code}", "  examples: |"]
        lines += [f"    - {s}" for s in surfaces]
    return "\n".join(lines) + "\n"
