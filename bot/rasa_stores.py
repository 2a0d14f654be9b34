"""Rasa's SQL tracker store, made to ride out a database restart. Loaded by Rasa through endpoints.yml
(``type: bot.rasa_stores.ResilientSQLTrackerStore``), Rasa's documented way to plug in a tracker store; everything
else is Rasa's own ``SQLTrackerStore``.

Two things go wrong with the stock store when PostgreSQL restarts under load (measured with `make load --faults`):

* its pool hands out connections the restart has cut, so the first turns afterwards fail. Connections are now
  checked before use (SQLAlchemy's ``pool_pre_ping``);
* a failed save is not retried, and Rasa's REST channel still returns the replies it collected: the user sees an
  answer that is missing from the conversation, and the bot forgets the turn. Saving is now retried for a few
  seconds; it is idempotent, because only the events the database does not have yet are written.

On SQLite (the embedded profile) the store works on the event loop of a single Rasa process, so every commit's
fsync stalls every conversation: the database is put in WAL mode with ``synchronous=NORMAL`` (a commit survives a
crash of Rasa; only a power cut can lose the last few) and connections are kept open instead of reopened per query.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import QueuePool
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)

SAVE_RETRY_S = 8.0  # about three PostgreSQL restarts on this machine (2.6 s each)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class ResilientSQLTrackerStore(SQLTrackerStore):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
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
        deadline = time.monotonic() + SAVE_RETRY_S
        delay = 0.25
        while True:
            try:
                await super().save(tracker)
                return
            except DBAPIError as exc:  # a lost connection or a database not there yet; not a bad statement
                transient = isinstance(exc, OperationalError) or exc.connection_invalidated
                if not transient or time.monotonic() + delay > deadline:
                    raise
                log.warning("saving the tracker of %s failed (%s); again in %.2f s", tracker.sender_id,
                            exc.__class__.__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
