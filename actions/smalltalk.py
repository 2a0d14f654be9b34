"""Small talk that carries a question: "谢谢 那人才公寓呢", "好的 就那个首台套的", "那我们下一步得先干嘛" read as a
goodbye are answered; a bare "谢谢", "再见" or "好的" gets its short reply, and "想问个事儿" an invitation to ask."""

from __future__ import annotations

import re

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import PolicyAction, user_text

#: the reply to each small-talk intent when the message asks nothing more
REPLIES = {"thank": "utter_thank", "goodbye": "utter_goodbye", "affirm": "utter_anything_else",
           "deny": "utter_anything_else"}
#: a message that only announces a question ("想问个事儿", "在吗", "咨询一下")
PREFACE = re.compile(r"^(?:你好|您好|哈喽|hi|hello)?[，,\s]*(?:我)?(?:想|要|请)?(?:问|咨询|打听|请教)(?:一?个|一下|下)?"
                     r"(?:事儿?|问题|情况|政策)?(?:哈|吧|呢|啊|呀|哦)?[。！!~～\s]*$|^(?:在吗|有人吗|有人没|在不在)[？?。！!\s]*$",
                     re.IGNORECASE)
#: a question about what to do next, which the NLU may read as a goodbye
QUESTION_AHEAD = re.compile(r"下一步|接下来|先干嘛|怎么办|怎么操作|该找谁|[?？]")
INVITE = "您请说，想了解哪方面？可以直接说需求（比如首台套、上市、人才公寓），或者问“我们能不能申请”。"


class ActionAcknowledge(PolicyAction):
    """The reply to thanks, goodbye or a bare yes/no; when the message asks something ("谢谢 那人才公寓呢"), the
    answer to that."""

    def name(self) -> str:
        return "action_acknowledge"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        from actions.funds import reroute

        doc = await self.call(self.store.document)
        if (rerouted := await reroute(self, dispatcher, tracker, domain, doc)) is not None:
            return rerouted
        text = user_text(tracker)
        if text and PREFACE.search(text):
            dispatcher.utter_message(text=INVITE)
            return []
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "goodbye" and text and QUESTION_AHEAD.search(text):  # "那我们下一步得先干嘛" is no goodbye
            from actions.facts import ActionAnswerUnstated

            return await ActionAnswerUnstated(self._store, self._vocabulary).answer(dispatcher, tracker, domain)
        dispatcher.utter_message(response=REPLIES.get(intent or "", "utter_thank"))
        return []
