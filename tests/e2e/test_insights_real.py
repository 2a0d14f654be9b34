"""The insights report over conversations held with the real bot (action server + Rasa, REST channel): the events
Rasa and the actions really write give the figures the report promises."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

from bot.db import make_engine
from bot.insights.report import build_report

from .conftest import RestUser


def test_report_over_real_conversations(servers) -> None:  # type: ignore[no-untyped-def]
    began = datetime.now(timezone.utc) - timedelta(seconds=1)
    tag = uuid.uuid4().hex[:8]
    need = RestUser(servers, f"web:insights-{tag}-a")
    need.say("我们是中关村示范区的高新企业，主要想解决贷款和融资问题")
    need.say("第5条讲的什么")
    silent = RestUser(servers, f"wechat:insights-{tag}-b")
    silent.say("今天天气怎么样")
    silent.say("最高补多少钱")
    silent.say("转人工")
    check = RestUser(servers, f"wecom:insights-{tag}-c")
    check.say("我们能申请吗")
    check.say("企业，注册在中关村，有国家高新技术企业证书")
    time.sleep(0.5)

    engine = make_engine(servers.config.tracker_store_url)
    try:
        report = build_report(engine, None, start=began, end=datetime.now(timezone.utc) + timedelta(seconds=1))
    finally:
        engine.dispose()
    assert report["conversations"] == 3 and report["user_turns"] == 7
    assert set(report["channels"]) == {"web", "wechat", "wecom"}
    assert report["handoffs"]["total"] == 1 and report["channels"]["wechat"]["handoffs"]["total"] == 1
    assert report["containment"] == round(2 / 3, 4)
    assert "科技金融" in report["funds"]["recommended"], report["funds"]  # the slot's code, named
    assert report["measures"]["recommended"] and "5" in report["measures"]["asked"], report["measures"]
    assert report["eligibility"]["started"] == 1 and report["eligibility"]["finished"] == 1
    assert sum(report["eligibility"]["verdicts"].values()) == 1
    assert report["not_covered"] >= 2  # the weather (out of scope) and the amount (the document is silent)
    questions = {q for c in report["unanswered"] for q in c["examples"]}
    assert {"今天天气怎么样", "最高补多少钱"} <= questions, report["unanswered"]
    assert report["reply_time_ms"]["count"] == 7 and report["reply_time_ms"]["median"] > 0
