"""The hub: where every user message goes, one at a time per conversation, whatever the channel."""

from __future__ import annotations

import asyncio
import logging
import uuid
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
#: how a failed turn is recorded in the tracker, so transcripts and audits show what the user saw
FAILED_TURN = {"sender": "system", "failed_turn": True}


class Hub:
    """Routes each user message to Rasa or, while handed off, to the helpdesk.

    Rasa's REST channel answers HTTP 200 with no messages when it failed inside (lock store, tracker store or
    action server down), and every turn of this bot says something, so "no messages" is a failure. A failed turn
    is asked again, within ``retry_budget_s``, only when it cannot run twice: no Rasa server accepted the
    connection, or Rasa answered and the tracker shows the message was not logged (not after a timeout: Rasa may
    still be working on it). Otherwise the user gets the polite "try again" line, and the tracker records it after
    a logged message.
    """

    def __init__(self, rasa: RasaClient, retry_budget_s: float = 6.0) -> None:
        self._rasa = rasa
        self.retry_budget_s = retry_budget_s
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
                replies = await self._ask_rasa(message)
                if self.relay is not None and handoff_payload(replies) is not None:
                    return await self.relay.start(message, replies)
                return replies

    async def _ask_rasa(self, message: UserMessage) -> list[BotMessage]:
        cid = message.conversation_id
        if message.resumed and message.message_id:  # the gateway that died may have got Rasa's answer already
            try:
                answered = await self._rasa.replies_to(cid, message.message_id)
            except RasaUnavailable:
                answered = None
            if answered:
                log.info("resumed turn of %s was answered before; its reply is taken from the tracker", cid)
                return answered
        message_id = message.message_id or uuid.uuid4().hex
        metadata = {**message.metadata, "channel": message.channel, "message_id": message_id}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.retry_budget_s
        delay = 0.5
        while True:
            logged: bool | None = None  # whether the failed attempt reached the tracker; None: unknown
            try:
                replies = await self._rasa.send(cid, message.text, metadata)
                if replies:
                    return replies
                failure = "Rasa answered no messages (failed inside)"
            except RasaUnavailable as exc:
                failure = str(exc)
                if exc.may_be_running:  # asking again could run it twice; the user decides
                    log.warning("turn timed out for %s (%s); the user is asked to try again", cid, failure)
                    return [BotMessage(text=SORRY)]
                logged = None if exc.reached else False
            if logged is None:
                logged = await self._logged(cid, message_id)
            if logged is False and loop.time() + delay < deadline:
                log.warning("turn failed for %s (%s); not logged, asking again in %.1f s", cid, failure, delay)
                await asyncio.sleep(delay)
                delay *= 2
                continue
            log.warning("turn failed for %s (%s); the user is asked to try again", cid, failure)
            if logged:
                await self._record_failure(cid)
            return [BotMessage(text=SORRY)]

    async def _logged(self, conversation_id: str, message_id: str) -> bool | None:
        try:
            return await self._rasa.logged(conversation_id, message_id)
        except RasaUnavailable:
            return None

    async def _record_failure(self, conversation_id: str) -> None:
        event = {"event": "bot", "text": SORRY, "metadata": FAILED_TURN}
        try:
            await self._rasa.append_events(conversation_id, [event])
        except RasaUnavailable as exc:
            log.warning("could not record the failed turn of %s: %s", conversation_id, exc)

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
