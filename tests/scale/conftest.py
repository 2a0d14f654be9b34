"""The scale tests' PostgreSQL and Redis, and their ports.

With TEST_PORT_OFFSET set (two test sessions side by side on one machine), this session runs its own PostgreSQL
cluster and Redis on ports shifted by the offset (scripts/scaled-services.sh: SCALED_PG_CLUSTER, SCALED_PG_PORT,
SCALED_REDIS_PORT), and the fault suite restarts and stops those, never the other session's. The stand-in of
Tencent's API moves by the offset too.
"""

from __future__ import annotations

import functools
import os
import subprocess

import bench.faults
import bench.load

OFFSET = int(os.environ.get("TEST_PORT_OFFSET", "0"))

# The load suite's users all come from 127.0.0.1 and reconnect after every gateway kill: no per-address limit on
# their session_requests either (bench/load.py lifts the other limits the same way)
for _limits in (bench.load.NO_LIMITS, bench.load.WECHAT):
    _limits.setdefault("RATE_LIMIT_SESSIONS_PER_IP_PER_MIN", "0")

if OFFSET:
    os.environ.setdefault("SCALED_PG_CLUSTER", f"zgc{OFFSET}")
    os.environ.setdefault("SCALED_PG_PORT", str(5432 + OFFSET))
    os.environ.setdefault("SCALED_REDIS_PORT", str(6379 + OFFSET))
    if bench.load.WECHAT_API_PORT == 29099:
        bench.load.WECHAT_API_PORT += OFFSET
        bench.load.WECHAT["WECHAT_API_BASE"] = f"http://127.0.0.1:{bench.load.WECHAT_API_PORT}"

    def _cluster() -> tuple[str, str]:
        name = os.environ["SCALED_PG_CLUSTER"]
        for line in subprocess.run(["pg_lsclusters", "-h"], check=True, capture_output=True,
                                   text=True).stdout.splitlines():
            version, cluster = line.split()[:2]
            if cluster == name:
                return version, cluster
        raise RuntimeError(f"no PostgreSQL cluster {name!r} (run scripts/scaled-services.sh)")

    bench.faults._cluster = _cluster  # type: ignore[assignment]
    bench.faults.stop_redis = functools.partial(bench.faults.stop_redis,  # type: ignore[assignment]
                                                port=int(os.environ["SCALED_REDIS_PORT"]))


def port(base: int) -> int:
    """A test server's port, shifted by TEST_PORT_OFFSET."""
    return base + OFFSET
