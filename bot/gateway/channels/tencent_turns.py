"""Turns and retries: each user message Tencent posts becomes one :class:`CallbackMessage` and one :class:`Turn`
that every retry of it shares (keyed by MsgId; events by FromUserName+CreateTime), so the bot is asked once. A
request waits for its turn's reply until its deadline and answers passively with it, or leaves it to the message
API (tencent_delivery.py)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bot.conversation.messages import BotMessage, UserMessage
from bot.gateway.channels.tencent_http import TIMESTAMP
from bot.gateway.channels.tencent_state import CallbackState
from bot.gateway.channels.wxcrypto import WxProtocolError
from bot.gateway.channels.wxtext import render, split_utf8
from bot.gateway.hub import SORRY, Hub

log = logging.getLogger("bot.gateway.channels.tencent_callback")

USER_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")  # an OpenID or a WeCom UserID
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
WELCOME = ("您好，欢迎关注！我是中关村政策助手，可以帮您找对口的支持资金、判断申报资格、列出要准备的材料。"
           "直接发文字提问就行，比如“有哪些资金”“我们能申请吗”。")
TEXT_ONLY = "抱歉，我暂时只能看懂文字消息，请发送文字描述您的问题。"


@dataclass(frozen=True)
class CallbackMessage:
    """One message Tencent posted, as the turn sees it: who sent it, its retry key, and what answers it — the bot
    (``text`` goes to the hub) or a fixed reply (``fixed``: a welcome, "text only", the rate limit)."""

    user: str
    key: str
    text: str = ""
    msg_id: str | None = None
    fixed: tuple[str, ...] | None = None  # None: ask the bot

    def answered_with(self, *pieces: str) -> CallbackMessage:
        return replace(self, fixed=pieces)


def read_message(fields: dict[str, str]) -> CallbackMessage:
    """The message of a verified callback's fields."""
    user = fields.get("FromUserName", "")
    if not USER_ID.match(user):
        raise WxProtocolError("FromUserName is missing or malformed")
    kind = fields.get("MsgType", "")
    msg_id = fields.get("MsgId", "")
    if msg_id and not MESSAGE_ID.match(msg_id):
        raise WxProtocolError("MsgId is malformed")
    created = fields.get("CreateTime", "")
    if not msg_id and not TIMESTAMP.match(created):
        raise WxProtocolError("neither MsgId nor CreateTime to tell retries apart")
    key = f"{user}:msg:{msg_id}" if msg_id else f"{user}:at:{created}"
    if kind == "text":
        text = fields.get("Content", "")
    elif kind == "voice" and fields.get("Recognition", "").strip():
        text = fields["Recognition"]
    elif kind == "event":
        event = fields.get("Event", "").lower()
        return CallbackMessage(user, key, fixed=(WELCOME,) if event == "subscribe" else ())
    else:
        return CallbackMessage(user, key, fixed=(TEXT_ONLY,))
    return CallbackMessage(user, key, text.strip(), msg_id or None)


class Turn:
    """One user message's handling, shared by Tencent's retries of it."""

    def __init__(self, task: asyncio.Task[list[str]]) -> None:
        self.task = task
        self.waiting = 0  # requests waiting for the reply
        self.route: str | None = None  # "passive" or "api", once decided


class Turns:
    """Turns and retries (part of :class:`~bot.gateway.channels.tencent_callback.TencentCallback`, which sets the
    attributes below); the claims on other gateways and the delivery are its other parts."""

    name: str
    max_chars: int
    text_limit: int
    state: CallbackState
    _hub: Callable[[], Hub]
    _turns: OrderedDict[str, Turn]
    _latest: OrderedDict[str, asyncio.Task[list[str]]]  # each user's latest turn
    _max_turns: int
    _resumed: set[str]

    if TYPE_CHECKING:  # provided by the other parts (tencent_claims.py, tencent_delivery.py)
        async def _work_out(self, key: str, reply: Coroutine[Any, Any, list[str]]) -> list[str]: ...
        async def _after(self, key: str) -> None: ...
        def _send_later(self, turn: Turn, user: str, key: str) -> None: ...
        def _spawn(self, coro: Awaitable[None]) -> None: ...
        async def _send(self, user: str, pieces: list[str]) -> None: ...
        async def _send_if(self, claim: Awaitable[bool], user: str, pieces: list[str]) -> None: ...

    async def _reply(self, message: CallbackMessage, previous: asyncio.Task[list[str]] | None) -> list[str]:
        """The reply to a message, as text pieces: its fixed reply, or the bot's."""
        if message.fixed is not None:
            return list(message.fixed)
        return await self._converse(message, previous)

    async def _converse(self, message: CallbackMessage, previous: asyncio.Task[list[str]] | None) -> list[str]:
        user, key, text = message.user, message.key, message.text
        if not text:
            return []
        if len(text) > self.max_chars:
            return [f"消息过长（最多{self.max_chars}字），请精简或分几次发送。"]
        if previous is not None:  # a "1" refers to the menu of the user's previous message: wait for it
            await asyncio.wait([previous])
        earlier = await self.state.follow(user, key)
        if earlier is not None:  # ... also when another gateway has it
            await self._after(earlier)
        button = await self.state.choose(user, text)
        metadata = {"display": button.title} if button else {}
        said = (button.payload or button.title) if button else text
        resumed = key in self._resumed
        self._resumed.discard(key)
        to_hub = UserMessage(f"{self.name}:{user}", self.name, said, message.msg_id, metadata, resumed=resumed)
        try:
            replies = await self._hub().handle(to_hub)
        except Exception:  # never let one conversation's failure take the channel down
            log.exception("%s: handling failed for %s", self.name, to_hub.conversation_id)
            replies = [BotMessage(text=SORRY)]
        text_out, buttons = render(replies)
        await self.state.remember(user, buttons)
        return split_utf8(text_out, self.text_limit)

    def _start(self, message: CallbackMessage) -> Turn:
        # the user's previous turn is noted now, not once the message is claimed
        reply = self._reply(message, self._latest.get(message.user))
        turn = Turn(asyncio.create_task(self._work_out(message.key, reply)))
        self._turns[message.key] = turn
        while len(self._turns) > self._max_turns:
            self._turns.popitem(last=False)
        return turn

    async def respond(self, message: CallbackMessage, timeout: float, connected: Callable[[], bool]) -> str | None:
        """The passive reply to a message (or a retry of it), or None to answer "success": the reply goes, or has
        gone, another way. ``connected`` says whether Tencent is still waiting for this request's answer."""
        user, key = message.user, message.key
        deadline = asyncio.get_running_loop().time() + timeout
        turn = self._turns.get(key)
        if turn is None and await self.state.route(key) is not None:
            log.info("%s: %s is a retry of a message another gateway has answered", self.name, key)
            return None
        turn = self._turns.get(key)  # looked up again: another request may have started it meanwhile
        if turn is None:
            turn = self._start(message)
            self._latest[user] = turn.task
            self._latest.move_to_end(user)
            while len(self._latest) > self._max_turns:
                self._latest.popitem(last=False)
        else:
            log.info("%s: %s is a retry; it shares the first request's turn", self.name, key)
        if turn.route is not None:
            return None
        turn.waiting += 1
        try:
            remaining = max(deadline - asyncio.get_running_loop().time(), 0.0)
            pieces = await asyncio.wait_for(asyncio.shield(turn.task), remaining)
        except asyncio.TimeoutError:
            self._send_later(turn, user, key)
            return None
        except asyncio.CancelledError:  # Tencent hung up; unless another retry is waiting, use the API
            if turn.waiting == 1:
                self._send_later(turn, user, key)
            raise
        finally:
            turn.waiting -= 1
        if turn.route is not None or not pieces:
            return None
        if not connected():  # Tencent hung up (it waits 5 s); unless a retry is waiting, use the API
            if turn.waiting == 0:
                self._send_later(turn, user, key)
            return None
        turn.route = "passive"
        claim = asyncio.ensure_future(self.state.claim_route(key, "passive"))
        try:
            if not await asyncio.shield(claim):
                return None  # another gateway answers it
        except asyncio.CancelledError:  # hung up while claiming: if the claim holds, the reply goes by the API
            self._spawn(self._send_if(claim, user, pieces))
            raise
        if len(pieces) > 1:
            self._spawn(self._send(user, pieces[1:]))
        return pieces[0]
