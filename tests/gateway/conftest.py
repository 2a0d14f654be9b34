from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import socketio

from bot.app import create_app
from bot.launcher import Servers
from bot.settings import Settings


@pytest.fixture
async def gateway(aiohttp_client, gateway_settings):  # type: ignore[no-untyped-def]
    return await aiohttp_client(create_app(gateway_settings))


class WidgetClient:
    """A python-socketio client speaking the widget's protocol, recording every event it receives."""

    def __init__(self, url: str, rich: bool = True) -> None:
        self.url = url
        self.rich = rich  # the project's widget opts in to the rich bot_uttered; a stock client does not
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.session_id: str | None = None
        for name in ("session_confirm", "session_history", "bot_uttered", "error"):
            self.sio.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[[Any], Any]:
        async def record(data: Any = None) -> None:
            self.events.append((name, data))
            if name == "session_confirm":
                self.session_id = data
        return record

    async def connect(self, session_id: str | None = None) -> None:
        await self.sio.connect(self.url, transports=["websocket"], socketio_path="socket.io")
        request: dict[str, Any] = {"session_id": session_id}
        if self.rich:
            request["rich"] = True
        await self.sio.call("session_request", request, timeout=10)
        await self.wait_for("session_confirm")

    async def say(self, text: Any, message_id: str | None = None, **custom: Any) -> Any:
        data = {"message": text, "session_id": self.session_id,
                "customData": {**({"message_id": message_id} if message_id else {}), **custom}}
        return await self.sio.call("user_uttered", data, timeout=10)

    def of(self, name: str) -> list[Any]:
        return [data for event, data in self.events if event == name]

    async def wait_for(self, name: str, count: int = 1, timeout: float = 20,
                       until: Callable[[Any], bool] | None = None) -> list[Any]:
        async def enough() -> list[Any]:
            while True:
                found = [d for d in self.of(name) if until is None or until(d)]
                if len(found) >= count:
                    return found
                await asyncio.sleep(0.05)
        return await asyncio.wait_for(enough(), timeout)

    @property
    def conversation_id(self) -> str:
        from ..conftest import web_conversation_id

        assert self.session_id
        return web_conversation_id(self.session_id)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


@pytest.fixture
async def widget(gateway) -> AsyncIterator[Callable[[], Any]]:  # type: ignore[no-untyped-def]
    clients: list[WidgetClient] = []

    async def make(session_id: str | None = None, connect: bool = True, rich: bool = True) -> WidgetClient:
        client = WidgetClient(str(gateway.make_url("/")).rstrip("/"), rich=rich)
        clients.append(client)
        if connect:
            await client.connect(session_id)
        return client

    yield make
    for c in clients:
        await c.close()
