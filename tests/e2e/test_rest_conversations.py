"""Conversations over Rasa's REST channel against the real action server and Rasa, on loopback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import pytest

from .conftest import RestUser, buttons_of, text_of

pytestmark = pytest.mark.e2e


def user(servers) -> RestUser:  # type: ignore[no-untyped-def]
    return RestUser(servers, f"e2e-{uuid.uuid4().hex[:8]}")


def test_need_then_materials_the_done_when_scenario(servers):
    u = user(servers)
    reply = text_of(u.say("我们是中关村示范区的高新企业，主要想解决贷款和融资问题"))
    assert "【科技金融】" in reply
    assert all(f"第{n}条" in reply for n in (5, 6, 7))
    assert "依据：京科发〔2022〕4号 二（二）第5条" in reply
    replies = u.say("申请要准备什么材料")
    reply = text_of(replies)
    assert "申报【科技金融】资金" in reply
    assert "与文件条款相关的材料" in reply and "常见材料（文件未规定，请以官方申报指南为准）" in reply
    assert "依据：京科发〔2022〕4号 三（一）" in reply
    materials = [r["custom"] for r in replies if r.get("custom", {}).get("type") == "materials"]
    assert materials and {i["source"] for i in materials[0]["items"]} == {"clause", "typical"}


def test_eligibility_form_asks_only_what_it_needs_survives_an_interruption(servers):
    u = user(servers)
    first = u.say("我们能申请吗")
    assert "哪一类" in text_of(first) and "高等学校" in buttons_of(first)
    assert "注册在中关村示范区范围内吗" in text_of(u.say('/inform{"subject_type": "university"}'))
    interrupted = text_of(u.say("这个文件的文号是多少"))
    assert "京科发〔2022〕4号" in interrupted and "注册在中关村示范区范围内吗" in interrupted  # answered, then resumed
    verdict = text_of(u.say('/inform{"registration": "zgc"}'))
    assert "可以申报" in verdict and "高新技术企业" not in verdict  # not asked of a university
    assert "依据：京科发〔2022〕4号 三（一）" in verdict


def test_everything_in_one_message_gives_the_verdict_at_once(servers):
    u = user(servers)
    u.say("我们是注册在天津的国高企业")
    verdict = text_of(u.say("我们能申请吗"))
    assert "❌ 注册在中关村示范区范围内：不满足" in verdict


def test_district_gets_a_clarifying_question(servers):
    u = user(servers)
    u.say("我们能申请吗")
    reply = text_of(u.say("我们是海淀的公司"))
    # a district is kept as "in Beijing" (the document names no parks); the check moves on, no word-for-word repeat
    assert "注册在北京" in reply and "国家高新技术企业或中关村高新技术企业吗" in reply


def test_amounts_and_deadlines_are_not_invented(servers):
    reply = text_of(user(servers).say("最高能补多少钱，什么时候截止"))
    assert "没有写明" in reply and "申报指南" in reply


def test_handoff_is_marked_in_the_tracker_with_a_summary(servers):
    u = user(servers)
    u.say("我们想申请孵化器方面的支持")
    reply = text_of(u.say("我要转人工"))
    assert "人工" in reply
    slots = u.tracker()["slots"]
    assert slots["handoff_requested"] is True
    assert "需求：我们想申请孵化器方面的支持" in slots["handoff_summary"]


def test_out_of_scope_offers_12345_and_no_policy_answer(servers):
    reply = text_of(user(servers).say("明天北京天气怎么样"))
    assert "12345" in reply and "依据" not in reply


def test_rasa_api_requires_the_token(servers):
    url = f"{servers.config.rasa_url}/conversations/anyone/tracker"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url, timeout=10)
    assert err.value.code == 401


def test_servers_listen_on_loopback_only(servers):
    import psutil

    ports = {servers.config.rasa_port, servers.config.action_port}
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port in ports:
            assert conn.laddr.ip == "127.0.0.1", conn


def test_malformed_rest_body_is_a_4xx_not_a_crash(servers):
    req = urllib.request.Request(f"{servers.config.rasa_url}/webhooks/rest/webhook", data=b"{not json",
                                 headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert 400 <= err.value.code < 500
    assert text_of(user(servers).say("你好"))  # still serving
    assert json.loads(urllib.request.urlopen(f"{servers.config.action_url}/health", timeout=5).read())
