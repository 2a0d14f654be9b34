"""On PostgreSQL: the helpdesk migrations from the schema before migrations and from nothing, and the insights
report on the seeded tracker store — the same figures as on SQLite. Each test in a schema of its own, dropped
after (the scaled profile's PostgreSQL: tests/scale/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.helpdesk.migrations import current, upgrade
from bot.helpdesk.service import HelpdeskService
from bot.insights.report import build_report
from bot.launcher import scaled_services

from ..helpdesk.test_migrations import differences, previous_schema
from ..insights.seed import EXPECTED, NOW, seed_plain

pytestmark = pytest.mark.scale


@pytest.fixture(scope="module")
def pg_url() -> str:
    return scaled_services()["DATABASE_URL"]


@pytest.fixture
def engine(pg_url: str) -> Iterator[sa.engine.Engine]:
    schema = f"insights_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_url, future=True)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    made = sa.create_engine(pg_url, future=True, connect_args={"options": f"-csearch_path={schema}"})
    yield made
    made.dispose()
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def test_upgrade_from_the_schema_before_migrations(engine: sa.engine.Engine) -> None:
    previous_schema(engine)
    assert current(engine) is None
    service = HelpdeskService(engine)
    service.create_schema()
    assert current(engine) == "0002" and differences(engine) == []
    assert service.set_roles("wang", ["analyst"]).sees_insights
    assert service.queue()[0].conversation_id == "web:abc"


def test_fresh_database_matches_the_models(engine: sa.engine.Engine) -> None:
    upgrade(engine)
    assert current(engine) == "0002" and differences(engine) == []


def test_report_on_postgresql(engine: sa.engine.Engine) -> None:
    seed_plain(engine)
    HelpdeskService(engine).create_schema()
    report = build_report(engine, engine, since=timedelta(days=7), end=NOW)
    for key in ("conversations", "user_turns", "containment", "fallbacks", "not_covered", "handoffs",
                "eligibility", "funds", "measures", "reply_time_ms", "unanswered_total"):
        assert report[key] == EXPECTED[key], key
    assert [set(c["examples"]) for c in report["unanswered"]] == EXPECTED["clusters"]
    assert report["helpdesk"]["total"] == 0
