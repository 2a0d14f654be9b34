"""The live relay between a user (on any channel) and a staff member while a conversation is handed off.

While a conversation has an open handoff the bot is silent: the hub gives the user's messages to
:meth:`HandoffRelay.on_user_message` instead of Rasa's policies. Everything said on either side is still
recorded in the Rasa tracker (its events API), so the conversation's history stays whole, and returning to the
bot runs ``action_welcome_back`` in the same conversation, which still holds every slot the bot knew.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import WSCloseCode, web

from bot.conversation.handoff import Deliver
from bot.conversation.messages import BotMessage, UserMessage, handoff_payload
from bot.conversation.rasa_client import RasaClient, RasaUnavailable
from bot.helpdesk.models import OPEN_STATES
from bot.helpdesk.service import (CLOSED, QUEUED, RETURNED, HandoffInfo, HelpdeskService, StaffInfo, WorkingHours,
                                  utcnow)

log = logging.getLogger(__name__)

TOO_MANY_HANDOFFS = "人工服务请求过多，请稍后再试，或拨打12345市民服务热线。"
WEEKDAYS = "一二三四五六日"


class StaffNotifier:
    """Open console websockets, each with its staff session; every change is pushed to all of them (no polling).

    A send that does not finish within ``send_timeout_s`` closes that socket (a slow console must not hold up the
    others: they are sent to concurrently). Queue changes are coalesced: a burst of new handoffs makes one
    "queue" event per ``debounce_s``, not one console re-fetch each. A session's sockets are closed when it ends
    (logout), and :meth:`check_sessions` closes those whose session expired or was revoked.
    """

    def __init__(self, send_timeout_s: float = 2.0, debounce_s: float = 0.5) -> None:
        self._sockets: dict[web.WebSocketResponse, str] = {}  # socket → its session cookie
        self.send_timeout_s = send_timeout_s
        self.debounce_s = debounce_s
        self._queue_pending: asyncio.Task[None] | None = None

    def add(self, ws: web.WebSocketResponse, session_token: str = "") -> None:
        self._sockets[ws] = session_token

    async def _send(self, ws: web.WebSocketResponse, event: dict[str, Any]) -> None:
        try:
            await asyncio.wait_for(ws.send_json(event), self.send_timeout_s)
        except (ConnectionError, RuntimeError):
            self._sockets.pop(ws, None)
        except asyncio.TimeoutError:
            log.warning("a console websocket did not take an event within %.1f s; closed", self.send_timeout_s)
            self._sockets.pop(ws, None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=WSCloseCode.TRY_AGAIN_LATER), 1)

    async def broadcast(self, event: dict[str, Any]) -> None:
        for ws in [w for w in self._sockets if w.closed]:
            self._sockets.pop(ws, None)
        await asyncio.gather(*(self._send(ws, event) for ws in list(self._sockets)))

    async def queue_changed(self) -> None:
        """Tell consoles the queue changed, at most once per ``debounce_s``."""
        if self._queue_pending is not None and not self._queue_pending.done():
            return

        async def later() -> None:
            await asyncio.sleep(self.debounce_s)
            await self.broadcast({"type": "queue"})
        self._queue_pending = asyncio.create_task(later())

    async def close_session(self, session_token: str) -> None:
        for ws, token in list(self._sockets.items()):
            if token == session_token:
                self._sockets.pop(ws, None)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"logged out"), 1)

    async def check_sessions(self, valid: Callable[[str], Awaitable[bool]]) -> None:
        """Close the sockets whose session is no longer valid (expired, or the account was disabled)."""
        for token in set(self._sockets.values()):
            if not await valid(token):
                await self.close_session(token)

    def __len__(self) -> int:
        return len(self._sockets)


class HandoffRelay:
    def __init__(self, service: HelpdeskService, rasa: RasaClient, deliver: Deliver, *,
                 hours: WorkingHours, timeout: timedelta, notifier: StaffNotifier | None = None,
                 max_open_per_address: int = 3, queue_expiry: timedelta = timedelta(hours=24)) -> None:
        self.service = service
        # a flood of handoffs from fresh sessions: at most this many open per client address (this instance)
        self.max_open_per_address = max_open_per_address
        self.queue_expiry = queue_expiry  # queued this long unclaimed: back to the bot, working hours or not
        self._by_address: dict[str, set[int]] = {}
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
        if not await self._address_may_open(message):
            log.warning("handoff refused for %s: its address has %d open already", message.conversation_id,
                        self.max_open_per_address)
            kept = [r for r in replies if not (r.custom and r.custom.get("type") == "handoff")]
            return [*kept, BotMessage(text=TOO_MANY_HANDOFFS, sender="system")]
        payload = handoff_payload(replies) or {}
        summary = payload.get("summary") if isinstance(payload.get("summary"), dict) else {}
        context = {**summary, "summary_text": payload.get("summary_text"), "channel": message.channel,
                   "reason": payload.get("reason", "user_request")}
        handoff = await self._db(self.service.enqueue, message.conversation_id, message.channel,
                                 str(context["reason"]), context)
        if message.client_address:
            self._by_address.setdefault(message.client_address, set()).add(handoff.id)
        position = await self._db(self.service.position, handoff.id)
        notice = self._waiting_notice(position)
        await self._record(message.conversation_id, [{"event": "bot", "text": notice,
                                                      "metadata": {"sender": "system"}}])
        await self.notifier.queue_changed()
        return [*replies, BotMessage(text=notice, sender="system")]

    async def _address_may_open(self, message: UserMessage) -> bool:
        address = message.client_address
        if not address or self.max_open_per_address <= 0:
            return True
        ids = self._by_address.get(address, set())
        still_open = set()
        for hid in ids:
            handoff = await self._db(self.service.get, hid)
            if handoff is not None and handoff.status in OPEN_STATES and handoff.conversation_id != \
                    message.conversation_id:
                still_open.add(hid)
        if still_open:
            self._by_address[address] = still_open
        else:
            self._by_address.pop(address, None)
        return len(still_open) < self.max_open_per_address

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
        await self.notifier.queue_changed()
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
        await self.notifier.queue_changed()
        return handoff

    async def sweep(self, now: datetime | None = None) -> int:
        """Hand back conversations nobody answered in time; returns how many."""
        now = now or utcnow()
        stale = await self._db(self.service.timed_out, now, self.timeout, self.hours)
        seen = {h.id for h in stale}
        stale += [h for h in await self._db(self.service.expired, now, self.queue_expiry) if h.id not in seen]
        for handoff in stale:
            try:
                await self.hand_back(handoff.id, None, RETURNED, "timeout")
            except Exception:  # noqa: BLE001 - one failure must not stop the others
                log.exception("timeout hand-back failed for handoff %s", handoff.id)
        return len(stale)
