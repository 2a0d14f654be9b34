"""Load suite: concurrent simulated users holding multi-turn conversations over Socket.IO (the widget's protocol)
and WeChat (signed XML), then an audit of every conversation's Rasa tracker: each user turn present once, in
order, each with a bot reply. Loopback only; bounded in users, turns and time; stops by itself.

Profiles, measured in the same run:
  embedded  one action server, Rasa and gateway on SQLite (what `make run` starts)
  stock     the same, with the stock DIET + TED model (bench/config_stock.yml)
  scaled    2 action servers, 2 Rasa servers, 2 gateways on PostgreSQL + Redis (what `make run-scaled` starts)

With --faults (scaled profile), during the load: a Rasa server, a gateway and an action server are killed and
started again a few seconds later (as a supervisor would), PostgreSQL is restarted and Redis is stopped for 5 s.
Users on a lost gateway reconnect to the other one and re-send what was not acknowledged; a user who is told
"稍后再试" sends the message again, as people do. WeChat replies go passively or, past Tencent's 5-second window,
through a local stand-in of the customer-service API; each message must get its reply exactly once.

Usage: python -m bench.load [--users 10] [--conversations 2] [--profiles embedded,stock,scaled] [--faults]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import psutil

from bench.client import WECHAT, audit, run_load
from bench.servers import SCRIPT
from bot.knowledge.ingest import ingest_corpus
from bot.launcher import ServerConfig, Servers, scaled_config
from bot.training import model_path, train

ROOT = Path(__file__).resolve().parent.parent



def start(profile: str, tmp: Path, label: str = "") -> tuple[Servers, list[str]]:
    label = label or profile
    common = {"log_dir": tmp / f"logs-{label}"}
    if profile == "scaled":
        config = scaled_config(rasa_port=23005, action_port=23055, gateway_port=26080, **common)
        config.extra_env.update(WECHAT)
    else:
        db_url = f"sqlite:///{tmp / f'policy-{label}.db'}"
        ingest_corpus(db_url, ROOT / "policy_corpus")
        model = model_path() if profile == "embedded" else model_path("stock", "var/models-stock")
        port = 21005 if profile == "embedded" else 22005
        config = ServerConfig(rasa_port=port, action_port=port + 50, gateway_port=port + 3000, model=model,
                              tracker_store_url=f"sqlite:///{tmp / f'tracker-{label}.db'}",
                              extra_env={"DATABASE_URL": db_url, **WECHAT}, **common)
    servers = Servers(config)
    servers.start(timeout=300)
    gateways = [f"http://{config.host}:{config.gateway_port + i}" for i in range(config.instances)]
    return servers, gateways


def cpu_seconds(servers: Servers) -> dict[str, float]:
    """CPU seconds used so far by each kind of server (all instances, with their children) and by this script."""
    out: dict[str, float] = {"load-client": sum(psutil.Process().cpu_times()[:2])}
    for name, pid in servers.pids().items():
        kind = name.split("-")[0]
        try:
            procs = [psutil.Process(pid)]
            procs += procs[0].children(recursive=True)
            out[kind] = out.get(kind, 0.0) + sum(sum(p.cpu_times()[:2]) for p in procs)
        except psutil.NoSuchProcess:
            continue
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--conversations", type=int, default=2, help="conversations per user, 8 turns each")
    parser.add_argument("--profiles", default="embedded,stock,scaled",
                        help="any of embedded, stock, scaled, embedded-faults, scaled-faults")
    parser.add_argument("--faults", action="store_true", help="add embedded-faults and scaled-faults")
    parser.add_argument("--keep", type=Path, help="keep the servers' logs (and SQLite files) in this directory")
    args = parser.parse_args()
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    profiles = [p for p in args.profiles.split(",") if p]
    if args.faults:
        profiles += [f"{p}-faults" for p in ("embedded", "scaled") if f"{p}-faults" not in profiles]
    if train() != 0:
        return 1
    if "stock" in profiles and train(config="bench/config_stock.yml", name="stock", out="var/models-stock") != 0:
        return 1
    rows: dict[str, tuple[dict[str, float], dict[str, int], list[str]]] = {}
    problems: list[str] = []
    cpu: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp_dir:
        work = args.keep or Path(tmp_dir)
        work.mkdir(parents=True, exist_ok=True)
        for profile in profiles:
            servers, gateways = start(profile.removesuffix("-faults"), work, profile)
            try:
                before = cpu_seconds(servers)
                figures, convs, notes = asyncio.run(run_load(servers, gateways, args.users, args.conversations,
                                                             profile.endswith("-faults")))
                after = cpu_seconds(servers)
                cpu[profile] = {k: (after[k] - before.get(k, 0.0)) * 1000 / max(1.0, figures["messages"])
                                for k in after}
                rows[profile] = (figures, audit(servers, convs, problems), notes)
            finally:
                servers.stop()
    print(f"load: {args.users} concurrent users (1 in 5 on WeChat, the rest on the widget's Socket.IO), "
          f"{args.conversations} × {len(SCRIPT)}-turn conversations each")
    print(f"  {'profile':<15} {'msg/s':>6} {'median':>7} {'p95':>7} {'p99':>7} {'errors':>6} {'稍后再试':>6} | "
          f"{'turns':>5} {'lost':>4} {'dup':>4} {'reord':>5} {'unanswered':>10} | {'WeChat msgs':>11} "
          f"{'no reply':>8} {'twice':>5}")
    for profile, (f, a, notes) in rows.items():
        print(f"  {profile:<15} {f['msg_per_s']:>6.1f} {f['median_ms']:>5.0f}ms {f['p95_ms']:>5.0f}ms "
              f"{f['p99_ms']:>5.0f}ms {f['errors']:>6.0f} {f['sorry']:>8.0f} | {a['turns']:>5} {a['lost']:>4} "
              f"{a['duplicated']:>4} {a['reordered']:>5} {a['unanswered']:>10} | {f['wechat_messages']:>11.0f} "
              f"{f['wechat_missing']:>8.0f} {f['wechat_duplicated']:>5.0f}")
        for note in notes:
            print(f"                  fault: {note}")
    for problem in problems:
        print(f"  {problem}")
    print("  CPU per message (ms), by process kind — where the time goes on this machine:")
    for profile, per in cpu.items():
        print(f"  {profile:<15} " + "  ".join(f"{k} {v:.1f}" for k, v in sorted(per.items())))
    if "embedded" in rows and "stock" in rows:
        print(f"  embedded/stock: {rows['embedded'][0]['msg_per_s'] / rows['stock'][0]['msg_per_s']:.1f}× messages/s")
    print("  goals: 0 lost, 0 duplicated, 0 reordered; embedded ≥ 2× stock msg/s; p95 ≤ 1 s at 10 users")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
