"""The short fault run both profiles' tests make, and what must hold after it."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import bench.load
from bench.load import audit, run_load
from bot.gateway.channels.web import derive_user_id
from bot.launcher import Servers
from bot.settings import local_secret


class _RichSessions:
    """bench/load.py's widget users wait for the rich event (``in_reply_to``); they ask for it in their
    session_request here, as the project's widget does (stock clients get Rasa's plain format)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def call(self, event: str, data: Any = None, **kwargs: Any) -> Any:
        if event == "session_request" and isinstance(data, dict):
            data = {**data, "rich": True}
        return await self._client.call(event, data, **kwargs)


class _Socketio:
    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def AsyncClient(self, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - the library's name
        return _RichSessions(self._module.AsyncClient(*args, **kwargs))


def _web_conversations_by_hashed_id(conversations: list[Any]) -> None:
    """The gateway names a widget conversation by a keyed hash of the session id (the id is the user's secret)."""
    key = os.environ.get("WEB_SESSION_KEY") or local_secret("web_session_key")
    for conv in conversations:
        if conv.conversation_id.startswith("web:"):
            conv.conversation_id = f"web:{derive_user_id(conv.conversation_id[4:], key)}"


def load_through_faults(servers: Servers, gateways: list[str], faults: int) -> dict[str, Any]:
    """5 users talk while the profile's faults happen; every turn is audited. Returns the load figures."""
    if not isinstance(bench.load.socketio, _Socketio):
        bench.load.socketio = _Socketio(bench.load.socketio)  # type: ignore[assignment]
    figures, conversations, notes = asyncio.run(run_load(servers, gateways, users=5, conversations=1,
                                                         faults_on=True))
    _web_conversations_by_hashed_id(conversations)
    problems: list[str] = []
    result = audit(servers, conversations, problems)
    assert len(notes) == faults, notes  # every fault happened, and every killed server came back, during the load
    assert result["turns"] > 0
    assert result["lost"] == result["duplicated"] == result["reordered"] == 0, problems
    assert result["unanswered"] == 0, problems
    assert figures["errors"] == 0, figures  # every turn was answered in the end (some after a "稍后再试")
    assert figures["wechat_messages"] > 0
    assert figures["wechat_missing"] == figures["wechat_duplicated"] == 0, figures
    return figures
