"""Load suite: concurrent simulated users holding multi-turn conversations over Socket.IO (the widget's protocol)
and WeChat (signed XML), then an audit of every conversation's Rasa tracker: each user turn present once, in
order, each with a bot reply. Loopback only; bounded in users, turns and time; stops by itself.

Profiles, measured in the same run:
  embedded  one action server, Rasa and gateway on SQLite (what `make run` starts)
  stock     the same, with the stock DIET + TED model (bench/config_stock.yml)
  scaled    2 action servers, 2 Rasa servers, 2 gateways on PostgreSQL + Redis (what `make run-scaled` starts)

With --faults (scaled profile): during the load, one Rasa server and one gateway are killed; users on the lost
gateway reconnect to the other one and re-send what was not acknowledged.

Usage: python bench/load.py [--users 10] [--conversations 2] [--profiles embedded,stock,scaled] [--faults]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import socketio  # noqa: E402

from bench.servers import SCRIPT  # noqa: E402
from bot.gateway.wechat_sim import WeChatUser  # noqa: E402
from bot.knowledge.corpus import load_corpus  # noqa: E402
from bot.knowledge.ingest import ingest  # noqa: E402
from bot.knowledge.store import PolicyStore  # noqa: E402
from bot.launcher import ServerConfig, Servers, scaled_config  # noqa: E402
from bot.training import model_path, train  # noqa: E402

SORRY_MARK = "稍后再试"
#: capacity is measured here, not the per-address limits (every simulated user comes from 127.0.0.1)
NO_LIMITS = {"RATE_LIMIT_PER_IP_PER_MIN": "0", "RATE_LIMIT_PER_CONVERSATION_PER_MIN": "0",
             "RATE_LIMIT_CALLBACK_PER_IP_PER_MIN": "0"}
WECHAT = {**NO_LIMITS, "WECHAT_TOKEN": "load-token", "WECHAT_APP_ID": "wxload0000000000", "WECHAT_APP_SECRET": "load-secret",
          "WECHAT_API_BASE": "http://127.0.0.1:9", "WECHAT_REPLY_DEADLINE_S": "20", "WECHAT_MAX_SKEW_S": "0"}
TURN_TIMEOUT = 30.0


@dataclass
class Conversation:
    conversation_id: str
    sent: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    sorry: int = 0


class WebUser:
    """One widget user: sends a message, waits for its first reply; on a dropped gateway, reconnects to the next
    gateway with the same session and re-sends the unacknowledged message (the widget's outbox)."""

    def __init__(self, gateways: list[str]) -> None:
        self.gateways = gateways
        self.gateway_index = 0
        self.session_id = uuid.uuid4().hex
        self.sio: socketio.AsyncClient | None = None
        self.replies: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def connect(self) -> None:
        for attempt in range(len(self.gateways) * 3):
            url = self.gateways[(self.gateway_index + attempt) % len(self.gateways)]
            sio = socketio.AsyncClient(reconnection=False)
            sio.on("bot_uttered", self._on_reply)
            try:
                await sio.connect(url, transports=["websocket"], wait_timeout=5)
                await sio.call("session_request", {"session_id": self.session_id}, timeout=10)
            except Exception:  # noqa: BLE001 - that gateway is down: the next one
                await asyncio.sleep(0.3)
                continue
            self.sio, self.gateway_index = sio, (self.gateway_index + attempt) % len(self.gateways)
            return
        raise ConnectionError("no gateway reachable")

    async def _on_reply(self, data: dict[str, Any]) -> None:
        fut = self.replies.get(data.get("in_reply_to", ""))
        if fut is not None and not fut.done():
            fut.set_result(data)

    async def say(self, text: str) -> dict[str, Any]:
        message_id = uuid.uuid4().hex[:16]
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies[message_id] = fut
        deadline = time.monotonic() + TURN_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if self.sio is None or not self.sio.connected:
                    await self.connect()
                assert self.sio is not None
                await self.sio.call("user_uttered", {"message": text, "session_id": self.session_id,
                                                     "customData": {"message_id": message_id}}, timeout=10)
                return await asyncio.wait_for(asyncio.shield(fut), timeout=max(0.1, deadline - time.monotonic()))
            except (socketio.exceptions.SocketIOError, ConnectionError, asyncio.TimeoutError, OSError):
                if fut.done():
                    return fut.result()
                if self.sio is not None:
                    try:
                        await self.sio.disconnect()
                    except Exception:  # noqa: BLE001
                        pass
                self.sio = None
                self.gateway_index += 1
                await asyncio.sleep(0.2)
        raise TimeoutError(text)

    async def close(self) -> None:
        if self.sio is not None and self.sio.connected:
            await self.sio.disconnect()


async def web_conversation(gateways: list[str]) -> Conversation:
    user = WebUser(gateways)
    conv = Conversation(f"web:{user.session_id}")
    try:
        for text in SCRIPT:
            started = time.perf_counter()
            try:
                reply = await user.say(text)
            except Exception:  # noqa: BLE001 - counted
                conv.errors += 1
                continue
            conv.sent.append(text)
            conv.latencies.append(time.perf_counter() - started)
            conv.sorry += SORRY_MARK in (reply.get("text") or "")
    finally:
        await user.close()
    return conv


async def wechat_conversation(gateways: list[str], session: aiohttp.ClientSession) -> Conversation:
    users = [WeChatUser(f"{g}/wechat", WECHAT["WECHAT_TOKEN"], WECHAT["WECHAT_APP_ID"]) for g in gateways]
    openid = users[0].openid
    for u in users:
        u.openid = openid
    conv = Conversation(f"wechat:{openid}")
    for i, text in enumerate(SCRIPT):
        fields = users[0].message(text=text)
        started = time.perf_counter()
        for attempt in range(len(users) * 2):  # WeChat retries; with two gateways, a retry may reach the other
            try:
                reply = await users[(i + attempt) % len(users)].send(session, fields)
                break
            except Exception:  # noqa: BLE001
                await asyncio.sleep(0.3)
        else:
            conv.errors += 1
            continue
        conv.sent.append(text)
        conv.latencies.append(time.perf_counter() - started)
        conv.sorry += SORRY_MARK in (reply or "")
    return conv


def audit(servers: Servers, conversations: list[Conversation]) -> dict[str, int]:
    """Compare what each user sent with the Rasa tracker: lost, duplicated, reordered, unanswered turns."""
    import urllib.request
    from urllib.parse import quote

    result = {"turns": 0, "lost": 0, "duplicated": 0, "reordered": 0, "unanswered": 0}
    base = servers.config.rasa_urls()[0] if servers.config.instances > 1 else servers.config.rasa_url
    for conv in conversations:
        url = f"{base}/conversations/{quote(conv.conversation_id, safe=':')}/tracker?token={servers.token}"
        with urllib.request.urlopen(url, timeout=30) as resp:
            events = json.loads(resp.read())["events"]
        users = [(i, e.get("text")) for i, e in enumerate(events) if e["event"] == "user"]
        texts = [t for _, t in users]
        result["turns"] += len(conv.sent)
        result["lost"] += sum(max(0, conv.sent.count(t) - texts.count(t)) for t in set(conv.sent))
        result["duplicated"] += sum(max(0, texts.count(t) - conv.sent.count(t)) for t in set(texts))
        result["reordered"] += int([t for t in texts if t in conv.sent] != [t for t in conv.sent if t in texts])
        for n, (i, _) in enumerate(users):
            end = users[n + 1][0] if n + 1 < len(users) else len(events)
            result["unanswered"] += not any(e["event"] == "bot" for e in events[i:end])
    return result


async def run_load(servers: Servers, gateways: list[str], users: int, conversations: int,
                   faults: bool) -> tuple[dict[str, float], list[Conversation], list[str]]:
    notes: list[str] = []

    async def one_user(n: int, session: aiohttp.ClientSession) -> list[Conversation]:
        out = []
        for _ in range(conversations):
            if n % 5 == 4:  # one user in five is on WeChat
                out.append(await wechat_conversation(gateways, session))
            else:
                out.append(await web_conversation(gateways[n % len(gateways):] + gateways[:n % len(gateways)]))
        return out

    async def inject_faults() -> None:
        await asyncio.sleep(4)
        servers.kill("rasa-2")
        notes.append(f"t+4s killed rasa-2 (pid gone); gateways fail over to rasa on :{servers.config.rasa_port}")
        await asyncio.sleep(4)
        servers.kill("gateway-2")
        notes.append("t+8s killed gateway-2; its users reconnect to gateway :%d and re-send" % servers.config.gateway_port)

    started = time.perf_counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TURN_TIMEOUT)) as session:
        tasks = [one_user(n, session) for n in range(users)]
        if faults:
            results = await asyncio.gather(*tasks, inject_faults())
            results = results[:-1]
        else:
            results = await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    convs = [c for r in results for c in r]
    lat = sorted(x * 1000 for c in convs for x in c.latencies)
    figures = {
        "messages": float(len(lat)), "seconds": elapsed, "msg_per_s": len(lat) / elapsed,
        "median_ms": statistics.median(lat) if lat else 0.0,
        "p95_ms": lat[int(0.95 * (len(lat) - 1))] if lat else 0.0,
        "p99_ms": lat[int(0.99 * (len(lat) - 1))] if lat else 0.0,
        "errors": float(sum(c.errors for c in convs)), "sorry": float(sum(c.sorry for c in convs)),
    }
    return figures, convs, notes


def start(profile: str, tmp: Path) -> tuple[Servers, list[str]]:
    common = {"log_dir": tmp / f"logs-{profile}"}
    if profile == "scaled":
        config = scaled_config(rasa_port=35005, action_port=35055, gateway_port=38080, **common)
        config.extra_env.update(WECHAT)
    else:
        db_url = f"sqlite:///{tmp / f'policy-{profile}.db'}"
        store = PolicyStore.from_url(db_url)
        ingest(store.engine, load_corpus(ROOT / "policy_corpus"), progress=lambda _: None)
        store.engine.dispose()
        model = model_path() if profile == "embedded" else model_path("stock", "var/models-stock")
        port = 45005 if profile == "embedded" else 46005
        config = ServerConfig(rasa_port=port, action_port=port + 50, gateway_port=port + 3000, model=model,
                              tracker_store_url=f"sqlite:///{tmp / f'tracker-{profile}.db'}",
                              extra_env={"DATABASE_URL": db_url, **WECHAT}, **common)
    servers = Servers(config)
    servers.start(timeout=300)
    gateways = [f"http://{config.host}:{config.gateway_port + i}" for i in range(config.instances)]
    return servers, gateways


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--conversations", type=int, default=2, help="conversations per user, 8 turns each")
    parser.add_argument("--profiles", default="embedded,stock,scaled")
    parser.add_argument("--faults", action="store_true", help="kill a Rasa server and a gateway during the scaled run")
    args = parser.parse_args()
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    profiles = [p for p in args.profiles.split(",") if p]
    if train() != 0:
        return 1
    if "stock" in profiles and train(config="bench/config_stock.yml", name="stock", out="var/models-stock") != 0:
        return 1
    rows: dict[str, tuple[dict[str, float], dict[str, int], list[str]]] = {}
    with tempfile.TemporaryDirectory() as tmp_dir:
        for profile in profiles:
            servers, gateways = start(profile, Path(tmp_dir))
            try:
                figures, convs, notes = asyncio.run(run_load(servers, gateways, args.users, args.conversations,
                                                             args.faults and profile == "scaled"))
                rows[profile] = (figures, audit(servers, convs), notes)
            finally:
                servers.stop()
    print(f"load: {args.users} concurrent users (1 in 5 on WeChat, the rest on the widget's Socket.IO), "
          f"{args.conversations} × {len(SCRIPT)}-turn conversations each")
    print(f"  {'profile':<9} {'msg/s':>6} {'median':>7} {'p95':>7} {'p99':>7} {'errors':>6} {'稍后再试':>6} | "
          f"{'turns':>5} {'lost':>4} {'dup':>4} {'reord':>5} {'unanswered':>10}")
    for profile, (f, a, notes) in rows.items():
        print(f"  {profile:<9} {f['msg_per_s']:>6.1f} {f['median_ms']:>5.0f}ms {f['p95_ms']:>5.0f}ms "
              f"{f['p99_ms']:>5.0f}ms {f['errors']:>6.0f} {f['sorry']:>8.0f} | {a['turns']:>5} {a['lost']:>4} "
              f"{a['duplicated']:>4} {a['reordered']:>5} {a['unanswered']:>10}")
        for note in notes:
            print(f"            fault: {note}")
    if "embedded" in rows and "stock" in rows:
        print(f"  embedded/stock: {rows['embedded'][0]['msg_per_s'] / rows['stock'][0]['msg_per_s']:.1f}× messages/s")
    print("  goals: 0 lost, 0 duplicated, 0 reordered; embedded ≥ 2× stock msg/s; p95 ≤ 1 s at 10 users")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
