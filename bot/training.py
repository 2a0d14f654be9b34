"""Train the Rasa model with Rasa's own CLI; its fingerprint cache retrains only components whose inputs changed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bot.settings import PROJECT_DIR


def model_path(name: str = "policy-bot", out: str = "models") -> Path:
    return PROJECT_DIR / out / f"{name}.tar.gz"


def train(config: str = "config.yml", name: str = "policy-bot", out: str = "models", force: bool = False) -> int:
    cmd = [str(Path(sys.executable).parent / "rasa"), "train", "--config", config, "--fixed-model-name", name,
           "--out", out, "--domain", "domain.yml", "--data", "data"]
    if force:
        cmd.append("--force")
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        print(output[-6000:], file=sys.stderr)
        print(f"training failed (exit {proc.returncode})", file=sys.stderr)
        return proc.returncode
    restored = output.count("from cache")
    note = f", {restored} components unchanged (restored from Rasa's cache)" if restored else ""
    print(f"model {out}/{name}.tar.gz ready in {time.perf_counter() - started:.0f}s{note}", file=sys.stderr)
    return 0
