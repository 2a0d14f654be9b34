"""The helpdesk in the gateway's process: the staff console's routes now, the relay once Rasa and the hub exist.

:func:`setup_helpdesk` mounts the console and returns the desk's start-up (a :data:`~bot.conversation.handoff.
DeskStarter`), which the gateway enters once it has a Rasa client and the hub's delivery: the relay on the helpdesk
database, the console's canned replies, and the timeout sweep (every 30 s). Leaving it stops the sweep and lets the
databases go.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from aiohttp import web

from bot.conversation.handoff import Deliver, DeskStarter
from bot.conversation.rasa_client import RasaClient
from bot.helpdesk.canned import canned_replies
from bot.helpdesk.console import canned_key, relay_key, setup_console
from bot.helpdesk.relay import HandoffRelay
from bot.helpdesk.service import HelpdeskService, WorkingHours
from bot.knowledge.store import PolicyStore
from bot.settings import Settings

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 30.0


def setup_helpdesk(app: web.Application, settings: Settings) -> DeskStarter:
    """Mount the staff console at /helpdesk; the returned start-up opens the relay (the gateway enters it)."""
    setup_console(app, cookie_secure=settings.helpdesk_cookie_secure, forwarded_allow_ips=settings.forwarded_allow_ips)
    log.info("helpdesk: staff console at /helpdesk (hours %s, timeout %ss)", settings.helpdesk_hours,
             settings.helpdesk_timeout_s)

    @asynccontextmanager
    async def start(rasa: RasaClient, deliver: Deliver) -> AsyncIterator[HandoffRelay]:
        url = settings.helpdesk_database_url or settings.database_url
        service = await asyncio.to_thread(HelpdeskService.from_url, url)
        relay = HandoffRelay(service, rasa, deliver, hours=WorkingHours.parse(settings.helpdesk_hours),
                             timeout=timedelta(seconds=settings.helpdesk_timeout_s),
                             max_open_per_address=settings.helpdesk_max_open_per_address,
                             queue_expiry=timedelta(hours=settings.helpdesk_queue_expiry_h))
        app[relay_key] = relay
        store = PolicyStore.from_url(settings.database_url)

        async def canned() -> list[dict[str, object]]:
            return await asyncio.to_thread(canned_replies, store)

        app[canned_key] = canned
        sweeper = asyncio.create_task(sweep(relay, service))
        try:
            yield relay
        finally:
            sweeper.cancel()
            store.engine.dispose()
            service.engine.dispose()

    return start


async def sweep(relay: HandoffRelay, service: HelpdeskService) -> None:
    """Every 30 s: handoffs nobody answered go back to the bot; consoles of expired or revoked sessions close."""

    async def session_valid(token: str) -> bool:
        return await asyncio.to_thread(service.session, token) is not None

    while True:
        await asyncio.sleep(SWEEP_EVERY_S)
        try:
            await relay.sweep()
            await relay.notifier.check_sessions(session_valid)  # expired or revoked: their sockets close
        except Exception:  # noqa: BLE001 - keep sweeping
            log.exception("helpdesk timeout sweep failed")
