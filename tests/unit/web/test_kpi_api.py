"""KPI HTTP API over a fake engine: roles, strict query validation, JSON, CSV and HTML answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ccapp.config.settings import KpiSettings
from ccapp.errors import StorageError
from ccapp.kpi.definitions import Dimension, Interval, Report, ReportRequest, Thresholds
from ccapp.web.auth import Principal, TokenTable
from ccapp.web.kpi_api import KpiSource, add_kpi_routes
from tests.support.kpi_reports import by_queue

Client = TestClient[web.Request, web.Application]

TOKENS = {
    "admin": Principal("admin", "admin"),
    "supervisor": Principal("boss", "supervisor"),
    "read_only": Principal("wallboard", "read_only"),
    "agent": Principal("1001", "agent", "1001"),
}
WEEK = {"from": "2026-11-01", "to": "2026-11-08"}


class FakeSource:
    """Answers every request with the same two-queue report; records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[ReportRequest, bool]] = []
        self.pages: list[Report] = []
        self.fail: Exception | None = None

    async def report(self, request: ReportRequest, *, use_rollups: bool) -> Report:
        self.asked.append((request, use_rollups))
        if self.fail is not None:
            raise self.fail
        return by_queue()  # the renderers are tested elsewhere: any report will do

    async def page(self, report: Report, *, use_rollups: bool) -> str:
        self.pages.append(report)
        return "<!DOCTYPE html><title>KPI report</title>"


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {who}-token"}


@pytest.fixture
def source() -> FakeSource:
    return FakeSource()


@pytest.fixture
async def client(source: FakeSource) -> AsyncIterator[Client]:
    app = web.Application()
    fake: KpiSource = source
    settings = KpiSettings(time_zone="Europe/Paris", sl_threshold_s=15.0)
    add_kpi_routes(app, fake, settings, TokenTable({f"{who}-token": p for who, p in TOKENS.items()}))
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.mark.parametrize("who", ["admin", "supervisor", "read_only"])
async def test_admins_supervisors_and_read_only_users_get_the_report(client: Client, who: str) -> None:
    resp = await client.get("/api/v1/kpi", params=WEEK, headers=auth(who))
    assert resp.status == 200


async def test_agents_are_refused(client: Client, source: FakeSource) -> None:
    resp = await client.get("/api/v1/kpi", params=WEEK, headers=auth("agent"))
    assert resp.status == 403
    assert (await resp.json())["error"] == "forbidden"
    assert source.asked == []


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic admin-token"])
async def test_the_report_wants_a_good_token(client: Client, source: FakeSource, header: str | None) -> None:
    resp = await client.get("/api/v1/kpi", params=WEEK, headers={"Authorization": header} if header else {})
    assert resp.status == 401
    assert (await resp.json())["error"] == "unauthorized"
    assert source.asked == []


async def test_the_query_becomes_a_request_with_the_configured_zone_and_thresholds(
    client: Client, source: FakeSource
) -> None:
    params = {**WEEK, "by": "queue,day", "kpis": "service_level,asa_s", "where": "queue:sales", "raw": "true"}
    resp = await client.get("/api/v1/kpi", params=params, headers=auth("supervisor"))
    assert resp.status == 200
    [(request, use_rollups)] = source.asked
    paris = ZoneInfo("Europe/Paris")
    assert request.start == datetime(2026, 11, 1, tzinfo=paris)
    assert request.end - request.start == timedelta(days=7)
    assert (request.zone, request.dimensions, request.interval) == (
        "Europe/Paris",
        (Dimension.QUEUE,),
        Interval.DAY,
    )
    assert request.kpis == ("service_level", "asa_s")
    assert request.where == {"queue": "sales"}
    assert request.thresholds == Thresholds(15.0, 5.0, 7 * 86400.0)
    assert use_rollups is False


async def test_json_is_the_default_with_rows_total_and_kpi_definitions(client: Client) -> None:
    resp = await client.get("/api/v1/kpi", params={**WEEK, "tz": "UTC"}, headers=auth("read_only"))
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert [row["key"] for row in body["rows"]] == [{"queue": "sales"}, {"queue": "support"}]
    assert body["total"]["kpis"]["offered"] == 140
    assert body["kpis"]["service_level"]["unit"] == "ratio"


async def test_csv_comes_as_text_csv(client: Client) -> None:
    resp = await client.get("/api/v1/kpi", params={**WEEK, "format": "csv"}, headers=auth("admin"))
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    text = await resp.text()
    assert text.splitlines()[0].startswith("queue,offered,answered")
    assert text.splitlines()[-1].startswith("total,140,127,13,")


async def test_html_comes_as_a_page_that_may_load_nothing(client: Client, source: FakeSource) -> None:
    resp = await client.get("/api/v1/kpi", params={**WEEK, "format": "html"}, headers=auth("admin"))
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert resp.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert (await resp.text()).startswith("<!DOCTYPE html>")
    assert len(source.pages) == 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"to": "2026-11-08"}, "from: required"),
        ({"from": "2026-11-01"}, "to: required"),
        ({**WEEK, "from": "yesterday"}, "from: 'yesterday' is not a date"),
        ({**WEEK, "to": "2026-10-01"}, "to: must be after from"),
        ({**WEEK, "tz": "Mars/Olympus"}, "tz: 'Mars/Olympus' is not a known time zone"),
        ({**WEEK, "by": "queue,fortnight"}, "by: unknown grouping 'fortnight'"),
        ({**WEEK, "kpis": "sl"}, "kpis: unknown KPI 'sl'"),
        ({**WEEK, "kpis": ","}, "kpis: name at least one KPI"),
        ({**WEEK, "where": "queue"}, "where: 'queue' is not DIMENSION=VALUE"),
        ({**WEEK, "where": "site:paris"}, "where: unknown dimension 'site'"),
        ({**WEEK, "where": "queue:"}, "where: queue: a value of 1 to 100 printable characters"),
        ({**WEEK, "format": "xml"}, "format: one of json, csv, html"),
        ({**WEEK, "raw": "yes"}, "raw: true or false"),
        ({**WEEK, "limit": "10"}, "limit: unknown parameter"),
        ({"from": "2026-01-01", "to": "2026-12-01", "by": "15m"}, "by: more than 20000 15m intervals"),
    ],
)
async def test_a_bad_query_is_a_422_naming_the_parameter(
    client: Client, source: FakeSource, params: dict[str, str], message: str
) -> None:
    resp = await client.get("/api/v1/kpi", params=params, headers=auth("admin"))
    assert resp.status == 422
    body = await resp.json()
    assert body["error"] == "invalid_query"
    assert body["message"].startswith(message)
    assert source.asked == []


async def test_a_parameter_given_twice_is_refused(client: Client, source: FakeSource) -> None:
    resp = await client.get(
        "/api/v1/kpi?from=2026-11-01&from=2026-11-02&to=2026-11-08", headers=auth("admin")
    )
    assert resp.status == 422
    assert (await resp.json())["message"] == "from: give it once"
    assert source.asked == []


async def test_a_long_period_by_a_coarser_interval_is_fine(client: Client, source: FakeSource) -> None:
    params = {"from": "2026-01-01", "to": "2026-12-01", "by": "hour"}
    resp = await client.get("/api/v1/kpi", params=params, headers=auth("admin"))
    assert resp.status == 200


async def test_several_filters_may_be_given(client: Client, source: FakeSource) -> None:
    url = "/api/v1/kpi?from=2026-11-01&to=2026-11-08&where=queue:sales&where=agent=1001"
    resp = await client.get(url, headers=auth("admin"))
    assert resp.status == 200
    assert source.asked[0][0].where == {"queue": "sales", "agent": "1001"}


async def test_the_engine_refusing_a_combination_is_a_422(client: Client, source: FakeSource) -> None:
    source.fail = ValueError("unknown KPI(s): x")
    resp = await client.get("/api/v1/kpi", params=WEEK, headers=auth("admin"))
    assert resp.status == 422
    assert await resp.json() == {"error": "invalid_query", "message": "unknown KPI(s): x"}


async def test_a_database_failure_is_a_500_with_the_storage_error_id(
    client: Client, source: FakeSource
) -> None:
    source.fail = StorageError("database down")
    resp = await client.get("/api/v1/kpi", params=WEEK, headers=auth("admin"))
    assert resp.status == 500
    body = await resp.json()
    assert body["error"] == StorageError.error_id
    assert "database down" not in body["message"]
