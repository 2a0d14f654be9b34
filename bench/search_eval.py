"""Search quality on the labelled question set: hit@1, hit@3 and MRR.

Usage: python bench/search_eval.py [--questions tests/data/search_questions.yml] [--misses]
Builds a fresh in-memory store from policy_corpus/ so the figures are for the committed corpus.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def evaluate(store, questions: list[dict]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    hit1 = hit3 = 0
    rr = 0.0
    misses = []
    for item in questions:
        expect = item["expect"] if isinstance(item["expect"], list) else [item["expect"]]
        ranked = [h.section_id for h in store.search(item["q"], top=10)]
        rank = next((i for i, sid in enumerate(ranked, 1) if sid in expect), None)
        hit1 += rank == 1
        hit3 += rank is not None and rank <= 3
        rr += 1 / rank if rank else 0.0
        if rank != 1:
            misses.append((item["q"], expect, ranked[:3], rank))
    n = len(questions)
    return {"n": n, "hit@1": hit1 / n, "hit@3": hit3 / n, "mrr": rr / n, "misses": misses}


def main() -> int:
    from bot.knowledge.corpus import load_corpus
    from bot.knowledge.ingest import ingest
    from bot.knowledge.store import PolicyStore

    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", default=str(ROOT / "tests" / "data" / "search_questions.yml"))
    parser.add_argument("--misses", action="store_true", help="list the questions not ranked first")
    args = parser.parse_args()
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    store = PolicyStore.from_url("sqlite://")
    ingest(store.engine, load_corpus(ROOT / "policy_corpus"), progress=lambda _: None)
    questions = yaml.safe_load(Path(args.questions).read_text(encoding="utf-8"))["questions"]
    store.search("预热")
    started = time.perf_counter()
    result = evaluate(store, questions)
    per_query_ms = (time.perf_counter() - started) / len(questions) * 1000
    print(f"search  questions={result['n']}  hit@1={result['hit@1']:.3f}  hit@3={result['hit@3']:.3f}  "
          f"MRR={result['mrr']:.3f}  latency={per_query_ms:.1f} ms/query  (targets: hit@1≥0.85, hit@3≥0.95)")
    if args.misses:
        for q, expect, got, rank in result["misses"]:
            print(f"  rank={rank}  {q}  expect={expect}  got={got}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
