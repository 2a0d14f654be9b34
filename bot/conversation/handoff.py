"""The hub's contract with a helpdesk: the gateway's hub (bot/gateway/hub.py) routes a conversation that is handed
off to people through a :class:`HandoffDesk`; the helpdesk (bot/helpdesk/relay.py) is one, and pushes what staff
say through the hub's :data:`Deliver`. Neither side imports the other."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from bot.conversation.messages import BotMessage, UserMessage
from bot.conversation.rasa_client import RasaClient

#: push messages to a conversation outside a turn: (conversation id, messages)
Deliver = Callable[[str, list[BotMessage]], Awaitable[None]]


class HandoffDesk(Protocol):
    """What the hub asks while a conversation may be handed off (the bot is silent while it is)."""

    async def open_for(self, conversation_id: str) -> Any | None:
        """The conversation's open handoff, or None (then the bot answers)."""

    async def on_user_message(self, handoff: Any, message: UserMessage) -> list[BotMessage]:
        """A user's message while handed off: to the staff member, not to Rasa."""

    async def start(self, message: UserMessage, replies: list[BotMessage]) -> list[BotMessage]:
        """The bot asked for a person (a handoff payload among ``replies``): open the handoff."""


#: the gateway starts a desk once it has Rasa and the hub: ``start(rasa, deliver)`` is entered at start-up and left
#: at shutdown (the desk's sweeps stop, its database is let go)
DeskStarter = Callable[[RasaClient, Deliver], AbstractAsyncContextManager[HandoffDesk]]
