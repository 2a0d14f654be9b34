"""/helpdesk/insights: the insights report (bot/insights) in the console, for staff with the ``analyst`` or
``lead`` role, over a chosen period; the page refreshes it every minute.

* ``GET /helpdesk/insights`` — the page (no session: back to the console's login; no role: 403);
* ``GET /helpdesk/api/insights?since=7d`` or ``?start=2026-11-01&end=2026-11-30`` (UTC days, end inclusive) —
  the report as JSON (401 without a session, 403 without the role). Reports are computed in a thread and kept for
  30 s per period, so several open pages do not each read the tracker store.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.helpdesk.service import StaffInfo

INSIGHTS_STATIC = Path(__file__).resolve().parent.parent / "insights" / "static"
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
    from bot.insights.report import build_report
    from bot.retention import _engine

    tracker = _engine(tracker_url)
    if tracker is None:  # no conversation yet
        from bot.db import make_engine

        tracker = make_engine("sqlite://")
    try:
        return build_report(tracker, helpdesk_engine, start=start, end=end)
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
    folder = STATIC if name == "insights-page.js" else INSIGHTS_STATIC
    return web.FileResponse(folder / name, headers={"Content-Type": "application/javascript; charset=utf-8"})


@routes.get("/helpdesk/api/insights")
async def api(request: web.Request) -> web.Response:
    from bot.helpdesk.console import relay_key

    staff = await _insights_staff(request)
    if staff is None:
        raise web.HTTPUnauthorized(text='{"error": "login required"}', content_type="application/json")
    if not staff.sees_insights:
        raise web.HTTPForbidden(text='{"error": "an analyst or lead role is needed"}', content_type="application/json")
    try:
        start, end = _period(request.query)
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f'{{"error": "{exc}"}}', content_type="application/json") from None
    key = (request.query.get("since"), request.query.get("start"), request.query.get("end"))
    cache = request.app[cache_key]
    hit = cache.get(key)
    if hit and time.monotonic() - hit[0] < CACHE_S:
        return web.json_response(hit[1])
    report = await asyncio.to_thread(_report, request.app[tracker_url_key],
                                     request.app[relay_key].service.engine, start, end)
    if len(cache) > 64:
        cache.clear()
    cache[key] = (time.monotonic(), report)
    return web.json_response(report)


def setup_insights(app: web.Application, tracker_store_url: str | None) -> None:
    from bot.settings import Settings

    app[tracker_url_key] = tracker_store_url or Settings.from_env().tracker_store_url
    app[cache_key] = {}
    app.add_routes(routes)
