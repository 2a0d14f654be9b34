"""Parse a plain-text Chinese policy document into header facts and a tree of sections.

The input is what a PDF extraction of a government document looks like: paragraphs separated by blank
lines, lines broken inside words at page ends ("先\\n\\n行先试"), stray spaces inside titles, full- and
half-width punctuation mixed. Headings follow the usual layout: 一、 / （一） / 1.

Section ids are stable paths: ``<doc>/二/（三）/9``. Labels are canonicalised to full-width brackets so
"(三)" and "（三）" give the same id.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

log = logging.getLogger(__name__)

CN_NUMERALS = "一二三四五六七八九十"
_CJK = r"\u3000-\u303f\u4e00-\u9fff\uff00-\uffef《》“”‘’〔〕"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])[ \t\u3000]+(?=[{_CJK}])")
_L1 = re.compile(rf"^([{CN_NUMERALS}]+)、\s*(.+)$")
_L2 = re.compile(rf"^[（(]\s*([{CN_NUMERALS}]+)\s*[）)]\s*(.+)$")
_L3 = re.compile(r"^(\d{1,3})\s*[.．、]\s*(\D.*)$")
_TERMINAL = tuple("。；：！？…”」』）)")
_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,8}〔\d{4}〕\d+号")
_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")
_APPROVAL = re.compile(r"已(?:经)?[^，。,]{2,60}?(?:审议通过|审议|通过)")
_NOTICE = re.compile(r"^(?P<issuers>.+?)(?:关于)?印发《(?P<title>.+)》的通知$")
_FUND = re.compile(r"制定实施《(?P<name>[^《》]+?支持资金管理办法[（(]试行[）)])》")
_EFFECTIVE = re.compile(r"本(?:措施|办法|规定|意见|通知|细则)自(?P<when>[^。，,]+?)起施行")
_REPEAL_SENTENCE = re.compile(r"[^。]*废止[^。]*。?")
_REPEALED = re.compile(r"《(?P<title>[^《》]+)》[（(](?P<number>[^（）()]+?〔\d{4}〕\d+号)[）)]")
#: A header paragraph this long is running text (a preamble), so page breaks inside it are repaired.
_HEADER_RUNNING_TEXT = 50


class DocumentError(ValueError):
    """The file cannot be read as a policy document (empty, binary, undecodable)."""


@dataclass
class Section:
    id: str
    label: str  # "二", "（三）", "9", or "" for the document root
    title: str
    level: int  # 0 root, 1 一、, 2 （一）, 3 1.
    paragraphs: list[str] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)
    parent_id: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)

    @property
    def number(self) -> int | None:
        return int(self.label) if self.level == 3 and self.label.isdigit() else None

    def walk(self) -> list[Section]:
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


@dataclass(frozen=True)
class Fund:
    name: str  # full title of the management method, without 《》
    section_id: str  # the group that sets it up
    group_title: str
    measure_numbers: tuple[int, ...]

    @property
    def short_name(self) -> str:
        name = re.sub(r"^中关村国家自主创新示范区", "", self.name)
        return re.sub(r"支持资金管理办法[（(]试行[）)]$", "", name)


@dataclass(frozen=True)
class RepealedDocument:
    title: str
    number: str


@dataclass
class PolicyDocument:
    doc_id: str
    title: str
    notice_title: str
    doc_number: str | None
    issuers: list[str]
    issued: date | None
    effective: str | None  # as the document says it, e.g. "自印发之日起施行"
    effective_date: date | None
    repeals: list[RepealedDocument]
    root: Section
    funds: list[Fund]
    warnings: list[str] = field(default_factory=list)
    approval: str | None = None  # "已经……行政办公会审议通过" (the notice)

    @property
    def sections(self) -> list[Section]:
        return self.root.walk()

    @property
    def measures(self) -> list[Section]:
        return [s for s in self.sections if s.number is not None]

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(section_id)


# --- reading and repairing text -------------------------------------------------------------------


def read_text(path: Path) -> str:
    """Read a document as UTF-8 (with or without BOM) or GB18030/GBK; refuse empty and binary files."""
    data = path.read_bytes()
    if not data.strip():
        raise DocumentError(f"{path}: the file is empty")
    if b"\x00" in data[:4096]:
        raise DocumentError(f"{path}: looks like a binary file (NUL bytes), not plain text")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes almost any byte string
        raise DocumentError(f"{path}: neither UTF-8 nor GBK/GB18030 text")
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t")
    if printable < 0.95 * len(text):
        raise DocumentError(f"{path}: mostly non-printable characters, not a text document")
    return text


def repair_spaces(line: str) -> str:
    """Drop stray spaces between Chinese characters; keep the ones around Latin words ("开展 PCT 等")."""
    return _SPACE_BETWEEN_CJK.sub("", line.strip())


def canonical(text: str) -> str:
    """Comparison form: NFKC (full/half width unified), no whitespace. Used for quote checks."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _heading(line: str) -> tuple[int, str, str] | None:
    """(level, label, rest) if the line is a heading."""
    if m := _L1.match(line):
        return 1, m.group(1), m.group(2)
    if m := _L2.match(line):
        return 2, f"（{m.group(1)}）", m.group(2)
    if m := _L3.match(line):
        return 3, str(int(m.group(1))), m.group(2)
    return None


def _join(prev: str, nxt: str) -> str:
    sep = " " if re.match(r"[A-Za-z0-9]", nxt) and re.search(r"[A-Za-z0-9]$", prev) else ""
    return prev + sep + nxt


def _is_broken(prev: str) -> bool:
    return not prev.endswith(_TERMINAL) and _heading(prev) is None


def split_paragraphs(text: str) -> list[str]:
    """Lines → paragraphs with page-break damage repaired.

    A body paragraph that does not end a sentence and is followed by a non-heading line was cut by a
    page break: the two are joined with no separator. Before the first 一、 heading (the notice, title,
    signature and date lines, which legitimately end without punctuation) only long running text is
    joined this way, never onto the first line (the notice title).
    """
    lines = [repair_spaces(raw) for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line]
    out: list[str] = []
    in_body = False
    for line in lines:
        heading = _heading(line)
        if heading and heading[0] == 1:
            in_body = True
        if out and heading is None and _is_broken(out[-1]):
            if in_body or (len(out) > 1 and len(out[-1]) >= _HEADER_RUNNING_TEXT
                           and not _DOC_NUMBER.fullmatch(line) and not _DATE.match(line)):
                out[-1] = _join(out[-1], line)
                continue
        out.append(line)
    return out


# --- structure ------------------------------------------------------------------------------------


def _split_heading(level: int, rest: str) -> tuple[str, str]:
    """Heading title and any running text on the same line ("1. 支持…发展。正文…")."""
    if level == 3 or "。" in rest[:-1]:
        head, dot, tail = rest.partition("。")
        return head.strip(), tail.strip()
    return rest.strip().rstrip("。"), ""


def _unique(section_id: str, seen: set[str]) -> str:
    candidate, n = section_id, 2
    while candidate in seen:
        candidate, n = f"{section_id}#{n}", n + 1
    seen.add(candidate)
    return candidate


def build_tree(doc_id: str, title: str, body: list[str]) -> tuple[Section, list[str]]:
    root = Section(id=doc_id, label="", title=title, level=0)
    stack = [root]
    seen = {doc_id}
    warnings: list[str] = []
    for para in body:
        heading = _heading(para)
        if heading is None:
            stack[-1].paragraphs.append(para)
            continue
        level, label, rest = heading
        while stack[-1].level >= level:
            stack.pop()
        parent = stack[-1]
        if parent.level < level - 1:
            warnings.append(f"heading {label!r} at level {level} has no level-{level - 1} parent")
        head, tail = _split_heading(level, rest)
        section = Section(
            id=_unique(f"{parent.id}/{label}", seen),
            label=label,
            title=head,
            level=level,
            parent_id=parent.id,
        )
        if tail:
            section.paragraphs.append(tail)
        parent.children.append(section)
        stack.append(section)
    return root, warnings


# --- header facts ---------------------------------------------------------------------------------


def _parse_date(text: str) -> date | None:
    m = _DATE.match(text)
    return date(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


@dataclass
class _Header:
    notice_title: str = ""
    title: str = ""
    doc_number: str | None = None
    issuers: list[str] = field(default_factory=list)
    issued: date | None = None
    preamble: list[str] = field(default_factory=list)
    #: how the notice says the measures were adopted: "已经市科委、中关村管委会2022年第6次行政办公会审议通过"
    approval: str | None = None


def parse_header(paragraphs: list[str]) -> _Header:
    header = _Header()
    if not paragraphs:
        return header
    header.notice_title = paragraphs[0]
    date_index = None
    for para in paragraphs:
        if m := _APPROVAL.search(canonical(para)):
            header.approval = m.group(0)
            break
    for i, para in enumerate(paragraphs):
        if header.doc_number is None and _DOC_NUMBER.fullmatch(para):
            header.doc_number = para
        if header.issued is None and (issued := _parse_date(para)):
            header.issued, date_index = issued, i
    if header.doc_number is None and (m := _DOC_NUMBER.search(" ".join(paragraphs[:3]))):
        header.doc_number = m.group(0)
    if m := _NOTICE.match(header.notice_title):
        header.issuers = [s for s in re.split(r"[、，,]", m.group("issuers")) if s]
        header.title = m.group("title")
    elif date_index:
        signature = [p for p in paragraphs[:date_index] if not p.startswith(("(", "（"))]
        if signature:
            header.issuers = [s for s in re.split(r"[、，,]", signature[-1]) if s]
    if date_index is not None and date_index + 1 < len(paragraphs):
        inner = paragraphs[date_index + 1 :]
        # The document's own title repeats after the date; everything after it is the preamble.
        if not header.title or canonical(inner[0]) == canonical(header.title):
            header.title = header.title or inner[0]
            inner = inner[1:]
        header.preamble = inner
    else:
        header.title = header.title or header.notice_title
        header.preamble = paragraphs[1:]
    return header


def _effective(full_text: str, issued: date | None) -> tuple[str | None, date | None]:
    m = _EFFECTIVE.search(full_text)
    if not m:
        return None, None
    when = m.group("when")
    if "印发之日" in when or "发布之日" in when:
        return f"自{when}起施行", issued
    if d := re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", when):
        return f"自{when}起施行", date(int(d.group(1)), int(d.group(2)), int(d.group(3)))
    return f"自{when}起施行", None


def _repeals(full_text: str) -> list[RepealedDocument]:
    found: list[RepealedDocument] = []
    for sentence in _REPEAL_SENTENCE.findall(full_text):
        for m in _REPEALED.finditer(sentence):
            found.append(RepealedDocument(title=m.group("title"), number=m.group("number")))
    return found


def _funds(root: Section) -> list[Fund]:
    funds = []
    for group in root.walk():
        if group.level != 2:
            continue
        if m := _FUND.search(group.text):
            numbers = tuple(c.number for c in group.children if c.number is not None)
            funds.append(Fund(m.group("name"), group.id, group.title, numbers))
    return funds


# --- citations ----------------------------------------------------------------------------------


def citation_text(doc_ref: str, section_id: str, title: str) -> str:
    """Human-readable citation: "京科发〔2022〕4号 二（二）第5条「大力发展天使和创业投资」"."""
    parts = section_id.split("/")[1:]
    if not parts:
        return f"{doc_ref}（正文前言）"
    path = "".join(f"第{p}条" if p.isdigit() else p for p in parts)
    return f"{doc_ref} {path}「{title}」" if title else f"{doc_ref} {path}"


# --- entry point ----------------------------------------------------------------------------------


def parse_text(doc_id: str, text: str) -> PolicyDocument:
    paragraphs = split_paragraphs(text)
    if not paragraphs:
        raise DocumentError(f"{doc_id}: no text")
    first_body = next((i for i, p in enumerate(paragraphs) if (h := _heading(p)) and h[0] == 1), None)
    warnings: list[str] = []
    if first_body is None:
        # No 一、 headings: index the text as plain paragraphs so it is still searchable.
        warnings.append(f"{doc_id}: no 一、/（一）/1. structure found; indexed as plain paragraphs")
        header = _Header(notice_title=paragraphs[0], title=paragraphs[0])
        root = Section(id=doc_id, label="", title=header.title, level=0)
        for i, para in enumerate(paragraphs[1:] or paragraphs, start=1):
            root.children.append(
                Section(id=f"{doc_id}/p{i}", label=f"p{i}", title="", level=1,
                        paragraphs=[para], parent_id=doc_id)
            )
    else:
        header = parse_header(paragraphs[:first_body])
        root, tree_warnings = build_tree(doc_id, header.title, paragraphs[first_body:])
        root.paragraphs = header.preamble
        warnings.extend(tree_warnings)
    full_text = "\n".join(paragraphs)
    effective, effective_date = _effective(full_text, header.issued)
    doc = PolicyDocument(
        doc_id=doc_id,
        title=header.title,
        notice_title=header.notice_title,
        doc_number=header.doc_number,
        issuers=header.issuers,
        issued=header.issued,
        effective=effective,
        effective_date=effective_date,
        repeals=_repeals(full_text),
        root=root,
        funds=_funds(root),
        warnings=warnings,
        approval=header.approval,
    )
    for w in warnings:
        log.warning(w)
    return doc


def parse_file(doc_id: str, path: Path) -> PolicyDocument:
    return parse_text(doc_id, read_text(path))
