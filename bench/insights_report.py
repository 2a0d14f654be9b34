"""The insights report at scale: N synthetic conversations (default 100,000) in PostgreSQL, then the time the report
takes over them (goal: under 30 s).

The conversations are written as Rasa's SQLTrackerStore writes them (its `events` table and columns, the event JSON
of Rasa 3.6: tests/insights/seed.py, checked against Rasa itself) with COPY, into a schema of their own
(`bench_insights`, dropped first) of the scaled profile's PostgreSQL (scripts/scaled-services.sh), or of --url.
Each conversation: a session start, then 1–4 turns drawn from what users do here — a need with the fund and measures
recommended, a measure asked, an eligibility check (finished or not), a "not covered" answer, out of scope, a
fallback, a handoff — over the last 7 days, on web / WeChat / WeCom. Unanswered questions are drawn from a few
hundred phrasings, so they form clusters.

Usage: python -m bench.insights_report [--conversations 100000] [--url postgresql://…] [--keep]
Prints the rows written and the time to write them, then the report's time and its headline figures; exits 1 over
the limit.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import sqlalchemy as sa

from tests.insights.seed import (
    EVENTS_TABLE,
    NO_ANSWER,
    NOT_IN_DOC,
    OUT_OF_SCOPE,
    _action,
    _bot,
    _loop,
    _slot,
    _start,
    _user,
)

SCHEMA = "bench_insights"
LIMIT_S = 30.0
FUNDS = ["科技金融", "创新能力", "成果转化", "国际化", "人才", "产业发展"]
UNSTATED = ["最高能补贴多少钱", "补贴金额是多少", "什么时候开始申报", "申报截止日期是哪天", "资金多久能到账",
            "申报要交多少份材料", "有没有申报模板可以下载", "线上还是线下申报"]
OUT = ["今天天气怎么样", "上海有什么政策", "怎么办理营业执照", "公积金怎么提取", "专精特新怎么认定", "深圳的补贴",
       "帮我写个申请书", "社保断缴了怎么办"]
VAGUE = ["那个东西咋弄", "我想问问那个事", "上次说的怎么样了", "能不能快点", "你们靠谱吗", "嗯嗯然后呢"]
PREFIX = ["", "请问", "想问下", "麻烦问一下", "你好，", "我们公司"]
SUFFIX = ["", "？", "呢", "啊", "，谢谢", "，急"]


def conversation(rng: random.Random, i: int, start: float, span: float) -> tuple[str, list[dict]]:
    channel = rng.choices(["web", "wechat", "wecom"], weights=[6, 3, 1])[0]
    sender = f"{channel}:{i:08x}{rng.getrandbits(32):08x}"
    t = start + rng.random() * span
    events = list(_start(t))
    for _ in range(rng.randint(1, 4)):
        t += rng.uniform(5, 120)
        reply = t + rng.uniform(0.05, 0.6)
        kind = rng.choices(["need", "measure", "eligibility", "unstated", "out", "fallback", "handoff"],
                           weights=[25, 20, 15, 12, 10, 10, 8])[0]
        ch = channel
        if kind == "need":
            fund = rng.choice(FUNDS)
            events += [_user(t, f"我们想解决{fund}方面的问题", "describe_need", ch), _action(reply, "action_recommend"),
                       _slot(reply, "suggested_fund", fund), _slot(reply, "suggested_measures", sorted(
                           rng.sample(range(1, 20), 3))), _bot(reply, f"推荐【{fund}】"), _action(reply, "action_listen")]
        elif kind == "measure":
            n = str(rng.randint(1, 19))
            events += [_user(t, f"第{n}条讲的什么", "ask_measure", ch), _slot(reply, "measure", n),
                       _bot(reply, f"第{n}条……"), _action(reply, "action_listen")]
        elif kind == "eligibility":
            events += [_user(t, "我们能申请吗", "check_eligibility", ch), _loop(reply, "eligibility_form"),
                       _bot(reply, "请问贵单位是什么类型的主体？"), _action(reply, "action_listen")]
            if rng.random() < 0.7:
                t2 = reply + rng.uniform(5, 60)
                outcome = rng.choice(["eligible", "not_eligible", "unknown"])
                events += [_user(t2, "企业，注册在中关村", "inform", ch),
                           _slot(t2 + 0.2, "eligibility_verdict", {"outcome": outcome, "missing": []}),
                           _loop(t2 + 0.2, None), _bot(t2 + 0.3, "资格初判"), _action(t2 + 0.3, "action_listen")]
        elif kind in ("unstated", "out", "fallback"):
            base = rng.choice({"unstated": UNSTATED, "out": OUT, "fallback": VAGUE}[kind])
            text = rng.choice(PREFIX) + base + rng.choice(SUFFIX)
            intent = {"unstated": "ask_unstated", "out": "out_of_scope", "fallback": "nlu_fallback"}[kind]
            events.append(_user(t, text, intent, ch))
            if kind == "fallback":
                events.append(_action(reply, "action_fallback"))
            events += [_bot(reply, {"unstated": NOT_IN_DOC, "out": OUT_OF_SCOPE, "fallback": NO_ANSWER}[kind]),
                       _action(reply, "action_listen")]
        else:
            events += [_user(t, "/request_human", "request_human", ch), _action(reply, "action_request_handoff"),
                       _bot(reply, "好的，已为您转人工", {"type": "handoff", "reason": rng.choice(
                           ["user_request", "fallback"]), "summary": {}}),
                       _bot(reply + 0.1, "正在为您接入人工服务，请稍候。", sender="system")]
    return sender, events


def write(engine: sa.engine.Engine, n: int, seed: int, now: datetime) -> int:
    rng = random.Random(seed)
    start, span = (now - timedelta(days=7)).timestamp(), timedelta(days=6, hours=23).total_seconds()
    rows = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for first in range(0, n, 5000):
            buf = io.StringIO()
            out = csv.writer(buf)
            for i in range(first, min(n, first + 5000)):
                sender, events = conversation(rng, i, start, span)
                for e in events:
                    out.writerow([sender, e["event"], repr(e["timestamp"]),
                                  (e.get("parse_data") or {}).get("intent", {}).get("name"), e.get("name"),
                                  json.dumps(e)])
                    rows += 1
            buf.seek(0)
            copy = "COPY events (sender_id, type_name, timestamp, intent_name, action_name, data) FROM STDIN (FORMAT csv)"
            if hasattr(cursor, "copy_expert"):  # psycopg2 (Rasa's environment)
                cursor.copy_expert(copy, buf)
            else:  # psycopg 3
                with cursor.copy(copy) as cp:
                    cp.write(buf.getvalue())
        raw.commit()
    finally:
        raw.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--url", help="a PostgreSQL URL (default: the scaled profile's tracker database)")
    parser.add_argument("--keep", action="store_true", help="keep the schema and its rows afterwards")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--schema", default=SCHEMA, help=f"the schema written (default {SCHEMA}; dropped first)")
    args = parser.parse_args()
    from bot.insights.report import build_report

    schema = args.schema
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
        parser.error("--schema: letters, digits and '_'")
    url = args.url
    if not url:
        from bot.launcher import scaled_services

        url = scaled_services()["TRACKER_STORE_URL"]
    admin = sa.create_engine(url, future=True)
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine = sa.create_engine(url, future=True, connect_args={"options": f"-csearch_path={schema}"})
    try:
        EVENTS_TABLE.metadata.create_all(engine)
        with engine.begin() as conn:  # Rasa's index
            conn.execute(sa.text("CREATE INDEX ix_events_sender_id ON events (sender_id)"))
        now = datetime.now(timezone.utc)
        began = time.perf_counter()
        rows = write(engine, args.conversations, args.seed, now)
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE events"))
        print(f"wrote {args.conversations} conversations, {rows} events in {time.perf_counter() - began:.1f} s")
        began = time.perf_counter()
        report = build_report(engine, None, since=timedelta(days=7), end=now + timedelta(seconds=1))
        took = time.perf_counter() - began
    finally:
        engine.dispose()
        if not args.keep:
            with admin.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()
    print(f"report over {report['conversations']} conversations, {report['user_turns']} user turns: {took:.1f} s "
          f"(limit {LIMIT_S:.0f} s)")
    print(f"  containment {report['containment']}, handoffs {report['handoffs']['total']}, fallbacks "
          f"{report['fallbacks']}, not covered {report['not_covered']}, unanswered {report['unanswered_total']} in "
          f"{len(report['unanswered'])} clusters; reply time median {report['reply_time_ms']['median']} ms")
    for c in report["unanswered"][:5]:
        print(f"  ×{c['size']:>6} {' ｜ '.join(c['examples'][:3])}")
    return 0 if took < LIMIT_S else 1


if __name__ == "__main__":
    sys.exit(main())
