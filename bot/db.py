"""One way to open a database from a URL, for every store of the project."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool


def make_engine(url: str) -> Engine:
    """An engine for ``url``; an in-memory SQLite database is shared by all threads (``asyncio.to_thread``)."""
    if url in ("sqlite://", "sqlite:///:memory:"):
        return create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False}, future=True)
    return create_engine(url, future=True, pool_pre_ping=True)


def existing_engine(url: str) -> Engine | None:
    """An engine, or None when the URL names an SQLite file that does not exist (none is created)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).exists():
            return None
    return make_engine(url)
