"""Train the Rasa model with Rasa's own CLI, only when its inputs changed.

A config whose ``SpacyNLP`` names ``models/spacy/zh-policy`` gets the spaCy pipeline built first
(``bot/nlu/spacy_pipeline.py``, only when its inputs changed) and is written to ``var/config/`` with the pipeline's
hashed path, so that hash is part of the fingerprint. The inputs are that config, domain, the training data and the
jieba user dictionary; their hash is kept next to the model (``<model>.fingerprint``). A missing or stale model is
retrained with ``rasa train``, whose own cache then retrains only the components whose inputs changed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from bot.settings import PROJECT_DIR, rasa_bin, rasa_python


def model_path(name: str = "policy-bot", out: str = "models") -> Path:
    return PROJECT_DIR / out / f"{name}.tar.gz"


#: The spaCy pipeline's name in config.yml; training replaces it with the built pipeline's hashed path.
SPACY_PLACEHOLDER = re.compile(r"(?m)^(\s*model:\s*)models/spacy/zh-policy\s*(#.*)?$")


def resolve_config(config: str = "config.yml", rebuild: bool = False) -> str:
    """The config Rasa trains with: ``config`` itself, or, when it uses our spaCy pipeline, a copy in var/config/
    naming the pipeline built for the current inputs (built now if missing)."""
    text = (PROJECT_DIR / config).read_text(encoding="utf-8")
    if not SPACY_PLACEHOLDER.search(text):
        return config
    if importlib.util.find_spec("spacy") is None:  # the gateway's environment (tests start Rasa from there)
        code = "import sys; from bot.training import resolve_config; print(resolve_config(sys.argv[1], sys.argv[2] == '1'))"
        done = subprocess.run([rasa_python(), "-c", code, config, "1" if rebuild else "0"], cwd=PROJECT_DIR,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"building the spaCy pipeline failed:\n{done.stderr[-3000:]}")
        return done.stdout.strip().splitlines()[-1]
    from bot.nlu.spacy_pipeline import ensure
    from bot.settings import Settings

    built = ensure(PROJECT_DIR, Settings.from_env().corpus_dir, force=rebuild).relative_to(PROJECT_DIR)
    target = PROJECT_DIR / "var" / "config" / Path(config).name
    target.parent.mkdir(parents=True, exist_ok=True)
    resolved = SPACY_PLACEHOLDER.sub(lambda m: f"{m.group(1)}{built.as_posix()}", text)
    if not target.exists() or target.read_text(encoding="utf-8") != resolved:
        target.write_text(f"# Generated from {config} by bot/training.py: do not edit.\n{resolved}", encoding="utf-8")
    return str(target.relative_to(PROJECT_DIR))


def fingerprint(config: str = "config.yml", data: tuple[str, ...] = ("data",)) -> str:
    data_files = [f for d in data for f in ([PROJECT_DIR / d] if d.endswith(".yml") else
                                            sorted((PROJECT_DIR / d).rglob("*.yml")))]
    # the lexicon and our NLU components' code shape the model too (the normalizer repairs the lexicon's terms)
    files = [PROJECT_DIR / config, PROJECT_DIR / "domain.yml", *data_files,
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


def is_current(config: str = "config.yml", name: str = "policy-bot", out: str = "models",
               data: tuple[str, ...] = ("data",)) -> bool:
    """True when the model was trained from the current inputs (``config`` as resolved by :func:`resolve_config`)."""
    stamp = _stamp(name, out)
    return (model_path(name, out).exists() and stamp.exists()
            and stamp.read_text(encoding="utf-8").split()[0] == fingerprint(config, data))


def last_training(name: str = "policy-bot", out: str = "models") -> tuple[float, int] | None:
    """(seconds, components restored from cache) of the training that made the current model."""
    stamp = _stamp(name, out)
    if not stamp.exists():
        return None
    parts = stamp.read_text(encoding="utf-8").split()
    return (float(parts[1]), int(parts[2])) if len(parts) == 3 else None


def train(config: str = "config.yml", name: str = "policy-bot", out: str = "models", force: bool = False,
          data: tuple[str, ...] = ("data",)) -> int:
    """Train if the inputs changed; ``data`` lists folders or files of training data (the bench adds one)."""
    started = time.perf_counter()
    config = resolve_config(config, rebuild=force)
    if not force and is_current(config, name, out, data):
        print(f"model {out}/{name}.tar.gz is up to date", file=sys.stderr)
        return 0
    cmd = [rasa_bin(), "train", "--config", config, "--fixed-model-name", name,
           "--out", out, "--domain", "domain.yml", "--data", *data]
    if force:
        cmd.append("--force")
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
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
    _stamp(name, out).write_text(f"{fingerprint(config, data)} {seconds:.1f} {restored}\n", encoding="utf-8")
    note = f", {restored} components unchanged (restored from Rasa's cache)" if restored else ""
    print(f"model {out}/{name}.tar.gz ready in {seconds:.0f}s{note}", file=sys.stderr)
    return 0
