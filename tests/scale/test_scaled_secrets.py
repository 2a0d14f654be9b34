"""The scaled profile's PostgreSQL and Redis need passwords, generated and kept private (scripts/scaled-services.sh)."""

from __future__ import annotations

import os
import stat
import subprocess
from urllib.parse import urlsplit

import psutil
import pytest

from bot.launcher import PROJECT_DIR, scaled_services

pytestmark = pytest.mark.scale


def test_redis_and_postgresql_need_the_generated_passwords():
    env = scaled_services()
    db = urlsplit(env["DATABASE_URL"])
    assert db.password and len(db.password) >= 32 and db.password != "zgc-local-only"
    redis = urlsplit(env["REDIS_URL"])
    assert redis.password and redis.password == env["LOCK_STORE_PASSWORD"]
    assert env["LOCK_STORE_PORT"] == str(redis.port)

    plain = {k: v for k, v in os.environ.items() if k != "REDISCLI_AUTH"}
    refused = subprocess.run(["redis-cli", "-p", str(redis.port), "set", "x", "1"], env=plain, capture_output=True,
                             text=True)
    assert "NOAUTH" in refused.stdout + refused.stderr
    ok = subprocess.run(["redis-cli", "-p", str(redis.port), "ping"], env={**plain, "REDISCLI_AUTH": redis.password},
                        capture_output=True, text=True)
    assert ok.stdout.strip() == "PONG"
    for proc in psutil.process_iter(["cmdline"]):  # the password is not on redis-server's command line
        assert redis.password not in " ".join(proc.info["cmdline"] or [])

    wrong = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(db.port), "-U", "zgc", "-d", "zgc_policy", "-c",
                            "select 1"], env={**plain, "PGPASSWORD": "zgc-local-only"}, capture_output=True, text=True)
    assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr
    right = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(db.port), "-U", "zgc", "-d", "zgc_policy", "-qAt",
                            "-c", "select 1"], env={**plain, "PGPASSWORD": db.password}, capture_output=True,
                           text=True)
    assert right.stdout.strip() == "1", right.stderr

    state = PROJECT_DIR / "var" / "scaled-services"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for f in state.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
