"""Bot replies as WeChat text: buttons become a numbered menu, long text is split by bytes."""

from __future__ import annotations

import unicodedata
from collections import OrderedDict
from collections.abc import Sequence

from bot.conversation.messages import BotMessage, Button

TEXT_LIMIT_BYTES = 2048  # WeChat's and WeCom's limit for one text message, in UTF-8 bytes


def render(replies: Sequence[BotMessage]) -> tuple[str, tuple[Button, ...]]:
    """One text for a turn's replies, each message's buttons listed under it as "回复 N 标题" (numbered across
    the turn), and the buttons in menu order. Custom payloads are not shown: WeChat gets text only. A staff
    member's messages are marked as such."""
    parts: list[str] = []
    buttons: list[Button] = []
    for message in replies:
        text = (message.text or "").strip()
        lines = [f"【人工客服】{text}" if message.sender == "staff" else text] if text else []
        menu = []
        for button in message.buttons:
            buttons.append(button)
            menu.append(f"回复 {len(buttons)} {button.title}")
        if menu:
            lines.append("\n".join(menu))
        if lines:
            parts.append("\n\n".join(lines))
    return "\n\n".join(parts), tuple(buttons)


def split_utf8(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Pieces of at most ``limit`` UTF-8 bytes, never splitting a character, preferably at a line break."""
    if limit < 4:
        raise ValueError("limit must hold at least one character")
    pieces: list[str] = []
    rest = text
    while len(rest.encode("utf-8")) > limit:
        fit = len(rest.encode("utf-8")[:limit].decode("utf-8", "ignore"))  # characters that fit
        newline = rest.rfind("\n", 0, fit + 1)
        if newline > fit // 2:
            head, rest = rest[:newline], rest[newline + 1:]
        else:
            head, rest = rest[:fit], rest[fit:]
        if head.strip():
            pieces.append(head)
    if rest.strip():
        pieces.append(rest)
    return pieces


class MenuBook:
    """Each user's last numbered menu (bounded: the least recently used are forgotten)."""

    def __init__(self, max_users: int = 10_000) -> None:
        self._menus: OrderedDict[str, tuple[Button, ...]] = OrderedDict()
        self._max = max_users

    def remember(self, user: str, buttons: tuple[Button, ...]) -> None:
        """The menu of the user's latest reply; a reply without buttons clears it."""
        self._menus.pop(user, None)
        if buttons:
            self._menus[user] = buttons
            while len(self._menus) > self._max:
                self._menus.popitem(last=False)

    def choose(self, user: str, text: str) -> Button | None:
        """The button a bare number ("1", "１", " 2 ") picks from the user's last menu, if it does."""
        button = pick(self._menus.get(user, ()), text)
        if button is not None:
            self._menus.move_to_end(user)
        return button


def menu_number(text: str) -> int | None:
    """The number a bare-number reply ("1", "１", " 2 ") stands for; None for any other text."""
    number = unicodedata.normalize("NFKC", text).strip()
    return int(number) if number.isdecimal() and len(number) <= 3 else None


def pick(menu: Sequence[Button], text: str) -> Button | None:
    """The button of ``menu`` a bare number picks, if it does."""
    index = menu_number(text)
    return menu[index - 1] if index is not None and 1 <= index <= len(menu) else None
