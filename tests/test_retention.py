"""`python -m bot prune`: old tracker events and ended handoffs go; recent ones and open handoffs stay.

On real SQLite files: the tracker store is written by Rasa's own SQLTrackerStore, the helpdesk by its service."""

from __future__ import annotations

import json
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.cli import main
from bot.helpdesk.service import CLOSED, RETURNED, HelpdeskService
from bot.retention import prune

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Rasa's SQLAlchemy 1.4 idioms

NOW = datetime.now(timezone.utc)
DAY = 24 * 3600


async def _write_tracker(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from rasa.core.tracker_store import SQLTrackerStore
        from rasa.shared.core.domain import Domain
        from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
        from rasa.shared.core.trackers import DialogueStateTracker

    def session(at: float, said: str) -> list:  # type: ignore[type-arg]
        return [ActionExecuted("action_session_start", timestamp=at), SessionStarted(timestamp=at),
                ActionExecuted("action_listen", timestamp=at), UserUttered(said, timestamp=at + 1),
                BotUttered(f"re: {said}", timestamp=at + 2), ActionExecuted("action_listen", timestamp=at + 2)]

    old, recent = NOW.timestamp() - 200 * DAY, NOW.timestamp() - 10 * DAY
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    for sender, events in {"web:old-only": session(old, "旧的问题"),
                           "web:both": session(old, "去年问过") + session(recent, "最近又问"),
                           "wechat:recent-only": session(recent, "新的问题")}.items():
        await store.save(DialogueStateTracker.from_events(sender, events))
    store.engine.dispose()


def _write_helpdesk(url: str) -> dict[str, int]:
    service = HelpdeskService.from_url(url)
    alice = service.add_staff("alice", "correct horse battery", "王老师")
    ids = {}
    for name, status in (("old_closed", CLOSED), ("old_returned", RETURNED), ("old_open", None),
                         ("recent_closed", CLOSED)):
        h = service.enqueue(f"web:{name}", "web", "user_request", {})
        service.claim(h.id, alice)
        service.add_message(h.id, "user", "我的电话13812345678")
        service.add_message(h.id, "staff", "收到", staff=alice)
        if status:
            service.end(h.id, status, alice, "已解决" if status == CLOSED else None)
        ids[name] = h.id
    service.create_session(alice)
    with service.engine.begin() as conn:
        old = (NOW - timedelta(days=200)).replace(tzinfo=None)
        for name in ("old_closed", "old_returned", "old_open"):
            conn.execute(text("UPDATE helpdesk_handoffs SET created_at = :t, ended_at = CASE WHEN ended_at IS NULL "
                              "THEN NULL ELSE :t END WHERE id = :id"), {"t": old, "id": ids[name]})
        conn.execute(text("UPDATE helpdesk_sessions SET expires_at = :t"), {"t": old})
    service.engine.dispose()
    return ids


def _rows(url: str, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


@pytest.fixture
async def databases(tmp_path: Path) -> tuple[str, str, dict[str, int]]:
    await _write_tracker(tmp_path / "tracker.db")
    helpdesk = f"sqlite:///{tmp_path / 'policy.db'}"
    return f"sqlite:///{tmp_path / 'tracker.db'}", helpdesk, _write_helpdesk(helpdesk)


def _senders(url: str) -> dict[str, int]:
    return dict(_rows(url, "SELECT sender_id, COUNT(*) FROM events GROUP BY sender_id"))  # type: ignore[arg-type]


async def test_prune_deletes_old_events_and_ended_handoffs_only(databases) -> None:  # type: ignore[no-untyped-def]
    tracker, helpdesk, ids = databases
    before = _senders(tracker)
    report = prune(tracker, helpdesk, 180)
    assert report.tracker is not None and report.helpdesk is not None
    assert report.tracker.events == before["web:old-only"] + 6 and report.tracker.conversations == 1
    assert _senders(tracker) == {"web:both": 6, "wechat:recent-only": 6}
    said = [json.loads(d)["text"] for (d,) in _rows(tracker, "SELECT data FROM events WHERE type_name = 'user'")]
    assert sorted(said) == ["新的问题", "最近又问"]

    assert (report.helpdesk.handoffs, report.helpdesk.messages, report.helpdesk.staff_sessions) == (2, 4, 1)
    left = {hid for (hid,) in _rows(helpdesk, "SELECT id FROM helpdesk_handoffs")}
    assert left == {ids["old_open"], ids["recent_closed"]}  # an open handoff stays, however old
    assert {h for (h,) in _rows(helpdesk, "SELECT DISTINCT handoff_id FROM helpdesk_messages")} == left
    assert _rows(helpdesk, "SELECT COUNT(*) FROM helpdesk_sessions") == [(0,)]

    again = prune(tracker, helpdesk, 180)  # idempotent
    assert again.tracker.events == 0 and again.helpdesk.handoffs == 0  # type: ignore[union-attr]


async def test_rasa_still_reads_a_pruned_conversation(databases) -> None:  # type: ignore[no-untyped-def]
    tracker, helpdesk, _ = databases
    prune(tracker, helpdesk, 180)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from rasa.core.tracker_store import SQLTrackerStore
        from rasa.shared.core.domain import Domain
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=tracker.removeprefix("sqlite:///"))
    kept = await store.retrieve("web:both")
    assert kept is not None and [e.text for e in kept.events if e.type_name == "user"] == ["最近又问"]
    assert await store.retrieve("web:old-only") is None
    store.engine.dispose()


async def test_dry_run_counts_without_deleting(databases) -> None:  # type: ignore[no-untyped-def]
    tracker, helpdesk, _ = databases
    before = (_senders(tracker), _rows(helpdesk, "SELECT COUNT(*) FROM helpdesk_messages"))
    report = prune(tracker, helpdesk, 180, dry_run=True)
    assert report.tracker.events > 0 and report.helpdesk.handoffs == 2  # type: ignore[union-attr]
    assert (_senders(tracker), _rows(helpdesk, "SELECT COUNT(*) FROM helpdesk_messages")) == before


async def test_cli_prune_prints_counts_and_honours_days(  # type: ignore[no-untyped-def]
        databases, monkeypatch, capsys) -> None:
    tracker, helpdesk, _ = databases
    monkeypatch.setenv("TRACKER_STORE_URL", tracker)
    monkeypatch.setenv("DATABASE_URL", helpdesk)
    monkeypatch.delenv("HELPDESK_DATABASE_URL", raising=False)
    monkeypatch.setenv("RETENTION_DAYS", "365")
    assert main(["prune", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "retention 365 days" in out and "0 events (0 whole conversations) would be deleted" in out
    assert main(["prune", "--days", "30"]) == 0
    out = capsys.readouterr().out
    assert "retention 30 days" in out and "12 events (1 whole conversations) deleted" in out
    assert "2 handoffs with 4 messages, 1 expired staff sessions, 0 labels deleted" in out
    assert main(["prune", "--days", "0"]) == 2


def test_missing_databases_are_reported_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    report = prune(f"sqlite:///{missing}", f"sqlite:///{missing}", 30)
    assert report.tracker is None and report.helpdesk is None and not missing.exists()
    with pytest.raises(ValueError):
        prune(f"sqlite:///{missing}", f"sqlite:///{missing}", 0)
