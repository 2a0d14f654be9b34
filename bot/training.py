"""Train the Rasa model with Rasa's own CLI, only when its inputs changed.

The inputs are config, domain, the training data and the jieba user dictionary; their hash is kept next to the
model (``<model>.fingerprint``). A missing or stale model is retrained with ``rasa train``, whose own cache then
retrains only the components whose inputs changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

from bot.settings import PROJECT_DIR, rasa_bin


def model_path(name: str = "policy-bot", out: str = "models") -> Path:
    return PROJECT_DIR / out / f"{name}.tar.gz"


def fingerprint(config: str = "config.yml") -> str:
    # the lexicon and our NLU components' code shape the model too (the normalizer repairs the lexicon's terms)
    files = [PROJECT_DIR / config, PROJECT_DIR / "domain.yml", *sorted((PROJECT_DIR / "data").rglob("*.yml")),
             *sorted((PROJECT_DIR / "var" / "jieba").glob("*")), PROJECT_DIR / "policy_corpus" / "lexicon.yml",
             *sorted((PROJECT_DIR / "bot" / "nlu").glob("*.py")),
             # what the normalizer reads: the writing module and its tables (readings, common characters, slips)
             PROJECT_DIR / "bot" / "knowledge" / "writing.py", PROJECT_DIR / "bot" / "knowledge" / "sounds.py",
             *sorted((PROJECT_DIR / "bot" / "knowledge").glob("*.txt"))]
    digest = hashlib.sha256()
    for f in files:
        if f.is_file():
            digest.update(str(f.relative_to(PROJECT_DIR)).encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()


def _stamp(name: str, out: str) -> Path:
    return PROJECT_DIR / out / f"{name}.fingerprint"


def is_current(config: str = "config.yml", name: str = "policy-bot", out: str = "models") -> bool:
    stamp = _stamp(name, out)
    return (model_path(name, out).exists() and stamp.exists()
            and stamp.read_text(encoding="utf-8").split()[0] == fingerprint(config))


def last_training(name: str = "policy-bot", out: str = "models") -> tuple[float, int] | None:
    """(seconds, components restored from cache) of the training that made the current model."""
    stamp = _stamp(name, out)
    if not stamp.exists():
        return None
    parts = stamp.read_text(encoding="utf-8").split()
    return (float(parts[1]), int(parts[2])) if len(parts) == 3 else None


def train(config: str = "config.yml", name: str = "policy-bot", out: str = "models", force: bool = False) -> int:
    if not force and is_current(config, name, out):
        print(f"model {out}/{name}.tar.gz is up to date", file=sys.stderr)
        return 0
    cmd = [rasa_bin(), "train", "--config", config, "--fixed-model-name", name,
           "--out", out, "--domain", "domain.yml", "--data", "data"]
    if force:
        cmd.append("--force")
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = time.perf_counter()
    print(f"training {out}/{name}.tar.gz …", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        print(output[-6000:], file=sys.stderr)
        print(f"training failed (exit {proc.returncode})", file=sys.stderr)
        return proc.returncode
    restored = output.count("from cache")
    seconds = time.perf_counter() - started
    # fingerprint, then how long this training took and how many components came from Rasa's cache
    _stamp(name, out).write_text(f"{fingerprint(config)} {seconds:.1f} {restored}\n", encoding="utf-8")
    note = f", {restored} components unchanged (restored from Rasa's cache)" if restored else ""
    print(f"model {out}/{name}.tar.gz ready in {seconds:.0f}s{note}", file=sys.stderr)
    return 0
