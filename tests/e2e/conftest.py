"""Helpers for conversations over Rasa's REST channel (the servers fixture lives in tests/conftest.py)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from bot.launcher import Servers


class RestUser:
    """A user talking to Rasa's REST channel, as the gateway does."""

    def __init__(self, servers: Servers, sender: str) -> None:
        self.servers = servers
        self.sender = sender

    def say(self, message: str) -> list[dict[str, Any]]:
        body = json.dumps({"sender": self.sender, "message": message}).encode()
        req = urllib.request.Request(f"{self.servers.config.rasa_url}/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def tracker(self) -> dict[str, Any]:
        url = f"{self.servers.config.rasa_url}/conversations/{self.sender}/tracker?token={self.servers.token}"
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read())


def text_of(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def buttons_of(replies: list[dict[str, Any]]) -> list[str]:
    return [b["title"] for r in replies for b in r.get("buttons", [])]
