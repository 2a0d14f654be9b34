from __future__ import annotations

from actions.funds import (ActionDescribeFund, ActionDescribeMeasure, ActionHandleProfileFacts, ActionListFunds,
                           ActionRecommendFund)

from .conftest import customs, slot_events, texts


async def test_need_routes_to_finance_fund_with_measures_5_to_7(store, vocabulary, dispatcher, make_tracker):
    tracker = make_tracker("我们是中关村示范区的高新企业，主要想解决贷款和融资问题", intent="describe_need")
    events = await ActionRecommendFund(store, vocabulary).run(dispatcher, tracker, {})
    text = texts(dispatcher)
    assert "【科技金融】" in text
    for n in (5, 6, 7):
        assert f"第{n}条" in text
    assert "依据：京科发〔2022〕4号 二（二）第5条" in text
    cited = customs(dispatcher, "citations")[0]["items"]
    assert [c["section_id"] for c in cited] == ["zgc-2022/二/（二）/5", "zgc-2022/二/（二）/6", "zgc-2022/二/（二）/7"]
    slots = slot_events(events)
    assert slots["suggested_fund"] == "finance" and slots["fund"] == "finance"
    assert slots["suggested_measures"] == [5, 6, 7]


async def test_need_answer_never_states_an_amount(store, vocabulary, dispatcher, make_tracker):
    await ActionRecommendFund(store, vocabulary).run(dispatcher, make_tracker("孵化器想要点支持", "describe_need"), {})
    text = texts(dispatcher)
    assert "第9条" in text and "未写明支持金额" in text
    assert "万元" not in text


async def test_empty_need_from_a_button_asks_for_the_need(store, vocabulary, dispatcher, make_tracker):
    await ActionRecommendFund(store, vocabulary).run(dispatcher, make_tracker("/describe_need", "describe_need"), {})
    assert dispatcher.messages[0]["response"] == "utter_ask_need"


async def test_unmatched_need_says_so_and_records_the_question(store, vocabulary, dispatcher, make_tracker):
    events = await ActionRecommendFund(store, vocabulary).run(dispatcher, make_tracker("我想买辆车", "describe_need"), {})
    assert "没有找到" in texts(dispatcher)
    assert slot_events(events)["unanswered_question"] == "我想买辆车"


async def test_list_funds_names_all_five_with_buttons(store, vocabulary, dispatcher, make_tracker):
    await ActionListFunds(store, vocabulary).run(dispatcher, make_tracker("有哪些资金", "list_funds"), {})
    text = texts(dispatcher)
    assert "5项支持资金，共19条措施" in text
    assert "科技金融（第5–7条）" in text
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert '/ask_fund{"fund": "international"}' in payloads


async def test_describe_fund_by_entity(store, vocabulary, dispatcher, make_tracker):
    tracker = make_tracker("国际化资金支持啥", "ask_fund",
                           entities=[{"entity": "fund", "value": "international", "start": 0, "end": 5}])
    events = await ActionDescribeFund(store, vocabulary).run(dispatcher, tracker, {})
    text = texts(dispatcher)
    assert "【国际化发展水平】" in text and "第16条" in text and "第19条" in text
    assert slot_events(events)["fund"] == "international"


async def test_describe_fund_without_a_fund_lists_them(store, vocabulary, dispatcher, make_tracker):
    await ActionDescribeFund(store, vocabulary).run(dispatcher, make_tracker("那个资金是干嘛的", "ask_fund"), {})
    assert "5项支持资金" in texts(dispatcher)


async def test_describe_measure_by_number_in_words(store, vocabulary, dispatcher, make_tracker):
    events = await ActionDescribeMeasure(store, vocabulary).run(dispatcher, make_tracker("措施十二讲的啥", "ask_measure"), {})
    text = texts(dispatcher)
    assert text.startswith("第12条 支持科技成果转化和产业化（属创新创业生态环境资金）")
    assert "概念验证" in text and "依据：京科发〔2022〕4号 二（四）第12条" in text
    assert slot_events(events)["measure"] == "12"


async def test_describe_measure_by_name(store, vocabulary, dispatcher, make_tracker):
    await ActionDescribeMeasure(store, vocabulary).run(dispatcher, make_tracker("中关村论坛那条说了什么", "ask_measure"), {})
    assert texts(dispatcher).startswith("第16条 高水平办好中关村论坛")


async def test_measure_that_does_not_exist(store, vocabulary, dispatcher, make_tracker):
    await ActionDescribeMeasure(store, vocabulary).run(dispatcher, make_tracker("第25条", "ask_measure"), {})
    assert "共有19条措施" in texts(dispatcher)


async def test_facts_with_a_need_answer_the_need_and_facts_alone_start_the_check(store, vocabulary, dispatcher,
                                                                                 make_tracker):
    action = ActionHandleProfileFacts(store, vocabulary)
    tracker = make_tracker("我们是示范区的高新企业，想解决贷款问题", "inform",
                           entities=[{"entity": "topic", "value": "credit_insurance", "start": 14, "end": 16}])
    events = await action.run(dispatcher, tracker, {})
    assert "【科技金融】" in texts(dispatcher)
    assert {"event": "followup", "name": "action_listen", "timestamp": None} in events
    dispatcher.messages.clear()
    events = await action.run(dispatcher, make_tracker("我们是示范区的高新企业", "inform"), {})
    assert slot_events(events)["eligibility_verdict"]["outcome"] == "eligible"  # the facts settle it: no questions
    dispatcher.messages.clear()
    events = await action.run(dispatcher, make_tracker("我们是示范区的公司", "inform"), {})
    assert dispatcher.messages == [] and events[-1] == {"event": "followup", "name": "eligibility_form", "timestamp": None}
    assert slot_events(events) == {"subject_type": "enterprise", "registration": "zgc"}


async def test_a_need_with_a_settling_fact_about_the_asker_names_the_measure_and_the_rule(store, vocabulary, dispatcher,
                                                                                       make_tracker):
    from actions.facts import ActionAnswerOutOfScope

    text = "天使投资机构投早期项目有奖励吗 我们注册在上海"
    await ActionAnswerOutOfScope(store, vocabulary).run(dispatcher, make_tracker(text, "out_of_scope"), {})
    reply = texts(dispatcher)
    assert "第5条" in reply and "注册在北京以外的" in reply and "超出" not in reply, reply


async def test_a_document_fact_asked_beside_two_needs_is_answered_too(store, vocabulary, dispatcher, make_tracker):
    from actions.policy_search import ActionSearchPolicy

    text = "首台套和北交所上市分别对应哪条 另外文件啥时候印发的"
    await ActionSearchPolicy(store, vocabulary).run(dispatcher, make_tracker(text, "ask_policy_question"), {})
    reply = texts(dispatcher)
    assert "第4条" in reply and "第7条" in reply and "印发日期" in reply, reply


async def test_a_measure_of_another_fund_the_user_names_is_listed_too(store, vocabulary, dispatcher, make_tracker):
    from actions.funds import ActionRecommendFund

    tracker = make_tracker("园区想新建一批公共服务设施 顺带搭个互联网+创新创业服务平台 有支持吗", "describe_need")
    await ActionRecommendFund(store, vocabulary).run(dispatcher, tracker, {})
    reply = texts(dispatcher)
    assert "第8条" in reply and "第15条" in reply, reply


async def test_combining_named_measures_is_said_to_be_not_stated(store, vocabulary, dispatcher, make_tracker):
    from actions.funds import ActionDescribeMeasure

    tracker = make_tracker("第8条和第10条能一块报吗 会不会算重复支持", "ask_measure")
    await ActionDescribeMeasure(store, vocabulary).run(dispatcher, tracker, {})
    assert "没有写明能否同时申请" in texts(dispatcher), texts(dispatcher)


async def test_own_facts_read_as_off_topic_get_the_verdict(store, vocabulary, dispatcher, make_tracker):
    from actions.facts import ActionAnswerOutOfScope
    from actions.profile import resolve

    text = "行 营业执照地址就在示范区里"
    events = [{"event": "slot", "name": "hightech", "value": "national"},
              {"event": "action", "name": "action_listen"}, {"event": "user", "text": text}]
    slots = {"hightech": "national", **{k: v for k, v in resolve(vocabulary, text, []).items() if v}}
    tracker = make_tracker(text, "out_of_scope", slots=slots, events=events)
    out = await ActionAnswerOutOfScope(store, vocabulary).run(dispatcher, tracker, {})
    assert slot_events(out)["eligibility_verdict"]["outcome"] == "eligible"
