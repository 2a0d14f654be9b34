"""When is a passage an answer? Thresholds on the index's BM25 scores, calibrated on labelled questions.

Calibration (`python bench/search_eval.py --calibrate`): the top score of the 226 labelled questions about the
document (tests/data/search_questions.yml) against the 105 labelled out-of-scope and other-policy questions of the
NLU data that name no other place or policy. 5.0 gave the largest difference of the two rates when it was chosen
(91.6 % vs 13.3 %; now 93.4 % vs 13.3 %); at 2.5, 100 % vs 28.6 %.

- :func:`covered` — strong enough to override an out-of-scope reading of the NLU: the bot quotes the passage
  instead of saying the document does not cover the question.
- :func:`strong` — strong enough to answer a message with none of the document's words ("准备组织一个品牌性的
  国际科技交流活动", "那中心城区的机构呢"): only 1 of the 104 labelled out-of-scope questions that name no other
  place or policy scores this high (and that one names another policy by a word the vocabulary lacks), against
  51 % of the questions about the document (`bench/search_eval.py` prints both rates).
- :func:`related` — for a question the NLU reads as about the document: below this the index has nothing, and
  only then does the bot say the document has no passage on it.
"""

from __future__ import annotations

COVERED_SCORE = 5.0
RELATED_SCORE = 2.5
STRONG_SCORE = 16.0


def covered(score: float) -> bool:
    return score >= COVERED_SCORE


def related(score: float) -> bool:
    return score >= RELATED_SCORE


def strong(score: float) -> bool:
    return score >= STRONG_SCORE
