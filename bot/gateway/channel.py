"""What every channel is to the gateway: one small protocol. The registry (bot/gateway/channels/registry.py)
lists the channel modules; mounting, the rate limits and readiness read it, so a new channel is one module there
plus one line in the registry (README: "A new channel")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from aiohttp import web

from bot.conversation.messages import BotMessage
from bot.gateway.hub import Hub
from bot.settings import Settings

#: whether a user message may go on: (the HTTP request it came with, if any; the conversation id) → None when it
#: may, else why not (then the user gets the polite "too many messages" line, not the bot)
Admit = Callable[[web.BaseRequest | None, str], str | None]


def admit_all(request: web.BaseRequest | None, conversation_id: str) -> str | None:
    return None


class Channel(Protocol):
    #: the channel's name, also the prefix of its conversation ids ("web:…", "wechat:…")
    name: str
    #: server-to-server callbacks (Tencent's servers post for their users): limited per sending address before
    #: the body is read, their users per conversation; False: users connect themselves (limited per address too)
    callback: bool
    #: set by the rate limits (bot/gateway/ratelimit.py); asked before each user message goes to the hub
    admit: Admit

    def routes(self) -> list[str]:
        """The paths it answers on (for the log and the per-address limit of callbacks)."""

    def attach(self, app: web.Application) -> None:
        """Mount its routes, and its start-up and shutdown (``cleanup_ctx``), on the gateway's app."""

    async def deliver(self, user: str, messages: list[BotMessage]) -> None:
        """Push messages to one of its users outside a turn (staff replies, the bot after a handoff)."""

    async def drain(self) -> None:
        """Wait for replies still being worked on or sent (at shutdown)."""


#: a channel module's ``from_settings``: the channel, or None and why not; with it, a line saying how it runs
ChannelFactory = Callable[[Settings, Callable[[], Hub]], tuple[Channel | None, str]]
