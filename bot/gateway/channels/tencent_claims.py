"""The cross-gateway claim protocol: with several gateways behind one callback URL, the first to claim a message
works out its reply (holding the claim while it does) and publishes it; another gateway holding a retry waits for
the published reply, or takes the message over when the claimant went away. The state lives in Redis
(tencent_state.py); without it, or while it is down, every gateway works alone."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Coroutine
from typing import Any

from bot.gateway.channels.tencent_state import HOLD_EVERY_S, CallbackState, StateUnavailable, TakenOver
from bot.gateway.channels.tencent_turns import Turn

log = logging.getLogger("bot.gateway.channels.tencent_callback")


class Claims:
    """The claims (part of :class:`~bot.gateway.channels.tencent_callback.TencentCallback`, which sets these)."""

    name: str
    state: CallbackState
    _turns: OrderedDict[str, Turn]
    _resumed: set[str]

    async def _work_out(self, key: str, reply: Coroutine[Any, Any, list[str]]) -> list[str]:
        """A turn's reply: worked out here if this gateway is the first to claim the message, else the one
        another gateway publishes."""
        try:
            elsewhere = await self._elsewhere(key)
        except BaseException:  # cancelled (at shutdown)
            reply.close()
            raise
        if elsewhere is not None:
            reply.close()
            return elsewhere
        holding = asyncio.create_task(self._hold(key))
        try:
            pieces = await reply
        finally:
            holding.cancel()
        await self.state.publish(key, pieces)
        return pieces

    async def _hold(self, key: str) -> None:
        """Keep this gateway's claim on ``key`` alive while the reply is worked out."""
        while True:
            await asyncio.sleep(HOLD_EVERY_S)
            await self.state.hold(key)

    async def _elsewhere(self, key: str) -> list[str] | None:
        """The reply another gateway works out for ``key``; None when it is for this gateway to work out (it was
        first to claim the message, or the shared state is down)."""
        if await self.state.claim(key):
            return None
        log.info("%s: %s is being handled by another gateway; waiting for its reply", self.name, key)
        try:
            return await self._reply_elsewhere(key, take_over=True)
        except TakenOver:
            log.warning("%s: the gateway handling %s went away before replying; it is handled here", self.name, key)
            self._resumed.add(key)
            return None
        except StateUnavailable as exc:
            log.warning("%s: the shared state is unavailable (%s); %s is handled here too", self.name, exc, key)
            return None

    async def _reply_elsewhere(self, key: str, take_over: bool = False) -> list[str]:
        """The reply another gateway publishes for ``key``; [] (with a warning) if it does not come in time."""
        pieces = await self.state.wait_reply(key, self.state.wait_elsewhere_s, take_over)
        if pieces is None:
            log.warning("%s: no reply to %s came from another gateway in %.0f s", self.name, key,
                        self.state.wait_elsewhere_s)
            return []
        return pieces

    async def _after(self, key: str) -> None:
        """Wait until the reply to ``key`` is worked out, here or on another gateway (bounded)."""
        turn = self._turns.get(key)
        if turn is not None:
            await asyncio.wait([turn.task])
            return
        try:
            await self._reply_elsewhere(key)
        except StateUnavailable as exc:
            log.warning("%s: the shared state is unavailable (%s); not waiting for %s", self.name, exc, key)
