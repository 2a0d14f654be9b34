"""/helpdesk/insights: only staff with the analyst or lead role (an agent gets 403, no session 401 / the login);
the same figures as `python -m bot report` over the chosen period. An in-process gateway, no Rasa needed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.db import make_engine
from bot.app import create_app
from bot.helpdesk.service import HelpdeskService
from bot.settings import Settings

from ..insights.seed import EXPECTED, NOW, SECRET_SESSION, seed_plain
from .conftest import PASSWORD



@pytest.fixture
async def console(aiohttp_client, tmp_path: Path):  # type: ignore[no-untyped-def]
    tracker = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = make_engine(tracker)
    seed_plain(engine)
    engine.dispose()
    helpdesk = f"sqlite:///{tmp_path / 'helpdesk.db'}"
    service = HelpdeskService.from_url(helpdesk)
    service.add_staff("agent1", PASSWORD)
    service.add_staff("ana1", PASSWORD, roles=["analyst"])
    service.add_staff("lead1", PASSWORD, roles=["lead"])
    service.engine.dispose()
    settings = dataclasses.replace(Settings.from_env({}), rasa_url="http://127.0.0.1:9", rasa_token="t",
                                   database_url=f"sqlite:///{tmp_path / 'policy.db'}", helpdesk_database_url=helpdesk,
                                   tracker_store_url=tracker, web_session_key="k", helpdesk_cookie_secure=False)
    return await aiohttp_client(create_app(settings))


async def login(client, username: str) -> None:  # type: ignore[no-untyped-def]
    r = await client.post("/helpdesk/api/login", json={"username": username, "password": PASSWORD})
    assert r.status == 200
    assert (await r.json())["staff"]["roles"] == {"agent1": [], "ana1": ["analyst"], "lead1": ["lead"]}[username]


async def test_no_session(console) -> None:  # type: ignore[no-untyped-def]
    assert (await console.get("/helpdesk/api/insights")).status == 401
    r = await console.get("/helpdesk/insights", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/helpdesk"


async def test_an_agent_is_refused(console) -> None:  # type: ignore[no-untyped-def]
    await login(console, "agent1")
    assert (await console.get("/helpdesk/insights")).status == 403
    assert (await console.get("/helpdesk/api/insights?since=7d")).status == 403
    assert (await console.get("/helpdesk/api/me")).status == 200  # the rest of the console is still theirs


@pytest.mark.parametrize("who", ["ana1", "lead1"])
async def test_analyst_and_lead_see_the_figures(console, who: str) -> None:  # type: ignore[no-untyped-def]
    await login(console, who)
    page = await console.get("/helpdesk/insights")
    assert page.status == 200 and "script-src" not in page.headers["Content-Security-Policy"]
    body = await page.text()
    for src in ("/helpdesk/insights/chart.umd.min.js", "/helpdesk/insights/insights.js",
                "/helpdesk/insights/insights-page.js"):
        assert src in body
        script = await console.get(src)
        assert script.status == 200 and "javascript" in script.headers["Content-Type"]
    r = await console.get("/helpdesk/api/insights", params={"start": "2026-11-01", "end": "2026-11-30"})
    assert r.status == 200
    report = await r.json()
    for key in ("conversations", "user_turns", "containment", "fallbacks", "not_covered", "handoffs",
                "eligibility", "funds", "measures", "reply_time_ms"):
        assert report[key] == EXPECTED[key], key
    assert [set(c["examples"]) for c in report["unanswered"]] == EXPECTED["clusters"]
    assert SECRET_SESSION not in await r.text() and "13812345678" not in await r.text()
    assert report["helpdesk"]["total"] == 0
    empty = await (await console.get("/helpdesk/api/insights", params={"since": "1h"})).json()
    assert empty["conversations"] == 0


async def test_bad_periods(console) -> None:  # type: ignore[no-untyped-def]
    await login(console, "lead1")
    for params in ({"since": "soon"}, {"start": "2026-13-01"}, {"start": "2026-11-30", "end": "2026-11-01"},
                   {"start": "2020-01-01", "end": "2026-01-01"}):
        assert (await console.get("/helpdesk/api/insights", params=params)).status == 400, params
    assert (await console.get("/helpdesk/insights/../console.py")).status == 404


async def test_label_a_cluster_or_questions(console, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from bot.insights.labels import list_labels

    await login(console, "agent1")
    csrf = (await (await console.get("/helpdesk/api/me")).json())["csrf"]
    denied = await console.post("/helpdesk/api/labels", json={"texts": ["x"], "out_of_scope": True},
                                headers={"X-CSRF-Token": csrf})
    assert denied.status == 403
    await console.post("/helpdesk/api/logout", headers={"X-CSRF-Token": csrf})
    await login(console, "ana1")
    csrf = (await (await console.get("/helpdesk/api/me")).json())["csrf"]
    period = {"start": "2026-11-01", "end": "2026-11-30"}
    shown = await (await console.get("/helpdesk/api/insights", params=period)).json()
    assert "members" not in shown["unanswered"][0] and "ask_unstated" in shown["label_choices"]["intents"]
    assert (await console.post("/helpdesk/api/labels", json={"cluster": 1, **period, "intent": "ask_unstated"})
            ).status == 403  # no CSRF token
    r = await console.post("/helpdesk/api/labels", json={"cluster": 1, **period, "intent": "ask_unstated"},
                           headers={"X-CSRF-Token": csrf})
    assert r.status == 200 and (await r.json()) == {"labelled": 3}
    r = await console.post("/helpdesk/api/labels", json={"texts": ["电话13812345678 能补多少"], "out_of_scope": True},
                           headers={"X-CSRF-Token": csrf})
    assert r.status == 200
    for bad in ({"cluster": 99, **period, "out_of_scope": True}, {"texts": ["x"], "intent": "nope"},
                {"texts": ["x"]}, {"texts": "x", "out_of_scope": True}, {"texts": ["x"], "section": "zgc-2022/无"}):
        assert (await console.post("/helpdesk/api/labels", json=bad, headers={"X-CSRF-Token": csrf})).status in (
            400, 404), bad
    engine = make_engine(f"sqlite:///{tmp_path / 'helpdesk.db'}")
    labels = {lab.text: lab for lab in list_labels(engine)}
    engine.dispose()
    assert set(labels) == {"最高能补贴多少钱", "补贴金额最高多少钱", "最高补贴多少钱呀", "电话138****5678 能补多少"}
    assert labels["最高能补贴多少钱"].intent == "ask_unstated" and labels["最高能补贴多少钱"].staff_id is not None


async def test_odd_inputs_are_refused_not_errors(console) -> None:  # type: ignore[no-untyped-def]
    await login(console, "lead1")
    csrf = (await (await console.get("/helpdesk/api/me")).json())["csrf"]
    for params in ({"since": "99999999999d"}, {"since": "999999999w"}, {"since": "١d"}, {"since": "7d\x00"},
                   {"start": "0001-01-01"}, {"start": "9999-12-31"}, {"end": "2026-01-01"}, {"since": "x" * 5000}):
        r = await console.get("/helpdesk/api/insights", params=params)
        assert r.status in (200, 400), (params, r.status)
    for body in ({"cluster": "1e309", "out_of_scope": True}, {"cluster": [1], "out_of_scope": True},
                 {"texts": ["a" * 100_000], "out_of_scope": True}, {"texts": [None]}, {"texts": ["x"], "intent": ["a"]},
                 {"texts": ["x"], "out_of_scope": "yes"}, {"cluster": 1, "since": "9999999999999d", "out_of_scope": True}):
        r = await console.post("/helpdesk/api/labels", json=body, headers={"X-CSRF-Token": csrf})
        assert r.status in (200, 400, 404, 413), (body, r.status)
    r = await console.post("/helpdesk/api/labels", data="[1", headers={"X-CSRF-Token": csrf,
                                                                       "Content-Type": "application/json"})
    assert r.status == 400
