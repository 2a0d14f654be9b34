"""Every channel the gateway knows, in mounting order. A channel is a module of this package with a
``from_settings(settings, hub)`` that returns a :class:`~bot.gateway.channel.Channel` (or None and why not)."""

from __future__ import annotations

from bot.gateway.channel import ChannelFactory
from bot.gateway.channels import web, wechat, wecom

CHANNELS: tuple[ChannelFactory, ...] = (
    web.from_settings,  # the widget, over Socket.IO: always mounted
    wechat.from_settings,  # WeChat Official Account callbacks at /wechat, when WECHAT_* are set
    wecom.from_settings,  # WeCom callbacks at /wecom, when WECOM_* are set
)
