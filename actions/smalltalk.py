"""Thanks that carry a question: "谢谢 那人才公寓呢" is answered, a bare "谢谢" gets a short reply."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import PolicyAction


class ActionAcknowledge(PolicyAction):
    """The reply to thanks; when the message goes on to ask something ("谢谢 那人才公寓呢"), the answer to that."""

    def name(self) -> str:
        return "action_acknowledge"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> list[EventType]:
        from actions.funds import reroute

        doc = await self.call(self.store.document)
        if (rerouted := await reroute(self, dispatcher, tracker, domain, doc)) is not None:
            return rerouted
        dispatcher.utter_message(response="utter_thank")
        return []
