"""Helpdesk state: staff accounts and sessions, and handoffs (queued → claimed → returned | closed).

Blocking SQLAlchemy code (2.0-style queries); the gateway calls it through ``asyncio.to_thread``. Every
transition is one UPDATE guarded by the expected state, so two staff members can never both claim a handoff,
with SQLite or PostgreSQL.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from datetime import time as daytime
from typing import Any
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from bot.db import make_engine
from bot.helpdesk.models import (CLAIMED, CLOSED, INSIGHT_ROLES, OPEN_STATES, QUEUED, RETURNED, ROLES, Handoff,
                                 HandoffMessage, Staff, StaffSession)

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
SESSION_TTL = timedelta(hours=12)
DISABLED = "!disabled"  # a password hash argon2 refuses to read: the account cannot log in


def _check_roles(roles: tuple[str, ...] | list[str]) -> str:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(sorted(unknown))}; roles: {', '.join(ROLES)}")
    return ",".join(r for r in ROLES if r in roles)


class HelpdeskError(Exception):
    """A transition that is not allowed (already claimed, not yours, already ended)."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class StaffInfo:
    id: int
    username: str
    display_name: str
    roles: frozenset[str] = frozenset()

    @property
    def sees_insights(self) -> bool:
        return bool(self.roles & INSIGHT_ROLES)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "display_name": self.display_name,
                "roles": sorted(self.roles)}


def _roles(text: str | None) -> frozenset[str]:
    return frozenset(r for r in (text or "").split(",") if r)


def _staff_info(row: Staff) -> StaffInfo:
    return StaffInfo(row.id, row.username, row.display_name, _roles(row.roles))


@dataclass(frozen=True)
class HandoffInfo:
    id: int
    conversation_id: str
    channel: str
    status: str
    reason: str
    context: dict[str, Any]
    created_at: datetime
    claimed_by: int | None
    claimed_at: datetime | None
    ended_at: datetime | None
    resolution: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "conversation_id": self.conversation_id, "channel": self.channel,
                "status": self.status, "reason": self.reason, "context": self.context,
                "created_at": self.created_at.isoformat() + "Z", "claimed_by": self.claimed_by,
                "claimed_at": self.claimed_at.isoformat() + "Z" if self.claimed_at else None,
                "ended_at": self.ended_at.isoformat() + "Z" if self.ended_at else None,
                "resolution": self.resolution}


@dataclass(frozen=True)
class MessageInfo:
    id: int
    handoff_id: int
    sender: str
    text: str
    created_at: datetime
    staff_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "handoff_id": self.handoff_id, "sender": self.sender, "text": self.text,
                "created_at": self.created_at.isoformat() + "Z", "staff_id": self.staff_id}


@dataclass(frozen=True)
class WorkingHours:
    """When staff answer: weekdays (0 = Monday) and a daily window, in a time zone."""

    days: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))
    start: daytime = daytime(9, 0)
    end: daytime = daytime(18, 0)
    tz: str = "Asia/Shanghai"

    @classmethod
    def parse(cls, spec: str, tz: str = "Asia/Shanghai") -> WorkingHours:
        """"mon-fri 09:00-18:00", "mon-sun 00:00-24:00" (always), …"""
        names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        m = re.fullmatch(r"\s*(\w{3})-(\w{3})\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})\s*", spec.lower())
        if not m or m.group(1) not in names or m.group(2) not in names:
            raise ValueError(f"working hours {spec!r}: expected like 'mon-fri 09:00-18:00'")
        a, b = names.index(m.group(1)), names.index(m.group(2))
        days = frozenset(range(a, b + 1)) if a <= b else frozenset([*range(a, 7), *range(0, b + 1)])
        end_h, end_m = int(m.group(5)), int(m.group(6))
        end = daytime(23, 59, 59) if end_h == 24 else daytime(end_h, end_m)
        return cls(days, daytime(int(m.group(3)), int(m.group(4))), end, tz)

    def _local(self, now: datetime) -> datetime:
        return now.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(self.tz))

    def is_open(self, now: datetime) -> bool:
        local = self._local(now)
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def next_open(self, now: datetime) -> datetime:
        """The next opening time (local), for "someone will answer from …"."""
        local = self._local(now)
        for add in range(8):
            day = (local + timedelta(days=add)).date()
            candidate = datetime.combine(day, self.start, tzinfo=local.tzinfo)
            if day.weekday() in self.days and candidate > local:
                return candidate
        return local


class HelpdeskService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._hasher = PasswordHasher()

    @classmethod
    def from_url(cls, url: str) -> HelpdeskService:
        engine = make_engine(url)
        service = cls(engine)
        service.create_schema()
        return service

    def create_schema(self) -> None:
        """Bring the tables to the newest schema with the Alembic migrations (bot/helpdesk/migrations): created
        when missing, upgraded when older. Several gateways may start at once: one wins the race, the others
        see the tables on the next try."""
        from bot.helpdesk.migrations import upgrade

        for attempt in range(5):
            try:
                upgrade(self.engine)
                return
            except (IntegrityError, ProgrammingError, OperationalError):
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def _session(self) -> Session:
        return Session(self.engine, future=True)

    # staff ------------------------------------------------------------------------------------

    def add_staff(self, username: str, password: str, display_name: str | None = None,
                  roles: tuple[str, ...] | list[str] = ()) -> StaffInfo:
        if not USERNAME.match(username):
            raise ValueError("username: 2–64 letters, digits, '_', '.', '-'")
        roles_text = _check_roles(roles)
        if len(password) < 10:
            raise ValueError("password: at least 10 characters")
        with self._session() as s, s.begin():
            row = Staff(username=username, display_name=display_name or username,
                        password_hash=self._hasher.hash(password), created_at=utcnow(), roles=roles_text)
            s.add(row)
            try:
                s.flush()
            except IntegrityError as exc:
                raise ValueError(f"staff {username!r} already exists") from exc
            return _staff_info(row)

    def set_roles(self, username: str, roles: tuple[str, ...] | list[str]) -> StaffInfo:
        """Replace an account's roles (none: an agent). Its open sessions see the change on their next request."""
        roles_text = _check_roles(roles)
        with self._session() as s, s.begin():
            row = s.scalars(select(Staff).where(Staff.username == username)).first()
            if row is None:
                raise ValueError(f"no staff account {username!r}")
            row.roles = roles_text
            return _staff_info(row)

    def authenticate(self, username: str, password: str) -> StaffInfo | None:
        with self._session() as s, s.begin():
            row = s.scalars(select(Staff).where(Staff.username == username)).first()
            if row is None:
                self._hasher.hash(password)  # same cost whether or not the name exists
                return None
            try:
                self._hasher.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                return None
            if self._hasher.check_needs_rehash(row.password_hash):
                row.password_hash = self._hasher.hash(password)
            return _staff_info(row)

    def create_session(self, staff: StaffInfo) -> tuple[str, str]:
        """(cookie value, CSRF token). Only the cookie's hash is stored."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        with self._session() as s, s.begin():
            s.execute(delete(StaffSession).where(StaffSession.expires_at < utcnow()))
            s.add(StaffSession(token_hash=_sha(token), staff_id=staff.id, csrf_token=csrf,
                               expires_at=utcnow() + SESSION_TTL))
        return token, csrf

    def session(self, token: str | None) -> tuple[StaffInfo, str] | None:
        if not token:
            return None
        with self._session() as s:
            row = s.get(StaffSession, _sha(token))
            if row is None or row.expires_at < utcnow():
                return None
            staff = s.get(Staff, row.staff_id)
            return (_staff_info(staff), row.csrf_token) if staff else None

    def disable_staff(self, username: str) -> int:
        """Lock an account out (its password hash replaced by one nothing matches) and end its sessions; returns
        how many sessions ended. The gateway closes those sessions' console sockets on its next sweep."""
        with self._session() as s, s.begin():
            row = s.scalars(select(Staff).where(Staff.username == username)).first()
            if row is None:
                raise ValueError(f"no staff account {username!r}")
            row.password_hash = DISABLED
            return s.execute(delete(StaffSession).where(StaffSession.staff_id == row.id)).rowcount or 0

    def end_session(self, token: str) -> None:
        with self._session() as s, s.begin():
            s.execute(delete(StaffSession).where(StaffSession.token_hash == _sha(token)))

    def staff_name(self, staff_id: int) -> str:
        with self._session() as s:
            row = s.get(Staff, staff_id)
            return row.display_name if row else "工作人员"

    # handoffs ---------------------------------------------------------------------------------

    @staticmethod
    def _info(h: Handoff) -> HandoffInfo:
        return HandoffInfo(h.id, h.conversation_id, h.channel, h.status, h.reason, dict(h.context or {}),
                           h.created_at, h.claimed_by, h.claimed_at, h.ended_at, h.resolution)

    def open_handoff(self, conversation_id: str) -> HandoffInfo | None:
        with self._session() as s:
            row = s.scalars(select(Handoff).where(Handoff.conversation_id == conversation_id,
                                                  Handoff.status.in_(OPEN_STATES))
                            .order_by(Handoff.id.desc())).first()
            return self._info(row) if row else None

    def get(self, handoff_id: int) -> HandoffInfo | None:
        with self._session() as s:
            row = s.get(Handoff, handoff_id)
            return self._info(row) if row else None

    def enqueue(self, conversation_id: str, channel: str, reason: str, context: dict[str, Any]) -> HandoffInfo:
        """Queue a conversation for a person; an already open handoff gets the newer context instead."""
        with self._session() as s, s.begin():
            row = s.scalars(select(Handoff).where(Handoff.conversation_id == conversation_id,
                                                  Handoff.status.in_(OPEN_STATES))).first()
            if row is None:
                row = Handoff(conversation_id=conversation_id, channel=channel, status=QUEUED, reason=reason,
                              context=context, created_at=utcnow())
                s.add(row)
            else:
                row.context = {**(row.context or {}), **context}
            s.flush()
            return self._info(row)

    def position(self, handoff_id: int) -> int:
        """1-based place in the queue (0 when no longer queued)."""
        with self._session() as s:
            row = s.get(Handoff, handoff_id)
            if row is None or row.status != QUEUED:
                return 0
            ahead = s.scalar(select(func.count()).select_from(Handoff).where(
                Handoff.status == QUEUED, Handoff.created_at <= row.created_at, Handoff.id < row.id))
            return int(ahead or 0) + 1

    def queue_page(self, limit: int, offset: int = 0) -> tuple[list[HandoffInfo], int, dict[int, str]]:
        """A page of open handoffs (longest waiting first), how many are open, and the claiming staff's names."""
        with self._session() as s:
            open_ = Handoff.status.in_(OPEN_STATES)
            total = int(s.scalar(select(func.count()).select_from(Handoff).where(open_)) or 0)
            rows = list(s.scalars(select(Handoff).where(open_).order_by(Handoff.created_at, Handoff.id)
                                  .limit(limit).offset(offset)))
            ids = {r.claimed_by for r in rows if r.claimed_by}
            names = {st.id: st.display_name for st in s.scalars(select(Staff).where(Staff.id.in_(ids)))} if ids else {}
            return [self._info(r) for r in rows], total, names

    def expired(self, now: datetime, max_age: timedelta) -> list[HandoffInfo]:
        """Queued handoffs nobody claimed within ``max_age``, working hours or not (a flood cannot pile up)."""
        with self._session() as s:
            rows = s.scalars(select(Handoff).where(Handoff.status == QUEUED, Handoff.created_at <= now - max_age))
            return [self._info(r) for r in rows]

    def queue(self) -> list[HandoffInfo]:
        """Open handoffs, longest waiting first."""
        with self._session() as s:
            rows = s.scalars(select(Handoff).where(Handoff.status.in_(OPEN_STATES))
                             .order_by(Handoff.created_at, Handoff.id))
            return [self._info(r) for r in rows]

    def claim(self, handoff_id: int, staff: StaffInfo) -> HandoffInfo:
        with self._session() as s, s.begin():
            done = s.execute(update(Handoff).where(Handoff.id == handoff_id, Handoff.status == QUEUED)
                             .values(status=CLAIMED, claimed_by=staff.id, claimed_at=utcnow()))
            if done.rowcount != 1:
                row = s.get(Handoff, handoff_id)
                raise HelpdeskError("不存在的会话" if row is None else
                                    "已被其他工作人员接入" if row.status == CLAIMED else "会话已结束")
            return self._info(s.get(Handoff, handoff_id))

    def _require_owner(self, s: Session, handoff_id: int, staff: StaffInfo) -> Handoff:
        row = s.get(Handoff, handoff_id)
        if row is None or row.status != CLAIMED:
            raise HelpdeskError("会话未被接入或已结束")
        if row.claimed_by != staff.id:
            raise HelpdeskError("该会话由其他工作人员处理")
        return row

    def add_message(self, handoff_id: int, sender: str, text: str, staff: StaffInfo | None = None) -> MessageInfo:
        with self._session() as s, s.begin():
            if sender == "staff":
                assert staff is not None
                row = self._require_owner(s, handoff_id, staff)
                row.last_staff_at = utcnow()
            msg = HandoffMessage(handoff_id=handoff_id, sender=sender, text=text, created_at=utcnow(),
                                 staff_id=staff.id if staff else None)
            s.add(msg)
            s.flush()
            return MessageInfo(msg.id, handoff_id, sender, text, msg.created_at, msg.staff_id)

    def messages(self, handoff_id: int) -> list[MessageInfo]:
        with self._session() as s:
            rows = s.scalars(select(HandoffMessage).where(HandoffMessage.handoff_id == handoff_id)
                             .order_by(HandoffMessage.id))
            return [MessageInfo(r.id, r.handoff_id, r.sender, r.text, r.created_at, r.staff_id) for r in rows]

    def end(self, handoff_id: int, status: str, staff: StaffInfo | None, resolution: str | None = None) -> HandoffInfo:
        """Return to the bot or close. Staff can end only what they claimed; the system (staff=None) any open one."""
        assert status in (RETURNED, CLOSED)
        with self._session() as s, s.begin():
            if staff is not None:
                self._require_owner(s, handoff_id, staff)
            done = s.execute(update(Handoff).where(Handoff.id == handoff_id, Handoff.status.in_(OPEN_STATES))
                             .values(status=status, ended_at=utcnow(), resolution=resolution))
            if done.rowcount != 1:
                raise HelpdeskError("会话已结束")
            return self._info(s.get(Handoff, handoff_id))

    def timed_out(self, now: datetime, timeout: timedelta, hours: WorkingHours) -> list[HandoffInfo]:
        """Open handoffs nobody answered in time: claimed ones since the last staff reply (or the claim);
        queued ones only while the helpdesk is open (outside hours a request waits for the morning)."""
        with self._session() as s:
            rows = s.scalars(select(Handoff).where(Handoff.status.in_(OPEN_STATES))).all()
            out = []
            for r in rows:
                if r.status == CLAIMED:
                    since = r.last_staff_at or r.claimed_at or r.created_at
                elif hours.is_open(now):
                    since = max(r.created_at, _last_opening(now, hours))
                else:
                    continue
                if now - since >= timeout:
                    out.append(self._info(r))
            return out


def _last_opening(now: datetime, hours: WorkingHours) -> datetime:
    """When the helpdesk last opened. Hours that run to midnight and start at midnight the next day are one
    stretch ("mon-sun 00:00-24:00" never closes): a request made at 23:55 waits from 23:55, not from 00:00."""
    local = hours._local(now)
    day = local.date()
    round_the_clock = hours.start == daytime(0, 0) and hours.end >= daytime(23, 59, 59)
    for _ in range(7):
        previous = day - timedelta(days=1)
        if not (round_the_clock and previous.weekday() in hours.days):
            break
        day = previous
    opening = datetime.combine(day, hours.start, tzinfo=local.tzinfo)
    return opening.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


__all__ = ["HelpdeskService", "HelpdeskError", "StaffInfo", "HandoffInfo", "MessageInfo", "WorkingHours",
           "QUEUED", "CLAIMED", "RETURNED", "CLOSED"]
