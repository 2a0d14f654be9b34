"""Questions about a second document, a question fitting two documents, and the repealed documents."""

from __future__ import annotations

import pytest

from actions.facts import ActionAnswerDocFact, ActionAnswerOtherPolicy, ActionAnswerOutOfScope
from actions.funds import ActionDescribeMeasure, ActionListFunds, ActionRecommendFund
from actions.materials import ActionListMaterials
from actions.policy_search import ActionSearchPolicy
from bot.knowledge.vocabulary import Vocabulary

from .conftest import customs, slot_events, texts


@pytest.fixture(scope="module")
def vocabulary2(two_doc_corpus_dir) -> Vocabulary:
    return Vocabulary.from_corpus(two_doc_corpus_dir)


# --- repealed documents (the committed corpus alone) --------------------------------------------------


@pytest.mark.parametrize("action, text", [
    (ActionAnswerOutOfScope, "中科园发2019年25号那个文现在还能用吗"),
    (ActionAnswerOtherPolicy, "中科园发〔2019〕11号还有效吗"),
    (ActionSearchPolicy, "原来2019年的11号文还有效吗"),
    (ActionListFunds, "中科园发〔2019〕11号支持哪些项目"),
])
async def test_a_repealed_document_is_answered_with_its_repeal(store, vocabulary, dispatcher, make_tracker,
                                                               action, text):
    await action(store, vocabulary).run(dispatcher, make_tracker(text, "out_of_scope"), {})
    reply = texts(dispatcher)
    assert "已经废止" in reply and "同时废止" in reply
    assert "现在适用的是《关于推动中关村加快建设世界领先科技园区的若干政策措施》（京科发〔2022〕4号）" in reply
    assert "依据：京科发〔2022〕4号 三（二）" in reply
    assert "超出" not in reply and "没有涉及" not in reply
    cited = customs(dispatcher, "citations")[0]["items"]
    assert cited[0]["section_id"] == "zgc-2022/三/（二）" and "同时废止" in cited[0]["quote"]


async def test_the_repeal_answer_names_only_the_document_asked_about(store, vocabulary, dispatcher, make_tracker):
    await ActionSearchPolicy(store, vocabulary).run(dispatcher, make_tracker("中科园发〔2019〕25号还能用吗"), {})
    reply = texts(dispatcher).split("\n依据")[0]
    assert reply.startswith("中科园发〔2019〕25号（《〈关于精准支持") and "中科园发〔2019〕11号（" not in reply


async def test_with_one_document_other_questions_are_answered_as_before(store, vocabulary, dispatcher,
                                                                         make_tracker):
    await ActionListFunds(store, vocabulary).run(dispatcher, make_tracker("有哪些资金", "list_funds"), {})
    assert texts(dispatcher).startswith("京科发〔2022〕4号设立5项支持资金")


# --- a second document --------------------------------------------------------------------------------


async def test_funds_of_a_document_named_by_its_number(two_doc_store, vocabulary2, dispatcher, make_tracker):
    events = await ActionListFunds(two_doc_store, vocabulary2).run(
        dispatcher, make_tracker("京测发〔2024〕1号有哪些措施", "list_funds"), {})
    reply = texts(dispatcher)
    assert reply.startswith("《关于支持示范区企业开展绿色低碳技术攻关的若干措施（测试样例）》（京测发〔2024〕1号）设立1项支持资金")
    assert "第1条 支持碳捕集利用与封存技术研发" in reply and "第2条 支持建筑光伏一体化示范" in reply
    assert "依据：京测发〔2024〕1号 一（一）" in reply and "京科发" not in reply
    assert slot_events(events)["fund"] == "green_lowcarbon"


async def test_a_need_only_the_second_document_meets(two_doc_store, vocabulary2, dispatcher, make_tracker):
    events = await ActionRecommendFund(two_doc_store, vocabulary2).run(
        dispatcher, make_tracker("我们做碳捕集技术研发，有支持吗", "describe_need"), {})
    reply = texts(dispatcher)
    assert "（京测发〔2024〕1号）第1条“支持碳捕集利用与封存技术研发”（属绿色低碳技术攻关资金）" in reply
    assert "依据：京测发〔2024〕1号 一（一）第1条" in reply
    assert slot_events(events)["fund"] == "green_lowcarbon"


async def test_materials_follow_the_fund_of_the_conversation(two_doc_store, vocabulary2, dispatcher, make_tracker):
    await ActionListMaterials(two_doc_store, vocabulary2).run(
        dispatcher, make_tracker("要准备什么材料", "ask_materials", slots={"fund": "green_lowcarbon"}), {})
    reply = texts(dispatcher)
    assert "【绿色低碳技术攻关】" in reply and "注册在测试示范区范围内" in reply
    assert "高新技术企业" not in reply and "依据：京测发〔2024〕1号 二「组织实施」" in reply


async def test_who_may_apply_under_the_second_document(two_doc_store, vocabulary2, dispatcher, make_tracker):
    await ActionSearchPolicy(two_doc_store, vocabulary2).run(
        dispatcher, make_tracker("绿色低碳那个文件，高校能申请吗", "check_eligibility"), {})
    reply = texts(dispatcher)
    assert "（京测发〔2024〕1号）规定的支持对象：「支持对象为注册在测试示范区范围内的企业" in reply
    assert "❌ 属于支持对象：企业：不满足" in reply
    assert "依据：京测发〔2024〕1号 二「组织实施」" in reply


async def test_a_measure_of_the_second_document(two_doc_store, vocabulary2, dispatcher, make_tracker):
    await ActionDescribeMeasure(two_doc_store, vocabulary2).run(
        dispatcher, make_tracker("京测发〔2024〕1号第2条讲什么", "ask_measure"), {})
    reply = texts(dispatcher)
    assert "（京测发〔2024〕1号）第2条 支持建筑光伏一体化示范" in reply and "分布式光伏" in reply


async def test_header_facts_of_the_second_document(two_doc_store, vocabulary2, dispatcher, make_tracker):
    await ActionAnswerDocFact(two_doc_store, vocabulary2).run(
        dispatcher, make_tracker("京测发〔2024〕1号什么时候施行", "ask_doc_fact"), {})
    reply = texts(dispatcher)
    assert "自2024年4月1日起施行" in reply and "依据：京测发〔2024〕1号 二「组织实施」" in reply


async def test_a_question_fitting_two_documents_says_which_says_what(two_doc_store, vocabulary2, dispatcher,
                                                                     make_tracker):
    await ActionSearchPolicy(two_doc_store, vocabulary2).run(
        dispatcher, make_tracker("支持企业开展关键技术攻关的有哪些规定", "ask_policy_question"), {})
    reply = texts(dispatcher)
    assert reply.startswith("这个问题涉及2份文件")
    assert "· 《关于推动中关村加快建设世界领先科技园区的若干政策措施》（京科发〔2022〕4号）第" in reply
    assert "· 《关于支持示范区企业开展绿色低碳技术攻关的若干措施（测试样例）》（京测发〔2024〕1号）第1条" in reply
    sections = [c["section_id"] for c in customs(dispatcher, "citations")[0]["items"]]
    assert [s.split("/")[0] for s in sections] == ["zgc-2022", "test-2024"]


async def test_the_primary_documents_questions_are_answered_as_before(two_doc_store, vocabulary2, dispatcher,
                                                                      make_tracker):
    events = await ActionRecommendFund(two_doc_store, vocabulary2).run(
        dispatcher, make_tracker("我们是中关村示范区的高新企业，主要想解决贷款和融资问题", "describe_need"), {})
    assert "【科技金融】" in texts(dispatcher) and "京测发" not in texts(dispatcher)
    assert slot_events(events)["fund"] == "finance"


async def test_two_documents_named_each_say_their_part(two_doc_store, vocabulary2, dispatcher, make_tracker):
    await ActionSearchPolicy(two_doc_store, vocabulary2).run(
        dispatcher, make_tracker("京科发〔2022〕4号和京测发〔2024〕1号对光伏分别怎么支持", "ask_policy_question"), {})
    reply = texts(dispatcher)
    assert "（京科发〔2022〕4号）：没有找到与此直接相关的条款" in reply
    assert "（京测发〔2024〕1号）第2条“支持建筑光伏一体化示范”" in reply


async def test_the_funds_of_every_document(two_doc_store, vocabulary2, dispatcher, make_tracker):
    await ActionListFunds(two_doc_store, vocabulary2).run(dispatcher, make_tracker("有哪些资金", "list_funds"), {})
    reply = texts(dispatcher)
    assert reply.startswith("《关于推动中关村加快建设世界领先科技园区的若干政策措施》（京科发〔2022〕4号）设立5项支持资金")
    assert "（京测发〔2024〕1号）设立1项支持资金：\n· 绿色低碳技术攻关（第1–2条）" in reply
    assert "绿色低碳技术攻关" in [b["title"] for b in dispatcher.messages[0]["buttons"]]


async def test_a_fund_button_of_the_second_document(two_doc_store, vocabulary2, dispatcher, make_tracker):
    from actions.funds import ActionDescribeFund

    tracker = make_tracker('/ask_fund{"fund": "green_lowcarbon"}', "ask_fund",
                           entities=[{"entity": "fund", "value": "green_lowcarbon"}])
    events = await ActionDescribeFund(two_doc_store, vocabulary2).run(dispatcher, tracker, {})
    reply = texts(dispatcher)
    assert "【绿色低碳技术攻关】依据《测试示范区绿色低碳技术攻关支持资金管理办法(试行)》" in reply
    assert "依据：京测发〔2024〕1号 一（一）" in reply
    assert slot_events(events)["fund"] == "green_lowcarbon"
