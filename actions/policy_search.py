"""Answers from the document index, and the two-stage fallback for messages the NLU is unsure of."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import button, say, shorten, steps
from actions.base import PolicyAction, user_text

#: BM25 score below which a passage is not offered as an answer (the labelled set's correct top hits
#: score above 3; unrelated chit-chat that shares a word scores below 2)
MIN_SCORE = 2.5


class ActionSearchPolicy(PolicyAction):
    """Any other question about the policy: the best passage, quoted, with its citation."""

    def name(self) -> str:
        return "action_search_policy"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        question = user_text(tracker)
        hits = await self.call(self.store.search, question, 3) if question else []
        if not hits or hits[0].score < MIN_SCORE:
            dispatcher.utter_message(
                text="文件里没有找到能直接回答这个问题的内容。您可以换个说法，或者转人工咨询。",
                buttons=steps("funds", "human"))
            return [SlotSet("unanswered_question", question or None)]
        best = hits[0]
        say(dispatcher, f"文件中相关的规定：\n「{shorten(best.text, 200)}」",
            citations=[(best.citation, best.text, best.section_id)],
            buttons=steps("eligibility", "materials"))
        return []


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
        if previous_bot_action(tracker) == self.name():
            dispatcher.utter_message(text="抱歉，还是没能帮到您。需要转人工吗？",
                                     buttons=[button("转人工", "request_human"), button("不用了", "deny")])
            return [SlotSet("handoff_offered", True), SlotSet("unanswered_question", question or None)]
        hits = await self.call(self.store.search, question, 1) if question else []
        if hits and hits[0].score >= MIN_SCORE:
            best = hits[0]
            say(dispatcher, f"我不太确定您的意思，文件中最相关的是：\n「{shorten(best.text, 160)}」\n如果不是您要问的，请换个说法。",
                citations=[(best.citation, best.text, best.section_id)],
                buttons=steps("need", "eligibility", "human"))
        else:
            dispatcher.utter_message(text="抱歉，我没太明白。您是想：",
                                     buttons=[*steps("need", "eligibility", "materials"), button("其他问题，转人工", "request_human")])
        return [SlotSet("unanswered_question", question or None)]
