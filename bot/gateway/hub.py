"""The hub: where every user message goes, one at a time per conversation, whatever the channel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from bot.gateway.messages import BotMessage, HistoryEntry, UserMessage, handoff_payload
from bot.gateway.rasa_client import RasaClient, RasaUnavailable

if TYPE_CHECKING:
    from bot.helpdesk.relay import HandoffRelay

#: a channel's way to push messages to one of its users: (user id within the channel, messages)
ChannelDeliver = Callable[[str, list[BotMessage]], Awaitable[None]]

log = logging.getLogger(__name__)

SORRY = "抱歉，系统暂时繁忙，请稍后再试。着急的话可以拨打12345市民服务热线。"


class Hub:
    def __init__(self, rasa: RasaClient) -> None:
        self._rasa = rasa
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._channels: dict[str, ChannelDeliver] = {}
        self.relay: HandoffRelay | None = None  # set when the helpdesk is on

    def register_channel(self, name: str, deliver: ChannelDeliver) -> None:
        self._channels[name] = deliver

    async def deliver(self, conversation_id: str, messages: list[BotMessage]) -> None:
        """Push messages to a user outside a turn (staff replies, the bot after a handoff)."""
        channel, _, user = conversation_id.partition(":")
        deliver = self._channels.get(channel)
        if deliver is None:
            log.warning("no channel %r to deliver to %s", channel, conversation_id)
            return
        await deliver(user, messages)

    @contextmanager
    def _lock_ref(self, conversation_id: str) -> Iterator[asyncio.Lock]:
        """A per-conversation lock that is dropped when nobody holds or waits for it."""
        lock, users = self._locks.get(conversation_id, (asyncio.Lock(), 0))
        self._locks[conversation_id] = (lock, users + 1)
        try:
            yield lock
        finally:
            lock, users = self._locks[conversation_id]
            if users <= 1:
                del self._locks[conversation_id]
            else:
                self._locks[conversation_id] = (lock, users - 1)

    async def handle(self, message: UserMessage) -> list[BotMessage]:
        """The replies to one user message; turns of one conversation are handled in arrival order."""
        with self._lock_ref(message.conversation_id) as lock:
            async with lock:
                handoff = await self._open_handoff(message.conversation_id)
                if handoff is not None and self.relay is not None:
                    return await self.relay.on_user_message(handoff, message)  # the bot stays silent
                metadata = {**message.metadata, "channel": message.channel}
                try:
                    replies = await self._rasa.send(message.conversation_id, message.text, metadata)
                except RasaUnavailable as exc:
                    log.warning("rasa unavailable for %s: %s", message.conversation_id, exc)
                    return [BotMessage(text=SORRY)]
                if self.relay is not None and handoff_payload(replies) is not None:
                    return await self.relay.start(message, replies)
                return replies

    async def _open_handoff(self, conversation_id: str):  # type: ignore[no-untyped-def]
        if self.relay is None:
            return None
        try:
            return await self.relay.open_for(conversation_id)
        except Exception:  # noqa: BLE001 - the helpdesk database down must not silence the bot
            log.exception("handoff lookup failed for %s; the bot answers", conversation_id)
            return None

    async def history(self, conversation_id: str) -> list[HistoryEntry]:
        try:
            return await self._rasa.history(conversation_id)
        except RasaUnavailable as exc:
            log.warning("history unavailable for %s: %s", conversation_id, exc)
            return []
