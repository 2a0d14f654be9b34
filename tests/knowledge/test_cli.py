from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import CORPUS_DIR, ROOT

pytestmark = pytest.mark.e2e  # every test runs `python -m bot …` as a process


def run_cli(*args: str, db: Path, corpus: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}"}
    if corpus:
        env["POLICY_CORPUS_DIR"] = str(corpus)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_ingest_then_search_json(tmp_path):
    db = tmp_path / "p.db"
    done = run_cli("ingest", db=db)
    assert done.returncode == 0, done.stderr
    assert "19 measures" in done.stderr and "5 funds" in done.stderr
    done = run_cli("search", "想了解一下对风投基金有什么政策", "--json", "--top", "3", db=db)
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)
    assert hits[0]["citation"] == "京科发〔2022〕4号 二（二）第5条「大力发展天使和创业投资」"
    assert set(hits[0]) >= {"citation", "title", "text", "score"} and len(hits) <= 3


def test_ingest_error_exits_non_zero_and_keeps_the_store(tmp_path):
    db = tmp_path / "p.db"
    assert run_cli("ingest", db=db).returncode == 0
    bad = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, bad)
    (bad / "broken").mkdir()
    (bad / "broken" / "source.txt").write_bytes(b"\x00\x01binary")
    done = run_cli("ingest", db=db, corpus=bad)
    assert done.returncode == 1
    assert "binary" in done.stderr and "store was not changed" in done.stderr
    assert json.loads(run_cli("search", "孵化器", "--json", db=db).stdout)[0]["citation"].endswith(
        "「支持建设高能级创新创业载体」")


def test_search_before_ingest_says_what_to_do(tmp_path):
    done = run_cli("search", "融资", db=tmp_path / "missing.db")
    assert done.returncode == 1 and "ingest" in done.stderr


def test_materials_and_eligibility_commands(tmp_path):
    db = tmp_path / "p.db"
    run_cli("ingest", db=db)
    done = run_cli("materials", "--fund", "科技金融", db=db)
    assert done.returncode == 0 and "诚信承诺" in done.stdout and "请以官方申报指南为准" in done.stdout
    done = run_cli("eligibility", "--subject-type", "enterprise", "--registration", "zgc", "--hightech", "none",
                   db=db)
    assert json.loads(done.stdout)["outcome"] == "not_eligible"
    assert run_cli("materials", "--fund", "不存在的资金", db=db).returncode == 2
