"""Baseline: the helpdesk tables as `create_all` made them before migrations (staff, sessions, handoffs,
messages).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "helpdesk_staff",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "helpdesk_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("staff_id", sa.Integer, sa.ForeignKey("helpdesk_staff.id", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "helpdesk_handoffs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("context", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("claimed_at", sa.DateTime),
        sa.Column("claimed_by", sa.Integer, sa.ForeignKey("helpdesk_staff.id")),
        sa.Column("last_staff_at", sa.DateTime),
        sa.Column("ended_at", sa.DateTime),
        sa.Column("resolution", sa.Text),
    )
    op.create_index("ix_handoff_conversation_status", "helpdesk_handoffs", ["conversation_id", "status"])
    op.create_table(
        "helpdesk_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("handoff_id", sa.Integer, sa.ForeignKey("helpdesk_handoffs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("sender", sa.String(16), nullable=False),
        sa.Column("staff_id", sa.Integer, sa.ForeignKey("helpdesk_staff.id")),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("helpdesk_messages")
    op.drop_index("ix_handoff_conversation_status", table_name="helpdesk_handoffs")
    op.drop_table("helpdesk_handoffs")
    op.drop_table("helpdesk_sessions")
    op.drop_table("helpdesk_staff")
