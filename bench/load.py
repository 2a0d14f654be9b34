"""Load suite: concurrent simulated users holding multi-turn conversations over Socket.IO (the widget's protocol)
and WeChat (signed XML), then an audit of every conversation's Rasa tracker: each user turn present once, in
order, each with a bot reply. Loopback only; bounded in users, turns and time; stops by itself.

Profiles, measured in the same run:
  embedded  one action server, Rasa server and gateway on SQLite
  stock     the same, with the stock DIET + TED model (bench/config_stock.yml)
  scaled    2 action servers, 2 Rasa servers, 2 gateways on PostgreSQL + Redis (what `make run-scaled` starts)
A suffix -<N>rasa runs N Rasa servers on the same SQLite tracker store, with the one action server and the one
gateway (embedded-2rasa is what `make run` starts; stock-2rasa): ours and stock with the same number of Rasa
servers, for a fair ratio.
--rounds R runs the whole list R times, one profile after the other (1 server, N servers, 1, N, …), so a busy
machine's drift falls on every profile alike; each run is printed, then the median of each profile.

With --faults (scaled profile), during the load: a Rasa server, a gateway and an action server are killed and
started again a few seconds later (as a supervisor would), PostgreSQL is restarted and Redis is stopped for 5 s.
Users on a lost gateway reconnect to the other one and re-send what was not acknowledged; a user who is told
"稍后再试" sends the message again, as people do. WeChat replies go passively or, past Tencent's 5-second window,
through a local stand-in of the customer-service API; each message must get its reply exactly once.

Usage: python -m bench.load [--users 10] [--conversations 2] [--rounds 1]
                            [--profiles embedded,embedded-2rasa,stock,stock-2rasa,scaled] [--faults]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import tempfile
from pathlib import Path

import psutil

from bench.client import WECHAT, audit, run_load
from bench.servers import SCRIPT, say
from bot.knowledge.ingest import ingest_corpus
from bot.launcher import ServerConfig, Servers, scaled_config
from bot.training import model_path, train

ROOT = Path(__file__).resolve().parent.parent
PROFILE = re.compile(r"(?P<kind>embedded|stock|scaled)(?:-(?P<rasa>\d+)rasa)?(?P<faults>-faults)?")
DEFAULT_PROFILES = "embedded,embedded-2rasa,stock,stock-2rasa,scaled"


def parse_profile(profile: str) -> tuple[str, int, bool]:
    """``stock-2rasa-faults`` → ("stock", 2, True); no -<N>rasa: one Rasa server (scaled: its own two)."""
    m = PROFILE.fullmatch(profile)
    if m is None:
        raise SystemExit(f"unknown profile {profile!r}: embedded, stock or scaled, then -<N>rasa, then -faults")
    return m["kind"], int(m["rasa"] or 0), bool(m["faults"])


def start(profile: str, tmp: Path, label: str = "") -> tuple[Servers, list[str]]:
    kind, rasa_servers, _ = parse_profile(profile)
    label = label or profile
    common: dict[str, object] = {"log_dir": tmp / f"logs-{label}"}
    if rasa_servers:
        common["rasa_instances"] = rasa_servers
    if kind == "scaled":
        config = scaled_config(rasa_port=23005, action_port=23055, gateway_port=26080, **common)
        config.extra_env.update(WECHAT)
    else:
        db_url = f"sqlite:///{tmp / f'policy-{label}.db'}"
        ingest_corpus(db_url, ROOT / "policy_corpus")
        model = model_path() if kind == "embedded" else model_path("stock", "var/models-stock")
        port = 21005 if kind == "embedded" else 22005
        config = ServerConfig(rasa_port=port, action_port=port + 50, gateway_port=port + 3000, model=model,
                              tracker_store_url=f"sqlite:///{tmp / f'tracker-{label}.db'}",
                              extra_env={"DATABASE_URL": db_url, **WECHAT}, **common)  # type: ignore[arg-type]
    servers = Servers(config)
    servers.start(timeout=300)
    for i, url in enumerate(config.rasa_urls()):  # each Rasa server's first turns load what it loads lazily
        for text in SCRIPT:
            say(url, f"warm-up-{i}", text)
    gateways = [f"http://{config.host}:{config.gateway_port + i}" for i in range(config.instances)]
    return servers, gateways


def rss_mb(servers: Servers) -> dict[str, float]:
    """Resident memory (MB) of each kind of server, all instances with their children added up."""
    out: dict[str, float] = {}
    for name, pid in servers.pids().items():
        try:
            procs = [psutil.Process(pid)]
            procs += procs[0].children(recursive=True)
            out[name.split("-")[0]] = out.get(name.split("-")[0], 0.0) + sum(p.memory_info().rss for p in procs) / 2**20
        except psutil.NoSuchProcess:
            continue
    return dict(sorted(out.items()))


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


def machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (every core, every process)."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--conversations", type=int, default=2, help="conversations per user, 8 turns each")
    parser.add_argument("--profiles", default=DEFAULT_PROFILES,
                        help="embedded, stock or scaled, each with -<N>rasa (N Rasa servers) and/or -faults")
    parser.add_argument("--rounds", type=int, default=1, help="run the profiles this many times, alternating")
    parser.add_argument("--faults", action="store_true", help="add embedded-faults and scaled-faults")
    parser.add_argument("--keep", type=Path, help="keep the servers' logs (and SQLite files) in this directory")
    args = parser.parse_args()
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    profiles = [p for p in args.profiles.split(",") if p]
    if args.faults:
        profiles += [f"{p}-faults" for p in ("embedded", "scaled") if f"{p}-faults" not in profiles]
    kinds = {parse_profile(p)[0] for p in profiles}
    if train() != 0:
        return 1
    if "stock" in kinds and train(config="bench/config_stock.yml", name="stock", out="var/models-stock") != 0:
        return 1
    runs: list[tuple[str, dict[str, float], dict[str, int], list[str]]] = []
    problems: list[str] = []
    cpu: list[tuple[str, dict[str, float]]] = []
    memory: list[tuple[str, dict[str, float]]] = []
    others: list[float] = []  # cores busy with other work on the machine during each run
    with tempfile.TemporaryDirectory() as tmp_dir:
        work = args.keep or Path(tmp_dir)
        work.mkdir(parents=True, exist_ok=True)
        for round_ in range(args.rounds):
            for profile in profiles:
                label = profile if args.rounds == 1 else f"{profile}-{round_ + 1}"
                servers, gateways = start(profile, work, label)
                try:
                    before, machine_before = cpu_seconds(servers), machine_busy_s()
                    figures, convs, notes = asyncio.run(run_load(servers, gateways, args.users, args.conversations,
                                                                 parse_profile(profile)[2]))
                    after, machine_after = cpu_seconds(servers), machine_busy_s()
                    ours = sum(after[k] - before.get(k, 0.0) for k in after)
                    others.append(max(0.0, machine_after - machine_before - ours) / figures["seconds"])
                    memory.append((profile, {**rss_mb(servers), "started in": max(servers.startup_seconds.values())}))
                    cpu.append((profile, {k: (after[k] - before.get(k, 0.0)) * 1000 / max(1.0, figures["messages"])
                                          for k in after}))
                    runs.append((profile, figures, audit(servers, convs, problems), notes))
                finally:
                    servers.stop()
                print(f"  {label}: {figures['msg_per_s']:.1f} msg/s", flush=True)
    print(f"load: {args.users} concurrent users (1 in 5 on WeChat, the rest on the widget's Socket.IO), "
          f"{args.conversations} × {len(SCRIPT)}-turn conversations each"
          + (f"; {args.rounds} rounds, the profiles alternating" if args.rounds > 1 else ""))
    print(f"  {'profile':<22} {'msg/s':>6} {'median':>7} {'p95':>7} {'p99':>7} {'errors':>6} {'稍后再试':>6} | "
          f"{'turns':>5} {'lost':>4} {'dup':>4} {'reord':>5} {'unanswered':>10} | {'WeChat msgs':>11} "
          f"{'no reply':>8} {'twice':>5}")
    for profile, f, a, notes in runs:
        print(f"  {profile:<22} {f['msg_per_s']:>6.1f} {f['median_ms']:>5.0f}ms {f['p95_ms']:>5.0f}ms "
              f"{f['p99_ms']:>5.0f}ms {f['errors']:>6.0f} {f['sorry']:>8.0f} | {a['turns']:>5} {a['lost']:>4} "
              f"{a['duplicated']:>4} {a['reordered']:>5} {a['unanswered']:>10} | {f['wechat_messages']:>11.0f} "
              f"{f['wechat_missing']:>8.0f} {f['wechat_duplicated']:>5.0f}")
        for note in notes:
            print(f"                         fault: {note}")
    for problem in problems:
        print(f"  {problem}")
    print(f"  CPU per message (ms), by process kind — where the time goes on this machine ({psutil.cpu_count()} "
          f"cores); cores busy with other work meanwhile; memory after the run (MB); seconds until every server answered:")
    for (profile, per), (_, mb), other in zip(cpu, memory, others):
        print(f"  {profile:<22} " + "  ".join(f"{k} {v:.1f}" for k, v in sorted(per.items()))
              + f"  | others {other:.1f} | " + "  ".join(f"{k} {v:.0f}" for k, v in mb.items()))
    for line in comparisons(runs):
        print(f"  {line}")
    print("  goals: 0 lost, 0 duplicated, 0 reordered; embedded ≥ 2× stock msg/s; p95 ≤ 1 s at 10 users")
    return 0


def comparisons(runs: list[tuple[str, dict[str, float], dict[str, int], list[str]]]) -> list[str]:
    """Messages/s of each profile (every run, and the median over runs), ours/stock with the same number of Rasa
    servers, and N Rasa servers against one for each pipeline."""
    rates: dict[str, list[float]] = {}
    for profile, figures, _, _ in runs:
        rates.setdefault(profile, []).append(figures["msg_per_s"])
    median = {p: statistics.median(r) for p, r in rates.items()}
    lines = [f"msg/s {p}: " + " / ".join(f"{r:.1f}" for r in rs) + (f" (median {median[p]:.1f})" if len(rs) > 1 else "")
             for p, rs in rates.items()]
    by_count: dict[tuple[str, int], float] = {}  # (pipeline, Rasa servers) → median msg/s, without faults
    for profile, rate in median.items():
        kind, n, faults = parse_profile(profile)
        if kind != "scaled" and not faults:
            by_count[(kind, n or 1)] = rate
    counts = sorted({n for _, n in by_count})
    for n in counts:
        if ("embedded", n) in by_count and ("stock", n) in by_count:
            lines.append(f"embedded/stock with {n} Rasa server{'s' if n > 1 else ''} each: "
                         f"{by_count[('embedded', n)] / by_count[('stock', n)]:.2f}× messages/s")
    for kind in ("embedded", "stock"):
        for n in counts:
            if n > 1 and (kind, 1) in by_count and (kind, n) in by_count:
                lines.append(f"{kind}: {n} Rasa servers / 1: {by_count[(kind, n)] / by_count[(kind, 1)]:.2f}× "
                             f"messages/s")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
