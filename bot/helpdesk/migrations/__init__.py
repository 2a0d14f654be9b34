"""Alembic migrations of the helpdesk tables (version table ``helpdesk_alembic_version``: the helpdesk shares its
database with the eligibility store). ``upgrade(engine)`` brings any database to the head:

* no helpdesk tables: every migration from the first;
* tables made by ``create_all`` before migrations existed (the schema of revision 0001, no version table):
  stamped 0001, then upgraded;
* a migrated database: the migrations it lacks.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

HERE = Path(__file__).resolve().parent
VERSION_TABLE = "helpdesk_alembic_version"
BASELINE = "0001"


def config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as conn:
        tables = set(inspect(conn).get_table_names())
        cfg = config(conn)
        if VERSION_TABLE not in tables and "helpdesk_staff" in tables:
            command.stamp(cfg, BASELINE)  # made by create_all before migrations: the baseline schema
        command.upgrade(cfg, revision)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
