"""A message that asks several things: the parts its main answer left out.

"我们做芯片的国高 想了解北交所上市有啥支持 另外钱是市里出还是区里出", "我们是示范区国高能报吗 申报流程是啥":
the action that answers the main question (a need, the user's own case, who may apply) then answers a fact of the
document, a detail the document does not state, and — beside a need — a fact about the asker that settles who
may apply. Each part is answered by the code that answers it on its own; nothing here answers policy itself.
"""

from __future__ import annotations

import re

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import steps
from actions.base import PolicyAction, user_text
from actions.profile import PLACE_INQUIRY

#: details the main answers already cover ("文件未写明支持金额和申报时间" follows every need; the 施行 answer says
#: there is no end date)
COVERED = {"need": {"amount", "deadline"}, "fact": {"end_date"}}


#: how many measures or funds there are, asked beside something else
COUNT_ASK = re.compile(r"(?:一共|总共|共)(?:有)?(?:多少|几)条|(?:多少|几)条措施|(?:一共|总共|共)(?:有)?(?:多少|几)项资金")


def reference_asked(text: str) -> bool:
    from actions.facts import REFERENCE_ASK

    return bool(REFERENCE_ASK.search(text))


def asks_about_zone(text: str) -> bool:
    from actions.eligibility import PLACE_QUESTION

    return bool(PLACE_QUESTION.search(text) or PLACE_INQUIRY.search(text))


async def answer_the_rest(action: PolicyAction, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: DomainDict, answered: str) -> list[EventType]:
    """What the latest message asks besides the part just answered (``answered``: need / own_case / rule / fact)."""
    text = user_text(tracker)
    if not text:
        return []
    events: list[EventType] = []
    if answered == "unstated":
        pass  # the detail is what was just answered
    elif answered != "fact" and (action.vocabulary.find(text, "fact") or reference_asked(text)):
        from actions.facts import ActionAnswerDocFact

        events += await ActionAnswerDocFact(action._store, action._vocabulary).answer_fact(dispatcher, tracker, domain)
    else:
        doc = await action.call(action.store.document)
        # "哪天开始执行的 由谁负责解释": the fact's own words (开始执行) are no detail the document leaves out
        topic = doc.unstated_topic(action.vocabulary.without(text, "fact") if answered == "fact" else text)
        if topic and answered == "fact" and topic["code"] == "end_date" and action.latest(tracker, "fact") not in (
                None, "effective_date"):
            # "25年26年还管用吗 会不会到期作废": the 作废 answer says nothing of this document's own end
            from actions.unstated import answer_unstated

            events += await answer_unstated(action, dispatcher, tracker, topic)
            topic = None
        if topic and topic["code"] == "parks" and not asks_about_zone(text):
            topic = None  # "注册地在中关村示范区范围内" states where they are; it asks nothing about the zone
        if topic and topic["code"] == "materials" and answered != "need":  # "…能报吗 要准备啥材料": the materials
            from actions.materials import ActionListMaterials

            events += await ActionListMaterials(action._store, action._vocabulary).answer_list(dispatcher, tracker,
                                                                                                domain)
        elif topic and topic["code"] not in COVERED.get(answered, set()):
            from actions.unstated import answer_unstated

            events += await answer_unstated(action, dispatcher, tracker, topic)
    if COUNT_ASK.search(text) and answered != "measure":  # "文号是啥 一共多少条措施来着"
        funds = await action.call(action.store.funds)
        dispatcher.utter_message(text=f"文件共{sum(len(f.measures) for f in funds)}条措施，分属{len(funds)}项支持资金"
                                      f"（二（一）至二（五））。")
    from actions.eligibility import FIRST_PERSON, ActionRouteEligibility, asks_kind_rule, failing_note, need_mentions

    if answered == "rule" and need_mentions(action.vocabulary, text):
        # "研究所算不算申请主体 另外仪器对外共享有支持没": the need beside the rule
        from actions.funds import ActionRecommendFund

        events += await ActionRecommendFund(action._store, action._vocabulary).recommend(dispatcher, tracker, text)

    note = await failing_note(action, tracker) if answered in ("need", "unstated") else None
    if note:
        dispatcher.utter_message(text=note[0], buttons=steps("human"))
    elif answered in ("need", "unstated", "measure"):
        if asks_kind_rule(action.vocabulary, text) and not FIRST_PERSON.search(text):
            # "知识产权有啥支持 另外事业单位能报不": the rule for that kind too
            from actions.eligibility import message_profile

            router = ActionRouteEligibility(action._store, action._vocabulary)
            facts = message_profile(action.vocabulary, tracker, text)
            events += await router.general_answer(dispatcher, text, facts, action.vocabulary.kinds_in(text))
    return events
