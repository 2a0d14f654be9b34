"""Socket.IO's Redis manager, delivering to this instance's own sockets without waiting for Redis.

python-socketio's pub/sub managers deliver every emit, even to a socket on the same instance, by publishing it to
Redis and acting on it when it comes back. While Redis is down those emits are dropped after a logged error, so a
user whose reply is worked out on the very instance they are connected to would hear nothing. This manager emits
to local sockets first and publishes for the other instances; its own message, when it comes back, is skipped.
During a Redis outage only sockets of the same session held by *other* instances (a second tab behind another
gateway) miss replies; they see them in the history on their next reload.
"""

from __future__ import annotations

from typing import Any

import socketio

LOCAL_DONE = "zgc_local_done"  # marks a published emit that its own instance has already delivered


class LocalFirstRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    async def emit(self, event: str, data: Any, namespace: str | None = None, room: str | None = None,
                   skip_sid: Any = None, callback: Any = None, **kwargs: Any) -> None:
        if kwargs.get("ignore_queue") or callback is not None:  # acks across hosts: the library's own way
            await super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid, callback=callback,
                               **kwargs)
            return
        namespace = namespace or "/"
        await super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid, ignore_queue=True)
        await self._publish({"method": "emit", "event": event, "data": data, "namespace": namespace, "room": room,
                             "skip_sid": skip_sid, "callback": None, "host_id": self.host_id, LOCAL_DONE: True})

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get(LOCAL_DONE) and message.get("host_id") == self.host_id:
            return
        await super()._handle_emit(message)
