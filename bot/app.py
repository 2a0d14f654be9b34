"""The gateway process (`python -m bot gateway`): the gateway (bot/gateway) with the helpdesk (bot/helpdesk) and the
console's insights page (bot/insights/page.py) mounted beside it. The one place that puts them together: the
gateway and the helpdesk know each other only through the hub's contract (bot/conversation/handoff.py)."""

from __future__ import annotations

from aiohttp import web

from bot.gateway.app import create_app as create_gateway
from bot.gateway.app import desk_key
from bot.gateway.logs import configure_logging
from bot.helpdesk.app import setup_helpdesk
from bot.insights.page import setup_insights
from bot.settings import Settings


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or Settings.from_env()
    app = create_gateway(settings)
    app[desk_key] = setup_helpdesk(app, settings)
    setup_insights(app, settings.tracker_store_url)
    return app


def run(settings: Settings | None = None) -> None:
    settings = settings or Settings.from_env()
    # replaces the WARNING set-up of `python -m bot`: the gateway logs what it mounts and refuses, as JSON lines
    # (LOG_FORMAT=text for plain lines), with phone, 身份证 and credit-code numbers masked (bot/masking.py)
    configure_logging(settings.log_format)
    web.run_app(create_app(settings), host=settings.gateway_host, port=settings.gateway_port, print=None,
                access_log=None)
