"""Helpdesk tables: staff, their sessions, handoffs and the messages exchanged while handed off.

They live in the same database as the eligibility store (``DATABASE_URL``) but in their own metadata, so
re-ingesting the policy corpus never touches them. Schema changes reach existing databases through the Alembic
migrations in ``bot/helpdesk/migrations`` (run by ``HelpdeskService.create_schema``); a change here needs one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, declarative_base, relationship

HelpdeskBase = declarative_base()

QUEUED, CLAIMED, RETURNED, CLOSED = "queued", "claimed", "returned", "closed"
ANALYST, LEAD = "analyst", "lead"
ROLES = (ANALYST, LEAD)
INSIGHT_ROLES = frozenset(ROLES)
OPEN_STATES = (QUEUED, CLAIMED)


class Staff(HelpdeskBase):
    __tablename__ = "helpdesk_staff"

    id: Mapped[int] = Column(Integer, primary_key=True)
    username: Mapped[str] = Column(String(64), nullable=False, unique=True)
    display_name: Mapped[str] = Column(String(128), nullable=False)
    password_hash: Mapped[str] = Column(Text, nullable=False)
    created_at: Mapped[datetime] = Column(DateTime, nullable=False)
    #: comma-separated: "analyst" (insights), "lead" (insights); none: an agent (queue and chat only)
    roles: Mapped[str] = Column(String(200), nullable=False, default="", server_default="")


class StaffSession(HelpdeskBase):
    __tablename__ = "helpdesk_sessions"

    token_hash: Mapped[str] = Column(String(64), primary_key=True)  # sha256 of the cookie value
    staff_id: Mapped[int] = Column(ForeignKey("helpdesk_staff.id", ondelete="CASCADE"), nullable=False)
    csrf_token: Mapped[str] = Column(String(64), nullable=False)
    expires_at: Mapped[datetime] = Column(DateTime, nullable=False)


class Handoff(HelpdeskBase):
    __tablename__ = "helpdesk_handoffs"
    __table_args__ = (Index("ix_handoff_conversation_status", "conversation_id", "status"),)

    id: Mapped[int] = Column(Integer, primary_key=True)
    conversation_id: Mapped[str] = Column(String(200), nullable=False)
    channel: Mapped[str] = Column(String(32), nullable=False)
    status: Mapped[str] = Column(String(16), nullable=False, default=QUEUED)
    reason: Mapped[str] = Column(String(64), nullable=False)
    context: Mapped[dict[str, Any]] = Column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = Column(DateTime, nullable=False)
    claimed_at: Mapped[datetime | None] = Column(DateTime)
    claimed_by: Mapped[int | None] = Column(ForeignKey("helpdesk_staff.id"))
    last_staff_at: Mapped[datetime | None] = Column(DateTime)
    ended_at: Mapped[datetime | None] = Column(DateTime)
    resolution: Mapped[str | None] = Column(Text)

    messages: Mapped[list[HandoffMessage]] = relationship(
        "HandoffMessage", order_by="HandoffMessage.id", cascade="all, delete-orphan")


class Label(HelpdeskBase):
    """A staff member's judgement of a question the bot could not answer (bot/insights/labels.py): the intent it
    should have been, the section that answers it, or truly out of scope. Exported for review, never applied."""

    __tablename__ = "helpdesk_labels"

    id: Mapped[int] = Column(Integer, primary_key=True)
    text: Mapped[str] = Column(Text, nullable=False)  # masked (bot/masking.py) before it is stored
    intent: Mapped[str | None] = Column(String(64))
    section_id: Mapped[str | None] = Column(String(200))
    out_of_scope: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    staff_id: Mapped[int | None] = Column(ForeignKey("helpdesk_staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = Column(DateTime, nullable=False)


class HandoffMessage(HelpdeskBase):
    __tablename__ = "helpdesk_messages"

    id: Mapped[int] = Column(Integer, primary_key=True)
    handoff_id: Mapped[int] = Column(ForeignKey("helpdesk_handoffs.id", ondelete="CASCADE"), nullable=False)
    sender: Mapped[str] = Column(String(16), nullable=False)  # user | staff | system
    staff_id: Mapped[int | None] = Column(ForeignKey("helpdesk_staff.id"))
    text: Mapped[str] = Column(Text, nullable=False)
    created_at: Mapped[datetime] = Column(DateTime, nullable=False)
