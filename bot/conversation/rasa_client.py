"""Rasa as the gateway sees it: the REST channel for turns, the tracker API for history (token-protected)."""

from __future__ import annotations

import asyncio
import logging
import zlib
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.conversation.messages import BotMessage, HistoryEntry

log = logging.getLogger(__name__)


class RasaUnavailable(RuntimeError):
    """Rasa did not answer (down, timing out, or answering with an error).

    ``reached`` is False when no server accepted the connection, so the request cannot have run;
    ``may_be_running`` is True when Rasa did not answer in time, so the turn may still be under way."""

    def __init__(self, message: str, *, reached: bool = True, may_be_running: bool = False) -> None:
        super().__init__(message)
        self.reached = reached
        self.may_be_running = may_be_running


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


#: with a lock store of each Rasa server's own, how long a refused connection is tried again on the same server
STICK_RETRY_S = 2.0
STICK_FIRST_DELAY_S = 0.1


class RasaClient:
    """One or several Rasa servers sharing a tracker store (Rasa's scale-out path).

    A conversation goes to the server its id hashes to. What happens when that server refuses the connection (down,
    restarting) depends on Rasa's lock store, which keeps two turns of one conversation from running at once:

    - ``failover=False`` (Rasa's in-memory lock store: each server locks only what runs on it): the conversation
      stays on its server. The connection is tried again with a short backoff for up to ``stick_retry_s``, then
      :class:`RasaUnavailable` (``reached=False``: nothing ran). Another server would not see the first one's lock
      and could run a turn of the same conversation beside it.
    - ``failover=True`` (a lock store every server shares: Redis): the next server takes the conversation.

    A server that accepted a message and then failed is not retried: the user gets the polite "try again" line
    instead of a possible second turn.
    """

    def __init__(self, session: aiohttp.ClientSession, base_url: str | list[str], token: str = "", *,
                 failover: bool = False, stick_retry_s: float = STICK_RETRY_S) -> None:
        self._session = session
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        self._bases = [u.rstrip("/") for u in urls if u]
        self._token = token
        self.failover = failover
        self.stick_retry_s = stick_retry_s

    def _order(self, conversation_id: str) -> list[str]:
        start = zlib.crc32(conversation_id.encode("utf-8")) % len(self._bases)
        return self._bases[start:] + self._bases[:start]

    def server_for(self, conversation_id: str) -> str:
        """The server a conversation goes to while every server is up."""
        return self._order(conversation_id)[0]

    async def _call(self, conversation_id: str, method: str, path: str, *, what: str,
                    params: dict[str, str] | None = None, body: Any = None) -> Any:
        """One request to the conversation's server: again on it while it refuses the connection (for up to
        ``stick_retry_s``), or on the next server with ``failover``."""
        if not self._bases:
            raise RasaUnavailable("no Rasa server configured", reached=False)
        order = self._order(conversation_id)
        if self.failover:
            for base in order[:-1]:
                try:
                    return await self._request(base, method, path, what, params, body)
                except aiohttp.ClientConnectorError:  # never reached that server: the next one may take it
                    log.warning("Rasa %s refused the connection; trying the next server", base)
            try:
                return await self._request(order[-1], method, path, what, params, body)
            except aiohttp.ClientConnectorError as exc:
                raise RasaUnavailable(str(exc) or exc.__class__.__name__, reached=False) from exc
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.stick_retry_s
        delay = STICK_FIRST_DELAY_S
        while True:
            try:
                return await self._request(order[0], method, path, what, params, body)
            except aiohttp.ClientConnectorError as exc:  # never reached it; another server must not take it
                if loop.time() + delay > deadline:
                    raise RasaUnavailable(str(exc) or exc.__class__.__name__, reached=False) from exc
                log.warning("Rasa %s refused the connection; its conversations stay on it, again in %.1f s",
                            order[0], delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def _request(self, base: str, method: str, path: str, what: str, params: dict[str, str] | None,
                       body: Any) -> Any:
        """One request to one server; a refused connection comes out as aiohttp's ClientConnectorError."""
        try:
            async with self._session.request(method, f"{base}{path}", params=params, json=body) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"Rasa {what} answered HTTP {resp.status}")
                return await resp.json(content_type=None)
        except aiohttp.ClientConnectorError:
            raise
        except (TimeoutError, asyncio.TimeoutError) as exc:  # Rasa may still be working on it
            raise RasaUnavailable(f"no answer within the timeout ({what})", may_be_running=True) from exc
        except (aiohttp.ClientError, ValueError) as exc:
            raise RasaUnavailable(str(exc) or exc.__class__.__name__) from exc

    def _conversation(self, conversation_id: str) -> str:
        return f"/conversations/{quote(conversation_id, safe=':')}"  # Sanic does not decode %3A

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None) -> list[BotMessage]:
        body = {"sender": conversation_id, "message": text, "metadata": metadata or {}}
        data = await self._call(conversation_id, "POST", "/webhooks/rest/webhook", what="REST channel", body=body)
        if not isinstance(data, list):
            raise RasaUnavailable("Rasa's reply is not a list")
        return merge_custom([BotMessage.from_rasa(item) for item in data if isinstance(item, dict)])

    async def tracker(self, conversation_id: str, include_events: str = "ALL") -> dict[str, Any]:
        data = await self._call(conversation_id, "GET", f"{self._conversation(conversation_id)}/tracker",
                                what="tracker API", params={"token": self._token, "include_events": include_events})
        return data if isinstance(data, dict) else {}

    async def replies_to(self, conversation_id: str, message_id: str) -> list[BotMessage] | None:
        """The bot's replies to the user message sent with this ``message_id`` metadata, from the tracker; None
        when the conversation has no such message."""
        events = (await self.tracker(conversation_id, "AFTER_RESTART")).get("events") or []
        for i in range(len(events) - 1, -1, -1):
            e = events[i]
            if isinstance(e, dict) and e.get("event") == "user" and \
                    (e.get("metadata") or {}).get("message_id") == message_id:
                replies = []
                for later in events[i + 1:]:
                    if later.get("event") == "user":
                        break
                    if later.get("event") == "bot":
                        replies.append(BotMessage.from_rasa({**(later.get("data") or {}), "text": later.get("text")}))
                return [r for r in replies if r.text or r.custom or r.buttons]
        return None

    async def offered_payloads(self, conversation_id: str) -> set[str]:
        """The payloads of every button the bot sent in this conversation (from the tracker)."""
        events = (await self.tracker(conversation_id)).get("events") or []
        return {str(b.get("payload")) for e in events if isinstance(e, dict) and e.get("event") == "bot"
                for b in ((e.get("data") or {}).get("buttons") or []) if isinstance(b, dict)}

    async def logged(self, conversation_id: str, message_id: str) -> bool:
        """Whether the conversation's latest user turn is the message sent with this ``message_id`` metadata."""
        events = (await self.tracker(conversation_id, "AFTER_RESTART")).get("events") or []
        for event in reversed(events):
            if isinstance(event, dict) and event.get("event") == "user":
                return (event.get("metadata") or {}).get("message_id") == message_id
        return False

    async def append_events(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        """Record events in the tracker without running the bot (what users and staff said while handed off)."""
        await self._call(conversation_id, "POST", f"{self._conversation(conversation_id)}/tracker/events",
                         what="events API", params={"token": self._token}, body=events)

    async def execute(self, conversation_id: str, action: str) -> list[BotMessage]:
        """Run one action in a conversation (e.g. the welcome back after a handoff) and return its messages."""
        data = await self._call(conversation_id, "POST", f"{self._conversation(conversation_id)}/execute",
                                what="execute API", params={"token": self._token},
                                body={"name": action, "policy": None, "confidence": None})
        messages = [m for m in ((data or {}).get("messages") or []) if isinstance(m, dict)]
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


