"""The gateway's internal message types, independent of any channel's protocol."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class UserMessage:
    conversation_id: str  # "<channel>:<stable user id>", e.g. web:3f2a…, wechat:oAbC…
    channel: str
    text: str
    message_id: str | None = None  # the channel's id, for de-duplication of retries
    metadata: dict[str, Any] = field(default_factory=dict)
    resumed: bool = False  # taken over from a gateway that died: Rasa may have answered it already
    client_address: str = ""  # the widget user's address (limits only; never sent to Rasa or stored)


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


def clean_text(text: str) -> str:
    """Text as people type it: control characters (but tab and line breaks) dropped, and a lone UTF-16 surrogate
    (half an emoji, which JSON can carry) replaced by U+FFFD. Databases refuse both: PostgreSQL a NUL, every UTF-8
    encoder a surrogate."""
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("", text))
