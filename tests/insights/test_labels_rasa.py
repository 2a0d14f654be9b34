"""Exported labels are valid Rasa NLU training data: `rasa data validate` passes with them beside data/."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bot.helpdesk.service import HelpdeskService
from bot.insights.labels import add_labels, domain_intents, export_labels

from ..conftest import ROOT

pytestmark = pytest.mark.e2e  # runs `rasa data validate` as a process

RASA = ROOT / ".venv" / "bin" / "rasa"


def test_rasa_data_validate_passes_with_the_export(tmp_path: Path) -> None:
    engine = HelpdeskService.from_url(f"sqlite:///{tmp_path / 'hd.db'}").engine
    intents = domain_intents(ROOT / "domain.yml")
    add_labels(engine, ["我们公司在雄安，这个资金能不能申请啊", "资金一般几月份开始报名呀"], intent="ask_unstated",
               intents=intents)
    add_labels(engine, ["帮我订一张去杭州的高铁票", "你们食堂中午吃什么"], out_of_scope=True)
    add_labels(engine, ["孵化器给入驻的初创团队免房租能不能补"], intent="ask_policy_question", intents=intents)
    nlu = tmp_path / "nlu" / "reviewed.yml"
    export_labels(engine, nlu, tmp_path / "search.yml")
    engine.dispose()
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
    done = subprocess.run([str(RASA), "data", "validate", "--domain", "domain.yml", "--data", "data", str(nlu),
                           "--config", "config.yml"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "not listed in your domain" not in done.stdout + done.stderr  # (an unknown intent only warns)
    assert "孵化器给入驻的初创团队免房租能不能补" in nlu.read_text(encoding="utf-8")
