"""Traditional characters and English reach the NLU, the actions and the index as the corpus writes them."""

from __future__ import annotations

import pytest

from bot.knowledge.vocabulary import Vocabulary
from bot.knowledge.writing import is_english, normalize, to_simplified

from ..conftest import CORPUS_DIR


def test_traditional_characters_become_simplified():
    assert to_simplified("民營企業能申請嗎？技術經理人有支持嗎") == "民营企业能申请吗？技术经理人有支持吗"
    assert to_simplified("plain ascii") == "plain ascii"


def test_english_is_recognised_and_read_through_the_glossary():
    glossary = Vocabulary.from_corpus(CORPUS_DIR).english
    assert is_english("Can a foreign company apply?") and not is_english("我们是VC能申请吗")
    assert "文号" in normalize("What is the document number?", glossary)
    assert "外资企业" in normalize("Can a foreign company apply?", glossary)
    assert "外资企业" in normalize("Are foreign companies eligible?", glossary)  # plural of a word ending in y
    assert "孵化器" in normalize("Do incubators get support?", glossary)


def test_a_traditional_question_finds_the_same_passage(store):
    simplified = store.search("技术经理人有支持吗", 1)[0].section_id
    assert store.search("技術經理人有支持嗎", 1)[0].section_id == simplified == "zgc-2022/二/（四）/12"


def test_questions_of_common_words_still_get_passages(store):
    """"谁可以申请" and "措施没写到的怎么办" returned nothing before: every question gets its best passages."""
    assert store.search("谁可以申请", 1)[0].section_id == "zgc-2022/三/（一）"
    assert store.search("措施里没写到的事怎么办", 1)[0].section_id == "zgc-2022/三/（二）"


def test_our_index_beats_plain_bm25_on_held_out_paraphrases(store, corpus):
    import yaml

    from bench.search_eval import PlainBM25, evaluate

    from ..conftest import DATA_DIR

    heldout = yaml.safe_load((DATA_DIR / "search_heldout.yml").read_text(encoding="utf-8"))["questions"]
    ours, plain = evaluate(store, heldout), evaluate(PlainBM25(corpus), heldout)
    assert ours["hit@3"] >= plain["hit@3"] and ours["hit@1"] >= plain["hit@1"]


@pytest.mark.parametrize("typed, repaired", [
    ("中观村的创新劵咋领", "中关村的创新券咋领"),  # pinyin input slips: guan/guan, juan/quan
    ("我们是中关村高薪企业", "我们是中关村高新企业"),
    ("专精特兴企业有支持吗", "专精特新企业有支持吗"),
    ("北京的公司能报吗", "北京的公司能报吗"),  # 的 does not sound like 市: no 北京市
    ("我们是国高 注册在示范区", "我们是国高 注册在示范区"),  # known terms stay
    ("财政补助到账了要交企业所得税吗", "财政补助到账了要交企业所得税吗"),  # 交 + 企业 reads well: no 小企业
    ("我门公司注测在海淀 能申清不", "我们公司注册在海淀 能申请不"),  # homophone slips in the words typed most
    ("高薪企业的公式", "高新企业的公式"),  # 高薪企业 is a slip for a known term; 公式 is a word of its own
])
def test_a_sound_alike_typo_of_a_known_term_is_repaired(typed, repaired):
    vocabulary = Vocabulary.from_corpus(CORPUS_DIR)
    assert normalize(typed, vocabulary.english, vocabulary.typos) == repaired


def test_english_words_and_pinyin_initials_inside_chinese_are_read():
    vocabulary = Vocabulary.from_corpus(CORPUS_DIR)
    read = normalize("我们是gxqy 注册地zgc 想申请innovation voucher", vocabulary.english, vocabulary.typos,
                     vocabulary.abbreviations)
    assert "高新企业" in read and "中关村" in read and "创新券" in read


@pytest.mark.parametrize("typed, read", [
    ("我哋冇國家高新，註冊地就喺中關村示範區", "我们没有国家高新，注册地就在中关村示范区"),
    ("首 都 科 技 创 新 券 在 哪 条 里", "首都科技创新券在哪条里"),
])
def test_written_cantonese_and_spaced_characters_are_read_as_mandarin(typed, read):
    vocabulary = Vocabulary.from_corpus(CORPUS_DIR)
    assert normalize(typed, vocabulary.english, None, vocabulary.abbreviations, vocabulary.dialect) == read


def test_a_word_inside_a_longer_one_is_no_mention():
    """"另外资金" holds no 外资 (a need) and no 资金."""
    vocabulary = Vocabulary.from_corpus(CORPUS_DIR)
    assert vocabulary.find("另外资金是哪一级财政出的", "topic") == []
    assert [m.value for m in vocabulary.find("外资研发中心", "topic")] == ["internationalization"]
