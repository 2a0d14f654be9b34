"""A second document in the store: its funds, measures, eligibility and materials are its own; messages name
documents by 文号, title, alias or fund; the documents the corpus repeals are recognised when named."""

from __future__ import annotations

import pytest

from bot.knowledge.matching import names_number
from bot.knowledge.search import document_of


def test_each_document_keeps_its_funds_measures_and_materials(two_doc_store):
    s = two_doc_store
    assert s.document().id == "zgc-2022"  # the primary document is still the default
    assert [f.code for f in s.funds("test-2024")] == ["green_lowcarbon"]
    assert [x.number for x in s.measures("test-2024")] == [1, 2]
    assert len(s.measures()) == 19
    assert s.measure(1, "test-2024").citation.startswith("京测发〔2024〕1号 一（一）第1条")
    assert s.measure(1).citation.startswith("京科发〔2022〕4号")
    names = [i.name for i in s.materials(doc_id="test-2024")]
    assert names == ["注册地证明（营业执照，显示注册在测试示范区范围内）", "项目申报书"]


def test_a_fund_code_from_the_conversation_finds_its_document(two_doc_store):
    s = two_doc_store
    assert s.fund("green_lowcarbon").document_id == "test-2024"
    assert s.fund("绿色低碳资金").document_id == "test-2024"
    assert s.fund("finance").document_id == "zgc-2022"
    assert s.fund("green_lowcarbon", "zgc-2022") is None
    # the materials of a fund are its document's, not the primary document's
    assert "项目申报书" in [i.name for i in s.materials(fund_code="green_lowcarbon")]
    assert not any("高新技术企业" in i.name for i in s.materials(fund_code="green_lowcarbon"))


def test_a_need_is_matched_within_a_document(two_doc_store):
    match = two_doc_store.match_need("我们做碳捕集和氢能储运", "test-2024")
    assert match is not None and match.fund.code == "green_lowcarbon"
    assert [x.number for x in match.measures] == [1]
    assert match.search_score > 5


def test_eligibility_is_judged_by_the_documents_own_conditions(two_doc_store):
    verdict = two_doc_store.check_eligibility({"subject_type": "university"}, "test-2024")
    assert verdict.outcome == "not_eligible"
    assert verdict.citation == "京测发〔2024〕1号 二「组织实施」"
    verdict = two_doc_store.check_eligibility({"subject_type": "enterprise", "registration": "zgc"}, "test-2024")
    assert verdict.outcome == "conditional"  # the 测试示范区 is not the 中关村示范区: to confirm
    assert two_doc_store.check_eligibility({"subject_type": "enterprise", "registration": "zgc",
                                            "hightech": "national"}).outcome == "eligible"


def test_search_can_keep_to_one_document(two_doc_store):
    hits = two_doc_store.search("企业技术攻关", 3, "test-2024")
    assert hits and all(document_of(h.section_id) == "test-2024" for h in hits)
    hits = two_doc_store.search("企业技术攻关", 3, "zgc-2022")
    assert hits and all(document_of(h.section_id) == "zgc-2022" for h in hits)


@pytest.mark.parametrize("text, ids", [
    ("京测发〔2024〕1号有哪些措施", ["test-2024"]),
    ("京测发[2024]1号讲了什么", ["test-2024"]),
    ("绿色低碳那个文件谁能申请", ["test-2024"]),
    ("关于支持示范区企业开展绿色低碳技术攻关的若干措施", ["test-2024"]),
    ("绿色低碳资金支持什么", ["test-2024"]),
    ("京科发2022年第4号和京测发〔2024〕1号有什么区别", ["zgc-2022", "test-2024"]),
    ("科技金融资金支持什么", ["zgc-2022"]),
    ("碳捕集有补贴吗", []),  # about it, but not naming it
])
def test_documents_a_message_names(two_doc_store, text, ids):
    assert [d.id for d in two_doc_store.documents_named(text)] == ids


@pytest.mark.parametrize("text, numbers", [
    ("中科园发〔2019〕11号还有效吗", ["中科园发〔2019〕11号"]),
    ("中科园发2019年25号那个文现在还能用吗", ["中科园发〔2019〕25号"]),
    ("原来2019年的11号文还有效吗", ["中科园发〔2019〕11号"]),
    ("关于精准支持中关村国家自主创新示范区重大前沿项目与创新平台建设的若干措施还能用吗", ["中科园发〔2019〕11号"]),
    ("《关于精准支持中关村国家自主创新示范区重大前沿项目与创新平台建设的若干措施》实施办法还执行吗",
     ["中科园发〔2019〕25号"]),
    ("中科园发〔2019〕11号和25号还执行吗", ["中科园发〔2019〕11号", "中科园发〔2019〕25号"]),
    ("京科发〔2022〕4号还有效吗", []),
    ("2019年那两个老文件是不是废止了", []),
])
def test_repealed_documents_a_message_names(store, text, numbers):
    found = store.repeals_named(text)
    assert [r["number"] for _, r in found] == numbers
    assert all(d.id == "zgc-2022" for d, _ in found)


def test_a_date_is_not_a_document_number():
    assert not names_number("京测发〔2024〕1号", "2024年1月1号开始")
    assert not names_number("京测发〔2024〕1号", "2024年1号")
    assert names_number("京测发〔2024〕1号", "24年1号文")


@pytest.mark.parametrize("text, words", [
    ("碳捕集有补贴吗", ["碳捕集"]), ("光伏项目有支持吗", ["光伏"]),
    ("有哪些支持资金", []), ("什么时候施行", []), ("示范区企业有什么支持", []),  # words both documents use
])
def test_words_that_tie_a_question_to_one_document(two_doc_store, text, words):
    assert two_doc_store.distinctive_words(text, "test-2024") == words
