"""Labels: stored masked in the helpdesk database, the newest per question exported as Rasa NLU YAML and as
labelled search questions, pruned with the retention period; the CLI labels a cluster of the report."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from bot.db import make_engine
from bot.helpdesk.service import HelpdeskService
from bot.insights.labels import add_labels, domain_intents, export_labels, list_labels, nlu_yaml
from bot.retention import prune

from ..conftest import ROOT
from .seed import seed_plain

INTENTS = domain_intents(ROOT / "domain.yml")


@pytest.fixture
def service(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = HelpdeskService.from_url(f"sqlite:///{tmp_path / 'hd.db'}")
    yield s
    s.engine.dispose()


def test_labels_stored_masked_and_checked(service: HelpdeskService) -> None:
    staff = service.add_staff("lead1", "a-long-password")
    made = add_labels(service.engine, ["电话13812345678 最高能补多少", "  最高能补多少 ", "/request_human"],
                      intent="ask_unstated", staff_id=staff.id, intents=INTENTS)
    assert [lab.text for lab in made] == ["电话138****5678 最高能补多少", "最高能补多少"]
    assert made[0].staff_id == staff.id
    for bad in (dict(intent="no_such_intent"), dict(intent="nlu_fallback"), dict(),
                dict(intent="greet", out_of_scope=True), dict(section_id="zgc-2022/九")):
        with pytest.raises(ValueError):
            add_labels(service.engine, ["x"], intents=INTENTS, sections={"zgc-2022/二"}, **bad)


def test_newest_label_wins_and_export(service: HelpdeskService, tmp_path: Path) -> None:
    add_labels(service.engine, ["上海的政策有哪些"], intent="ask_policy_question", intents=INTENTS)
    add_labels(service.engine, ["上海的政策有哪些", "今天天气怎么样"], out_of_scope=True)
    add_labels(service.engine, ["风投机构投了早期项目有什么奖励"], section_id="zgc-2022/二/（三）/9")
    add_labels(service.engine, ["能给点[钱](fund)不"], intent="ask_unstated", intents=INTENTS)
    assert len(list_labels(service.engine)) == 4
    nlu, search = tmp_path / "nlu" / "reviewed.yml", tmp_path / "search_reviewed.yml"
    result = export_labels(service.engine, nlu, search)
    assert (result.nlu_examples, result.search_questions) == (3, 1)
    data = yaml.safe_load(nlu.read_text(encoding="utf-8"))
    assert data["version"] == "3.1"
    blocks = {b["intent"]: b["examples"] for b in data["nlu"]}
    assert blocks["out_of_scope"] == "- 上海的政策有哪些\n- 今天天气怎么样\n"
    assert "［钱］(fund)" in blocks["ask_unstated"]  # not an entity annotation
    assert yaml.safe_load(search.read_text(encoding="utf-8")) == {
        "questions": [{"q": "风投机构投了早期项目有什么奖励", "expect": "zgc-2022/二/（三）/9"}]}
    assert nlu_yaml([]).endswith("nlu: []\n")


def test_prune_covers_labels(service: HelpdeskService, tmp_path: Path) -> None:
    now = datetime(2026, 11, 20, tzinfo=timezone.utc)
    add_labels(service.engine, ["很久以前的问题"], out_of_scope=True, now=datetime(2026, 1, 1))
    add_labels(service.engine, ["昨天的问题"], out_of_scope=True, now=datetime(2026, 11, 19))
    url = str(service.engine.url)
    report = prune(f"sqlite:///{tmp_path / 'none.db'}", url, 180, dry_run=True, now=now)
    assert report.helpdesk.labels == 1 and len(list_labels(service.engine)) == 2
    report = prune(f"sqlite:///{tmp_path / 'none.db'}", url, 180, now=now)
    assert report.helpdesk.labels == 1
    assert [lab.text for lab in list_labels(service.engine)] == ["昨天的问题"]


@pytest.mark.e2e  # runs `python -m bot …` as a process
def test_cli_labels_a_cluster_and_exports(tmp_path: Path) -> None:
    tracker = make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    seed_plain(tracker)
    tracker.dispose()
    env = {**os.environ, "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'hd.db'}", "RASA_TELEMETRY_ENABLED": "false"}
    env.pop("HELPDESK_DATABASE_URL", None)
    run = lambda *a: subprocess.run([sys.executable, "-m", "bot", *a], cwd=ROOT, env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    done = run("label", "--cluster", "1", "--since", "3650d", "--intent", "ask_unstated")
    assert done.returncode == 0, done.stderr
    assert run("label", "今天天气怎么样", "--out-of-scope").returncode == 0
    assert run("label", "风投有什么奖励", "--measure", "9").returncode == 0
    assert run("label", "x", "--intent", "nope").returncode == 2
    assert run("label", "x", "--section", "zgc-2022/不存在").returncode == 2
    assert run("label", "--cluster", "99", "--since", "3650d", "--out-of-scope").returncode == 2
    listed = run("labels")
    assert "最高能补贴多少钱\task_unstated" in listed.stdout and "今天天气怎么样\tout of scope" in listed.stdout
    nlu, search = tmp_path / "reviewed.yml", tmp_path / "search.yml"
    assert run("export-labels", "--nlu", str(nlu), "--search", str(search)).returncode == 0
    blocks = {b["intent"]: b["examples"] for b in yaml.safe_load(nlu.read_text(encoding="utf-8"))["nlu"]}
    assert set(blocks["ask_unstated"].split("\n")) >= {"- 最高能补贴多少钱", "- 补贴金额最高多少钱",
                                                     "- 最高补贴多少钱呀"}
    (q,) = yaml.safe_load(search.read_text(encoding="utf-8"))["questions"]
    assert q["q"] == "风投有什么奖励" and q["expect"].startswith("zgc-2022/") and q["expect"].endswith("/9")
