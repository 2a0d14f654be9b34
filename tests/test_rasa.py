"""Rasa's own checks: the training data validates, and the conversation tests pass on the trained model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

RASA = str(Path(sys.executable).parent / "rasa")
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)


@pytest.mark.e2e  # runs `python -m bot …` as a process
def test_generated_entity_file_is_current():
    done = run(sys.executable, "-m", "bot", "export-nlu", "--check")
    assert done.returncode == 0, done.stderr


def test_rasa_data_validate(trained_model):  # needs var/jieba from training
    done = run(RASA, "data", "validate", "--domain", "domain.yml", "--data", "data", "--config", "config.yml")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "conflict" not in done.stdout.lower().replace("no story structure conflicts found", "")


def test_conversation_stories_pass(trained_model, tmp_path):
    done = run(RASA, "test", "core", "--stories", "tests/conversations", "--model", str(trained_model),
               "--out", str(tmp_path), "--fail-on-prediction-errors")
    failed = (tmp_path / "failed_test_stories.yml").read_text(encoding="utf-8") if (
        tmp_path / "failed_test_stories.yml").exists() else ""
    assert done.returncode == 0, failed or done.stderr[-3000:]
    assert "None of the test stories failed" in failed


@pytest.mark.parametrize("name", ["test_nlu.yml"])
def test_held_out_nlu_set_is_not_in_the_training_data(name):
    import yaml

    def examples(path: Path) -> set[str]:
        import re

        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        out = set()
        for block in data.get("nlu", []):
            for line in (block.get("examples") or "").splitlines():
                text = re.sub(r"\[([^\]]+)\](\{[^}]*\}|\([^)]*\))", r"\1", line.strip().lstrip("- "))
                out.add(text)
        return out

    train = set().union(*(examples(p) for p in (ROOT / "data" / "nlu").glob("*.yml")))
    held_out = examples(ROOT / "tests" / "nlu" / name)
    assert len(held_out) >= 10 * 19
    assert not (train & held_out), sorted(train & held_out)[:10]
