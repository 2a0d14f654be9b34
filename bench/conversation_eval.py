"""Conversation evaluation: questions nobody here wrote, scored per class against the real bot.

The set lives in ``tests/evaluation/`` — ``dev.yml`` may be read while designing, ``test.yml`` is only scored
(this script prints no failure details for it unless ``--show-failures`` is given on purpose). Each case is one
conversation; each turn may say what the reply must and must not contain (see :func:`check_turn`).

The bot runs for real: action server and Rasa on loopback, on a fresh store and tracker database, as
``make run`` starts them (or ``--rasa-url`` for servers already running). Figures: pass rate per class and overall.

Usage: python -m bench.conversation_eval [--split test|dev|all] [--show-failures] [--json FILE] [--rasa-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import urllib.request
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
EVAL_DIR = ROOT / "tests" / "evaluation"

# What the reply says, recognised by meaning-bearing words (one place, used for every case).
NOT_COVERED = re.compile(r"没有涉及|不涉及|未涉及|超出了?我的.{0,4}范围|没有找到能直接回答|不能替其他政策作答|不在我(的|能).{0,4}范围")
UNSTATED = re.compile(r"(没有|未|并未|没)(具体)?(规定|写明|明确|说明|列出|写|提到|给出|设定|列明)")
FALLBACK = re.compile(r"我没太明白|我不太确定您的意思|还是没能帮到您|处理这个问题时出错了")
CJK = re.compile(r"[\u4e00-\u9fff]")
VERDICTS = {"eligible": "eligible", "not_eligible": "not_eligible", "reference": "reference", "unknown": "conditional",
            "conditional": "conditional"}


@dataclass
class TurnResult:
    user: str
    reply: str
    failures: list[str] = field(default_factory=list)


@dataclass
class CaseResult:
    id: str
    cls: str
    turns: list[TurnResult]
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(not t.failures for t in self.turns)


class Bot:
    """Rasa's REST channel and tracker API."""

    def __init__(self, rasa_url: str, token: str) -> None:
        self.rasa_url = rasa_url.rstrip("/")
        self.token = token

    def say(self, sender: str, message: str) -> list[dict[str, Any]]:
        body = json.dumps({"sender": sender, "message": message}).encode()
        req = urllib.request.Request(f"{self.rasa_url}/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())

    def tracker(self, sender: str) -> dict[str, Any]:
        url = f"{self.rasa_url}/conversations/{sender}/tracker?token={self.token}"
        with urllib.request.urlopen(url, timeout=30) as resp:
            return json.loads(resp.read())


def reply_text(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text") or "" for r in replies if r.get("text"))


def turn_events(tracker: dict[str, Any]) -> list[dict[str, Any]]:
    """The events after the latest user message."""
    events = tracker.get("events") or []
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") == "user":
            return events[i + 1:]
    return events


def asked_slot(tracker: dict[str, Any]) -> str | None:
    """The form question pending after the turn (None when the bot is not asking for a profile fact)."""
    if not (tracker.get("active_loop") or {}).get("name"):
        return None
    return (tracker.get("slots") or {}).get("requested_slot")


def verdict_of(events: list[dict[str, Any]]) -> str | None:
    for e in events:
        if e.get("event") == "slot" and e.get("name") == "eligibility_verdict" and e.get("value"):
            outcome = (e["value"] or {}).get("outcome")
            return VERDICTS.get(outcome, outcome)
    return None


def repeated_only(reply: str, previous: str) -> bool:
    """The reply says nothing new: every line with a question already stood, word for word, in the previous reply."""
    if not previous:
        return False
    before = {line.strip() for line in previous.splitlines() if line.strip()}
    asked_again = any(line.strip() in before and line.strip().endswith(("？", "?")) for line in reply.splitlines())
    new = "".join(line for line in reply.splitlines() if line.strip() not in before)
    return asked_again and len(CJK.findall(new)) < 10


def check_turn(expect: dict[str, Any], reply: str, previous: str, tracker: dict[str, Any]) -> list[str]:
    """What is wrong with one reply, as short reasons (empty: the turn passed)."""
    failures: list[str] = []
    if not reply.strip():
        return ["empty reply"]
    if FALLBACK.search(reply) and not expect.get("fallback"):
        failures.append("fallback")
    if repeated_only(reply, previous):
        failures.append("repeated the previous question")
    for s in expect.get("cites") or []:
        if s not in reply:
            failures.append(f"no citation {s}")
    for pattern in expect.get("any") or []:
        if not re.search(pattern, reply):
            failures.append(f"missing /{pattern}/")
    for pattern in expect.get("none") or []:
        if re.search(pattern, reply):
            failures.append(f"forbidden /{pattern}/")
    for n in expect.get("measures") or []:
        if not re.search(rf"第{n}条", reply):
            failures.append(f"measure {n} not named")
    for n in expect.get("not_measures") or []:
        if re.search(rf"第{n}条", reply):
            failures.append(f"measure {n} named")
    if (fund := expect.get("fund")) and fund not in reply:
        failures.append(f"fund {fund} not named")
    if "not_covered" in expect:
        said = bool(NOT_COVERED.search(reply))
        if said != bool(expect["not_covered"]):
            failures.append("said 'not covered'" if said else "did not say 'not covered'")
    if expect.get("unstated") and not UNSTATED.search(reply):
        failures.append("did not say the document does not state it")
    if "asks" in expect:
        want = expect["asks"]
        want = None if want in (None, "none", False) else str(want)
        got = asked_slot(tracker)
        if want != got:
            failures.append(f"asks {got or 'nothing'} (expected {want or 'nothing'})")
    if "verdict" in expect:
        want = expect["verdict"]
        want = None if want in (None, "none", False) else str(want)
        got = verdict_of(turn_events(tracker))
        if want != got:
            failures.append(f"verdict {got or 'none'} (expected {want or 'none'})")
    return failures


def run_case(bot: Bot, case: dict[str, Any]) -> CaseResult:
    sender = f"eval-{case['id']}-{uuid.uuid4().hex[:6]}"
    results: list[TurnResult] = []
    previous = ""
    try:
        for turn in case["turns"]:
            replies = bot.say(sender, str(turn["user"]))
            text = reply_text(replies)
            expect = turn.get("expect") or {}
            tracker = bot.tracker(sender)
            results.append(TurnResult(str(turn["user"]), text, check_turn(expect, text, previous, tracker)))
            previous = text
    except Exception as exc:  # a server error is a failed case, reported
        return CaseResult(case["id"], case["class"], results, error=f"{type(exc).__name__}: {exc}")
    return CaseResult(case["id"], case["class"], results)


def load_cases(split: str) -> list[dict[str, Any]]:
    names = ["dev", "test"] if split == "all" else [split]
    cases: list[dict[str, Any]] = []
    for name in names:
        data = yaml.safe_load((EVAL_DIR / f"{name}.yml").read_text(encoding="utf-8")) or {}
        for case in data.get("cases") or []:
            cases.append({**case, "split": name})
    return cases


def evaluate(bot: Bot, cases: list[dict[str, Any]], workers: int = 6) -> list[CaseResult]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda c: run_case(bot, c), cases))


def summary(results: list[CaseResult]) -> dict[str, Any]:
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        per[r.cls]["cases"] += 1
        per[r.cls]["passed"] += int(r.passed)
    total = sum(c["cases"] for c in per.values())
    passed = sum(c["passed"] for c in per.values())
    return {"overall": {"cases": total, "passed": passed, "rate": passed / total if total else 0.0},
            "classes": {k: {"cases": v["cases"], "passed": v["passed"], "rate": v["passed"] / v["cases"]}
                        for k, v in sorted(per.items())}}


def print_summary(title: str, figures: dict[str, Any]) -> None:
    print(f"\n{title}")
    print(f"  {'class':<16} {'cases':>6} {'passed':>7} {'rate':>7}")
    for name, c in figures["classes"].items():
        print(f"  {name:<16} {c['cases']:>6} {c['passed']:>7} {c['rate']:>7.1%}")
    o = figures["overall"]
    print(f"  {'overall':<16} {o['cases']:>6} {o['passed']:>7} {o['rate']:>7.1%}")


def print_failures(results: list[CaseResult]) -> None:
    for r in results:
        if r.passed:
            continue
        print(f"\n✗ {r.id} [{r.cls}]" + (f" ERROR {r.error}" if r.error else ""))
        for t in r.turns:
            mark = "  " if not t.failures else "→ "
            print(f"  {mark}U: {t.user}")
            print("      B: " + t.reply.replace("\n", "\n         ")[:600])
            for f in t.failures:
                print(f"      ! {f}")


def start_servers(port_offset: int) -> tuple[Any, Bot]:
    from bot.knowledge.ingest import ingest_corpus
    from bot.launcher import ServerConfig, Servers
    from bot.training import model_path, train

    if train() != 0:
        raise SystemExit("rasa train failed")
    tmp = Path(tempfile.mkdtemp(prefix="conv-eval-"))
    db_url = f"sqlite:///{tmp / 'policy.db'}"
    ingest_corpus(db_url, ROOT / "policy_corpus")
    config = ServerConfig(rasa_port=25005 + port_offset, action_port=25055 + port_offset,
                          gateway_port=28080 + port_offset, model=model_path(), log_dir=tmp / "logs",
                          tracker_store_url=f"sqlite:///{tmp / 'tracker.db'}", extra_env={"DATABASE_URL": db_url})
    servers = Servers(config)
    servers.start(timeout=240, gateway=False)
    return servers, Bot(config.rasa_url, servers.token)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["dev", "test", "all"], default="test")
    parser.add_argument("--show-failures", action="store_true", help="print each failed case (use on dev)")
    parser.add_argument("--only", help="run only cases whose id starts with this")
    parser.add_argument("--json", type=Path, help="write the figures (and, for dev, the failures) to this file")
    parser.add_argument("--rasa-url", help="use servers already running (with --token)")
    parser.add_argument("--token", default=os.environ.get("RASA_TOKEN", ""))
    parser.add_argument("--workers", type=int, default=6)
    args = parser.parse_args(argv)

    cases = load_cases(args.split)
    if args.only:
        cases = [c for c in cases if str(c["id"]).startswith(args.only)]
    servers = None
    if args.rasa_url:
        bot = Bot(args.rasa_url, args.token)
    else:
        servers, bot = start_servers(int(os.environ.get("EVAL_PORT_OFFSET", "0")))
    try:
        results = evaluate(bot, cases, args.workers)
    finally:
        if servers is not None:
            servers.stop()
    splits = sorted({c["split"] for c in cases})
    by_split = {s: [r for r, c in zip(results, cases) if c["split"] == s] for s in splits}
    figures = {s: summary(rs) for s, rs in by_split.items()}
    for s in splits:
        print_summary(f"Conversation evaluation — {s} part ({len(by_split[s])} cases)", figures[s])
    if args.show_failures:
        print_failures(results)
    if args.json:
        out: dict[str, Any] = {"figures": figures}
        if args.show_failures:
            out["failures"] = [{"id": r.id, "class": r.cls, "error": r.error,
                                "turns": [t.__dict__ for t in r.turns]} for r in results if not r.passed]
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
