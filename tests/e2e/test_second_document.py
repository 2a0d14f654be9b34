"""A conversation about a second document, over Rasa's REST channel against the real action server and Rasa.

The store holds the committed corpus plus the fictional 京测发〔2024〕1号 (tests/data/extra-doc/test-2024, with its
knowledge.yml); the action server reads both (DATABASE_URL, POLICY_CORPUS_DIR). These servers are this module's
own, on ports of their own, so the session's servers keep the committed corpus alone.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.knowledge.ingest import ingest_corpus
from bot.launcher import ServerConfig, Servers

from ..conftest import corpus_with_extra_doc
from .conftest import RestUser, text_of

pytestmark = pytest.mark.e2e

TEST_DOC = "《关于支持示范区企业开展绿色低碳技术攻关的若干措施（测试样例）》（京测发〔2024〕1号）"


@pytest.fixture(scope="module")
def two_doc_servers(tmp_path_factory: pytest.TempPathFactory, trained_model: Path) -> Iterator[Servers]:
    tmp = tmp_path_factory.mktemp("two-doc-servers")
    corpus_dir = corpus_with_extra_doc(tmp / "corpus")
    db_url = f"sqlite:///{tmp / 'policy.db'}"
    ingest_corpus(db_url, corpus_dir)
    offset = int(os.environ.get("TEST_PORT_OFFSET", "0"))
    config = ServerConfig(rasa_port=16005 + offset, action_port=16055 + offset, gateway_port=18180 + offset,
                          model=trained_model, log_dir=tmp / "logs",
                          tracker_store_url=f"sqlite:///{tmp / 'tracker.db'}",
                          extra_env={"DATABASE_URL": db_url, "POLICY_CORPUS_DIR": str(corpus_dir)})
    running = Servers(config)
    running.start(timeout=240, gateway=False)
    yield running
    running.stop()


def test_a_conversation_about_the_second_document(two_doc_servers):
    u = RestUser(two_doc_servers, f"e2e-doc2-{uuid.uuid4().hex[:8]}")
    funds = text_of(u.say("京测发〔2024〕1号有哪些支持资金"))
    assert TEST_DOC in funds and "【绿色低碳技术攻关】" in funds
    assert "第1条 支持碳捕集利用与封存技术研发" in funds and "依据：京测发〔2024〕1号 一（一）" in funds

    need = text_of(u.say("我们公司在做碳捕集技术研发，有没有支持"))
    assert f"{TEST_DOC}第1条“支持碳捕集利用与封存技术研发”" in need
    assert "依据：京测发〔2024〕1号 一（一）第1条" in need

    materials = text_of(u.say("申请要准备什么材料"))  # the fund of the conversation is the second document's
    assert "注册在测试示范区范围内" in materials and "依据：京测发〔2024〕1号 二「组织实施」" in materials
    assert "高新技术企业" not in materials

    who = text_of(u.say("绿色低碳那个文件，高校能申请吗"))
    assert f"{TEST_DOC}规定的支持对象" in who and "❌ 属于支持对象：企业：不满足" in who


def test_the_default_document_still_answers_its_questions(two_doc_servers):
    u = RestUser(two_doc_servers, f"e2e-doc2-{uuid.uuid4().hex[:8]}")
    reply = text_of(u.say("我们是中关村示范区的高新企业，主要想解决贷款和融资问题"))
    assert "【科技金融】" in reply and "京测发" not in reply
    both = text_of(u.say("京科发〔2022〕4号和京测发〔2024〕1号对光伏分别怎么支持"))
    assert "（京科发〔2022〕4号）：没有找到与此直接相关的条款" in both
    assert f"{TEST_DOC}第2条“支持建筑光伏一体化示范”" in both


def test_a_repealed_document_is_answered_with_its_repeal(two_doc_servers):
    reply = text_of(RestUser(two_doc_servers, f"e2e-doc2-{uuid.uuid4().hex[:8]}").say("中科园发〔2019〕11号还有效吗"))
    assert "已经废止" in reply and "依据：京科发〔2022〕4号 三（二）" in reply
    assert "超出" not in reply
