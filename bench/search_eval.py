"""Search quality: hit@1, hit@3 and MRR on the labelled questions, and on held-out paraphrases beside plain BM25.

- tests/data/search_questions.yml: labelled questions (keywords and lexicon may be tuned on them);
- tests/data/search_heldout.yml: paraphrases of every section, never used for tuning — scored for our index and for
  plain BM25 (jieba words, no lexicon) over the repaired sections, side by side;
- the "not covered" thresholds of bot/knowledge/relevance.py: how often labelled questions about the document and
  labelled out-of-scope questions (the NLU data's) score above each.

Usage: python -m bench.search_eval [--questions FILE] [--misses]
Builds a fresh in-memory store from policy_corpus/ so the figures are for the committed corpus.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


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
    from bot.knowledge.ingest import ingest_corpus
    from bot.knowledge.store import PolicyStore

    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", default=str(ROOT / "tests" / "data" / "search_questions.yml"))
    parser.add_argument("--misses", action="store_true", help="list the questions not ranked first")
    args = parser.parse_args()
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    store = PolicyStore.from_url("sqlite://")
    ingest_corpus(store.engine, ROOT / "policy_corpus")
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
    heldout = yaml.safe_load((ROOT / "tests" / "data" / "search_heldout.yml").read_text(encoding="utf-8"))["questions"]
    ours = evaluate(store, heldout)
    plain = evaluate(PlainBM25(load_corpus(ROOT / "policy_corpus")), heldout)
    print(f"held-out paraphrases={ours['n']}  ours: hit@1={ours['hit@1']:.3f} hit@3={ours['hit@3']:.3f} "
          f"MRR={ours['mrr']:.3f}  |  plain BM25 over sections: hit@1={plain['hit@1']:.3f} "
          f"hit@3={plain['hit@3']:.3f} MRR={plain['mrr']:.3f}")
    calibrate(store, questions)
    return 0


class PlainBM25:
    """The baseline: BM25 over each repaired section's title and text, jieba words, no lexicon, no bigrams."""

    def __init__(self, corpus) -> None:  # type: ignore[no-untyped-def]
        import jieba
        from rank_bm25 import BM25Okapi

        from bot.knowledge.textindex import STOPWORDS

        self._jieba = jieba.Tokenizer()
        self._stop = STOPWORDS
        self.sections = [s for d in corpus.documents for s in d.doc.sections if (s.title + s.text).strip()]
        self._bm25 = BM25Okapi([self._tokens(f"{s.title} {s.text}") or ["∅"] for s in self.sections])

    def _tokens(self, text: str) -> list[str]:
        return [w for w in self._jieba.lcut(text) if w.strip() and w not in self._stop and any(c.isalnum() for c in w)]

    def search(self, query: str, top: int = 10):  # type: ignore[no-untyped-def]
        from types import SimpleNamespace

        scores = self._bm25.get_scores(self._tokens(query))
        ranked = sorted(range(len(scores)), key=lambda i: -scores[i])[:top]
        return [SimpleNamespace(section_id=self.sections[i].id) for i in ranked]


def calibrate(store, questions: list[dict]) -> None:  # type: ignore[no-untyped-def]
    """Top scores of questions about the document vs labelled out-of-scope ones (NLU data) that name no other
    place or policy, at the thresholds of bot/knowledge/relevance.py."""
    import re

    from bot.knowledge.relevance import COVERED_SCORE, RELATED_SCORE, STRONG_SCORE
    from bot.knowledge.vocabulary import Vocabulary

    vocab = Vocabulary.from_corpus(ROOT / "policy_corpus")
    negatives = []
    data = yaml.safe_load((ROOT / "data" / "nlu" / "out_of_scope.yml").read_text(encoding="utf-8"))["nlu"]
    for block in data:
        if block.get("intent") in ("out_of_scope", "ask_other_policy"):
            for line in block["examples"].splitlines():
                text = re.sub(r"\[([^\]]+)\]\{[^}]+\}", r"\1", line[2:]).strip() if line.startswith("- ") else ""
                if text and not vocab.other_policy_in(text) and not any(
                        m.value == "outside" for m in vocab.find(text, "registration")):
                    negatives.append(text)

    def top(q: str) -> float:
        hits = store.search(q, 1)
        return hits[0].score if hits else 0.0

    pos = [top(q["q"]) for q in questions]
    neg = [top(q) for q in negatives]
    for name, t in (("strong", STRONG_SCORE), ("covered", COVERED_SCORE), ("related", RELATED_SCORE)):
        print(f"threshold {name}={t}: document questions above {sum(s >= t for s in pos) / len(pos):.1%}, "
              f"out-of-scope questions above {sum(s >= t for s in neg) / len(neg):.1%} "
              f"({len(pos)} / {len(neg)} labelled)")


if __name__ == "__main__":
    raise SystemExit(main())
