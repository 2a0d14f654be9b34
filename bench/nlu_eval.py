"""NLU figures on the held-out set (tests/nlu/test_nlu.yml), for our pipeline and the stock DIET pipeline.

Usage: python -m bench.nlu_eval [--retrain]   (--retrain forces both trainings, to time them without cache)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from bot.training import last_training, model_path, train

VARIANTS = {
    "ours": {"config": "config.yml", "name": "policy-bot", "out": "models", "entities": "RegexEntityExtractor"},
    "stock": {"config": "bench/config_stock.yml", "name": "stock", "out": "var/models-stock",
              "entities": "DIETClassifier"},
}


def evaluate(variant: dict[str, str], test_file: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
        subprocess.run([str(Path(sys.executable).parent / "rasa"), "test", "nlu", "--nlu", str(test_file),
                        "--model", str(model_path(variant["name"], variant["out"])), "--out", out],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        intents = json.loads((Path(out) / "intent_report.json").read_text())
        entities = json.loads((Path(out) / f"{variant['entities']}_report.json").read_text())
    return {"intent_macro_f1": intents["macro avg"]["f1-score"], "intent_accuracy": intents["accuracy"],
            "entity_micro_f1": entities.get("micro avg", entities.get("weighted avg"))["f1-score"],
            "examples": intents["macro avg"]["support"]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--retrain", action="store_true", help="force both trainings (stock takes minutes)")
    parser.add_argument("--test", default=str(ROOT / "tests" / "nlu" / "test_nlu.yml"))
    args = parser.parse_args()
    rows = {}
    for key, v in VARIANTS.items():
        if train(config=v["config"], name=v["name"], out=v["out"], force=args.retrain) != 0:
            return 1
        rows[key] = {**evaluate(v, Path(args.test)), "training": last_training(v["name"], v["out"])}
    print(f"NLU on the held-out set {Path(args.test).relative_to(ROOT)} ({rows['ours']['examples']} examples)")
    print(f"  {'pipeline':<8} {'intent macro-F1':>16} {'intent acc':>11} {'entity F1':>10} {'training':>22}")
    for key, r in rows.items():
        t = r["training"]
        training = f"{t[0]:.0f}s" + (f" ({t[1]} cached)" if t and t[1] else " (full)") if t else "?"
        print(f"  {key:<8} {r['intent_macro_f1']:>16.3f} {r['intent_accuracy']:>11.3f} {r['entity_micro_f1']:>10.3f} "
              f"{training:>22}")
    print("  targets: intent macro-F1 ≥ 0.95, training ≤ 5 min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
