"""The insights report: what enterprises asked, what the bot could not answer, per channel and in total.

Read-only, from the data the project already keeps:

* Rasa's SQL tracker store (``TRACKER_STORE_URL``, table ``events``: ``id``, ``sender_id``, ``type_name``,
  ``timestamp`` in epoch seconds, ``intent_name``, ``action_name`` and ``data``, the event's JSON), streamed in
  conversation order through SQLAlchemy Core (1.4 in Rasa's environment, 2.x in the gateway's; SQLite or
  PostgreSQL). Only the events of the period are read; events are parsed only for the types that need it.
* the helpdesk tables (``helpdesk_handoffs``): handoffs queued in the period by reason and status.

The channel is taken from the conversation id (``web:``, ``wechat:``, ``wecom:``) or else from the first user
message's ``channel`` metadata — not from the tracker's ``input_channel``, which is ``rest`` for everything.

Every message text in the result goes through :func:`bot.masking.mask_personal_data`; conversation ids and
message metadata (which may hold a widget's session id) never appear in it.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Iterator

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, func, inspect, select
from sqlalchemy.engine import Engine

from bot.masking import mask_personal_data

_tracker = MetaData()
EVENTS = Table("events", _tracker, Column("id", Integer, primary_key=True), Column("sender_id", String(255)),
               Column("type_name", String(255)), Column("timestamp", Float), Column("intent_name", String(255)),
               Column("action_name", String(255)), Column("data", Text))

CHANNEL_PREFIXES = ("web", "wechat", "wecom")
FALLBACK_ACTION = "action_fallback"
FALLBACK_INTENT = "nlu_fallback"
HANDED_OFF_INTENT = "handed_off"  # a user message relayed to staff (bot/helpdesk/relay.py)
HANDOFF_INTENT = "request_human"
ELIGIBILITY_FORM = "eligibility_form"
#: what the bot says when the document does not cover a question (actions/facts.py, policy_search.py, domain.yml)
NOT_COVERED_MARKERS = ("没有涉及", "超出了我的范围", "文件里没有找到能直接回答")
NOT_A_REPLY = ("staff", "system")  # bot events written by the gateway or the helpdesk, not by Rasa
#: the bot's actions set ``unanswered_question`` when they could not answer (the document is silent, out of scope,
#: nothing found); the fallback sets it too, but a fallback is counted as one
UNANSWERED_SLOT = "unanswered_question"
SLOTS = ("fund", "measure", "suggested_fund", "suggested_measures", "eligibility_verdict", UNANSWERED_SLOT)
_DURATION = re.compile(r"^\s*([0-9]{1,12})\s*([mhdw])\s*$")
MAX_SPAN = timedelta(days=3660)  # ten years: enough for any retention


def parse_since(text: str) -> timedelta:
    """"7d", "24h", "30m", "2w" → a duration."""
    m = _DURATION.match(text or "")
    if not m or int(m.group(1)) < 1:
        raise ValueError(f"period {text!r}: expected like 7d, 24h, 30m or 2w")
    unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(2)]
    try:
        span = timedelta(**{unit: int(m.group(1))})
    except OverflowError:
        span = timedelta.max
    if span > MAX_SPAN:
        raise ValueError(f"period {text!r}: at most {MAX_SPAN.days} days")
    return span


def channel_of(conversation_id: str, metadata_channel: str | None = None) -> str:
    prefix = conversation_id.split(":", 1)[0] if ":" in conversation_id else ""
    if prefix in CHANNEL_PREFIXES:
        return prefix
    if metadata_channel in CHANNEL_PREFIXES:
        return str(metadata_channel)
    return "other"


class _Turn:
    """A user message and what followed it. Its JSON is parsed only when its words are needed (most never are)."""

    __slots__ = ("raw", "timestamp", "intent", "fallback", "not_covered", "handoff", "replied", "_event")

    def __init__(self, raw: str | None, timestamp: float, intent: str | None) -> None:
        self.raw, self.timestamp, self.intent = raw, timestamp, intent
        self.fallback = intent == FALLBACK_INTENT
        self.replied = intent == HANDED_OFF_INTENT  # relayed to staff: not a bot turn
        self.not_covered = self.handoff = False
        self._event: dict[str, Any] | None = None

    @property
    def event(self) -> dict[str, Any]:
        if self._event is None:
            self._event = _json(self.raw)
        return self._event

    @property
    def text(self) -> str:
        meta = self.event.get("metadata") or {}
        return str(meta["display"] if isinstance(meta.get("display"), str) else self.event.get("text") or "")

    @property
    def payload(self) -> bool:  # a button payload (/intent), not typed words
        return str(self.event.get("text") or "").startswith("/")


@dataclass
class Figures:
    """The counts of one channel (or of all)."""

    conversations: int = 0
    contained: int = 0
    user_turns: int = 0
    fallbacks: int = 0
    not_covered: int = 0
    handoffs: Counter = field(default_factory=Counter)
    eligibility_started: int = 0
    eligibility_finished: int = 0
    verdicts: Counter = field(default_factory=Counter)
    funds_recommended: Counter = field(default_factory=Counter)
    funds_asked: Counter = field(default_factory=Counter)
    measures_recommended: Counter = field(default_factory=Counter)
    measures_asked: Counter = field(default_factory=Counter)
    reply_times: list[float] = field(default_factory=list)

    def add(self, other: Figures) -> None:
        for name in ("conversations", "contained", "user_turns", "fallbacks", "not_covered", "eligibility_started",
                     "eligibility_finished"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("handoffs", "verdicts", "funds_recommended", "funds_asked", "measures_recommended",
                     "measures_asked"):
            counts = getattr(other, name)
            if counts:
                getattr(self, name).update(counts)
        self.reply_times.extend(other.reply_times)

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "user_turns": self.user_turns,
            "containment": round(self.contained / self.conversations, 4) if self.conversations else None,
            "handoffs": {"total": sum(self.handoffs.values()), "by_reason": _sorted(self.handoffs)},
            "fallbacks": self.fallbacks,
            "not_covered": self.not_covered,
            "eligibility": {"started": self.eligibility_started, "finished": self.eligibility_finished,
                            "verdicts": _sorted(self.verdicts)},
            "funds": {"recommended": _sorted(self.funds_recommended), "asked": _sorted(self.funds_asked)},
            "measures": {"recommended": _sorted(self.measures_recommended), "asked": _sorted(self.measures_asked)},
            "reply_time_ms": _percentiles(self.reply_times),
        }


def _sorted(counter: Counter) -> dict[str, int]:
    return {str(k): v for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))}


def _percentiles(seconds: list[float]) -> dict[str, float | None]:
    if not seconds:
        return {"median": None, "p95": None, "count": 0}
    ordered = sorted(seconds)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank
    return {"median": round(statistics.median(ordered) * 1000, 1), "p95": round(p95 * 1000, 1), "count": len(ordered)}


@dataclass(frozen=True)
class Unanswered:
    text: str  # masked
    channel: str
    why: str  # fallback | not_covered | handoff


def _value_items(value: Any) -> Iterable[str]:
    if value is None or value == "" or value == []:
        return ()
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)]


#: a bot event needs parsing only when one of these is in its JSON (else: a plain reply, covered)
_BOT_NEEDLES = ('"custom": {', '"sender": "', *NOT_COVERED_MARKERS,
                *(json.dumps(m)[1:-1] for m in NOT_COVERED_MARKERS))


class _Conversation:
    """Folds the events of one conversation, in order, into its channel's figures and its unanswered questions.

    A conversation whose id names its channel counts straight into that channel's figures; one whose channel is in
    its messages' metadata counts into figures of its own, added to the channel's at the end."""

    def __init__(self, sender_id: str, channels: dict[str, Figures]) -> None:
        self.sender_id = sender_id
        self.channel = channel_of(sender_id)
        self.own = self.channel == "other"  # decided by metadata, once the messages are read
        self.figures = Figures() if self.own else channels.setdefault(self.channel, Figures())
        self.channels = channels
        self.meta_channel: str | None = None
        self.turns: list[_Turn] = []
        self.handoff = False
        self.fallback = False

    def event(self, type_name: str, timestamp: float, intent: str | None, action: str | None,
              data: str | None) -> None:
        f = self.figures
        if type_name == "user":
            turn = _Turn(data, timestamp, intent)
            if turn.intent is None:
                turn.intent = ((turn.event.get("parse_data") or {}).get("intent") or {}).get("name")
                turn.fallback, turn.replied = turn.intent == FALLBACK_INTENT, turn.intent == HANDED_OFF_INTENT
            if self.own and self.meta_channel is None:
                meta = turn.event.get("metadata") or {}
                if isinstance(meta.get("channel"), str):
                    self.meta_channel = meta["channel"]
            f.user_turns += 1
            self.turns.append(turn)
        elif type_name == "action":
            if action == FALLBACK_ACTION and self.turns:
                self.turns[-1].fallback = True
        elif type_name == "active_loop":
            if (action or _json(data).get("name")) == ELIGIBILITY_FORM:
                f.eligibility_started += 1
        elif type_name == "bot":
            turn = self.turns[-1] if self.turns else None
            if not data or not any(n in data for n in _BOT_NEEDLES):  # a plain reply: no JSON to read
                if turn is not None and not turn.replied:
                    turn.replied = True
                    f.reply_times.append(max(0.0, timestamp - turn.timestamp))
                return
            event = _json(data)
            meta = event.get("metadata") or {}
            custom = (event.get("data") or {}).get("custom") or {}
            text = str(event.get("text") or "")
            if isinstance(custom, dict) and custom.get("type") == "handoff":
                f.handoffs[str(custom.get("reason") or "user_request")] += 1
                self.handoff = True
                if turn:
                    turn.handoff = True
            if meta.get("sender") in NOT_A_REPLY:
                return
            if turn is not None:
                if not turn.replied:
                    turn.replied = True
                    f.reply_times.append(max(0.0, timestamp - turn.timestamp))
                if any(m in text for m in NOT_COVERED_MARKERS):
                    turn.not_covered = True
        elif type_name == "slot":
            if action is not None and action not in SLOTS:  # Rasa keeps a slot event's name in action_name
                return
            event = _json(data)
            name, value = event.get("name"), event.get("value")
            if name == "eligibility_verdict":
                if isinstance(value, dict) and value.get("outcome"):
                    f.eligibility_finished += 1
                    f.verdicts[str(value["outcome"])] += 1
            elif name == "suggested_fund":
                f.funds_recommended.update(_value_items(value))
            elif name == "fund":
                f.funds_asked.update(_value_items(value))
            elif name == "suggested_measures":
                f.measures_recommended.update(_value_items(value))
            elif name == "measure":
                f.measures_asked.update(_value_items(value))
            elif name == UNANSWERED_SLOT and value and self.turns and not self.turns[-1].fallback:
                self.turns[-1].not_covered = True

    def finish(self) -> list[Unanswered]:
        f = self.figures
        channel = channel_of(self.sender_id, self.meta_channel)
        unanswered: list[Unanswered] = []
        seen: set[int] = set()

        def question(index: int, why: str) -> None:
            # the user's own words: a button payload or the request for a person is not the question
            while index >= 0 and (self.turns[index].intent in (HANDOFF_INTENT, HANDED_OFF_INTENT)
                                  or self.turns[index].payload or not self.turns[index].text.strip()):
                index -= 1
            if index >= 0 and index not in seen:
                seen.add(index)
                unanswered.append(Unanswered(mask_personal_data(self.turns[index].text.strip()), channel, why))

        for i, turn in enumerate(self.turns):
            if turn.fallback:
                f.fallbacks += 1
                self.fallback = True
            if turn.not_covered:
                f.not_covered += 1
            if turn.fallback:
                question(i, "fallback")
            elif turn.not_covered:
                question(i, "not_covered")
            elif turn.handoff:
                question(i, "handoff")
        if self.turns:
            f.conversations += 1
            f.contained += int(not (self.handoff or self.fallback))
        if self.own and (self.turns or f.handoffs):
            self.channels.setdefault(channel, Figures()).add(f)
        return unanswered


def _json(data: str | None) -> dict[str, Any]:
    if not data:
        return {}
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


NEEDS_DATA = ("user", "bot", "active_loop")  # and the slots read (SLOTS)


def _rows(engine: Engine, start: float, end: float, batch: int = 5000) -> Iterator[tuple]:
    """The period's events in conversation order; ``data`` only for the types that are read."""
    from sqlalchemy import case

    needed = EVENTS.c.type_name.in_(NEEDS_DATA) | ((EVENTS.c.type_name == "slot") & (
        EVENTS.c.action_name.in_(SLOTS) | EVENTS.c.action_name.is_(None)))
    data = case((needed, EVENTS.c.data), else_=None)
    stmt = (select(EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.intent_name,
                   EVENTS.c.action_name, data)
            .where(EVENTS.c.timestamp >= start, EVENTS.c.timestamp < end)
            .where(EVENTS.c.type_name.in_(("user", "bot", "slot", "active_loop", "action")))
            .order_by(EVENTS.c.sender_id, EVENTS.c.id))
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True).execute(stmt)
        while True:
            chunk = result.fetchmany(batch)
            if not chunk:
                break
            yield from chunk


@dataclass
class TrackerFigures:
    total: Figures
    channels: dict[str, Figures]
    unanswered: list[Unanswered]


def read_tracker(engine: Engine, start: datetime, end: datetime) -> TrackerFigures:
    channels: dict[str, Figures] = {}
    unanswered: list[Unanswered] = []
    total = Figures()
    if not inspect(engine).has_table("events"):
        return TrackerFigures(total, channels, unanswered)
    current: _Conversation | None = None
    for sender_id, type_name, timestamp, intent, action, data in _rows(engine, start.timestamp(), end.timestamp()):
        if current is None or current.sender_id != sender_id:
            if current is not None:
                unanswered.extend(current.finish())
            current = _Conversation(sender_id, channels)
        current.event(type_name, float(timestamp or 0), intent, action, data)
    if current is not None:
        unanswered.extend(current.finish())
    for name in [n for n, f in channels.items() if not f.conversations]:
        del channels[name]  # events of the period, but no user message in it
    for figures in channels.values():
        total.add(figures)
    return TrackerFigures(total, channels, unanswered)


def read_helpdesk(engine: Engine, start: datetime, end: datetime) -> dict[str, Any] | None:
    """Handoffs queued in the period, by reason, status and channel (None when there are no helpdesk tables)."""
    from bot.helpdesk.models import Handoff

    if not inspect(engine).has_table(Handoff.__tablename__):
        return None
    naive = [t.astimezone(timezone.utc).replace(tzinfo=None) for t in (start, end)]
    in_period = (Handoff.created_at >= naive[0]) & (Handoff.created_at < naive[1])
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        for key, column in (("by_reason", Handoff.reason), ("by_status", Handoff.status),
                            ("by_channel", Handoff.channel)):
            rows = conn.execute(select(column, func.count()).where(in_period).group_by(column)).all()
            out[key] = _sorted(Counter({str(k): int(n) for k, n in rows}))
        waits = [(claimed - created).total_seconds() for created, claimed in conn.execute(
            select(Handoff.created_at, Handoff.claimed_at).where(in_period, Handoff.claimed_at.isnot(None)))]
    out["total"] = sum(out["by_reason"].values())
    out["wait_to_claim_s"] = {k: (None if v is None else round(v / 1000, 1)) if k != "count" else v
                              for k, v in _percentiles(waits).items()}
    return out


def fund_names(corpus_dir: Any = None) -> dict[str, str]:
    """Fund code → short name (the slots hold codes such as ``finance``), from the corpus's knowledge.yml files;
    empty when the corpus cannot be read."""
    from pathlib import Path

    import yaml

    try:
        from bot.settings import Settings

        folder = Path(corpus_dir or Settings.from_env().corpus_dir)
        names: dict[str, str] = {}
        for path in sorted(folder.glob("*/knowledge.yml")):
            for fund in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("funds") or []:
                if isinstance(fund, dict) and fund.get("code") and fund.get("short_name"):
                    names[str(fund["code"])] = str(fund["short_name"])
        return names
    except Exception:  # noqa: BLE001 - codes are shown instead
        return {}


def _named(figures: dict[str, Any], names: dict[str, str]) -> None:
    for key in ("recommended", "asked"):
        counts: Counter = Counter()
        for code, n in figures["funds"][key].items():
            counts[names.get(code, code)] += n
        figures["funds"][key] = _sorted(counts)


def build_report(tracker_engine: Engine, helpdesk_engine: Engine | None, *, since: timedelta | None = None,
                 start: datetime | None = None, end: datetime | None = None, tokenizer: Any = None,
                 max_clusters: int = 30, members: bool = False,
                 funds: dict[str, str] | None = None) -> dict[str, Any]:
    """The whole report as one JSON-ready object (see docs/insights.md for the keys)."""
    from bot.insights.clusters import cluster_questions

    end = end or datetime.now(timezone.utc)
    start = start or end - (since or timedelta(days=7))
    tracker = read_tracker(tracker_engine, start, end)
    report: dict[str, Any] = {"period": {"start": start.isoformat(), "end": end.isoformat()}}
    report.update(tracker.total.as_dict())
    report["channels"] = {name: tracker.channels[name].as_dict() for name in sorted(tracker.channels)}
    names = fund_names() if funds is None else funds
    for figures in (report, *report["channels"].values()):
        _named(figures, names)
    report["helpdesk"] = read_helpdesk(helpdesk_engine, start, end) if helpdesk_engine is not None else None
    clusters = cluster_questions(tracker.unanswered, tokenizer=tokenizer)
    report["unanswered_total"] = len(tracker.unanswered)
    if not members:
        for cluster in clusters:
            del cluster["members"]
    report["unanswered"] = clusters[:max_clusters]
    return report
