from __future__ import annotations

import pytest

from actions.facts import ActionAnswerDocFact, ActionAnswerOtherPolicy, ActionAnswerUnstated
from actions.handoff import ActionRequestHandoff
from actions.materials import ActionListMaterials
from actions.policy_search import ActionFallback, ActionSearchPolicy

from .conftest import customs, slot_events, texts


def ent(entity: str, value: str) -> dict[str, object]:
    return {"entity": entity, "value": value, "start": 0, "end": 1}


async def test_materials_for_the_suggested_fund_separate_sources(store, vocabulary, dispatcher, make_tracker):
    tracker = make_tracker("申请要准备什么材料", "ask_materials", slots={"suggested_fund": "finance"})
    events = await ActionListMaterials(store, vocabulary).run(dispatcher, tracker, {})
    text = texts(dispatcher)
    stated, typical = text.split("常见材料（文件未规定，请以官方申报指南为准）：")
    # the document lists no application materials: said plainly, and nothing is labelled as required by it
    assert "文件没有列出申报材料清单" in stated and "文件规定" not in text
    assert "与文件条款相关的材料：" in stated and "诚信承诺" in stated and "高新技术企业资质证明" in stated
    assert "（依据三（二））" in stated
    assert "项目申报书" in typical and "项目申报书" not in stated
    assert "依据：京科发〔2022〕4号 三（一）" in text
    items = customs(dispatcher, "materials")[0]["items"]
    assert {i["source"] for i in items} == {"clause", "typical"}
    assert all(i["citation"] for i in items if i["source"] == "clause")
    assert all(i["citation"] is None for i in items if i["source"] == "typical")
    assert slot_events(events)["materials_shown"]


async def test_materials_for_a_measure(store, vocabulary, dispatcher, make_tracker):
    tracker = make_tracker("第11条要什么材料", "ask_materials", entities=[ent("measure", "11")])
    await ActionListMaterials(store, vocabulary).run(dispatcher, tracker, {})
    text = texts(dispatcher)
    assert "第11条“加大高层次人才引进和培养力度”" in text and "高聚工程" in text


async def test_materials_without_a_fund_ask_which(store, vocabulary, dispatcher, make_tracker):
    await ActionListMaterials(store, vocabulary).run(dispatcher, make_tracker("要准备啥材料", "ask_materials"), {})
    assert "哪项资金" in texts(dispatcher)
    assert len(dispatcher.messages[0]["buttons"]) == 5


async def test_a_university_is_not_asked_for_a_high_tech_certificate(store, vocabulary, dispatcher, make_tracker):
    tracker = make_tracker("材料", "ask_materials", slots={"fund": "ecosystem", "subject_type": "university"})
    await ActionListMaterials(store, vocabulary).run(dispatcher, tracker, {})
    assert "高新技术企业资质证明" not in texts(dispatcher)


async def test_doc_number_issuers_dates_and_repeals(store, vocabulary, make_tracker):
    from rasa_sdk.executor import CollectingDispatcher

    expected = {
        # header facts stand in the notice that issues the measures, not in the measures' preamble
        "doc_number": ("京科发〔2022〕4号", "京科发〔2022〕4号 印发通知（文头）"),
        "issuers": ("北京市科学技术委员会、中关村科技园区管理委员会", "印发通知（文头）"),
        "issue_date": ("2022年6月10日", "印发通知（文头）"),
        "effective_date": ("自印发之日起施行，即2022年6月10日", "三（二）"),
        "repealed": ("中科园发〔2019〕11号", "三（二）"),
    }
    for fact, (answer, citation) in expected.items():
        d = CollectingDispatcher()
        await ActionAnswerDocFact(store, vocabulary).run(d, make_tracker("?", "ask_doc_fact",
                                                                         entities=[ent("fact", fact)]), {})
        assert answer in texts(d) and citation in texts(d), fact
        assert "正文前言" not in texts(d)


async def test_validity_has_no_end_date(store, vocabulary, dispatcher, make_tracker):
    """有效期: the document takes effect on issue and sets no end date — said, not invented."""
    await ActionAnswerDocFact(store, vocabulary).run(
        dispatcher, make_tracker("这个政策有效期到什么时候", "ask_doc_fact", entities=[ent("fact", "effective_date")]), {})
    text = texts(dispatcher)
    assert "自印发之日起施行" in text and "没有规定有效期" in text


async def test_an_end_date_question_the_nlu_missed_is_not_a_fallback(store, vocabulary, dispatcher, make_tracker):
    await ActionFallback(store, vocabulary).run(dispatcher, make_tracker("这政策管到哪年啊 到期了吗", "nlu_fallback"), {})
    text = texts(dispatcher)
    assert "没太明白" not in text and "没有写明有效期" in text and "自印发之日起施行" in text


async def test_curated_facts_are_quoted(store, vocabulary, dispatcher, make_tracker):
    tracker = make_tracker("钱从哪来", "ask_doc_fact", entities=[ent("fact", "funding_source")])
    await ActionAnswerDocFact(store, vocabulary).run(dispatcher, tracker, {})
    assert "支持资金由市级财政资金安排" in texts(dispatcher) and "三（一）" in texts(dispatcher)


async def test_amounts_are_not_invented(store, vocabulary, dispatcher, make_tracker):
    tracker = make_tracker("科技金融资金最多补多少钱", "ask_unstated", entities=[ent("fund", "finance")])
    events = await ActionAnswerUnstated(store, vocabulary).run(dispatcher, tracker, {})
    text = texts(dispatcher)
    assert "没有写明支持金额" in text and "依据：京科发〔2022〕4号" in text and "促进科技金融深度融合发展支持资金管理办法" in text and "12345" in text
    assert not any(ch.isdigit() for ch in text.replace("12345", "").replace("〔2022〕4", ""))
    assert slot_events(events)["unanswered_question"] == "科技金融资金最多补多少钱"


async def test_other_policies_are_named_and_not_answered(store, vocabulary, dispatcher, make_tracker):
    await ActionAnswerOtherPolicy(store, vocabulary).run(dispatcher, make_tracker("专精特新有补贴吗", "ask_other_policy"), {})
    text = texts(dispatcher)
    assert "没有涉及“专精特新”" in text and "12345" in text


async def test_policy_question_quotes_the_passage(store, vocabulary, dispatcher, make_tracker):
    await ActionSearchPolicy(store, vocabulary).run(dispatcher, make_tracker("概念验证平台是干啥的", "ask_policy_question"), {})
    text = texts(dispatcher)
    assert "「" in text and "第12条" in text
    assert customs(dispatcher, "citations")[0]["items"][0]["section_id"] == "zgc-2022/二/（四）/12"


async def test_fallback_first_answers_from_the_index_then_offers_a_person(store, vocabulary, dispatcher, make_tracker):
    first = make_tracker("孵化器咋弄", "nlu_fallback")
    events = await ActionFallback(store, vocabulary).run(dispatcher, first, {})
    assert "第9条" in texts(dispatcher) and "handoff_offered" not in slot_events(events)
    second = make_tracker("嗯那个呢", "nlu_fallback", events=[
        {"event": "user", "text": "孵化器咋弄"}, {"event": "action", "name": "action_fallback"},
        {"event": "action", "name": "action_listen"}, {"event": "user", "text": "嗯那个呢"}])
    dispatcher.messages.clear()
    events = await ActionFallback(store, vocabulary).run(dispatcher, second, {})
    assert "需要转人工吗" in texts(dispatcher)
    assert slot_events(events)["handoff_offered"] is True


async def test_fallback_without_a_good_passage_asks_with_buttons(store, vocabulary, dispatcher, make_tracker):
    await ActionFallback(store, vocabulary).run(dispatcher, make_tracker("啊啊啊", "nlu_fallback"), {})
    assert "您是想" in texts(dispatcher) and len(dispatcher.messages[0]["buttons"]) == 4


async def test_handoff_marks_the_conversation_with_a_summary(store, vocabulary, dispatcher, make_tracker):
    slots = {"subject_type": "enterprise", "registration": "zgc", "hightech": "none", "need_text": "想融资",
             "suggested_fund": "finance", "suggested_measures": [5, 6, 7], "handoff_offered": True,
             "eligibility_verdict": {"outcome": "not_eligible"}, "unanswered_question": "最多补多少"}
    events = await ActionRequestHandoff(store, vocabulary).run(dispatcher, make_tracker("转人工", "request_human",
                                                                                       slots=slots), {})
    slots_set = slot_events(events)
    assert slots_set["handoff_requested"] is True and slots_set["handoff_offered"] is False
    summary = slots_set["handoff_summary"]
    assert "主体：企业" in summary and "推荐资金：科技金融（第5条、第6条、第7条）" in summary and "最多补多少" in summary
    card = customs(dispatcher, "handoff")[0]["summary"]
    assert card["profile"]["hightech"] == "非高新技术企业" and card["eligibility"]["outcome"] == "not_eligible"
    assert "工作人员" in texts(dispatcher)


async def test_two_document_facts_in_one_message_are_both_answered(store, vocabulary, dispatcher, make_tracker):
    await ActionAnswerDocFact(store, vocabulary).run(dispatcher, make_tracker("这个政策文号多少 谁发的", "ask_doc_fact"), {})
    text = texts(dispatcher)
    assert "京科发〔2022〕4号" in text and "北京市科学技术委员会" in text


async def test_off_topic_with_a_document_cue_is_still_off_topic(store, vocabulary, dispatcher, make_tracker):
    """"首套房贷款利率多少" shares words with 第6条 but is no question about the policy."""
    from actions.facts import ActionAnswerOutOfScope

    await ActionAnswerOutOfScope(store, vocabulary).run(dispatcher, make_tracker("首套房贷款利率多少", "out_of_scope"), {})
    assert "第6条" not in texts(dispatcher)
    assert dispatcher.messages[0].get("response") == "utter_out_of_scope"


async def test_a_covered_question_read_as_out_of_scope_gets_the_passage(store, vocabulary, dispatcher, make_tracker):
    from actions.facts import ActionAnswerOutOfScope

    await ActionAnswerOutOfScope(store, vocabulary).run(
        dispatcher, make_tracker("国际组织想在北京设个分支机构，有支持政策吗", "out_of_scope"), {})
    assert "第18条" in texts(dispatcher)


async def test_which_measures_read_as_capabilities_is_answered(store, vocabulary, dispatcher, make_tracker):
    from actions.funds import ActionAnswerCapabilities

    await ActionAnswerCapabilities(store, vocabulary).run(dispatcher, make_tracker("众创空间能用哪条", "ask_capabilities"),
                                                          {})
    assert "第9条" in texts(dispatcher)


@pytest.mark.parametrize("text", ["首套房贷款利率多少", "信用卡额度怎么提", "出口退税一般多久能到账"])
async def test_an_off_topic_matter_sharing_words_with_the_document_is_out_of_scope(store, vocabulary, dispatcher,
                                                                                  make_tracker, text):
    from actions.policy_search import ActionSearchPolicy

    events = await ActionSearchPolicy(store, vocabulary).run(dispatcher, make_tracker(text, "ask_policy"), {})
    assert dispatcher.messages[0].get("response") == "utter_out_of_scope"
    assert slot_events(events)["unanswered_question"] == text


async def test_another_policy_is_named_as_not_covered_before_any_passage(store, vocabulary, dispatcher, make_tracker):
    from actions.materials import ActionListMaterials

    await ActionListMaterials(store, vocabulary).run(dispatcher, make_tracker("瞪羚企业认定要啥条件", "ask_materials"),
                                                     {})
    assert "没有涉及“瞪羚”" in texts(dispatcher) and "12345" in texts(dispatcher)


@pytest.mark.parametrize("action, text, topic", [
    ("route", "营收要达到多少才能申请", "成立年限、营业收入"),
    ("route", "可以同时申请好几项吗", "同时申请多项"),
    ("materials", "补贴款要交税吗", "税务处理"),
    ("search", "评审标准是什么", "评审标准"),
])
async def test_details_of_applying_the_document_leaves_open_are_said_to_be_not_stated(store, vocabulary, dispatcher,
                                                                                      make_tracker, action, text, topic):
    from actions.eligibility import ActionRouteEligibility

    cls = {"route": ActionRouteEligibility, "materials": ActionListMaterials, "search": ActionSearchPolicy}[action]
    events = await cls(store, vocabulary).run(dispatcher, make_tracker(text, "check_eligibility"), {})
    reply = texts(dispatcher)
    assert "没有写明" in reply and topic in reply and "依据" in reply, reply
    assert not any(e.get("name") == "eligibility_form" for e in events)


async def test_the_meeting_that_adopted_the_measures_is_cited_from_the_notice(store, vocabulary, dispatcher,
                                                                             make_tracker):
    await ActionAnswerDocFact(store, vocabulary).run(dispatcher, make_tracker("这个措施是哪次会议审议通过的",
                                                                              "ask_doc_fact"), {})
    reply = texts(dispatcher)
    assert "2022年第6次行政办公会审议通过" in reply and "印发通知（文头）" in reply, reply


async def test_a_fact_and_a_kind_of_applicant_asked_together_are_both_answered(store, vocabulary, dispatcher,
                                                                              make_tracker):
    tracker = make_tracker("文号是多少？另外孵化器能申请不", "ask_doc_fact", entities=[ent("fact", "doc_number")])
    await ActionAnswerDocFact(store, vocabulary).run(dispatcher, tracker, {})
    reply = texts(dispatcher)
    assert "京科发〔2022〕4号" in reply and "三（一）" in reply and "孵化器" in reply and "第9条" in reply, reply


async def test_a_fact_and_a_detail_the_document_leaves_open_are_both_answered(store, vocabulary, dispatcher,
                                                                             make_tracker):
    tracker = make_tracker("这个政策哪天开始执行的，由谁负责解释", "ask_doc_fact")
    await ActionAnswerDocFact(store, vocabulary).run(dispatcher, tracker, {})
    reply = texts(dispatcher)
    assert "自印发之日起施行" in reply and "没有写明" in reply and "由谁解释" in reply, reply
    assert "截止日期。相关" not in reply  # the 施行 words are no deadline question


async def test_a_question_for_a_phone_number_read_as_handoff_is_answered(store, vocabulary, dispatcher,
                                                                        make_tracker):
    tracker = make_tracker("有没有咨询电话 主管处室是哪个", "request_human")
    await ActionRequestHandoff(store, vocabulary).run(dispatcher, tracker, {})
    assert "没有写明咨询电话" in texts(dispatcher) and not customs(dispatcher, "handoff")


async def test_a_request_for_a_person_is_still_a_handoff(store, vocabulary, dispatcher, make_tracker):
    tracker = make_tracker("转人工 我要问咨询电话", "request_human")
    await ActionRequestHandoff(store, vocabulary).run(dispatcher, tracker, {})
    assert customs(dispatcher, "handoff")


async def test_tax_on_the_support_is_a_detail_the_document_leaves_open(store, vocabulary, dispatcher, make_tracker):
    tracker = make_tracker("财政补助到账了要交企业所得税吗", "ask_other_policy")
    await ActionAnswerOtherPolicy(store, vocabulary).run(dispatcher, tracker, {})
    reply = texts(dispatcher)
    assert "没有写明" in reply and "不能替其他政策作答" not in reply, reply


async def test_another_policys_rewards_stay_another_policy(store, vocabulary, dispatcher, make_tracker):
    tracker = make_tracker("专精特新企业每年能拿多少奖励", "ask_other_policy")
    await ActionAnswerOtherPolicy(store, vocabulary).run(dispatcher, tracker, {})
    assert "专精特新" in texts(dispatcher) and "没有涉及" in texts(dispatcher)


async def test_a_validity_question_read_as_off_topic_is_answered(store, vocabulary, dispatcher, make_tracker):
    from actions.facts import ActionAnswerOutOfScope

    tracker = make_tracker("2023年以后还能报吗 还是只管2022年", "out_of_scope")
    await ActionAnswerOutOfScope(store, vocabulary).run(dispatcher, tracker, {})
    assert "自印发之日起施行" in texts(dispatcher)


async def test_another_programme_read_as_off_topic_stays_off_topic(store, vocabulary, dispatcher, make_tracker):
    from actions.facts import ActionAnswerOutOfScope

    tracker = make_tracker("国家自然科学基金怎么申请", "out_of_scope")
    await ActionAnswerOutOfScope(store, vocabulary).run(dispatcher, tracker, {})
    assert "没有写明" not in texts(dispatcher)


async def test_a_defect_in_an_action_still_gets_a_reply_and_keeps_the_question(store, vocabulary, dispatcher,
                                                                              make_tracker):
    class Broken(ActionSearchPolicy):
        async def answer(self, dispatcher, tracker, domain):  # type: ignore[no-untyped-def]
            raise IndexError("list index out of range")

    tracker = make_tracker("公司成立不到两年 文件对成立年限有要求没", "ask_policy_question")
    events = await Broken(store, vocabulary).run(dispatcher, tracker, {})
    assert "出错了" in texts(dispatcher) and slot_events(events)["unanswered_question"]


async def test_the_plan_the_measures_serve_is_quoted_from_the_preamble(store, vocabulary, dispatcher, make_tracker):
    tracker = make_tracker("这文件推动实施的是哪个规划", "ask_doc_fact", entities=[ent("fact", "plan")])
    await ActionAnswerDocFact(store, vocabulary).run(dispatcher, tracker, {})
    assert "十四五" in texts(dispatcher)


async def test_a_detail_left_open_and_a_kind_of_applicant_are_both_answered(store, vocabulary, dispatcher,
                                                                           make_tracker):
    tracker = make_tracker("科研机构申报对注册资本有门槛吗 另外研究所是事业单位编制 影响申请吗", "ask_unstated")
    await ActionAnswerUnstated(store, vocabulary).run(dispatcher, tracker, {})
    reply = texts(dispatcher)
    assert "没有写明" in reply and "科研机构属于三（一）列明的支持对象" in reply, reply
