"""bench/insights_report.py end to end on a few hundred conversations (the 100,000 run is `make bench-insights`):
it writes them to PostgreSQL with COPY, times the report and drops its schema."""

from __future__ import annotations

import os
import subprocess
import uuid
import sys

import pytest
import sqlalchemy as sa

from bot.launcher import scaled_services

from ..conftest import ROOT

pytestmark = pytest.mark.scale


def test_bench_writes_and_reports() -> None:
    url = scaled_services()["TRACKER_STORE_URL"]
    schema = f"bench_test_{uuid.uuid4().hex[:8]}"
    done = subprocess.run([sys.executable, "-m", "bench.insights_report", "--conversations", "300",
                           "--url", url, "--schema", schema], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "wrote 300 conversations" in done.stdout and "report over 300 conversations" in done.stdout
    engine = sa.create_engine(url, future=True)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from information_schema.schemata "
                                    "where schema_name = :s"), {"s": schema}).scalar() == 0  # dropped
    engine.dispose()
