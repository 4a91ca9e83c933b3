"""Reports over the golden data set (`tests.unit.kpi.golden`) and their hand-computed rows.

Each `Case` lists every row of the report: its key, its non-zero measures and some KPIs. The same
cases run on SQLite (unit) and PostgreSQL (integration).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from ccapp.kpi.definitions import Dimension, Interval, Report, ReportRequest
from tests.unit.kpi.golden import NOW, request

Q, A, K, C, T = Dimension.QUEUE, Dimension.AGENT, Dimension.SKILL, Dimension.CAMPAIGN, Dimension.TOPIC
D28, D29 = "2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00"

QUEUE_TOTAL = {
    "entries": 11,
    "short_abandons": 2,
    "answered": 6,
    "answered_within_t": 4,
    "all_abandoned": 4,
    "abandoned_within_t": 3,
    "answered_timed": 5,
    "answered_wait_s": 70.5,
    "handled": 5,
    "handle_s": 525,
    "callbacks": 1,
}
CONTACT_TOTAL = {
    "contacts_handled": 8,
    "contacts_resolved": 4,
    "first_contacts": 5,
    "first_contacts_resolved": 1,
}
TRANSFER_TOTAL = {"transfers": 4, "transfers_correct": 2, "transfers_judged": 3}
IVR_TOTAL = {"ivr_calls": 5, "ivr_contained": 2}
AGENT_TOTAL = {"handling_s": 8990, "ready_s": 46210, "logged_in_s": 55800}
OUTBOUND_TOTAL = {
    "dial_attempts": 7,
    "leads": 5,
    "rpc_leads": 2,
    "rpc_contacts": 2,
    "agent_contacts": 4,
    "live_answers": 5,
    "live_abandoned": 1,
    "campaign_logged_in_s": 7200,
}
ALL_TOTAL = QUEUE_TOTAL | CONTACT_TOTAL | TRANSFER_TOTAL | IVR_TOTAL | AGENT_TOTAL | OUTBOUND_TOTAL
#: every KPI of the whole period, by hand (see golden's docstring)
KPIS_TOTAL: dict[str, float | None] = {
    "offered": 9,
    "answered": 6,
    "abandoned": 2,
    "short_abandons": 2,
    "service_level": 4 / 9,
    "sl2": 0.7,
    "asa_s": 14.1,
    "abandon_rate": 2 / 9,
    "handled": 5,
    "aht_s": 105,
    "callback_rate": 1 / 9,
    "contact_resolution": 0.5,
    "fcr": 0.2,
    "transfer_rate": 0.8,
    "escalation_accuracy": 0.5,
    "ivr_containment": 0.4,
    "occupancy": 8990 / 55200,
    "utilization": 8990 / 55800,
    "rpc_rate": 0.4,
    "rpc_per_hour": 1.0,
    "contacts_per_hour": 2.0,
    "live_abandon_rate": 0.2,
}


@dataclass(frozen=True)
class Row:
    key: dict[str, str | None]
    measures: dict[str, float]
    kpis: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    name: str
    request: ReportRequest
    rows: list[Row]
    now: datetime = NOW


def _nonzero(measures: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in measures.items() if v}


def _same(actual: float | None, expected: float | None) -> bool:
    if expected is None or actual is None:
        return actual is expected
    return actual == pytest.approx(expected, rel=1e-12, abs=1e-9)


def check(report: Report, case: Case) -> None:
    """Every row of ``report`` is the case's row at the same place; the total sums them."""
    assert [r.key for r in report.rows] == [r.key for r in case.rows], case.name
    for got, want in zip(report.rows, case.rows, strict=True):
        got_m = _nonzero(got.measures)
        diff = {
            k: (got_m.get(k), want.measures.get(k))
            for k in set(got_m) | set(want.measures)
            if not _same(got_m.get(k, 0.0), want.measures.get(k, 0.0))
        }
        assert not diff, (case.name, want.key, diff)
        bad = {k: (got.kpis[k], v) for k, v in want.kpis.items() if not _same(got.kpis[k], v)}
        assert not bad, (case.name, want.key, bad)
    summed: dict[str, float] = {}
    for r in case.rows:
        for k, v in r.measures.items():
            summed[k] = summed.get(k, 0.0) + v
    assert _nonzero(report.total.measures) == pytest.approx(summed), case.name
    assert all(v is None for v in report.total.key.values()), case.name


def comparable(report: Report) -> Any:
    """What must be identical between SQLite and PostgreSQL."""
    return (
        report.source,
        [(r.key, r.measures, r.kpis) for r in report.rows],
        (report.total.key, report.total.measures, report.total.kpis),
    )


CASES = [
    Case("whole period, every KPI", request(), [Row({}, ALL_TOTAL, KPIS_TOTAL)]),
    Case(
        "by queue: queue, contact and transfer families only",
        request((Q,)),
        [
            Row(
                {"queue": "sales"},
                {
                    "entries": 7,
                    "short_abandons": 2,
                    "answered": 3,
                    "answered_within_t": 1,
                    "all_abandoned": 4,
                    "abandoned_within_t": 3,
                    "answered_timed": 2,
                    "answered_wait_s": 37.5,
                    "handled": 3,
                    "handle_s": 395,
                    "contacts_handled": 5,
                    "contacts_resolved": 2,
                    "first_contacts": 3,
                    "transfers": 2,
                    "transfers_correct": 1,
                    "transfers_judged": 2,
                },
                {
                    "offered": 5,
                    "service_level": 0.2,
                    "sl2": 4 / 7,
                    "asa_s": 18.75,
                    "abandon_rate": 0.4,
                    "aht_s": 395 / 3,
                    "callback_rate": 0.0,
                    "contact_resolution": 0.4,
                    "fcr": 0.0,
                    "transfer_rate": 2 / 3,
                    "escalation_accuracy": 0.5,
                    "occupancy": None,
                    "ivr_containment": None,
                    "rpc_rate": None,
                },
            ),
            Row(
                {"queue": "support"},
                {
                    "entries": 4,
                    "answered": 3,
                    "answered_within_t": 3,
                    "answered_timed": 3,
                    "answered_wait_s": 33,
                    "handled": 2,
                    "handle_s": 130,
                    "callbacks": 1,
                    "contacts_handled": 3,
                    "contacts_resolved": 2,
                    "first_contacts": 2,
                    "first_contacts_resolved": 1,
                    "transfers": 1,
                },
                {
                    "offered": 4,
                    "service_level": 0.75,
                    "sl2": 1.0,
                    "asa_s": 11,
                    "abandon_rate": 0.0,
                    "aht_s": 65,
                    "callback_rate": 0.25,
                    "contact_resolution": 2 / 3,
                    "fcr": 0.5,
                    "transfer_rate": 0.5,
                    "escalation_accuracy": 0.0,
                },
            ),
            Row(
                {"queue": None},
                {"transfers": 1, "transfers_correct": 1, "transfers_judged": 1},
                {"offered": 0, "service_level": None, "transfer_rate": None, "escalation_accuracy": 1.0},
            ),
        ],
    ),
    Case(
        "by local day in Paris: a 24-hour and a 23-hour day",
        request((), Interval.DAY),
        [
            Row(
                {"interval": D28},
                {
                    "entries": 5,
                    "short_abandons": 1,
                    "answered": 3,
                    "answered_within_t": 2,
                    "all_abandoned": 2,
                    "abandoned_within_t": 2,
                    "answered_timed": 3,
                    "answered_wait_s": 42.5,
                    "handled": 3,
                    "handle_s": 410,
                    "contacts_handled": 3,
                    "first_contacts": 3,
                    "transfers": 2,
                    "transfers_correct": 1,
                    "transfers_judged": 2,
                    "ivr_calls": 3,
                    "ivr_contained": 1,
                    "handling_s": 3900,
                    "ready_s": 4500,
                    "logged_in_s": 9000,
                    "dial_attempts": 1,
                    "leads": 1,
                },
                {"service_level": 0.5, "occupancy": 3900 / 8400, "utilization": 3900 / 9000, "rpc_rate": 0.0},
            ),
            Row(
                {"interval": D29},
                {
                    "entries": 6,
                    "short_abandons": 1,
                    "answered": 3,
                    "answered_within_t": 2,
                    "all_abandoned": 2,
                    "abandoned_within_t": 1,
                    "answered_timed": 2,
                    "answered_wait_s": 28,
                    "handled": 2,
                    "handle_s": 115,
                    "callbacks": 1,
                    "contacts_handled": 5,
                    "contacts_resolved": 4,
                    "first_contacts": 2,
                    "first_contacts_resolved": 1,
                    "transfers": 2,
                    "transfers_correct": 1,
                    "transfers_judged": 1,
                    "ivr_calls": 2,
                    "ivr_contained": 1,
                    "handling_s": 5090,
                    "ready_s": 41710,
                    "logged_in_s": 46800,
                    "dial_attempts": 6,
                    "leads": 4,
                    "rpc_leads": 2,
                    "rpc_contacts": 2,
                    "agent_contacts": 4,
                    "live_answers": 5,
                    "live_abandoned": 1,
                    "campaign_logged_in_s": 7200,
                },
                {"service_level": 0.4, "contact_resolution": 0.8, "fcr": 0.5, "rpc_per_hour": 1.0},
            ),
        ],
    ),
    Case(
        "by agent: every family but IVR",
        request((A,)),
        [
            Row(
                {"agent": "a1"},
                {
                    "entries": 3,
                    "answered": 3,
                    "answered_within_t": 3,
                    "answered_timed": 3,
                    "answered_wait_s": 40.5,
                    "handled": 2,
                    "handle_s": 220,
                    "contacts_handled": 5,
                    "contacts_resolved": 3,
                    "first_contacts": 3,
                    "first_contacts_resolved": 1,
                    "transfers": 2,
                    "transfers_correct": 1,
                    "transfers_judged": 1,
                    "handling_s": 6590,
                    "ready_s": 37810,
                    "logged_in_s": 45000,
                    "dial_attempts": 1,
                    "leads": 1,
                },
                {"aht_s": 110, "occupancy": 6590 / 44400, "utilization": 6590 / 45000, "rpc_per_hour": None},
            ),
            Row(
                {"agent": "a2"},
                {
                    "entries": 3,
                    "answered": 3,
                    "answered_within_t": 1,
                    "answered_timed": 2,
                    "answered_wait_s": 30,
                    "handled": 3,
                    "handle_s": 305,
                    "contacts_handled": 3,
                    "contacts_resolved": 1,
                    "first_contacts": 2,
                    "transfers": 2,
                    "transfers_correct": 1,
                    "transfers_judged": 2,
                    "handling_s": 2400,
                    "ready_s": 4800,
                    "logged_in_s": 7200,
                    "dial_attempts": 2,
                    "leads": 1,
                    "rpc_leads": 1,
                    "rpc_contacts": 1,
                    "agent_contacts": 2,
                    "live_answers": 2,
                    "campaign_logged_in_s": 3600,
                },
                {"occupancy": 1 / 3, "rpc_rate": 1.0, "rpc_per_hour": 1.0, "contacts_per_hour": 2.0},
            ),
            Row(
                {"agent": "a3"},
                {
                    "ready_s": 3600,
                    "logged_in_s": 3600,
                    "dial_attempts": 2,
                    "leads": 1,
                    "rpc_leads": 1,
                    "rpc_contacts": 1,
                    "agent_contacts": 2,
                    "live_answers": 2,
                    "campaign_logged_in_s": 3600,
                },
                {"occupancy": 0.0, "live_abandon_rate": 0.0},
            ),
            Row(
                {"agent": None},
                {
                    "entries": 5,
                    "short_abandons": 2,
                    "all_abandoned": 4,
                    "abandoned_within_t": 3,
                    "callbacks": 1,
                    "dial_attempts": 2,
                    "leads": 2,
                    "live_answers": 1,
                    "live_abandoned": 1,
                },
                {"abandon_rate": 2 / 3, "rpc_rate": 0.0, "live_abandon_rate": 1.0, "occupancy": None},
            ),
        ],
    ),
    Case(
        "by campaign: outbound and agent time",
        request((C,)),
        [
            Row(
                {"campaign": "spring"},
                {"dial_attempts": 1, "leads": 1},
                {"rpc_rate": 0.0, "rpc_per_hour": None, "live_abandon_rate": None},
            ),
            Row(
                {"campaign": "winter"},
                {
                    "handling_s": 2400,
                    "ready_s": 4800,
                    "logged_in_s": 7200,
                    "dial_attempts": 6,
                    "leads": 4,
                    "rpc_leads": 2,
                    "rpc_contacts": 2,
                    "agent_contacts": 4,
                    "live_answers": 5,
                    "live_abandoned": 1,
                    "campaign_logged_in_s": 7200,
                },
                {
                    "rpc_rate": 0.5,
                    "rpc_per_hour": 1.0,
                    "contacts_per_hour": 2.0,
                    "live_abandon_rate": 0.2,
                    "occupancy": 1 / 3,
                    "utilization": 1 / 3,
                    "offered": 0,
                },
            ),
            Row(
                {"campaign": None},
                {"handling_s": 6590, "ready_s": 41410, "logged_in_s": 48600},
                {"utilization": 6590 / 48600, "rpc_per_hour": None},
            ),
        ],
    ),
    Case(
        "by topic: queue entries through the call's contact",
        request((T,), kpis=("offered", "contact_resolution", "fcr", "escalation_accuracy")),
        [
            Row(
                {"topic": "billing"},
                {
                    "entries": 2,
                    "answered": 2,
                    "answered_within_t": 2,
                    "answered_timed": 2,
                    "answered_wait_s": 17.5,
                    "handled": 2,
                    "handle_s": 210,
                    "contacts_handled": 5,
                    "contacts_resolved": 2,
                    "first_contacts": 3,
                    "transfers": 2,
                    "transfers_correct": 2,
                    "transfers_judged": 2,
                },
                {"offered": 2, "contact_resolution": 0.4, "fcr": 0.0, "escalation_accuracy": 1.0},
            ),
            Row(
                {"topic": "tech"},
                {
                    "contacts_handled": 3,
                    "contacts_resolved": 2,
                    "first_contacts": 2,
                    "first_contacts_resolved": 1,
                    "transfers": 1,
                    "transfers_judged": 1,
                },
                {"offered": 0, "contact_resolution": 2 / 3, "fcr": 0.5, "escalation_accuracy": 0.0},
            ),
            Row(
                {"topic": None},
                {
                    "entries": 9,
                    "short_abandons": 2,
                    "answered": 4,
                    "answered_within_t": 2,
                    "all_abandoned": 4,
                    "abandoned_within_t": 3,
                    "answered_timed": 3,
                    "answered_wait_s": 53,
                    "handled": 3,
                    "handle_s": 315,
                    "callbacks": 1,
                    "transfers": 1,
                },
                {"offered": 7, "contact_resolution": None, "escalation_accuracy": 0.0},
            ),
        ],
    ),
    Case(
        "by skill: queue entries only",
        request((K,), kpis=("offered", "answered")),
        [
            Row(
                {"skill": "en"},
                {
                    "entries": 4,
                    "short_abandons": 1,
                    "answered": 3,
                    "answered_within_t": 3,
                    "all_abandoned": 1,
                    "abandoned_within_t": 1,
                    "answered_timed": 3,
                    "answered_wait_s": 37.5,
                    "handled": 3,
                    "handle_s": 280,
                },
                {"offered": 3, "answered": 3},
            ),
            Row(
                {"skill": "fr"},
                {
                    "entries": 1,
                    "answered": 1,
                    "answered_timed": 1,
                    "answered_wait_s": 25,
                    "handled": 1,
                    "handle_s": 200,
                },
                {"offered": 1},
            ),
            Row(
                {"skill": None},
                {
                    "entries": 6,
                    "short_abandons": 1,
                    "answered": 2,
                    "answered_within_t": 1,
                    "all_abandoned": 3,
                    "abandoned_within_t": 2,
                    "answered_timed": 1,
                    "answered_wait_s": 8,
                    "handled": 1,
                    "handle_s": 45,
                    "callbacks": 1,
                },
                {"offered": 5, "answered": 2},
            ),
        ],
    ),
    Case(
        "where queue is sales, by agent: families without a queue stay out",
        request((A,), kpis=("offered", "handled", "transfer_rate"), where={"queue": "sales"}),
        [
            Row(
                {"agent": "a1"},
                {
                    "entries": 1,
                    "answered": 1,
                    "answered_within_t": 1,
                    "answered_timed": 1,
                    "answered_wait_s": 12.5,
                    "handled": 1,
                    "handle_s": 150,
                    "transfers": 1,
                    "transfers_correct": 1,
                    "transfers_judged": 1,
                },
                {"offered": 1, "transfer_rate": 1.0},
            ),
            Row(
                {"agent": "a2"},
                {
                    "entries": 2,
                    "answered": 2,
                    "answered_timed": 1,
                    "answered_wait_s": 25,
                    "handled": 2,
                    "handle_s": 245,
                    "transfers": 1,
                    "transfers_judged": 1,
                },
                {"offered": 2, "transfer_rate": 0.5},
            ),
            Row(
                {"agent": None},
                {"entries": 4, "short_abandons": 2, "all_abandoned": 4, "abandoned_within_t": 3},
                {"offered": 2, "handled": 0, "transfer_rate": None},
            ),
        ],
    ),
]
