"""Start and stop the bot's servers: the action server, Rasa and the conversation gateway.

Used by `make run` (foreground until Ctrl-C), by the end-to-end tests (one set of servers per test session)
and by the benchmarks. Everything binds to 127.0.0.1; Rasa's HTTP API is protected by a token.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import PROJECT_DIR, gateway_python, local_secret, private_dir, private_file, rasa_bin, rasa_python

log = logging.getLogger(__name__)
VAR = PROJECT_DIR / "var"


#: Rasa servers `make run` starts. One Rasa process is the embedded profile's bottleneck: it spends about twice the
#: CPU per message of the action server, gateway and client together and works on one core; a second one on the
#: same tracker store and action server lets the second core work too (docs/benchmarks.md: 1.42–1.62× messages/s
#: on 2 cores, for about 650 MB more). Never more than the machine's cores; RASA_SERVERS or --rasa-servers overrides.
EMBEDDED_RASA_SERVERS = 2


def embedded_rasa_servers() -> int:
    """How many Rasa servers `make run` starts: RASA_SERVERS if set, else EMBEDDED_RASA_SERVERS up to the cores."""
    raw = os.environ.get("RASA_SERVERS", "").strip()
    if raw:
        return max(1, int(raw))
    return max(1, min(EMBEDDED_RASA_SERVERS, os.cpu_count() or 1))


def api_token() -> str:
    """RASA_TOKEN from the environment, else one generated once and kept in var/rasa_token (0600, not committed)."""
    return os.environ.get("RASA_TOKEN") or local_secret("rasa_token")


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_port: int = 5055
    gateway_port: int = 8080
    model: Path = PROJECT_DIR / "models"
    log_dir: Path = VAR / "logs"
    tracker_store_url: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    #: several of each server (the scaled profile): instance i listens on each base port + i
    instances: int = 1
    #: Rasa servers, when not one per instance (0 = ``instances``): Rasa server i listens on rasa_port + i and calls
    #: action server i % instances; every gateway knows them all (RASA_URLS). Nothing else is doubled
    rasa_instances: int = 0

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://{self.host}:{self.action_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.host}:{self.gateway_port}"

    @property
    def rasa_count(self) -> int:
        return self.rasa_instances or self.instances

    def rasa_urls(self) -> list[str]:
        return [f"http://{self.host}:{self.rasa_port + i}" for i in range(self.rasa_count)]

    def env(self, instance: int = 0) -> dict[str, str]:
        tracker = self.tracker_store_url or os.environ.get("TRACKER_STORE_URL") or f"sqlite:///{VAR / 'tracker.db'}"
        env = {
            **os.environ,
            "RASA_TELEMETRY_ENABLED": "false",
            "SANIC_HOST": self.host,
            "ACTION_ENDPOINT_URL": f"http://{self.host}:{self.action_port + instance % self.instances}/webhook",
            "TRACKER_STORE_DIALECT": tracker.split(":", 1)[0].split("+", 1)[0],
            "TRACKER_STORE_URL": tracker,
            "LOCK_STORE_TYPE": os.environ.get("LOCK_STORE_TYPE", "in_memory"),
            "LOCK_STORE_URL": os.environ.get("LOCK_STORE_URL", ""),
            "LOCK_STORE_PORT": os.environ.get("LOCK_STORE_PORT", "6379"),
            "LOCK_STORE_PASSWORD": os.environ.get("LOCK_STORE_PASSWORD", ""),
            "PYTHONPATH": str(PROJECT_DIR),
            "RASA_URL": self.rasa_url,
            "RASA_TOKEN": api_token(),
            # widget session ids → conversation ids (keyed hash); the same key on every gateway of this machine
            "WEB_SESSION_KEY": os.environ.get("WEB_SESSION_KEY") or local_secret("web_session_key"),
            "GATEWAY_HOST": self.host,
            # the staff cookie is Secure unless said otherwise; this local profile serves plain HTTP on loopback
            "HELPDESK_COOKIE_SECURE": os.environ.get("HELPDESK_COOKIE_SECURE") or (
                "false" if self.host in ("127.0.0.1", "localhost", "::1") else "true"),
            "GATEWAY_PORT": str(self.gateway_port + instance),
            "RASA_URLS": ",".join(self.rasa_urls()),
            **self.extra_env,
        }
        return env


def actions_command(port: int) -> list[str]:
    """The action server (actions/server.py), a process of Rasa's environment: bot/ never imports the actions."""
    return [rasa_python(), "-m", "actions.server", "--port", str(port)]


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> float:
    """Wait until GET url answers 200; return the seconds it took. Fails fast if the process died."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


#: a server that dies is started again, unless it died this often within the window
MAX_RESTARTS = 3
RESTART_WINDOW_S = 60.0


class Servers:
    """The action server and Rasa as child processes, logging to var/logs/."""

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config or ServerConfig()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.token = api_token()
        self.startup_seconds: dict[str, float] = {}
        self._specs: dict[str, tuple[list[str], int, str]] = {}  # name → (command, instance, health URL)

    def _spawn(self, name: str, cmd: list[str], instance: int = 0, health: str = "") -> subprocess.Popen[bytes]:
        self._specs[name] = (cmd, instance, health)
        private_dir(self.config.log_dir)
        out = private_file(self.config.log_dir / f"{name}.log")  # 0600: logs hold what users said
        try:
            proc = subprocess.Popen(cmd, cwd=PROJECT_DIR, env=self.config.env(instance), stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            os.close(out)
        self.procs[name] = proc
        return proc

    def start_actions(self, timeout: float = 60) -> subprocess.Popen[bytes]:
        c = self.config
        actions = self._spawn("actions", actions_command(c.action_port))
        wait_http(f"{c.action_url}/health", timeout, actions)
        return actions

    @staticmethod
    def name(kind: str, instance: int) -> str:
        return kind if instance == 0 else f"{kind}-{instance + 1}"

    def start(self, timeout: float = 180, gateway: bool = True) -> None:
        c = self.config
        started = time.perf_counter()
        waits: list[tuple[str, str, subprocess.Popen[bytes]]] = []
        for i in range(max(c.instances, c.rasa_count)):
            if i < c.instances:
                health = f"http://{c.host}:{c.action_port + i}/health"
                actions = self._spawn(self.name("actions", i), actions_command(c.action_port + i), i, health)
                waits.append((self.name("actions", i), health, actions))
            if gateway and i < c.instances:
                health = f"http://{c.host}:{c.gateway_port + i}/healthz"
                gw = self._spawn(self.name("gateway", i), [gateway_python(), "-m", "bot", "gateway"], i, health)
                waits.append((self.name("gateway", i), health, gw))
            if i >= c.rasa_count:
                continue
            health = f"http://{c.host}:{c.rasa_port + i}/"
            # the token reaches Rasa through the environment (RASA_TOKEN), never its command line (`ps`); no --cors:
            # only the gateway and the action server call Rasa, and neither is a browser
            rasa = self._spawn(self.name("rasa", i), [
                rasa_python(), "-m", "bot", "serve-rasa", "--model", str(c.model), "--enable-api",
                "--interface", c.host, "--port", str(c.rasa_port + i), "--endpoints", "endpoints.yml",
                "--credentials", "credentials.yml",
            ], i, health)
            waits.append((self.name("rasa", i), health, rasa))
        try:
            for name, url, proc in waits:
                wait_http(url, timeout, proc)
                self.startup_seconds[name] = time.perf_counter() - started
        except BaseException:  # Ctrl-C while starting too: the servers run in their own sessions, stop them
            self.stop()
            raise

    def kill(self, name: str) -> None:
        """Kill one server at once (the fault suite)."""
        proc = self.procs[name]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def restart(self, name: str, timeout: float = 120) -> float:
        """Start a killed server again, as a supervisor would; return the seconds until it answers."""
        self.kill(name)
        cmd, instance, health = self._specs[name]
        return wait_http(health, timeout, self._spawn(name, cmd, instance, health))

    def supervise(self, stop: Callable[[], bool], max_restarts: int = MAX_RESTARTS,
                  window_s: float = RESTART_WINDOW_S) -> int:
        """Keep every server running until ``stop()``: one that dies is started again, as systemd or Kubernetes
        would. Returns 1 when a server died more than ``max_restarts`` times within ``window_s``, else 0."""
        restarts: dict[str, list[float]] = {}
        while not stop():
            for name, proc in list(self.procs.items()):
                if proc.poll() is None:
                    continue
                log_file = self.config.log_dir / f"{name}.log"
                recent = [t for t in restarts.get(name, []) if time.monotonic() - t < window_s]
                if len(recent) >= max_restarts:
                    print(f"{name} exited with code {proc.returncode} {len(recent) + 1} times within {window_s:.0f} s;"
                          f" giving up — see {log_file}", file=sys.stderr, flush=True)
                    return 1
                print(f"{name} exited with code {proc.returncode}; starting it again (see {log_file})",
                      file=sys.stderr, flush=True)
                restarts[name] = [*recent, time.monotonic()]
                try:
                    self.restart(name)
                except (RuntimeError, TimeoutError) as exc:
                    print(f"{name} did not come back: {exc}", file=sys.stderr, flush=True)
            time.sleep(0.5)
        return 0

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.procs.items()}

    def __enter__(self) -> Servers:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_rasa(args: list[str]) -> None:
    """`rasa run ARGS --auth-token $RASA_TOKEN`, with the token added inside this process: it never appears on a
    command line, where every user of the machine could read it (`ps`, /proc/*/cmdline)."""
    from rasa.__main__ import main

    token = os.environ.get("RASA_TOKEN") or api_token()
    sys.argv = ["rasa", "run", *args, f"--auth-token={token}"]  # "=": a token starting with "-" is no option
    main()


def shell(config: ServerConfig | None = None) -> int:
    """`rasa shell` in this terminal, with the action server started beside it."""
    servers = Servers(config)
    servers.start_actions()
    try:
        return subprocess.call([rasa_bin(), "shell", "--model", str(servers.config.model), "--endpoints",
                                "endpoints.yml"], cwd=PROJECT_DIR, env=servers.config.env())
    finally:
        servers.stop()


def scaled_services() -> dict[str, str]:
    """Start PostgreSQL and Redis (scripts/scaled-services.sh) and return the environment of the scaled profile."""
    out = subprocess.run(["bash", str(PROJECT_DIR / "scripts" / "scaled-services.sh")], check=True,
                         capture_output=True, text=True).stdout
    env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    password = env.pop("REDIS_PASSWORD", "")
    port = env.pop("REDIS_PORT", "6379")
    os.environ["REDISCLI_AUTH"] = password  # redis-cli run from here (the fault suite) authenticates
    return {**env, "LOCK_STORE_TYPE": "redis", "LOCK_STORE_URL": "127.0.0.1", "LOCK_STORE_PORT": port,
            "LOCK_STORE_PASSWORD": password}


def scaled_config(**overrides: object) -> ServerConfig:
    """Two action servers, two Rasa servers and two gateways on PostgreSQL and Redis, the store ingested."""
    from bot.knowledge.ingest import ingest_corpus
    from bot.settings import Settings

    env = scaled_services()
    ingest_corpus(env["DATABASE_URL"], Settings.from_env().corpus_dir)
    options: dict[str, object] = {"instances": 2, "tracker_store_url": env["TRACKER_STORE_URL"], "extra_env": env}
    options.update(overrides)
    return ServerConfig(**options)  # type: ignore[arg-type]


def run_foreground(config: ServerConfig | None = None) -> int:
    """Start everything and keep it running until Ctrl-C: a server that dies is started again."""
    servers = Servers(config)
    stop = starting = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True
        if starting:  # out of the waits in start(), which stops what it started
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print("starting the action server and Rasa (logs in var/logs/) …", flush=True)
    started = time.perf_counter()
    starting = True
    try:
        servers.start()
    except KeyboardInterrupt:
        print("stopped while starting", file=sys.stderr)
        return 130
    starting = False
    c = servers.config
    print(f"ready in {time.perf_counter() - started:.1f}s", flush=True)
    print(f"  open the chat:  {c.gateway_url}/   (embed: <script src=\"{c.gateway_url}/widget.js\" defer></script>)")
    if c.instances > 1:
        print(f"  scaled profile: {c.instances} gateways from :{c.gateway_port}, {c.rasa_count} Rasa servers from "
              f":{c.rasa_port}, {c.instances} action servers from :{c.action_port}; PostgreSQL + Redis")
    elif c.rasa_count > 1:
        print(f"  {c.rasa_count} Rasa servers from :{c.rasa_port} on one tracker store, one action server, one gateway")
    print(f"  Rasa REST:   POST {c.rasa_url}/webhooks/rest/webhook  {{\"sender\": \"me\", \"message\": \"你好\"}}")
    print(f"  Rasa API:    {c.rasa_url} (token in var/rasa_token or RASA_TOKEN)")
    print(f"  actions:     {c.action_url}")
    print("Ctrl-C stops everything.", flush=True)
    try:
        return servers.supervise(lambda: stop)
    finally:
        print("stopping …", flush=True)
        servers.stop()
