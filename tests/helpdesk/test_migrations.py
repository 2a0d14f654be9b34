"""Helpdesk schema changes reach existing databases through the Alembic migrations: from the schema before
migrations (made by create_all, the tables as on main before roles and labels) and from nothing, the result is
the models' schema exactly (Alembic's own comparison finds no difference), and the data is kept."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.db import make_engine
from bot.helpdesk.migrations import VERSION_TABLE, current, upgrade
from bot.helpdesk.models import HelpdeskBase
from bot.helpdesk.service import HelpdeskService


def previous_schema(engine: sa.engine.Engine) -> None:
    """The helpdesk tables as `create_all` made them before migrations, with an account and a handoff."""
    md = sa.MetaData()
    staff = sa.Table("helpdesk_staff", md, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("username", sa.String(64), nullable=False, unique=True),
                     sa.Column("display_name", sa.String(128), nullable=False),
                     sa.Column("password_hash", sa.Text, nullable=False),
                     sa.Column("created_at", sa.DateTime, nullable=False))
    sa.Table("helpdesk_sessions", md, sa.Column("token_hash", sa.String(64), primary_key=True),
             sa.Column("staff_id", sa.ForeignKey("helpdesk_staff.id", ondelete="CASCADE"), nullable=False),
             sa.Column("csrf_token", sa.String(64), nullable=False), sa.Column("expires_at", sa.DateTime, nullable=False))
    handoffs = sa.Table(
        "helpdesk_handoffs", md, sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.String(200), nullable=False), sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False), sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("context", sa.JSON, nullable=False), sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("claimed_at", sa.DateTime), sa.Column("claimed_by", sa.ForeignKey("helpdesk_staff.id")),
        sa.Column("last_staff_at", sa.DateTime), sa.Column("ended_at", sa.DateTime), sa.Column("resolution", sa.Text),
        sa.Index("ix_handoff_conversation_status", "conversation_id", "status"))
    sa.Table("helpdesk_messages", md, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("handoff_id", sa.ForeignKey("helpdesk_handoffs.id", ondelete="CASCADE"), nullable=False),
             sa.Column("sender", sa.String(16), nullable=False), sa.Column("staff_id", sa.ForeignKey("helpdesk_staff.id")),
             sa.Column("text", sa.Text, nullable=False), sa.Column("created_at", sa.DateTime, nullable=False))
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(staff.insert().values(id=1, username="wang", display_name="王老师", password_hash="x",
                                           created_at=datetime(2026, 1, 1)))
        conn.execute(handoffs.insert().values(conversation_id="web:abc", channel="web", status="queued",
                                              reason="user_request", context={}, created_at=datetime(2026, 1, 2)))


def differences(engine: sa.engine.Engine) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return [d for d in compare_metadata(ctx, HelpdeskBase.metadata)
                if not (d[0] == "remove_table" and d[1].name == VERSION_TABLE)]


def test_upgrade_from_the_schema_before_migrations(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    previous_schema(engine)
    assert current(engine) is None
    service = HelpdeskService.from_url(str(engine.url))  # what a gateway or the CLI does on start
    assert current(engine) == "0002"
    assert differences(engine) == []
    staff = service.set_roles("wang", ["lead"])
    assert staff.roles == {"lead"} and staff.sees_insights
    assert service.queue()[0].conversation_id == "web:abc"
    upgrade(engine)  # again: nothing to do
    assert current(engine) == "0002"
    service.engine.dispose()
    engine.dispose()


def test_fresh_database_matches_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    upgrade(engine)
    assert current(engine) == "0002" and differences(engine) == []
    engine.dispose()


def test_roles_checked(tmp_path: Path) -> None:
    service = HelpdeskService.from_url(f"sqlite:///{tmp_path / 'hd.db'}")
    agent = service.add_staff("agent1", "a-long-password")
    assert agent.roles == frozenset() and not agent.sees_insights
    analyst = service.add_staff("ana1", "a-long-password", roles=["analyst"])
    assert service.authenticate("ana1", "a-long-password").roles == {"analyst"} and analyst.sees_insights
    for bad in (["admin"], ["lead", "root"]):
        try:
            service.set_roles("agent1", bad)
        except ValueError:
            continue
        raise AssertionError(bad)
    assert service.set_roles("ana1", []).roles == frozenset()
    service.engine.dispose()
