"""The gateway's internal message types, independent of any channel's protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class UserMessage:
    conversation_id: str  # "<channel>:<stable user id>", e.g. web:3f2a…, wechat:oAbC…
    channel: str
    text: str
    message_id: str | None = None  # the channel's id, for de-duplication of retries
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotMessage:
    text: str | None = None
    buttons: tuple[Button, ...] = ()
    custom: dict[str, Any] | None = None
    sender: str = "bot"  # "bot" or "staff"

    @classmethod
    def from_rasa(cls, data: dict[str, Any]) -> BotMessage:
        """One element of Rasa's REST reply (or the data of a tracker "bot" event)."""
        buttons = tuple(Button(str(b.get("title", "")), str(b.get("payload", "")))
                        for b in data.get("buttons") or [] if isinstance(b, dict))
        custom = data.get("custom")
        return cls(text=data.get("text"), buttons=buttons, custom=custom if isinstance(custom, dict) else None)


@dataclass(frozen=True)
class HistoryEntry:
    sender: str  # "user" | "bot" | "staff"
    text: str | None
    buttons: tuple[Button, ...] = ()
    custom: dict[str, Any] | None = None
    timestamp: float | None = None


def handoff_payload(replies: list[BotMessage]) -> dict[str, Any] | None:
    """The bot's handoff payload (``{"type": "handoff", …}``) among its replies, if it asked for a person."""
    return next((r.custom for r in replies if r.custom and r.custom.get("type") == "handoff"), None)
