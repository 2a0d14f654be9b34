"""Alembic environment: runs on the connection ``bot.helpdesk.migrations.upgrade`` hands over (or, from the
alembic command line, on ``HELPDESK_DATABASE_URL`` / ``DATABASE_URL``)."""

from __future__ import annotations

from alembic import context

from bot.helpdesk.migrations import VERSION_TABLE
from bot.helpdesk.models import HelpdeskBase


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=HelpdeskBase.metadata, version_table=VERSION_TABLE,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from bot.db import make_engine
    from bot.settings import Settings

    settings = Settings.from_env()
    engine = make_engine(settings.helpdesk_database_url or settings.database_url)
    with engine.begin() as conn:
        _run(conn)
