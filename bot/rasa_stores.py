"""Rasa's SQL tracker store, made to ride out a database restart. Loaded by Rasa through endpoints.yml
(``type: bot.rasa_stores.ResilientSQLTrackerStore``), Rasa's documented way to plug in a tracker store; everything
else is Rasa's own ``SQLTrackerStore``.

Two things go wrong with the stock store when PostgreSQL restarts under load (measured with `make load --faults`):

* its pool hands out connections the restart has cut, so the first turns afterwards fail. Connections are now
  checked before use (SQLAlchemy's ``pool_pre_ping``);
* a failed read or save is not retried. Rasa wraps every tracker store in its ``FailSafeTrackerStore``, which
  answers a failed read with a new, empty tracker and saves to memory when the database fails: the user gets an
  answer from a bot that forgot the conversation, and the turn is missing from it. Reads and saves are now retried
  for a few seconds (a restart takes about 3 s here); a save is idempotent, because only the events the database
  does not have yet are written. An outage longer than that still ends in Rasa's fallback.

Rasa reads each conversation back from the database at every turn and rebuilds it event by event (py-spy: the
largest share of its time per message after NLU). The tracker a turn has just saved is kept, and handed to the next
turn of that conversation if the database's last event of it is still the one saved — one indexed query instead
of reading and rebuilding the conversation. Another Rasa server having answered in between (several share the
database) changes that last event, so it is read from the database as before. A kept tracker is handed out once:
a turn that fails before saving leaves nothing behind.

On SQLite (the embedded profile) the store works on the event loop of a single Rasa process, so every commit's
fsync stalls every conversation: the database is put in WAL mode with ``synchronous=NORMAL`` (a commit survives a
crash of Rasa; only a power cut can lose the last few) and connections are kept open instead of reopened per query.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import QueuePool

log = logging.getLogger(__name__)

RETRY_S = 8.0  # about three PostgreSQL restarts on this machine (2.6 s each)
R = TypeVar("R")
KEEP_TRACKERS = 2000  # conversations whose last saved tracker is kept in memory


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class ResilientSQLTrackerStore(SQLTrackerStore):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._kept: OrderedDict[str, tuple[int | None, DialogueStateTracker]] = OrderedDict()
        super().__init__(*args, **kwargs)
        url = self.engine.url
        if self.engine.dialect.name == "sqlite" and url.database in (None, "", ":memory:"):
            return  # one connection is the whole database: Rasa's own engine as it is
        self.engine.dispose()
        if self.engine.dialect.name == "sqlite":  # a file on this machine: it does not restart under us
            self.engine = sa.create_engine(url, poolclass=QueuePool, pool_size=4,
                                           connect_args={"check_same_thread": False})
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def save(self, tracker: DialogueStateTracker) -> None:
        sender_id = tracker.sender_id
        self._kept.pop(sender_id, None)
        await self._retrying(f"saving the tracker of {sender_id}", lambda: super(
            ResilientSQLTrackerStore, self).save(tracker))
        if sum(isinstance(e, SessionStarted) for e in tracker.events) <= 1:  # what a read would give back
            self._kept[sender_id] = (self._last_event_id(sender_id), tracker)
            while len(self._kept) > KEEP_TRACKERS:
                self._kept.popitem(last=False)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        kept = self._kept.pop(sender_id, None)
        if kept is not None and kept[0] is not None:
            last_id, tracker = kept
            if await self._retrying(f"checking the tracker of {sender_id}",
                                    lambda: self._async_last_event_id(sender_id)) == last_id:
                return tracker
        return await self._retrying(f"reading the tracker of {sender_id}", lambda: super(
            ResilientSQLTrackerStore, self).retrieve(sender_id))

    def _last_event_id(self, sender_id: str) -> int | None:
        with self.session_scope() as session:
            return session.execute(sa.select(sa.func.max(self.SQLEvent.id))
                                   .where(self.SQLEvent.sender_id == sender_id)).scalar()

    async def _async_last_event_id(self, sender_id: str) -> int | None:
        return self._last_event_id(sender_id)

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        return await self._retrying(f"reading the tracker of {sender_id}", lambda: super(
            ResilientSQLTrackerStore, self).retrieve_full_tracker(sender_id))

    @staticmethod
    async def _retrying(doing: str, call: Callable[[], Awaitable[R]]) -> R:
        deadline = time.monotonic() + RETRY_S
        delay = 0.25
        while True:
            try:
                return await call()
            except DBAPIError as exc:  # a lost connection or a database not there yet; not a bad statement
                transient = isinstance(exc, OperationalError) or exc.connection_invalidated
                if not transient or time.monotonic() + delay > deadline:
                    raise
                log.warning("%s failed (%s); again in %.2f s", doing, exc.__class__.__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
