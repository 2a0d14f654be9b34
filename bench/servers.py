"""Server figures for our pipeline and the stock DIET + TED pipeline, measured in the same run.

For each: start-up (processes started → first answered message), memory (RSS of Rasa and the action
server), REST latency over 100 sequential turns (median, p95), and messages/s with 10 concurrent
conversations. Then cold start of `make run` itself (trained model present) to the first answer.
Everything runs on loopback and stops by itself.

Usage: python -m bench.servers [--turns 100] [--users 10] [--skip-stock] [--skip-make-run]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import psutil

from bot.knowledge.ingest import ingest_corpus
from bot.launcher import ServerConfig, Servers, wait_http
from bot.training import last_training, model_path, train
from bench.nlu_eval import VARIANTS, write_regexes

#: A realistic conversation, repeated with fresh senders.
SCRIPT = [
    "你好",
    "我们是中关村示范区的高新企业，主要想解决贷款和融资问题",
    "申请要准备什么材料",
    "我们能申请吗",
    "第6条具体说的什么",
    "最高能补多少钱",
    "这个文件的文号是多少",
    "谢谢",
]


def say(base: str, sender: str, message: str) -> float:
    body = json.dumps({"sender": sender, "message": message}).encode()
    req = urllib.request.Request(f"{base}/webhooks/rest/webhook", data=body,
                                 headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as resp:
        replies = json.loads(resp.read())
    if not replies:
        raise RuntimeError(f"no reply to {message!r}")
    return time.perf_counter() - started


def rss_mb(pid: int) -> float:
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20


def sequential(base: str, turns: int) -> list[float]:
    out = []
    sender = ""
    for i in range(turns):
        if i % len(SCRIPT) == 0:
            sender = f"seq-{uuid.uuid4().hex[:8]}"
        out.append(say(base, sender, SCRIPT[i % len(SCRIPT)]))
    return out


def concurrent(base: str, users: int, turns_each: int) -> tuple[float, int]:
    errors = 0
    lock = threading.Lock()

    def run_user() -> None:
        nonlocal errors
        sender = ""
        for i in range(turns_each):
            if i % len(SCRIPT) == 0:  # one conversation per pass of the script, as in the sequential part
                sender = f"con-{uuid.uuid4().hex[:8]}"
            try:
                say(base, sender, SCRIPT[i % len(SCRIPT)])
            except Exception:  # noqa: BLE001 - counted and reported
                with lock:
                    errors += 1

    threads = [threading.Thread(target=run_user) for _ in range(users)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return users * turns_each / elapsed, errors


def measure(name: str, model: Path, port: int, db_url: str, tmp: Path, turns: int, users: int) -> dict[str, float]:
    config = ServerConfig(rasa_port=port, action_port=port + 50, model=model, log_dir=tmp / f"logs-{name}",
                          tracker_store_url=f"sqlite:///{tmp / f'tracker-{name}.db'}",
                          extra_env={"DATABASE_URL": db_url})
    servers = Servers(config)
    started = time.perf_counter()
    servers.start(timeout=300)
    say(config.rasa_url, "warm", "你好")
    startup = time.perf_counter() - started
    try:
        seq = sequential(config.rasa_url, turns)
        rate, errors = concurrent(config.rasa_url, users, len(SCRIPT) * 2)
        memory = {k: rss_mb(pid) for k, pid in servers.pids().items()}
    finally:
        servers.stop()
    seq_ms = sorted(x * 1000 for x in seq)
    return {"startup_s": startup, "rasa_mb": memory["rasa"], "actions_mb": memory["actions"],
            "median_ms": statistics.median(seq_ms), "p95_ms": seq_ms[int(0.95 * (len(seq_ms) - 1))],
            "msg_per_s": rate, "errors": errors}


def make_run_cold_start() -> float | None:
    """`make run` with a trained model present → first answered message, on the default ports."""
    for port in (5005, 5055):
        if any(c.laddr.port == port and c.status == psutil.CONN_LISTEN for c in psutil.net_connections("tcp")):
            print(f"  (port {port} is busy — is `make run` already running? skipping the make-run cold start)")
            return None
    started = time.perf_counter()
    proc = subprocess.Popen(["make", "run"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_http("http://127.0.0.1:5005/", 300, proc)
        say("http://127.0.0.1:5005", "cold", "你好")
        return time.perf_counter() - started
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


LOAD_AT_START = os.getloadavg()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--skip-stock", action="store_true")
    parser.add_argument("--skip-today", action="store_true", help="leave out the regex pipeline spaCy replaced")
    parser.add_argument("--skip-make-run", action="store_true")
    args = parser.parse_args()
    variants = {}
    write_regexes(ROOT / "policy_corpus")
    for key, v in VARIANTS.items():
        if (key == "stock" and args.skip_stock) or (key == "today" and args.skip_today):
            continue
        if train(config=v["config"], name=v["name"], out=v["out"], data=v["data"]) != 0:
            return 1
        variants[key] = model_path(v["name"], v["out"])
    trainings = {key: last_training(VARIANTS[key]["name"], VARIANTS[key]["out"]) for key in variants}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        db_url = f"sqlite:///{tmp / 'policy.db'}"
        ingest_corpus(db_url, ROOT / "policy_corpus")
        offset = int(os.environ.get("EVAL_PORT_OFFSET", "0"))  # sessions sharing a machine shift their ports
        rows = {name: measure(name, model, 25005 + 1000 * i + offset, db_url, tmp, args.turns, args.users)
                for i, (name, model) in enumerate(variants.items())}
    print(f"servers on 2 cores, REST channel, {args.turns} sequential turns, {args.users} concurrent users "
          f"({len(SCRIPT)}-turn conversations)")
    print(f"  load average when it started: {LOAD_AT_START[0]:.1f} (1 min), {LOAD_AT_START[1]:.1f} (5 min) — other "
          "work on the cores slows every figure")
    print(f"  {'pipeline':<8} {'training':>9} {'start→1st answer':>16} {'Rasa RSS':>9} {'actions RSS':>12} {'median':>8} "
          f"{'p95':>8} {'msg/s @10':>10} {'errors':>7}")
    for name, r in rows.items():
        t = trainings.get(name)
        training = f"{t[0]:.0f}s" if t else "?"
        print(f"  {name:<8} {training:>9} {r['startup_s']:>15.1f}s {r['rasa_mb']:>7.0f}MB {r['actions_mb']:>10.0f}MB "
              f"{r['median_ms']:>6.0f}ms {r['p95_ms']:>6.0f}ms {r['msg_per_s']:>10.1f} {r['errors']:>7.0f}")
    if "stock" in rows:
        print(f"  ratio ours/stock: {rows['ours']['msg_per_s'] / rows['stock']['msg_per_s']:.1f}× messages/s, "
              f"{rows['stock']['startup_s'] / rows['ours']['startup_s']:.1f}× faster start, "
              f"{(rows['stock']['rasa_mb'] + rows['stock']['actions_mb']) / (rows['ours']['rasa_mb'] + rows['ours']['actions_mb']):.1f}× less memory")
    print("  targets: p95 ≤ 300 ms sequential, ≥ 2× stock msg/s, cold start < 30 s, memory < 1 GB; spaCy NLU: "
          "training ≤ 60 s, start ≤ 15 s, Rasa RSS ≤ 700 MB (training: the last one that made the model, "
          "cache included)")
    if not args.skip_make_run:
        cold = make_run_cold_start()
        if cold is not None:
            print(f"  cold start: `make run` (trained model present) → first answered message: {cold:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
