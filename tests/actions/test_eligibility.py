from __future__ import annotations

import pytest

from actions.eligibility import ActionCheckEligibility, ValidateEligibilityForm

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
    ({"subject_type": "enterprise", "registration": "unknown", "hightech": "national"}, "unknown",
     ["还有条件需要确认", "❓ 注册在中关村示范区范围内：待确认"]),
    ({"subject_type": "enterprise", "registration": "zgc", "hightech": "certified"}, "eligible", ["可以申报"]),
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


async def test_form_does_not_ask_a_university_about_high_tech(vocabulary, dispatcher, make_tracker):
    form = ValidateEligibilityForm(vocabulary)
    tracker = make_tracker(slots={"subject_type": "university"})
    assert await form.required_slots(list(PROFILE), dispatcher, tracker, {}) == ["subject_type", "registration"]
    tracker = make_tracker(slots={"subject_type": "enterprise"})
    assert await form.required_slots(list(PROFILE), dispatcher, tracker, {}) == list(PROFILE)


async def test_words_the_nlu_missed_are_picked_up(vocabulary, dispatcher, make_tracker):
    form = ValidateEligibilityForm(vocabulary)
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
async def test_yes_no_and_dont_know_answer_the_question_asked(vocabulary, dispatcher, make_tracker, slot, intent,
                                                              text, value):
    form = ValidateEligibilityForm(vocabulary)
    tracker = make_tracker(text, intent=intent, slots={"requested_slot": slot})
    assert await getattr(form, f"extract_{slot}")(dispatcher, tracker, {}) == {slot: value}


async def test_yes_to_another_question_fills_nothing(vocabulary, dispatcher, make_tracker):
    form = ValidateEligibilityForm(vocabulary)
    tracker = make_tracker("是的", intent="affirm", slots={"requested_slot": "subject_type"})
    assert await form.extract_hightech(dispatcher, tracker, {}) == {}


async def test_a_beijing_district_is_not_taken_for_the_demonstration_zone(vocabulary, dispatcher, make_tracker):
    form = ValidateEligibilityForm(vocabulary)
    result = await form.validate_registration("beijing", dispatcher, make_tracker(), {})
    assert result == {"registration": None}
    assert "一区多园" in texts(dispatcher)


@pytest.mark.parametrize("slot, value, code", [
    ("subject_type", "高校", "university"), ("subject_type", "enterprise", "enterprise"),
    ("hightech", "没评上国高", "none"), ("hightech", "中关村高新", "zgc"), ("registration", "天津", "outside"),
    ("subject_type", "火星人", None),
])
async def test_validation_keeps_codes_only(vocabulary, dispatcher, make_tracker, slot, value, code):
    form = ValidateEligibilityForm(vocabulary)
    result = await getattr(form, f"validate_{slot}")(value, dispatcher, make_tracker(), {})
    assert result == {slot: code}
