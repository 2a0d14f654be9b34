"""The shape every policy action shares: injected store, blocking calls off the event loop, polite errors."""

from __future__ import annotations

import asyncio
import logging
import re
from functools import lru_cache
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import steps
from actions.knowledge import get_store, get_vocabulary
from bot.knowledge.store import PolicyStore, StoreNotReady
from bot.knowledge.vocabulary import Vocabulary, preferred
from bot.knowledge.writing import ENGLISH_NOTE, is_english, normalize

log = logging.getLogger(__name__)
T = TypeVar("T")


class PolicyAction(Action, ABC):
    """Subclasses implement :meth:`answer`; ``run`` adds error handling and closes a stale handoff offer."""

    #: the fallback action sets the offer; every other action withdraws it
    keeps_handoff_offer = False
    #: actions that answer from the document first make sure the question is about it (see :func:`off_topic`)
    checks_scope = False
    #: the profile facts the message states are applied first (the eligibility form's own steps read them themselves)
    reads_profile_facts = True

    def __init__(self, store: PolicyStore | None = None, vocabulary: Vocabulary | None = None) -> None:
        self._store = store
        self._vocabulary = vocabulary

    @property
    def store(self) -> PolicyStore:
        return self._store or get_store()

    @property
    def vocabulary(self) -> Vocabulary:
        return self._vocabulary or get_vocabulary()

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking store query in a worker thread so other conversations keep flowing."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    @abstractmethod
    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        """The action's reply and events."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        profile: list[EventType] = []
        if self.reads_profile_facts:  # what the message says about the user, in context, before the answer
            from actions.profile import profile_events

            profile = profile_events(tracker, self.vocabulary)
            tracker.add_slots(profile)
        if is_english(original_text(tracker)) and not noted_this_turn(tracker):
            dispatcher.utter_message(text=ENGLISH_NOTE)
        try:
            from actions.documents import QUESTION_ACTIONS, answer_about_documents  # a repealed or a second document

            events = await answer_about_documents(self, dispatcher, tracker)
            if events is None and self.name() in QUESTION_ACTIONS and (slot := dont_know_answer(tracker)):
                # "对不上 你就当我们不确定吧" read as another intent while the check waits: the check's answer
                return [*profile, SlotSet(slot, "unknown")]
            if events is None and (self.name() in QUESTION_ACTIONS or self.name() == "action_request_handoff") \
                    and self.name() != "action_route_eligibility" and asks_for_verdict(tracker):
                # "证书先不管了 你直接给个结论", "行政今天不在 反正不知道" after a conditional verdict: it stands
                from actions.eligibility import ActionRouteEligibility

                events = await ActionRouteEligibility(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
            term = off_topic(self.vocabulary, user_text(tracker)) if self.checks_scope and events is None else None
            if events is None and term:
                from actions.facts import ActionAnswerOtherPolicy, out_of_scope

                if self.vocabulary.other_policy_in(term):
                    events = await ActionAnswerOtherPolicy(self._store, self._vocabulary).answer(dispatcher, tracker,
                                                                                                 domain)
                else:
                    events = out_of_scope(dispatcher, tracker)
            elif events is None:
                if self.checks_scope and (aside := aside_of(self.vocabulary, user_text(tracker))) \
                        and asks_about(aside, user_text(tracker)):
                    dispatcher.utter_message(text=f"本文件（中关村支持资金政策）没有涉及“{aside}”，可咨询12345或转人工。"
                                                  "您问的其他事项：")
                events = await self.answer(dispatcher, tracker, domain)
        except StoreNotReady:
            log.exception("policy store not ready")
            dispatcher.utter_message(text="政策库正在准备中，请稍后再试，或转人工咨询。", buttons=steps("human"))
            events = []
        except Exception:  # a defect must not leave the user without a reply: say so, keep the question for staff
            log.exception("action %s failed", self.name())
            dispatcher.utter_message(text="抱歉，处理这个问题时出错了，已记录下来。您可以换个说法再问，或转人工咨询。",
                                     buttons=steps("human"))
            events = [SlotSet("unanswered_question", user_text(tracker) or None)]
        if (tracker.active_loop or {}).get("name") == "eligibility_form" and any(
                e.get("event") == "slot" and e.get("name") == "eligibility_verdict" and e.get("value") for e in events):
            # a verdict given beside the check (a correction, a question that settled it): the check is over
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        if not self.keeps_handoff_offer and tracker.get_slot("handoff_offered"):
            events.append(SlotSet("handoff_offered", False))
        return [*profile, *events]

    # entity helpers ------------------------------------------------------------------------------

    def latest(self, tracker: Tracker, entity: str) -> str | None:
        """The code of an entity in the latest message, else in the user's text, else None."""
        codes = [self.vocabulary.code(entity, str(v)) for v in tracker.get_latest_entity_values(entity)]
        if code := preferred(entity, [c for c in codes if c]):
            return code
        text = user_text(tracker)
        return self.vocabulary.best(text, entity) if text else None

    def current(self, tracker: Tracker, entity: str, slot: str | None = None) -> str | None:
        """The latest message's value, else the slot's (what the conversation is about)."""
        value = self.latest(tracker, entity)
        if value:
            return value
        slot_value = tracker.get_slot(slot or entity)
        return self.vocabulary.code(entity, str(slot_value)) if slot_value else None


#: asks for the verdict itself ("你直接给个结论")
CONCLUSION = re.compile(r"给(?:个|我|一个)?结论|下(?:个)?结论|结论是啥|结论是什么|到底能不能(?:报|申请)")


def asks_for_verdict(tracker: Tracker) -> bool:
    """After a verdict, with the check over: the message asks for the conclusion, or only says the user cannot find
    out more ("反正不知道", "先按不确定说吧")."""
    from actions.eligibility import _DONT_KNOW, _SKIP

    text = user_text(tracker)
    if not text or not tracker.get_slot("eligibility_verdict") or (tracker.active_loop or {}).get("name"):
        return False
    if CONCLUSION.search(text) or _SKIP.search(text):
        return True
    return bool(_DONT_KNOW.search(text)) and len(text) <= 16 and not get_vocabulary().find(text, "topic") \
        and not get_vocabulary().find(text, "fact")


def dont_know_answer(tracker: Tracker) -> str | None:
    """The slot the eligibility check waits for, when the latest message only says the user does not know it."""
    from actions.eligibility import _DONT_KNOW, _SKIP, QUESTION
    from actions.policy_search import asked_slot

    text = user_text(tracker)
    slot = asked_slot(tracker)
    if not slot or not text or len(text) > 30 or not (_DONT_KNOW.search(text) or _SKIP.search(text)):
        return None
    return slot if not QUESTION.search(_DONT_KNOW.sub("", text)) else None


#: words that tie a message to this document whatever else it names ("专精特新企业能申请第1条吗")
DOCUMENT_ANCHOR = re.compile(r"中关村|示范区|京科发|支持资金|第.{1,3}条|措施")


def off_topic(vocabulary: Vocabulary, text: str) -> str | None:
    """The other policy (专精特新) or off-topic matter (房贷, 出口退税) a message is about, when nothing else in it
    ties it to the document. Word overlap alone ("首套房贷款" ~ 第6条 贷款, 第4条 首台(套)) would make the index
    answer it."""
    if not text:
        return None
    term = vocabulary.other_policy_in(text) or vocabulary.off_topic_in(text)
    if not term or DOCUMENT_ANCHOR.search(text.replace(term, " ")) or aside_of(vocabulary, text):
        return None
    return term


CLAUSE = re.compile(r"[\s，,。；;！!？?]+|还有|另外|以及|顺便")


def aside_of(vocabulary: Vocabulary, text: str) -> str | None:
    """Another policy or matter named beside a need the document serves ("个税有没有优惠 还有骨干出国培训有没有支持",
    "搞概念验证有支持吗 另外临床试验的医保政策有没有"): the need is answered, the aside is said to be another matter."""
    term = vocabulary.other_policy_in(text) or vocabulary.off_topic_in(text) if text else None
    if not term:
        return None
    from actions.eligibility import need_mentions

    # the other matter in a clause of its own ("首套房贷款利率多少" is one matter, whatever 首套 means elsewhere):
    # a need, or who may apply ("协会本身能申请不 协会能享受哪些税收优惠")
    from actions.eligibility import ELIGIBILITY_ASK

    clauses = [c for c in CLAUSE.split(text) if c and term not in c]
    rest = " ".join(clauses)
    if any(need_mentions(vocabulary, c) for c in clauses):
        return term
    # "我们是示范区的国高 能报吗 另外研发费用加计扣除咋弄": who may apply, asked in the other clauses
    return term if ELIGIBILITY_ASK.search(rest) and (vocabulary.kinds_in(rest) or vocabulary.best(rest, "subject_type")
                                                     or FIRST_PERSON_WORDS.search(rest)) else None


FIRST_PERSON_WORDS = re.compile(r"我们|我司|本公司|本单位|咱们|本所|本院")


def asks_about(term: str, text: str) -> bool:
    """The clause naming ``term`` is a question about it ("个税有没有优惠啊"), not a word of the user's introduction
    ("本人系某研究院退休返聘高级工程师")."""
    return any(term in c and QUESTION_WORDS.search(c) for c in re.split(r"[，,。；;！!？?\s]|还有|另外", text))


QUESTION_WORDS = re.compile(r"吗|么|呢|什么|啥|怎么|咋|如何|哪|是否|有没有|能不能|可不可以|多少|几|"
                            r"[能会可要有是免减][^\s]{0,4}[不没]$|(.)不\1|有没$")  # "残保金能减免不", "你这管不管"


def previous_reply(tracker: Tracker) -> str:
    """The text of the bot's last message before the latest user message ("" if none)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return ""
            seen_user = True
        elif seen_user and event.get("event") == "bot" and (event.get("text") or "").strip():
            return str(event["text"])
    return ""


def original_text(tracker: Tracker) -> str:
    """The latest user message as typed (the NLU may have normalized ``latest_message``)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            text = event.get("text") or ""
            return "" if text.startswith("/") else text
    return ""


def user_text(tracker: Tracker) -> str:
    """The latest user message in the corpus's writing: simplified Chinese, English terms in Chinese."""
    text = tracker.latest_message.get("text") or original_text(tracker)
    if text.startswith("/"):
        return ""
    return _normalized(text)


@lru_cache(maxsize=1024)
def _normalized(text: str) -> str:
    """One normalisation per message text (the actions read the message many times a turn)."""
    vocabulary = get_vocabulary()
    return normalize(text, vocabulary.english, vocabulary.typos, vocabulary.abbreviations, vocabulary.dialect)


def noted_this_turn(tracker: Tracker) -> bool:
    """Whether an action already said, this turn, that the assistant answers in Chinese."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot" and event.get("text") == ENGLISH_NOTE:
            return True
    return False
