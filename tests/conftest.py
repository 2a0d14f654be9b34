"""Shared fixtures: the real corpus, ingested into a real SQLite store."""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import jieba
import pytest

from bot.knowledge.corpus import Corpus, load_corpus
from bot.knowledge.ingest import ingest_corpus
from bot.knowledge.store import PolicyStore
from bot.launcher import ServerConfig, Servers
from bot.training import model_path, train

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "policy_corpus"
DATA_DIR = Path(__file__).resolve().parent / "data"

jieba.setLogLevel(logging.WARNING)

# Two environments (README: "Two environments"): tests that import Rasa or rasa_sdk run in Rasa's (.venv,
# Python 3.10, SQLAlchemy 1.4); tests that import the gateway run in the gateway's (.venv-gateway, Python 3.12,
# current aiohttp/python-socketio, SQLAlchemy 2.x). bot/knowledge is used by both, so its tests run in both.
# `make test` runs pytest once in each (scripts/test.sh) and adds up the results.
RASA_ENV_TESTS = ("actions", "e2e", "nlu", "test_rasa.py", "test_retention.py", "scale/test_tracker_store.py",
                  "insights/test_seed_is_rasa.py", "insights/test_labels_rasa.py")
BOTH_ENV_TESTS = ("knowledge", "insights")
IN_RASA_ENV = importlib.util.find_spec("rasa") is not None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    try:
        rel = collection_path.resolve().relative_to(Path(__file__).resolve().parent).as_posix()
    except ValueError:
        return None
    if rel in (".", "conftest.py", "__init__.py", "nlu") or rel.startswith(("data", "conversations")):
        return None
    rasa_only = any(rel == t or rel.startswith(t + "/") for t in RASA_ENV_TESTS)
    if not rasa_only and any(rel == t or rel.startswith(t + "/") for t in BOTH_ENV_TESTS):
        return None
    if rel in TIER_DIRS and config.getoption("markexpr", "") == "unit":
        return True  # `make test-fast`: a directory of e2e, browser or scale tests is not even imported
    if rel == "scale" and collection_path.is_dir():
        return None  # holds tests of both kinds
    return not rasa_only if IN_RASA_ENV else rasa_only


# Tests by cost (README: "Tests"): every test has exactly one tier. A test may say its tier with a marker; else its
# directory says it (browser/, e2e/, scale/), else the servers it needs: a test that starts real servers (the
# session's `servers`, a model from `trained_model`, a redis-server) or runs the project's commands as processes (marked
# so) is e2e; every other test is unit (`make test-fast`).
TIERS = ("unit", "e2e", "browser", "scale")
TIER_DIRS = {"browser": "browser", "e2e": "e2e", "scale": "scale"}
SERVER_FIXTURES = ("servers", "trained_model", "redis_server", "lone_redis")


def tier_of(item: pytest.Item) -> str:
    marked = [t for t in TIERS if item.get_closest_marker(t) is not None]
    if len(marked) > 1:
        raise pytest.UsageError(f"{item.nodeid} has more than one tier: {', '.join(marked)}")
    if marked:
        return marked[0]
    rel = Path(str(item.path)).resolve().relative_to(Path(__file__).resolve().parent)
    if rel.parts[0] in TIER_DIRS:
        return TIER_DIRS[rel.parts[0]]
    if any(f in getattr(item, "fixturenames", ()) for f in SERVER_FIXTURES):
        return "e2e"
    return "unit"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(item)
        if item.get_closest_marker(tier) is None:
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return load_corpus(CORPUS_DIR)


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory, corpus: Corpus) -> Iterator[PolicyStore]:
    """A store on a real SQLite file, built from the committed corpus (shared: tests only read it)."""
    db = tmp_path_factory.mktemp("store") / "policy.db"
    s = PolicyStore.from_url(f"sqlite:///{db}")
    ingest_corpus(s.engine, corpus)
    yield s
    s.engine.dispose()


EXTRA_DOC_DIR = DATA_DIR / "extra-doc" / "test-2024"


def corpus_with_extra_doc(target: Path) -> Path:
    """A copy of the committed corpus plus the fictional second document 京测发〔2024〕1号, in ``target``."""
    import shutil

    shutil.copytree(CORPUS_DIR, target)
    shutil.copytree(EXTRA_DOC_DIR, target / EXTRA_DOC_DIR.name)
    return target


@pytest.fixture(scope="session")
def two_doc_corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return corpus_with_extra_doc(tmp_path_factory.mktemp("two-docs") / "corpus")


@pytest.fixture(scope="session")
def two_doc_store(tmp_path_factory: pytest.TempPathFactory, two_doc_corpus_dir: Path) -> Iterator[PolicyStore]:
    """A store holding both documents (shared: tests only read it)."""
    s = PolicyStore.from_url(f"sqlite:///{tmp_path_factory.mktemp('store2') / 'policy.db'}")
    ingest_corpus(s.engine, two_doc_corpus_dir)
    yield s
    s.engine.dispose()


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model, trained first if its inputs changed (seconds when only cached parts changed)."""
    assert train() == 0, "rasa train failed"
    return model_path()


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory, trained_model: Path) -> Iterator[Servers]:
    """One set of real servers per test session (action server, Rasa, gateway) on loopback, on a fresh store."""
    tmp = tmp_path_factory.mktemp("servers")
    db_url = f"sqlite:///{tmp / 'policy.db'}"
    ingest_corpus(db_url, CORPUS_DIR)
    offset = int(os.environ.get("TEST_PORT_OFFSET", "0"))  # run two test sessions side by side
    config = ServerConfig(rasa_port=15005 + offset, action_port=15055 + offset, gateway_port=18080 + offset,
                          model=trained_model,
                          log_dir=tmp / "logs", tracker_store_url=f"sqlite:///{tmp / 'tracker.db'}",
                          extra_env={"DATABASE_URL": db_url, "HELPDESK_HOURS": "mon-sun 00:00-24:00",
                                     # the whole session talks from 127.0.0.1; tests of the limits set their own
                                     "RATE_LIMIT_PER_IP_PER_MIN": "0", "RATE_LIMIT_PER_CONVERSATION_PER_MIN": "0",
                                     "RATE_LIMIT_SESSIONS_PER_IP_PER_MIN": "0"})
    running = Servers(config)
    running.start(timeout=240)
    yield running
    running.stop()


@pytest.fixture
def gateway_settings(servers: Servers):  # type: ignore[no-untyped-def]
    """Gateway settings for an in-process gateway (aiohttp test server) in front of the session's real Rasa."""
    import dataclasses

    from bot.settings import Settings

    return dataclasses.replace(Settings.from_env({}), rasa_url=servers.config.rasa_url, rasa_token=servers.token,
                               database_url=servers.config.extra_env["DATABASE_URL"], web_session_key=WEB_SESSION_KEY)


WEB_SESSION_KEY = "test-web-session-key"


def web_conversation_id(session_id: str, key: str = WEB_SESSION_KEY) -> str:
    """The conversation id an in-process test gateway gives a widget session (a keyed hash of the session id)."""
    from bot.gateway.channels.web import derive_user_id

    return f"web:{derive_user_id(session_id, key)}"
