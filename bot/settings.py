"""Settings from the environment, read when asked for (never at import)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _int(env: dict[str, str], key: str, default: int) -> int:
    value = env.get(key)
    return int(value) if value not in (None, "") else default


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
    max_message_chars: int = 2000
    allowed_origins: str = "*"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        default_db = f"sqlite:///{PROJECT_DIR / 'var' / 'policy.db'}"
        return cls(
            database_url=env.get("DATABASE_URL") or default_db,
            corpus_dir=Path(env.get("POLICY_CORPUS_DIR") or PROJECT_DIR / "policy_corpus"),
            gateway_host=env.get("GATEWAY_HOST") or "127.0.0.1",
            gateway_port=_int(env, "GATEWAY_PORT", 8080),
            rasa_url=(env.get("RASA_URL") or "http://127.0.0.1:5005").rstrip("/"),
            rasa_token=env.get("RASA_TOKEN") or "",
            rasa_timeout_s=float(env.get("RASA_TIMEOUT_S") or 10.0),
            max_message_chars=_int(env, "MAX_MESSAGE_CHARS", 2000),
            allowed_origins=env.get("GATEWAY_ALLOWED_ORIGINS") or "*",
        )
