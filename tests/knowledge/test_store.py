from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.knowledge import models as m
from bot.knowledge.corpus import load_corpus
from bot.knowledge.ingest import ingest
from bot.knowledge.store import PolicyStore, StoreNotReady, cn_to_int, parse_measure_number

from ..conftest import CORPUS_DIR


def test_document_facts(store):
    doc = store.document()
    assert doc.id == "zgc-2022" and doc.doc_number == "京科发〔2022〕4号"
    assert doc.issuers == ["北京市科学技术委员会", "中关村科技园区管理委员会"]
    assert str(doc.issued) == "2022-06-10" and doc.effective == "自印发之日起施行"
    assert [r["number"] for r in doc.repeals] == ["中科园发〔2019〕11号", "中科园发〔2019〕25号"]


def test_the_default_document_is_found_once_per_store(tmp_path):
    """document() without an id used to run two queries on every call (which document has conditions, funds)."""
    from sqlalchemy import event

    s = PolicyStore.from_url(f"sqlite:///{tmp_path / 'p.db'}")
    ingest(s.engine, load_corpus(CORPUS_DIR), progress=lambda _: None)
    assert s.document().id == "zgc-2022"
    statements: list[str] = []
    event.listen(s.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert [s.document().id for _ in range(3)] == ["zgc-2022"] * 3
    assert statements == []
    s.engine.dispose()


def test_five_funds_with_their_measures(store):
    funds = store.funds()
    assert [f.short_name for f in funds] == ["提升企业创新能力", "科技金融", "园区高质量发展", "创新创业生态环境",
                                             "国际化发展水平"]
    assert [x.number for x in funds[1].measures] == [5, 6, 7]
    assert funds[1].citation == "京科发〔2022〕4号 二（二）「促进科技金融深度融合发展」"
    assert sum(len(f.measures) for f in funds) == 19


@pytest.mark.parametrize("ref, code", [
    ("科技金融", "finance"), ("finance", "finance"), ("国际化资金", "international"),
    ("我想问问园区高质量发展那个资金", "park"), ("中关村国家自主创新示范区优化创新创业生态环境支持资金管理办法(试行)", "ecosystem"),
])
def test_fund_by_name_alias_or_mention(store, ref, code):
    assert store.fund(ref).code == code


def test_unknown_fund_is_none(store):
    assert store.fund("专精特新") is None


@pytest.mark.parametrize("ref, number", [
    ("第5条", 5), ("措施五", 5), ("第十二项", 12), ("19", 19), (7, 7), ("天使和创业投资", 5), ("中关村论坛", 16),
])
def test_measure_by_number_or_name(store, ref, number):
    measure = store.measure(ref)
    assert measure is not None and measure.number == number
    assert measure.citation.startswith("京科发〔2022〕4号 二")


def test_measure_that_does_not_exist(store):
    assert store.measure("第25条") is None
    assert store.measure("x") is None


def test_chinese_numbers():
    assert [cn_to_int(x) for x in ("五", "十", "十二", "二十", "两", "7")] == [5, 10, 12, 20, 2, 7]
    assert parse_measure_number("措施十九") == 19 and parse_measure_number("你好") is None


def test_measures_for_a_topic(store):
    assert [x.number for x in store.measures_for_topic("financing")] == [5, 6, 7]
    assert [x.number for x in store.measures_for_topic("talent")] == [11]


@pytest.mark.parametrize("need, fund, measures", [
    ("我们是中关村示范区的高新企业，主要想解决贷款和融资问题", "finance", {5, 6, 7}),
    ("想申请孵化器方面的支持", "park", {9}),
    ("我们有几个PCT专利想布局", "ecosystem", {14}),
    ("想去海外设个研发中心", "international", {17}),
    ("公司准备去北交所上市", "finance", {7}),
])
def test_need_is_routed_to_fund_and_measures(store, need, fund, measures):
    match = store.match_need(need)
    assert match is not None and match.fund.code == fund
    assert measures <= {x.number for x in match.measures}
    assert all(x.fund_code == fund for x in match.measures)


def test_need_with_no_policy_words_matches_nothing(store):
    assert store.match_need("今天天气怎么样") is None


# --- eligibility: a verdict per condition, cited ------------------------------------------------

PROFILES = [
    # (subject_type, registration, hightech) → outcome, statuses by condition code
    (("enterprise", "zgc", "national"), "eligible", {"subject_type": "met", "registration": "met", "hightech": "met"}),
    (("enterprise", "zgc", "zgc"), "eligible", {"subject_type": "met", "registration": "met", "hightech": "met"}),
    (("enterprise", "zgc", "none"), "not_eligible", {"hightech": "not_met"}),
    (("enterprise", "beijing_other", "national"), "reference", {"registration": "reference"}),
    (("enterprise", "outside", "national"), "not_eligible", {"registration": "not_met"}),
    (("university", "zgc", None), "eligible", {"subject_type": "met", "registration": "met"}),
    (("research_institute", "beijing_other", None), "reference", {"registration": "reference"}),
    (("social_org", "zgc", None), "eligible", {"subject_type": "met"}),
    (("other", "zgc", None), "not_eligible", {"subject_type": "not_met"}),
    (("enterprise", None, "national"), "unknown", {"registration": "unknown"}),
    ((None, "zgc", None), "unknown", {"subject_type": "unknown", "hightech": "unknown"}),
    (("enterprise", "zgc", None), "unknown", {"hightech": "unknown"}),
]


@pytest.mark.parametrize("profile, outcome, statuses", PROFILES)
def test_eligibility_verdict_per_condition(store, profile, outcome, statuses):
    verdict = store.check_eligibility(dict(zip(("subject_type", "registration", "hightech"), profile)))
    assert verdict.outcome == outcome
    got = {c.code: c.status for c in verdict.conditions}
    for code, status in statuses.items():
        assert got[code] == status
    assert verdict.citation == "京科发〔2022〕4号 三（一）「资金来源及支持对象」"
    assert all(c.citation and c.quote for c in verdict.conditions)


def test_high_tech_condition_does_not_apply_to_a_university(store):
    verdict = store.check_eligibility({"subject_type": "university", "registration": "zgc"})
    assert "hightech" not in {c.code for c in verdict.conditions}


def test_reference_verdict_quotes_the_参照执行_sentence(store):
    verdict = store.check_eligibility({"subject_type": "enterprise", "registration": "beijing_other",
                                       "hightech": "zgc"})
    registration = next(c for c in verdict.conditions if c.code == "registration")
    assert "参照执行" in registration.quote


def test_missing_fields_are_listed_in_order(store):
    assert store.check_eligibility({}).missing == ["subject_type", "registration", "hightech"]


# --- materials ----------------------------------------------------------------------------------


def test_materials_for_a_fund_separate_document_and_typical(store):
    items = store.materials(fund_code="finance")
    sources = [i.source for i in items]
    assert sources == sorted(sources, key=lambda s: s != "clause")  # clause-related first
    stated = [i for i in items if i.source == "clause"]
    assert any("高新技术企业" in i.name for i in stated) and any("诚信承诺" in i.name for i in stated)
    assert all(i.citation and i.quote for i in stated)
    typical = [i for i in items if i.source == "typical"]
    assert typical and all(i.citation is None for i in typical)
    assert not any("入选证明" in i.name for i in items)  # talent measure 11 belongs to another fund


def test_materials_for_a_measure_include_its_own(store):
    names = [i.name for i in store.materials(measure_number=11)]
    assert any("高聚工程" in n for n in names)
    assert not any("PCT" in n for n in names)


def test_materials_for_a_university_leave_out_the_high_tech_certificate(store):
    names = [i.name for i in store.materials(fund_code="ecosystem", subject_type="university")]
    assert not any("高新技术企业资质" in n for n in names)


def test_document_facts_are_quoted(store):
    facts = store.facts()
    assert {"funding_source", "support_methods", "milestone", "case_by_case", "integrity_ethics"} <= set(facts)
    assert "市级财政资金" in facts["funding_source"].quote
    assert facts["milestone"].citation.endswith("「支持方式及管理机制创新」")


# --- ingest -------------------------------------------------------------------------------------


def _counts(store: PolicyStore) -> tuple[int, int, int]:
    with store.engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()  # type: ignore[return-value]
                     for t in (m.Measure.__table__, m.Passage.__table__, m.Material.__table__))


def test_ingest_is_idempotent(tmp_path):
    s = PolicyStore.from_url(f"sqlite:///{tmp_path / 'p.db'}")
    corpus = load_corpus(CORPUS_DIR)
    ingest(s.engine, corpus, progress=lambda _: None)
    first = _counts(s)
    ingest(s.engine, corpus, progress=lambda _: None)
    assert _counts(s) == first and first[0] == 19


def test_a_failed_ingest_leaves_the_previous_store(tmp_path, monkeypatch):
    s = PolicyStore.from_url(f"sqlite:///{tmp_path / 'p.db'}")
    corpus = load_corpus(CORPUS_DIR)
    ingest(s.engine, corpus, progress=lambda _: None)
    before = _counts(s)

    def boom(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr("bot.knowledge.ingest.citation_text", boom)  # fails midway, after deletes
    with pytest.raises(RuntimeError):
        ingest(s.engine, corpus, progress=lambda _: None)
    assert _counts(PolicyStore(s.engine)) == before


def test_empty_store_says_to_ingest(tmp_path):
    s = PolicyStore.from_url(f"sqlite:///{tmp_path / 'none.db'}")
    with pytest.raises(StoreNotReady, match="ingest"):
        s.search("融资")
    with pytest.raises(StoreNotReady, match="ingest"):
        s.document()
