"""The curated YAML must cite sections that exist and quote words that occur in them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.knowledge.corpus import CorpusError, check_knowledge, load_corpus

from ..conftest import CORPUS_DIR


def test_committed_corpus_passes_the_check(corpus):
    assert [d.doc.doc_id for d in corpus.documents] == ["zgc-2022"]
    doc = corpus.documents[0]
    assert check_knowledge(doc.doc, doc.knowledge, corpus.lexicon) == []


def test_every_clause_material_cites_a_section_and_typical_ones_cite_nothing(corpus):
    for item in corpus.documents[0].knowledge["materials"]:
        if item["source"] == "clause":
            assert item["section"] and item["quote"]
        else:
            assert item["source"] == "typical" and "section" not in item and "quote" not in item


def test_clause_materials_follow_from_clauses_the_document_has(corpus):
    names = " ".join(i["name"] for i in corpus.documents[0].knowledge["materials"] if i["source"] == "clause")
    for word in ("高新技术企业", "诚信承诺", "科技伦理审查", "注册"):
        assert word in names


def test_no_material_claims_the_document_requires_it(corpus):
    """The document lists no application materials: nothing is labelled as stated or required by it."""
    sources = {i["source"] for i in corpus.documents[0].knowledge["materials"]}
    assert sources == {"clause", "typical"}


def test_the_milestone_material_is_tied_to_no_single_fund(corpus):
    """三（二） pilots milestone management without naming a fund."""
    item = next(i for i in corpus.documents[0].knowledge["materials"] if "里程碑" in i["name"])
    assert item["funds"] == "all"


def test_every_measure_says_whom_it_names_with_its_own_words(corpus):
    for measure in corpus.documents[0].knowledge["measures"]:
        assert "supports" in measure, measure["section"]
    unnamed = [m["section"].rsplit("/", 1)[1] for m in corpus.documents[0].knowledge["measures"] if not m["supports"]]
    assert unnamed == ["4", "8"]


def _copy_corpus(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, target)
    return target


def _edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize("change, message", [
    (lambda d: d["measures"][0].update(section="zgc-2022/二/（九）/1"), "does not exist"),
    (lambda d: d["facts"][0].update(quote="支持资金由中央财政安排"), "does not occur"),
    (lambda d: d["materials"].append({"name": "社保缴纳证明", "source": "clause", "funds": "all",
                                      "section": "zgc-2022/三/（一）", "quote": "社保缴纳证明"}), "does not occur"),
    (lambda d: d["materials"].append({"name": "申报书", "source": "typical", "funds": "all",
                                      "section": "zgc-2022/三/（一）"}), "typical material cites nothing"),
    (lambda d: d["materials"].append({"name": "x", "source": "rumour", "funds": "all"}), "source must be"),
    (lambda d: d["eligibility"]["conditions"][2].update(accept=["provincial"]), "not a hightech"),
    (lambda d: d["measures"][0].update(topics=["astrology"]), "not in lexicon.yml"),
])
def test_a_bad_citation_fails_the_check(tmp_path, change, message):
    corpus_dir = _copy_corpus(tmp_path)
    _edit(corpus_dir / "zgc-2022" / "knowledge.yml", change)
    with pytest.raises(CorpusError) as err:
        load_corpus(corpus_dir)
    assert any(message in p for p in err.value.problems), err.value.problems


def test_a_broken_document_fails_the_whole_corpus(tmp_path):
    corpus_dir = _copy_corpus(tmp_path)
    (corpus_dir / "bad").mkdir()
    (corpus_dir / "bad" / "source.txt").write_bytes(b"")
    with pytest.raises(CorpusError, match="empty"):
        load_corpus(corpus_dir)


def test_invalid_yaml_is_reported_not_raised_raw(tmp_path):
    corpus_dir = _copy_corpus(tmp_path)
    (corpus_dir / "zgc-2022" / "knowledge.yml").write_text("funds: [unclosed", encoding="utf-8")
    with pytest.raises(CorpusError, match="not valid YAML"):
        load_corpus(corpus_dir)


def test_the_second_test_document_passes_the_check_beside_the_committed_one(two_doc_corpus_dir):
    corpus = load_corpus(two_doc_corpus_dir)
    assert [d.doc.doc_id for d in corpus.documents] == ["test-2024", "zgc-2022"]
    assert not any("test-2024" in w for w in corpus.warnings)


def test_at_most_one_document_is_the_default(tmp_path: Path):
    from ..conftest import corpus_with_extra_doc

    corpus_dir = corpus_with_extra_doc(tmp_path / "corpus")
    path = corpus_dir / "test-2024" / "knowledge.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("  short_name:", "  default: true\n  short_name:", 1),
                    encoding="utf-8")
    with pytest.raises(CorpusError, match="more than one document is marked default: test-2024, zgc-2022"):
        load_corpus(corpus_dir)


def test_a_measure_named_in_an_ambiguity_note_supports_that_kind():
    """ambiguous_subjects notes say which measure supports the kind (孵化器 → 第9条): that measure must name it."""
    import re

    from bot.knowledge.parser import parse_file

    data = yaml.safe_load((CORPUS_DIR / "lexicon.yml").read_text(encoding="utf-8"))
    doc = parse_file("zgc-2022", CORPUS_DIR / "zgc-2022" / "source.txt")
    measures: dict[str, str] = {}
    stack = [doc.root]
    while stack:
        section = stack.pop()
        stack.extend(section.children)
        if section.level == 3:
            measures[section.label] = section.title + section.text
    stems = {"投资机构": "投资机构", "投资公司": "投资机构", "创投机构": "投资机构", "基金管理人": "投资机构",
             "园区运营": "运营服务机构", "运营机构": "运营服务机构", "跨国公司研发中心": "外资研发中心",
             "国际组织": "国际科技组织", "加速器": "创业服务机构", "众创空间": "孵化器"}
    for key, entry in data["ambiguous_subjects"].items():
        for number in re.findall(r"第(\d+)条", entry["note"]):
            assert stems.get(key, key) in measures[number], (key, number)
