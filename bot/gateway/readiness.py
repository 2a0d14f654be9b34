"""Liveness and readiness: ``/healthz`` says the gateway process answers; ``/readyz`` says it can serve users.

``/readyz`` asks, concurrently and each within ``READINESS_TIMEOUT_S``: Rasa (``GET {RASA_URL}/``), the action
server (``GET {ACTION_SERVER_URL}/health``) and the database (``SELECT 1`` on ``DATABASE_URL``, and on
``HELPDESK_DATABASE_URL`` when that is another database). 200 and every component's status when all are ok;
503 naming the failing components otherwise; either way with the channels this gateway has mounted. With several Rasa servers (``RASA_URLS``) each is reported and
"rasa" is ok while one of them answers: the gateway sends conversations to those that do. A result is reused
for one second, so a flood of probes does not become a flood of requests to Rasa.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from bot.settings import Settings

CACHE_S = 1.0


class Readiness:
    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self._session = session
        self._engines: dict[str, Engine] = {}
        self._lock = asyncio.Lock()
        self._last: tuple[float, dict[str, dict[str, Any]]] | None = None

    def _databases(self) -> dict[str, str]:
        urls = {"database": self.settings.database_url}
        helpdesk = self.settings.helpdesk_database_url
        if helpdesk and helpdesk != self.settings.database_url:
            urls["helpdesk_database"] = helpdesk
        return urls

    async def check(self) -> dict[str, dict[str, Any]]:
        async with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < CACHE_S:
                return self._last[1]
            rasa_urls = list(self.settings.rasa_urls) or [self.settings.rasa_url]
            checks: dict[str, Awaitable[None]] = {
                **{f"rasa {i}": self._http(f"{url}/") for i, url in enumerate(rasa_urls)},
                "action_server": self._http(f"{self.settings.action_server_url}/health"),
                **{name: asyncio.to_thread(self._select_one, url) for name, url in self._databases().items()},
            }
            results = await asyncio.gather(*(self._timed(c) for c in checks.values()))
            report = dict(zip(checks, results))
            servers = [report.pop(f"rasa {i}") for i in range(len(rasa_urls))]  # in RASA_URLS order, no addresses
            up = [r for r in servers if r["status"] == "ok"]
            rasa: dict[str, Any] = dict(up[0] if up else servers[0])
            if len(servers) > 1:
                rasa["servers"] = servers
            report = {"rasa": rasa, **report}
            self._last = (time.monotonic(), report)
            return report

    async def _timed(self, check: Awaitable[None]) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            await asyncio.wait_for(check, self.settings.readiness_timeout_s)
        except asyncio.TimeoutError:
            return {"status": "fail", "error": f"no answer within {self.settings.readiness_timeout_s:g} s"}
        except Exception as exc:  # noqa: BLE001 - any failure is "not ready", said briefly (no URLs, no secrets)
            return {"status": "fail", "error": str(exc)[:120] if isinstance(exc, NotReady) else type(exc).__name__}
        return {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 1)}

    async def _http(self, url: str) -> None:
        async with self._session.get(url, allow_redirects=False) as resp:
            if resp.status != 200:
                raise NotReady(f"HTTP {resp.status}")

    def _engine(self, url: str) -> Engine:
        if url not in self._engines:
            args: dict[str, Any] = {}
            if make_url(url).get_backend_name() == "postgresql":
                args["connect_args"] = {"connect_timeout": max(1, int(self.settings.readiness_timeout_s))}
            self._engines[url] = create_engine(url, future=True, pool_pre_ping=True, **args)
        return self._engines[url]

    def _select_one(self, url: str) -> None:
        with self._engine(url).connect() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()


class NotReady(RuntimeError):
    pass


readiness_key = web.AppKey("readiness", Readiness)
settings_for_readiness_key = web.AppKey("readiness_settings", Settings)
channel_names_key = web.AppKey("readiness_channels", list)


async def readiness_ctx(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as session:
        readiness = Readiness(app[settings_for_readiness_key], session)
        app[readiness_key] = readiness
        yield
        await asyncio.to_thread(readiness.close)


async def readyz(request: web.Request) -> web.Response:
    report = await request.app[readiness_key].check()
    failing = [name for name, result in report.items() if result["status"] != "ok"]
    body: dict[str, Any] = {"status": "not ready" if failing else "ready", "components": report,
                            "channels": request.app[channel_names_key]}
    if failing:
        body["failing"] = failing
    return web.json_response(body, status=503 if failing else 200, headers={"Cache-Control": "no-store"})


def setup_readiness(app: web.Application, settings: Settings, channels: list[str]) -> None:
    """``/readyz``; it names the channels mounted (from the registry), so a probe shows what this gateway serves."""
    app[settings_for_readiness_key] = settings
    app[channel_names_key] = channels
    app.cleanup_ctx.append(readiness_ctx)
    app.router.add_get("/readyz", readyz)
