from __future__ import annotations

import pytest

from actions.eligibility import (ActionAskRegistration, ActionAskSubjectType, ActionCheckEligibility, ActionRouteEligibility,
                                 ValidateEligibilityForm, profile_of)

from .conftest import customs, slot_events, texts

PROFILE = ("subject_type", "registration", "hightech")


@pytest.mark.parametrize("slots, outcome, expected_lines", [
    ({"subject_type": "enterprise", "registration": "zgc", "hightech": "national"}, "eligible",
     ["可以申报", "✅ 注册在中关村示范区范围内：满足"]),
    ({"subject_type": "enterprise", "registration": "zgc", "hightech": "none"}, "not_eligible",
     ["不属于支持对象", "❌ 企业须为国家高新技术企业或中关村高新技术企业：不满足", "须先取得"]),
    ({"subject_type": "enterprise", "registration": "beijing_other", "hightech": "zgc"}, "reference",
     ["参照执行", "⚠️ 注册在中关村示范区范围内：参照执行"]),
    ({"subject_type": "university", "registration": "outside"}, "not_eligible",
     ["❌ 注册在中关村示范区范围内：不满足"]),
    ({"subject_type": "enterprise", "registration": "unknown", "hightech": "national"}, "conditional",
     ["有条件", "❓ 注册在中关村示范区范围内：待确认", "参照执行"]),
    ({"subject_type": "enterprise", "registration": "beijing", "hightech": "zgc"}, "conditional",
     ["一区多园", "参照执行"]),
    ({"subject_type": "enterprise", "registration": "zgc", "hightech": "unknown"}, "conditional",
     ["须持有国家高新技术企业或中关村高新技术企业资质"]),
    ({"subject_type": "enterprise", "registration": "zgc", "hightech": "certified"}, "eligible",
     ["可以申报", "申报时以证书为准"]),
])
async def test_verdict_per_condition_with_citation(store, vocabulary, dispatcher, make_tracker, slots, outcome,
                                                   expected_lines):
    events = await ActionCheckEligibility(store, vocabulary).run(dispatcher, make_tracker(slots=slots), {})
    text = texts(dispatcher)
    for line in expected_lines:
        assert line in text
    assert "依据：京科发〔2022〕4号 三（一）「资金来源及支持对象」" in text
    verdict = slot_events(events)["eligibility_verdict"]
    assert verdict["outcome"] == outcome
    quotes = customs(dispatcher, "citations")[0]["items"][0]
    assert quotes["section_id"] == "zgc-2022/三/（一）" and "支持对象" in quotes["quote"]


async def test_university_verdict_leaves_out_the_high_tech_condition(store, vocabulary, dispatcher, make_tracker):
    await ActionCheckEligibility(store, vocabulary).run(
        dispatcher, make_tracker(slots={"subject_type": "university", "registration": "zgc"}), {})
    assert "高新技术企业" not in texts(dispatcher)


# --- the form: asks only what it does not know --------------------------------------------------


async def test_form_does_not_ask_a_university_about_high_tech(store, vocabulary, dispatcher, make_tracker):
    form = ValidateEligibilityForm(vocabulary, store)
    tracker = make_tracker(slots={"subject_type": "university"})
    assert await form.required_slots(list(PROFILE), dispatcher, tracker, {}) == ["subject_type", "registration"]
    tracker = make_tracker(slots={"subject_type": "enterprise"})
    assert await form.required_slots(list(PROFILE), dispatcher, tracker, {}) == list(PROFILE)


async def test_words_the_nlu_missed_are_picked_up(store, vocabulary, dispatcher, make_tracker):
    form = ValidateEligibilityForm(vocabulary, store)
    tracker = make_tracker("我们是海淀的一家公司，还没认定高新", slots={"requested_slot": "subject_type"})
    assert await form.extract_subject_type(dispatcher, tracker, {}) == {"subject_type": "enterprise"}
    assert await form.extract_hightech(dispatcher, tracker, {}) == {"hightech": "none"}
    assert await form.extract_registration(dispatcher, tracker, {}) == {"registration": "beijing"}


@pytest.mark.parametrize("slot, intent, text, value", [
    ("hightech", "deny", "不是", "none"),
    ("hightech", "affirm", "是的", "certified"),
    ("registration", "affirm", "对", "zgc"),
    ("registration", "inform", "这个不太清楚", "unknown"),
])
async def test_yes_no_and_dont_know_answer_the_question_asked(store, vocabulary, dispatcher, make_tracker, slot, intent,
                                                              text, value):
    form = ValidateEligibilityForm(vocabulary, store)
    tracker = make_tracker(text, intent=intent, slots={"requested_slot": slot})
    assert await getattr(form, f"extract_{slot}")(dispatcher, tracker, {}) == {slot: value}


async def test_yes_to_another_question_fills_nothing(store, vocabulary, dispatcher, make_tracker):
    form = ValidateEligibilityForm(vocabulary, store)
    tracker = make_tracker("是的", intent="affirm", slots={"requested_slot": "subject_type"})
    assert await form.extract_hightech(dispatcher, tracker, {}) == {}


async def test_a_beijing_district_is_kept_as_in_beijing_not_taken_for_the_zone(store, vocabulary, dispatcher,
                                                                             make_tracker):
    """The document names no parks: a district is neither 示范区 nor outside it — the verdict is conditional, and the
    question is not asked again word for word."""
    form = ValidateEligibilityForm(vocabulary, store)
    result = await form.validate_registration("beijing", dispatcher, make_tracker(), {})
    assert result == {"registration": "beijing"}
    events = await ActionCheckEligibility(store, vocabulary).run(
        dispatcher, make_tracker(slots={"subject_type": "enterprise", "registration": "beijing", "hightech": "zgc"}),
        {})
    assert slot_events(events)["eligibility_verdict"]["outcome"] == "conditional"
    text = texts(dispatcher)
    assert "一区多园" in text and "各区都有" not in text  # the document says 一区多园, nothing about districts


async def test_public_institution_is_asked_not_rejected(store, vocabulary, dispatcher, make_tracker):
    """事业单位 is a legal form: a public university or institute is still a 高等学校 / 科研机构."""
    assert vocabulary.best("我们是事业单位", "subject_type") == "ambiguous"
    form = ValidateEligibilityForm(vocabulary, store)
    result = await form.validate_subject_type("ambiguous", dispatcher, make_tracker("我们是事业单位"), {})
    assert result["subject_type"] is None  # asked which kind, not judged
    assert "高等学校" in texts(dispatcher) and "不属于" not in texts(dispatcher)


async def test_bare_high_tech_stays_unspecified(store, vocabulary, make_tracker):
    """高新 / 高新企业 / "是" to the certificate question: high-tech, certificate not named — never 国家高新."""
    for word in ("高新", "高新企业", "高新技术企业"):
        assert vocabulary.best(f"我们是{word}", "hightech") == "certified", word
    tracker = make_tracker(slots={"subject_type": "enterprise", "registration": "zgc", "hightech": "certified"})
    assert profile_of(tracker)["hightech"] == "certified"


async def test_a_settled_condition_gives_the_verdict_without_more_questions(store, vocabulary, dispatcher,
                                                                           make_tracker):
    form = ValidateEligibilityForm(vocabulary, store)
    outside = make_tracker(slots={"subject_type": "enterprise", "registration": "outside"})
    assert await form.required_slots(list(PROFILE), dispatcher, outside, {}) == []
    no_cert = make_tracker(slots={"hightech": "none"})  # only enterprises hold the certificate: settled
    assert await form.required_slots(list(PROFILE), dispatcher, no_cert, {}) == []


async def test_a_question_asked_again_says_why_and_then_takes_unknown(store, vocabulary, dispatcher, make_tracker):
    form = ValidateEligibilityForm(vocabulary, store)
    first = make_tracker("嗯……", slots={"requested_slot": "registration", "subject_type": "enterprise"})
    out = await form.extract_registration(dispatcher, first, {})
    assert out == {"profile_attempts": {"registration": 1}}
    asked = make_tracker("嗯……", slots={"requested_slot": "registration", "profile_attempts": {"registration": 1}})
    await ActionAskRegistration(store, vocabulary).run(dispatcher, asked, {})
    assert "之所以要问" in texts(dispatcher) and "营业执照" in texts(dispatcher)
    second = make_tracker("还是说不上来", slots={"requested_slot": "registration", "profile_attempts": {"registration": 1}})
    assert (await form.extract_registration(dispatcher, second, {}))["registration"] == "unknown"


@pytest.mark.parametrize("text, expected, absent", [
    ("民营企业能申请吗", ["国家高新技术企业", "中关村示范区"], ["贵单位注册在"]),
    ("科研院所可以申请这些资金吗", ["科研机构", "事业单位"], ["不属于"]),
    ("协会这种社会组织算不算支持对象", ["社会组织属于三（一）列明的支持对象"], []),
])
async def test_a_question_about_a_kind_of_applicant_gets_the_rule(store, vocabulary, dispatcher, make_tracker, text,
                                                                  expected, absent):
    events = await ActionRouteEligibility(store, vocabulary).run(dispatcher, make_tracker(text, "check_eligibility"),
                                                                 {})
    reply = texts(dispatcher)
    assert all(w in reply for w in expected) and not any(w in reply for w in absent), reply
    assert "三（一）" in reply
    assert [e["name"] for e in events if e.get("event") == "followup"] == ["action_listen"]  # no form started


async def test_which_measures_for_a_kind_lists_the_measures_that_name_it(store, vocabulary, dispatcher, make_tracker):
    await ActionRouteEligibility(store, vocabulary).run(dispatcher, make_tracker("投资机构能申请哪些措施",
                                                                                 "check_eligibility"), {})
    reply = texts(dispatcher)
    assert "第5条" in reply and "支持投资机构加大早期投资力度" in reply
    assert "第4、8条没有点名特定对象" in reply


async def test_own_case_with_a_settling_fact_gets_the_verdict_at_once(store, vocabulary, dispatcher, make_tracker):
    tracker = make_tracker("我们公司注册在深圳，能申请吗", "check_eligibility",
                           slots={"registration": "outside", "subject_type": "enterprise"})
    events = await ActionRouteEligibility(store, vocabulary).run(dispatcher, tracker, {})
    assert slot_events(events)["eligibility_verdict"]["outcome"] == "not_eligible"
    assert "高新技术企业吗" not in texts(dispatcher)


@pytest.mark.parametrize("slot, value, code", [
    ("subject_type", "高校", "university"), ("subject_type", "enterprise", "enterprise"),
    ("hightech", "没评上国高", "none"), ("hightech", "中关村高新", "zgc"), ("registration", "天津", "outside"),
    ("subject_type", "火星人", None),
])
async def test_validation_keeps_codes_only(store, vocabulary, dispatcher, make_tracker, slot, value, code):
    form = ValidateEligibilityForm(vocabulary, store)
    result = await getattr(form, f"validate_{slot}")(value, dispatcher, make_tracker(), {})
    assert result == {slot: code}


@pytest.mark.parametrize("text, expected", [
    ("没高企资质的民营企业能报么", "不属于支持对象"),
    ("京外的高校院所能申请吗", "注册在北京以外的"),
    ("注册在北京其他区、不在示范区的单位能申请吗", "参照执行"),
])
async def test_a_general_question_with_settling_facts_gets_the_rule_not_a_verdict(store, vocabulary, dispatcher,
                                                                                 make_tracker, text, expected):
    events = await ActionRouteEligibility(store, vocabulary).run(dispatcher, make_tracker(text, "check_eligibility"),
                                                                 {})
    reply = texts(dispatcher)
    assert expected in reply and "三（一）" in reply and "贵单位目前" not in reply, reply
    assert "eligibility_verdict" not in slot_events(events)
    assert [e["name"] for e in events if e.get("event") == "followup"] == ["action_listen"]


@pytest.mark.parametrize("text", ["公司注册在示范区 高企和中关村高新都还没有 今年刚递的高企材料 现在能报吗",
                                  "我们总部在杭州 北京没有注册主体 有国高 能报吗"])
async def test_facts_stated_about_ones_own_organisation_get_the_verdict(store, vocabulary, dispatcher, make_tracker,
                                                                       text):
    from actions.profile import resolve

    slots = resolve(vocabulary, text, [])  # what the slot validation sets before the action runs
    events = await ActionRouteEligibility(store, vocabulary).run(
        dispatcher, make_tracker(text, "check_eligibility", slots=slots), {})
    assert slot_events(events)["eligibility_verdict"]["outcome"] == "not_eligible", texts(dispatcher)


async def test_a_question_answered_by_its_own_action_inside_the_check_is_not_answered_twice(store, vocabulary,
                                                                                           dispatcher, make_tracker):
    text = "插一句 这个政策有效期到什么时候"
    events = [{"event": "slot", "name": "requested_slot", "value": "registration"},
              {"event": "bot", "text": "贵单位注册在中关村示范区范围内吗？"},
              {"event": "action", "name": "action_listen"}, {"event": "user", "text": text},
              {"event": "bot", "text": "本措施自印发之日起施行……"}]
    tracker = make_tracker(text, "ask_doc_fact", slots={"requested_slot": "registration"}, events=events,
                           active_loop="eligibility_form")
    await ActionAskRegistration(store, vocabulary).run(dispatcher, tracker, {})
    reply = texts(dispatcher)
    assert reply.startswith("回到刚才的问题") and "注册在中关村示范区范围内吗" in reply and "没有直接对应" not in reply


async def test_a_first_question_after_an_explanation_is_not_called_a_return(store, vocabulary, dispatcher,
                                                                            make_tracker):
    """"我们是外资研发中心…": the options were explained this turn and the check asks for the first time."""
    text = "我们是外资研发中心，注册在亦庄，能享受第17条吗"
    events = [{"event": "action", "name": "action_listen"}, {"event": "user", "text": text},
              {"event": "bot", "text": "“外资研发中心”要看以什么类别申报（企业、科研机构）……"},
              {"event": "slot", "name": "requested_slot", "value": "subject_type"}]
    tracker = make_tracker(text, "check_eligibility", slots={"requested_slot": "subject_type"}, events=events,
                           active_loop="eligibility_form")
    await ActionAskSubjectType(store, vocabulary).run(dispatcher, tracker, {})
    reply = texts(dispatcher)
    assert "回到刚才的问题" not in reply and "哪一类" in reply, reply


async def test_own_case_and_a_detail_the_document_leaves_open_are_both_answered(store, vocabulary, dispatcher,
                                                                               make_tracker):
    from actions.profile import resolve

    text = "我们是示范区的国高 能报吗 申报流程是啥"
    tracker = make_tracker(text, "check_eligibility", slots=resolve(vocabulary, text, []))
    events = await ActionRouteEligibility(store, vocabulary).run(dispatcher, tracker, {})
    reply = texts(dispatcher)
    assert slot_events(events)["eligibility_verdict"]["outcome"] == "eligible"
    assert "没有写明申报流程" in reply, reply


@pytest.mark.parametrize("text, outcome", [("我们是高校，注册在中关村示范区范围内，能申请吗", "eligible"),
                                           ("我司国高 在北京注册 但确认过不在示范区范围里 能报不", "reference")])
async def test_a_registration_stated_with_the_zone_words_is_no_question_about_the_parks(store, vocabulary, dispatcher,
                                                                                      make_tracker, text, outcome):
    from actions.profile import resolve

    tracker = make_tracker(text, "check_eligibility", slots=resolve(vocabulary, text, []))
    events = await ActionRouteEligibility(store, vocabulary).run(dispatcher, tracker, {})
    assert slot_events(events)["eligibility_verdict"]["outcome"] == outcome, texts(dispatcher)


async def test_asking_whether_a_district_is_in_the_zone_gets_the_parks_answer(store, vocabulary, dispatcher,
                                                                            make_tracker):
    tracker = make_tracker("昌平算示范区吗", "inform", slots={"registration": "beijing", "hightech": "national"})
    await ActionRouteEligibility(store, vocabulary).run(dispatcher, tracker, {})
    assert "一区多园" in texts(dispatcher) and "没有列出" in texts(dispatcher)


async def test_dont_know_read_as_another_intent_answers_the_check(store, vocabulary, dispatcher, make_tracker):
    """"对不上 你就当我们不确定吧" while the check waits for the registration, read by the NLU as something else."""
    from actions.funds import ActionAnswerCapabilities

    tracker = make_tracker("对不上 你就当我们不确定吧", "ask_capabilities", slots={"requested_slot": "registration"},
                           active_loop="eligibility_form")
    events = await ActionAnswerCapabilities(store, vocabulary).run(dispatcher, tracker, {})
    assert slot_events(events) == {"registration": "unknown"} and not dispatcher.messages


async def test_a_need_beside_an_open_own_case_is_answered_before_the_check_asks(store, vocabulary, dispatcher,
                                                                               make_tracker):
    tracker = make_tracker("孵化器有支持吗 我们就是做孵化的 注册在海淀 能不能报", "check_eligibility")
    events = await ActionRouteEligibility(store, vocabulary).run(dispatcher, tracker, {})
    assert "第9条" in texts(dispatcher) and events[-1]["name"] == "eligibility_form"


async def test_a_related_organisation_gets_the_rule_for_its_kind(store, vocabulary, dispatcher, make_tracker):
    """"我们学校下面的校办企业呢" after the school's verdict: the rule for enterprises, not the school's verdict again."""
    tracker = make_tracker("那我们学校下面的校办企业呢 也能报吗", "check_eligibility",
                           slots={"subject_type": "university", "registration": "zgc"})
    events = await ActionRouteEligibility(store, vocabulary).run(dispatcher, tracker, {})
    assert "eligibility_verdict" not in slot_events(events)
    assert "国家高新技术企业" in texts(dispatcher), texts(dispatcher)


async def test_a_supposed_registration_asked_inside_the_check_gets_its_rule(store, vocabulary, dispatcher,
                                                                            make_tracker):
    events = [{"event": "slot", "name": "requested_slot", "value": "registration"},
              {"event": "action", "name": "action_listen"},
              {"event": "user", "text": "要是注册在北京别的区不在示范区会咋样"}]
    tracker = make_tracker("要是注册在北京别的区不在示范区会咋样", "inform", events=events,
                           slots={"requested_slot": "registration", "hightech": "national"},
                           active_loop="eligibility_form")
    form_events = await ValidateEligibilityForm(vocabulary, store).run(dispatcher, tracker, {"forms": {}})
    assert "registration" not in {e.get("name") for e in form_events if e.get("value")}
    await ActionAskRegistration(store, vocabulary).run(dispatcher, tracker, {})
    assert "参照执行" in texts(dispatcher), texts(dispatcher)


async def test_a_kind_volunteered_before_the_question_does_not_use_up_the_second_ask(store, vocabulary, dispatcher,
                                                                                    make_tracker):
    """"我们是一家医院" before the check asked: the explanation, then the question; the user's ambiguous answer to
    it is still asked once more, not closed as unknown."""
    tracker = make_tracker("我们是一家医院 想问能不能作为申报单位", "check_eligibility", active_loop="eligibility_form",
                           slots={"requested_slot": "subject_type"})
    validator = ValidateEligibilityForm(vocabulary, store)
    out = await validator.validate_subject_type("ambiguous", dispatcher, tracker, {})
    assert out == {"subject_type": None}


async def test_the_check_ending_answers_what_else_the_message_asks(store, vocabulary, dispatcher, make_tracker):
    tracker = make_tracker("在示范区登记的 对了我们想办个国际学术会议 有对应条款不", "inform",
                           slots={"subject_type": "social_org", "registration": "zgc"})
    events = await ActionCheckEligibility(store, vocabulary).run(dispatcher, tracker, {})
    assert slot_events(events)["eligibility_verdict"]["outcome"] == "eligible"
    assert "第19条" in texts(dispatcher), texts(dispatcher)


async def test_which_measures_and_the_own_case_are_both_answered(store, vocabulary, dispatcher, make_tracker):
    text = "我是协会秘书处的 协会在示范区登记 社会组织这块政策支持啥 我们协会自己能申报吗"
    from actions.profile import resolve

    tracker = make_tracker(text, "check_eligibility", slots=resolve(vocabulary, text, []))
    events = await ActionRouteEligibility(store, vocabulary).run(dispatcher, tracker, {})
    assert slot_events(events)["eligibility_verdict"]["outcome"] == "eligible"
    assert "第15条" in texts(dispatcher), texts(dispatcher)


async def test_which_measures_for_a_kind_is_no_own_case(store, vocabulary, dispatcher, make_tracker):
    events = await ActionRouteEligibility(store, vocabulary).run(
        dispatcher, make_tracker("我们是孵化器运营方 孵化器能申请哪几条", "check_eligibility"), {})
    assert events[-1]["name"] == "action_listen" and "第9条" in texts(dispatcher)


async def test_a_verdict_given_beside_the_check_ends_it(store, vocabulary, dispatcher, make_tracker):
    from actions.funds import ActionHandleProfileFacts

    tracker = make_tracker("我们是在示范区里面注册的", "inform", active_loop="eligibility_form",
                           slots={"requested_slot": "registration", "subject_type": "enterprise",
                                  "hightech": "national"})
    events = await ActionHandleProfileFacts(store, vocabulary).run(dispatcher, tracker, {})
    assert slot_events(events)["eligibility_verdict"]["outcome"] == "eligible"
    assert {"event": "active_loop", "name": None} in [{k: e.get(k) for k in ("event", "name")} for e in events]


async def test_the_same_ambiguous_kind_said_again_stands_as_open(store, vocabulary, dispatcher, make_tracker):
    events = [{"event": "action", "name": "action_listen"}, {"event": "user", "text": "我们是投资公司 能报吗"},
              {"event": "slot", "name": "requested_slot", "value": "subject_type"},
              {"event": "action", "name": "action_listen"}, {"event": "user", "text": "就是投资公司啊"}]
    tracker = make_tracker("就是投资公司啊", "inform", events=events, active_loop="eligibility_form",
                           slots={"requested_slot": "subject_type"})
    out = await ValidateEligibilityForm(vocabulary, store).validate_subject_type("ambiguous", dispatcher, tracker, {})
    assert out == {"subject_type": "ambiguous"} and not dispatcher.messages
