"""The live relay between a user (on any channel) and a staff member while a conversation is handed off.

While a conversation has an open handoff the bot is silent: the hub gives the user's messages to
:meth:`HandoffRelay.on_user_message` instead of Rasa's policies. Everything said on either side is still
recorded in the Rasa tracker (its events API), so the conversation's history stays whole, and returning to the
bot runs ``action_welcome_back`` in the same conversation, which still holds every slot the bot knew.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot.gateway.messages import BotMessage, UserMessage, handoff_payload
from bot.gateway.rasa_client import RasaClient, RasaUnavailable
from bot.helpdesk.service import (CLOSED, QUEUED, RETURNED, HandoffInfo, HelpdeskService, StaffInfo, WorkingHours,
                                  utcnow)

log = logging.getLogger(__name__)

Deliver = Callable[[str, list[BotMessage]], Awaitable[None]]
WEEKDAYS = "一二三四五六日"


class StaffNotifier:
    """Open console websockets; every change is pushed to all of them (no polling)."""

    def __init__(self) -> None:
        self._sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    def add(self, ws: web.WebSocketResponse) -> None:
        self._sockets.add(ws)

    async def broadcast(self, event: dict[str, Any]) -> None:
        for ws in list(self._sockets):
            if not ws.closed:
                try:
                    await ws.send_json(event)
                except (ConnectionError, RuntimeError):
                    pass


class HandoffRelay:
    def __init__(self, service: HelpdeskService, rasa: RasaClient, deliver: Deliver, *,
                 hours: WorkingHours, timeout: timedelta, notifier: StaffNotifier | None = None) -> None:
        self.service = service
        self.rasa = rasa
        self.deliver = deliver
        self.hours = hours
        self.timeout = timeout
        self.notifier = notifier or StaffNotifier()

    async def _db(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    async def _record(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        try:
            await self.rasa.append_events(conversation_id, events)
        except RasaUnavailable as exc:  # the helpdesk database still has it
            log.warning("could not record handoff events in the tracker of %s: %s", conversation_id, exc)

    async def open_for(self, conversation_id: str) -> HandoffInfo | None:
        return await self._db(self.service.open_handoff, conversation_id)

    def _waiting_notice(self, position: int) -> str:
        now = utcnow()
        if not self.hours.is_open(now):
            when = self.hours.next_open(now)
            return (f"现在是非工作时间，工作人员将于{when.month}月{when.day}日（周{WEEKDAYS[when.weekday()]}）"
                    f"{when:%H:%M}起回复，您的请求已登记，不用重复提交。")
        ahead = max(0, position - 1)
        return f"正在为您接入人工服务，前面还有{ahead}位，请稍候。" if ahead else "正在为您接入人工服务，请稍候。"

    async def start(self, message: UserMessage, replies: list[BotMessage]) -> list[BotMessage]:
        """The bot asked for a person: queue the conversation with its context card and tell the user where
        they are in the queue (or, outside working hours, when someone will answer)."""
        payload = handoff_payload(replies) or {}
        summary = payload.get("summary") if isinstance(payload.get("summary"), dict) else {}
        context = {**summary, "summary_text": payload.get("summary_text"), "channel": message.channel,
                   "reason": payload.get("reason", "user_request")}
        handoff = await self._db(self.service.enqueue, message.conversation_id, message.channel,
                                 str(context["reason"]), context)
        position = await self._db(self.service.position, handoff.id)
        notice = self._waiting_notice(position)
        await self._record(message.conversation_id, [{"event": "bot", "text": notice,
                                                      "metadata": {"sender": "system"}}])
        await self.notifier.broadcast({"type": "queue"})
        return [*replies, BotMessage(text=notice, sender="system")]

    async def on_user_message(self, handoff: HandoffInfo, message: UserMessage) -> list[BotMessage]:
        """A user message while handed off: to the staff member, and into the tracker; the bot stays silent."""
        saved = await self._db(self.service.add_message, handoff.id, "user", message.text)
        await self._record(message.conversation_id, [{
            "event": "user", "text": message.text,
            "parse_data": {"intent": {"name": "handed_off", "confidence": 1.0}, "entities": [], "text": message.text},
            "metadata": {**message.metadata, "handoff_id": handoff.id}}])
        await self.notifier.broadcast({"type": "message", "handoff_id": handoff.id, "message": saved.as_dict()})
        if handoff.status == QUEUED:
            position = await self._db(self.service.position, handoff.id)
            return [BotMessage(text="已收到，工作人员接入后会看到您的留言。" + self._waiting_notice(position),
                               sender="system")]
        return []

    async def staff_reply(self, handoff_id: int, staff: StaffInfo, text: str) -> dict[str, Any]:
        saved = await self._db(self.service.add_message, handoff_id, "staff", text, staff)
        handoff = await self._db(self.service.get, handoff_id)
        await self.deliver(handoff.conversation_id, [BotMessage(text=text, sender="staff")])
        await self._record(handoff.conversation_id, [{"event": "bot", "text": text,
                                                      "metadata": {"sender": "staff", "staff": staff.display_name}}])
        await self.notifier.broadcast({"type": "message", "handoff_id": handoff_id, "message": saved.as_dict()})
        return saved.as_dict()

    async def claim(self, handoff_id: int, staff: StaffInfo) -> HandoffInfo:
        handoff = await self._db(self.service.claim, handoff_id, staff)
        notice = f"工作人员{staff.display_name}已接入，请直接说明您的问题。"
        await self.deliver(handoff.conversation_id, [BotMessage(text=notice, sender="system")])
        await self._record(handoff.conversation_id, [{"event": "bot", "text": notice, "metadata": {"sender": "system"}}])
        await self.notifier.broadcast({"type": "queue"})
        return handoff

    async def hand_back(self, handoff_id: int, staff: StaffInfo | None, status: str = RETURNED,
                        resolution: str | None = None) -> HandoffInfo:
        """Return the conversation to the bot (staff, or a timeout when staff is None), or close it."""
        handoff = await self._db(self.service.end, handoff_id, status, staff, resolution)
        why = "工作人员暂时未能回复，" if staff is None else ""
        notice = f"{why}人工服务已结束。" if status == CLOSED or staff is None else "人工服务已结束。"
        messages = [BotMessage(text=notice, sender="system")]
        await self._record(handoff.conversation_id, [{"event": "bot", "text": notice, "metadata": {"sender": "system"}}])
        try:
            messages += await self.rasa.execute(handoff.conversation_id, "action_welcome_back")
        except RasaUnavailable as exc:
            log.warning("welcome back failed for %s: %s", handoff.conversation_id, exc)
        # The bot now waits for the user, as after any turn (rules start from action_listen).
        await self._record(handoff.conversation_id, [{"event": "action", "name": "action_listen"}])
        await self.deliver(handoff.conversation_id, messages)
        await self.notifier.broadcast({"type": "queue"})
        return handoff

    async def sweep(self, now: datetime | None = None) -> int:
        """Hand back conversations nobody answered in time; returns how many."""
        stale = await self._db(self.service.timed_out, now or utcnow(), self.timeout, self.hours)
        for handoff in stale:
            try:
                await self.hand_back(handoff.id, None, RETURNED, "timeout")
            except Exception:  # noqa: BLE001 - one failure must not stop the others
                log.exception("timeout hand-back failed for handoff %s", handoff.id)
        return len(stale)
