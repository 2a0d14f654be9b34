"""Rasa's SQL tracker store as endpoints.yml loads it, against a real PostgreSQL that is restarted and stopped."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from bench import faults
from bot.launcher import PROJECT_DIR, scaled_services

pytestmark = pytest.mark.scale

rasa_ts = pytest.importorskip("rasa.core.tracker_store")
from rasa.shared.core.events import ActionExecuted, UserUttered  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402
from rasa.utils.endpoints import EndpointConfig  # noqa: E402

from bot.rasa_stores import ResilientSQLTrackerStore  # noqa: E402


@pytest.fixture(scope="module")
def store() -> ResilientSQLTrackerStore:
    url = scaled_services()["TRACKER_STORE_URL"]
    endpoints = yaml.safe_load(Path(PROJECT_DIR / "endpoints.yml").read_text(encoding="utf-8"))["tracker_store"]
    config = EndpointConfig(url=url, type=endpoints["type"], dialect="postgresql")
    made = rasa_ts.create_tracker_store(config)
    inner = getattr(made, "_tracker_store", made)
    assert isinstance(inner, ResilientSQLTrackerStore)  # not Rasa's silent in-memory fallback
    return inner


def turn(tracker: DialogueStateTracker, text: str) -> None:
    tracker.update(UserUttered(text, {"name": "greet", "confidence": 1.0}))
    tracker.update(ActionExecuted("action_listen"))


def stored_texts(store: ResilientSQLTrackerStore, sender: str) -> list[str]:
    """What the database holds (retrieve_full_tracker always reads it; retrieve may hand back a kept tracker)."""
    tracker = asyncio.run(store.retrieve_full_tracker(sender))
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


def test_pooled_connections_survive_a_postgresql_restart(store):
    sender = f"test:{uuid.uuid4().hex}"
    tracker = DialogueStateTracker(sender, [])
    turn(tracker, "重启前")
    asyncio.run(store.save(tracker))
    faults.restart_postgres()
    turn(tracker, "重启后")
    asyncio.run(store.save(tracker))  # the pool's old connections are dead: checked and replaced
    assert stored_texts(store, sender) == ["重启前", "重启后"]


def test_a_save_while_postgresql_is_down_lands_once_when_it_is_back(store):
    sender = f"test:{uuid.uuid4().hex}"
    tracker = DialogueStateTracker(sender, [])
    turn(tracker, "第一句")
    asyncio.run(store.save(tracker))
    turn(tracker, "停机时说的")
    version, name = faults._cluster()

    async def save_during_outage() -> None:
        subprocess.run(["pg_ctlcluster", version, name, "stop", "-m", "fast"], check=True)
        saving = asyncio.create_task(store.save(tracker))
        await asyncio.sleep(1.5)
        assert not saving.done()  # still trying
        await asyncio.to_thread(faults.start_postgres)
        await saving

    try:
        asyncio.run(save_during_outage())
    finally:
        faults.start_postgres()
    assert stored_texts(store, sender) == ["第一句", "停机时说的"]


def test_sqlite_tracker_store_keeps_turns_in_wal_mode(tmp_path):
    made = rasa_ts.create_tracker_store(EndpointConfig(url=f"sqlite:///{tmp_path / 'tracker.db'}", dialect="sqlite",
                                                       type="bot.rasa_stores.ResilientSQLTrackerStore"))
    store = getattr(made, "_tracker_store", made)
    sender = f"test:{uuid.uuid4().hex}"
    tracker = DialogueStateTracker(sender, [])
    turn(tracker, "你好")
    asyncio.run(store.save(tracker))
    turn(tracker, "再见")
    asyncio.run(store.save(tracker))
    assert stored_texts(store, sender) == ["你好", "再见"]
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_a_read_while_postgresql_is_down_returns_the_conversation_not_an_empty_one(store):
    """Rasa's FailSafeTrackerStore would answer a failed read with a new, empty tracker: the bot would forget."""
    sender = f"test:{uuid.uuid4().hex}"
    tracker = DialogueStateTracker(sender, [])
    turn(tracker, "记住我")
    asyncio.run(store.save(tracker))
    version, name = faults._cluster()

    store._kept.clear()  # read the database, not the tracker kept from the save

    async def read_during_outage() -> DialogueStateTracker | None:
        subprocess.run(["pg_ctlcluster", version, name, "stop", "-m", "fast"], check=True)
        reading = asyncio.create_task(store.retrieve(sender))
        await asyncio.sleep(1.5)
        await asyncio.to_thread(faults.start_postgres)
        return await reading

    try:
        found = asyncio.run(read_during_outage())
    finally:
        faults.start_postgres()
    assert found is not None
    assert [e.text for e in found.events if isinstance(e, UserUttered)] == ["记住我"]


def test_the_tracker_a_turn_saved_is_handed_to_the_next_turn_unless_another_server_wrote(store):
    url = scaled_services()["TRACKER_STORE_URL"]
    made = rasa_ts.create_tracker_store(EndpointConfig(url=url, dialect="postgresql",
                                                       type="bot.rasa_stores.ResilientSQLTrackerStore"))
    other = getattr(made, "_tracker_store", made)  # a second Rasa server on the same database
    sender = f"test:{uuid.uuid4().hex}"
    tracker = DialogueStateTracker(sender, [])
    turn(tracker, "第一轮")
    asyncio.run(store.save(tracker))
    assert asyncio.run(store.retrieve(sender)) is tracker  # kept: no re-read
    asyncio.run(store.save(tracker))
    elsewhere = asyncio.run(other.retrieve(sender))
    turn(elsewhere, "另一台服务器上的第二轮")
    asyncio.run(other.save(elsewhere))
    again = asyncio.run(store.retrieve(sender))  # the database moved on: read from it
    assert again is not tracker
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["第一轮", "另一台服务器上的第二轮"]
    assert asyncio.run(store.retrieve(sender)) is not again  # handed out once; not kept until it is saved


def write_conversations(url: str, prefix: str, conversations: int, turns: int) -> int:
    """One Rasa server's share of the SQLite tracker store (run in a process of its own): turn after turn over its
    own conversations, each read and saved as Rasa does. Returns how many reads or saves had to be retried."""
    import logging

    retried = 0

    class Count(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            nonlocal retried
            retried += 1

    logging.getLogger("bot.rasa_stores").addHandler(Count(logging.WARNING))
    made = rasa_ts.create_tracker_store(EndpointConfig(url=url, dialect="sqlite",
                                                       type="bot.rasa_stores.ResilientSQLTrackerStore"))
    store = getattr(made, "_tracker_store", made)

    async def run() -> None:
        for t in range(turns):
            for c in range(conversations):
                sender = f"{prefix}:{c}"
                tracker = await store.retrieve(sender) or DialogueStateTracker(sender, [])
                turn(tracker, f"第{t}句")
                await store.save(tracker)

    asyncio.run(run())
    return retried


def test_two_rasa_processes_share_one_sqlite_tracker_store(tmp_path):
    """What `ServerConfig(rasa_instances=2)` does to the SQLite file: two processes write their own conversations at
    once. SQLite locks the file between processes (WAL: one writer at a time, readers beside it, a writer waits for
    the lock), and a save that still meets the lock is retried; each conversation must come out whole, in order."""
    import multiprocessing

    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    rasa_ts.create_tracker_store(EndpointConfig(url=url, dialect="sqlite", type="bot.rasa_stores.ResilientSQLTrackerStore"))
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        retried = pool.starmap(write_conversations, [(url, "rasa-1", 20, 12), (url, "rasa-2", 20, 12)])
    made = rasa_ts.create_tracker_store(EndpointConfig(url=url, dialect="sqlite",
                                                       type="bot.rasa_stores.ResilientSQLTrackerStore"))
    store = getattr(made, "_tracker_store", made)
    for prefix in ("rasa-1", "rasa-2"):
        for c in range(20):
            assert stored_texts(store, f"{prefix}:{c}") == [f"第{t}句" for t in range(12)]
    print(f"reads or saves retried after meeting the other process's lock: {retried}")
