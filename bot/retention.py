"""Retention: delete what users said more than ``RETENTION_DAYS`` ago (`python -m bot prune`).

* Rasa's SQL tracker store (``TRACKER_STORE_URL``, table ``events``, ``timestamp`` in epoch seconds): every event
  older than the cut-off. Rasa starts a new session after 120 idle minutes (domain.yml) and rebuilds a tracker
  from its last session, so removing events that old never cuts into a conversation that is still going on.
* the helpdesk (``HELPDESK_DATABASE_URL`` or ``DATABASE_URL``): handoffs returned or closed before the cut-off,
  with their messages, staff sessions that have expired, and labels (questions users asked, labelled by staff,
  bot/insights/labels.py) made before the cut-off — what was exported and committed stays in the repository.
  Open handoffs are kept whatever their age.

Everything is deleted in one transaction per database; ``dry_run`` counts without deleting. A database or table
that does not exist is reported as absent and left alone (no empty SQLite file is created).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    delete,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import Connection, Engine

from bot.db import existing_engine
from bot.helpdesk.models import CLOSED, RETURNED, Handoff, HandoffMessage, Label, StaffSession

_tracker = MetaData()
EVENTS = Table("events", _tracker, Column("id", Integer, primary_key=True), Column("sender_id", String(255)),
               Column("timestamp", Float))


@dataclass(frozen=True)
class TrackerPruned:
    events: int
    conversations: int  # conversations whose every event was old: gone entirely


@dataclass(frozen=True)
class HelpdeskPruned:
    handoffs: int
    messages: int
    staff_sessions: int
    labels: int = 0


@dataclass(frozen=True)
class PruneReport:
    cutoff: datetime  # UTC
    dry_run: bool
    tracker: TrackerPruned | None  # None: no tracker store there
    helpdesk: HelpdeskPruned | None  # None: no helpdesk tables there


def _count(conn: Connection, stmt) -> int:  # type: ignore[no-untyped-def]
    return int(conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())


def prune_tracker(engine: Engine, cutoff: datetime, dry_run: bool = False) -> TrackerPruned | None:
    if not inspect(engine).has_table("events"):
        return None
    stamp = cutoff.timestamp()
    old = EVENTS.c.timestamp < stamp
    with engine.begin() as conn:
        events = _count(conn, select(EVENTS.c.id).where(old))
        gone = _count(conn, select(EVENTS.c.sender_id).group_by(EVENTS.c.sender_id)
                      .having(func.max(EVENTS.c.timestamp) < stamp))
        if not dry_run:
            conn.execute(delete(EVENTS).where(old))
    return TrackerPruned(events, gone)


def prune_helpdesk(engine: Engine, cutoff: datetime, now: datetime, dry_run: bool = False) -> HelpdeskPruned | None:
    names = set(inspect(engine).get_table_names())
    if not {Handoff.__tablename__, HandoffMessage.__tablename__} <= names:
        return None
    naive_cutoff = cutoff.astimezone(timezone.utc).replace(tzinfo=None)  # the helpdesk stores naive UTC
    ended = select(Handoff.id).where(and_(Handoff.status.in_((CLOSED, RETURNED)),
                                          func.coalesce(Handoff.ended_at, Handoff.created_at) < naive_cutoff))
    messages = select(HandoffMessage.id).where(HandoffMessage.handoff_id.in_(ended))
    expired = StaffSession.expires_at < now.astimezone(timezone.utc).replace(tzinfo=None)
    with engine.begin() as conn:
        ids = list(conn.execute(ended).scalars())
        n_messages = _count(conn, messages)
        n_sessions = _count(conn, select(StaffSession.token_hash).where(expired)) \
            if StaffSession.__tablename__ in names else 0
        old_labels = Label.created_at < naive_cutoff
        n_labels = _count(conn, select(Label.id).where(old_labels)) if Label.__tablename__ in names else 0
        if not dry_run:
            for start in range(0, len(ids), 500):  # bounded IN lists
                chunk = ids[start:start + 500]
                conn.execute(delete(HandoffMessage).where(HandoffMessage.handoff_id.in_(chunk)))
                conn.execute(delete(Handoff).where(Handoff.id.in_(chunk)))
            if StaffSession.__tablename__ in names:
                conn.execute(delete(StaffSession).where(expired))
            if Label.__tablename__ in names:
                conn.execute(delete(Label).where(old_labels))
    return HelpdeskPruned(len(ids), n_messages, n_sessions, n_labels)


def prune(tracker_url: str, helpdesk_url: str, days: int, *, dry_run: bool = False,
          now: datetime | None = None) -> PruneReport:
    if days < 1:
        raise ValueError("the retention period is at least 1 day")
    now = now or datetime.now(timezone.utc)
    cutoff = now - timedelta(days=days)
    results: dict[str, object] = {}
    for name, url, run in (("tracker", tracker_url, lambda e: prune_tracker(e, cutoff, dry_run)),
                           ("helpdesk", helpdesk_url, lambda e: prune_helpdesk(e, cutoff, now, dry_run))):
        engine = existing_engine(url)
        if engine is None:
            results[name] = None
            continue
        try:
            results[name] = run(engine)
        finally:
            engine.dispose()
    return PruneReport(cutoff, dry_run, results["tracker"], results["helpdesk"])  # type: ignore[arg-type]
