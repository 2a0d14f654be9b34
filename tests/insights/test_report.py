"""The insights report on a seeded tracker store (real SQLite, Rasa's event JSON): known figures and clusters.
Runs in both environments (the CLI in Rasa's, the console in the gateway's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.db import make_engine
from bot.helpdesk.service import HelpdeskService
from bot.insights.html import render_html
from bot.insights.report import build_report, channel_of, parse_since
from bot.insights.text import render_text

from ..conftest import ROOT
from .seed import EXPECTED, NOW, SECRET_SESSION, seed_plain


@pytest.fixture(scope="module")
def tracker_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('tracker') / 'tracker.db'}"
    engine = make_engine(url)
    seed_plain(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def report(tracker_url: str) -> dict:
    engine = make_engine(tracker_url)
    try:
        return build_report(engine, None, since=timedelta(days=7), end=NOW)
    finally:
        engine.dispose()


def test_known_figures(report: dict) -> None:
    for key in ("conversations", "user_turns", "containment", "fallbacks", "not_covered", "handoffs",
                "eligibility", "funds", "measures", "reply_time_ms", "unanswered_total"):
        assert report[key] == EXPECTED[key], key


def test_channels_from_id_prefix_or_metadata(report: dict) -> None:
    assert {name: c["conversations"] for name, c in report["channels"].items()} == EXPECTED["channels"]
    assert report["channels"]["wecom"]["handoffs"] == {"total": 1, "by_reason": {"fallback": 1}}
    assert report["channels"]["wechat"]["containment"] == 1.0
    assert sum(c["user_turns"] for c in report["channels"].values()) == report["user_turns"]
    assert channel_of("legacy", "wechat") == "wechat" and channel_of("web:x", "wecom") == "web"
    assert channel_of("abc") == "other"


def test_unanswered_questions_clustered(report: dict) -> None:
    clusters = report["unanswered"]
    assert [set(c["examples"]) for c in clusters] == EXPECTED["clusters"]
    assert [c["size"] for c in clusters] == [3, 2, 2, 1]
    assert clusters[0]["channels"] == {"web": 2, "wechat": 1}
    assert clusters[1]["why"] == {"handoff": 1, "not_covered": 1}  # 上海有什么政策 was followed by a handoff
    assert "最高" in clusters[0]["terms"]


def test_masked_and_no_session_token(report: dict) -> None:
    text = json.dumps(report, ensure_ascii=False)
    assert "13812345678" not in text and "138****5678" in text
    assert SECRET_SESSION not in text
    for conversation_id in ("web:aaaa", "wecom:DDDD", "legacy-id-1"):
        assert conversation_id not in text
    assert SECRET_SESSION not in render_html(report) and SECRET_SESSION not in render_text(report)


def test_period_excludes_older_conversations(tracker_url: str) -> None:
    engine = make_engine(tracker_url)
    try:
        wide = build_report(engine, None, since=timedelta(days=60), end=NOW)
        narrow = build_report(engine, None, since=timedelta(hours=1), end=NOW)
    finally:
        engine.dispose()
    assert wide["conversations"] == 8 and wide["fallbacks"] == 2
    assert narrow["conversations"] == 0 and narrow["unanswered"] == [] and narrow["containment"] is None


def test_parse_since() -> None:
    assert parse_since("7d") == timedelta(days=7) and parse_since("24h") == timedelta(hours=24)
    assert parse_since("2w") == timedelta(weeks=2) and parse_since("30m") == timedelta(minutes=30)
    for bad in ("", "7", "0d", "-1d", "7y", "١d", "3661d", "99999999999w"):
        with pytest.raises(ValueError):
            parse_since(bad)


def test_helpdesk_handoffs_by_reason(tmp_path: Path, tracker_url: str) -> None:
    service = HelpdeskService.from_url(f"sqlite:///{tmp_path / 'hd.db'}")
    try:
        service.enqueue("web:aaaa", "web", "user_request", {})
        service.enqueue("wecom:DDDD", "wecom", "fallback", {})
        tracker = make_engine(tracker_url)
        result = build_report(tracker, service.engine, since=timedelta(days=7))  # now: the handoffs are today
        tracker.dispose()
    finally:
        service.engine.dispose()
    hd = result["helpdesk"]
    assert hd["total"] == 2 and hd["by_reason"] == {"fallback": 1, "user_request": 1}
    assert hd["by_status"] == {"queued": 2} and hd["by_channel"] == {"web": 1, "wecom": 1}


@pytest.mark.e2e  # runs `python -m bot …` as a process
def test_cli_json_text_and_html(tmp_path: Path, tracker_url: str) -> None:
    env = {**os.environ, "TRACKER_STORE_URL": tracker_url, "DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}",
           "RASA_TELEMETRY_ENABLED": "false"}
    env.pop("HELPDESK_DATABASE_URL", None)
    run = lambda *a: subprocess.run([sys.executable, "-m", "bot", "report", *a], cwd=ROOT, env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    out = run("--since", "3650d", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in ("conversations", "user_turns", "containment", "handoffs", "fallbacks", "not_covered", "funds",
                "measures", "unanswered"):
        assert key in data
    assert data["conversations"] == 8 and all({"size", "examples"} <= set(c) for c in data["unanswered"])
    text = run("--since", "3650d")
    assert text.returncode == 0 and "未解答问题" in text.stdout and SECRET_SESSION not in text.stdout
    page = tmp_path / "report.html"
    assert run("--since", "3650d", "--html", str(page)).returncode == 0
    html = page.read_text(encoding="utf-8")
    assert "Chart.js v4" in html and "<script src" not in html and SECRET_SESSION not in html
    assert run("--since", "soon").returncode == 2


def test_fund_codes_are_named(tracker_url: str) -> None:
    from bot.insights.report import fund_names

    assert fund_names()["finance"] == "科技金融"
    engine = make_engine(tracker_url)
    try:
        renamed = build_report(engine, None, since=timedelta(days=7), end=NOW, funds={"科技金融": "金融"})
    finally:
        engine.dispose()
    assert renamed["funds"]["asked"] == {"金融": 1} and renamed["channels"]["web"]["funds"]["recommended"] == {"金融": 1}
