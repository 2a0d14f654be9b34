"""Answers from the document index, and the two-stage fallback for messages the NLU is unsure of."""

from __future__ import annotations

import re

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import HOTLINE, button, excerpt, say, shorten, steps
from actions.base import PolicyAction, user_text
from actions.unstated import answer_unstated
from bot.knowledge.relevance import covered, related
from bot.knowledge.textindex import SearchHit


async def answer_from_index(action: PolicyAction, dispatcher: CollectingDispatcher, tracker: Tracker,
                            hits: list[SearchHit], prefix: str = "") -> list[EventType]:
    """The best passage, quoted and cited; a measure is named with its number and fund."""
    best = hits[0]
    measure = await action.call(action.store.measure, best.title) if best.section_id.count("/") == 3 else None
    if measure is not None and measure.section_id == best.section_id:
        head = f"{prefix}文件第{measure.number}条“{measure.title}”（属{measure.fund_name}资金）有相关规定："
        events: list[EventType] = [SlotSet("measure", str(measure.number)), SlotSet("fund", measure.fund_code)]
    else:
        head = f"{prefix}文件中相关的规定（{best.citation}）："
        events = []
    question = user_text(tracker)
    note = ""
    asked = WHAT_OR_WHERE.sub(" ", question or "")  # "首台套是哪条", "创新券怎么回事": the passage is the answer
    if asked.strip() and DETAIL_ASKED.search(asked) and await action.call(action.store.words_not_in, asked, best.text):
        # "创新券领到了咋用 随便找家机构就能抵吗": the passage is about it, but not about what is asked of it
        note = ("\n这一条没有写明您问的具体细节（怎么操作、由谁认定、条件或标准等），以对应资金管理办法和申报指南为准；"
                f"也可以转人工或拨打{HOTLINE}咨询。")
    say(dispatcher, f"{head}\n「{excerpt(best.text, question, 220)}」{note}",
        citations=[(best.citation, best.text, best.section_id)], buttons=steps("eligibility", "materials"))
    return events


#: what a passage itself answers: what a thing is, which measure or fund it is
WHAT_OR_WHERE = re.compile(r"怎么回事|是什么|是啥|什么意思|啥意思|哪条|第几条|哪一条|哪几条|哪个资金|哪项资金|哪笔资金|归哪|属于哪")
#: words that ask for a detail (how, who, which, how long, how much, on what condition); each use adds its own
DETAIL_WORDS = r"怎么|咋|如何|谁|哪|多久|多长|多少|要不要|还是|条件|标准|门槛"
#: a question about a detail of what a passage names (how, who, whether, which, how much), not "有什么支持"
DETAIL_ASKED = re.compile(DETAIL_WORDS + r"|是不是|非得|必须|能不能|能否|可不可以|几|算不算|区别|什么时候|啥时候|要求|每年|"
                                         r"给不给|认定|满足|报销|按.{1,4}算")


class ActionSearchPolicy(PolicyAction):
    """Any other question about the policy: the best passage, quoted, with its citation. "The document has nothing
    on this" is said only when the index has nothing above the calibrated threshold (bot.knowledge.relevance)."""
    checks_scope = True

    def name(self) -> str:
        return "action_search_policy"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        question = user_text(tracker)
        if question and (slot := asked_slot(tracker)):
            from actions.eligibility import ASKERS, TOPIC_WORDS

            if any(w in question for w in TOPIC_WORDS[slot]):
                asker = ASKERS[slot](self._store, self._vocabulary)
                dispatcher.utter_message(text=await asker.context_answer(question))
                return []
        doc = await self.call(self.store.document)
        from actions.eligibility import ELIGIBILITY_ASK, corrects_verdict

        corrects = corrects_verdict(tracker, self.vocabulary)
        from actions.eligibility import WHICH_MEASURES

        which = bool(question) and bool(self.vocabulary.kinds_in(question)) and bool(WHICH_MEASURES.search(question))
        if question and (ELIGIBILITY_ASK.search(question) or corrects or which):
            from actions.funds import reroute

            if (rerouted := await reroute(self, dispatcher, tracker, domain, doc)) is not None:
                return rerouted
        from actions.funds import ActionRecommendFund

        recommender = ActionRecommendFund(self._store, self._vocabulary)
        topics = recommender._topics(question) if question else []
        if question and len(topics) >= 2 and not await recommender.spans_funds(topics):
            # "份额转让试点跟北交所挂牌培育 各在哪条": two needs of one fund, both named
            return await recommender.answer(dispatcher, tracker, domain)
        if question and await recommender.spans_funds(topics):
            events = await recommender.several_needs(dispatcher, question, topics)  # and a fact asked beside them
            return [*events, *await recommender.also_asked(dispatcher, tracker, domain, question, topics)]
        from actions.facts import asked_fact

        if question and asked_fact(self, tracker):
            from actions.facts import ActionAnswerDocFact

            return await ActionAnswerDocFact(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
        if question and doc.unstated_topic(question):
            return await answer_unstated(self, dispatcher, tracker)
        hits = await self.call(self.store.search, question, 3) if question else []
        if not hits or not related(hits[0].score):
            dispatcher.utter_message(
                text="文件里没有找到能直接回答这个问题的内容。您可以换个说法，或者转人工咨询。",
                buttons=steps("funds", "human"))
            return [SlotSet("unanswered_question", question or None)]
        if topics:
            # "改成从科研院所买专利回来产业化": the need words name 第12条 while the words 专利 rank 第14条 first;
            # the recommender weighs both signals
            expected = {m.section_id for code in topics for m in await self.call(self.store.measures_for_topic, code)}
            if expected and hits[0].section_id not in expected:
                return await recommender.answer(dispatcher, tracker, domain)
        return await answer_from_index(self, dispatcher, tracker, hits)


def asked_slot(tracker: Tracker) -> str | None:
    """The profile fact the eligibility check is waiting for, if it is running."""
    if (tracker.active_loop or {}).get("name") != "eligibility_form":
        return None
    slot = tracker.get_slot("requested_slot")
    return slot if slot in ("subject_type", "registration", "hightech") else None


def ran_this_turn(tracker: Tracker, action: str) -> bool:
    """Whether ``action`` already ran since the latest user message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") == action:
            return True
    return False


def previous_bot_action(tracker: Tracker) -> str | None:
    """The last action the bot ran before the latest user message (listen steps aside)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                break
            seen_user = True
            continue
        if seen_user and event.get("event") == "action" and event.get("name") not in ("action_listen", None):
            return event.get("name")
    return None


class ActionFallback(PolicyAction):
    """Stage 1: the best passage from the index, or a clarifying question. Stage 2: offer a person."""
    checks_scope = True
    keeps_handoff_offer = True

    def name(self) -> str:
        return "action_fallback"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        if ran_this_turn(tracker, self.name()):
            # Predicted again in the same turn (as the core fallback, when no rule fits what follows):
            # say nothing more and wait for the user.
            return [FollowupAction("action_listen")]
        question = user_text(tracker)
        from actions.smalltalk import INVITE, PREFACE

        if question and PREFACE.search(question):  # "想问个事儿": an invitation, not "I did not understand"
            dispatcher.utter_message(text=INVITE)
            return []
        doc = await self.call(self.store.document)
        from actions.funds import reroute

        if (rerouted := await reroute(self, dispatcher, tracker, domain, doc)) is not None:
            return rerouted
        if previous_bot_action(tracker) == self.name():
            dispatcher.utter_message(text="抱歉，还是没能帮到您。需要转人工吗？",
                                     buttons=[button("转人工", "request_human"), button("不用了", "deny")])
            return [SlotSet("handoff_offered", True), SlotSet("unanswered_question", question or None)]
        hits = await self.call(self.store.search, question, 3) if question else []
        if hits and covered(hits[0].score):  # the NLU was unsure, the index is not: answer from it
            return await answer_from_index(self, dispatcher, tracker, hits)
        if hits and related(hits[0].score):
            best = hits[0]
            say(dispatcher, f"我不太确定您的意思，文件中最相关的是：\n「{shorten(best.text, 160)}」\n如果不是您要问的，请换个说法。",
                citations=[(best.citation, best.text, best.section_id)],
                buttons=steps("need", "eligibility", "human"))
        else:
            dispatcher.utter_message(text="抱歉，我没太明白。您是想：",
                                     buttons=[*steps("need", "eligibility", "materials"), button("其他问题，转人工", "request_human")])
        return [SlotSet("unanswered_question", question or None)]
