"""Rasa as the gateway sees it: the REST channel for turns, the tracker API for history (token-protected)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.gateway.messages import BotMessage, HistoryEntry

log = logging.getLogger(__name__)


class RasaUnavailable(RuntimeError):
    """Rasa did not answer (down, timing out, or answering with an error)."""


def merge_custom(messages: list[BotMessage]) -> list[BotMessage]:
    """Rasa's REST channel splits one bot utterance with text and a custom payload into two messages;
    put them back together, as they are in the tracker, so live replies and history look the same."""
    out: list[BotMessage] = []
    for m in messages:
        prev = out[-1] if out else None
        if m.custom and not m.text and not m.buttons and prev and prev.text and prev.custom is None:
            out[-1] = BotMessage(prev.text, prev.buttons, m.custom, prev.sender)
        else:
            out.append(m)
    return out


class RasaClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str = "") -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._token = token

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None) -> list[BotMessage]:
        body = {"sender": conversation_id, "message": text, "metadata": metadata or {}}
        try:
            async with self._session.post(f"{self._base}/webhooks/rest/webhook", json=body) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"Rasa answered HTTP {resp.status}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(str(exc) or exc.__class__.__name__) from exc
        if not isinstance(data, list):
            raise RasaUnavailable("Rasa's reply is not a list")
        return merge_custom([BotMessage.from_rasa(item) for item in data if isinstance(item, dict)])

    async def tracker(self, conversation_id: str) -> dict[str, Any]:
        url = f"{self._base}/conversations/{quote(conversation_id, safe='')}/tracker"
        try:
            async with self._session.get(url, params={"token": self._token, "include_events": "ALL"}) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"Rasa tracker API answered HTTP {resp.status}")
                return await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(str(exc) or exc.__class__.__name__) from exc

    async def append_events(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        """Record events in the tracker without running the bot (what users and staff said while handed off)."""
        url = f"{self._base}/conversations/{quote(conversation_id, safe='')}/tracker/events"
        try:
            async with self._session.post(url, params={"token": self._token}, json=events) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"Rasa events API answered HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(str(exc) or exc.__class__.__name__) from exc

    async def execute(self, conversation_id: str, action: str) -> list[BotMessage]:
        """Run one action in a conversation (e.g. the welcome back after a handoff) and return its messages."""
        url = f"{self._base}/conversations/{quote(conversation_id, safe='')}/execute"
        body = {"name": action, "policy": None, "confidence": None}
        try:
            async with self._session.post(url, params={"token": self._token}, json=body) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"Rasa execute API answered HTTP {resp.status}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(str(exc) or exc.__class__.__name__) from exc
        messages = [m for m in (data.get("messages") or []) if isinstance(m, dict)]
        return merge_custom([BotMessage.from_rasa(m) for m in messages])

    async def history(self, conversation_id: str, limit: int = 200) -> list[HistoryEntry]:
        """What the user saw: their messages (as they typed or clicked them) and the replies."""
        events = (await self.tracker(conversation_id)).get("events") or []
        out: list[HistoryEntry] = []
        for e in events:
            if e.get("event") == "user":
                meta = e.get("metadata") or {}
                text = meta.get("display") or e.get("text")
                if text:
                    out.append(HistoryEntry("user", text, timestamp=e.get("timestamp")))
            elif e.get("event") == "bot":
                data = e.get("data") or {}
                meta = e.get("metadata") or {}
                msg = BotMessage.from_rasa({**data, "text": e.get("text")})
                sender = meta.get("sender") if meta.get("sender") in ("staff", "system") else "bot"
                if msg.text or msg.custom:
                    out.append(HistoryEntry(sender, msg.text, msg.buttons, msg.custom, e.get("timestamp")))
        return out[-limit:]


