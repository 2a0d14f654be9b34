"""The scale tests' PostgreSQL and Redis, and their ports.

Every session runs its own PostgreSQL cluster and Redis (scripts/scaled-services.sh: SCALED_PG_CLUSTER,
SCALED_PG_PORT, SCALED_REDIS_PORT), never the machine's: the fault suite restarts and stops them. Their ports, the
test servers' and the stand-in of Tencent's API move by TEST_PORT_OFFSET, so two sessions run side by side.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import bench.client

OFFSET = int(os.environ.get("TEST_PORT_OFFSET", "0"))

# The load suite's users all come from 127.0.0.1 and reconnect after every gateway kill: no per-address limit on
# their session_requests either (bench/load.py lifts the other limits the same way)
for _limits in (bench.client.NO_LIMITS, bench.client.WECHAT):
    _limits.setdefault("RATE_LIMIT_SESSIONS_PER_IP_PER_MIN", "0")

# the tests' own cluster and Redis, away from the machine's (5432, 6379); bench/faults.py reads the same variables
os.environ.setdefault("SCALED_PG_CLUSTER", f"zgctest{OFFSET}")
os.environ.setdefault("SCALED_PG_PORT", str(25432 + OFFSET))
os.environ.setdefault("SCALED_REDIS_PORT", str(26379 + OFFSET))
if bench.client.WECHAT_API_PORT == 29099:
    bench.client.WECHAT_API_PORT += OFFSET
    bench.client.WECHAT["WECHAT_API_BASE"] = f"http://127.0.0.1:{bench.client.WECHAT_API_PORT}"


def port(base: int) -> int:
    """A test server's port, shifted by TEST_PORT_OFFSET."""
    return base + OFFSET


def pytest_sessionfinish(session, exitstatus):  # type: ignore[no-untyped-def]
    """The session's own PostgreSQL cluster and Redis are stopped at its end (a later session — from another clone,
    with other passwords — starts its own); a developer's instances on other ports are left alone."""
    if not os.environ.get("SCALED_PG_CLUSTER", "").startswith("zgctest"):
        return
    script = Path(__file__).resolve().parents[2] / "scripts" / "scaled-services.sh"
    subprocess.run(["bash", str(script), "stop"], capture_output=True, timeout=120, check=False)
