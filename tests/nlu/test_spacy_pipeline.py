"""The spaCy pipeline built from the corpus (bot/nlu/spacy_pipeline.py) and the component that emits its entities.

The pipeline is the one `make train` builds (built here if missing: about a minute); it is loaded the way Rasa's
SpacyNLP loads it, from its path.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from bot.nlu.spacy_pipeline import ensure, input_hash, parse_example, pipeline_dir
from bot.settings import PROJECT_DIR

CORPUS = PROJECT_DIR / "policy_corpus"


@pytest.fixture(scope="module")
def nlp() -> Any:
    import spacy

    from bot.nlu.spacy_pipeline import register

    register()
    return spacy.load(ensure(PROJECT_DIR, CORPUS))


def ents(nlp: Any, text: str) -> list[tuple[str, str, str]]:
    return [(e.text, e.label_, e.ent_id_) for e in nlp(text).ents]


def test_the_policy_dictionary_is_loaded_with_the_pipeline(nlp: Any) -> None:
    # without the user dictionary jieba splits these terms apart
    assert "中关村高新技术企业" in [t.text for t in nlp("我们是中关村高新技术企业")]
    assert "首都科技创新券" in [t.text for t in nlp("首都科技创新券怎么用")]


def test_a_certificate_is_read_with_its_code(nlp: Any) -> None:
    assert ("国高", "hightech", "national") in ents(nlp, "我们是海淀的国高，做芯片的，想融资")
    assert ("海淀", "registration", "beijing") in ents(nlp, "我们是海淀的国高，做芯片的，想融资")


@pytest.mark.parametrize("text, span", [
    ("我们不是国高能报吗", "不是国高"),
    ("暂时不是高企", "暂时不是高企"),
    ("我们还没认定高新，能报吗", "还没认定高新"),
    ("我们高新资质还在审，现在能报吗", "高新资质还在审"),
    ("高企和中关村高新都没有", "高企和中关村高新都没有"),
])
def test_a_negated_or_pending_certificate_is_no_certificate(nlp: Any, text: str, span: str) -> None:
    found = ents(nlp, text)
    assert (span, "hightech", "none") in found
    assert not any(label == "hightech" and code != "none" for _, label, code in found)


@pytest.mark.parametrize("text, number", [("第五条讲什么", "5"), ("能报第9条吗", "9"), ("措施十二是什么", "12")])
def test_measures_are_numbered_from_the_corpus(nlp: Any, text: str, number: str) -> None:
    assert any(label == "measure" and code == number for _, label, code in ents(nlp, text))


def test_that_one_item_is_no_measure(nlp: Any) -> None:
    assert not any(label == "measure" for _, label, _ in ents(nlp, "说说首台套那一条"))


def test_funds_come_from_the_corpus(nlp: Any) -> None:
    assert ("科技金融资金", "fund", "finance") in ents(nlp, "科技金融资金支持什么")


def test_the_path_carries_a_hash_of_the_inputs(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "data" / "nlu").mkdir(parents=True)
    shutil.copytree(CORPUS, project / "policy_corpus")
    for f in (PROJECT_DIR / "data" / "nlu").glob("*.yml"):
        shutil.copy(f, project / "data" / "nlu" / f.name)
    before = input_hash(project, project / "policy_corpus")
    assert pipeline_dir(project, project / "policy_corpus").name == f"zh-policy-{before}"
    # the generated synonyms are no input; the lexicon and the annotated examples are
    (project / "data" / "nlu" / "entities.yml").write_text("nlu: []\n", encoding="utf-8")
    assert input_hash(project, project / "policy_corpus") == before
    lexicon = project / "policy_corpus" / "lexicon.yml"
    lexicon.write_text(lexicon.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert input_hash(project, project / "policy_corpus") != before


def test_annotated_examples_become_character_spans() -> None:
    ex = parse_example('我们是[国高]{"entity": "hightech", "value": "national"}，在[海淀](registration)')
    assert ex.text == "我们是国高，在海淀"
    assert ex.spans == [(3, 5, "hightech"), (7, 9, "registration")]


def test_the_component_emits_the_entities_with_codes_and_its_name(nlp: Any) -> None:
    from rasa.nlu.constants import SPACY_DOCS
    from rasa.shared.nlu.constants import ENTITIES, TEXT
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.entities import CorpusEntityExtractor

    message = Message(data={TEXT: "我们不是国高，注册在天津"})
    message.set(SPACY_DOCS[TEXT], nlp("我们不是国高，注册在天津"))
    [out] = CorpusEntityExtractor().process([message])
    found = {(e["entity"], e["value"], e["extractor"]) for e in out.get(ENTITIES)}
    assert ("hightech", "none", "CorpusEntityExtractor") in found
    assert ("registration", "outside", "CorpusEntityExtractor") in found


def test_rasa_trains_with_the_pipeline_built_for_the_current_inputs(nlp: Any) -> None:
    from bot.training import resolve_config

    resolved = (PROJECT_DIR / resolve_config("config.yml")).read_text(encoding="utf-8")
    built = pipeline_dir(PROJECT_DIR, CORPUS).relative_to(PROJECT_DIR).as_posix()
    assert f"model: {built}\n" in resolved
    assert "models/spacy/zh-policy\n" not in resolved


def test_the_intent_classifier_sees_which_kinds_of_entity_a_message_names(nlp: Any) -> None:
    from rasa.nlu.constants import SPACY_DOCS, TOKENS_NAMES
    from rasa.nlu.tokenizers.tokenizer import Token
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.entities import EntityKindFeaturizer

    text = "我们是国高，第五条能报吗"
    doc = nlp(text)
    message = Message(data={TEXT: text})
    message.set(SPACY_DOCS[TEXT], doc)
    message.set(TOKENS_NAMES[TEXT], [Token(t.text, t.idx) for t in doc])
    featurizer = EntityKindFeaturizer({**EntityKindFeaturizer.get_default_config(), "alias": None}, "kinds")
    [out] = featurizer.process([message])
    _, sentence = out.get_sparse_features(TEXT)
    labels = EntityKindFeaturizer.get_default_config()["labels"]
    named = {labels[i] for i in sentence.features.nonzero()[1]}
    assert named == {"hightech", "measure"}


def test_the_ner_adds_no_certificate_place_or_measure_and_nothing_without_chinese(nlp: Any) -> None:
    # "第几条" asks which measure; "申请中" is no place; an emoji or an English greeting is no entity
    for text in ("北交所上市培育和创新券 分别是第几条", "高企在申请中，还没下来", "嗨 🙋", "Good morning"):
        for span, label, code in ents(nlp, text):
            assert code or label in ("subject_type", "topic", "fact", "fund"), (text, span, label)
            assert any("\u4e00" <= ch <= "\u9fff" for ch in span), (text, span)


def test_the_tokenizer_keeps_jiebas_frequent_words_with_the_pipeline(nlp: Any) -> None:
    from bot.nlu.spacy_pipeline import JIEBA_WORDS

    saved = pipeline_dir(PROJECT_DIR, CORPUS) / "tokenizer" / "dictionary.txt"
    assert len(saved.read_text(encoding="utf-8").splitlines()) == JIEBA_WORDS
    assert nlp.tokenizer.dictionary == str(saved.resolve())


def test_two_loads_of_the_pipeline_share_one_jieba(nlp: Any) -> None:
    # Rasa's SpacyNLP is two nodes of the graph and loads the pipeline twice: the dictionary is held once
    import spacy

    again = spacy.load(pipeline_dir(PROJECT_DIR, CORPUS))
    nlp("我们是国高")
    again("我们是国高")
    assert again.tokenizer.jieba_seg is nlp.tokenizer.jieba_seg
