"""The hub: where every user message goes, one at a time per conversation, whatever the channel."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from bot.conversation.handoff import HandoffDesk
from bot.conversation.messages import BotMessage, HistoryEntry, UserMessage, handoff_payload
from bot.conversation.rasa_client import RasaClient, RasaUnavailable

#: a channel's way to push messages to one of its users: (user id within the channel, messages)
ChannelDeliver = Callable[[str, list[BotMessage]], Awaitable[None]]

log = logging.getLogger(__name__)

#: payloads any user may send although no bot message offered them: the widget's own 转人工 button (typing 转人工
#: gets there too)
ALWAYS_OFFERED = frozenset({"/request_human"})
OFFERED_CONVERSATIONS = 20000  # button payloads are remembered for this many recent conversations
INTENT_PREFIX = "/"  # Rasa reads "/intent{entities}" as that intent, skipping NLU
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
        self.relay: HandoffDesk | None = None  # set when the helpdesk is on
        self._offered: OrderedDict[str, set[str]] = OrderedDict()  # conversation → button payloads the bot sent

    def register_channel(self, name: str, deliver: ChannelDeliver) -> None:
        self._channels[name] = deliver

    def _remember_buttons(self, conversation_id: str, messages: list[BotMessage]) -> None:
        payloads = {b.payload for m in messages for b in m.buttons if b.payload.startswith(INTENT_PREFIX)}
        if not payloads:
            return
        self._offered.setdefault(conversation_id, set()).update(payloads)
        self._offered.move_to_end(conversation_id)
        while len(self._offered) > OFFERED_CONVERSATIONS:
            self._offered.popitem(last=False)

    async def _was_offered(self, conversation_id: str, payload: str) -> bool:
        if payload in ALWAYS_OFFERED or payload in self._offered.get(conversation_id, ()):
            return True
        try:  # offered by another gateway, or before this one started: the tracker has every bot message
            offered = await self._rasa.offered_payloads(conversation_id)
        except RasaUnavailable as exc:
            log.warning("could not check the buttons offered in %s (%s); treated as text", conversation_id, exc)
            return False
        return payload in offered

    async def _user_text(self, message: UserMessage) -> UserMessage:
        """Rasa takes a message starting with "/" as an intent (with entities), skipping NLU and every check.
        From users that is allowed only for the payload of a button the bot itself offered in this
        conversation; anything else goes as text (its "/" made full-width, which Rasa does not read as an
        intent), and the user's own words stay what the history shows."""
        said = message.text.strip()
        if not said.startswith(INTENT_PREFIX) or await self._was_offered(message.conversation_id, said):
            return message
        log.info("a message of %s looks like an intent no button offered; it goes to Rasa as text",
                 message.conversation_id)
        metadata = {**message.metadata, "display": message.metadata.get("display") or message.text}
        return replace(message, text="／" + said[1:], metadata=metadata)

    async def deliver(self, conversation_id: str, messages: list[BotMessage]) -> None:
        """Push messages to a user outside a turn (staff replies, the bot after a handoff)."""
        self._remember_buttons(conversation_id, messages)
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
                replies = await self._ask_rasa(await self._user_text(message))
                self._remember_buttons(message.conversation_id, replies)
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
