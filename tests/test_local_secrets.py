"""Local secrets: the Rasa token stays off command lines, what the servers write under var/ is private, and Rasa
answers no browser (no CORS)."""

from __future__ import annotations

import os
import stat
import urllib.request
from pathlib import Path

import psutil
import pytest

from bot.settings import local_secret, private_file

pytestmark = pytest.mark.e2e


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_generated_secret_is_never_readable_by_others(tmp_path, monkeypatch):
    monkeypatch.setattr(Path, "chmod", lambda *a, **k: None)  # created private, not made private afterwards
    old = os.umask(0)
    try:
        value = local_secret("rasa_token", tmp_path / "var")
        fd = private_file(tmp_path / "var" / "logs" / "rasa.log")
        os.close(fd)
    finally:
        os.umask(old)
    assert len(value) >= 32 and local_secret("rasa_token", tmp_path / "var") == value
    assert mode(tmp_path / "var") == 0o700 and mode(tmp_path / "var" / "rasa_token") == 0o600
    assert mode(tmp_path / "var" / "logs") == 0o700 and mode(tmp_path / "var" / "logs" / "rasa.log") == 0o600


def test_the_rasa_token_is_on_no_command_line(servers):
    for name, pid in servers.pids().items():
        for proc in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
            assert servers.token not in " ".join(proc.cmdline()), name
            assert "--cors" not in proc.cmdline(), name


def test_what_the_servers_write_is_private(servers):
    logs = servers.config.log_dir
    assert mode(logs) == 0o700
    assert {p.name for p in logs.iterdir()} >= {"rasa.log", "actions.log", "gateway.log"}
    for log in logs.iterdir():
        assert mode(log) == 0o600, log
    tracker = Path(servers.config.tracker_store_url.removeprefix("sqlite:///"))
    assert mode(tracker) & 0o077 == 0, oct(mode(tracker))  # created by Rasa (umask 077 in `python -m bot`)


def test_rasa_sends_no_cors_headers_to_a_lookalike_origin(servers):
    req = urllib.request.Request(f"{servers.config.rasa_url}/", headers={"Origin": "http://127.0.0.1.evil.example"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers.get("Access-Control-Allow-Origin") is None


def test_a_generated_secret_never_looks_like_a_command_line_option(tmp_path):
    """A token that starts with "-" made `rasa run --auth-token TOKEN` fail to start (argparse read an option)."""
    from bot.settings import local_secret

    for i in range(200):
        assert not local_secret(f"s{i}", tmp_path).startswith("-")
