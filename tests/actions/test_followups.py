"""Questions that lean on the conversation or ask two things at once (session-4 design changes, issue 11)."""

from __future__ import annotations

import pytest

from actions.eligibility import ActionRouteEligibility
from actions.facts import ActionAnswerDocFact, ActionAnswerOutOfScope
from actions.funds import ActionListFunds, ordinal_measures
from actions.handoff import ActionRequestHandoff
from actions.policy_search import ActionSearchPolicy

from .conftest import slot_events, texts

PREVIOUS = [{"event": "action", "name": "action_listen"},
            {"event": "user", "text": "北交所上市培育和创新券 分别是第几条"},
            {"event": "bot", "text": "· 挂牌上市：第7条 …\n· 公共技术服务平台：第13条 …\n依据：第7条；第13条"},
            {"event": "action", "name": "action_listen"}]


def with_previous(make_tracker, text, intent="list_funds", **kw):
    return make_tracker(text, intent, events=[*PREVIOUS, {"event": "user", "text": text}], **kw)


async def answer(action, tracker, store, vocabulary, dispatcher):
    """Run one action on a real store: its reply text and events."""
    events = await action(store, vocabulary).run(dispatcher, tracker, {})
    return texts(dispatcher), events


def test_an_ordinal_points_at_the_previous_replys_measures(make_tracker):
    assert ordinal_measures(with_previous(make_tracker, "第二个归哪个资金管 跟第一个是一个资金吗"),
                            "第二个归哪个资金管 跟第一个是一个资金吗") == [13, 7]


async def test_measures_pointed_at_are_answered_with_their_funds(store, vocabulary, dispatcher, make_tracker):
    tracker = with_previous(make_tracker, "第二个归哪个资金管 跟第一个是一个资金吗")
    reply, _ = await answer(ActionListFunds, tracker, store, vocabulary, dispatcher)
    assert "第13条" in reply and "优化创新创业生态环境" in reply and "分属不同的资金" in reply, reply


async def test_a_follow_up_detail_cites_the_measure_just_named(store, vocabulary, dispatcher, make_tracker):
    events = [{"event": "action", "name": "action_listen"}, {"event": "user", "text": "概念验证有支持吗"},
              {"event": "bot", "text": "· 第12条 支持科技成果转化和产业化（对应“概念验证”）"},
              {"event": "action", "name": "action_listen"}, {"event": "user", "text": "行 那一个项目最多能补多少钱"}]
    tracker = make_tracker("行 那一个项目最多能补多少钱", "ask_amount", events=events)
    reply, _ = await answer(ActionSearchPolicy, tracker, store, vocabulary, dispatcher)
    assert "没有写明" in reply and "第12条" in reply, reply


async def test_another_policy_beside_a_kind_question_is_named_as_not_covered(store, vocabulary, dispatcher,
                                                                             make_tracker):
    text = "我们是在中关村示范区注册的科技类协会 两个问题 协会本身能申请不 协会能享受哪些税收优惠"
    reply, _ = await answer(ActionRouteEligibility, make_tracker(text, "check_eligibility"),
                            store, vocabulary, dispatcher)
    assert "没有涉及“税收优惠”" in reply and "社会组织" in reply, reply


async def test_a_word_of_the_users_introduction_is_no_aside(store, vocabulary, dispatcher, make_tracker):
    text = "本所系注册于中关村示范区之科研机构，本人退休返聘，拟申请大型科研仪器开放共享方面之支持，对应第几条？"
    reply, _ = await answer(ActionSearchPolicy, make_tracker(text, "describe_need"), store, vocabulary, dispatcher)
    assert "第13条" in reply and "退休" not in reply, reply


async def test_what_reference_means_is_quoted_and_read(store, vocabulary, dispatcher, make_tracker):
    await ActionAnswerDocFact(store, vocabulary).run(
        dispatcher, make_tracker("参照执行到底算能报还是不能报啊 领导要个准话", "ask_doc_fact"), {})
    reply = texts(dispatcher)
    assert "参照执行" in reply and "三（一）" in reply and "有效期" not in reply, reply


async def test_after_a_conditional_verdict_dont_know_repeats_it(store, vocabulary, dispatcher, make_tracker):
    verdict = {"outcome": "conditional", "conditions": []}
    tracker = make_tracker("行政今天不在 反正不知道", "out_of_scope",
                           slots={"eligibility_verdict": verdict, "subject_type": "enterprise", "registration": "zgc",
                                  "hightech": "unknown"})
    events = await ActionAnswerOutOfScope(store, vocabulary).run(dispatcher, tracker, {})
    assert slot_events(events)["eligibility_verdict"]["outcome"] == "conditional", texts(dispatcher)


async def test_a_phone_number_question_is_no_request_for_a_person(store, vocabulary, dispatcher, make_tracker):
    events = await ActionRequestHandoff(store, vocabulary).run(
        dispatcher, make_tracker("有没有个电话能直接找到经办的人问问", "request_human"), {})
    assert "handoff_requested" not in slot_events(events) and "没有写明" in texts(dispatcher)


@pytest.mark.parametrize("text, code", [("中关村高新我们还在走流程 还没评上", None), ("申报流程是啥", "process"),
                                        ("参照执行到底算能报还是不能报", None), ("这政策执行到哪年", "end_date")])
async def test_unstated_cues_do_not_fire_inside_other_words(store, text, code):
    topic = store.document().unstated_topic(text)
    assert (topic["code"] if topic else None) == code


async def test_an_instrument_named_as_a_need_is_answered_before_the_check_asks(store, vocabulary, dispatcher,
                                                                                make_tracker):
    text = "我们所是事业单位性质的科研机构 有几台贵的大型仪器想对外共享 我们自己能申请吗"
    _, events = await answer(ActionRouteEligibility, make_tracker(text, "check_eligibility"),
                             store, vocabulary, dispatcher)
    assert "第13条" in texts(dispatcher) and events[-1]["name"] == "eligibility_form"


async def test_a_country_abroad_names_the_overseas_measure(store, vocabulary, dispatcher, make_tracker):
    from actions.funds import ActionRecommendFund

    await ActionRecommendFund(store, vocabulary).run(
        dispatcher, make_tracker("公司打算在新加坡那边设个研发中心 有支持吗", "describe_need"), {})
    assert "第17条" in texts(dispatcher) and "第18条" not in texts(dispatcher), texts(dispatcher)


async def test_needs_of_two_funds_beside_a_kind_are_each_named(store, vocabulary, dispatcher, make_tracker):
    reply, _ = await answer(ActionRouteEligibility, make_tracker("首台套跟人才公寓各是哪条", "ask_policy_question"),
                            store, vocabulary, dispatcher)
    assert "第4条" in reply and "第11条" in reply, reply


async def test_each_need_lists_the_measures_its_words_name(store, vocabulary, dispatcher, make_tracker):
    reply, _ = await answer(ActionSearchPolicy, make_tracker("专利池和海外研发中心分别对应哪条", "ask_policy_question"),
                            store, vocabulary, dispatcher)
    assert "第14条" in reply and "第17条" in reply and "第16条" not in reply, reply


async def test_a_message_the_router_and_recommender_both_hand_on_gets_one_answer(store, vocabulary, dispatcher,
                                                                                 make_tracker):
    # the router saw a need and handed the message to the recommender, which saw the user's own case and handed it
    # back, until Python's recursion limit ended it in an error reply
    text = "国高没有 中关村高新也没评 注册在大兴 想进小升规清单 能报吗"
    reply, events = await answer(ActionRouteEligibility, make_tracker(text, "check_eligibility"),
                                 store, vocabulary, dispatcher)
    assert "出错" not in reply and "不属于支持对象" in reply and "第1条" in reply, reply
    assert slot_events(events)["eligibility_verdict"]["outcome"] == "not_eligible"


@pytest.mark.parametrize("text", ["示范区注册 有国高 能报吧", "示范区注册的中关村高薪 能申吧"])
async def test_credentials_listed_without_a_kind_are_the_users_own_case(store, vocabulary, dispatcher, make_tracker,
                                                                       text):
    events = await ActionRouteEligibility(store, vocabulary).run(dispatcher, make_tracker(text, "check_eligibility"),
                                                                 {})
    assert slot_events(events)["eligibility_verdict"]["outcome"] == "eligible", texts(dispatcher)


async def test_a_kind_asked_about_with_its_noun_stays_a_question_about_the_kind(store, vocabulary, dispatcher,
                                                                               make_tracker):
    text = "注册在示范区的国高企业能报吗"
    events = await ActionRouteEligibility(store, vocabulary).run(dispatcher, make_tracker(text, "check_eligibility"),
                                                                 {})
    assert "eligibility_verdict" not in slot_events(events), texts(dispatcher)


async def test_a_definition_the_document_leaves_open_is_said_to_be_unstated(store, vocabulary, dispatcher,
                                                                           make_tracker):
    text = "独角兽得符合啥条件才能牵头建联合体"
    reply, _ = await answer(ActionSearchPolicy, make_tracker(text, "ask_unstated"), store, vocabulary, dispatcher)
    assert "没有写明" in reply and "第3条" in reply and "提升企业创新能力" in reply, reply


async def test_a_header_fact_and_a_curated_fact_are_both_answered(store, vocabulary, dispatcher, make_tracker):
    text = "这个文编号是啥 资金哪出的"
    reply, _ = await answer(ActionAnswerDocFact, make_tracker(text, "ask_doc_fact"), store, vocabulary, dispatcher)
    assert "京科发〔2022〕4号" in reply and "市级财政" in reply, reply


async def test_an_other_matter_asked_with_a_trailing_bu_is_named_as_not_covered(store, vocabulary, dispatcher,
                                                                                make_tracker):
    text = "残保金能减免不 另外我们示范区注册的中关村高新能报这个吧"
    reply, _ = await answer(ActionRouteEligibility, make_tracker(text, "check_eligibility"),
                            store, vocabulary, dispatcher)
    assert "没有涉及“残保金”" in reply and "可以申报" in reply, reply


async def test_a_detail_the_quoted_passage_does_not_hold_is_said_to_be_unstated(store, vocabulary, dispatcher,
                                                                                make_tracker):
    reply, _ = await answer(ActionSearchPolicy, make_tracker("创新券领到了咋用 随便找家机构就能抵吗", "ask_policy_question"),
                            store, vocabulary, dispatcher)
    assert "第13条" in reply and "没有写明您问的具体细节" in reply, reply
    dispatcher.messages.clear()
    await ActionSearchPolicy(store, vocabulary).run(dispatcher, make_tracker("技术经理人怎么支持",
                                                                             "ask_policy_question"), {})
    assert "没有写明" not in texts(dispatcher), texts(dispatcher)


async def test_the_rules_question_names_the_five_funds_rules(store, vocabulary, dispatcher, make_tracker):
    text = "文件里提到要出的那几个管理办法 一共几个 都叫啥 里面的细则你这能看到吗"
    reply, _ = await answer(ActionSearchPolicy, make_tracker(text, "ask_unstated"), store, vocabulary, dispatcher)
    assert "没有写" in reply and reply.count("管理办法(试行)》") >= 5, reply


@pytest.mark.parametrize("text, outcome", [
    ("示范区注册的中关村高新 想做发明专利布局 够条件不", "eligible"),
    ("公司执照在示范区 国高中关村高新都没评 想报应用场景建设项目 行不", "not_eligible"),
])
async def test_own_facts_a_need_and_an_ask_get_the_verdict_beside_the_need(store, vocabulary, dispatcher,
                                                                           make_tracker, text, outcome):
    events = await ActionRouteEligibility(store, vocabulary).run(dispatcher, make_tracker(text, "describe_need"), {})
    assert slot_events(events)["eligibility_verdict"]["outcome"] == outcome, texts(dispatcher)


@pytest.mark.parametrize("text", ["补贴有没有上限", "补助能用来发工资吗", "中期检查怎么弄", "批下来钱怎么给 一次性吗"])
async def test_a_detail_of_the_support_asked_alone_is_unstated_not_out_of_scope(store, vocabulary, dispatcher,
                                                                               make_tracker, text):
    reply, _ = await answer(ActionAnswerOutOfScope, make_tracker(text, "out_of_scope"), store, vocabulary, dispatcher)
    assert "没有写明" in reply and "超出" not in reply, reply


async def test_which_measure_a_thing_is_gets_no_unstated_note(store, vocabulary, dispatcher, make_tracker):
    await ActionSearchPolicy(store, vocabulary).run(dispatcher, make_tracker("首台套是哪条", "ask_policy_question"), {})
    assert "没有写明您问的具体细节" not in texts(dispatcher), texts(dispatcher)
