"""Settings from the environment, read when asked for (never at import)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    database_url: str
    corpus_dir: Path

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        default_db = f"sqlite:///{PROJECT_DIR / 'var' / 'policy.db'}"
        return cls(
            database_url=env.get("DATABASE_URL") or default_db,
            corpus_dir=Path(env.get("POLICY_CORPUS_DIR") or PROJECT_DIR / "policy_corpus"),
        )
