"""Unanswered questions grouped into clusters of similar questions.

Words (and character bigrams, as the index uses them) come from the project's own tokenizer (:class:`bot.knowledge.textindex.Tokenizer`: jieba with the policy
lexicon as its user dictionary, traditional characters simplified first); the questions are weighted with
scikit-learn's TF-IDF and grouped by its agglomerative clustering (average linkage over cosine distances, cut at a
distance threshold, so the number of clusters follows the data). Identical questions are counted once for the
clustering and keep their count in the cluster's size.
"""

from __future__ import annotations

import inspect
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

#: two questions join when their TF-IDF vectors' average cosine distance is below this
DISTANCE_THRESHOLD = 0.8
#: the most frequent distinct questions that are clustered (the distance matrix is quadratic); the rest are counted
MAX_DISTINCT = 2000
EXAMPLES = 5


def default_tokenizer(corpus_dir: Path | None = None) -> Any:
    """The tokenizer of the document index, with the corpus lexicon's terms and synonyms (plain jieba when the
    lexicon cannot be read)."""
    from bot.knowledge.textindex import Tokenizer

    try:
        from bot.knowledge.corpus import load_lexicon
        from bot.settings import Settings

        lexicon = load_lexicon(Path(corpus_dir or Settings.from_env().corpus_dir))
        return Tokenizer(terms=lexicon.terms, synonyms=lexicon.pairs())
    except Exception:  # noqa: BLE001 - a report still clusters without the policy terms
        return Tokenizer()


def _words(tokenizer: Any, text: str) -> list[str]:
    from bot.knowledge.writing import to_simplified

    words = tokenizer.index_tokens(to_simplified(text))  # words + character bigrams
    return words or [text.strip().lower()]


def _agglomerative(threshold: float) -> Any:
    from sklearn.cluster import AgglomerativeClustering

    # scikit-learn 1.2 renamed ``affinity`` to ``metric`` (Rasa's environment has 1.1, the gateway's a current one)
    kind = "metric" if "metric" in inspect.signature(AgglomerativeClustering).parameters else "affinity"
    return AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, linkage="average",
                                   **{kind: "precomputed"})


def cluster_questions(questions: Iterable[Any], tokenizer: Any = None,
                      threshold: float = DISTANCE_THRESHOLD) -> list[dict[str, Any]]:
    """``questions``: items with ``text`` (already masked), ``channel`` and ``why``. Clusters, largest first:
    ``{size, examples, channels, why, terms}``."""
    items = list(questions)
    if not items:
        return []
    tokenizer = tokenizer or default_tokenizer()
    counts = Counter(q.text for q in items)
    distinct = [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    clustered, overflow = distinct[:MAX_DISTINCT], distinct[MAX_DISTINCT:]
    labels: list[int]
    terms_of: dict[int, list[str]] = {}
    if len(clustered) == 1:
        labels = [0]
        terms_of[0] = _words(tokenizer, clustered[0])[:3]
    else:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.metrics.pairwise import cosine_distances

        vectorizer = TfidfVectorizer(analyzer=lambda text: _words(tokenizer, text), sublinear_tf=True)
        matrix = vectorizer.fit_transform(clustered)
        labels = [int(x) for x in _agglomerative(threshold).fit_predict(cosine_distances(matrix))]
        vocabulary = vectorizer.get_feature_names_out()
        for label in set(labels):
            rows = [i for i, lab in enumerate(labels) if lab == label]
            weights = matrix[rows].sum(axis=0).A1
            ranked = [str(vocabulary[i]) for i in weights.argsort()[::-1] if weights[i] > 0]
            words = [t for t in ranked if not t.startswith("#")]  # words first, then bare bigrams
            terms_of[label] = (words + [t[1:] for t in ranked if t.startswith("#") and t[1:] not in "".join(words)])[:3]
    members: dict[int, list[str]] = {}
    for text, label in zip(clustered, labels):
        members.setdefault(label, []).append(text)
    if overflow:
        members[-1] = overflow
        terms_of[-1] = []
    by_text: dict[str, list[Any]] = {}
    for q in items:
        by_text.setdefault(q.text, []).append(q)
    clusters = []
    for label, texts in members.items():
        found = [q for t in texts for q in by_text[t]]
        clusters.append({
            "size": len(found),
            "examples": texts[:EXAMPLES],  # most frequent first
            "members": texts,  # every distinct question (dropped from the report unless asked for)
            "channels": dict(Counter(q.channel for q in found).most_common()),
            "why": dict(Counter(q.why for q in found).most_common()),
            "terms": terms_of.get(label, []),
            "other": label == -1,  # beyond MAX_DISTINCT: not clustered
        })
    clusters.sort(key=lambda c: (c["other"], -c["size"], c["examples"][0]))
    return clusters
