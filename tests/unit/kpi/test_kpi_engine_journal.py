"""From journal records through the real projection to the report: the ACD day of the storage tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from ccapp.kpi.definitions import Dimension, ReportRequest
from ccapp.kpi.engine import build_report
from ccapp.storage import Database, upgrade
from ccapp.storage.projection import write_batch
from tests.unit.kpi.golden import THRESHOLDS
from tests.unit.storage.test_acd_scenario import HOUR, T0, scenario

KPIS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandons",
    "service_level",
    "sl2",
    "asa_s",
    "abandon_rate",
    "aht_s",
    "callback_rate",
    "transfer_rate",
    "escalation_accuracy",
)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'ccapp.db'}"
    await upgrade(url)
    database = Database(url)
    async with database.engine.begin() as conn:
        await write_batch(conn, [r for s in scenario() for r in s.records])
    yield database
    await database.dispose()


def _request(by: tuple[Dimension, ...], kpis: tuple[str, ...] = KPIS) -> ReportRequest:
    return ReportRequest(HOUR[0], HOUR[1], "UTC", by, None, kpis, THRESHOLDS)


async def test_the_projected_acd_hour_gives_the_hand_computed_queue_kpis(db: Database) -> None:
    report = await build_report(db, _request((Dimension.QUEUE,)))

    sales, support = report.rows
    assert sales.key == {"queue": "sales"}
    assert sales.kpis == pytest.approx(
        {
            "offered": 5,
            "answered": 2,
            "abandoned": 1,
            "short_abandons": 1,
            "service_level": 0.2,
            "sl2": 0.5,
            "asa_s": 13,
            "abandon_rate": 0.2,
            "aht_s": 110,
            "callback_rate": 0.2,
            "transfer_rate": 1.0,
            "escalation_accuracy": 0.5,
        }
    )
    assert support.key == {"queue": "support"}
    assert support.kpis == pytest.approx(
        {
            "offered": 1,
            "answered": 1,
            "abandoned": 0,
            "short_abandons": 0,
            "service_level": 1.0,
            "sl2": 1.0,
            "asa_s": 10,
            "abandon_rate": 0.0,
            "aht_s": 50,
            "callback_rate": 0.0,
            "transfer_rate": 1.0,
            "escalation_accuracy": 0.0,
        }
    )


async def test_the_projected_agent_states_give_occupancy_and_utilization(db: Database) -> None:
    report = await build_report(
        db, _request((Dimension.AGENT,), ("occupancy", "utilization")), now=T0 + timedelta(hours=2)
    )

    assert [(r.key["agent"], r.measures) for r in report.rows] == [
        ("a1", {"handling_s": 148.0, "ready_s": 3452.0, "logged_in_s": 3600.0}),
        ("a2", {"handling_s": 154.0, "ready_s": 3446.0, "logged_in_s": 3600.0}),
    ]
    assert report.total.kpis == pytest.approx({"occupancy": 302 / 7200, "utilization": 302 / 7200})
