"""One way to open a database from a URL, for every store of the project."""

from __future__ import annotations

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool


def make_engine(url: str) -> Engine:
    """An engine for ``url``; an in-memory SQLite database is shared by all threads (``asyncio.to_thread``)."""
    if url in ("sqlite://", "sqlite:///:memory:"):
        return create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False}, future=True)
    return create_engine(url, future=True, pool_pre_ping=True)
