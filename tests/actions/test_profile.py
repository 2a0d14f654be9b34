"""The profile facts a message states, read in context (actions/profile.py)."""

from __future__ import annotations

import pytest

from actions.profile import profile_events, resolve, slot_before_turn

from .conftest import slot_events


@pytest.mark.parametrize("text, slot, code", [
    # a place after a registration cue is the registration, whatever else is named
    ("注册在天津 北京只有个办事处 有国高 能报吗", "registration", "outside"),
    ("营业执照上写的是北京别的区 但研发在中关村", "registration", "beijing_other"),
    # a place the message denies being registered in does not count
    ("我们总部在苏州 北京这边没注册 能申请吗", "registration", "outside"),
    # a question about the zone names no registration
    ("示范区具体包括哪些园区 有名单吗", "registration", None),
    # a certificate applied for is not held; one asked about as a requirement states nothing
    ("国高刚递了材料还没批 现在能报吗", "hightech", "none"),
    ("我们在申请国高 能报吗", "hightech", "none"),
    ("是不是必须有国高才行", "hightech", None),
    # a lapsed certificate is not held; asking whether a place is in the zone says nothing of the zone
    ("我们有国高但是过期了 能报吗", "hightech", "none"),
    ("我们之前是国高 去年没复审通过", "hightech", "none"),
    ("高企资质明年才到期", "hightech", "national"),
    ("不知道在不在示范区", "registration", "unknown"),  # they say they do not know: the check treats it so
    ("昌平算示范区吗", "registration", "beijing"),
    # a named kind beats one that needs asking, which beats a generic word
    ("我们是科研院所 事业单位性质", "subject_type", "research_institute"),
    ("我们是做园区运营的 公司注册在示范区", "subject_type", "ambiguous"),
    ("我们是大学科技园的运营公司", "subject_type", "ambiguous"),
    ("我们公司想了解大学科技园相关的支持", "subject_type", "enterprise"),
    # certificates denied after they are named, without a word between them; not yet obtained; lapsed
    ("就是个普通的私募基金管理公司 国高中关村高新都没有", "hightech", "none"),
    ("高新没评过", "hightech", "none"),
    ("我们是中关村软件园的公司 高新认定还在走流程 能报吗", "hightech", "none"),
    ("哎不对 刚看了证书去年就过期了 一直没续", "hightech", "none"),
    ("证书去年到期了 续没续上我不清楚", "hightech", None),  # not known: the check asks, or ends conditional
    # certificates named in a question about certificates are not held
    ("插个话 国高跟中关村高新是不是都认", "hightech", None),
    # places outside the mainland's provinces list
    ("我们公司在台北登记设立 能不能申请", "registration", "outside"),
    # kinds 三（一） does not settle by name are asked about
    ("我们是众创空间 在海淀 能申请吗", "subject_type", "ambiguous"),
    ("我们是外资研发中心 注册在亦庄", "subject_type", "ambiguous"),
    # certificates denied after a hedge or together; one the user must ask about is not known
    ("国高和中关村高新 都没有", "hightech", "none"),
    ("国高好像没有", "hightech", "none"),
    ("国高好像没有 中关村高新得问下财务", "hightech", "unknown"),
    ("国高没问题 注册在示范区", "hightech", "national"),
    ("有国高 没有中关村高新", "hightech", "national"),
    ("我们有国高，没有中关村高新", "hightech", "national"),
    ("中关村高新没有过期 注册在示范区", "hightech", "zgc"),
    ("高新资质这事我不清楚", "hightech", "unknown"),
    ("高新证书应该有吧 我问问 注册在示范区", "hightech", "unknown"),
    ("我们是国高 我问下 注册地能不能算示范区", "hightech", "national"),
    ("我们是外地高校在北京的研究院 能申请吗", "registration", "beijing"),
    ("我们是个科研所 能申请么", "subject_type", "research_institute"),
    # what the user says they are beats a kind they ask about
    ("我们是做园区运营的公司 注册在示范区 园区运营服务机构有啥支持 我们能报吗", "subject_type", "ambiguous"),
    # a group compared with, and a place named for its own policies, are no facts about the user
    ("参照执行啥意思 跟示范区里的企业待遇一样吗", "registration", None),
    ("那天津本地的科技政策你这有吗", "registration", None),
    # words quoted from the document state nothing about the user
    ("文件里这句 符合支持条件的注册在北京市其他地区的创新主体参照执行 是啥意思 我们是国高 注册地在河北廊坊 沾得上吗",
     "registration", "outside"),
    # a correction: what follows it stands
    ("我们是科研院所 能报吗 哦不对不对 说错了 是院所投资的一家公司 国高和中关村高新都没有 注册在示范区", "subject_type",
     "enterprise"),
    ("公司是河北廊坊注册的 有国高 北京这边只有个研发中心", "registration", "outside"),
    ("我们没有高新证书 在中关村注册的 是不是都申请不到", "hightech", "none"),
    ("等下 先问下国高和中关村高新 是两个都要有还是有一个就行", "hightech", None),
    # "有没有高新" asks inside the sentence: not a denial; unknown when the user says they do not know
    ("那家公司有没有高新我不清楚 得问他们财务", "hightech", "unknown"),
    ("是不是国高我也不知道", "hightech", "unknown"),
    # a parent company's certificate is not the user's
    ("集团母公司是示范区注册的国高 我们是下面的子公司 单独注册在示范区 自己没评过高新 我们能以自己名义报吗", "hightech",
     "none"),
    # a kind named as the other party of a deal is not the applicant
    ("示范区注册的中关村高新 打算从高校买个专利做产业化 能报不", "subject_type", None),
    # the user does not know where they are registered
    ("中关村高新是有的 注册地在哪我确实不知道 想进小升规清单", "registration", "unknown"),
    ("注册地址我真不知道 执照在行政手里", "registration", "unknown"),
])
def test_the_mention_the_message_means(vocabulary, text, slot, code):
    assert resolve(vocabulary, text, [])[slot] == code


def test_rasa_entities_are_read_in_context(vocabulary):
    text = "注册在河北 北京只有研发团队"
    entities = [{"entity": "registration", "value": "outside", "start": 3, "end": 5},
                {"entity": "registration", "value": "beijing", "start": 6, "end": 8}]
    assert resolve(vocabulary, text, entities)["registration"] == "outside"


def _turn(text: str, before: dict, after: dict, entities: list | None = None) -> list[dict]:
    events = [{"event": "slot", "name": k, "value": v} for k, v in before.items()]
    events += [{"event": "action", "name": "action_listen"},
               {"event": "user", "text": text, "parse_data": {"text": text, "entities": entities or []}}]
    events += [{"event": "slot", "name": k, "value": v} for k, v in after.items()]
    return events


def test_the_fact_the_message_states_is_applied_not_the_last_entity(vocabulary, make_tracker):
    text = "我们总部在杭州 北京没有注册主体 有国高"
    entities = [{"entity": "registration", "value": "北京", "start": 8, "end": 10}]
    tracker = make_tracker(text, "check_eligibility", entities=entities,
                           events=_turn(text, {}, {}, entities))
    assert slot_events(profile_events(tracker, vocabulary)) == {"registration": "outside", "hightech": "national"}


def test_a_question_about_the_zone_states_nothing(vocabulary, make_tracker):
    text = "示范区范围咋界定的 有名单么"
    tracker = make_tracker(text, "out_of_scope", events=_turn(text, {"registration": None}, {}))
    assert profile_events(tracker, vocabulary) == []


def test_a_buttons_entity_is_applied(vocabulary, make_tracker):
    tracker = make_tracker("", "inform", entities=[{"entity": "hightech", "value": "zgc"}])
    assert slot_events(profile_events(tracker, vocabulary)) == {"hightech": "zgc"}


async def test_every_question_action_applies_the_facts_first(store, vocabulary, dispatcher, make_tracker):
    from actions.funds import ActionRecommendFund

    text = "我们是示范区的国高 想了解北交所上市的支持"
    tracker = make_tracker(text, "describe_need")
    events = await ActionRecommendFund(store, vocabulary).run(dispatcher, tracker, {})
    assert slot_events(events)["registration"] == "zgc" and slot_events(events)["hightech"] == "national"


def test_a_longer_vocabulary_word_wins_over_a_shorter_nlu_entity(vocabulary):
    text = "北京以外的企业能不能参照执行"
    entities = [{"entity": "registration", "value": "北京", "start": 0, "end": 2}]
    assert resolve(vocabulary, text, entities)["registration"] == "outside"


@pytest.mark.parametrize("text", ["等下 要是注册在北京别的区不在示范区会咋样", "那我们学校下面的校办企业呢 也能报吗",
                                  "我们孵化器入驻的企业能报吗"])
def test_a_supposed_fact_or_a_related_organisation_is_no_fact_about_the_user(vocabulary, make_tracker, text):
    assert profile_events(make_tracker(text), vocabulary) == []


def test_a_self_description_is_no_related_organisation(vocabulary, make_tracker):
    assert slot_events(profile_events(make_tracker("我们是做投资的公司 注册在示范区"), vocabulary))["registration"] == "zgc"


def test_facts_beside_a_supposed_clause_are_the_users(vocabulary, make_tracker):
    events = slot_events(profile_events(make_tracker("我们现在还不是国高 如果明年评上了能报吗"), vocabulary))
    assert events == {"hightech": "none"}
