"""Faults for the load suite's scaled run: PostgreSQL restarted, Redis stopped for a while, servers killed and
started again (as a supervisor such as systemd or Kubernetes would). PostgreSQL and Redis are the local ones that
scripts/scaled-services.sh installs and starts; it is run again to bring them back."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / "scripts" / "scaled-services.sh"


def _cluster() -> tuple[str, str]:
    """The (version, name) of the local PostgreSQL cluster the scaled profile uses (SCALED_PG_CLUSTER, as
    scripts/scaled-services.sh reads it; the tests run their own)."""
    wanted = os.environ.get("SCALED_PG_CLUSTER") or "main"
    lines = subprocess.run(["pg_lsclusters", "-h"], check=True, capture_output=True, text=True).stdout.splitlines()
    for line in lines:
        version, name = line.split()[:2]
        if name == wanted:
            return version, name
    raise RuntimeError(f"no PostgreSQL cluster {wanted!r} (run scripts/scaled-services.sh)")


def restart_postgres() -> float:
    """Restart PostgreSQL (fast shutdown: open connections are cut); return the seconds it was unavailable."""
    version, name = _cluster()
    started = time.perf_counter()
    subprocess.run(["pg_ctlcluster", version, name, "restart", "-m", "fast"], check=True, capture_output=True)
    subprocess.run(["bash", str(SERVICES)], check=True, capture_output=True)  # waits until it answers
    return time.perf_counter() - started


def stop_redis(port: int | None = None) -> None:
    """Stop the scaled profile's Redis (SCALED_REDIS_PORT, as scripts/scaled-services.sh reads it)."""
    port = port or int(os.environ.get("SCALED_REDIS_PORT") or 6379)
    subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)
    for _ in range(40):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode != 0:
            return
        time.sleep(0.1)
    raise RuntimeError("Redis did not stop")


def start_redis() -> None:
    subprocess.run(["bash", str(SERVICES)], check=True, capture_output=True)


def start_postgres() -> None:
    """Start PostgreSQL if it is down (scripts/scaled-services.sh is idempotent)."""
    subprocess.run(["bash", str(SERVICES)], check=True, capture_output=True)
