"""Staff roles (analyst, lead: the insights view) and labels on unanswered questions.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("helpdesk_staff") as batch:
        batch.add_column(sa.Column("roles", sa.String(200), nullable=False, server_default=""))
    op.create_table(
        "helpdesk_labels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("intent", sa.String(64)),
        sa.Column("section_id", sa.String(200)),
        sa.Column("out_of_scope", sa.Boolean, nullable=False),
        sa.Column("staff_id", sa.Integer, sa.ForeignKey("helpdesk_staff.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("helpdesk_labels")
    with op.batch_alter_table("helpdesk_staff") as batch:
        batch.drop_column("roles")
