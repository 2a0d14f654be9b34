"""The gateway's aiohttp application: the widget and its page, the channels, health."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.gateway.channels import wechat, wecom
from bot.gateway.channels.tencent_callback import TencentCallback
from bot.gateway.channels.web import WebChannel
from bot.gateway.hub import Hub
from bot.gateway.logs import configure_logging
from bot.gateway.ratelimit import rate_limits_key, setup_rate_limits
from bot.gateway.readiness import setup_readiness
from bot.gateway.rasa_client import RasaClient
from bot.helpdesk.canned import canned_replies
from bot.helpdesk.console import canned_key, relay_key, setup_console
from bot.helpdesk.relay import HandoffRelay
from bot.helpdesk.service import HelpdeskService, WorkingHours
from bot.knowledge.store import PolicyStore
from bot.settings import PROJECT_DIR, Settings, local_secret

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
SOCKETIO_CLIENT = PROJECT_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"

settings_key = web.AppKey("settings", Settings)
hub_key = web.AppKey("hub", Hub)
web_channel_key = web.AppKey("web_channel", WebChannel)
tencent_channels_key = web.AppKey("tencent_channels", dict[str, TencentCallback])

routes = web.RouteTableDef()
SWEEP_EVERY_S = 30.0


async def rasa_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[settings_key]
    timeout = aiohttp.ClientTimeout(total=settings.rasa_timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        rasa = RasaClient(session, list(settings.rasa_urls) or settings.rasa_url, settings.rasa_token)
        hub = Hub(rasa, retry_budget_s=settings.rasa_retry_s)
        app[hub_key] = hub
        hub.register_channel("web", app[web_channel_key].deliver)
        sweeper = await start_helpdesk(app, hub, rasa)
        yield
        sweeper.cancel()
        await app[web_channel_key].drain()


async def start_helpdesk(app: web.Application, hub: Hub, rasa: RasaClient) -> asyncio.Task[None]:
    """The helpdesk relay on the hub, its canned replies, and the timeout sweep (every 30 s)."""
    settings = app[settings_key]
    url = settings.helpdesk_database_url or settings.database_url
    service = await asyncio.to_thread(HelpdeskService.from_url, url)
    relay = HandoffRelay(service, rasa, hub.deliver, hours=WorkingHours.parse(settings.helpdesk_hours),
                         timeout=timedelta(seconds=settings.helpdesk_timeout_s),
                         max_open_per_address=settings.helpdesk_max_open_per_address,
                         queue_expiry=timedelta(hours=settings.helpdesk_queue_expiry_h))
    hub.relay = relay
    app[relay_key] = relay
    store = PolicyStore.from_url(settings.database_url)

    async def canned() -> list[dict[str, object]]:
        return await asyncio.to_thread(canned_replies, store)

    app[canned_key] = canned

    async def session_valid(token: str) -> bool:
        return await asyncio.to_thread(service.session, token) is not None

    async def sweep() -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            try:
                await relay.sweep()
                await relay.notifier.check_sessions(session_valid)  # expired or revoked: their sockets close
            except Exception:  # noqa: BLE001 - keep sweeping
                log.exception("helpdesk timeout sweep failed")

    return asyncio.create_task(sweep())


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
    origins = "*" if settings.allowed_origins == "*" else [o.strip() for o in settings.allowed_origins.split(",")]
    channel = WebChannel(lambda: app[hub_key], session_key=settings.web_session_key or local_secret("web_session_key"),
                         max_chars=settings.max_message_chars, allowed_origins=origins,
                         redis_url=settings.redis_url or None)
    channel.attach(app)
    app[web_channel_key] = channel
    app.cleanup_ctx.append(rasa_ctx)
    log.info("channel web: mounted at /%s (the widget)", channel.path)
    mount_tencent_channels(app, settings)
    setup_rate_limits(app, settings, channel, app[tencent_channels_key])
    setup_readiness(app, settings)
    setup_console(app, cookie_secure=settings.helpdesk_cookie_secure, tracker_store_url=settings.tracker_store_url)
    log.info("helpdesk: staff console at /helpdesk (hours %s, timeout %ss)", settings.helpdesk_hours,
             settings.helpdesk_timeout_s)
    app.add_routes(routes)
    return app


def mount_tencent_channels(app: web.Application, settings: Settings) -> None:
    """The WeChat Official Account and WeCom callbacks, each only when its settings are present.

    Mounted after ``rasa_ctx``, so at shutdown they finish their replies while the hub still works."""
    mounted: dict[str, TencentCallback] = {}
    for module in (wechat, wecom):
        tencent, status = module.from_settings(settings, lambda: app[hub_key])
        log.info("channel %s: %s", module.PATH.strip("/"), status)
        if tencent is not None:
            tencent.attach(app, module.PATH)
            mounted[tencent.name] = tencent
    app[tencent_channels_key] = mounted


def run(settings: Settings | None = None) -> None:
    settings = settings or Settings.from_env()
    # replaces the WARNING set-up of `python -m bot`: the gateway logs what it mounts and refuses, as JSON lines
    # (LOG_FORMAT=text for plain lines), with phone, 身份证 and credit-code numbers masked (bot/masking.py)
    configure_logging(settings.log_format)
    web.run_app(create_app(settings), host=settings.gateway_host, port=settings.gateway_port, print=None,
                access_log=None)
