"""Delivery through Tencent's message API: a reply whose request is gone or past its deadline, text beyond the
passive part, and messages outside a turn (staff replies). The "api" route is claimed first, so a reply goes once
whichever gateway holds the waiting requests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

import aiohttp

from bot.conversation.messages import BotMessage
from bot.gateway.channels.tencent_api import TencentApi, TencentApiError
from bot.gateway.channels.tencent_state import CallbackState
from bot.gateway.channels.tencent_turns import Turn
from bot.gateway.channels.wxtext import render, split_utf8

log = logging.getLogger("bot.gateway.channels.tencent_callback")


class Delivery:
    """Sending (part of :class:`~bot.gateway.channels.tencent_callback.TencentCallback`, which sets these)."""

    name: str
    text_limit: int
    state: CallbackState
    api: TencentApi | None
    _tasks: set[asyncio.Task[None]]

    def _send_later(self, turn: Turn, user: str, key: str) -> None:
        """The turn's reply goes through the API (once: the route is taken here, then claimed across gateways)."""
        if turn.route is None:
            turn.route = "api"
            self._spawn(self._send_by_api(turn, user, key))

    async def _send_by_api(self, turn: Turn, user: str, key: str) -> None:
        if not await self.state.claim_route(key, "api"):
            log.info("%s: the reply to %s is delivered by another gateway", self.name, key)
            return
        log.info("%s: the reply to %s will go through the message API", self.name, user)
        await self._send(user, await turn.task)

    async def _send_if(self, claim: Awaitable[bool], user: str, pieces: list[str]) -> None:
        if await claim:
            await self._send(user, pieces)

    async def _send(self, user: str, pieces: list[str]) -> None:
        for piece in pieces:
            if self.api is None:
                log.warning("%s: the message API is not running; a reply to %s is lost", self.name, user)
                return
            try:
                await self.api.send_text(user, piece)
            except (TencentApiError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
                log.warning("%s: could not send a reply to %s: %s", self.name, user, exc)
                return

    async def deliver(self, user: str, messages: list[BotMessage]) -> None:
        """Messages outside a turn (e.g. a staff member's reply) go through the message API."""
        text, buttons = render(messages)
        if buttons:
            await self.state.remember(user, buttons)
        await self._send(user, split_utf8(text, self.text_limit))

    def _spawn(self, coro: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await coro
            except Exception:  # logged; a background send must not go unobserved
                log.exception("%s: background delivery failed", self.name)
        task = asyncio.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for replies still being worked on or sent (used at shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
