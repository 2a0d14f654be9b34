"""Settings from the environment, read when asked for (never at import)."""

from __future__ import annotations

import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent


def rasa_python() -> str:
    """The interpreter of Rasa's environment (.venv, Python 3.10): Rasa, the action server, training."""
    found = os.environ.get("RASA_PYTHON") or str(PROJECT_DIR / ".venv" / "bin" / "python")
    return found if Path(found).exists() else sys.executable


def gateway_python() -> str:
    """The interpreter of the gateway's environment (.venv-gateway, Python 3.12, current aiohttp/socketio)."""
    found = os.environ.get("GATEWAY_PYTHON") or str(PROJECT_DIR / ".venv-gateway" / "bin" / "python")
    return found if Path(found).exists() else sys.executable


def rasa_bin() -> str:
    return str(Path(rasa_python()).parent / "rasa")


def private_dir(path: Path) -> Path:
    """A directory only this user can enter (0700), created with that mode (var/ and what is below it)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def private_file(path: Path) -> int:
    """Open ``path`` for appending, created 0600 from the start (never readable by others, not even briefly)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    if os.fstat(fd).st_mode & 0o077:
        os.fchmod(fd, 0o600)
    return fd


def local_secret(name: str, directory: Path | None = None) -> str:
    """A random secret kept in var/<name> (0600), generated on first use; every process on this machine reads the
    same one. Created with O_EXCL, so two processes starting at once agree on it."""
    path = (directory or PROJECT_DIR / "var") / name
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it right now
            value = path.read_text(encoding="utf-8").strip()
            if value:
                return value
            time.sleep(0.05)
        raise RuntimeError(f"{path} is empty") from None
    value = secrets.token_hex(32)  # hex: never starts with "-" (a command-line option) and safe in URLs
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value)
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str
    corpus_dir: Path
    # the gateway (bot/gateway)
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""
    rasa_timeout_s: float = 10.0
    rasa_retry_s: float = 6.0  # how long a turn that failed without running may be asked again
    max_message_chars: int = 2000
    allowed_origins: str = "*"
    web_session_key: str = ""  # widget session id → conversation id (keyed hash); empty: var/web_session_key
    # the scaled profile: several Rasa servers (RASA_URLS, comma-separated) and Redis for state shared by gateways
    rasa_urls: tuple[str, ...] = ()
    # whether a conversation may move to another Rasa server when its own refuses connections: only safe when every
    # Rasa server shares one lock store (Redis). Unset: true when Rasa's LOCK_STORE_TYPE is redis, else false
    rasa_failover: bool = False
    redis_url: str = ""
    # the WeChat Official Account channel (/wechat) and the WeCom channel (/wecom); see docs/wechat.md
    wechat_token: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_aes_key: str = ""
    wecom_token: str = ""
    wecom_corp_id: str = ""
    wecom_aes_key: str = ""
    wecom_agent_id: str = ""
    wecom_secret: str = ""
    wechat_max_skew_s: int = 300  # both channels: reject signed timestamps further from now (0: off)
    wechat_reply_deadline_s: float = 4.5  # both channels: reply passively within this, else via the API
    wechat_api_base: str = "https://api.weixin.qq.com"
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    # the helpdesk (bot/helpdesk): its tables live in this database (default: DATABASE_URL)
    helpdesk_database_url: str = ""
    helpdesk_hours: str = "mon-fri 09:00-18:00"  # Beijing time; outside them requests wait, users are told when
    helpdesk_timeout_s: int = 600  # no staff reply for this long → back to the bot
    helpdesk_cookie_secure: bool = True  # false only for plain-HTTP local use (HELPDESK_COOKIE_SECURE=false)
    helpdesk_max_open_per_address: int = 3  # open handoffs per widget user address (0: off)
    helpdesk_queue_expiry_h: float = 24.0  # a handoff queued this long unclaimed goes back to the bot
    # operations (docs/operations.md): rate limits, readiness, logs, retention
    rate_limit_per_ip_per_min: int = 120  # widget messages per client address (0: off)
    rate_limit_per_conversation_per_min: int = 30  # user messages per conversation, every channel (0: off)
    rate_limit_callback_per_ip_per_min: int = 1200  # /wechat, /wecom POSTs per address (Tencent's servers; 0: off)
    rate_limit_sessions_per_ip_per_min: int = 30  # widget session_requests per address (each reads a tracker; 0: off)
    forwarded_allow_ips: str = ""  # proxies trusted to name the client in X-Forwarded-For (comma-separated)
    action_server_url: str = "http://127.0.0.1:5055"  # /readyz asks its /health
    readiness_timeout_s: float = 2.0
    tracker_store_url: str = f"sqlite:///{PROJECT_DIR / 'var' / 'tracker.db'}"  # Rasa's SQL tracker store
    retention_days: int = 180  # `python -m bot prune` deletes conversations and handoffs older than this
    log_format: str = "json"  # the gateway's log lines: json or text

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Each setting from its variable (the field's name in capitals, unless :data:`VARIABLES` names another);
        a variable unset or empty leaves the field's default, written once, above."""
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {
            "database_url": env.get("DATABASE_URL") or f"sqlite:///{PROJECT_DIR / 'var' / 'policy.db'}",
            "corpus_dir": Path(env.get("POLICY_CORPUS_DIR") or PROJECT_DIR / "policy_corpus"),
        }
        for f in fields(cls):
            if f.name in values:
                continue
            raw = env.get(VARIABLES.get(f.name, f.name.upper()))
            if f.name == "action_server_url" and not raw:
                # bot/launcher.py tells every process ACTION_ENDPOINT_URL (…/webhook); the server is its parent
                raw = env.get("ACTION_ENDPOINT_URL", "").removesuffix("/webhook")
            if f.name == "rasa_failover" and not raw:
                # the variable endpoints.yml gives Rasa (bot/launcher.py tells every process the same one)
                raw = str(env.get("LOCK_STORE_TYPE", "").strip().lower() == "redis")
            if raw:
                values[f.name] = PARSERS.get(f.name, _PARSE_BY_TYPE.get(str(f.type), str))(raw)
        return cls(**values)


def _flag(raw: str) -> bool:
    return raw.strip().lower() not in ("false", "0", "no", "off")


def _url(raw: str) -> str:
    return raw.rstrip("/")


#: settings whose variable is not the field's name in capitals
VARIABLES = {"allowed_origins": "GATEWAY_ALLOWED_ORIGINS"}
#: how a variable is read, where that is not by the field's type
PARSERS: dict[str, Callable[[str], Any]] = {
    "rasa_url": _url,
    "rasa_urls": lambda raw: tuple(u.strip().rstrip("/") for u in raw.split(",") if u.strip()),
    "wechat_api_base": _url,
    "wecom_api_base": _url,
    "action_server_url": _url,
}
_PARSE_BY_TYPE: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "bool": _flag, "str": str}
