"""The hub: where every user message goes, one at a time per conversation, whatever the channel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from bot.gateway.messages import BotMessage, HistoryEntry, UserMessage
from bot.gateway.rasa_client import RasaClient, RasaUnavailable

log = logging.getLogger(__name__)

SORRY = "抱歉，系统暂时繁忙，请稍后再试。着急的话可以拨打12345市民服务热线。"


class Hub:
    def __init__(self, rasa: RasaClient) -> None:
        self._rasa = rasa
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

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
                metadata = {**message.metadata, "channel": message.channel}
                try:
                    return await self._rasa.send(message.conversation_id, message.text, metadata)
                except RasaUnavailable as exc:
                    log.warning("rasa unavailable for %s: %s", message.conversation_id, exc)
                    return [BotMessage(text=SORRY)]

    async def history(self, conversation_id: str) -> list[HistoryEntry]:
        try:
            return await self._rasa.history(conversation_id)
        except RasaUnavailable as exc:
            log.warning("history unavailable for %s: %s", conversation_id, exc)
            return []
