"""/helpdesk/insights: the insights report in the staff console (bot/helpdesk/console.py), for staff with the ``analyst`` or
``lead`` role, over a chosen period; the page refreshes it every minute.

* ``GET /helpdesk/insights`` — the page (no session: back to the console's login; no role: 403);
* ``GET /helpdesk/api/insights?since=7d`` or ``?start=2026-11-01&end=2026-11-30`` (UTC days, end inclusive) —
  the report as JSON (401 without a session, 403 without the role). Reports are computed in a thread and kept for
  30 s per period, so several open pages do not each read the tracker store;
* ``POST /helpdesk/api/labels`` — label a cluster of the report shown, or given questions (CSRF token needed).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.helpdesk.service import StaffInfo

STATIC = Path(__file__).resolve().parent / "static"
CACHE_S = 30.0
MAX_DAYS = 366

tracker_url_key = web.AppKey("insights_tracker_url", str)
cache_key = web.AppKey("insights_cache", dict)
routes = web.RouteTableDef()


async def _insights_staff(request: web.Request) -> StaffInfo | None:
    from bot.helpdesk.console import COOKIE, relay_key

    found = await asyncio.to_thread(request.app[relay_key].service.session, request.cookies.get(COOKIE))
    return found[0] if found else None


def _period(query: Any) -> tuple[datetime, datetime]:
    from bot.insights.report import parse_since

    now = datetime.now(timezone.utc)
    if query.get("start") or query.get("end"):
        try:
            start = datetime.strptime(query.get("start", ""), "%Y-%m-%d").replace(tzinfo=timezone.utc)
            end = (datetime.strptime(query["end"], "%Y-%m-%d").replace(tzinfo=timezone.utc) + timedelta(days=1)
                   if query.get("end") else now)
        except ValueError:
            raise ValueError("start and end: dates like 2026-11-30") from None
        if end <= start:
            raise ValueError("the period ends before it starts")
    else:
        span = parse_since(query.get("since", "7d"))
        end, start = now, now - span
    if end - start > timedelta(days=MAX_DAYS):
        raise ValueError(f"at most {MAX_DAYS} days")
    return start, end


def _report(tracker_url: str, helpdesk_engine: Any, start: datetime, end: datetime) -> dict[str, Any]:
    from bot.db import existing_engine, make_engine
    from bot.insights.report import build_report

    tracker = existing_engine(tracker_url)
    if tracker is None:  # no conversation yet
        tracker = make_engine("sqlite://")
    try:
        return build_report(tracker, helpdesk_engine, start=start, end=end, members=True)
    finally:
        tracker.dispose()


@routes.get("/helpdesk/insights")
async def page(request: web.Request) -> web.StreamResponse:
    staff = await _insights_staff(request)
    if staff is None:
        raise web.HTTPFound("/helpdesk")
    if not staff.sees_insights:
        raise web.HTTPForbidden(text="需要 analyst 或 lead 角色 (an analyst or lead role is needed)")
    return web.FileResponse(STATIC / "insights.html", headers={
        "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
        "X-Frame-Options": "DENY", "Cache-Control": "no-store"})


@routes.get("/helpdesk/insights/{name:chart\\.umd\\.min\\.js|insights\\.js|insights-page\\.js}")
async def script(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    return web.FileResponse(STATIC / name, headers={"Content-Type": "application/javascript; charset=utf-8"})


@routes.get("/helpdesk/api/insights")
async def api(request: web.Request) -> web.Response:
    staff = await _insights_staff(request)
    if staff is None:
        raise web.HTTPUnauthorized(text='{"error": "login required"}', content_type="application/json")
    if not staff.sees_insights:
        raise web.HTTPForbidden(text='{"error": "an analyst or lead role is needed"}', content_type="application/json")
    try:
        start, end = _period(request.query)
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f'{{"error": "{exc}"}}', content_type="application/json") from None
    report = await _cached_report(request, request.query, start, end)
    shown = {**report, "unanswered": [{k: v for k, v in c.items() if k != "members"} for c in report["unanswered"]]}
    shown["label_choices"] = {"intents": sorted(await asyncio.to_thread(_intents))}
    return web.json_response(shown)


async def _cached_report(request: web.Request, query: Any, start: datetime, end: datetime) -> dict[str, Any]:
    from bot.helpdesk.console import relay_key

    key = (query.get("since"), query.get("start"), query.get("end"))
    cache = request.app[cache_key]
    hit = cache.get(key)
    if hit and time.monotonic() - hit[0] < CACHE_S:
        return hit[1]
    report = await asyncio.to_thread(_report, request.app[tracker_url_key],
                                     request.app[relay_key].service.engine, start, end)
    if len(cache) > 64:
        cache.clear()
    cache[key] = (time.monotonic(), report)
    return report


def _intents() -> set[str]:
    from bot.insights.labels import NOT_TRAINABLE, domain_intents
    from bot.settings import PROJECT_DIR

    return domain_intents(PROJECT_DIR / "domain.yml") - NOT_TRAINABLE


_sections: set[str] | None = None


def _section_ids() -> set[str] | None:
    """The corpus's section ids (read once), or None when the corpus cannot be read here."""
    global _sections
    if _sections is None:
        try:
            from bot.knowledge.corpus import load_corpus
            from bot.settings import Settings

            _sections = {s.id for c in load_corpus(Path(Settings.from_env().corpus_dir)).documents
                         for s in c.doc.sections}
        except Exception:  # noqa: BLE001 - then sections are not checked
            return None
    return _sections


@routes.post("/helpdesk/api/labels")
async def label(request: web.Request) -> web.Response:
    """Label a cluster of the report (``cluster``: its number from 1, with the period of the report shown) or
    ``texts``: ``{"intent": …}``, ``{"section": …}`` or ``{"out_of_scope": true}``. Analysts and leads only."""
    from bot.helpdesk.console import _body, _json_error, _staff, relay_key
    from bot.insights.labels import add_labels

    staff = await _staff(request, write=True)  # a session and its CSRF token
    if not staff.sees_insights:
        raise _json_error(web.HTTPForbidden, "an analyst or lead role is needed")
    data = await _body(request)
    texts = data.get("texts") or []
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts) or len(texts) > 500:
        raise _json_error(web.HTTPBadRequest, "texts: a list of strings")
    if data.get("cluster") is not None:
        period = {k: str(data[k]) for k in ("since", "start", "end") if data.get(k)}
        try:
            start, end = _period(period)
            number = int(data["cluster"])
        except (ValueError, TypeError):
            raise _json_error(web.HTTPBadRequest, "bad period or cluster") from None
        clusters = (await _cached_report(request, period, start, end))["unanswered"]
        if not 1 <= number <= len(clusters):
            raise _json_error(web.HTTPNotFound, "no such cluster")
        texts = [*texts, *clusters[number - 1]["members"]]
    intent, section = data.get("intent") or None, data.get("section") or None
    if not all(v is None or isinstance(v, str) for v in (intent, section)):
        raise _json_error(web.HTTPBadRequest, "intent and section are strings")
    try:
        made = await asyncio.to_thread(
            add_labels, request.app[relay_key].service.engine, texts, intent=intent, section_id=section,
            out_of_scope=data.get("out_of_scope") is True, staff_id=staff.id, intents=_intents(),
            sections=await asyncio.to_thread(_section_ids) if section else None)
    except ValueError as exc:
        raise _json_error(web.HTTPBadRequest, str(exc).replace('"', "'")) from None
    return web.json_response({"labelled": len(made)})


def setup_insights(app: web.Application, tracker_store_url: str | None) -> None:
    from bot.settings import Settings

    app[tracker_url_key] = tracker_store_url or Settings.from_env().tracker_store_url
    app[cache_key] = {}
    app.add_routes(routes)
