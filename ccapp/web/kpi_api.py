"""KPI HTTP API: ``GET /api/v1/kpi`` — the report of ``ccapp kpi`` as JSON, CSV or an HTML page.

Admins, supervisors and read-only users may read it; agents get 403. The query is checked strictly
before any database work: an unknown or repeated parameter, a bad date, zone, grouping, KPI name or
filter is a 422 ``invalid_query`` whose message names the parameter. A database failure is a 500
with the storage error's id (the traceback stays in the log).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from aiohttp import web

from ccapp.config.settings import KpiSettings
from ccapp.errors import CcappError
from ccapp.kpi.definitions import Interval, Report, ReportRequest
from ccapp.kpi.query import QueryError, build_request
from ccapp.kpi.render import render_csv, report_dict
from ccapp.web.auth import ADMIN, READ_ONLY, SUPERVISOR, TokenTable, json_error, map_errors, require

#: every CcappError of the engine and the store is a 500 with its error id
STATUSES: Mapping[type[CcappError], int] = {}
PARAMETERS = ("from", "to", "tz", "by", "kpis", "where", "format", "raw")
FORMATS = ("json", "csv", "html")
#: at most this many intervals per group: 15-minute rows over ~7 months, hourly over ~2 years
MAX_INTERVALS = 20_000
_INTERVAL_S = {
    Interval.MIN15: 900,
    Interval.HOUR: 3600,
    Interval.DAY: 86400,
    Interval.WEEK: 7 * 86400,
    Interval.MONTH: 28 * 86400,
}
#: the page loads nothing: styles are inline, there is no script
HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'"


class KpiSource(Protocol):
    """What the API asks of the KPI engine."""

    async def report(self, request: ReportRequest, *, use_rollups: bool) -> Report: ...

    async def page(self, report: Report, *, use_rollups: bool) -> str:
        """The HTML page of ``report`` (with its charts' extra reports)."""
        ...


class EngineSource:
    """`KpiSource` over the database through ``ccapp.kpi.engine``."""

    def __init__(self, db: Any) -> None:
        self._db = db

    async def report(self, request: ReportRequest, *, use_rollups: bool) -> Report:
        from ccapp.kpi.engine import build_report

        return await build_report(self._db, request, use_rollups=use_rollups)

    async def page(self, report: Report, *, use_rollups: bool) -> str:
        from ccapp.kpi.html import html_report

        return await html_report(self._db, report, use_rollups=use_rollups)


def _invalid(message: str) -> web.HTTPException:
    return json_error(422, "invalid_query", message)


def _one(request: web.Request, name: str) -> str | None:
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise _invalid(f"{name}: give it once")
    return values[0] if values else None


def _flag(request: web.Request, name: str) -> bool:
    value = _one(request, name)
    if value is None or value in ("0", "false"):
        return False
    if value in ("1", "true"):
        return True
    raise _invalid(f"{name}: true or false")


class _KpiApi:
    def __init__(self, source: KpiSource, settings: KpiSettings, tokens: TokenTable) -> None:
        self._source = source
        self._settings = settings
        self._tokens = tokens

    def _parse(self, request: web.Request) -> tuple[ReportRequest, str, bool]:
        unknown = sorted(set(request.query) - set(PARAMETERS))
        if unknown:
            raise _invalid(f"{unknown[0][:40]}: unknown parameter (known: {', '.join(PARAMETERS)})")
        fmt = _one(request, "format") or "json"
        if fmt not in FORMATS:
            raise _invalid(f"format: one of {', '.join(FORMATS)}")
        raw = _flag(request, "raw")
        try:
            report_request = build_request(
                self._settings,
                start=_one(request, "from"),
                end=_one(request, "to"),
                tz=_one(request, "tz"),
                by=_one(request, "by"),
                kpis=_one(request, "kpis"),
                where=request.query.getall("where", []),
            )
        except QueryError as exc:
            raise _invalid(f"{exc.field}: {exc}") from exc
        interval = report_request.interval
        if interval is not None:
            span = (report_request.end - report_request.start).total_seconds()
            if span / _INTERVAL_S[interval] > MAX_INTERVALS:
                raise _invalid(f"by: more than {MAX_INTERVALS} {interval} intervals; shorten the period")
        return report_request, fmt, raw

    async def get_kpi(self, request: web.Request) -> web.StreamResponse:
        require(self._tokens.authenticate(request), ADMIN, SUPERVISOR, READ_ONLY)
        report_request, fmt, raw = self._parse(request)
        try:
            report = await self._source.report(report_request, use_rollups=not raw)
        except ValueError as exc:  # the engine refusing a combination (e.g. a filter it cannot apply)
            raise _invalid(str(exc)) from exc
        if fmt == "csv":
            return web.Response(
                text=render_csv(report),
                content_type="text/csv",
                charset="utf-8",
                headers={"Content-Disposition": 'inline; filename="kpi.csv"'},
            )
        if fmt == "html":
            page = await self._source.page(report, use_rollups=not raw)
            return web.Response(
                text=page,
                content_type="text/html",
                charset="utf-8",
                headers={"Content-Security-Policy": HTML_CSP},
            )
        return web.json_response(report_dict(report))


def add_kpi_routes(
    app: web.Application, source: KpiSource, settings: KpiSettings, tokens: TokenTable
) -> None:
    """Add ``GET /api/v1/kpi``. ``settings`` gives the thresholds and the default time zone."""
    api = _KpiApi(source, settings, tokens)
    app.router.add_get("/api/v1/kpi", map_errors(STATUSES)(api.get_kpi))
