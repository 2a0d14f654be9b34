"""The gateway's aiohttp application: the widget and its page, the channels, health.

The helpdesk is not imported here: the gateway process (bot/app.py) mounts it beside and sets ``desk_key``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.conversation.handoff import DeskStarter
from bot.conversation.rasa_client import RasaClient
from bot.gateway.channel import Channel
from bot.gateway.channels.registry import CHANNELS
from bot.gateway.hub import Hub
from bot.gateway.ratelimit import rate_limits_key, setup_rate_limits
from bot.gateway.readiness import setup_readiness
from bot.settings import PROJECT_DIR, Settings

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
SOCKETIO_CLIENT = PROJECT_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"

settings_key = web.AppKey("settings", Settings)
hub_key = web.AppKey("hub", Hub)
#: the mounted channels by name (bot/gateway/channels/registry.py lists those there are)
channels_key = web.AppKey("channels", dict[str, Channel])
#: a helpdesk to hand conversations to (bot/helpdesk/app.py), started with the hub; none: the bot answers everything
desk_key = web.AppKey("handoff_desk", DeskStarter)

routes = web.RouteTableDef()


async def rasa_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[settings_key]
    timeout = aiohttp.ClientTimeout(total=settings.rasa_timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session, AsyncExitStack() as desk:
        rasa = RasaClient(session, list(settings.rasa_urls) or settings.rasa_url, settings.rasa_token,
                          failover=settings.rasa_failover)
        if len(settings.rasa_urls) > 1:
            log.info("%d Rasa servers; a conversation whose server refuses connections %s", len(settings.rasa_urls),
                     "moves to the next one (shared lock store)" if settings.rasa_failover
                     else "stays on it (each server's own lock store)")
        hub = Hub(rasa, retry_budget_s=settings.rasa_retry_s)
        app[hub_key] = hub
        for channel in app[channels_key].values():
            hub.register_channel(channel.name, channel.deliver)
        start_desk = app.get(desk_key)
        if start_desk is not None:  # the helpdesk (bot/app.py plugs it in): the hub hands conversations to it
            hub.relay = await desk.enter_async_context(start_desk(rasa, hub.deliver))
        yield
        for channel in app[channels_key].values():  # those with a context of their own have drained already
            await channel.drain()


@routes.get("/")
async def demo_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


@routes.get("/widget.js")
async def widget_js(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "widget.js", headers={"Content-Type": "application/javascript; charset=utf-8",
                                                                "Cache-Control": "no-cache"})


@routes.get("/vendor/socket.io.min.js")
async def socketio_client(request: web.Request) -> web.StreamResponse:
    if not SOCKETIO_CLIENT.exists():
        raise web.HTTPServiceUnavailable(text="socket.io-client is not installed: run `make setup` (npm ci)")
    return web.FileResponse(SOCKETIO_CLIENT, headers={"Content-Type": "application/javascript; charset=utf-8"})


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@web.middleware
async def security_headers(request: web.Request, handler):  # type: ignore[no-untyped-def]
    response = await handler(request)
    if response is None:  # engineio answers some malformed upgrade requests with nothing
        return web.Response(status=400, text="bad request")
    if not response.prepared:  # a websocket has already sent its headers
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if served_over_tls(request):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def served_over_tls(request: web.Request) -> bool:
    """TLS here, or at a trusted proxy (FORWARDED_ALLOW_IPS) that says so in X-Forwarded-Proto."""
    if request.secure:
        return True
    limits = request.app.get(rate_limits_key)
    if limits is None or not limits.trusts(request.remote):
        return False
    return request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower() == "https"


@web.middleware
async def socketio_guard(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """Malformed Engine.IO requests get a 400 with a reason (engineio 4.8 raises on some, e.g. a POST with no sid)."""
    if not request.path.startswith("/socket.io"):
        return await handler(request)
    if request.method == "POST" and "sid" not in request.query:
        raise web.HTTPBadRequest(text="socket.io POST without a session id")
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:  # noqa: BLE001 - a bad request must not become a 500
        log.warning("bad socket.io request %s %s: %r", request.method, request.path_qs[:200], exc)
        raise web.HTTPBadRequest(text="malformed socket.io request") from None


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or Settings.from_env()
    app = web.Application(client_max_size=64 * 1024, middlewares=[security_headers, socketio_guard])
    app[settings_key] = settings
    app.cleanup_ctx.append(rasa_ctx)
    mount_channels(app, settings)
    setup_rate_limits(app, settings, app[channels_key].values())
    setup_readiness(app, settings, list(app[channels_key]))
    app.add_routes(routes)
    return app


def mount_channels(app: web.Application, settings: Settings) -> None:
    """Every channel of the registry whose settings are present, in its order.

    Mounted after ``rasa_ctx``, so at shutdown those with a context of their own finish their replies while the
    hub still works."""
    mounted: dict[str, Channel] = {}
    for from_settings in CHANNELS:
        channel, status = from_settings(settings, lambda: app[hub_key])
        if channel is None:
            log.info("channel %s: %s", from_settings.__module__.rsplit(".", 1)[-1], status)
            continue
        log.info("channel %s: %s", channel.name, status)
        channel.attach(app)
        mounted[channel.name] = channel
    app[channels_key] = mounted
