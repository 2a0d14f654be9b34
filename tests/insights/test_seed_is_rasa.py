"""The seeded events are what Rasa 3.6 itself writes and reads: its SQLTrackerStore, given the same events, stores
the same rows (type, intent, action, JSON), and reads the seeded store back into trackers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select

from bot.db import make_engine

from ..conftest import ROOT
from .seed import EVENTS_TABLE, conversations, row, seed_plain


def _rows(url: str) -> list[tuple]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(EVENTS_TABLE.c.sender_id, EVENTS_TABLE.c.type_name, EVENTS_TABLE.c.timestamp,
                                   EVENTS_TABLE.c.intent_name, EVENTS_TABLE.c.action_name, EVENTS_TABLE.c.data)
                            .order_by(EVENTS_TABLE.c.id)).all()
    engine.dispose()
    return [(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]


def test_rasa_writes_the_seeded_rows(tmp_path: Path) -> None:
    domain = Domain.load(str(ROOT / "domain.yml"))
    store = SQLTrackerStore(domain, db=str(tmp_path / "rasa.db"), dialect="sqlite")
    convs = conversations()
    for sender, events in convs.items():
        tracker = DialogueStateTracker.from_events(sender, [Event.from_parameters(e) for e in events],
                                                   domain.slots)
        asyncio.run(store.save(tracker))
    store.engine.dispose()
    ours = tmp_path / "ours.db"
    seed_plain(make_engine(f"sqlite:///{ours}"), convs)
    by_rasa = _rows(f"sqlite:///{tmp_path / 'rasa.db'}")
    assert by_rasa == _rows(f"sqlite:///{ours}")
    assert len(by_rasa) == sum(len(e) for e in convs.values())
    assert row("x", convs["web:aaaa"][3])["intent_name"] == "state_need"


def test_rasa_reads_the_seeded_store(tmp_path: Path) -> None:
    domain = Domain.load(str(ROOT / "domain.yml"))
    seed_plain(make_engine(f"sqlite:///{tmp_path / 'seeded.db'}"))
    store = SQLTrackerStore(domain, db=str(tmp_path / "seeded.db"), dialect="sqlite")
    tracker = asyncio.run(store.retrieve("web:bbbb"))
    assert tracker.get_slot("eligibility_verdict")["outcome"] == "eligible"
    assert [e.text for e in tracker.events if e.type_name == "user"][0] == "我们能申请吗"
