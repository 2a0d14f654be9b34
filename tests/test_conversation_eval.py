"""The conversation evaluation set (tests/evaluation) is well formed and held out from the training data, and the
runner's checks mean what they say. The figures themselves come from `make bench` (bench/conversation_eval.py)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bench.conversation_eval import FALLBACK, NOT_COVERED, UNSTATED, check_turn, repeated_only

ROOT = Path(__file__).resolve().parent.parent
CLASSES = {"kind_rules", "personal_check", "covered", "routing", "unstated", "facts", "out_of_scope", "other_writing",
           "mixed"}


def cases(split: str) -> list[dict]:
    return yaml.safe_load((ROOT / "tests" / "evaluation" / f"{split}.yml").read_text(encoding="utf-8"))["cases"]


def training_sentences() -> set[str]:
    out = set()
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip().startswith("- "):
                out.add(re.sub(r"\[([^\]]+)\]\{[^}]+\}", r"\1", line.strip()[2:]).strip())
    return out


def test_the_set_has_enough_cases_in_every_class_and_both_parts():
    dev, test = cases("dev"), cases("test")
    assert len(dev) + len(test) >= 250
    for part in (dev, test):
        assert {c["class"] for c in part} == CLASSES
    ids = [c["id"] for c in dev + test]
    assert len(ids) == len(set(ids))


def test_no_user_sentence_is_in_the_training_data_or_in_both_parts():
    trained = training_sentences()
    dev = {t["user"] for c in cases("dev") for t in c["turns"]}
    test = {t["user"] for c in cases("test") for t in c["turns"]}
    assert not (dev | test) & trained
    assert not dev & test


def test_checks_recognise_what_the_reply_says():
    assert NOT_COVERED.search("京科发〔2022〕4号没有涉及“专精特新”")
    assert UNSTATED.search("文件没有写明支持金额") and not UNSTATED.search("第5条支持投资机构")
    assert FALLBACK.search("抱歉，我没太明白。")
    tracker = {"events": [], "slots": {}, "active_loop": {}}
    assert check_turn({"measures": [12], "not_covered": False}, "第12条……依据：…第12条", "", tracker) == []
    assert check_turn({"measures": [12]}, "第1条", "", tracker) == ["measure 12 not named"]


def test_the_same_question_again_with_nothing_new_counts_as_a_repeat():
    question = "贵单位注册在中关村示范区范围内吗？"
    assert repeated_only(question, question)
    assert not repeated_only("文件只说示范区实行一区多园，没有列出具体园区范围。\n" + question, question)
