from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest

from bot.knowledge.parser import DocumentError, canonical, parse_file, parse_text, read_text, repair_spaces

from ..conftest import CORPUS_DIR, DATA_DIR

SEED = CORPUS_DIR / "zgc-2022" / "source.txt"


@pytest.fixture(scope="module")
def doc():
    return parse_file("zgc-2022", SEED)


#: sha256 of policy_corpus/zgc-2022/source.txt, the document as extracted from the PDF; knowledge.yml quotes it, so
#: a change to it is deliberate: re-run `python -m bot check` and update this figure in the same commit
SEED_SHA256 = "7921352b85054185021477775befd559b504d1f075e183d1e18f538312a6d0af"


def test_seed_is_the_document_as_extracted():
    assert hashlib.sha256(SEED.read_bytes()).hexdigest() == SEED_SHA256


def test_header_facts(doc):
    assert doc.title == "关于推动中关村加快建设世界领先科技园区的若干政策措施"
    assert doc.doc_number == "京科发〔2022〕4号"
    assert doc.issuers == ["北京市科学技术委员会", "中关村科技园区管理委员会"]
    assert doc.issued == date(2022, 6, 10)
    assert doc.effective == "自印发之日起施行"
    assert doc.effective_date == date(2022, 6, 10)
    assert [r.number for r in doc.repeals] == ["中科园发〔2019〕11号", "中科园发〔2019〕25号"]
    assert doc.repeals[0].title == "关于精准支持中关村国家自主创新示范区重大前沿项目与创新平台建设的若干措施"


def test_nineteen_measures_with_number_title_and_text(doc):
    measures = doc.measures
    assert [m.number for m in measures] == list(range(1, 20))
    assert all(m.title and m.text for m in measures)
    titles = {m.number: m.title for m in measures}
    assert titles[5] == "大力发展天使和创业投资"
    assert titles[14] == "支持加强知识产权、技术标准创制运用"
    assert titles[19] == "支持创新主体开展国际交流合作"
    assert doc.section("zgc-2022/二/（三）/9").title == "支持建设高能级创新创业载体"


def test_five_groups_each_set_up_a_fund(doc):
    assert [f.short_name for f in doc.funds] == [
        "提升企业创新能力", "促进科技金融深度融合发展", "促进园区高质量发展", "优化创新创业生态环境", "提升国际化发展水平",
    ]
    assert [f.measure_numbers for f in doc.funds] == [
        (1, 2, 3, 4), (5, 6, 7), (8, 9, 10), (11, 12, 13, 14, 15), (16, 17, 18, 19)]
    assert doc.funds[1].name == "中关村国家自主创新示范区促进科技金融深度融合发展支持资金管理办法(试行)"
    assert doc.funds[1].section_id == "zgc-2022/二/（二）"


@pytest.mark.parametrize("words, section", [
    ("中关村先行先试重大改革任务落地", "zgc-2022/一"),
    ("创业投资份额转让试点", "zgc-2022/二/（二）/5"),
    ("从高等学校、研发机构", "zgc-2022/二/（四）/12"),
    ("检验检测、科技咨询等领域", "zgc-2022/二/（四）/15"),
    ("深化拓展与世界先进创新区域合作", "zgc-2022/二/（五）/17"),
    ("专款专用、注重实效的原则", "zgc-2022/三/（一）"),
    ("具有国际影响力的学术期刊", "zgc-2022/二/（五）/19"),
])
def test_words_broken_by_the_pdf_are_repaired(doc, words, section):
    assert words in doc.section(section).text


def test_stray_spaces_in_titles_are_removed_but_latin_spacing_kept(doc):
    assert " " not in doc.title and " " not in doc.notice_title
    assert "开展 PCT 等高价值专利布局" in doc.section("zgc-2022/二/（四）/14").text
    assert repair_spaces("科技 园区 的 PCT 申请") == "科技园区的 PCT 申请"


def test_section_ids_are_stable_and_full_width(doc):
    ids = [s.id for s in doc.sections]
    assert len(ids) == len(set(ids)) == 30
    assert "zgc-2022/二/（三）/9" in ids and "zgc-2022/三/（一）" in ids
    half = parse_text("x", SEED.read_text(encoding="utf-8").replace("(三)", "（三）"))
    assert [s.id for s in half.sections] == [s.id.replace("zgc-2022", "x", 1) for s in doc.sections]


def test_gbk_and_bom_files_read_the_same(doc, tmp_path):
    text = SEED.read_text(encoding="utf-8")
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes(text.encode("gb18030"))
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    for path in (gbk, bom):
        other = parse_file("zgc-2022", path)
        assert other.title == doc.title and other.doc_number == doc.doc_number
        assert [m.text for m in other.measures] == [m.text for m in doc.measures]


def test_empty_and_binary_files_get_a_clear_error(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"  \n\n ")
    with pytest.raises(DocumentError, match="empty"):
        read_text(empty)
    binary = tmp_path / "doc.pdf"
    binary.write_bytes(b"%PDF-1.7\x00\x01\x02" + bytes(range(256)))
    with pytest.raises(DocumentError, match="binary"):
        read_text(binary)


def test_text_without_structure_is_kept_as_paragraphs_with_a_warning():
    doc = parse_text("memo", "一段没有标题结构的说明文字。\n\n第二段：园区停车安排。\n")
    assert doc.warnings and "plain paragraphs" in doc.warnings[0]
    assert [s.id for s in doc.sections] == ["memo", "memo/p1"]
    assert doc.measures == [] and doc.funds == []


def test_second_document_in_the_same_layout():
    doc = parse_file("test-2024", DATA_DIR / "extra-doc" / "test-2024" / "source.txt")
    assert doc.doc_number == "京测发〔2024〕1号"
    assert doc.title == "关于支持示范区企业开展绿色低碳技术攻关的若干措施（测试样例）"
    assert doc.issued == date(2024, 3, 1)
    assert doc.effective_date == date(2024, 4, 1)
    assert [m.number for m in doc.measures] == [1, 2]
    assert "推动氢能储运装备示范应用" in doc.measures[0].text
    assert [f.short_name for f in doc.funds] == ["测试示范区绿色低碳技术攻关"]


def test_canonical_form_ignores_width_and_spaces():
    assert canonical("股权(债权)投入 ，") == canonical("股权（债权）投入,")
