"""The short fault run both profiles' tests make, and what must hold after it."""

from __future__ import annotations

import asyncio
from typing import Any

from bench.client import audit, run_load
from bot.launcher import Servers


def load_through_faults(servers: Servers, gateways: list[str], faults: int) -> dict[str, Any]:
    """5 users talk while the profile's faults happen; every turn is audited. Returns the load figures."""
    figures, conversations, notes = asyncio.run(run_load(servers, gateways, users=5, conversations=1,
                                                         faults_on=True))
    problems: list[str] = []
    result = audit(servers, conversations, problems)
    assert len(notes) == faults, notes  # every fault happened, and every killed server came back, during the load
    assert result["turns"] > 0
    assert result["lost"] == result["duplicated"] == result["reordered"] == 0, problems
    assert result["unanswered"] == 0, problems
    assert figures["errors"] == 0, figures  # every turn was answered in the end (some after a "稍后再试")
    assert figures["wechat_messages"] > 0
    assert figures["wechat_missing"] == figures["wechat_duplicated"] == 0, figures
    return figures
